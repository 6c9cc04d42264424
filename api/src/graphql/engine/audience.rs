//! Audiences: subscriptions that share their document, operation,
//! variables (with their defaults) and the caller's view share one
//! resolution of each event and one encoded payload. The first subscriber
//! starts the audience's stream (one feed, one set of loaders, one database
//! gate); every subscriber reads the same encoded results from the
//! audience's log with a cursor of its own, so what an event costs a
//! subscriber is writing its frame. The last subscriber to leave stops the
//! stream.
//!
//! The log keeps what its slowest subscriber has not read yet, up to the
//! results of `EVENT_BACKLOG` committed writes: a subscriber further behind
//! than that learns it missed results when it reads next (its connection
//! closes, as for any subscriber that falls behind); the others never wait
//! for it. Results are read in the order the stream produced them.
//!
//! `topCustomersChanged` pushes the current ranking at once to each new
//! subscriber, so its subscriptions are not shared here (they share the
//! ranking's watcher instead, see `schema::subscription::ranking`).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError, Weak};

use async_graphql::ServerError;
use futures::stream::{AbortHandle, BoxStream};
use futures::{Stream, StreamExt as _};
use service::View;
use tokio::sync::Notify;

use crate::graphql::runtime::error::{Code, coded};
use crate::graphql::runtime::{Listening, LiveConnection};

/// What makes two subscriptions one audience.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AudienceKey {
    pub query: String,
    pub operation: Option<String>,
    /// The variables with their defaults, as JSON (keys sorted).
    pub variables: String,
    pub view: View,
}

/// One result of the audience's stream, as every subscriber sends it.
#[derive(Clone, Debug)]
pub enum Shared {
    /// A `next` message's payload, encoded once.
    Next(Arc<str>),
    /// The subscription was refused before it started.
    Refused(Arc<Vec<ServerError>>),
}

/// Results a log holds before it is first trimmed.
const MIN_TRIM: usize = 64;

#[derive(Default)]
struct Log {
    /// The position of `entries[0]` among everything the stream produced.
    first: u64,
    /// Each result, with the committed write it came from.
    entries: VecDeque<(u64, Shared)>,
    /// Each subscriber's position: the next result it reads (the
    /// subscriber moves its own; the log reads them all to trim).
    cursors: HashMap<u64, Arc<AtomicU64>>,
    /// The stream ended: nothing follows the entries.
    ended: bool,
    /// The length at which the next trim runs (it reads every cursor:
    /// doubling keeps it at a constant cost per result).
    trim_at: usize,
}

impl Log {
    fn head(&self) -> u64 {
        self.first + self.entries.len() as u64
    }

    /// Drops what every subscriber has read.
    fn trim(&mut self) {
        let read = self
            .cursors
            .values()
            .map(|c| c.load(Ordering::Relaxed))
            .min()
            .unwrap_or(self.head());
        while self.first < read && self.entries.pop_front().is_some() {
            self.first += 1;
        }
        self.trim_at = (self.entries.len() * 2).max(MIN_TRIM);
    }
}

/// One audience: its log, and the task that fills it.
pub struct Audience {
    log: Mutex<Log>,
    grew: Notify,
    /// Committed writes a subscriber may fall behind.
    bound: u64,
    next_subscriber: AtomicU64,
    /// What the stream tells of itself (see [`Listening`]).
    listening: Listening,
    task: Mutex<Option<AbortHandle>>,
    /// The registry's count of results produced.
    produced: Arc<AtomicU64>,
}

impl Drop for Audience {
    fn drop(&mut self) {
        if let Some(task) = self.lock_task().take() {
            task.abort();
        }
    }
}

impl Audience {
    fn new(bound: usize, produced: Arc<AtomicU64>) -> Self {
        Audience {
            produced,
            log: Mutex::new(Log::default()),
            grew: Notify::new(),
            bound: u64::try_from(bound.max(1)).unwrap_or(u64::MAX),
            next_subscriber: AtomicU64::new(0),
            listening: Listening::default(),
            task: Mutex::new(None),
        }
    }

    fn lock(&self) -> MutexGuard<'_, Log> {
        self.log.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn lock_task(&self) -> MutexGuard<'_, Option<AbortHandle>> {
        self.task.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// What the stream reports to this audience.
    pub fn listening(&self) -> Listening {
        self.listening.clone()
    }

    /// Appends a result; results of writes more than `bound` writes old go
    /// (a subscriber still before them learns it when it reads next).
    fn push(&self, item: Shared) {
        self.produced.fetch_add(1, Ordering::Relaxed);
        let write = self.listening.writes.load(Ordering::SeqCst);
        let mut log = self.lock();
        log.entries.push_back((write, item));
        while log
            .entries
            .front()
            .is_some_and(|(w, _)| w.saturating_add(self.bound) < write)
        {
            log.entries.pop_front();
            log.first += 1;
        }
        if log.entries.len() >= log.trim_at.max(MIN_TRIM) {
            log.trim();
        }
        drop(log);
        self.grew.notify_waiters();
    }

    fn end(&self) {
        self.lock().ended = true;
        self.grew.notify_waiters();
    }

    /// Runs `results` into the log of `audience` until it ends, or its last
    /// subscriber left (held weakly: leaving drops it, which stops this).
    pub async fn fill(audience: Weak<Audience>, mut results: impl Stream<Item = Shared> + Unpin) {
        while let Some(item) = results.next().await {
            let Some(audience) = audience.upgrade() else {
                return;
            };
            let refused = matches!(item, Shared::Refused(_));
            audience.push(item);
            if refused {
                break;
            }
        }
        if let Some(audience) = audience.upgrade() {
            audience.end();
        }
    }

    fn subscribers(&self) -> usize {
        self.lock().cursors.len()
    }
}

/// A subscriber's place in an audience; leaving drops its cursor.
struct Seat {
    audience: Arc<Audience>,
    id: u64,
    /// The next result it reads (moved under the log's lock).
    cursor: Arc<AtomicU64>,
}

impl Drop for Seat {
    fn drop(&mut self) {
        let mut log = self.audience.lock();
        log.cursors.remove(&self.id);
        log.trim();
    }
}

/// What a subscriber reads (the audience's results since it joined).
pub enum Read {
    Next(Arc<str>),
    Refused(Arc<Vec<ServerError>>),
    /// It fell more than the bound behind: the error that ends it.
    Behind(ServerError),
}

/// Joins `audience`: the results it produces from now on, then the end.
pub fn join(audience: Arc<Audience>, connection: Arc<LiveConnection>) -> BoxStream<'static, Read> {
    let id = audience.next_subscriber.fetch_add(1, Ordering::Relaxed);
    let cursor = {
        let mut log = audience.lock();
        let cursor = Arc::new(AtomicU64::new(log.head()));
        log.cursors.insert(id, cursor.clone());
        cursor
    };
    let seat = Seat {
        audience,
        id,
        cursor,
    };
    futures::stream::unfold(
        (seat, connection, false),
        |(seat, connection, done)| async move {
            if done {
                return None;
            }
            loop {
                let audience = seat.audience.clone();
                let notified = audience.grew.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                {
                    let log = audience.lock();
                    let at = seat.cursor.load(Ordering::Relaxed);
                    if at < log.first {
                        let missed = log.first - at;
                        drop(log);
                        connection.fell_behind();
                        let err = coded(
                            Code::ServiceUnavailable,
                            format!("this subscriber fell too far behind ({missed} results not delivered): query the current state, then subscribe again"),
                        );
                        return Some((Read::Behind(err), (seat, connection, true)));
                    }
                    let index = usize::try_from(at - log.first).unwrap_or(usize::MAX);
                    if let Some((_, item)) = log.entries.get(index).cloned() {
                        seat.cursor.store(at + 1, Ordering::Relaxed);
                        drop(log);
                        let read = match item {
                            Shared::Next(text) => Read::Next(text),
                            Shared::Refused(errors) => Read::Refused(errors),
                        };
                        return Some((read, (seat, connection, false)));
                    }
                    if log.ended {
                        drop(log);
                        // Events were missed: this subscriber's connection
                        // goes, as any that falls behind.
                        if audience.listening.lagged.load(Ordering::SeqCst) {
                            connection.fell_behind();
                        }
                        return None;
                    }
                }
                notified.await;
            }
        },
    )
    .boxed()
}

/// Where an audience is found: by its key, or alone (never shared).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
enum Entry {
    Shared(AudienceKey),
    Alone(u64),
}

/// The audiences of one instance.
#[derive(Default)]
pub struct Audiences {
    live: Mutex<HashMap<Entry, Weak<Audience>>>,
    produced: Arc<AtomicU64>,
    alone: AtomicU64,
}

impl Audiences {
    fn lock(&self) -> MutexGuard<'_, HashMap<Entry, Weak<Audience>>> {
        self.live.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The live audience of `key`, or a new one (`true`: its stream is the
    /// caller's to start, with [`Audiences::started`]). `None` for a key:
    /// an audience of one, never shared.
    pub fn get_or_new(&self, key: Option<AudienceKey>, bound: usize) -> (Arc<Audience>, bool) {
        let key = match key {
            Some(key) => Entry::Shared(key),
            None => Entry::Alone(self.alone.fetch_add(1, Ordering::Relaxed)),
        };
        let mut live = self.lock();
        if let Some(audience) = live.get(&key).and_then(Weak::upgrade)
            && !audience.lock().ended
        {
            return (audience, false);
        }
        if live.len() >= 64 && live.len().is_power_of_two() {
            live.retain(|_, a| a.strong_count() > 0);
        }
        let audience = Arc::new(Audience::new(bound, self.produced.clone()));
        live.insert(key, Arc::downgrade(&audience));
        (audience, true)
    }

    /// Records the task filling `audience` (stopped when the last leaves).
    pub fn started(audience: &Audience, task: AbortHandle) {
        *audience.lock_task() = Some(task);
    }

    /// Subscribers whose audience listens for events.
    pub fn listening(&self) -> usize {
        self.lock()
            .values()
            .filter_map(Weak::upgrade)
            .filter(|a| a.listening.listening.load(Ordering::SeqCst))
            .map(|a| a.subscribers())
            .sum()
    }

    /// Results produced by every audience so far: one per event an
    /// audience concerns, whatever the number of its subscribers.
    pub fn produced(&self) -> u64 {
        self.produced.load(Ordering::Relaxed)
    }

    /// Audiences alive now.
    pub fn count(&self) -> usize {
        self.lock()
            .values()
            .filter(|a| a.strong_count() > 0)
            .count()
    }
}
