//! OpenTelemetry traces, received by a real OTLP endpoint in the test
//! process (`POST /v1/traces`, protobuf decoded with the OpenTelemetry
//! protocol definitions): the span tree of a request, a continued
//! `traceparent`, what a caller's sampling decision decides, nothing secret
//! in any attribute, and a collector that is down.

mod cache;
mod collectors;
mod events;
mod export;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use opentelemetry_proto::tonic::collector::trace::v1::ExportTraceServiceRequest;
use opentelemetry_proto::tonic::common::v1::any_value::Value as Any;
use opentelemetry_proto::tonic::trace::v1::Span;
use prost::Message as _;

/// An OTLP/HTTP endpoint keeping every span it is sent.
pub struct Collector {
    pub url: String,
    spans: Arc<Mutex<Vec<Span>>>,
    /// Export requests received (taken or not).
    received: Arc<std::sync::atomic::AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

/// How a [`Collector`] answers an export.
#[derive(Clone, Copy, Debug)]
pub enum Answer {
    /// At once: taken.
    Taken,
    /// Taken, answered this late.
    After(Duration),
    /// Refused with this HTTP status (nothing kept).
    Refused(u16),
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl Collector {
    pub async fn start() -> Collector {
        Collector::answering(Answer::Taken).await
    }

    pub async fn answering(answer: Answer) -> Collector {
        let spans: Arc<Mutex<Vec<Span>>> = Arc::default();
        let received: Arc<std::sync::atomic::AtomicUsize> = Arc::default();
        let (kept, counted) = (spans.clone(), received.clone());
        let app = axum::Router::new().route(
            "/v1/traces",
            axum::routing::post(move |body: axum::body::Bytes| {
                let (kept, counted) = (kept.clone(), counted.clone());
                async move {
                    counted.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
                    let request = ExportTraceServiceRequest::decode(body)
                        .expect("an OTLP protobuf export request");
                    let status = match answer {
                        Answer::Refused(status) => {
                            return axum::http::StatusCode::from_u16(status).expect("a status");
                        }
                        Answer::Taken => None,
                        Answer::After(late) => Some(late),
                    };
                    {
                        let mut kept = kept.lock().expect("spans");
                        for resource in request.resource_spans {
                            for scope in resource.scope_spans {
                                kept.extend(scope.spans);
                            }
                        }
                    }
                    if let Some(late) = status {
                        tokio::time::sleep(late).await;
                    }
                    axum::http::StatusCode::OK
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("address"));
        let server = tokio::spawn(async move {
            let _ = axum::serve(listener, app).await;
        });
        Collector {
            url,
            spans,
            received,
            server,
        }
    }

    /// Export requests received so far.
    pub fn received(&self) -> usize {
        self.received.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// The spans of trace `trace_id` (hex) once at least `n` arrived
    /// (waiting at most 10 s).
    pub async fn trace(&self, trace_id: &str, n: usize) -> Vec<Span> {
        for _ in 0..200 {
            let got = self.spans_of(trace_id);
            if got.len() >= n {
                // Whatever else of the trace is on its way.
                tokio::time::sleep(Duration::from_millis(400)).await;
                return self.spans_of(trace_id);
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!(
            "trace {trace_id}: {} spans arrived, {n} expected",
            self.spans_of(trace_id).len()
        );
    }

    pub fn spans_of(&self, trace_id: &str) -> Vec<Span> {
        self.spans
            .lock()
            .expect("spans")
            .iter()
            .filter(|s| hex(&s.trace_id) == trace_id)
            .cloned()
            .collect()
    }

    pub fn all(&self) -> Vec<Span> {
        self.spans.lock().expect("spans").clone()
    }
}

/// POSTs `query` with its `variables`, `traceparent` and a writer's token.
pub async fn post_traced(
    app: &crate::helpers::TestApp,
    variables: serde_json::Value,
    query: &str,
    traceparent: &str,
) -> serde_json::Value {
    app.client
        .post(format!("{}/graphql", app.address))
        .header("traceparent", traceparent)
        .bearer_auth(crate::helpers::writer())
        .json(&serde_json::json!({ "query": query, "variables": variables }))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON")
}

/// What the tests' instances share their cache and events through:
/// `redis` when `REDIS_URL` is set, else `in-process`.
pub fn shared_through() -> String {
    let redis = std::env::var("REDIS_URL").is_ok_and(|u| !u.is_empty());
    if redis { "redis" } else { "in-process" }.to_owned()
}

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A span's attribute as text (numbers and booleans written out).
pub fn attribute(span: &Span, key: &str) -> Option<String> {
    span.attributes
        .iter()
        .find(|kv| kv.key == key)
        .and_then(|kv| kv.value.as_ref()?.value.as_ref())
        .map(|v| match v {
            Any::StringValue(s) => s.clone(),
            Any::IntValue(i) => i.to_string(),
            Any::BoolValue(b) => b.to_string(),
            Any::DoubleValue(d) => d.to_string(),
            other => format!("{other:?}"),
        })
}
