//! The settings of how the server serves: HTTP, auth, the GraphQL engine,
//! persisted queries and WebSockets.

use std::time::Duration;

use crate::server::ConnectionLimits;

/// Bearer tokens (`auth`).
#[derive(Clone, clap::Args)]
pub struct AuthSettings {
    /// HS256 secret for bearer tokens. Unset: a random one per start, and a
    /// ready-to-use writer token in the log.
    #[arg(long, env = "JWT_SECRET", hide_env_values = true, global = true)]
    pub jwt_secret: Option<String>,

    /// What callers without a token may do: `read` (as a reader) or `none`
    /// (every operation `UNAUTHENTICATED`; a WebSocket without a token in
    /// `connection_init` closes with 4401).
    #[arg(
        long,
        env = "ANONYMOUS_ACCESS",
        value_enum,
        default_value_t = AnonymousAccess::Read,
        global = true
    )]
    pub anonymous_access: AnonymousAccess,
}

/// What callers without a token may do (`ANONYMOUS_ACCESS`).
#[derive(Copy, Clone, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum AnonymousAccess {
    /// Read as a reader.
    Read,
    /// Nothing: every operation is `UNAUTHENTICATED`.
    None,
}

impl std::fmt::Debug for AuthSettings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthSettings")
            .field("jwt_secret", &self.jwt_secret.as_ref().map(|_| "<set>"))
            .field("anonymous_access", &self.anonymous_access)
            .finish()
    }
}

/// The HTTP server: the accept loop, the routes and their middleware.
#[derive(Clone, Debug, clap::Args)]
pub struct HttpSettings {
    /// Address the server binds.
    #[arg(
        long,
        env = "LISTEN_ADDR",
        default_value = "127.0.0.1:8000",
        global = true
    )]
    pub listen_addr: String,

    /// Most open HTTP connections; at the cap a new one closes the oldest
    /// idle one, and is refused only when all are busy.
    #[arg(
        id = "http_max_connections",
        value_name = "HTTP_MAX_CONNECTIONS",
        long = "http-max-connections",
        env = "HTTP_MAX_CONNECTIONS",
        default_value_t = 4_096,
        global = true
    )]
    pub max_connections: usize,

    /// Seconds a client has to send a request's headers, counted from the
    /// connection's start or the end of the previous response (so also how
    /// long an idle keep-alive connection stays open).
    #[arg(
        id = "http_header_timeout_secs",
        value_name = "HTTP_HEADER_TIMEOUT_SECS",
        long = "http-header-timeout-secs",
        env = "HTTP_HEADER_TIMEOUT_SECS",
        default_value_t = 15,
        global = true
    )]
    pub header_timeout_secs: u64,

    /// Longest a request may take before it is cancelled with 408 (and its
    /// transaction, if any, rolled back).
    #[arg(
        long,
        env = "REQUEST_TIMEOUT_SECS",
        default_value_t = 30,
        global = true
    )]
    pub request_timeout_secs: u64,

    /// Largest request body, in bytes.
    #[arg(long, env = "MAX_BODY_BYTES", default_value_t = 8 * 1024 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Largest response body, in bytes; a larger answer is replaced by a
    /// `RESPONSE_TOO_LARGE` error.
    #[arg(
        long,
        env = "MAX_RESPONSE_BYTES",
        default_value_t = 4 * 1024 * 1024,
        global = true
    )]
    pub max_response_bytes: usize,

    /// Origins browsers may call the API from: `*`, or a comma-separated
    /// list (`http://localhost:3000,https://app.example.com`). Unset: no CORS
    /// headers (same origin only).
    #[arg(long, env = "CORS_ALLOWED_ORIGINS", global = true)]
    pub cors_allowed_origins: Option<String>,

    /// Requests per second one client may make (a customer by its id, staff
    /// by the token's subject, else by address); unset or 0: no limit.
    #[arg(long, env = "RATE_LIMIT_PER_SECOND", global = true)]
    pub rate_limit_per_second: Option<u32>,

    /// Requests a client may make at once above the rate (default: one
    /// second's worth).
    #[arg(long, env = "RATE_LIMIT_BURST", global = true)]
    pub rate_limit_burst: Option<u32>,

    /// Serve the GraphiQL playground on `GET /graphql`.
    #[arg(long, env = "GRAPHIQL", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub graphiql: bool,

    /// How long in-flight requests may run after SIGTERM/Ctrl-C before the
    /// server stops anyway.
    #[arg(long, env = "SHUTDOWN_GRACE_SECS", default_value_t = 30, global = true)]
    pub shutdown_grace_secs: u64,
}

impl HttpSettings {
    pub fn connection_limits(&self) -> ConnectionLimits {
        ConnectionLimits {
            max_connections: self.max_connections.max(1),
            header_timeout: Duration::from_secs(self.header_timeout_secs.max(1)),
        }
    }
}

/// Persisted queries: the manifest and automatic registrations (`engine::persisted`).
#[derive(Clone, Debug, clap::Args)]
pub struct PersistedSettings {
    /// A JSON manifest of trusted operations (Apollo's
    /// `apollo-persisted-query-manifest`, or a `{"<sha256>": "<document>"}` map).
    #[arg(
        id = "persisted_queries_file",
        value_name = "PERSISTED_QUERIES_FILE",
        long = "persisted-queries-file",
        env = "PERSISTED_QUERIES_FILE",
        global = true
    )]
    pub file: Option<std::path::PathBuf>,

    /// Run only the operations of the manifest; refuse every other document
    /// and every new registration with `FORBIDDEN`.
    #[arg(id = "persisted_queries_only",
        value_name = "PERSISTED_QUERIES_ONLY",
        long = "persisted-queries-only", env = "PERSISTED_QUERIES_ONLY", default_value_t = false, action = clap::ArgAction::Set, global = true)]
    pub only: bool,

    /// How long an automatic persisted query stays registered, in seconds.
    #[arg(
        id = "persisted_queries_ttl_secs",
        value_name = "PERSISTED_QUERIES_TTL_SECS",
        long = "persisted-queries-ttl-secs",
        env = "PERSISTED_QUERIES_TTL_SECS",
        default_value_t = 86_400,
        global = true
    )]
    pub ttl_secs: u64,

    /// Most automatic persisted queries kept (the oldest go first).
    #[arg(
        id = "persisted_queries_max",
        value_name = "PERSISTED_QUERIES_MAX",
        long = "persisted-queries-max",
        env = "PERSISTED_QUERIES_MAX",
        default_value_t = 10_000,
        global = true
    )]
    pub max: u64,
}

/// WebSockets and their subscriptions (`routes::graphql::ws`, `live`).
#[derive(Clone, Debug, clap::Args)]
pub struct WsSettings {
    /// Most open WebSockets (subscription connections) per instance; more
    /// are refused with 503.
    #[arg(
        id = "ws_max_connections",
        value_name = "WS_MAX_CONNECTIONS",
        long = "ws-max-connections",
        env = "WS_MAX_CONNECTIONS",
        default_value_t = 10_000,
        global = true
    )]
    pub max_connections: usize,

    /// Most subscriptions one WebSocket may run at once; more are answered
    /// with an `error` message.
    #[arg(
        id = "ws_max_subscriptions_per_connection",
        value_name = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        long = "ws-max-subscriptions-per-connection",
        env = "WS_MAX_SUBSCRIPTIONS_PER_CONNECTION",
        default_value_t = 100,
        global = true
    )]
    pub max_subscriptions_per_connection: usize,

    /// Largest WebSocket message a client may send, in bytes; a larger one
    /// closes the socket (1009).
    #[arg(
        id = "ws_max_message_bytes",
        value_name = "WS_MAX_MESSAGE_BYTES",
        long = "ws-max-message-bytes",
        env = "WS_MAX_MESSAGE_BYTES",
        default_value_t = 65_536,
        global = true
    )]
    pub max_message_bytes: usize,

    /// Seconds a client has, once connected, to have its `connection_init`
    /// acknowledged; then the socket closes (4408).
    #[arg(
        id = "ws_init_timeout_secs",
        value_name = "WS_INIT_TIMEOUT_SECS",
        long = "ws-init-timeout-secs",
        env = "WS_INIT_TIMEOUT_SECS",
        default_value_t = 10,
        global = true
    )]
    pub init_timeout_secs: u64,

    /// Seconds between the server's `ping` messages; a client that sends
    /// nothing (not even `pong`) for three of them is disconnected, and so
    /// is one that accepts no data for two of them.
    #[arg(
        id = "ws_keepalive_secs",
        value_name = "WS_KEEPALIVE_SECS",
        long = "ws-keepalive-secs",
        env = "WS_KEEPALIVE_SECS",
        default_value_t = 15,
        global = true
    )]
    pub keepalive_secs: u64,

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
}
