#![no_main]
rls_edge_fuzz::fuzz_target!("stripe_event");
