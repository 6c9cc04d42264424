//! Runs a request's dataloader fetches on the request's own task.
//!
//! async-graphql's dataloader spawns each batch fetch and, by default, waits
//! a 1 ms timer so that sibling fields can add their keys first. That costs
//! every level of every request a millisecond (it capped a single lookup at
//! about 11,000 requests/s with 16 clients) and a wake-up of a timer thread;
//! and on a multi-threaded runtime it still splits batches when results
//! arrive while siblings are being polled on another thread.
//!
//! Here the fetches go into a queue that [`drive`] polls on the same task,
//! always *after* the GraphQL execution itself. So a batch starts only once
//! execution has gone as far as it can (every sibling has added its keys),
//! and a batch's results all reach the waiting fields before execution is
//! polled again. Batching no longer depends on timing: the number of
//! statements depends on the shape of the query alone.

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

/// Polls `main` until it waits for something other than itself (every field
/// that can go on has gone on), then the queued fetches; until `main` completes.
pub async fn drive<F: Future>(main: F, inline: Arc<Inline>) -> F::Output {
    let mut main = pin!(main);
    let mut running = FuturesUnordered::new();
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
        inline.waker.register(cx.waker());
        loop {
            let queued =
                std::mem::take(&mut *inline.queue.lock().unwrap_or_else(PoisonError::into_inner));
            running.extend(queued);
            match running.poll_next_unpin(cx) {
                // A fetch finished: its results may have woken `main`,
                // which this task's waker brings back; poll the rest too.
                Poll::Ready(Some(())) => continue,
                Poll::Ready(None) | Poll::Pending => break,
            }
        }
        Poll::Pending
    })
    .await
}
