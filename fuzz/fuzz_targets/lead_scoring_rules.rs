#![no_main]
rls_edge_fuzz::fuzz_target!("lead_scoring_rules");
