//! Reads from a real streaming replica with a real apply delay: a writer
//! reads its write at once, others catch up and never go back, a lagging
//! replica never refills the cache with an old value, a stopped replica is
//! bypassed and comes back, two instances share read-your-writes, and a
//! writer reads its write behind transaction poolers too.

mod bypass;
mod pooled;
mod reads;
mod traced;

use std::time::Duration;

use api::settings::Settings;
use api::state::AppState;
use serde_json::{Value, json};
use service::replication::ReplicaStatus;

use crate::helpers::{data, metrics_text, start, unique_name, writer};
use crate::redis_server::RedisServer;
use crate::replica_cluster::Cluster;

const NEEDS: &str =
    "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user";

/// The replica applies every commit this late.
const APPLY_DELAY_MS: u64 = 300;

struct Instance {
    address: String,
    state: AppState,
    client: reqwest::Client,
    _server: AbortOnDrop,
}

struct AbortOnDrop(tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}

impl Instance {
    async fn start(settings: Settings) -> Instance {
        let (address, state, server) = start(settings).await;
        let instance = Instance {
            address,
            state,
            client: reqwest::Client::new(),
            _server: AbortOnDrop(server),
        };
        instance.serving().await;
        instance
    }

    /// Waits until the replica serves this instance's queries.
    async fn serving(&self) {
        for _ in 0..300 {
            if self.replica_status() == ReplicaStatus::Up {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("the replica never served: {:?}", self.replica_status());
    }

    fn replica_status(&self) -> ReplicaStatus {
        self.state
            .store
            .replication
            .as_ref()
            .expect("a replica is configured")
            .status()
            .0
    }

    fn routed(&self) -> (u64, u64) {
        self.state
            .store
            .replication
            .as_ref()
            .expect("a replica is configured")
            .routed()
    }

    async fn graphql(&self, query: &str, variables: Value, token: Option<&str>) -> Value {
        let mut request = self
            .client
            .post(format!("{}/graphql", self.address))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(t) = token {
            request = request.bearer_auth(t);
        }
        request
            .send()
            .await
            .expect("request")
            .json()
            .await
            .expect("JSON")
    }

    async fn name_of(&self, id: &str, token: Option<&str>) -> String {
        let resp = self
            .graphql(
                "query($id: ID!) { customer(id: $id) { name } }",
                json!({ "id": id }),
                token,
            )
            .await;
        resp["data"]["customer"]["name"]
            .as_str()
            .unwrap_or_else(|| panic!("name: {resp}"))
            .to_owned()
    }

    async fn rename(&self, id: &str, name: &str) {
        let resp = self
            .graphql(
                "mutation($id: ID!, $n: String!) { updateCustomer(id: $id, input: {name: $n}) { name } }",
                json!({ "id": id, "n": name }),
                Some(&writer()),
            )
            .await;
        assert_eq!(data(&resp)["updateCustomer"]["name"], name);
    }

    async fn readiness(&self) -> Value {
        self.client
            .get(format!("{}/readyz", self.address))
            .send()
            .await
            .expect("readyz")
            .json()
            .await
            .expect("JSON")
    }

    /// Polls `/readyz` until it reports the replica down (at most 5 s),
    /// first reading `read`'s customer anonymously each round and asserting
    /// its name; the readiness that said so.
    async fn until_replica_down(&self, read: Option<(&str, &str)>) -> Value {
        for _ in 0..100 {
            if let Some((id, name)) = read {
                assert_eq!(self.name_of(id, None).await, name);
            }
            let ready = self.readiness().await;
            if ready["replica"] == "down" {
                return ready;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("/readyz never reported the replica down");
    }

    /// Polls until more than `more` queries went to the replica since
    /// `since` (at most 10 s), first reading `read`'s customer anonymously
    /// each round and asserting its name; whether they did.
    async fn back_on_replica(&self, since: u64, more: u64, read: Option<(&str, &str)>) -> bool {
        for _ in 0..200 {
            if let Some((id, name)) = read {
                assert_eq!(self.name_of(id, None).await, name);
            }
            if self.routed().0 > since + more {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        false
    }

    /// The value of one sample line of `/metrics` (`name{labels}`), if any.
    async fn metric(&self, sample: &str) -> Option<f64> {
        metrics_text(&self.client, &self.address)
            .await
            .lines()
            .find_map(|l| l.strip_prefix(sample)?.trim().parse().ok())
    }
}

/// The name of the database `settings` use.
fn database_name(settings: &Settings) -> String {
    settings
        .database
        .url
        .as_deref()
        .and_then(|u| u.rsplit('/').next())
        .expect("a database name")
        .to_owned()
}

/// A cluster, a database on it, and settings that read from its replica.
async fn replicated(redis: Option<(String, String)>) -> (Cluster, Settings) {
    let cluster = Cluster::start(APPLY_DELAY_MS).await;
    let name = unique_name("rr");
    cluster.create_database(&name).await;
    let mut settings = Settings::default();
    settings.database.url = Some(cluster.primary_url(&name));
    settings.database.read_url = Some(cluster.replica_url(&name));
    settings.http.listen_addr = "127.0.0.1:0".into();
    settings.auth.jwt_secret = Some(crate::helpers::JWT_SECRET.into());
    settings.database.max_connections = 5;
    settings.replica.check_interval_ms = 100;
    if let Some((url, prefix)) = redis {
        settings.redis.url = Some(url);
        settings.redis.key_prefix = prefix;
    }
    (cluster, settings)
}

/// `REDIS_URL`'s Redis, or a private `redis-server`.
async fn some_redis() -> (String, String, Option<RedisServer>) {
    let prefix = format!("{}:", unique_name("rr"));
    match std::env::var("REDIS_URL").ok().filter(|u| !u.is_empty()) {
        Some(url) => (url, prefix, None),
        None => {
            let server = RedisServer::start()
                .await
                .expect("this test needs REDIS_URL or redis-server (see .ci/run)");
            (server.url(), prefix, Some(server))
        }
    }
}

/// Creates a customer and waits until anonymous readers see it.
async fn customer(instance: &Instance, name: &str) -> String {
    let resp = instance
        .graphql(
            "mutation($n: String!, $e: String!) { createCustomer(input: {name: $n, email: $e}) { id } }",
            json!({ "n": name, "e": format!("{}@example.com", unique_name("c")) }),
            Some(&writer()),
        )
        .await;
    let id = data(&resp)["createCustomer"]["id"]
        .as_str()
        .expect("id")
        .to_owned();
    eventually(instance, &id, name).await;
    id
}

/// Polls anonymous reads until they show `name` (within 5 s), then checks
/// that twenty more reads never show anything else.
async fn eventually(instance: &Instance, id: &str, name: &str) {
    let mut seen = false;
    for _ in 0..100 {
        let resp = instance
            .graphql(
                "query($id: ID!) { customer(id: $id) { name } }",
                json!({ "id": id }),
                None,
            )
            .await;
        if resp["data"]["customer"]["name"] == name {
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(seen, "anonymous readers never saw {name:?}");
    for _ in 0..20 {
        assert_eq!(instance.name_of(id, None).await, name, "went back");
    }
}
