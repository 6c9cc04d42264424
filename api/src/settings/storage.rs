//! The settings of what the server stores and reads through: the database
//! (and its replica), Redis and the result cache.

use std::time::Duration;

use service::db::{PoolSettings, Pooler};

use super::{DEFAULT_DATABASE_URL, redact_url};

/// The database: the primary, the replica, and the connection pool (`startup::backends`, `routes::health`).
#[derive(Clone, clap::Args)]
pub struct DatabaseSettings {
    /// Any SeaORM URL; PostgreSQL is the production target. Unset: a local
    /// SQLite file (`data.db`), seeded with demo data when empty.
    #[arg(
        id = "database_url",
        value_name = "DATABASE_URL",
        long = "database-url",
        env = "DATABASE_URL",
        hide_env_values = true,
        global = true
    )]
    pub url: Option<String>,

    /// What `DATABASE_URL` and `DATABASE_READ_URL` lead to: `none`
    /// (PostgreSQL, or a pooler in session mode) or `transaction` (a
    /// transaction-pooling proxy such as PgBouncer with `pool_mode =
    /// transaction`: no named prepared statements, no session state).
    #[arg(
        id = "database_pooler",
        value_name = "DATABASE_POOLER",
        long = "database-pooler",
        env = "DATABASE_POOLER",
        value_enum,
        default_value_t = DatabasePooler::None,
        global = true
    )]
    pub pooler: DatabasePooler,

    /// A PostgreSQL streaming replica (or a pooler in front of several)
    /// that serves queries. Unset: every read goes to `DATABASE_URL`.
    #[arg(
        id = "database_read_url",
        value_name = "DATABASE_READ_URL",
        long = "database-read-url",
        env = "DATABASE_READ_URL",
        hide_env_values = true,
        global = true
    )]
    pub read_url: Option<String>,

    #[arg(
        id = "db_max_connections",
        value_name = "DB_MAX_CONNECTIONS",
        long = "db-max-connections",
        env = "DB_MAX_CONNECTIONS",
        default_value_t = 16,
        global = true
    )]
    pub max_connections: u32,

    #[arg(
        id = "db_min_connections",
        value_name = "DB_MIN_CONNECTIONS",
        long = "db-min-connections",
        env = "DB_MIN_CONNECTIONS",
        default_value_t = 1,
        global = true
    )]
    pub min_connections: u32,

    /// How long a request waits for a pooled connection before `SERVICE_UNAVAILABLE`.
    #[arg(
        id = "db_acquire_timeout_secs",
        value_name = "DB_ACQUIRE_TIMEOUT_SECS",
        long = "db-acquire-timeout-secs",
        env = "DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub acquire_timeout_secs: u64,

    #[arg(
        id = "db_idle_timeout_secs",
        value_name = "DB_IDLE_TIMEOUT_SECS",
        long = "db-idle-timeout-secs",
        env = "DB_IDLE_TIMEOUT_SECS",
        default_value_t = 300,
        global = true
    )]
    pub idle_timeout_secs: u64,

    #[arg(
        id = "db_max_lifetime_secs",
        value_name = "DB_MAX_LIFETIME_SECS",
        long = "db-max-lifetime-secs",
        env = "DB_MAX_LIFETIME_SECS",
        default_value_t = 1800,
        global = true
    )]
    pub max_lifetime_secs: u64,

    /// Longest a statement of the server may run on PostgreSQL, in
    /// milliseconds (0: no limit): the backstop for a planner's
    /// misestimate behind the row budget. One-off commands (`migrate`,
    /// `seed`, `import`, `stats`) run without it.
    #[arg(
        id = "db_statement_timeout_ms",
        value_name = "DB_STATEMENT_TIMEOUT_MS",
        long = "db-statement-timeout-ms",
        env = "DB_STATEMENT_TIMEOUT_MS",
        default_value_t = 15_000,
        global = true
    )]
    pub statement_timeout_ms: u64,

    /// Pooled connections one HTTP request may hold at once.
    #[arg(
        id = "db_max_connections_per_request",
        value_name = "DB_MAX_CONNECTIONS_PER_REQUEST",
        long = "db-max-connections-per-request",
        env = "DB_MAX_CONNECTIONS_PER_REQUEST",
        default_value_t = 4,
        global = true
    )]
    pub max_connections_per_request: usize,
}

/// What the database URLs lead to (`DATABASE_POOLER`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum DatabasePooler {
    /// PostgreSQL itself, or a pooler in session mode.
    None,
    /// A transaction-pooling proxy.
    Transaction,
}

impl std::fmt::Debug for DatabaseSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DatabaseSettings")
            .field("url", &redact_url(&self.primary_url()))
            .field("read_url", &self.replica_url().map(redact_url))
            .field("pooler", &self.pooler)
            .field("max_connections", &self.max_connections)
            .finish_non_exhaustive()
    }
}

impl DatabaseSettings {
    /// The primary's URL (the embedded SQLite file when none is set).
    pub fn primary_url(&self) -> String {
        self.url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }

    /// True when no database was configured: the embedded SQLite default.
    pub fn is_embedded(&self) -> bool {
        self.url.as_deref().is_none_or(|u| u.trim().is_empty())
    }

    /// The replica's URL, when one is configured.
    pub fn replica_url(&self) -> Option<&str> {
        self.read_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }

    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.max_connections.max(1),
            min_connections: self.min_connections,
            acquire_timeout: Duration::from_secs(self.acquire_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.idle_timeout_secs),
            max_lifetime: Duration::from_secs(self.max_lifetime_secs),
            statement_timeout: (self.statement_timeout_ms > 0)
                .then(|| Duration::from_millis(self.statement_timeout_ms)),
            pooler: match self.pooler {
                DatabasePooler::None => Pooler::None,
                DatabasePooler::Transaction => Pooler::Transaction,
            },
        }
    }
}

/// How the replica of `DATABASE_READ_URL` is watched (`service::replication`).
#[derive(Clone, Debug, clap::Args)]
pub struct ReplicaSettings {
    /// Past this lag the replica is bypassed (reads go to the primary) until
    /// it catches up.
    #[arg(
        id = "replica_max_lag_secs",
        value_name = "REPLICA_MAX_LAG_SECS",
        long = "replica-max-lag-secs",
        env = "REPLICA_MAX_LAG_SECS",
        default_value_t = 5,
        global = true
    )]
    pub max_lag_secs: u64,

    /// How often the replica's position and the primary's are read.
    #[arg(
        id = "replica_check_interval_ms",
        value_name = "REPLICA_CHECK_INTERVAL_MS",
        long = "replica-check-interval-ms",
        env = "REPLICA_CHECK_INTERVAL_MS",
        default_value_t = 200,
        global = true
    )]
    pub check_interval_ms: u64,
}

/// Redis, shared by the cache, persisted queries, live events and writer marks.
#[derive(Clone, clap::Args)]
pub struct RedisSettings {
    /// Redis for the result cache, persisted queries and live events (pub/sub), e.g. `redis://127.0.0.1:6379/0`. Unset: in-process cache.
    #[arg(
        id = "redis_url",
        value_name = "REDIS_URL",
        long = "redis-url",
        env = "REDIS_URL",
        hide_env_values = true,
        global = true
    )]
    pub url: Option<String>,

    /// Prefix of every Redis key, so deployments can share one Redis.
    #[arg(
        id = "redis_key_prefix",
        value_name = "REDIS_KEY_PREFIX",
        long = "redis-key-prefix",
        env = "REDIS_KEY_PREFIX",
        default_value = "cos:",
        global = true
    )]
    pub key_prefix: String,

    /// Upper bound on one Redis call, in milliseconds.
    #[arg(
        id = "cache_timeout_ms",
        value_name = "CACHE_TIMEOUT_MS",
        long = "cache-timeout-ms",
        env = "CACHE_TIMEOUT_MS",
        default_value_t = 250,
        global = true
    )]
    pub timeout_ms: u64,
}

impl std::fmt::Debug for RedisSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisSettings")
            .field("url", &self.url.as_deref().map(redact_url))
            .field("key_prefix", &self.key_prefix)
            .finish_non_exhaustive()
    }
}

/// The result cache (`service::cache`).
#[derive(Clone, Debug, clap::Args)]
pub struct CacheSettings {
    /// Turn the result cache off (every read goes to the database); for
    /// measurements and debugging.
    #[arg(
        id = "cache_disabled",
        value_name = "CACHE_DISABLED",
        long = "cache-disabled",
        env = "CACHE_DISABLED",
        global = true
    )]
    pub disabled: bool,

    /// Upper bound on any cached entry's age, in seconds.
    #[arg(
        id = "cache_ttl_secs",
        value_name = "CACHE_TTL_SECS",
        long = "cache-ttl-secs",
        env = "CACHE_TTL_SECS",
        default_value_t = 300,
        global = true
    )]
    pub ttl_secs: u64,
}

impl CacheSettings {
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(self.ttl_secs.max(1))
    }
}
