//! The playground's routes: the page for browsers (a JSON hint for other
//! clients), its files, and the root's redirect.

use axum::body::Body;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};

use crate::graphql::runtime::error::Code;
use crate::playground::CONTENT_SECURITY_POLICY;
use crate::routes::middleware::http_error;
use crate::state::AppState;

fn accepts_html(headers: &HeaderMap) -> bool {
    headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|a| a.contains("text/html"))
}

/// `GET /graphql` without a query: the playground for browsers, a JSON hint
/// for everything else.
pub fn page_or_hint(state: &AppState, headers: &HeaderMap) -> Response {
    if !state.http.graphiql {
        return http_error(
            StatusCode::NOT_FOUND,
            Code::BadUserInput,
            "the playground is turned off here (GRAPHIQL=false); POST GraphQL requests to /graphql",
        );
    }
    if !accepts_html(headers) {
        return http_error(
            StatusCode::BAD_REQUEST,
            Code::BadUserInput,
            "GET /graphql needs a `query` parameter (e.g. /graphql?query={__typename}); POST JSON {\"query\": \"…\"} for anything else. Browsers get the GraphiQL playground here.",
        );
    }
    let mut resp = (StatusCode::OK, state.playground.page().to_owned()).into_response();
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    resp
}

/// `GET /graphql/assets/{name}`: revalidated by ETag on every load.
pub async fn asset(
    State(state): State<AppState>,
    Path(name): Path<String>,
    headers: HeaderMap,
) -> Response {
    let Some(asset) = state
        .http
        .graphiql
        .then(|| state.playground.asset(&name))
        .flatten()
    else {
        return http_error(StatusCode::NOT_FOUND, Code::BadUserInput, "no such file");
    };
    let fresh = headers
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == asset.etag));
    let mut resp = if fresh {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        (StatusCode::OK, Body::from(asset.bytes)).into_response()
    };
    let h = resp.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static(asset.content_type),
    );
    if let Ok(v) = HeaderValue::from_str(&asset.etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("public, no-cache"),
    );
    resp
}

/// `GET /`: the playground's address.
pub async fn root() -> Redirect {
    Redirect::temporary("/graphql")
}
