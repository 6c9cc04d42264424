//! The backends the application is built from, as the settings name them:
//! the database (and its replica), the result cache, the event bus, the
//! persisted-query registry.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use migration::{Migrator, MigratorTrait};
use service::cache::{Cache, RedisSettings as RedisConnection};
use service::db::Db;
use service::db::StatementCounter;
use service::documents::{DocumentRegistry, RegistryLimits};
use service::replication::{ReplicaSettings as ReplicaWatch, WriterMarks};
use service::{EventBus, Replication, Store};

use crate::graphql::engine::persisted::{Persisted, load_manifest};
use crate::settings::{
    CacheSettings, DatabaseSettings, PersistedSettings, RedisSettings, ReplicaSettings, Settings,
    redact_url, scrub_url,
};

/// Entries the in-process cache holds at most.
const IN_PROCESS_CACHE_ENTRIES: u64 = 100_000;

/// `REDIS_URL` (when set) and the connection settings every Redis user
/// shares: key prefix and call timeout.
fn redis_connection(settings: &RedisSettings) -> Option<(&str, RedisConnection)> {
    let url = settings.url.as_deref().filter(|u| !u.trim().is_empty())?;
    let mut redis = RedisConnection::new(url);
    redis.key_prefix = settings.key_prefix.clone();
    redis.timeout = Duration::from_millis(settings.timeout_ms.max(1));
    Some((url, redis))
}

/// Who opens a pool: the server (its statements run under
/// `DB_STATEMENT_TIMEOUT_MS`) or a one-off command (without it).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum PoolUse {
    Server,
    Command,
}

/// Opens the pool (and logs its effective settings).
pub async fn connect_database(
    settings: &DatabaseSettings,
    statements: Arc<StatementCounter>,
    role: PoolUse,
) -> anyhow::Result<Db> {
    let url = settings.primary_url();
    let mut pool = settings.pool();
    if role == PoolUse::Command {
        pool.statement_timeout = None;
    }
    tracing::info!(
        database = %redact_url(&url),
        max_connections = pool.max_connections,
        min_connections = pool.min_connections,
        acquire_timeout_secs = pool.acquire_timeout.as_secs(),
        idle_timeout_secs = pool.idle_timeout.as_secs(),
        max_lifetime_secs = pool.max_lifetime.as_secs(),
        "connecting to the database"
    );
    // The driver's own messages may quote the whole URL: never its password.
    service::db::connect(&url, &pool, statements)
        .await
        .map_err(|e| anyhow::anyhow!(scrub_url(&e.to_string(), &url)))
        .with_context(|| format!("could not connect to the database at {}", redact_url(&url)))
}

/// The store of a one-off command (`seed`, `import`, `stats`): the
/// database migrated, the configured cache, and (with a replica) cache
/// versions raised to each write's WAL position, as the server does.
pub async fn command_store(settings: &Settings) -> anyhow::Result<Store> {
    let db = connect_database(&settings.database, Default::default(), PoolUse::Command).await?;
    migrate_up(&db).await?;
    let cache = build_cache(&settings.cache, &settings.redis)?;
    let store = Store::new(db, cache, settings.graphql.service_limits());
    Ok(if settings.database.replica_url().is_some() {
        store.with_wal_positions()
    } else {
        store
    })
}

/// What a migration needs and a transaction pooler cannot give: one
/// session throughout (SeaORM's statements are named, and a migration
/// changes the schema other sessions' statements were prepared against).
const MIGRATE_DIRECTLY: &str = "migrations need a session of their own, which a transaction \
     pooler does not give: run `api migrate up` with DATABASE_URL set to PostgreSQL itself \
     (the server the pooler leads to) and without DATABASE_POOLER";

/// Applies the pending migrations. Behind a transaction pooler (set, or
/// found at connect) none is applied there: the server starts when none is
/// pending, and says how to apply them when some are.
pub async fn migrate_up(db: &Db) -> anyhow::Result<()> {
    if !db.is_behind_pooler() {
        return Migrator::up(&**db, None)
            .await
            .context("applying migrations failed");
    }
    let pending = Migrator::get_pending_migrations(db)
        .await
        .context("reading which migrations are applied failed")?;
    match pending.first() {
        None => Ok(()),
        Some(first) => anyhow::bail!(
            "{} migration(s) are not applied yet (the first: {}); {MIGRATE_DIRECTLY}",
            pending.len(),
            first.name()
        ),
    }
}

/// Refuses a change of the schema through a transaction pooler.
pub fn refuse_behind_pooler(db: &Db) -> anyhow::Result<()> {
    anyhow::ensure!(
        !db.is_behind_pooler(),
        "the database is reached through a transaction pooler; {MIGRATE_DIRECTLY}"
    );
    Ok(())
}

/// The result cache: Redis when configured, in-process otherwise.
pub fn build_cache(settings: &CacheSettings, redis: &RedisSettings) -> anyhow::Result<Cache> {
    let ttl = settings.ttl();
    if settings.disabled {
        tracing::warn!("result cache: disabled (CACHE_DISABLED)");
        return Ok(Cache::disabled());
    }
    match redis_connection(redis) {
        Some((url, redis)) => {
            tracing::info!(redis = %redact_url(url), ttl_secs = ttl.as_secs(), "result cache: redis");
            Cache::redis(redis, ttl).context("REDIS_URL is not a valid Redis URL")
        }
        None => {
            tracing::info!(ttl_secs = ttl.as_secs(), "result cache: in-process");
            Ok(Cache::in_process(ttl, IN_PROCESS_CACHE_ENTRIES))
        }
    }
}

/// The event bus of subscriptions: through Redis when `REDIS_URL` is set (so
/// every instance hears every instance), in-process otherwise.
/// `backlog`: the writes a subscriber may fall behind (`EVENT_BACKLOG`).
pub async fn build_events(redis: &RedisSettings, backlog: usize) -> anyhow::Result<EventBus> {
    let backlog = backlog.max(1);
    match redis_connection(redis) {
        Some((url, redis)) => {
            tracing::info!(redis = %redact_url(url), backlog, "live events: redis pub/sub");
            let bus =
                EventBus::redis(&redis, backlog).context("REDIS_URL is not a valid Redis URL")?;
            if !bus.hearing_within(Duration::from_secs(2)).await {
                tracing::warn!(
                    "live events: Redis does not answer yet; subscriptions are refused until it does"
                );
            }
            Ok(bus)
        }
        None => {
            tracing::info!(backlog, "live events: in-process");
            Ok(EventBus::in_process(backlog))
        }
    }
}

/// How long a caller's last write position is remembered (far longer than
/// any lag the replica is served with).
const WRITER_MARK_TTL: Duration = Duration::from_secs(600);

/// The read replica, when `DATABASE_READ_URL` is set: its own pool (same
/// settings), the checker, and the writers' positions (in Redis when set).
pub async fn build_replication(
    database: &DatabaseSettings,
    settings: &ReplicaSettings,
    redis: &RedisSettings,
    store: &Store,
    statements: Arc<StatementCounter>,
) -> anyhow::Result<Option<Replication>> {
    let Some(url) = database.replica_url() else {
        return Ok(None);
    };
    anyhow::ensure!(
        url.starts_with("postgres") && database.primary_url().starts_with("postgres"),
        "DATABASE_READ_URL needs PostgreSQL for both DATABASE_URL and the replica"
    );
    let pool = database.pool();
    tracing::info!(replica = %redact_url(url), max_lag_secs = settings.max_lag_secs, "read replica");
    let replica = service::db::connect(url, &pool, Arc::new(statements.replica()))
        .await
        .map_err(|e| anyhow::anyhow!(scrub_url(&e.to_string(), url)))
        .with_context(|| format!("could not connect to the replica at {}", redact_url(url)))?;
    let marks = match redis_connection(redis) {
        Some((_, redis)) => WriterMarks::redis(&redis, WRITER_MARK_TTL)
            .context("REDIS_URL is not a valid Redis URL")?,
        None => WriterMarks::in_process(WRITER_MARK_TTL),
    };
    let replica_settings = ReplicaWatch {
        max_lag: Duration::from_secs(settings.max_lag_secs.max(1)),
        interval: Duration::from_millis(settings.check_interval_ms.max(10)),
    };
    Ok(Some(Replication::new(
        store.db.clone(),
        replica,
        replica_settings,
        marks,
    )))
}

/// Persisted queries: the manifest, if any, and the registry of automatic
/// persisted queries (in Redis when `REDIS_URL` is set).
pub fn build_persisted(
    settings: &PersistedSettings,
    redis: &RedisSettings,
) -> anyhow::Result<Persisted> {
    let manifest = match &settings.file {
        Some(path) => {
            let m = load_manifest(path)?;
            tracing::info!(operations = m.len(), file = %path.display(), only = settings.only, "persisted-query manifest loaded");
            m
        }
        None if settings.only => {
            anyhow::bail!(
                "PERSISTED_QUERIES_ONLY=true needs PERSISTED_QUERIES_FILE (the operations to allow)"
            )
        }
        None => Default::default(),
    };
    let limits = RegistryLimits {
        ttl: Duration::from_secs(settings.ttl_secs.max(1)),
        max_documents: settings.max.max(1),
    };
    let registry = match redis_connection(redis) {
        Some((_, redis)) => {
            DocumentRegistry::redis(&redis, limits).context("REDIS_URL is not a valid Redis URL")?
        }
        None => DocumentRegistry::in_process(limits),
    };
    Ok(Persisted::new(manifest, settings.only, registry))
}
