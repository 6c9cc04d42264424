//! Open WebSockets: how many an instance admits (`WS_MAX_CONNECTIONS`), and
//! telling them all to stop at shutdown.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use tokio::sync::{Notify, watch};

/// The WebSockets of an instance.
pub struct LiveSockets {
    open: AtomicUsize,
    max: usize,
    stopping: watch::Sender<bool>,
    /// Signalled when the last socket closes.
    empty: Notify,
}

/// One admitted socket; dropping it frees its place.
pub struct Admitted(Arc<LiveSockets>);

impl Drop for Admitted {
    fn drop(&mut self) {
        let before = self.0.open.fetch_sub(1, Ordering::SeqCst);
        metrics::gauge!("ws_connections_open").set(before.saturating_sub(1) as f64);
        if before == 1 {
            self.0.empty.notify_waiters();
        }
    }
}

impl LiveSockets {
    pub fn new(max: usize) -> Arc<Self> {
        let (stopping, _) = watch::channel(false);
        Arc::new(LiveSockets {
            open: AtomicUsize::new(0),
            max: max.max(1),
            stopping,
            empty: Notify::new(),
        })
    }

    /// A place for one more socket, unless the instance is full or stopping.
    pub fn admit(self: &Arc<Self>) -> Option<Admitted> {
        if *self.stopping.borrow() {
            return None;
        }
        let mut open = self.open.load(Ordering::SeqCst);
        loop {
            if open >= self.max {
                metrics::counter!("ws_connections_refused_total").increment(1);
                return None;
            }
            match self
                .open
                .compare_exchange(open, open + 1, Ordering::SeqCst, Ordering::SeqCst)
            {
                Ok(_) => {
                    metrics::gauge!("ws_connections_open").set((open + 1) as f64);
                    return Some(Admitted(self.clone()));
                }
                Err(now) => open = now,
            }
        }
    }

    /// Sockets open now.
    pub fn open(&self) -> usize {
        self.open.load(Ordering::SeqCst)
    }

    pub fn max(&self) -> usize {
        self.max
    }

    /// Changes to `true` when the server stops.
    pub fn stopping(&self) -> watch::Receiver<bool> {
        self.stopping.subscribe()
    }

    /// Tells every socket to complete its subscriptions and close (1001).
    pub fn stop(&self) {
        self.stopping.send_replace(true);
    }

    /// Resolves once no socket is open.
    pub async fn closed(&self) {
        loop {
            let notified = self.empty.notified();
            if self.open() == 0 {
                return;
            }
            notified.await;
        }
    }
}
