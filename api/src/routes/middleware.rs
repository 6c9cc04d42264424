//! What every request goes through: a request id (taken from `x-request-id`
//! or made, returned in the response, on every log line of the request), the
//! per-client rate limit, the request timeout, the in-flight gauge and the
//! HTTP metrics.

use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::{ConnectInfo, MatchedPath, Request, State};
use axum::http::{HeaderName, HeaderValue, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use metrics::{Counter, Gauge, Histogram};
use rand::Rng;
use service::metered::{ByKey, Once};
use tracing::Instrument;

use crate::auth::Auth;
use crate::graphql::runtime::error::Code;
use crate::state::AppState;

pub const REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// A JSON error body for statuses where GraphQL never ran.
pub fn http_error(status: StatusCode, code: Code, message: impl Into<String>) -> Response {
    let body = serde_json::json!({
        "errors": [{ "message": message.into(), "extensions": { "code": code.as_str() } }]
    });
    (status, Json(body)).into_response()
}

fn request_id(req: &Request) -> String {
    req.headers()
        .get(&REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map(str::to_owned)
        .unwrap_or_else(|| format!("{:016x}", rand::rng().random::<u64>()))
}

/// The matched route as a label (see [`super::ROUTES`]).
fn route_of(req: &Request) -> &'static str {
    req.extensions()
        .get::<MatchedPath>()
        .and_then(|p| super::ROUTES.iter().find(|r| **r == p.as_str()))
        .copied()
        .unwrap_or("unmatched")
}

static IN_FLIGHT: Once<Gauge> = Once::new(|| metrics::gauge!("http_requests_in_flight"));
static REQUESTS: ByKey<(&'static str, u16), Counter> = ByKey::new();
static DURATIONS: ByKey<&'static str, Histogram> = ByKey::new();

pub async fn observe(State(state): State<AppState>, mut req: Request, next: Next) -> Response {
    let started = Instant::now();
    let id = request_id(&req);
    let route = route_of(&req);
    let span = tracing::info_span!(
        "request",
        request_id = %id,
        method = %req.method(),
        path = %req.uri().path(),
        trace_id = tracing::field::Empty,
        span_id = tracing::field::Empty,
    );
    // The request's OpenTelemetry span (when traces are exported); its ids
    // go on the log lines of the request.
    let otel = state.traces.as_ref().map(|traces| {
        let cx = traces.server_span(
            req.headers(),
            req.method().as_str(),
            route,
            req.uri().path(),
        );
        let ids = opentelemetry::trace::TraceContextExt::span(&cx)
            .span_context()
            .clone();
        span.record("trace_id", tracing::field::display(ids.trace_id()));
        span.record("span_id", tracing::field::display(ids.span_id()));
        cx
    });
    // Verify the token once; the GraphQL handler reuses the result.
    let auth = Auth::from_headers(req.headers(), &state.jwt);
    let peer = req
        .extensions()
        .get::<ConnectInfo<SocketAddr>>()
        .map(|c| c.0);
    let client = crate::rate_limit::client_key(&auth, peer);
    req.extensions_mut().insert(auth);

    let state2 = state.clone();
    let handled = async move {
        if let Some(limiter) = &state2.limiter
            && let Err((message, secs)) =
                crate::rate_limit::check(limiter, state2.http.rate_limit_per_second, client)
        {
            let mut resp = http_error(
                StatusCode::TOO_MANY_REQUESTS,
                Code::ServiceUnavailable,
                message,
            );
            if let Ok(v) = HeaderValue::from_str(&secs.to_string()) {
                resp.headers_mut().insert(axum::http::header::RETRY_AFTER, v);
            }
            return resp;
        }
        state2.in_flight.fetch_add(1, Ordering::SeqCst);
        IN_FLIGHT.with(|g| g.increment(1.0));
        let timeout = Duration::from_secs(state2.http.request_timeout_secs.max(1));
        let result = tokio::time::timeout(timeout, next.run(req)).await;
        state2.in_flight.fetch_sub(1, Ordering::SeqCst);
        IN_FLIGHT.with(|g| g.decrement(1.0));
        match result {
            Ok(resp) => resp,
            Err(_) => {
                tracing::warn!(timeout_secs = timeout.as_secs(), "request timed out; cancelled");
                http_error(
                    StatusCode::REQUEST_TIMEOUT,
                    Code::ServiceUnavailable,
                    format!(
                        "the request took longer than {} s and was cancelled (nothing of it was written); ask for less, or split it",
                        timeout.as_secs()
                    ),
                )
            }
        }
    }
    .instrument(span.clone());
    // The request runs in its trace only when what it does is recorded.
    let attached = otel
        .as_ref()
        .zip(state.traces.as_ref())
        .filter(|(cx, traces)| traces.keeps_children_of(cx))
        .map(|(cx, _)| cx.clone());
    let mut response = crate::telemetry::in_trace(handled, attached).await;

    let status = response.status();
    let elapsed = started.elapsed();
    let code = status.as_u16();
    if let Some(cx) = &otel {
        crate::telemetry::traces::Traces::end_server_span(cx, code);
    }
    REQUESTS.with(
        &(route, code),
        |k| *k,
        || metrics::counter!("http_requests_total", "route" => route, "status" => code.to_string()),
        |c| c.increment(1),
    );
    DURATIONS.with(
        &route,
        |r| *r,
        || metrics::histogram!("http_request_duration_seconds", "route" => route),
        |h| h.record(elapsed.as_secs_f64()),
    );
    span.in_scope(|| {
        tracing::info!(
            status = status.as_u16(),
            latency_ms = elapsed.as_secs_f64() * 1000.0,
            "request finished"
        );
    });
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    response
}
