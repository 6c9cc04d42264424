//! Typed settings from the environment (`.env` honoured) and flags. Every
//! variable here is listed in `.env.example` and the README (a test checks
//! both). Secrets are never logged.
//!
//! Why this file stays whole past 350 lines: it is one struct, a field per
//! variable with its default and help text, so `--help`, the defaults and
//! the documentation have one source; splitting it would scatter them.

use std::time::Duration;

use service::db::PoolSettings;

use crate::graphql::engine::Limits;
use crate::graphql::engine::lexical::TextLimits;
use crate::server::ConnectionLimits;

/// Deepest bracket nesting a document may have (the parser's recursion limit).
pub const MAX_NESTING: usize = 64;

/// The database used when `DATABASE_URL` is unset: a local SQLite file.
pub const DEFAULT_DATABASE_URL: &str = "sqlite://data.db?mode=rwc";

/// How log lines are written.
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

#[derive(Clone, clap::Args)]
pub struct Settings {
    /// Any SeaORM URL; PostgreSQL is the production target. Unset: a local
    /// SQLite file (`data.db`), seeded with demo data when empty.
    #[arg(long, env = "DATABASE_URL", hide_env_values = true, global = true)]
    pub database_url: Option<String>,

    /// A PostgreSQL streaming replica (or a pooler in front of several)
    /// that serves queries. Unset: every read goes to `DATABASE_URL`.
    #[arg(long, env = "DATABASE_READ_URL", hide_env_values = true, global = true)]
    pub database_read_url: Option<String>,

    /// Past this lag the replica is bypassed (reads go to the primary) until
    /// it catches up.
    #[arg(long, env = "REPLICA_MAX_LAG_SECS", default_value_t = 5, global = true)]
    pub replica_max_lag_secs: u64,

    /// How often the replica's position and the primary's are read.
    #[arg(
        long,
        env = "REPLICA_CHECK_INTERVAL_MS",
        default_value_t = 200,
        global = true
    )]
    pub replica_check_interval_ms: u64,

    /// Redis for the result cache, persisted queries and live events (pub/sub), e.g. `redis://127.0.0.1:6379/0`. Unset: in-process cache.
    #[arg(long, env = "REDIS_URL", hide_env_values = true, global = true)]
    pub redis_url: Option<String>,

    /// Prefix of every Redis key, so deployments can share one Redis.
    #[arg(long, env = "REDIS_KEY_PREFIX", default_value = "cos:", global = true)]
    pub redis_key_prefix: String,

    /// Turn the result cache off (every read goes to the database); for
    /// measurements and debugging.
    #[arg(long, env = "CACHE_DISABLED", global = true)]
    pub cache_disabled: bool,

    /// Upper bound on one Redis call, in milliseconds.
    #[arg(long, env = "CACHE_TIMEOUT_MS", default_value_t = 250, global = true)]
    pub cache_timeout_ms: u64,

    /// Address the server binds.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen_addr: String,

    /// HS256 secret for bearer tokens. Unset: a random one per start, and a
    /// ready-to-use writer token in the log.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// Upper bound on any cached entry's age, in seconds.
    #[arg(long, env = "CACHE_TTL_SECS", default_value_t = 300, global = true)]
    pub cache_ttl_secs: u64,

    #[arg(long, env = "DB_MAX_CONNECTIONS", default_value_t = 16, global = true)]
    pub db_max_connections: u32,

    #[arg(long, env = "DB_MIN_CONNECTIONS", default_value_t = 1, global = true)]
    pub db_min_connections: u32,

    /// How long a request waits for a pooled connection before `SERVICE_UNAVAILABLE`.
    #[arg(
        long,
        env = "DB_ACQUIRE_TIMEOUT_SECS",
        default_value_t = 5,
        global = true
    )]
    pub db_acquire_timeout_secs: u64,

    #[arg(
        long,
        env = "DB_IDLE_TIMEOUT_SECS",
        default_value_t = 300,
        global = true
    )]
    pub db_idle_timeout_secs: u64,

    #[arg(
        long,
        env = "DB_MAX_LIFETIME_SECS",
        default_value_t = 1800,
        global = true
    )]
    pub db_max_lifetime_secs: u64,

    /// Deepest nesting of fields an operation may have.
    #[arg(long, env = "GRAPHQL_MAX_DEPTH", default_value_t = 16, global = true)]
    pub graphql_max_depth: usize,

    /// Highest cost one HTTP request may have (a batch shares it): a field
    /// costs 1, a list multiplies its fields by the rows it may return, and
    /// fields that run a statement of their own cost more.
    #[arg(
        long,
        env = "GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 150_000,
        global = true
    )]
    pub graphql_max_complexity: usize,

    /// Most field selections an operation may expand to once its fragments
    /// are spread.
    #[arg(
        long,
        env = "GRAPHQL_MAX_SELECTIONS",
        default_value_t = 2_000,
        global = true
    )]
    pub graphql_max_selections: usize,

    /// Largest GraphQL document (the query text, not its variables), in bytes.
    #[arg(
        long,
        env = "GRAPHQL_MAX_DOCUMENT_BYTES",
        default_value_t = 32_768,
        global = true
    )]
    pub graphql_max_document_bytes: usize,

    /// Most lexical tokens a document may have.
    #[arg(
        long,
        env = "GRAPHQL_MAX_TOKENS",
        default_value_t = 4_000,
        global = true
    )]
    pub graphql_max_tokens: usize,

    /// Largest response body, in bytes; a larger answer is replaced by a
    /// `RESPONSE_TOO_LARGE` error.
    #[arg(
        long,
        env = "MAX_RESPONSE_BYTES",
        default_value_t = 4 * 1024 * 1024,
        global = true
    )]
    pub max_response_bytes: usize,

    /// Pooled connections one HTTP request may hold at once.
    #[arg(
        long,
        env = "DB_MAX_CONNECTIONS_PER_REQUEST",
        default_value_t = 4,
        global = true
    )]
    pub db_max_connections_per_request: usize,

    /// Origins browsers may call the API from: `*`, or a comma-separated
    /// list (`http://localhost:3000,https://app.example.com`). Unset: no CORS
    /// headers (same origin only).
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", global = true)]
    pub cors_allowed_origins: Option<String>,

    /// A JSON manifest of trusted operations (Apollo's
    /// `apollo-persisted-query-manifest`, or a `{"<sha256>": "<document>"}` map).
    #[arg(long, env = "PERSISTED_QUERIES_FILE", global = true)]
    pub persisted_queries_file: Option<std::path::PathBuf>,

    /// Run only the operations of the manifest; refuse every other document
    /// and every new registration with `FORBIDDEN`.
    #[arg(long, env = "PERSISTED_QUERIES_ONLY", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub persisted_queries_only: bool,

    /// How long an automatic persisted query stays registered, in seconds.
    #[arg(
        long,
        env = "PERSISTED_QUERIES_TTL_SECS",
        default_value_t = 86_400,
        global = true
    )]
    pub persisted_queries_ttl_secs: u64,

    /// Most automatic persisted queries kept (the oldest go first).
    #[arg(
        long,
        env = "PERSISTED_QUERIES_MAX",
        default_value_t = 10_000,
        global = true
    )]
    pub persisted_queries_max: u64,

    /// Most rows `createCustomers` / `createOrders` take in one request.
    #[arg(long, env = "MAX_BULK_ROWS", default_value_t = 20_000, global = true)]
    pub max_bulk_rows: usize,

    /// Largest request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Longest a request may take before it is cancelled with 408 (and its
    /// transaction, if any, rolled back).
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Requests per second one client may make (by token subject, else by
    /// address); unset or 0: no limit.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", global = true)]
    pub rate_limit_per_second: Option<u32>,

    /// Requests a client may make at once above the rate (default: one
    /// second's worth).
    #[arg(long, env = "RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<u32>,

    /// Answer introspection queries (`__schema`, `__type`). Turn off in production if wanted.
    #[arg(long, env = "GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphql_introspection: bool,

    /// Serve the GraphiQL playground on `GET /graphql`.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// Most open HTTP connections; at the cap a new one closes the oldest
    /// idle one, and is refused only when all are busy.
    #[arg(
        long,
        env = "HTTP_MAX_CONNECTIONS",
        default_value_t = 4_096,
        global = true
    )]
    pub http_max_connections: usize,

    /// Seconds a client has to send a request's headers, counted from the
    /// connection's start or the end of the previous response (so also how
    /// long an idle keep-alive connection stays open).
    #[arg(
        long,
        env = "HTTP_HEADER_TIMEOUT_SECS",
        default_value_t = 15,
        global = true
    )]
    pub http_header_timeout_secs: u64,

    /// Most open WebSockets (subscription connections) per instance; more
    /// are refused with 503.
    #[arg(
        long,
        env = "WS_MAX_CONNECTIONS",
        default_value_t = 10_000,
        global = true
    )]
    pub ws_max_connections: usize,

    /// Most subscriptions one WebSocket may run at once; more are answered
    /// with an `error` message.
    #[arg(
        long,
        env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 100,
        global = true
    )]
    pub ws_max_subscriptions_per_connection: usize,

    /// Largest WebSocket message a client may send, in bytes; a larger one
    /// closes the socket (1009).
    #[arg(
        long,
        env = "WS_MAX_MESSAGE_BYTES",
        default_value_t = 65_536,
        global = true
    )]
    pub ws_max_message_bytes: usize,

    /// Seconds a client has, once connected, to have its `connection_init`
    /// acknowledged; then the socket closes (4408).
    #[arg(
        long,
        env = "WS_INIT_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub ws_init_timeout_secs: u64,

    /// Seconds between the server's `ping` messages; a client that sends
    /// nothing (not even `pong`) for three of them is disconnected, and so
    /// is one that accepts no data for two of them.
    #[arg(long, env = "WS_KEEPALIVE_SECS", default_value_t = 15, global = true)]
    pub ws_keepalive_secs: u64,

    /// Committed writes a subscriber may fall behind before it is
    /// disconnected as a slow consumer (1008).
    #[arg(long, env = "EVENT_BACKLOG", default_value_t = 1_024, global = true)]
    pub event_backlog: usize,

    /// Most distinct `topCustomersChanged` argument sets an instance serves
    /// (each is one watcher, read at most once a second).
    #[arg(
        long,
        env = "SUBSCRIPTION_MAX_RANKINGS",
        default_value_t = 64,
        global = true
    )]
    pub subscription_max_rankings: usize,

    /// How long in-flight requests may run after SIGTERM/Ctrl-C before the
    /// server stops anyway.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 30, global = true)]
    pub shutdown_grace_secs: u64,

    /// `text` (readable) or `json` (one object per line).
    #[arg(long, env = "LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,
}

impl Default for Settings {
    /// The flags' defaults, ignoring the environment (used by tests and
    /// benchmarks): the one place defaults are written is the `#[arg]`
    /// attributes above.
    fn default() -> Self {
        use clap::{Args, FromArgMatches};
        let command = Settings::augment_args(clap::Command::new("defaults"))
            .mut_args(|arg| arg.env(None::<&'static str>));
        let matches = command
            .try_get_matches_from(["defaults"])
            .expect("BUG: the settings' defaults parse");
        Settings::from_arg_matches(&matches).expect("BUG: the settings' defaults are valid")
    }
}

impl std::fmt::Debug for Settings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Settings")
            .field("database", &redact_url(&self.database_url()))
            .field("redis", &self.redis_url.as_deref().map(redact_url))
            .field("listen_addr", &self.listen_addr)
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("cache_ttl_secs", &self.cache_ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Settings {
    pub fn database_url(&self) -> String {
        self.database_url
            .clone()
            .filter(|u| !u.trim().is_empty())
            .unwrap_or_else(|| DEFAULT_DATABASE_URL.to_owned())
    }

    /// True when no database was configured: the embedded SQLite default.
    pub fn is_embedded_database(&self) -> bool {
        self.database_url
            .as_deref()
            .is_none_or(|u| u.trim().is_empty())
    }

    pub fn pool(&self) -> PoolSettings {
        PoolSettings {
            max_connections: self.db_max_connections.max(1),
            min_connections: self.db_min_connections,
            acquire_timeout: Duration::from_secs(self.db_acquire_timeout_secs.max(1)),
            idle_timeout: Duration::from_secs(self.db_idle_timeout_secs),
            max_lifetime: Duration::from_secs(self.db_max_lifetime_secs),
        }
    }

    /// The replica's URL, when one is configured.
    pub fn read_url(&self) -> Option<&str> {
        self.database_read_url
            .as_deref()
            .map(str::trim)
            .filter(|u| !u.is_empty())
    }

    pub fn cache_ttl(&self) -> Duration {
        Duration::from_secs(self.cache_ttl_secs.max(1))
    }

    pub fn engine_limits(&self) -> Limits {
        Limits {
            text: TextLimits {
                max_bytes: self.graphql_max_document_bytes,
                max_tokens: self.graphql_max_tokens,
                max_nesting: MAX_NESTING,
            },
            max_selections: self.graphql_max_selections as u64,
            max_depth: self.graphql_max_depth as u64,
            max_cost: self.graphql_max_complexity as u64,
            max_bulk_rows: self.max_bulk_rows as u64,
            max_connections_per_request: self.db_max_connections_per_request.max(1),
        }
    }

    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.http_max_connections.max(1),
            header_timeout: Duration::from_secs(self.http_header_timeout_secs.max(1)),
        }
    }

    pub fn limits(&self) -> service::Limits {
        service::Limits {
            max_bulk_rows: self.max_bulk_rows.max(1),
        }
    }
}

/// `url` with its database name (the path) replaced by `name`, keeping
/// credentials, host and query (used by the tests and benchmarks, which work
/// in databases of their own next to the configured one).
pub fn with_database_name(url: &str, name: &str) -> String {
    let (base, query) = match url.split_once('?') {
        Some((b, q)) => (b, Some(q)),
        None => (url, None),
    };
    let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
    let path_start = base[scheme_end..]
        .find('/')
        .map(|i| i + scheme_end)
        .unwrap_or(base.len());
    let mut out = format!("{}/{name}", &base[..path_start]);
    if let Some(q) = query {
        out.push('?');
        out.push_str(q);
    }
    out
}

/// `text` with `url` (and its password, wherever it appears alone) redacted.
pub fn scrub_url(text: &str, url: &str) -> String {
    let mut out = text.replace(url, &redact_url(url));
    if let (Some(scheme_end), Some(at)) = (url.find("://"), url.rfind('@'))
        && at > scheme_end
        && let Some((_, password)) = url[scheme_end + 3..at].split_once(':')
        && password.len() >= 3
    {
        out = out.replace(password, "***");
    }
    out
}

/// Hides the password of a URL for logs.
pub fn redact_url(url: &str) -> String {
    match (url.find("://"), url.rfind('@')) {
        (Some(scheme_end), Some(at)) if at > scheme_end => {
            let creds = &url[scheme_end + 3..at];
            match creds.split_once(':') {
                Some((user, _)) => format!("{}{user}:***{}", &url[..scheme_end + 3], &url[at..]),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn database_names_are_replaced() {
        assert_eq!(
            with_database_name("postgres://u:p@h:5432/postgres?sslmode=disable", "x"),
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database_name("postgres://h", "x"), "postgres://h/x");
    }

    #[test]
    fn driver_messages_lose_the_password() {
        let url = "postgres://user:hunter2@[bad/db";
        let msg = format!("The connection string '{url}' cannot be parsed; hunter2 again");
        let scrubbed = scrub_url(&msg, url);
        assert!(!scrubbed.contains("hunter2"), "{scrubbed}");
        assert!(
            scrubbed.contains("postgres://user:***@[bad/db"),
            "{scrubbed}"
        );
    }

    #[test]
    fn passwords_are_redacted() {
        assert_eq!(
            redact_url("postgres://app:s3cret@db:5432/app"),
            "postgres://app:***@db:5432/app"
        );
        assert_eq!(redact_url("postgres://app@db/app"), "postgres://app@db/app");
        assert_eq!(
            redact_url("sqlite://data.db?mode=rwc"),
            "sqlite://data.db?mode=rwc"
        );
    }
}
