//! HTTP routes: GraphQL (and GraphiQL), health, readiness and metrics.

pub mod graphql;
pub mod health;
pub mod metrics;
pub mod middleware;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::get;

use crate::startup::AppState;

pub fn router(state: AppState) -> Router {
    let body_limit = state.settings.max_body_bytes;
    Router::new()
        .route(
            "/graphql",
            get(graphql::graphql_get).post(graphql::graphql_post),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(metrics::metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .with_state(state)
}
