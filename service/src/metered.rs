//! Metric handles registered once. The `metrics` macros look the metric up
//! in the recorder's registry on every call (hashing its name and labels,
//! allocating the label values): the hot paths (every statement, every
//! request) keep the handles instead.
//!
//! A handle taken before the process's recorder is installed would count
//! nowhere forever, so nothing is kept until [`recorder_installed`] says
//! so; until then the hot paths fall back to the macros.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::{OnceLock, PoisonError, RwLock};

/// Whether the process's recorder is in place (see [`recorder_installed`]).
static INSTALLED: OnceLock<()> = OnceLock::new();

/// Called once the process-wide recorder is installed: from then on,
/// handles are kept.
pub fn recorder_installed() {
    INSTALLED.get_or_init(|| ());
}

/// One metric's handle, registered on first use after the recorder is
/// installed.
pub struct Once<H> {
    handle: OnceLock<H>,
    register: fn() -> H,
}

impl<H> Once<H> {
    pub const fn new(register: fn() -> H) -> Self {
        Once {
            handle: OnceLock::new(),
            register,
        }
    }

    /// Uses the kept handle, or a freshly looked-up one before the
    /// recorder is in place.
    pub fn with<R>(&self, f: impl FnOnce(&H) -> R) -> R {
        if INSTALLED.get().is_none() {
            return f(&(self.register)());
        }
        f(self.handle.get_or_init(self.register))
    }
}

/// Handles of one metric by label values (a small, bounded set of keys).
pub struct ByKey<K, H> {
    /// Keys are label values the server chose (or bounded, as operation
    /// names are): a fast hash.
    handles: OnceLock<RwLock<HashMap<K, H, foldhash::fast::RandomState>>>,
}

impl<K: Eq + Hash, H> ByKey<K, H> {
    pub const fn new() -> Self {
        ByKey {
            handles: OnceLock::new(),
        }
    }

    /// Uses the handle for `key`, registered with `register` the first
    /// time (`owned` makes the map's own copy of the key).
    pub fn with<Q, R>(
        &self,
        key: &Q,
        owned: impl FnOnce(&Q) -> K,
        register: impl FnOnce() -> H,
        f: impl FnOnce(&H) -> R,
    ) -> R
    where
        K: std::borrow::Borrow<Q>,
        Q: Eq + Hash + ?Sized,
    {
        if INSTALLED.get().is_none() {
            return f(&register());
        }
        let map = self.handles.get_or_init(Default::default);
        if let Some(h) = map.read().unwrap_or_else(PoisonError::into_inner).get(key) {
            return f(h);
        }
        let mut map = map.write().unwrap_or_else(PoisonError::into_inner);
        f(map.entry(owned(key)).or_insert_with(register))
    }
}

impl<K: Eq + Hash, H> Default for ByKey<K, H> {
    fn default() -> Self {
        Self::new()
    }
}
