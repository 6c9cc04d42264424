//! Reads from a real streaming replica with a real apply delay: a writer
//! reads its write at once, others catch up and never go back, a lagging
//! replica never refills the cache with an old value, a stopped replica is
//! bypassed and comes back, two instances share read-your-writes.

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

/// A cluster, a database on it, and settings that read from its replica.
async fn replicated(redis: Option<(String, String)>) -> (Cluster, Settings) {
    let cluster = Cluster::start(APPLY_DELAY_MS).await;
    let name = unique_name("rr");
    cluster.create_database(&name).await;
    let mut settings = Settings {
        database_url: Some(cluster.primary_url(&name)),
        database_read_url: Some(cluster.replica_url(&name)),
        listen_addr: "127.0.0.1:0".into(),
        jwt_secret: Some(crate::helpers::JWT_SECRET.into()),
        db_max_connections: 5,
        replica_check_interval_ms: 100,
        ..Settings::default()
    };
    if let Some((url, prefix)) = redis {
        settings.redis_url = Some(url);
        settings.redis_key_prefix = prefix;
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

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn writers_read_their_writes_and_others_catch_up() {
    let _ = NEEDS;
    let (_cluster, settings) = replicated(None).await;
    let app = Instance::start(settings).await;
    let id = customer(&app, "Before").await;
    let token = writer();

    app.rename(&id, "After").await;
    let (_, to_primary) = app.routed();
    // The writer, at once: its write (from the primary).
    assert_eq!(app.name_of(&id, Some(&token)).await, "After");
    assert_eq!(
        app.routed().1,
        to_primary + 1,
        "the writer read the primary"
    );
    // Anyone else, at once: the replica has not applied it yet.
    let (to_replica, _) = app.routed();
    assert_eq!(app.name_of(&id, None).await, "Before");
    assert_eq!(app.routed().0, to_replica + 1, "the replica served it");
    // ... and only until it has; then never the old value again.
    eventually(&app, &id, "After").await;

    // The aggregates follow: an order shows in the writer's totals at once.
    let resp = app
        .graphql(
            "mutation($c: ID!) { createOrder(input: {customerId: $c, total: \"12.50\"}) { id } }",
            json!({ "c": id }),
            Some(&token),
        )
        .await;
    data(&resp);
    let resp = app
        .graphql(
            "query($id: ID!) { customer(id: $id) { orderCount totalSpent } }",
            json!({ "id": id }),
            Some(&token),
        )
        .await;
    assert_eq!(
        data(&resp)["customer"],
        json!({ "orderCount": 1, "totalSpent": "12.50" })
    );
    // Readers on the replica see them once it has replayed. The two fields
    // are two statements, run concurrently: within one request the replica
    // may replay between them, so the ranking is checked from the next
    // request on, when the replica is known to have replayed the order.
    let both = "query($id: ID!) { customer(id: $id) { orderCount } topCustomers(limit: 1) { totalSpent } }";
    let mut caught_up = false;
    for _ in 0..100 {
        let resp = app.graphql(both, json!({ "id": id }), None).await;
        if resp["data"]["customer"]["orderCount"] == 1 {
            caught_up = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(caught_up, "anonymous readers never saw the order");
    // ... and never the old ranking again (nor an old one from the cache).
    for _ in 0..20 {
        let resp = app.graphql(both, json!({ "id": id }), None).await;
        assert_eq!(
            data(&resp),
            &json!({ "customer": { "orderCount": 1 }, "topCustomers": [{ "totalSpent": "12.50" }] }),
            "{resp}"
        );
    }
    let ready = app.readiness().await;
    assert_eq!(ready["replica"], "up", "{ready}");
    assert_eq!(ready["status"], "ok", "{ready}");
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup), the postgres OS user, and Redis (REDIS_URL or redis-server)"]
async fn a_lagging_replica_never_refills_the_cache_and_writers_read_anywhere() {
    let (redis_url, prefix, _redis) = some_redis().await;
    let (_cluster, settings) = replicated(Some((redis_url, prefix))).await;
    let a = Instance::start(settings.clone()).await;
    let b = Instance::start(settings).await;
    let id = customer(&a, "Old").await;
    // B caches the customer (read from the caught-up replica).
    eventually(&b, &id, "Old").await;
    let hits = b
        .state
        .store
        .cache
        .counters()
        .hits
        .load(std::sync::atomic::Ordering::Relaxed);
    b.name_of(&id, None).await;
    assert!(
        b.state
            .store
            .cache
            .counters()
            .hits
            .load(std::sync::atomic::Ordering::Relaxed)
            > hits,
        "the value is cached"
    );

    // Written through A. The writer reads it through B at once.
    a.rename(&id, "New").await;
    assert_eq!(b.name_of(&id, Some(&writer())).await, "New");
    // An anonymous reader on B misses (the version moved) and reads the
    // replica, which has not applied the write: the old value, which must
    // not be stored under the new version.
    assert_eq!(b.name_of(&id, None).await, "Old");
    assert_eq!(b.name_of(&id, None).await, "Old");
    // Once the replica has applied it, every reader sees the new value: a
    // refilled old value would be served until the TTL (300 s).
    eventually(&b, &id, "New").await;
    eventually(&a, &id, "New").await;
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn a_stopped_replica_is_bypassed_until_it_is_back() {
    let (cluster, settings) = replicated(None).await;
    let app = Instance::start(settings).await;
    let id = customer(&app, "Steady").await;

    cluster.stop_replica().await;
    // Reads keep working (from the primary), with no error, while the
    // checker notices; then /readyz says so.
    let ready = app.until_replica_down(Some((&id, "Steady"))).await;
    assert_eq!(ready["status"], "degraded", "{ready}");
    let (to_replica, _) = app.routed();
    for _ in 0..10 {
        assert_eq!(app.name_of(&id, None).await, "Steady");
    }
    app.rename(&id, "While down").await;
    assert_eq!(app.name_of(&id, None).await, "While down");
    assert_eq!(
        app.routed().0,
        to_replica,
        "nothing went to the stopped replica"
    );

    cluster.start_replica().await;
    app.serving().await;
    let ready = app.readiness().await;
    assert_eq!(ready["replica"], "up", "{ready}");
    assert_eq!(ready["status"], "ok", "{ready}");
    // Back on the replica once it has replayed what the primary had when
    // it was let back; every read before and after sees the write.
    let (to_replica, _) = app.routed();
    assert!(
        app.back_on_replica(to_replica, 0, Some((&id, "While down")))
            .await,
        "reads never returned to the replica"
    );
    // (Gauges are process-wide and the tests run several instances at
    // once; the pool gauge is set by this instance's scrape itself.)
    let open = app
        .metric("db_read_pool_connections{state=\"idle\"}")
        .await
        .expect("the replica's pool gauge")
        + app
            .metric("db_read_pool_connections{state=\"in_use\"}")
            .await
            .expect("the replica's pool gauge");
    assert!(open >= 1.0, "the replica's pool has connections: {open}");
    // Reads counted by target: at least this instance's (other tests'
    // instances add to the same process-wide counter, never take away).
    let counted = || app.metric("db_reads_total{target=\"replica\"}");
    let (before, routed_before) = (counted().await.expect("reads by target"), app.routed().0);
    for _ in 0..5 {
        assert_eq!(app.name_of(&id, None).await, "While down");
    }
    let routed = app.routed().0 - routed_before;
    let after = counted().await.expect("reads by target");
    assert!(routed >= 5, "{routed} of 5 reads went to the replica");
    assert!(
        after - before >= routed as f64,
        "{before} -> {after}, {routed} routed"
    );
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn readers_never_see_a_write_undone_across_a_bypass() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    // Writes go on every 20 ms the whole time, so the replica (applying
    // each 300 ms late) is never fully caught up, yet must come back.
    let (cluster, settings) = replicated(None).await;
    let app = Arc::new(Instance::start(settings).await);
    let id = customer(&app, "v0").await;
    let done = Arc::new(AtomicBool::new(false));
    let writes = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let mut i = 0u64;
            while !done.load(Ordering::SeqCst) {
                i += 1;
                app.rename(&id, &format!("v{i}")).await;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            i
        })
    };
    // An anonymous reader: the version it sees never goes back.
    let reads = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let (mut highest, mut count) = (0u64, 0u64);
            while !done.load(Ordering::SeqCst) {
                let name = app.name_of(&id, None).await;
                let seen: u64 = name[1..].parse().expect("a version");
                assert!(seen >= highest, "saw v{seen} after v{highest}");
                highest = seen;
                count += 1;
            }
            (highest, count)
        })
    };

    tokio::time::sleep(Duration::from_millis(500)).await;
    cluster.stop_replica().await;
    app.until_replica_down(None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    let (to_replica, _) = app.routed();
    cluster.start_replica().await;
    let back = app.back_on_replica(to_replica, 20, None).await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    done.store(true, Ordering::SeqCst);
    let written = writes.await.expect("the writer");
    let (highest, count) = reads.await.expect("a reader that never saw a write undone");
    assert!(
        back,
        "reads never returned to the replica while writes went on"
    );
    assert!(
        written > 50 && count > 50,
        "{written} writes, {count} reads"
    );
    assert!(highest > 0);
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn a_restarted_replica_serves_again_only_once_it_is_back_where_it_was() {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    // No writes around the restarts: the primary's position does not move,
    // so only what the restarted replica says of itself can tell whether
    // it is back where it was (after a crash a standby recovers from its
    // last restart point and may accept reads before it is back).
    let (cluster, settings) = replicated(None).await;
    let app = Arc::new(Instance::start(settings).await);
    let id = customer(&app, "Before").await;
    app.rename(&id, "After").await;
    eventually(&app, &id, "After").await;
    let done = Arc::new(AtomicBool::new(false));
    let reads = {
        let (app, id, done) = (app.clone(), id.clone(), done.clone());
        tokio::spawn(async move {
            let mut count = 0u64;
            while !done.load(Ordering::SeqCst) {
                assert_eq!(app.name_of(&id, None).await, "After");
                count += 1;
            }
            count
        })
    };
    for crash in [false, true, true] {
        let (to_replica, _) = app.routed();
        if crash {
            cluster.crash_replica().await;
        } else {
            cluster.stop_replica().await;
        }
        cluster.start_replica().await;
        assert!(
            app.back_on_replica(to_replica, 20, None).await,
            "reads never returned to the replica"
        );
    }
    done.store(true, Ordering::SeqCst);
    let count = reads.await.expect("a reader that always saw the rename");
    assert!(count > 60, "{count} reads");
}

/// One text value a statement returns on `url` (None when no row).
async fn sql_text(url: &str, sql: &str) -> Option<String> {
    use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
    let db = Database::connect(url).await.expect("connect");
    let row = db
        .query_one_raw(Statement::from_string(DbBackend::Postgres, sql))
        .await
        .expect("query");
    db.close().await.ok();
    row.map(|r| r.try_get_by_index::<String>(0).expect("text"))
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn a_replica_url_that_moves_to_an_older_replica_is_not_trusted() {
    use crate::proxy::{FaultProxy, route_through, upstream_of};

    // The replica URL goes through a balancer (here a proxy) that fails
    // over from replica A to replica B, whose replay is paused before the
    // last write: what the server knew of A's position says nothing of B.
    let (cluster, mut settings) = replicated(None).await;
    let name = settings
        .database_url
        .as_deref()
        .and_then(|u| u.rsplit('/').next())
        .expect("a database name")
        .to_owned();
    let b_port = cluster.add_replica().await;
    let b_url = format!("postgres://postgres@127.0.0.1:{b_port}/{name}");
    let a_url = settings.database_read_url.clone().expect("replica A");
    let proxy = FaultProxy::start(upstream_of(&a_url, 5432).await).await;
    settings.database_read_url = Some(route_through(&a_url, proxy.addr));
    let app = Instance::start(settings).await;

    let id = customer(&app, "Before").await;
    let on_b = format!("SELECT name FROM customers WHERE id = {id}");
    let mut replayed = false;
    for _ in 0..200 {
        if sql_text(&b_url, &on_b).await.as_deref() == Some("Before") {
            replayed = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    assert!(replayed, "replica B never got the customer");
    sql_text(&b_url, "SELECT pg_wal_replay_pause()::text, 'paused'::text").await;
    app.rename(&id, "After").await;
    eventually(&app, &id, "After").await;

    proxy.switch_to(upstream_of(&b_url, 5432).await);
    for _ in 0..60 {
        assert_eq!(app.name_of(&id, None).await, "After");
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    let ready = app.readiness().await;
    assert_eq!(ready["status"], "degraded", "{ready}");

    // Once B replays the write it serves again.
    sql_text(&b_url, "SELECT pg_wal_replay_resume()::text").await;
    let (to_replica, _) = app.routed();
    assert!(
        app.back_on_replica(to_replica, 5, Some((&id, "After")))
            .await,
        "reads never returned to replica B"
    );
}
