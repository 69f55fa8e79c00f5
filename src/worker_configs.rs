//! The wrangler configurations are checked in (workers/<name>.wrangler.toml for each function's
//! own Worker, wrangler.toml for the bundle); these tests keep them in step with the registry.

use crate::registry::FUNCTIONS;
use shared::registry::Function;
use std::path::Path;

fn read(relative: &str) -> String {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join(relative);
    std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{}: {error}", path.display()))
}

/// The functions that can be built as Workers of their own: all but health, which every
/// Worker serves.
fn own_workers() -> impl Iterator<Item = &'static Function> {
    FUNCTIONS
        .iter()
        .filter(|function| function.name != "health")
}

/// The `crons = [...]` line a Worker serving `functions` needs, if any of them has jobs: each
/// expression once, in registry order.
fn crons_line<'a>(functions: impl Iterator<Item = &'a Function>) -> Option<String> {
    let mut crons: Vec<String> = Vec::new();
    for cron in functions
        .filter_map(|function| function.scheduled)
        .flat_map(|jobs| jobs.crons.iter())
    {
        let quoted = format!("\"{cron}\"");
        if !crons.contains(&quoted) {
            crons.push(quoted);
        }
    }
    (!crons.is_empty()).then(|| format!("crons = [{}]", crons.join(", ")))
}

fn lines_of_section<'a>(toml: &'a str, section: &str) -> Vec<&'a str> {
    toml.lines()
        .skip_while(|line| line.trim() != section)
        .skip(1)
        .take_while(|line| !line.starts_with('['))
        .filter(|line| !line.trim().is_empty() && !line.starts_with('#'))
        .collect()
}

#[test]
fn every_function_has_a_worker_config_that_builds_and_serves_it() {
    for function in own_workers() {
        let name = function.name;
        let toml = read(&format!("workers/{name}.wrangler.toml"));
        for expected in [
            format!("name = \"rls-edge-{name}\""),
            format!("main = \"../build/{name}/worker/shim.mjs\""),
            format!("command = \"bash tools/scripts/build.sh {name}\""),
            "class_name = \"RateLimiter\"".to_string(),
        ] {
            assert!(
                toml.lines().any(|line| line == expected),
                "workers/{name}.wrangler.toml lacks `{expected}`"
            );
        }
        let crons = toml.lines().find(|line| line.starts_with("crons ="));
        assert_eq!(
            crons.map(str::to_string),
            crons_line(std::iter::once(function)),
            "workers/{name}.wrangler.toml: cron triggers"
        );
    }
}

#[test]
fn every_worker_config_has_the_bundles_vars() {
    let bundle = read("wrangler.toml");
    let vars = lines_of_section(&bundle, "[vars]");
    assert!(!vars.is_empty());
    for function in own_workers() {
        let toml = read(&format!("workers/{}.wrangler.toml", function.name));
        assert_eq!(lines_of_section(&toml, "[vars]"), vars, "{}", function.name);
    }
}

#[test]
fn no_worker_config_without_a_function() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("workers");
    for entry in std::fs::read_dir(dir).unwrap() {
        let file = entry.unwrap().file_name().into_string().unwrap();
        // wrangler keeps its local state in workers/.wrangler; only configs are checked.
        let Some(name) = file.strip_suffix(".wrangler.toml") else {
            continue;
        };
        assert!(
            own_workers().any(|function| function.name == name),
            "workers/{file} names no function of src/registry.rs"
        );
    }
}

#[test]
fn the_bundle_triggers_every_functions_jobs() {
    let bundle = read("wrangler.toml");
    let crons = bundle.lines().find(|line| line.starts_with("crons ="));
    assert_eq!(crons.map(str::to_string), crons_line(FUNCTIONS.iter()));
}

#[test]
fn names_are_unique_and_usable_as_paths_and_features() {
    let names = shared::registry::names(FUNCTIONS);
    for (index, name) in names.iter().enumerate() {
        assert!(!names[..index].contains(name), "{name} registered twice");
        assert!(
            name.bytes()
                .all(|byte| byte.is_ascii_lowercase() || byte == b'-'),
            "{name}"
        );
    }
}
