//! Wall-clock time that works on Workers. `std::time::SystemTime::now()` panics on
//! wasm32-unknown-unknown, so on wasm the time comes from the JS `Date.now()`. Pure code never
//! calls this: it takes `now` as an argument, which keeps it deterministic and testable.

/// Milliseconds since the Unix epoch.
#[cfg(target_arch = "wasm32")]
pub fn now_millis() -> u64 {
    js_sys::Date::now() as u64
}

/// Milliseconds since the Unix epoch.
#[cfg(not(target_arch = "wasm32"))]
pub fn now_millis() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|elapsed| elapsed.as_millis() as u64)
        .unwrap_or(0)
}

/// Whole seconds since the Unix epoch, the unit JWT and webhook timestamps use.
pub fn now_seconds() -> u64 {
    now_millis() / 1000
}
