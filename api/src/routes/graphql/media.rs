//! Media types of GraphQL over HTTP: what a client accepts, what it sent,
//! and how an answer is written (status, content type, size cap, ETag).

use std::io::Write;

use async_graphql::{ServerError, Value};
use axum::body::Body;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use sha2::{Digest, Sha256};

pub use crate::graphql::engine::Answer;
use crate::graphql::runtime::error::{Code, coded};

pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

/// The media type of an answer.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Media {
    /// `application/graphql-response+json`: request errors answer 4xx and
    /// carry no `data`.
    GraphqlResponse,
    /// `application/json`: for clients that ask for it (or for nothing):
    /// well-formed requests answer 200.
    Json,
}

impl Media {
    fn content_type(self) -> HeaderValue {
        HeaderValue::from_static(match self {
            Media::GraphqlResponse => "application/graphql-response+json; charset=utf-8",
            Media::Json => "application/json; charset=utf-8",
        })
    }
}

/// The media type to answer with, from `Accept`; `None` when the client
/// accepts neither JSON type (406).
pub fn negotiate(headers: &HeaderMap) -> Option<Media> {
    let Some(accept) = headers.get(header::ACCEPT).and_then(|v| v.to_str().ok()) else {
        return Some(Media::Json);
    };
    if accept.trim().is_empty() {
        return Some(Media::Json);
    }
    let mut graphql_q = 0.0f32;
    let mut json_q = 0.0f32;
    for range in accept.split(',') {
        let mut parts = range.split(';');
        let ty = parts.next().unwrap_or_default().trim().to_ascii_lowercase();
        let q = parts
            .filter_map(|p| p.trim().strip_prefix("q="))
            .find_map(|q| q.trim().parse::<f32>().ok())
            .unwrap_or(1.0);
        match ty.as_str() {
            GRAPHQL_RESPONSE_JSON => graphql_q = graphql_q.max(q),
            "application/json" | "application/*" | "*/*" => json_q = json_q.max(q),
            _ => {}
        }
    }
    if graphql_q > 0.0 && graphql_q >= json_q {
        Some(Media::GraphqlResponse)
    } else if json_q > 0.0 {
        Some(Media::Json)
    } else {
        None
    }
}

/// Whether a POST body is declared as JSON (UTF-8, the only encoding
/// GraphQL over HTTP allows).
pub fn is_json_body(headers: &HeaderMap) -> bool {
    let Some(ct) = headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
    else {
        return false;
    };
    let mut parts = ct.split(';');
    let ty = parts.next().unwrap_or_default().trim();
    if !ty.eq_ignore_ascii_case("application/json") {
        return false;
    }
    parts.all(|p| match p.trim().split_once('=') {
        Some((k, v)) if k.trim().eq_ignore_ascii_case("charset") => {
            v.trim().trim_matches('"').eq_ignore_ascii_case("utf-8")
        }
        _ => true,
    })
}

#[derive(Serialize)]
struct Wire<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    errors: &'a [ServerError],
    #[serde(skip_serializing_if = "Option::is_none")]
    data: Option<&'a Value>,
}

/// A buffer that refuses to grow past its limit.
struct Capped {
    buf: Vec<u8>,
    max: usize,
}

impl Write for Capped {
    #[inline]
    fn write(&mut self, data: &[u8]) -> std::io::Result<usize> {
        self.write_all(data).map(|()| data.len())
    }

    /// serde_json writes every fragment (a quote, a key, a comma) with
    /// this: inlined, and without the default retry loop.
    #[inline]
    fn write_all(&mut self, data: &[u8]) -> std::io::Result<()> {
        if self.buf.len() + data.len() > self.max {
            return Err(std::io::Error::other("response too large"));
        }
        self.buf.extend_from_slice(data);
        Ok(())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// Serializes answers (one, or a batch as an array) within `max_bytes`;
/// past it the whole body is replaced by a `RESPONSE_TOO_LARGE` error.
pub fn body(answers: &[Answer], batch: bool, max_bytes: usize) -> Vec<u8> {
    let mut out = Capped {
        buf: Vec::with_capacity(256),
        max: max_bytes,
    };
    let written = if batch {
        let wires: Vec<Wire> = answers.iter().map(wire).collect();
        serde_json::to_writer(&mut out, &wires)
    } else {
        match answers.first() {
            Some(a) => serde_json::to_writer(&mut out, &wire(a)),
            None => serde_json::to_writer(
                &mut out,
                &Wire {
                    errors: &[],
                    data: None,
                },
            ),
        }
    };
    if written.is_ok() {
        return out.buf;
    }
    metrics::counter!("graphql_errors_total", "code" => Code::ResponseTooLarge.as_str())
        .increment(1);
    let err = coded(
        Code::ResponseTooLarge,
        format!(
            "the response would be larger than {max_bytes} bytes (MAX_RESPONSE_BYTES); ask for fewer rows or fields"
        ),
    );
    let null = Value::Null;
    serde_json::to_vec(&Wire {
        errors: std::slice::from_ref(&err),
        data: Some(&null),
    })
    .unwrap_or_default()
}

fn wire(a: &Answer) -> Wire<'_> {
    Wire {
        errors: &a.errors,
        data: a.data.as_ref(),
    }
}

/// A response with a GraphQL body.
pub fn respond(status: StatusCode, media: Media, body: Vec<u8>) -> Response {
    let mut resp = (status, Body::from(body)).into_response();
    resp.headers_mut()
        .insert(header::CONTENT_TYPE, media.content_type());
    resp
}

/// A GET answer the browser may cache and revalidate: an `ETag` of the body,
/// `Cache-Control: private, no-cache` (so it is always revalidated, never
/// served stale), and 304 when the client already holds this body.
pub fn respond_cacheable(media: Media, body: Vec<u8>, request: &HeaderMap) -> Response {
    let digest = Sha256::digest(&body);
    let tag: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
    let etag = format!("\"{tag}\"");
    let matches = request
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| {
            v.split(',')
                .map(|t| t.trim().trim_start_matches("W/"))
                .any(|t| t == etag || t == "*")
        });
    let mut resp = if matches {
        StatusCode::NOT_MODIFIED.into_response()
    } else {
        respond(StatusCode::OK, media, body)
    };
    let h = resp.headers_mut();
    if let Ok(v) = HeaderValue::from_str(&etag) {
        h.insert(header::ETAG, v);
    }
    h.insert(
        header::CACHE_CONTROL,
        HeaderValue::from_static("private, no-cache"),
    );
    h.insert(
        header::VARY,
        HeaderValue::from_static("accept, authorization"),
    );
    resp
}

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(header::ACCEPT, HeaderValue::from_str(v).expect("header"));
        h
    }

    #[test]
    fn negotiation_follows_graphql_over_http() {
        assert_eq!(negotiate(&HeaderMap::new()), Some(Media::Json));
        assert_eq!(negotiate(&accept("*/*")), Some(Media::Json));
        assert_eq!(negotiate(&accept("application/json")), Some(Media::Json));
        assert_eq!(
            negotiate(&accept("application/graphql-response+json")),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json, application/json;q=0.9"
            )),
            Some(Media::GraphqlResponse)
        );
        assert_eq!(
            negotiate(&accept(
                "application/graphql-response+json;q=0.5, application/json"
            )),
            Some(Media::Json)
        );
        assert_eq!(negotiate(&accept("text/html")), None);
    }

    #[test]
    fn only_utf8_json_bodies_are_json() {
        let ct = |v: &str| {
            let mut h = HeaderMap::new();
            h.insert(
                header::CONTENT_TYPE,
                HeaderValue::from_str(v).expect("header"),
            );
            is_json_body(&h)
        };
        assert!(ct("application/json"));
        assert!(ct("application/json; charset=utf-8"));
        assert!(ct("Application/JSON;charset=\"UTF-8\""));
        assert!(!ct("application/json; charset=latin1"));
        assert!(!ct("text/plain"));
        assert!(!is_json_body(&HeaderMap::new()));
    }

    #[test]
    fn a_body_past_the_cap_becomes_one_error() {
        let answer = Answer {
            data: Some(Value::String("x".repeat(100))),
            errors: vec![],
        };
        let small = body(std::slice::from_ref(&answer), false, 1_000);
        assert!(small.starts_with(b"{\"data\""));
        let capped = body(std::slice::from_ref(&answer), false, 50);
        let v: serde_json::Value = serde_json::from_slice(&capped).expect("json");
        assert_eq!(v["errors"][0]["extensions"]["code"], "RESPONSE_TOO_LARGE");
        assert!(v["data"].is_null());
    }
}
