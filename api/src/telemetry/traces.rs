//! OpenTelemetry traces, per server instance: the spans of an HTTP request,
//! its GraphQL operation and its SQL statements, exported over OTLP
//! (`http/protobuf`) to the endpoint of the instance's settings. Nothing
//! is process-global (no global tracer provider, no global propagator):
//! several instances in one process (the tests) each export to their own
//! collector, and an instance without an endpoint makes no span at all.
//!
//! Spans go to the exporter through a bounded queue (`super::export`).

use std::borrow::Cow;
use std::sync::Arc;
use std::time::{Duration, SystemTime};

use anyhow::Context as _;
use axum::http::HeaderMap;
use opentelemetry::propagation::TextMapPropagator as _;
use opentelemetry::trace::{
    Span as _, SpanContext, SpanKind, Status, TraceContextExt as _, TraceFlags, Tracer as _,
    TracerProvider as _,
};
use opentelemetry::{Context, KeyValue};
use opentelemetry_otlp::{WithExportConfig as _, WithHttpConfig as _};
use opentelemetry_sdk::propagation::TraceContextPropagator;
use opentelemetry_sdk::trace::{
    Sampler, SdkTracer, SdkTracerProvider, ShouldSample as _, SpanExporter as _,
};

/// The W3C header an incoming trace context comes in.
static TRACEPARENT: axum::http::HeaderName = axum::http::HeaderName::from_static("traceparent");

/// One export's time limit (the collector's answer included).
pub(super) const EXPORT_TIMEOUT: Duration = Duration::from_secs(5);

/// What the instance's traces are built from (`TRACE_CONTEXT_TRUST` and
/// the `OTEL_*` settings, see `settings::TraceSettings`).
#[derive(Clone, Debug)]
pub struct TraceConfig {
    pub endpoint: Option<String>,
    pub protocol: String,
    pub service_name: String,
    pub resource_attributes: Option<String>,
    pub sampler: String,
    pub sampler_arg: f64,
    /// An incoming context's sampling decision is honoured (`sampled`);
    /// else only its trace id is kept (`id-only`).
    pub trust_sampled: bool,
}

/// An instance's tracer, and what decides about incoming trace contexts.
#[derive(Debug)]
pub struct Traces {
    tracer: SdkTracer,
    trust_sampled: bool,
    /// The server's own decision for a trace (the ratio), used for an
    /// incoming context whose decision is not trusted.
    root: Sampler,
    /// Asks the export task to send what is queued (at shutdown).
    flushes: super::export::Flushes,
    /// A span follows its parent's sampling decision: under a parent that
    /// is not sampled nothing is made (nor its attributes computed).
    parent_based: bool,
}

impl Traces {
    /// The instance's traces, or `None` when no endpoint is set. Fails on
    /// settings it cannot honour (another protocol, a bad sampler).
    pub fn build(settings: &TraceConfig) -> anyhow::Result<Option<Arc<Traces>>> {
        let Some(endpoint) = settings
            .endpoint
            .as_deref()
            .map(str::trim)
            .filter(|e| !e.is_empty())
        else {
            return Ok(None);
        };
        anyhow::ensure!(
            settings.protocol == "http/protobuf",
            "OTEL_EXPORTER_OTLP_PROTOCOL={} is not supported: this server exports http/protobuf",
            settings.protocol
        );
        anyhow::ensure!(
            endpoint.starts_with("http://"),
            "OTEL_EXPORTER_OTLP_ENDPOINT must be an http:// URL (a collector or agent next to the server): {endpoint}"
        );
        let ratio = settings.sampler_arg.clamp(0.0, 1.0);
        let (root, parent_based) = match settings.sampler.as_str() {
            "parentbased_traceidratio" => (Sampler::TraceIdRatioBased(ratio), true),
            "traceidratio" => (Sampler::TraceIdRatioBased(ratio), false),
            "parentbased_always_on" => (Sampler::AlwaysOn, true),
            "always_on" => (Sampler::AlwaysOn, false),
            "parentbased_always_off" => (Sampler::AlwaysOff, true),
            "always_off" => (Sampler::AlwaysOff, false),
            other => anyhow::bail!("OTEL_TRACES_SAMPLER={other} is not one this server knows"),
        };
        let sampler = if parent_based {
            Sampler::ParentBased(Box::new(root.clone()))
        } else {
            root.clone()
        };
        let mut exporter = opentelemetry_otlp::SpanExporter::builder()
            .with_http()
            .with_protocol(opentelemetry_otlp::Protocol::HttpBinary)
            .with_endpoint(format!("{}/v1/traces", endpoint.trim_end_matches('/')))
            .with_timeout(EXPORT_TIMEOUT)
            .with_headers(Default::default())
            .build()
            .context("building the OTLP exporter")?;
        let resource = super::export::resource(settings);
        exporter.set_resource(&resource);
        let (queue, flushes) = super::export::Queue::start(exporter);
        let provider = SdkTracerProvider::builder()
            .with_span_processor(queue)
            .with_sampler(sampler)
            .with_resource(resource)
            .build();
        let tracer = provider.tracer("api");
        tracing::info!(endpoint, sampler = %settings.sampler, ratio, "traces: exported over OTLP");
        Ok(Some(Arc::new(Traces {
            tracer,
            trust_sampled: settings.trust_sampled,
            root,
            flushes,
            parent_based,
        })))
    }

    /// Sends every span queued so far to the collector, waiting at most
    /// `limit` (the server's last act before it stops). False if they could
    /// not all be handed over in time.
    pub async fn flush(&self, limit: Duration) -> bool {
        let (reply, done) = tokio::sync::oneshot::channel();
        let flushed = async { self.flushes.send(reply).await.is_ok() && done.await.is_ok() };
        tokio::time::timeout(limit, flushed).await.unwrap_or(false)
    }

    /// Whether a span made now, in the current context, would be kept:
    /// callers skip making it (and computing its attributes) otherwise.
    pub fn recording(&self) -> bool {
        Context::map_current(|cx| self.keeps_children_of(cx))
    }

    /// Whether spans made under `parent` would be kept: it is a span, and
    /// sampled unless the sampler decides afresh for each span.
    pub fn keeps_children_of(&self, parent: &Context) -> bool {
        let span = parent.span();
        let parent = span.span_context();
        parent.is_valid() && (!self.parent_based || parent.is_sampled())
    }

    /// The context an HTTP request continues: the caller's `traceparent`
    /// (and `tracestate`), its sampling decision kept only when trusted.
    fn incoming(&self, headers: &HeaderMap) -> Context {
        if !headers.contains_key(&TRACEPARENT) {
            return Context::new();
        }
        let cx =
            TraceContextPropagator::new().extract(&opentelemetry_http::HeaderExtractor(headers));
        let remote = cx.span().span_context().clone();
        if !remote.is_valid() || self.trust_sampled {
            return cx;
        }
        let decided =
            self.root
                .should_sample(None, remote.trace_id(), "", &SpanKind::Server, &[], &[]);
        let sampled = matches!(
            decided.decision,
            opentelemetry_sdk::trace::SamplingDecision::RecordAndSample
        );
        Context::new().with_remote_span_context(SpanContext::new(
            remote.trace_id(),
            remote.span_id(),
            TraceFlags::default().with_sampled(sampled),
            true,
            remote.trace_state().clone(),
        ))
    }

    /// Starts the span of an HTTP request (`route` as the router matched
    /// it; the path without its query, which may carry variables).
    pub fn server_span(
        &self,
        headers: &HeaderMap,
        method: &str,
        route: &str,
        path: &str,
    ) -> Context {
        let parent = self.incoming(headers);
        // Named (and given its attributes) only when it is recorded.
        let mut span = self
            .tracer
            .span_builder("")
            .with_kind(SpanKind::Server)
            .start_with_context(&self.tracer, &parent);
        if span.is_recording() {
            span.update_name(format!("{method} {route}"));
            span.set_attributes([
                KeyValue::new("http.request.method", method.to_owned()),
                KeyValue::new("http.route", route.to_owned()),
                KeyValue::new("url.path", path.to_owned()),
            ]);
        }
        parent.with_span(span)
    }

    /// Ends the span of an HTTP request with its status.
    pub fn end_server_span(cx: &Context, status: u16) {
        let span = cx.span();
        span.set_attribute(KeyValue::new(
            "http.response.status_code",
            i64::from(status),
        ));
        if status >= 500 {
            span.set_status(Status::error(format!("HTTP {status}")));
        }
        span.end();
    }

    /// A span of `kind` under `parent`, begun at `start` (else now).
    fn start(
        &self,
        parent: &Context,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        start: Option<SystemTime>,
        attributes: Vec<KeyValue>,
    ) -> opentelemetry_sdk::trace::Span {
        let mut builder = self
            .tracer
            .span_builder(name)
            .with_kind(kind)
            .with_attributes(attributes);
        if let Some(start) = start {
            builder = builder.with_start_time(start);
        }
        builder.start_with_context(&self.tracer, parent)
    }

    /// Starts a span of the current context's trace (an operation, a
    /// batch): ended by [`end`].
    pub fn child(&self, name: impl Into<Cow<'static, str>>, attributes: Vec<KeyValue>) -> Context {
        let parent = Context::current();
        let span = self.start(&parent, name, SpanKind::Internal, None, attributes);
        parent.with_span(span)
    }

    /// Starts a span of the current context's trace that began at `start`
    /// (an operation, from before its checks): ended by [`end`].
    pub fn child_since(
        &self,
        name: impl Into<Cow<'static, str>>,
        attributes: Vec<KeyValue>,
        start: SystemTime,
    ) -> Context {
        let parent = Context::current();
        let span = self.start(&parent, name, SpanKind::Internal, Some(start), attributes);
        parent.with_span(span)
    }

    /// A span under `parent` that ran from `start` to `end`, with the
    /// error code it ended with, if any.
    pub fn between(
        &self,
        parent: &Context,
        name: &'static str,
        (start, end): (SystemTime, SystemTime),
        attributes: Vec<KeyValue>,
        error_code: Option<&str>,
    ) {
        let mut span = self.start(parent, name, SpanKind::Internal, Some(start), attributes);
        if let Some(code) = error_code {
            span.set_attribute(KeyValue::new("graphql.error.code", code.to_owned()));
            span.set_status(Status::error(code.to_owned()));
        }
        span.end_with_timestamp(end);
    }

    /// An event delivered to a subscription (`field`), as a span of the
    /// trace of the write that published it (`traceparent`, carried with
    /// the event, through Redis when the write was another instance's).
    pub fn delivered(&self, traceparent: &str, field: &'static str) {
        let carrier =
            std::collections::HashMap::from([("traceparent".to_owned(), traceparent.to_owned())]);
        let parent = TraceContextPropagator::new().extract(&carrier);
        if !self.keeps_children_of(&parent) {
            return;
        }
        let attributes = vec![
            KeyValue::new("graphql.subscription.field", field),
            KeyValue::new("messaging.operation.type", "process"),
        ];
        let kind = SpanKind::Consumer;
        let mut span = self.start(&parent, format!("deliver {field}"), kind, None, attributes);
        span.end();
    }

    /// A span that already happened: work of `kind` (a statement, a cache
    /// call) that ran for `elapsed` until now, in the current context's
    /// trace, with why it failed.
    pub fn finished(
        &self,
        name: impl Into<Cow<'static, str>>,
        kind: SpanKind,
        (elapsed, error): (Duration, Option<&'static str>),
        attributes: Vec<KeyValue>,
    ) {
        let parent = Context::current();
        if !self.keeps_children_of(&parent) {
            // Outside a request (start-up, the replica's checker), or in
            // one not sampled: no span.
            return;
        }
        let end = SystemTime::now();
        let start = end.checked_sub(elapsed).unwrap_or(end);
        let mut span = self.start(&parent, name, kind, Some(start), attributes);
        if let Some(error) = error {
            span.set_status(Status::error(error));
        }
        span.end_with_timestamp(end);
    }
}

/// The current trace context as a W3C `traceparent` (what a published
/// event carries), if there is one.
pub fn current_traceparent() -> Option<String> {
    let cx = Context::current();
    if !cx.span().span_context().is_valid() {
        return None;
    }
    let mut carrier = std::collections::HashMap::new();
    TraceContextPropagator::new().inject_context(&cx, &mut carrier);
    carrier.remove("traceparent")
}

/// Ends the span `cx` holds, with the GraphQL error code if it failed.
pub fn end(cx: &Context, error_code: Option<&str>) {
    let span = cx.span();
    if let Some(code) = error_code {
        span.set_attribute(KeyValue::new("graphql.error.code", code.to_owned()));
        span.set_status(Status::error(code.to_owned()));
    }
    span.end();
}
