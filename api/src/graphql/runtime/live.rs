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
