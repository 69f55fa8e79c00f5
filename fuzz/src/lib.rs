//! What the fuzz targets run: one function per parser that reads untrusted bytes, taking the raw
//! input exactly as the fuzzer produces it and feeding it through the crate's own public entry
//! point, as a request would. Each function panics only when the code under test does, or when
//! one of the properties it checks on the way is broken (a delivery signed with a configured
//! secret must verify, an accepted token must be current, a parse error must be a 4xx...).
//!
//! The same functions serve three callers, so a finding reproduces the same way everywhere:
//! - the cargo-fuzz targets in `fuzz_targets/` (nightly, libFuzzer, `npm run fuzz`);
//! - the corpus replay test below, which `npm test` runs natively on stable: every file of
//!   `corpus/<target>/` goes through its target, so a regression fails CI without nightly;
//! - `examples/replay.rs`, which times inputs natively for the slowest-input figure.
//!
//! Input framing: targets that need several values (headers and a body) read them as lines,
//! header values first and the body as everything after them; HTTP header values cannot hold a
//! line break, so no real request is out of reach. `input` has the helpers.
//!
//! Not here: the HTTP layers (`worker` requests, hyper), which are not ours to parse, and the
//! gateway's SQL generation, which needs a schema cache (its parse results are checked here).

pub mod auth;
pub mod gateway;
pub mod input;
pub mod lead_scoring;
pub mod signup;
pub mod slowest;
pub mod webhooks;

/// A target's name (the file in `fuzz_targets/`, the folder in `corpus/`) and the function it
/// runs.
pub type Target = (&'static str, fn(&[u8]));

/// Every target.
pub const TARGETS: &[Target] = &[
    ("jwt_token", auth::jwt_token),
    ("jwt_claims", auth::jwt_claims),
    ("jwks", auth::jwks),
    ("stripe_signature", webhooks::stripe_signature),
    ("stripe_event", webhooks::stripe_event),
    ("svix_signature", webhooks::svix_signature),
    ("resend_event", webhooks::resend_event),
    ("lead_scoring_rules", lead_scoring::rules),
    ("lead_scoring_preview", lead_scoring::preview),
    ("signup_body", signup::body),
    ("gateway_query", gateway::query),
    ("gateway_headers", gateway::headers),
];

/// The function of the target called `name`.
pub fn target(name: &str) -> Option<fn(&[u8])> {
    TARGETS
        .iter()
        .find(|(target, _)| *target == name)
        .map(|(_, run)| *run)
}

/// A libFuzzer entry point for the target called `$name`, timed (see [`slowest`]). Expands in a
/// `fuzz_targets/*.rs` binary, where `libfuzzer_sys` is in scope; this library itself never
/// links libFuzzer, so its tests run on stable.
#[macro_export]
macro_rules! fuzz_target {
    ($name:literal) => {
        ::libfuzzer_sys::fuzz_target!(|data: &[u8]| {
            $crate::slowest::timed($name, data);
        });
    };
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn fuzz_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).to_path_buf()
    }

    fn names_in(dir: &Path, strip: &str) -> Vec<String> {
        let mut names: Vec<String> = std::fs::read_dir(dir)
            .unwrap_or_else(|error| panic!("{}: {error}", dir.display()))
            .map(|entry| entry.expect("readable directory entry").file_name())
            .map(|name| name.to_string_lossy().trim_end_matches(strip).to_string())
            .collect();
        names.sort();
        names
    }

    #[test]
    fn every_target_has_a_binary_and_a_seed_corpus() {
        let mut listed: Vec<String> = TARGETS.iter().map(|(name, _)| name.to_string()).collect();
        listed.sort();
        assert_eq!(
            names_in(&fuzz_dir().join("fuzz_targets"), ".rs"),
            listed,
            "fuzz_targets/"
        );
        assert_eq!(names_in(&fuzz_dir().join("corpus"), ""), listed, "corpus/");
        for name in &listed {
            let seeds = std::fs::read_dir(fuzz_dir().join("corpus").join(name))
                .expect("corpus folder")
                .count();
            assert!(seeds > 0, "corpus/{name} is empty");
        }
    }

    /// The whole committed corpus, every target: what `npm test` runs so that an input that
    /// once panicked (or broke a property) fails CI again if the bug comes back.
    #[test]
    fn the_committed_corpus_replays_without_a_panic() {
        let mut replayed = 0;
        for (name, run) in TARGETS {
            let dir = fuzz_dir().join("corpus").join(name);
            for entry in std::fs::read_dir(&dir).expect("corpus folder") {
                let path = entry.expect("readable directory entry").path();
                let data = std::fs::read(&path).expect("readable corpus file");
                let outcome = std::panic::catch_unwind(|| run(&data));
                assert!(outcome.is_ok(), "{name}: {} panicked", path.display());
                replayed += 1;
            }
        }
        assert!(replayed >= TARGETS.len());
    }
}
