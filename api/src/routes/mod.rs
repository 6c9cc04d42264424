//! HTTP routes: GraphQL (and the playground), health, readiness and
//! metrics, behind the request middleware, CORS and compression.

pub mod graphql;
pub mod health;
pub mod metrics;
pub mod middleware;
pub mod playground;

use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::Response;
use axum::routing::get;
use tower_http::compression::predicate::{NotForContentType, Predicate, SizeAbove};
use tower_http::compression::{CompressionLayer, CompressionLevel};
use tower_http::cors::{AllowOrigin, CorsLayer};

use crate::state::AppState;

/// How long browsers may cache a preflight's answer.
const PREFLIGHT_MAX_AGE: Duration = Duration::from_secs(600);
/// Responses smaller than this go out uncompressed (not worth the CPU).
const COMPRESS_ABOVE_BYTES: u16 = 1024;

/// Every route, as `/metrics` labels requests (any other path is
/// `unmatched`).
pub const ROUTES: [&str; 6] = [
    "/graphql",
    "/",
    "/graphql/assets/{name}",
    "/healthz",
    "/readyz",
    "/metrics",
];

pub fn router(state: AppState) -> Router {
    let body_limit = state.http.max_body_bytes;
    let cors = cors_layer(state.http.cors_allowed_origins.as_deref());
    let [graphql_path, root, assets, healthz, readyz, metrics_path] = ROUTES;
    let mut router = Router::new()
        .route(root, get(playground::root))
        .route(
            graphql_path,
            get(graphql::ws::get).post(graphql::graphql_post),
        )
        .route(assets, get(playground::asset))
        .route(healthz, get(health::healthz))
        .route(readyz, get(health::readyz))
        .route(metrics_path, get(metrics::metrics))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            middleware::observe,
        ))
        .layer(
            CompressionLayer::new()
                .gzip(true)
                .br(true)
                .quality(CompressionLevel::Precise(4))
                .compress_when(
                    SizeAbove::new(COMPRESS_ABOVE_BYTES)
                        .and(NotForContentType::GRPC)
                        .and(NotForContentType::IMAGES)
                        .and(NotForContentType::SSE),
                ),
        );
    if let Some(cors) = cors {
        router = router
            .layer(cors)
            .layer(axum::middleware::map_response(preflight_no_content));
    }
    router.with_state(state)
}

/// CORS from `CORS_ALLOWED_ORIGINS` (`*` or a comma-separated list); `None`
/// when unset (same origin only: no CORS headers at all).
pub fn cors_layer(origins: Option<&str>) -> Option<CorsLayer> {
    let origins = origins.map(str::trim).filter(|o| !o.is_empty())?;
    let allow = if origins == "*" {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(
            origins
                .split(',')
                .map(|o| o.trim().trim_end_matches('/'))
                .filter(|o| !o.is_empty())
                .filter_map(|o| HeaderValue::from_str(o).ok()),
        )
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::OPTIONS])
            .allow_headers([
                header::CONTENT_TYPE,
                header::AUTHORIZATION,
                header::ACCEPT,
                middleware::REQUEST_ID,
                HeaderName::from_static("apollo-require-preflight"),
            ])
            .expose_headers([middleware::REQUEST_ID])
            .max_age(PREFLIGHT_MAX_AGE),
    )
}

/// A preflight answered by the CORS layer has no body: say so with 204.
async fn preflight_no_content(mut response: Response) -> Response {
    if response.status() == StatusCode::OK
        && response
            .headers()
            .contains_key(header::ACCESS_CONTROL_ALLOW_METHODS)
    {
        *response.status_mut() = StatusCode::NO_CONTENT;
    }
    response
}
