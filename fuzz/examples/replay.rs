//! Times a target on inputs, natively and without sanitizers, for the slowest-input figure of
//! `npm run fuzz`:
//!
//! ```sh
//! cargo run --release --manifest-path fuzz/Cargo.toml --example replay -- <target> <file or directory>...
//! ```
//!
//! Each input runs once to warm up, then five times; its time is the median of the five. One
//! JSON line goes to stdout: how many inputs, and the slowest with its time in milliseconds.

use std::path::{Path, PathBuf};
use std::time::Instant;

const RUNS: usize = 5;

fn main() {
    let mut args = std::env::args().skip(1);
    let name = args.next().unwrap_or_default();
    let Some(run) = rls_edge_fuzz::target(&name) else {
        let names: Vec<&str> = rls_edge_fuzz::TARGETS
            .iter()
            .map(|(name, _)| *name)
            .collect();
        eprintln!(
            "usage: replay <target> <file or directory>...; targets: {}",
            names.join(", ")
        );
        std::process::exit(2);
    };
    let inputs: Vec<PathBuf> = args.flat_map(|path| files(Path::new(&path))).collect();
    let mut slowest: Option<(f64, &PathBuf)> = None;
    for path in &inputs {
        let data =
            std::fs::read(path).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
        run(&data);
        let mut times: Vec<f64> = (0..RUNS)
            .map(|_| {
                let started = Instant::now();
                run(&data);
                started.elapsed().as_secs_f64() * 1_000.0
            })
            .collect();
        times.sort_by(f64::total_cmp);
        let median = times[RUNS / 2];
        if slowest.is_none_or(|(time, _)| median > time) {
            slowest = Some((median, path));
        }
    }
    let (slowest_ms, slowest_input) = match slowest {
        Some((time, path)) => (time, path.display().to_string()),
        None => (0.0, String::new()),
    };
    let line = serde_json::json!({
        "target": name,
        "inputs": inputs.len(),
        "slowest_ms": (slowest_ms * 1_000.0).round() / 1_000.0,
        "slowest_input": slowest_input,
    });
    println!("{line}");
}

/// `path` itself, or the files directly inside it.
fn files(path: &Path) -> Vec<PathBuf> {
    if !path.is_dir() {
        return vec![path.to_path_buf()];
    }
    let mut files: Vec<PathBuf> = std::fs::read_dir(path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()))
        .filter_map(|entry| entry.ok().map(|entry| entry.path()))
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}
