//! The per-isolate cache of resolved keys, which bounds how late a revocation takes effect.
//!
//! An entry maps a key's hash to what the resolver said and the owner's token minted for it. It
//! lives at most the configured time ([`crate::config`]: 30 s by default and at most, half the
//! minute the owner's token lives) and never past the key's expiry. So a revoked key works for
//! at most that long in an isolate that resolved it just before, and an expired key not at all.
//! Only live keys are cached: a key created a moment ago is never refused from the cache. At
//! most [`CAPACITY`] entries: a full cache drops expired entries, then the one closest to expiry.

use std::collections::HashMap;

/// Entries kept per isolate.
pub const CAPACITY: usize = 1024;

pub struct KeyCache<V> {
    entries: HashMap<String, (V, u64)>,
}

impl<V: Clone> Default for KeyCache<V> {
    fn default() -> Self {
        KeyCache {
            entries: HashMap::new(),
        }
    }
}

impl<V: Clone> KeyCache<V> {
    /// What `hash` resolved to, if that was less than its lifetime ago.
    pub fn get(&self, hash: &str, now_millis: u64) -> Option<V> {
        self.entries
            .get(hash)
            .filter(|(_, until)| now_millis < *until)
            .map(|(value, _)| value.clone())
    }

    /// Keeps `value` for `hash` until `until_millis`.
    pub fn insert(&mut self, hash: String, value: V, until_millis: u64, now_millis: u64) {
        if self.entries.len() >= CAPACITY && !self.entries.contains_key(&hash) {
            self.entries.retain(|_, (_, until)| now_millis < *until);
            if self.entries.len() >= CAPACITY {
                if let Some(soonest) = self
                    .entries
                    .iter()
                    .min_by_key(|(_, (_, until))| *until)
                    .map(|(hash, _)| hash.clone())
                {
                    self.entries.remove(&soonest);
                }
            }
        }
        self.entries.insert(hash, (value, until_millis));
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn an_entry_lives_until_its_time_and_not_a_moment_longer() {
        let mut cache = KeyCache::default();
        cache.insert("h".into(), 1, 30_000, 0);
        assert_eq!(cache.get("h", 29_999), Some(1));
        assert_eq!(cache.get("h", 30_000), None);
        assert_eq!(cache.get("other", 0), None);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_full_cache_stays_bounded_dropping_the_expired_then_the_soonest() {
        let mut cache = KeyCache::default();
        for index in 0..CAPACITY as u64 {
            cache.insert(format!("h{index}"), index, 1_000 + index, 0);
        }
        cache.insert("new".into(), 7, 5_000, 0);
        assert_eq!(cache.len(), CAPACITY);
        assert_eq!(cache.get("h0", 0), None, "the entry closest to expiry went");
        assert_eq!(cache.get("h1", 0), Some(1));
        cache.insert("later".into(), 8, 90_000, 1_500);
        assert!(cache.len() <= CAPACITY);
        assert_eq!(cache.get("later", 1_500), Some(8));
        assert_eq!(cache.get("new", 1_500), Some(7));
    }
}
