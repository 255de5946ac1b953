//! A short-lived, bounded cache of reads, for what every request reads (its caller's account
//! and membership): a read is trusted for a fixed period, a write made through the owner of
//! the cache forgets what it changed at once, and a read that a write overtook is returned
//! but never kept (it may hold the record as it was before the write).

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use healthcare_core::ports::Clock;
use healthcare_domain::Timestamp;

/// Most entries kept at once; past it the cache starts over.
const ENTRY_LIMIT: usize = 10_000;

/// Reads of `V` by key `K`, trusted for `period`.
pub(crate) struct ReadCache<K, V> {
    clock: Arc<dyn Clock>,
    period: chrono::Duration,
    entries: Mutex<Entries<K, V>>,
}

/// The kept reads, and how many writes went through the cache.
struct Entries<K, V> {
    by_key: HashMap<K, (V, Timestamp)>,
    writes: u64,
}

impl<K: Eq + Hash, V: Clone> ReadCache<K, V> {
    /// A cache trusting a read for `period_seconds`, aged with `clock`.
    pub(crate) fn new(clock: Arc<dyn Clock>, period_seconds: i64) -> Self {
        Self {
            clock,
            period: chrono::Duration::seconds(period_seconds),
            entries: Mutex::new(Entries {
                by_key: HashMap::new(),
                writes: 0,
            }),
        }
    }

    fn entries(&self) -> MutexGuard<'_, Entries<K, V>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The kept read of `key`, if it is younger than the period. Never waits for a load.
    pub(crate) fn fresh(&self, key: &K) -> Option<V> {
        let fresh_after = self.clock.now() - self.period;
        Self::fresh_in(&self.entries(), key, fresh_after)
    }

    fn fresh_in(entries: &Entries<K, V>, key: &K, fresh_after: Timestamp) -> Option<V> {
        entries
            .by_key
            .get(key)
            .filter(|(_, read_at)| *read_at > fresh_after)
            .map(|(value, _)| value.clone())
    }

    /// The value for `key`: a read younger than the period, or `load`'s answer, kept when
    /// `keep` says so and no write went through while it was loaded.
    pub(crate) fn read<E>(
        &self,
        key: K,
        load: impl FnOnce() -> Result<Option<V>, E>,
        keep: impl FnOnce(&V) -> bool,
    ) -> Result<Option<V>, E> {
        let now = self.clock.now();
        let writes_before = {
            let entries = self.entries();
            if let Some(value) = Self::fresh_in(&entries, &key, now - self.period) {
                return Ok(Some(value));
            }
            entries.writes
        };
        let found = load()?;
        let mut entries = self.entries();
        match &found {
            Some(value) if keep(value) && entries.writes == writes_before => {
                if entries.by_key.len() >= ENTRY_LIMIT {
                    entries.by_key.clear();
                }
                entries.by_key.insert(key, (value.clone(), now));
            }
            _ => {
                entries.by_key.remove(&key);
            }
        }
        Ok(found)
    }

    /// Runs a write, then forgets every kept read that `changed` matches, whatever the write's
    /// outcome.
    pub(crate) fn writing<T>(&self, changed: impl Fn(&K) -> bool, write: impl FnOnce() -> T) -> T {
        let result = write();
        let mut entries = self.entries();
        entries.writes += 1;
        entries.by_key.retain(|key, _| !changed(key));
        result
    }
}
