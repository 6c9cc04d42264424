//! GraphQL over HTTP. POST takes `{query, variables, operationName,
//! extensions}` (or an array of up to [`MAX_BATCH`]) as JSON; GET runs a
//! query from the query string, or serves the playground to browsers.
//! Persisted queries work over both. See `media` for media types.

pub mod media;
pub mod ws;

use std::collections::HashMap;

use async_graphql::{Extensions, Request, ServerError, Variables};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::Response;
use serde::Deserialize;

use self::media::{Answer, Media};
use crate::auth::Auth;
use crate::graphql::engine::{Outcome, Refusal, Refused, Transport};
use crate::graphql::runtime::error::{Code, coded};
use crate::routes::middleware::http_error;
use crate::state::AppState;

/// Most operations one batched POST may carry.
pub const MAX_BATCH: usize = 16;

/// The caller as the middleware saw it (or, without it, from the headers).
fn auth_of(state: &AppState, auth: Option<Extension<Auth>>, headers: &HeaderMap) -> Auth {
    auth.map(|Extension(a)| a)
        .unwrap_or_else(|| Auth::from_headers(headers, &state.jwt))
}

/// One operation as JSON: `null` is as good as absent for every member.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct WireRequest {
    #[serde(default)]
    query: Option<String>,
    #[serde(default)]
    operation_name: Option<String>,
    #[serde(default)]
    variables: Variables,
    #[serde(default)]
    extensions: Extensions,
}

impl WireRequest {
    fn into_request(self) -> Request {
        let mut request = Request::new(self.query.unwrap_or_default()).variables(self.variables);
        request.operation_name = self.operation_name;
        request.extensions = self.extensions;
        request
    }
}

pub async fn graphql_post(
    State(state): State<AppState>,
    auth: Option<Extension<Auth>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let Some(media) = media::negotiate(&headers) else {
        return not_acceptable();
    };
    if !media::is_json_body(&headers) {
        return http_error(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Code::BadUserInput,
            "send GraphQL requests as JSON with `Content-Type: application/json`",
        );
    }
    let body = match body {
        Ok(b) => b,
        Err(rejection) if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE => {
            return http_error(
                StatusCode::PAYLOAD_TOO_LARGE,
                Code::BadUserInput,
                format!(
                    "the request body is larger than {} bytes (MAX_BODY_BYTES); send fewer rows per request",
                    state.http.max_body_bytes
                ),
            );
        }
        Err(rejection) => {
            return bad_request(
                media,
                format!(
                    "the request body could not be read: {}",
                    rejection.body_text()
                ),
            );
        }
    };
    let auth = auth_of(&state, auth, &headers);
    // A single operation is read straight into a request (bulk inputs can be
    // megabytes: no intermediate JSON tree); a batch is an array of them.
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if first != Some(b'[') {
        let request = match parse_request(&body) {
            Ok(r) => r,
            Err(msg) => return bad_request(media, msg),
        };
        return run(
            &state,
            vec![request],
            false,
            media,
            &auth,
            Transport::HttpPost,
            &headers,
        )
        .await;
    }
    let items: Vec<&serde_json::value::RawValue> = match serde_json::from_slice(&body) {
        Ok(items) => items,
        Err(e) => return bad_request(media, format!("the request body is not valid JSON: {e}")),
    };
    if items.is_empty() || items.len() > MAX_BATCH {
        return bad_request(
            media,
            format!(
                "a batch holds 1 to {MAX_BATCH} operations (got {})",
                items.len()
            ),
        );
    }
    let mut requests = Vec::with_capacity(items.len());
    for item in items {
        match parse_request(item.get().as_bytes()) {
            Ok(r) => requests.push(r),
            Err(msg) => return bad_request(media, msg),
        }
    }
    run(
        &state,
        requests,
        true,
        media,
        &auth,
        Transport::HttpPost,
        &headers,
    )
    .await
}

/// The query string of a GET: as the GraphQL-over-HTTP specification names
/// its members (variables and extensions as JSON text).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GetParams {
    query: Option<String>,
    operation_name: Option<String>,
    variables: Option<String>,
    extensions: Option<String>,
}

pub async fn graphql_get(
    State(state): State<AppState>,
    auth: Option<Extension<Auth>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let params: GetParams = match serde_urlencoded_params(raw.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(msg) => return bad_request(media::negotiate(&headers).unwrap_or(Media::Json), msg),
    };
    if params.query.is_none() && params.extensions.is_none() {
        return crate::routes::playground::page_or_hint(&state, &headers);
    }
    let Some(media) = media::negotiate(&headers) else {
        return not_acceptable();
    };
    let mut request = Request::new(params.query.unwrap_or_default());
    request.operation_name = params.operation_name.filter(|n| !n.is_empty());
    if let Some(v) = params.variables.filter(|v| !v.trim().is_empty()) {
        match serde_json::from_str::<Variables>(&v) {
            Ok(vars) => request.variables = vars,
            Err(e) => return bad_request(media, format!("`variables` is not a JSON object: {e}")),
        }
    }
    if let Some(e) = params.extensions.filter(|e| !e.trim().is_empty()) {
        match serde_json::from_str::<Extensions>(&e) {
            Ok(ext) => request.extensions = ext,
            Err(err) => {
                return bad_request(media, format!("`extensions` is not a JSON object: {err}"));
            }
        }
    }
    let auth = auth_of(&state, auth, &headers);
    run(
        &state,
        vec![request],
        false,
        media,
        &auth,
        Transport::HttpGet,
        &headers,
    )
    .await
}

fn serde_urlencoded_params(raw: &str) -> Result<GetParams, String> {
    let mut map: HashMap<String, String> = HashMap::new();
    for (k, v) in form_urlencoded::parse(raw.as_bytes()) {
        map.insert(k.into_owned(), v.into_owned());
    }
    Ok(GetParams {
        query: map.remove("query"),
        operation_name: map.remove("operationName"),
        variables: map.remove("variables"),
        extensions: map.remove("extensions"),
    })
}

/// Hands the operations to the engine, and encodes its outcome.
async fn run(
    state: &AppState,
    requests: Vec<Request>,
    batch: bool,
    media: Media,
    auth: &Auth,
    transport: Transport,
    headers: &HeaderMap,
) -> Response {
    let answers = match state
        .engine
        .run_batch(requests, batch, transport, auth)
        .await
    {
        Outcome::Refused(refused) => return reply_refused_request(media, refused),
        Outcome::Answered(answers) => answers,
    };
    let status = match (media, answers.first()) {
        // Validation refused it: a request error.
        (Media::GraphqlResponse, Some(a)) if !batch && a.data.is_none() => StatusCode::BAD_REQUEST,
        _ => StatusCode::OK,
    };
    let body = media::body(&answers, batch, state.http.max_response_bytes);
    if transport == Transport::HttpGet && status == StatusCode::OK {
        return media::respond_cacheable(media, body, headers);
    }
    media::respond(status, media, body)
}

/// A request the engine refused as a whole: the status says why.
fn reply_refused_request(media: Media, refused: Refused) -> Response {
    let status = match (refused.kind, media) {
        (Refusal::QueriesOnly, _) => StatusCode::METHOD_NOT_ALLOWED,
        (Refusal::NotFound, _) | (_, Media::Json) => StatusCode::OK,
        (Refusal::Forbidden, Media::GraphqlResponse) => StatusCode::FORBIDDEN,
        (Refusal::Unauthenticated, Media::GraphqlResponse) => StatusCode::UNAUTHORIZED,
        (Refusal::BadRequest, Media::GraphqlResponse) => StatusCode::BAD_REQUEST,
    };
    let mut response = reply_refused(media, status, refused.errors);
    if refused.kind == Refusal::QueriesOnly {
        response
            .headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
    }
    response
}

fn reply_refused(media: Media, status: StatusCode, errors: Vec<ServerError>) -> Response {
    let body = media::body(&[Answer::errors(errors)], false, usize::MAX);
    media::respond(status, media, body)
}

/// A body that is not a GraphQL request: 400 whatever the media type.
fn bad_request(media: Media, message: impl Into<String>) -> Response {
    reply_refused(
        media,
        StatusCode::BAD_REQUEST,
        vec![coded(Code::BadUserInput, message)],
    )
}

fn not_acceptable() -> Response {
    http_error(
        StatusCode::NOT_ACCEPTABLE,
        Code::BadUserInput,
        "accept application/graphql-response+json or application/json",
    )
}

/// Reads one operation; the error says what is wrong with the body.
fn parse_request(bytes: &[u8]) -> Result<Request, String> {
    let wire = serde_json::from_slice::<WireRequest>(bytes).map_err(|e| {
        if e.is_syntax() || e.is_eof() {
            format!("the request body is not valid JSON: {e}")
        } else {
            format!(
                "the request body must be a JSON object {{\"query\": string, \"variables\": object, \"operationName\": string, \"extensions\": object}}: {e}"
            )
        }
    })?;
    let has_hash = wire.extensions.contains_key("persistedQuery");
    if wire.query.as_deref().is_none_or(|q| q.trim().is_empty()) && !has_hash {
        return Err("the request has no `query`".to_owned());
    }
    Ok(wire.into_request())
}
