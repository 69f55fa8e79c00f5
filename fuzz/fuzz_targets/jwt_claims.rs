#![no_main]
rls_edge_fuzz::fuzz_target!("jwt_claims");
