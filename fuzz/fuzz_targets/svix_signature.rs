#![no_main]
rls_edge_fuzz::fuzz_target!("svix_signature");
