//! What every request handler shares.

use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use service::Store;
use service::db::StatementCounter;

use crate::auth::Jwt;
use crate::graphql::engine::Engine;
use crate::graphql::schema::subscription::ranking::Rankings;
use crate::live::LiveSockets;
use crate::playground::Playground;
use crate::rate_limit::ClientLimiter;
use service::db::PoolSettings;

use crate::settings::{HttpSettings, WsSettings};

/// Shared by every request: one reference count to clone (handlers and
/// middleware clone it several times per request).
#[derive(Clone)]
pub struct AppState(Arc<Shared>);

impl AppState {
    pub fn new(shared: Shared) -> Self {
        AppState(Arc::new(shared))
    }
}

impl std::ops::Deref for AppState {
    type Target = Shared;

    fn deref(&self) -> &Shared {
        &self.0
    }
}

/// What [`AppState`] shares.
pub struct Shared {
    pub engine: Arc<Engine>,
    pub store: Store,
    pub jwt: Jwt,
    /// What the HTTP routes, their middleware and the accept loop use.
    pub http: HttpSettings,
    /// What the WebSocket transport uses.
    pub ws: WsSettings,
    /// The primary's pool (for `/readyz` and the gauges).
    pub pool: PoolSettings,
    pub statements: Arc<StatementCounter>,
    pub playground: Arc<Playground>,
    /// Per-client rate limiter, when `RATE_LIMIT_PER_SECOND` is set.
    pub limiter: Option<Arc<ClientLimiter>>,
    /// Open WebSockets (subscriptions).
    pub live: Arc<LiveSockets>,
    /// The live rankings `topCustomersChanged` shares.
    pub rankings: Arc<Rankings>,
    /// Requests being handled now.
    pub in_flight: Arc<AtomicUsize>,
    /// The instance's OpenTelemetry traces (`OTEL_EXPORTER_OTLP_ENDPOINT` set).
    pub traces: Option<Arc<crate::telemetry::traces::Traces>>,
}

impl Shared {
    /// Updates the pool gauges before `/metrics` renders.
    pub fn record_gauges(&self) {
        let (size, idle) = self.store.db.pool_usage();
        metrics::gauge!("db_pool_connections", "state" => "idle").set(idle as f64);
        metrics::gauge!("db_pool_connections", "state" => "in_use")
            .set(size.saturating_sub(idle) as f64);
        metrics::gauge!("db_pool_max_connections").set(f64::from(self.pool.max_connections));
        if let Some(replication) = &self.store.replication {
            let (size, idle) = replication.replica().pool_usage();
            metrics::gauge!("db_read_pool_connections", "state" => "idle").set(idle as f64);
            metrics::gauge!("db_read_pool_connections", "state" => "in_use")
                .set(size.saturating_sub(idle) as f64);
        }
    }
}
