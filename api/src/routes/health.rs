//! Liveness and readiness.

use std::time::Duration;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde_json::json;
use service::cache::CacheStatus;

use crate::state::AppState;

/// 200 while the process serves.
pub async fn healthz() -> &'static str {
    "ok"
}

/// 200 when the database answers (`status` is `degraded` when the cache is
/// down: the server still answers, from the database); 503 when it does not.
pub async fn readyz(State(state): State<AppState>) -> (StatusCode, Json<serde_json::Value>) {
    let timeout = state
        .settings
        .pool()
        .acquire_timeout
        .min(Duration::from_secs(3));
    let (db_up, cache) = tokio::join!(
        async {
            matches!(
                tokio::time::timeout(timeout, state.store.db.ping()).await,
                Ok(Ok(()))
            )
        },
        state.store.cache.status()
    );
    let status = match (db_up, cache) {
        (false, _) => "unavailable",
        (true, CacheStatus::Down) => "degraded",
        (true, _) => "ok",
    };
    let code = if db_up {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    (
        code,
        Json(json!({
            "status": status,
            "database": if db_up { "up" } else { "down" },
            "cache": cache.as_str(),
        })),
    )
}
