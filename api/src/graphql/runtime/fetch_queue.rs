//! The request's fetch queue: when its dataloader fetches start.
//!
//! async-graphql's dataloader spawns each batch fetch and, by default, waits
//! a 1 ms timer so that sibling fields can add their keys first. That costs
//! every level of every request a millisecond (it capped a single lookup at
//! about 11,000 requests/s with 16 clients) and a wake-up of a timer thread;
//! and on a multi-threaded runtime it still splits batches when results
//! arrive while siblings are being polled on another thread.
//!
//! Here the fetches go into a queue that [`drive`] starts itself, as tasks,
//! only when the GraphQL execution has gone as far as it can and no earlier
//! fetch is still delivering results: after a fetch finishes, the execution
//! runs again (and adds the keys those results lead to) before anything
//! queued starts. When every I/O of a level goes through loaders, a batch
//! therefore holds every key of its level whatever the thread timing, and
//! the number of statements depends on the shape of the query alone. A
//! resolver that awaits something else first (a statement of its own, a
//! cache call) adds its keys after that await: they form a batch of their
//! own.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, Waker};

use futures::future::BoxFuture;
use futures::stream::{FuturesUnordered, StreamExt};
use futures::task::{ArcWake, AtomicWaker};

/// The queue of fetches of one request.
#[derive(Default)]
pub struct FetchQueue {
    queue: Mutex<Vec<BoxFuture<'static, ()>>>,
    waker: AtomicWaker,
}

impl FetchQueue {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The dataloader's spawner: queue the fetch for [`drive`].
    pub fn spawner(self: &Arc<Self>) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let this = self.clone();
        move |fetch| {
            this.queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(fetch);
            this.waker.wake();
        }
    }
}

/// Records that a future woke itself while being polled (a cooperative
/// yield: async-graphql's list joins poll a few children, wake themselves
/// and return), then passes the wake on.
struct SelfWake {
    woken: AtomicBool,
    inner: Mutex<Option<Waker>>,
}

impl ArcWake for SelfWake {
    fn wake_by_ref(arc_self: &Arc<Self>) {
        arc_self.woken.store(true, Ordering::SeqCst);
        if let Some(w) = &*arc_self
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
        {
            w.wake_by_ref();
        }
    }
}

/// How often `main` may yield to itself within one poll before the fetches
/// run anyway (so a busy execution cannot starve them).
const MAX_SELF_YIELDS: usize = 1_000;

/// A spawned fetch, aborted if the request goes away first.
struct Fetch(tokio::task::JoinHandle<()>);

impl Future for Fetch {
    type Output = ();
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        std::pin::Pin::new(&mut self.0).poll(cx).map(|_| ())
    }
}

impl Drop for Fetch {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// Runs `main` (the GraphQL execution) and the dataloader fetches it
/// queues. Fetches are started (as tasks, so they use the other cores) only
/// when `main` waits for something other than itself *and* no fetch is
/// running: every sibling has added its keys, and every result of the last
/// batch has reached its field.
pub async fn drive<F: Future>(main: F, queue: Arc<FetchQueue>) -> F::Output {
    let mut main = pin!(main);
    let mut running: FuturesUnordered<Fetch> = FuturesUnordered::new();
    let self_wake = Arc::new(SelfWake {
        woken: AtomicBool::new(false),
        inner: Mutex::new(None),
    });
    let main_waker = futures::task::waker(self_wake.clone());
    std::future::poll_fn(move |cx| {
        *self_wake
            .inner
            .lock()
            .unwrap_or_else(PoisonError::into_inner) = Some(cx.waker().clone());
        queue.waker.register(cx.waker());
        loop {
            let mut main_cx = Context::from_waker(&main_waker);
            for _ in 0..MAX_SELF_YIELDS {
                self_wake.woken.store(false, Ordering::SeqCst);
                if let Poll::Ready(out) = main.as_mut().poll(&mut main_cx) {
                    return Poll::Ready(out);
                }
                if !self_wake.woken.load(Ordering::SeqCst) {
                    break;
                }
            }
            // Collect fetches that finished; their results have been delivered.
            let mut finished = false;
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {
                finished = true;
            }
            if !running.is_empty() {
                return Poll::Pending;
            }
            if finished {
                // Results arrived since the execution last ran: let it go on
                // (and add the keys they lead to) before starting anything
                // queued, or a batch would start without those keys.
                continue;
            }
            let queued =
                std::mem::take(&mut *queue.queue.lock().unwrap_or_else(PoisonError::into_inner));
            if queued.is_empty() {
                return Poll::Pending;
            }
            // Fetches keep the request's span, so their log lines carry its
            // id, and its trace (when traces are exported), so their
            // statements' spans join it.
            let trace = opentelemetry::Context::current();
            let traced = opentelemetry::trace::TraceContextExt::has_active_span(&trace);
            running.extend(queued.into_iter().map(|f| {
                let f = tracing::Instrument::in_current_span(f);
                Fetch(if traced {
                    tokio::spawn(opentelemetry::context::FutureExt::with_context(
                        f,
                        trace.clone(),
                    ))
                } else {
                    tokio::spawn(f)
                })
            }));
            // Register interest in the new fetches.
            while let Poll::Ready(Some(())) = running.poll_next_unpin(cx) {}
            if running.is_empty() {
                continue;
            }
            return Poll::Pending;
        }
    })
    .await
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use async_graphql::dataloader::{DataLoader, Loader};

    use super::*;

    /// Answers `k -> k * 10` and records every batch it was asked for;
    /// `u64` keys answer a little later than `u32` keys, on other threads.
    struct Toy(Arc<Mutex<Vec<Vec<u64>>>>);

    impl Toy {
        fn record(&self, mut keys: Vec<u64>) -> Vec<u64> {
            keys.sort_unstable();
            self.0
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(keys.clone());
            keys
        }
    }

    impl Loader<u32> for Toy {
        type Value = u32;
        type Error = std::convert::Infallible;

        async fn load(&self, keys: &[u32]) -> Result<HashMap<u32, u32>, Self::Error> {
            let keys = self.record(keys.iter().map(|k| u64::from(*k)).collect());
            tokio::task::yield_now().await;
            Ok(keys
                .into_iter()
                .filter_map(|k| u32::try_from(k).ok())
                .map(|k| (k, k * 10))
                .collect())
        }
    }

    impl Loader<u64> for Toy {
        type Value = u32;
        type Error = std::convert::Infallible;

        async fn load(&self, keys: &[u64]) -> Result<HashMap<u64, u32>, Self::Error> {
            let keys = self.record(keys.to_vec());
            tokio::time::sleep(std::time::Duration::from_micros(300)).await;
            Ok(keys
                .into_iter()
                .filter_map(|k| u32::try_from(k).ok().map(|v| (k, v * 10)))
                .collect())
        }
    }

    /// Two fetches per level finishing at different moments on a
    /// multi-threaded runtime: the second level must still be one batch
    /// holding the keys both first-level fetches led to.
    #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
    async fn each_level_is_one_batch_whatever_the_thread_timing() {
        for _ in 0..200 {
            let batches = Arc::new(Mutex::new(Vec::new()));
            let queue = FetchQueue::new();
            let loader = Arc::new(
                DataLoader::new(Toy(batches.clone()), queue.spawner())
                    .delay(std::time::Duration::ZERO),
            );
            let execution = {
                let loader = loader.clone();
                async move {
                    let level = futures::future::join_all((1..=20u32).map(|k| {
                        let loader = loader.clone();
                        async move {
                            let v = if k <= 10 {
                                loader.load_one(k).await.ok().flatten()
                            } else {
                                loader.load_one(u64::from(k)).await.ok().flatten()
                            };
                            loader
                                .load_one(v.unwrap_or_default() + 1)
                                .await
                                .ok()
                                .flatten()
                        }
                    }))
                    .await;
                    level.into_iter().flatten().count()
                }
            };
            assert_eq!(drive(execution, queue).await, 20);
            let mut batches = batches
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone();
            batches.sort();
            assert_eq!(
                batches,
                [
                    (1..=10).collect::<Vec<u64>>(),
                    (11..=20).collect(),
                    (1..=20).map(|k| k * 10 + 1).collect(),
                ],
            );
        }
    }
}
