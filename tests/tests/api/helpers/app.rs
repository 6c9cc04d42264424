//! The application on a random port, and the requests tests send it.

use super::*;

pub struct TestApp {
    pub address: String,
    pub client: reqwest::Client,
    pub state: AppState,
    pub db: TestDb,
    pub redis_prefix: Option<String>,
    /// The settings it was built with (for siblings sharing its backends).
    pub settings: Settings,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for TestApp {
    fn drop(&mut self) {
        self.server.abort();
        if let (Some(url), Some(prefix)) =
            (self.settings.redis.url.clone(), self.redis_prefix.clone())
        {
            delete_redis_keys(url, prefix);
        }
    }
}

/// Removes a test's keys from a shared Redis. Drop may run inside a
/// runtime: use a thread with its own.
fn delete_redis_keys(url: String, prefix: String) {
    let _ = std::thread::spawn(move || {
        let Ok(rt) = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
        else {
            return;
        };
        rt.block_on(async move {
            let _ = tokio::time::timeout(
                Duration::from_secs(5),
                service::cache::delete_redis_prefix(&url, &prefix),
            )
            .await;
        });
    })
    .join();
}

/// Another server instance on the same database (and Redis, if any), as a
/// second replica would be. It owns nothing the first one needs.
pub struct Sibling {
    pub address: String,
    pub state: AppState,
    server: tokio::task::JoinHandle<()>,
}

impl Drop for Sibling {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Sibling {
    pub async fn query(&self, client: &reqwest::Client, query: &str, variables: Value) -> Value {
        client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON body")
    }
}

/// Settings for a test app on `db`: port 0, a known secret, Redis (with a
/// prefix of its own) when `REDIS_URL` is set.
pub fn test_settings(db: &TestDb) -> (Settings, Option<String>) {
    let mut settings = Settings::default();
    settings.database.url = Some(db.url.clone());
    settings.http.listen_addr = "127.0.0.1:0".into();
    settings.auth.jwt_secret = Some(JWT_SECRET.into());
    settings.database.max_connections = 5;
    let mut prefix = None;
    if let Ok(url) = std::env::var("REDIS_URL")
        && !url.is_empty()
    {
        let p = format!("{}:", unique_name("t"));
        settings.redis.url = Some(url);
        settings.redis.key_prefix = p.clone();
        prefix = Some(p);
    }
    (settings, prefix)
}

pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Spawns the app after `configure` adjusted its settings.
pub async fn spawn_app_with(configure: impl FnOnce(&mut Settings)) -> TestApp {
    init_tracing();
    let db = TestDb::create().await;
    let (mut settings, redis_prefix) = test_settings(&db);
    configure(&mut settings);
    spawn_on(db, settings, redis_prefix).await
}

/// Builds and serves the app with `settings`: its address, state and task.
pub async fn start(settings: Settings) -> (String, AppState, tokio::task::JoinHandle<()>) {
    let app = Application::build(
        settings,
        BuildOptions {
            migrate: true,
            record_sql: true,
        },
    )
    .await
    .expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let server = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    (address, state, server)
}

/// The server on a random port, running until the returned sender fires
/// (or is dropped): its address, state, the stop signal and its task (which
/// ends with the server's result once it has shut down).
pub async fn start_stoppable(
    settings: Settings,
) -> (
    String,
    AppState,
    tokio::sync::oneshot::Sender<()>,
    tokio::task::JoinHandle<Result<(), String>>,
) {
    let app = Application::build(
        settings,
        BuildOptions {
            migrate: true,
            record_sql: false,
        },
    )
    .await
    .expect("build the application");
    let address = format!("http://127.0.0.1:{}", app.port());
    let state = app.state().clone();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let server = tokio::spawn(async move {
        app.run_until(async move {
            let _ = stopped.await;
        })
        .await
        .map_err(|e| format!("{e:#}"))
    });
    (address, state, stop, server)
}

pub async fn spawn_on(db: TestDb, settings: Settings, redis_prefix: Option<String>) -> TestApp {
    let (address, state, server) = start(settings.clone()).await;
    TestApp {
        settings,
        address,
        client: reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .expect("http client"),
        state,
        db,
        redis_prefix,
        server,
    }
}

impl TestApp {
    /// A second instance sharing this one's database and cache backend.
    pub async fn spawn_sibling(&self) -> Sibling {
        let (address, state, server) = start(self.settings.clone()).await;
        Sibling {
            address,
            state,
            server,
        }
    }

    /// POSTs a GraphQL document anonymously; returns the whole response body.
    pub async fn query(&self, query: &str, variables: Value) -> Value {
        self.graphql(query, variables, None).await
    }

    /// POSTs a GraphQL document with a writer token.
    pub async fn mutate(&self, query: &str, variables: Value) -> Value {
        self.graphql(query, variables, Some(&writer())).await
    }

    pub async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let body = json!({ "query": query, "variables": variables });
        post_graphql(&self.client, &self.address, &body, token).await
    }

    /// `GET /metrics`: the Prometheus text.
    pub async fn metrics(&self) -> String {
        metrics_text(&self.client, &self.address).await
    }

    /// `GET /readyz`: the status and the JSON body.
    pub async fn readiness(&self) -> (u16, Value) {
        let resp = self
            .client
            .get(format!("{}/readyz", self.address))
            .send()
            .await
            .expect("readyz");
        (resp.status().as_u16(), resp.json().await.expect("JSON"))
    }

    /// The number of SQL statements the server has executed so far.
    pub fn statements(&self) -> u64 {
        self.state.statements.get()
    }

    pub fn store(&self) -> &service::Store {
        &self.state.store
    }

    /// Creates customers `name i` / `c{i}@example.com` through the service; returns their ids.
    pub async fn seed_customers(&self, n: usize) -> Vec<i64> {
        let news = (0..n)
            .map(|i| {
                service::input::NewCustomer::parse(
                    &format!("Customer {i}"),
                    &format!("c{i}@example.com"),
                    None,
                )
                .expect("valid customer")
            })
            .collect();
        self.store()
            .customers(&service::View::unrestricted())
            .create_many(news)
            .await
            .expect("seed customers")
            .into_iter()
            .map(|c| c.id)
            .collect()
    }

    /// Creates an order with an exact total (in cents) and creation time.
    pub async fn seed_order(&self, customer_id: i64, cents: i64, created_at: &str) -> i64 {
        let t = chrono::DateTime::parse_from_rfc3339(created_at)
            .expect("timestamp")
            .with_timezone(&chrono::Utc);
        let new = service::input::NewOrder::parse(
            customer_id,
            service::money::Money::from_cents(cents),
            None,
            Some(t),
        )
        .expect("valid order");
        self.store()
            .orders(&service::View::unrestricted())
            .create(new)
            .await
            .expect("seed order")
            .id
    }

    /// Row count of a table, straight from the database.
    pub async fn count_rows(&self, table: &str) -> i64 {
        let row = self
            .state
            .store
            .db
            .query_one_raw(Statement::from_string(
                self.db.backend,
                format!("SELECT COUNT(*) AS n FROM {table}"),
            ))
            .await
            .expect("count")
            .expect("a row");
        row.try_get::<i64>("", "n").expect("n")
    }
}

/// `data` of a response, failing the test when the response has errors.
pub fn data(resp: &Value) -> &Value {
    assert!(
        resp.get("errors").is_none(),
        "unexpected errors: {}",
        serde_json::to_string_pretty(resp).unwrap_or_default()
    );
    &resp["data"]
}

/// The `extensions.code` of the first error, failing when there is none.
pub fn error_code(resp: &Value) -> String {
    let err = &resp["errors"][0];
    assert!(err.is_object(), "expected an error, got {resp}");
    err["extensions"]["code"]
        .as_str()
        .unwrap_or_else(|| panic!("error without a code: {resp}"))
        .to_owned()
}

pub fn error_message(resp: &Value) -> String {
    resp["errors"][0]["message"]
        .as_str()
        .unwrap_or_default()
        .to_owned()
}

/// `GET /metrics` of the server at `address` (asserting a 200): its text.
/// POSTs `body` (one operation, a batch, a persisted-query hash) to the
/// `/graphql` of the instance at `address`; the whole JSON response.
pub async fn post_graphql(
    client: &reqwest::Client,
    address: &str,
    body: &Value,
    token: Option<&str>,
) -> Value {
    let mut req = client.post(format!("{address}/graphql")).json(body);
    if let Some(t) = token {
        req = req.bearer_auth(t);
    }
    let resp = req.send().await.expect("request");
    resp.json().await.expect("JSON body")
}

pub async fn metrics_text(client: &reqwest::Client, address: &str) -> String {
    let resp = client
        .get(format!("{address}/metrics"))
        .send()
        .await
        .expect("metrics");
    assert_eq!(resp.status(), 200);
    resp.text().await.expect("text")
}
