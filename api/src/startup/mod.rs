//! Building and running the application: connect, migrate, seed the embedded
//! demo, build the schema and the router, bind.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use rand::Rng;
use service::Store;
use service::db::StatementCounter;
use tokio::net::TcpListener;

use crate::auth::{Jwt, Role};
use async_graphql::ValidationMode;

use crate::graphql::engine::Engine;
use crate::graphql::schema::build_schema;
use crate::graphql::schema::subscription::ranking::Rankings;
use crate::live::LiveSockets;
use crate::playground::Playground;
use crate::settings::Settings;
use crate::state::{AppState, Shared};

mod backends;

pub use self::backends::{
    PoolUse, build_cache, build_events, build_persisted, build_replication, command_store,
    connect_database, migrate_up, refuse_behind_pooler,
};

/// A live ranking is read at most this often.
const RANKING_INTERVAL: Duration = Duration::from_secs(1);

/// How `build` prepares the database.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct BuildOptions {
    /// Apply pending migrations first (`serve` without `--no-migrate`).
    pub migrate: bool,
    /// Keep the SQL of recent statements (see `StatementCounter::recent`).
    pub record_sql: bool,
}

pub struct Application {
    listener: TcpListener,
    state: AppState,
    port: u16,
}

impl Application {
    pub async fn build(settings: Settings, options: BuildOptions) -> anyhow::Result<Self> {
        // Install the recorder first, so no metric recorded from here on is lost.
        crate::telemetry::metrics_handle();
        let traces = crate::telemetry::traces::Traces::build(&settings.traces.config())?;
        let mut counter = if options.record_sql {
            StatementCounter::recording()
        } else {
            StatementCounter::default()
        };
        if let Some(traces) = &traces {
            counter = counter.with_hook(traces.statement_hook(
                &settings.database.primary_url(),
                settings.database.replica_url(),
            ));
        }
        let statements = Arc::new(counter);
        let db = connect_database(&settings.database, statements.clone(), PoolUse::Server).await?;
        if options.migrate {
            // A migration's backfill may run longer than the server's
            // statement timeout: on PostgreSQL it runs on a connection of
            // its own without it (SQLite has no timeout, and an in-memory
            // database exists only in the server's pool).
            if db.get_database_backend() == sea_orm::DbBackend::Postgres && !db.is_behind_pooler() {
                let once =
                    connect_database(&settings.database, Default::default(), PoolUse::Command)
                        .await?;
                migrate_up(&once).await?;
                once.close().await.ok();
            } else {
                migrate_up(&db).await?;
            }
        }
        let cache = build_cache(&settings.cache, &settings.redis)?;
        let mut store = Store::new(db, cache, settings.graphql.service_limits())
            .with_events(build_events(&settings.redis, settings.ws.event_backlog).await?);
        if let Some(traces) = &traces {
            store
                .events
                .set_trace_source(Arc::new(crate::telemetry::traces::current_traceparent));
            store.events.spans().install(traces.span_hook());
            store.cache.spans().install(traces.span_hook());
        }
        if let Some(replication) = build_replication(
            &settings.database,
            &settings.replica,
            &settings.redis,
            &store,
            statements.clone(),
        )
        .await?
        {
            store = store.with_replication(replication);
        }
        if settings.database.is_embedded() {
            crate::demo::seed_if_empty(&store).await?;
        }
        store
            .read_catalog()
            .await
            .context("reading the tables' indexes for the row budget failed")?;
        let jwt = match settings
            .auth
            .jwt_secret
            .as_deref()
            .filter(|s| !s.is_empty())
        {
            Some(secret) => Jwt::new(secret.as_bytes()),
            None => dev_jwt(),
        };
        let rankings = Rankings::new(
            store.clone(),
            settings.ws.subscription_max_rankings,
            RANKING_INTERVAL,
        );
        let schemas = [ValidationMode::Strict, ValidationMode::Fast].map(|mode| {
            build_schema(
                store.clone(),
                rankings.clone(),
                settings.graphql.introspection,
                mode,
            )
        });
        let mut engine = Engine::new(
            schemas,
            store.clone(),
            settings.engine_limits(),
            build_persisted(&settings.persisted, &settings.redis)?,
        )?;
        engine.anonymous_reads =
            settings.auth.anonymous_access == crate::settings::AnonymousAccess::Read;
        engine.traces = traces.clone();
        let listener = TcpListener::bind(&settings.http.listen_addr)
            .await
            .with_context(|| format!("could not bind {}", settings.http.listen_addr))?;
        let port = listener.local_addr()?.port();
        let limiter = crate::rate_limit::limiter(
            settings.http.rate_limit_per_second,
            settings.http.rate_limit_burst,
        );
        let state = AppState::new(Shared {
            engine: Arc::new(engine),
            store,
            jwt,
            live: LiveSockets::new(settings.ws.max_connections),
            rankings,
            http: settings.http.clone(),
            ws: settings.ws.clone(),
            pool: settings.database.pool(),
            statements,
            playground: Arc::new(Playground::new(true)),
            limiter,
            in_flight: Default::default(),
            traces,
        });
        Ok(Application {
            listener,
            state,
            port,
        })
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    pub fn state(&self) -> &AppState {
        &self.state
    }

    /// Serves until `shutdown` completes; then stops accepting connections,
    /// lets in-flight requests finish within `SHUTDOWN_GRACE_SECS`, and
    /// closes the pool.
    pub async fn run_until<F>(self, shutdown: F) -> anyhow::Result<()>
    where
        F: Future<Output = ()> + Send + 'static,
    {
        let db = self.state.store.db.clone();
        let grace = Duration::from_secs(self.state.http.shutdown_grace_secs);
        let in_flight = self.state.in_flight.clone();
        let limits = self.state.http.connection_limits();
        let live = self.state.live.clone();
        let traces = self.state.traces.clone();
        let router = crate::routes::router(self.state);
        // Sockets are told at once; HTTP connections drain meanwhile.
        let shutdown = {
            let live = live.clone();
            async move {
                shutdown.await;
                live.stop();
            }
        };
        let started = std::time::Instant::now();
        let mut finished =
            crate::server::serve(self.listener, router, limits, shutdown, grace).await;
        let left = grace.saturating_sub(started.elapsed());
        if tokio::time::timeout(left.max(Duration::from_secs(1)), live.closed())
            .await
            .is_err()
        {
            tracing::warn!(
                open = live.open(),
                "WebSockets still open after the grace period"
            );
            finished = false;
        }
        if !finished {
            tracing::warn!(
                in_flight = in_flight.load(std::sync::atomic::Ordering::SeqCst),
                grace_secs = grace.as_secs(),
                "grace period over; stopping with requests in flight"
            );
        }
        db.close().await.context("closing the database pool")?;
        if let Some(traces) = traces
            && !traces.flush(SPANS_AT_SHUTDOWN).await
        {
            tracing::warn!("the last spans were not all exported before the server stopped");
        }
        tracing::info!("stopped");
        Ok(())
    }
}

/// How long the spans queued at shutdown may take to reach the collector.
const SPANS_AT_SHUTDOWN: Duration = Duration::from_secs(5);

/// With no `JWT_SECRET`: a random secret for this run, and a writer token
/// in the log so a newcomer can try mutations in GraphiQL.
fn dev_jwt() -> Jwt {
    let mut secret = [0u8; 32];
    rand::rng().fill(&mut secret);
    let jwt = Jwt::new(&secret);
    match jwt.issue("dev", Role::Writer, Duration::from_secs(7 * 24 * 3600)) {
        Ok(token) => tracing::warn!(
            "JWT_SECRET is not set: using a random secret for this run. \
             Writer token for GraphiQL's Headers tab: {{\"Authorization\": \"Bearer {token}\"}}"
        ),
        Err(e) => tracing::error!(error = %e, "could not issue the development token"),
    }
    jwt
}
