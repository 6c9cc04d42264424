//! Typed settings from the environment (`.env` honoured) and flags. Every
//! variable here is listed in `.env.example` and the README (a test checks
//! both). Secrets are never logged.
//!
//! Settings are grouped by concern (zero2prod's `configuration.rs`, with
//! clap's `flatten`): `storage` holds the database, replica, Redis and
//! cache groups, `serving` the HTTP, auth, GraphQL, persisted-query and
//! WebSocket groups. Each group is handed only to the module that uses it;
//! the variables' names are the contract's and do not follow the grouping.
//! Every field keeps its default and help text in its `#[arg]`, so
//! `--help`, the defaults and the documentation have one source.

mod graphql;
mod serving;
mod storage;
mod traces;

pub use graphql::GraphqlSettings;
pub use serving::{AnonymousAccess, AuthSettings, HttpSettings, PersistedSettings, WsSettings};
pub use storage::{
    CacheSettings, DatabasePooler, DatabaseSettings, RedisSettings, ReplicaSettings,
};
pub use traces::{TraceContextTrust, TraceSettings};

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

/// Every setting, grouped by concern; each group goes only to what uses it.
#[derive(Clone, clap::Args)]
pub struct Settings {
    #[command(flatten, next_help_heading = "Database")]
    pub database: DatabaseSettings,
    #[command(flatten, next_help_heading = "Read replica")]
    pub replica: ReplicaSettings,
    #[command(flatten, next_help_heading = "Redis")]
    pub redis: RedisSettings,
    #[command(flatten, next_help_heading = "Result cache")]
    pub cache: CacheSettings,
    #[command(flatten, next_help_heading = "Auth")]
    pub auth: AuthSettings,
    #[command(flatten, next_help_heading = "HTTP")]
    pub http: HttpSettings,
    #[command(flatten, next_help_heading = "GraphQL")]
    pub graphql: GraphqlSettings,
    #[command(flatten, next_help_heading = "Persisted queries")]
    pub persisted: PersistedSettings,
    #[command(flatten, next_help_heading = "WebSockets and subscriptions")]
    pub ws: WsSettings,
    #[command(flatten, next_help_heading = "Traces (OpenTelemetry)")]
    pub traces: TraceSettings,

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
            .field("database", &self.database)
            .field("redis", &self.redis)
            .field("auth", &self.auth)
            .field("listen_addr", &self.http.listen_addr)
            .field("cache_ttl_secs", &self.cache.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl Settings {
    /// The engine's limits (the document limits, and the database
    /// connections one request may hold).
    pub fn engine_limits(&self) -> crate::graphql::engine::Limits {
        let mut limits = self
            .graphql
            .engine_limits(self.database.max_connections_per_request);
        limits.audience_backlog = self.ws.event_backlog.max(1);
        limits
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
