//! The span processor of an instance's traces: finished spans go into a
//! bounded queue and a task of its own exports them in batches. A
//! collector that is down, slow or refusing loses spans (counted in
//! `otel_spans_dropped_total`), never blocks a request, and never grows
//! the queue past [`QUEUE`].

use std::time::Duration;

use opentelemetry::{Context, KeyValue};
use opentelemetry_sdk::Resource;
use opentelemetry_sdk::error::OTelSdkResult;
use opentelemetry_sdk::trace::{SpanData, SpanExporter as _, SpanProcessor};
use tokio::sync::{mpsc, oneshot};

use super::traces::{EXPORT_TIMEOUT, TraceConfig};

/// Finished spans waiting for export, at most.
pub const QUEUE: usize = 4096;
/// Spans sent in one export, at most.
const BATCH: usize = 512;
/// A partial batch waits at most this long.
const FLUSH_EVERY: Duration = Duration::from_millis(200);

/// The span processor: finished spans into a bounded queue (dropped and
/// counted when it is full), exported in batches by a task of its own.
#[derive(Debug)]
pub(super) struct Queue {
    spans: mpsc::Sender<SpanData>,
}

/// Asks the export task to send everything queued now; answered when done.
pub(super) type Flushes = mpsc::Sender<oneshot::Sender<()>>;

impl Queue {
    /// The processor, and where flushes are asked for (at shutdown).
    pub(super) fn start(exporter: opentelemetry_otlp::SpanExporter) -> (Queue, Flushes) {
        let (spans, mut queued) = mpsc::channel::<SpanData>(QUEUE);
        let (flushes, mut asked) = mpsc::channel::<oneshot::Sender<()>>(1);
        tokio::spawn(async move {
            let mut batch = Vec::with_capacity(BATCH);
            loop {
                let (closed, flush) = tokio::select! {
                    Some(reply) = asked.recv() => {
                        while batch.len() < QUEUE {
                            let Ok(span) = queued.try_recv() else { break };
                            batch.push(span);
                        }
                        (false, Some(reply))
                    }
                    more = tokio::time::timeout(FLUSH_EVERY, queued.recv_many(&mut batch, BATCH)) => {
                        (matches!(more, Ok(0)), None)
                    }
                };
                while !batch.is_empty() {
                    let rest = batch.split_off(batch.len().min(BATCH));
                    let sent = std::mem::replace(&mut batch, rest);
                    export(&exporter, sent).await;
                }
                if let Some(reply) = flush {
                    let _ = reply.send(());
                }
                if closed {
                    return;
                }
            }
        });
        (Queue { spans }, flushes)
    }
}

/// One export, its spans counted as dropped unless the collector took them
/// in time.
async fn export(exporter: &opentelemetry_otlp::SpanExporter, spans: Vec<SpanData>) {
    let n = spans.len();
    let exported = tokio::time::timeout(EXPORT_TIMEOUT, exporter.export(spans)).await;
    if !matches!(exported, Ok(Ok(()))) {
        dropped(n);
    }
}

fn dropped(n: usize) {
    metrics::counter!("otel_spans_dropped_total").increment(u64::try_from(n).unwrap_or(u64::MAX));
}

impl SpanProcessor for Queue {
    fn on_start(&self, _span: &mut opentelemetry_sdk::trace::Span, _cx: &Context) {}

    fn on_end(&self, span: SpanData) {
        if !span.span_context.is_sampled() {
            return;
        }
        if self.spans.try_send(span).is_err() {
            dropped(1);
        }
    }

    fn force_flush(&self) -> OTelSdkResult {
        Ok(())
    }

    fn shutdown_with_timeout(&self, _timeout: Duration) -> OTelSdkResult {
        Ok(())
    }
}

/// `service.name` and `OTEL_RESOURCE_ATTRIBUTES`.
pub(super) fn resource(settings: &TraceConfig) -> Resource {
    let extra = settings
        .resource_attributes
        .as_deref()
        .unwrap_or_default()
        .split(',')
        .filter_map(|pair| {
            let (key, value) = pair.split_once('=')?;
            let key = key.trim();
            (!key.is_empty()).then(|| KeyValue::new(key.to_owned(), value.trim().to_owned()))
        })
        .collect::<Vec<_>>();
    Resource::builder_empty()
        .with_attributes(extra)
        .with_service_name(settings.service_name.clone())
        .build()
}
