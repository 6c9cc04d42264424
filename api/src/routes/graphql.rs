//! GraphQL over HTTP. POST takes `{query, variables, operationName}` (or an
//! array of them); GET serves GraphiQL, or runs a query given in `?query=`.

use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::{BatchResponse, Request, Response, ServerError};
use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse};

use crate::auth::Auth;
use crate::graphql::error::{Code, ensure_codes};
use crate::graphql::inline::{Inline, drive};
use crate::graphql::loaders::Loaders;
use crate::routes::middleware::http_error;
use crate::startup::AppState;

/// Most operations one batched POST may carry.
pub const MAX_BATCH: usize = 16;

/// The caller as the middleware saw it (or, without it, from the headers).
fn auth_of(state: &AppState, auth: Option<Extension<Auth>>, headers: &HeaderMap) -> Auth {
    auth.map(|Extension(a)| a)
        .unwrap_or_else(|| Auth::from_headers(headers, &state.jwt))
}

pub async fn graphql_post(
    State(state): State<AppState>,
    auth: Option<Extension<Auth>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> axum::response::Response {
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::BadUserInput,
                format!(
                    "the request body is larger than {} bytes (MAX_BODY_BYTES); send fewer rows per request",
                    state.settings.max_body_bytes
                ),
            );
        }
        Err(rejection) => {
            return request_error(format!(
                "the request body could not be read: {}",
                rejection.body_text()
            ));
        }
    };
    let auth = auth_of(&state, auth, &headers);
    // A single operation is read straight into a request (no intermediate
    // JSON tree: bulk inputs can be megabytes); a batch is an array.
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'[') {
        return match parse_request(&body) {
            Ok(r) => Json(execute(&state, r, &auth).await).into_response(),
            Err(msg) => request_error(msg),
        };
    }
    let items: Vec<&serde_json::value::RawValue> = match serde_json::from_slice(&body) {
        Ok(items) => items,
        Err(e) => return request_error(format!("the request body is not valid JSON: {e}")),
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return request_error(format!(
            "a batch holds 1 to {MAX_BATCH} operations (got {})",
            items.len()
        ));
    }
    let mut requests = Vec::with_capacity(items.len());
    for item in items {
        match parse_request(item.get().as_bytes()) {
            Ok(r) => requests.push(r),
            Err(msg) => return request_error(msg),
        }
    }
    let responses =
        futures::future::join_all(requests.into_iter().map(|r| execute(&state, r, &auth))).await;
    Json(BatchResponse::Batch(responses)).into_response()
}

pub async fn graphql_get(
    State(state): State<AppState>,
    auth: Option<Extension<Auth>>,
    headers: HeaderMap,
    RawQuery(query): RawQuery,
) -> axum::response::Response {
    let query = query.unwrap_or_default();
    let has_query = query
        .split('&')
        .any(|pair| pair == "query" || pair.starts_with("query="));
    if !has_query {
        if !state.settings.graphiql {
            return http_error(
                StatusCode::NOT_FOUND,
                Code::BadUserInput,
                "GraphiQL is turned off here (GRAPHIQL=false); POST GraphQL requests to /graphql",
            );
        }
        return Html(state.graphiql_html.to_string()).into_response();
    }
    let mut request = match async_graphql::http::parse_query_string(&query) {
        Ok(r) => r,
        Err(e) => return request_error(format!("the query string is not a GraphQL request: {e}")),
    };
    // A GET must not change data (it may be replayed, prefetched or cached).
    if let Ok(doc) = request.parsed_query()
        && doc
            .operations
            .iter()
            .any(|(_, op)| op.node.ty == OperationType::Mutation)
    {
        let err = coded(Code::BadUserInput, "mutations must be sent with POST");
        return (
            StatusCode::METHOD_NOT_ALLOWED,
            Json(Response::from_errors(vec![err])),
        )
            .into_response();
    }
    let auth = auth_of(&state, auth, &headers);
    Json(execute(&state, request, &auth).await).into_response()
}

/// Reads one operation; the error says what is wrong with the body.
fn parse_request(bytes: &[u8]) -> Result<Request, String> {
    let request = serde_json::from_slice::<Request>(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            format!("the request body is not valid JSON: {e}")
        } else {
            format!(
                "the request body must be a JSON object {{\"query\", \"variables\", \"operationName\"}}: {e}"
            )
        }
    })?;
    if request.query.trim().is_empty() {
        return Err("the request has no `query`".to_owned());
    }
    Ok(request)
}

/// Runs one operation with this request's auth and fresh dataloaders.
async fn execute(state: &AppState, mut request: Request, auth: &Auth) -> Response {
    let started = Instant::now();
    let operation = operation_label(operation_name(&mut request).as_deref());
    let inline = Inline::new();
    let request = request
        .data(auth.clone())
        .data(Loaders::new_loader(state.store.clone(), &inline));
    let mut response = drive(state.schema.execute(request), inline).await;
    let limits = state.settings.schema_limits();
    ensure_codes(
        &mut response.errors,
        (limits.max_depth, limits.max_complexity),
    );
    let outcome = if response.errors.is_empty() {
        "ok"
    } else {
        "error"
    };
    for err in &response.errors {
        let code = err
            .extensions
            .as_ref()
            .and_then(|e| e.get("code"))
            .map(|v| v.to_string().trim_matches('"').to_owned())
            .unwrap_or_default();
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
    metrics::counter!("graphql_requests_total", "operation" => operation.clone(), "outcome" => outcome)
        .increment(1);
    metrics::histogram!("graphql_request_duration_seconds", "operation" => operation)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The operation's name: as given, or the name of the document's only operation.
fn operation_name(request: &mut Request) -> Option<String> {
    if let Some(name) = &request.operation_name {
        return Some(name.clone());
    }
    let doc = request.parsed_query().ok()?;
    let mut ops = doc.operations.iter();
    let (name, _) = ops.next()?;
    if ops.next().is_some() {
        return None;
    }
    name.map(|n| n.to_string())
}

/// Distinct operation names kept as metric labels; later ones count as `other`.
const MAX_OPERATION_LABELS: usize = 200;

/// Operation names become metric labels: keep them short, plain and few
/// (clients choose them, so their number is bounded).
fn operation_label(name: Option<&str>) -> String {
    static SEEN: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    let Some(n) = name else {
        return "anonymous".to_owned();
    };
    if n.is_empty() || n.len() > 64 || !n.chars().all(|c| c.is_ascii_alphanumeric() || c == '_') {
        return "invalid".to_owned();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(n) || seen.len() < MAX_OPERATION_LABELS {
        seen.insert(n.to_owned());
        n.to_owned()
    } else {
        "other".to_owned()
    }
}

fn coded(code: Code, message: impl Into<String>) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    err
}

/// A request GraphQL cannot run at all: 400 with a coded GraphQL error body.
fn request_error(message: impl Into<String>) -> axum::response::Response {
    let err = coded(Code::BadUserInput, message);
    (
        StatusCode::BAD_REQUEST,
        Json(Response::from_errors(vec![err])),
    )
        .into_response()
}
