//! Coalescing of concurrent misses ("single flight"): the first task to miss
//! a key leads and queries the database; tasks that miss the same key while
//! it is in flight wait for the leader's answer instead of querying too.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};

use futures::FutureExt;
use futures::future::Shared;
use tokio::sync::oneshot;

/// What a leader found for a key.
#[derive(Clone, Debug)]
pub(crate) enum Landed {
    Found(Arc<str>),
    Absent,
    /// The leader failed or was cancelled: followers fetch for themselves.
    Failed,
}

type Waiter = Shared<oneshot::Receiver<Landed>>;

/// Flights in progress: for each key, what followers wait on and how the
/// leader answers them.
#[derive(Default)]
pub(crate) struct Flights {
    in_flight: Mutex<HashMap<String, (Waiter, oneshot::Sender<Landed>)>>,
}

pub(crate) enum Role {
    Leader,
    Follower(Waiter),
}

impl Flights {
    /// Joins the flight for `key`, or starts one (then the caller must land
    /// it through a [`FlightGuard`]).
    pub(crate) fn join_or_lead(&self, key: &str) -> Role {
        let mut map = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((waiter, _)) = map.get(key) {
            return Role::Follower(waiter.clone());
        }
        let (tx, rx) = oneshot::channel();
        map.insert(key.to_owned(), (rx.shared(), tx));
        Role::Leader
    }

    /// A guard over the flights this caller leads.
    pub(crate) fn guard(&self, keys: Vec<String>) -> FlightGuard<'_> {
        FlightGuard {
            flights: self,
            keys,
        }
    }

    fn land(&self, key: &str, landed: Landed) {
        let flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(key);
        if let Some((_, tx)) = flight {
            let _ = tx.send(landed);
        }
    }
}

/// Lands every flight it holds: with the value given to [`FlightGuard::land`],
/// or as failed when dropped first (error or cancellation).
pub(crate) struct FlightGuard<'a> {
    flights: &'a Flights,
    keys: Vec<String>,
}

impl FlightGuard<'_> {
    pub(crate) fn land(&mut self, key: &str, landed: Landed) {
        if let Some(pos) = self.keys.iter().position(|k| k == key) {
            self.keys.swap_remove(pos);
            self.flights.land(key, landed);
        }
    }
}

impl Drop for FlightGuard<'_> {
    fn drop(&mut self) {
        for key in std::mem::take(&mut self.keys) {
            self.flights.land(&key, Landed::Failed);
        }
    }
}
