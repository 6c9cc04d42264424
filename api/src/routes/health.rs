//! Liveness and readiness.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use service::cache::CacheStatus;
use service::replication::ReplicaStatus;

use crate::state::AppState;

/// 200 while the process serves.
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers (`status` is `degraded` when the cache is
/// down, the replica is bypassed (the server still answers, from the
/// primary), or the database was found behind a transaction pooler that
/// `DATABASE_POOLER` does not name (`pooler` says so and what to set));
/// 503 when it does not.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let timeout = state.pool.acquire_timeout.min(Duration::from_secs(3));
    let (db_up, cache) = tokio::join!(
        async {
            matches!(
                tokio::time::timeout(timeout, state.store.db.ping()).await,
                Ok(Ok(()))
            )
        },
        state.store.cache.status()
    );
    // The replica as its checker last saw it: bypassed, it costs speed only.
    let replica = state.store.replication.as_ref().map(|r| r.status());
    let replica_up = replica.is_none_or(|(s, _)| s == ReplicaStatus::Up);
    let found = state.store.db.pooler_found().or_else(|| {
        let replication = state.store.replication.as_ref()?;
        replication.replica().pooler_found()
    });
    let status = match (db_up, cache) {
        (false, _) => "unavailable",
        (true, CacheStatus::Down) => "degraded",
        (true, _) if !replica_up || found.is_some() => "degraded",
        (true, _) => "ok",
    };
    let code = if db_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    let mut body = json!({
        "status": status,
        "database": if db_up { "up" } else { "down" },
        "cache": cache.as_str(),
    });
    if let Some(why) = found {
        body["pooler"] = json!(format!(
            "the database appears to be behind a transaction pooler ({why}): statements go \
             unnamed, each in a transaction; set DATABASE_POOLER=transaction"
        ));
    }
    if let Some((replica, lag)) = replica {
        body["replica"] = json!(replica.as_str());
        body["replica_lag_ms"] = json!(u64::try_from(lag.as_millis()).unwrap_or(u64::MAX));
    }
    (code, Json(body))
}
