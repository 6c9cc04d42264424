//! Runs a request's dataloader fetches on the request's own task.
//!
//! async-graphql's dataloader spawns each batch fetch and, by default, waits
//! a 1 ms timer so that sibling fields can add their keys first. That costs
//! every level of every request a millisecond (it capped a single lookup at
//! about 11,000 requests/s with 16 clients) and a wake-up of a timer thread;
//! and on a multi-threaded runtime it still splits batches when results
//! arrive while siblings are being polled on another thread.
//!
//! Here the fetches go into a queue that [`drive`] starts itself, as tasks,
//! only when the GraphQL execution has gone as far as it can (every sibling
//! has added its keys) and no earlier fetch is still delivering results. So
//! a batch holds every key of its level whatever the thread timing, and the
//! number of statements depends on the shape of the query alone.

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
pub struct Inline {
    queue: Mutex<Vec<BoxFuture<'static, ()>>>,
    waker: AtomicWaker,
}

impl Inline {
    pub fn new() -> Arc<Self> {
        Arc::new(Self::default())
    }

    /// The dataloader's spawner: queue the fetch for [`drive`].
    pub fn spawner(self: &Arc<Self>) -> impl Fn(BoxFuture<'static, ()>) + Send + Sync + 'static {
        let inline = self.clone();
        move |fetch| {
            inline
                .queue
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .push(fetch);
            inline.waker.wake();
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
pub async fn drive<F: Future>(main: F, inline: Arc<Inline>) -> F::Output {
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
        inline.waker.register(cx.waker());
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
            let queued =
                std::mem::take(&mut *inline.queue.lock().unwrap_or_else(PoisonError::into_inner));
            if queued.is_empty() {
                if finished {
                    continue; // results arrived: let execution go on
                }
                return Poll::Pending;
            }
            // Fetches keep the request's span, so their log lines carry its id.
            running.extend(
                queued
                    .into_iter()
                    .map(|f| Fetch(tokio::spawn(tracing::Instrument::in_current_span(f)))),
            );
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
