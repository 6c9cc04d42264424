//! The WebSocket connection as its subscriptions see it.

use std::sync::atomic::{AtomicBool, Ordering};

use tokio::sync::Notify;

/// What a subscription tells the WebSocket connection that carries it.
#[derive(Default)]
pub struct LiveConnection {
    behind: AtomicBool,
    signal: Notify,
}

impl LiveConnection {
    /// A subscription of this connection missed events because the client
    /// reads too slowly: the connection should close.
    pub fn fell_behind(&self) {
        self.behind.store(true, Ordering::SeqCst);
        self.signal.notify_one();
    }

    /// Resolves once a subscription fell behind.
    pub async fn behind(&self) {
        while !self.behind.load(Ordering::SeqCst) {
            self.signal.notified().await;
        }
    }
}

/// What a subscription's stream tells its audience: that it listens for
/// events (its field's resolver ran), and how many committed writes it has
/// taken up so far (a subscriber's backlog is counted in writes).
#[derive(Clone, Default)]
pub struct Listening {
    pub listening: std::sync::Arc<AtomicBool>,
    pub writes: std::sync::Arc<std::sync::atomic::AtomicU64>,
    /// The stream fell more than `EVENT_BACKLOG` writes behind the events
    /// (its subscribers missed events: their connections close).
    pub lagged: std::sync::Arc<AtomicBool>,
}

impl Listening {
    pub fn set(&self) {
        self.listening.store(true, Ordering::SeqCst);
    }

    /// The stream missed events.
    pub fn lag(&self) {
        self.lagged.store(true, Ordering::SeqCst);
    }

    /// The stream took up the next committed write's events.
    pub fn advanced(&self) {
        self.writes.fetch_add(1, Ordering::SeqCst);
    }
}
