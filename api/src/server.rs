//! Serving HTTP/1.1 connections so that no client can hold the server:
//!
//! - **Headers in time.** A client has `HTTP_HEADER_TIMEOUT_SECS` to send a
//!   request's headers, counted from the connection's start or from the end
//!   of the previous response. That one timer (hyper's) closes slow-header
//!   connections and idle keep-alive connections alike. WebSockets leave it
//!   after their upgrade and keep alive with the protocol's pings instead.
//! - **A cap on open connections** (`HTTP_MAX_CONNECTIONS`). At the cap, a
//!   new connection first closes the oldest connection that has no request
//!   in flight (gracefully: nothing is cut mid-response); only when every
//!   connection is busy is the new one refused. Idle or slow sockets cannot
//!   keep real clients out.
//! - **Graceful shutdown.** When asked to stop, no new connection is
//!   accepted, idle connections close, and in-flight requests finish.

use std::collections::HashMap;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Notify;
use tower::ServiceExt as _;

/// How connections are admitted and timed.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct ConnectionLimits {
    pub max_connections: usize,
    pub header_timeout: Duration,
}

/// One open connection, as the registry sees it.
struct Entry {
    accepted: Instant,
    /// Requests being answered on it now.
    busy: Arc<AtomicUsize>,
    /// Asks it to close gracefully.
    close: Arc<Notify>,
}

/// Every open connection.
#[derive(Default)]
struct Registry {
    entries: Mutex<HashMap<u64, Entry>>,
    next_id: AtomicU64,
    /// Signalled when the last connection goes.
    empty: Notify,
}

impl Registry {
    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, Entry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Admits a connection, closing the oldest idle one at the cap; `None`
    /// when every connection is busy.
    fn admit(&self, max: usize) -> Option<(u64, Arc<AtomicUsize>, Arc<Notify>)> {
        let mut entries = self.lock();
        if entries.len() >= max {
            let oldest_idle = entries
                .iter()
                .filter(|(_, e)| e.busy.load(Ordering::SeqCst) == 0)
                .min_by_key(|(_, e)| e.accepted)
                .map(|(id, _)| *id)?;
            if let Some(evicted) = entries.remove(&oldest_idle) {
                evicted.close.notify_one();
                metrics::counter!("http_connections_evicted_total").increment(1);
            }
        }
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let busy = Arc::new(AtomicUsize::new(0));
        let close = Arc::new(Notify::new());
        entries.insert(
            id,
            Entry {
                accepted: Instant::now(),
                busy: busy.clone(),
                close: close.clone(),
            },
        );
        metrics::gauge!("http_connections_open").set(entries.len() as f64);
        Some((id, busy, close))
    }

    fn remove(&self, id: u64) {
        let mut entries = self.lock();
        entries.remove(&id);
        metrics::gauge!("http_connections_open").set(entries.len() as f64);
        if entries.is_empty() {
            self.empty.notify_waiters();
        }
    }

    fn close_all(&self) {
        for entry in self.lock().values() {
            entry.close.notify_one();
        }
    }

    fn is_empty(&self) -> bool {
        self.lock().is_empty()
    }
}

/// Counts a request in flight on its connection while it lives.
struct Busy(Arc<AtomicUsize>);

impl Busy {
    fn new(counter: &Arc<AtomicUsize>) -> Self {
        counter.fetch_add(1, Ordering::SeqCst);
        Busy(counter.clone())
    }
}

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Serves `router` on `listener` until `shutdown` completes, then lets
/// in-flight requests finish for at most `grace`. Returns whether every
/// connection finished in time.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: ConnectionLimits,
    shutdown: impl Future<Output = ()>,
    grace: Duration,
) -> bool {
    let registry = Arc::new(Registry::default());
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = &mut shutdown => break,
        };
        let (stream, peer) = match accepted {
            Ok(pair) => pair,
            Err(e) => {
                // Out of file descriptors (or a transient error): wait a moment
                // instead of spinning; existing connections keep being served.
                tracing::warn!(error = %e, "accept failed");
                tokio::time::sleep(Duration::from_millis(20)).await;
                continue;
            }
        };
        let Some((id, busy, close)) = registry.admit(limits.max_connections.max(1)) else {
            metrics::counter!("http_connections_refused_total").increment(1);
            drop(stream);
            continue;
        };
        let _ = stream.set_nodelay(true);
        let router = router.clone();
        let registry = registry.clone();
        tokio::spawn(async move {
            serve_connection(stream, peer, router, busy, close, limits.header_timeout).await;
            registry.remove(id);
        });
    }
    drop(listener);
    registry.close_all();
    tokio::time::timeout(grace, async {
        while !registry.is_empty() {
            let notified = registry.empty.notified();
            if registry.is_empty() {
                break;
            }
            notified.await;
        }
    })
    .await
    .is_ok()
}

async fn serve_connection(
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    router: Router,
    busy: Arc<AtomicUsize>,
    close: Arc<Notify>,
    header_timeout: Duration,
) {
    let service = hyper::service::service_fn(move |mut request: hyper::Request<Incoming>| {
        let guard = Busy::new(&busy);
        request.extensions_mut().insert(ConnectInfo(peer));
        let router = router.clone();
        async move {
            let response = router.oneshot(request.map(Body::new)).await;
            drop(guard);
            response
        }
    });
    let connection = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(header_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service)
        .with_upgrades();
    let mut connection = std::pin::pin!(connection);
    let mut closing = false;
    loop {
        tokio::select! {
            result = connection.as_mut() => {
                if let Err(e) = result {
                    tracing::debug!(error = %e, %peer, "connection ended with an error");
                }
                return;
            }
            () = close.notified(), if !closing => {
                closing = true;
                connection.as_mut().graceful_shutdown();
            }
        }
    }
}

/// Descriptors kept free of HTTP connections besides the database pools':
/// Redis, the listener, logs and files, and the new connections accepted at
/// the cap to close an idle one.
pub const RESERVED_FILES: u64 = 128;

/// The caps on HTTP connections and on WebSockets (which leave the HTTP
/// registry at their upgrade) under an open-file limit of `files`: those
/// asked, lowered so that both, `pools` database connections and
/// [`RESERVED_FILES`] fit; where they must be lowered, WebSockets get at
/// most half the room (each cap at least 16). At the kernel's limit
/// `accept` fails and no idle connection is closed to make room: the caps
/// must come first.
pub fn connection_caps(asked: (usize, usize), files: u64, pools: u64) -> (usize, usize) {
    let room = usize::try_from(files.saturating_sub(pools + RESERVED_FILES)).unwrap_or(usize::MAX);
    let (http, ws) = asked;
    if http.saturating_add(ws) <= room {
        return (http.max(1), ws.max(1));
    }
    let ws = ws.min(room / 2).max(16);
    (http.min(room.saturating_sub(ws)).max(16), ws)
}

/// Raises the soft limit on open files to the hard limit (so the connection
/// cap, not the kernel, decides) and returns the new soft limit.
pub fn raise_open_file_limit() -> Option<u64> {
    match rlimit::increase_nofile_limit(u64::MAX) {
        Ok(limit) => Some(limit),
        Err(e) => {
            tracing::warn!(error = %e, "could not raise the open-file limit");
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::connection_caps;

    #[test]
    fn the_caps_follow_the_open_file_limit() {
        // Room enough: as asked.
        assert_eq!(
            connection_caps((4_096, 10_000), 1 << 20, 16),
            (4_096, 10_000)
        );
        // 1,024 files, a pool of 16: 880 to share, WebSockets half at most.
        assert_eq!(connection_caps((4_096, 10_000), 1_024, 16), (440, 440));
        assert_eq!(connection_caps((4_096, 100), 1_024, 16), (780, 100));
        // A replica's pool too, and a tiny limit: never below 16 each.
        assert_eq!(connection_caps((4_096, 10_000), 1_024, 32), (432, 432));
        assert_eq!(connection_caps((4_096, 10_000), 100, 16), (16, 16));
    }
}
