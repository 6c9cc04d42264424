//! A database of the benchmark's own and the server running in-process.

use std::time::Duration;

use anyhow::Context as _;
use api::auth::{Jwt, Role};
use api::settings::Settings;
use api::startup::{Application, BuildOptions};
use api::state::AppState;
use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};

pub const SECRET: &str = "benchmark-secret";

/// Drops and creates database `name` next to `base`; returns its URL.
pub async fn fresh_database(base: &str, name: &str) -> anyhow::Result<String> {
    let admin = Database::connect(base)
        .await
        .context("connecting to PostgreSQL")?;
    admin
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        ))
        .await?;
    admin
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("CREATE DATABASE \"{name}\""),
        ))
        .await?;
    admin.close().await?;
    Ok(api::settings::with_database_name(base, name))
}

pub async fn drop_database(base: &str, name: &str) -> anyhow::Result<()> {
    let admin = Database::connect(base).await?;
    admin
        .execute_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"),
        ))
        .await?;
    admin.close().await?;
    Ok(())
}

/// The server, running in this process on a random port.
pub struct Server {
    pub url: String,
    pub state: AppState,
    pub client: reqwest::Client,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for Server {
    fn drop(&mut self) {
        self.task.abort();
    }
}

pub async fn start(settings: Settings) -> anyhow::Result<Server> {
    let app = Application::build(
        settings,
        BuildOptions {
            migrate: true,
            record_sql: false,
        },
    )
    .await?;
    let url = format!("http://127.0.0.1:{}/graphql", app.port());
    let state = app.state().clone();
    let task = tokio::spawn(async move {
        let _ = app.run_until(std::future::pending()).await;
    });
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(256)
        .timeout(Duration::from_secs(120))
        .build()?;
    Ok(Server {
        url,
        state,
        client,
        task,
    })
}

pub fn settings(database_url: &str) -> Settings {
    let mut settings = Settings::default();
    settings.database.url = Some(database_url.to_owned());
    settings.http.listen_addr = "127.0.0.1:0".into();
    settings.auth.jwt_secret = Some(SECRET.into());
    settings
}

pub fn writer_token() -> anyhow::Result<String> {
    Ok(Jwt::new(SECRET.as_bytes()).issue("bench", Role::Writer, Duration::from_secs(24 * 3600))?)
}

impl Server {
    /// POSTs a pre-encoded document (the client's JSON encoding is not the
    /// server's cost); fails on transport errors and GraphQL errors.
    pub async fn post_bytes(&self, body: Vec<u8>, token: Option<&str>) -> anyhow::Result<()> {
        self.send(body, token)
            .await
            .map_err(|code| anyhow::anyhow!("request failed: {code}"))
    }

    /// POSTs a pre-encoded document; `Err` holds the error's code: the
    /// GraphQL `extensions.code`, `HTTP <status>`, or `transport`.
    pub async fn send(&self, body: Vec<u8>, token: Option<&str>) -> Result<(), String> {
        let mut req = self
            .client
            .post(&self.url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp = req.send().await.map_err(|_| "transport".to_owned())?;
        let status = resp.status();
        let bytes = resp.bytes().await.map_err(|_| "transport".to_owned())?;
        // Parsing every answer would bill the client's JSON work to the
        // server; look closer only when an error may be in it.
        if bytes.windows(9).any(|w| w == b"\"errors\":") {
            let value: serde_json::Value =
                serde_json::from_slice(&bytes).map_err(|_| format!("HTTP {}", status.as_u16()))?;
            if let Some(err) = value.get("errors").and_then(|e| e.get(0)) {
                return Err(err["extensions"]["code"]
                    .as_str()
                    .unwrap_or("NO_CODE")
                    .to_owned());
            }
        }
        if !status.is_success() {
            return Err(format!("HTTP {}", status.as_u16()));
        }
        Ok(())
    }

    /// POSTs a document; fails on transport errors and GraphQL errors.
    pub async fn post(
        &self,
        body: &serde_json::Value,
        token: Option<&str>,
    ) -> anyhow::Result<serde_json::Value> {
        let mut req = self.client.post(&self.url).json(body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        let resp: serde_json::Value = req.send().await?.json().await?;
        if let Some(errors) = resp.get("errors") {
            anyhow::bail!("GraphQL errors: {errors}");
        }
        Ok(resp)
    }
}

/// Deletes the benchmark's keys (those under its prefix) from Redis.
pub async fn forget_redis_keys(redis: &api::settings::RedisSettings) {
    if let Some(url) = redis.url.as_deref() {
        let _ = service::cache::delete_redis_prefix(url, &redis.key_prefix).await;
    }
}
