//! Which values read on a miss may be stored: the rule that keeps a
//! lagging replica from refilling the cache.
//!
//! With a read replica, a bump also carries the WAL position (LSN) of the
//! write, read from the primary after its commit: a scope's version becomes
//! at least that LSN. A value read from the replica is stored only if the
//! replica had replayed at least the version it would be stored under
//! ([`Fill::UpTo`]): otherwise a reader could store pre-write data under the
//! post-write version. Values read from the primary while the replica serves
//! are not stored at all ([`Fill::Never`]): they may be newer than what the
//! replica shows, and a cache newer than the replica would let a reader see
//! a value, then (from the replica) the one before it.

/// Which values read on a miss may be stored.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Fill {
    /// Every value (the database read is the primary, or there is no replica).
    Always,
    /// Values whose scope version is at most this WAL position: what the
    /// replica they were read from had replayed before the read.
    UpTo(u64),
    /// None (a read of the primary while reads go to a replica).
    Never,
}

impl Fill {
    pub(super) fn allows(self, version: u64) -> bool {
        match self {
            Fill::Always => true,
            Fill::UpTo(replayed) => version <= replayed,
            Fill::Never => false,
        }
    }

    /// Misses coalesce only with misses of the same kind of read.
    pub(super) fn flight_tag(self) -> &'static str {
        match self {
            Fill::Always => "",
            Fill::UpTo(_) => "|replica",
            Fill::Never => "|primary",
        }
    }
}
