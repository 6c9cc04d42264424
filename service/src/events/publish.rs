//! Publishing a committed write's events: to this instance's listeners,
//! or through Redis to every instance's.

use std::sync::Arc;

use redis::aio::ConnectionManager;

use super::{Delivery, Event, EventBus, Published, Transport};
use crate::spans::Kind;

impl EventBus {
    /// Where the server installs what it tells its traces.
    pub fn spans(&self) -> &crate::spans::Spans {
        &self.0.spans
    }

    pub async fn publish(&self, events: Vec<Event>) {
        if events.is_empty() {
            return;
        }
        let n = events.len();
        metrics::counter!("events_published_total").increment(n as u64);
        let started = self.0.spans.start();
        let published = self.send(events).await;
        let (kind, system) = match self.0.transport {
            Transport::InProcess => (Kind::Internal, "in-process"),
            Transport::Redis { .. } => (Kind::Producer, "redis"),
        };
        let error = (!published).then_some("not published: listeners told of a gap");
        self.0
            .spans
            .done(started, "publish events", kind, error, || {
                vec![
                    ("messaging.system", system.into()),
                    ("messaging.operation.type", "publish".into()),
                    ("messaging.batch.message_count", n.into()),
                ]
            });
    }

    /// Sends one write's events to every listener; false if Redis did not
    /// take them (listeners were told of a gap).
    async fn send(&self, events: Vec<Event>) -> bool {
        let trace = self.0.trace_source.get().and_then(|source| source());
        match &self.0.transport {
            Transport::InProcess => {
                let _ = self
                    .0
                    .local
                    .send(Delivery::Events(Arc::new(Published { events, trace })));
                true
            }
            Transport::Redis {
                conn,
                channel,
                timeout,
            } => {
                // Without a trace: the plain list, as before traces.
                let payload = match trace {
                    None => serde_json::to_string(&events),
                    Some(trace) => serde_json::to_string(&Published {
                        events,
                        trace: Some(trace),
                    }),
                };
                let Ok(payload) = payload else {
                    return false;
                };
                let mut conn = conn.clone();
                let publish = |conn: &mut ConnectionManager| {
                    let mut conn = conn.clone();
                    let payload = payload.clone();
                    async move {
                        tokio::time::timeout(
                            *timeout,
                            redis::cmd("PUBLISH")
                                .arg(channel)
                                .arg(payload)
                                .query_async::<i64>(&mut conn),
                        )
                        .await
                    }
                };
                let mut sent = publish(&mut conn).await;
                // A connection found broken (Redis restarted) is replaced by
                // the manager: one more try on the new one.
                if let Ok(Err(e)) = &sent
                    && (e.is_connection_dropped() || e.is_io_error())
                {
                    sent = publish(&mut conn).await;
                }
                if !matches!(sent, Ok(Ok(_))) {
                    // This instance's own listeners would have heard it
                    // through Redis: tell them they missed it.
                    metrics::counter!("events_publish_failures_total").increment(1);
                    tracing::warn!("an event could not be published through Redis");
                    let _ = self.0.local.send(Delivery::Gap);
                    return false;
                }
                true
            }
        }
    }
}
