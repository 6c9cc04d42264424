//! Live rankings: one watcher per distinct `(limit, minOrders)` on an
//! instance, however many subscribers share it. A watcher reads the ranking
//! (with each ranked customer) when it starts, then again after any write
//! that may change it, at most once per [`Rankings::interval`]; it publishes
//! the whole value only when it differs from the last one (a renamed
//! customer counts). Subscribers read the latest value from a `watch`
//! channel: a slow one skips to the newest ranking instead of queueing.
//! When the last subscriber of a watcher leaves, the watcher stops.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use service::events::{Delivery, Event, EventBus, Unavailable};
use service::model::{Customer, Spending};
use service::{Store, View};
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::watch;
use tokio::time::Instant;

/// A ranking with its customers, as pushed.
pub type Ranked = Arc<Vec<(Spending, Customer)>>;

type Key = (u64, i64);

/// Why a live ranking cannot start.
#[derive(Debug, thiserror::Error)]
pub enum WatchError {
    #[error(
        "this instance already serves {0} distinct topCustomersChanged argument sets (SUBSCRIPTION_MAX_RANKINGS); subscribe with arguments already in use, or later"
    )]
    TooMany(usize),
    #[error(transparent)]
    Unavailable(#[from] Unavailable),
}

/// The live rankings of an instance.
pub struct Rankings {
    store: Store,
    events: EventBus,
    max_sets: usize,
    interval: Duration,
    watchers: Mutex<HashMap<Key, Arc<watch::Sender<Option<Ranked>>>>>,
}

impl Rankings {
    /// At most `max_sets` distinct argument sets, each recomputed at most
    /// once per `interval`.
    pub fn new(store: Store, max_sets: usize, interval: Duration) -> Arc<Self> {
        Arc::new(Rankings {
            events: store.events.clone(),
            store,
            max_sets: max_sets.max(1),
            interval,
            watchers: Mutex::new(HashMap::new()),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Key, Arc<watch::Sender<Option<Ranked>>>>> {
        self.watchers.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Argument sets served now.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The live ranking for these arguments: the watcher's channel (it
    /// holds `None` until the first read completes).
    pub fn watch(
        self: &Arc<Self>,
        limit: u64,
        min_orders: i64,
    ) -> Result<watch::Receiver<Option<Ranked>>, WatchError> {
        let key = (limit, min_orders);
        let mut watchers = self.lock();
        if let Some(sender) = watchers.get(&key) {
            return Ok(sender.subscribe());
        }
        if watchers.len() >= self.max_sets {
            return Err(WatchError::TooMany(self.max_sets));
        }
        let events = self.events.subscribe()?;
        let (sender, receiver) = watch::channel(None);
        let sender = Arc::new(sender);
        watchers.insert(key, sender.clone());
        metrics::gauge!("live_rankings").set(watchers.len() as f64);
        tokio::spawn(run(self.clone(), key, sender, events));
        Ok(receiver)
    }

    /// Stops serving `key` if nobody listens (under the lock, so a
    /// subscriber arriving meanwhile keeps it going).
    fn retire(&self, key: Key, sender: &watch::Sender<Option<Ranked>>) -> bool {
        let mut watchers = self.lock();
        if sender.receiver_count() > 0 {
            return false;
        }
        watchers.remove(&key);
        metrics::gauge!("live_rankings").set(watchers.len() as f64);
        true
    }
}

/// Whether a write may change what `current` shows: any order or customer
/// set change may move it; a customer's new name or email only matters
/// when that customer is in it.
fn may_change(event: &Event, current: Option<&Ranked>) -> bool {
    match event {
        Event::CustomerUpdated { customer } => {
            current.is_none_or(|rows| rows.iter().any(|(_, c)| c.id == customer.id))
        }
        Event::OrdersCreated { .. }
        | Event::OrderUpdated { .. }
        | Event::OrderDeleted { .. }
        | Event::CustomersChanged => true,
    }
}

async fn run(
    rankings: Arc<Rankings>,
    key: Key,
    sender: Arc<watch::Sender<Option<Ranked>>>,
    mut events: tokio::sync::broadcast::Receiver<Delivery>,
) {
    let (limit, min_orders) = key;
    let mut stale = true;
    let mut next_read = Instant::now();
    loop {
        if stale {
            tokio::select! {
                () = sender.closed() => {
                    if rankings.retire(key, &sender) {
                        return;
                    }
                    continue;
                }
                () = tokio::time::sleep_until(next_read) => {}
            }
            next_read = Instant::now() + rankings.interval;
            stale = false;
            match rankings
                .store
                // One watcher serves every subscriber with these arguments:
                // it reads what the unrestricted view sees.
                .orders(&View::unrestricted())
                .live_ranking(limit, min_orders)
                .await
            {
                Ok(rows) => {
                    sender.send_if_modified(|current| {
                        if current.as_deref() == Some(&rows) {
                            return false;
                        }
                        *current = Some(Arc::new(rows));
                        true
                    });
                }
                Err(e) => {
                    tracing::warn!(error = %e, limit, min_orders, "reading a live ranking failed; retrying");
                    stale = true;
                }
            }
            continue;
        }
        tokio::select! {
            () = sender.closed() => {
                if rankings.retire(key, &sender) {
                    return;
                }
            }
            heard = events.recv() => match heard {
                Ok(Delivery::Events(events)) => {
                    let current = sender.borrow().clone();
                    stale = events.iter().any(|e| may_change(e, current.as_ref()));
                }
                // Writes may have been missed: read again.
                Ok(Delivery::Gap) | Err(RecvError::Lagged(_)) => stale = true,
                Err(RecvError::Closed) => {
                    rankings.lock().remove(&key);
                    return;
                }
            },
        }
    }
}
