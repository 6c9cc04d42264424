//! Events of committed writes, for subscriptions: every instance sharing a
//! Redis hears every instance's events; without Redis, an instance hears its
//! own.
//!
//! - Writes publish after their transaction commits, one message per write
//!   (a bulk insert of 10,000 orders is one message holding them all).
//! - With Redis, an instance publishes to one channel (`<prefix>events`) and
//!   keeps one subscription to it, however many clients listen; what it
//!   receives goes into an in-process broadcast that every subscription of
//!   the instance reads. Without Redis, publishing goes straight into that
//!   broadcast.
//! - Delivery is at most once (Redis pub/sub keeps nothing). When the
//!   subscription to Redis breaks, or a publication fails, the instance
//!   broadcasts [`Delivery::Gap`] (event subscriptions end with an error:
//!   re-query, then subscribe again) and subscribes again by itself, with
//!   another gap once it hears again (live rankings read themselves again).
//!   While it does not hear the channel, new listeners are refused.
//! - A listener that falls more than `backlog` publications behind learns it
//!   from the broadcast (`Lagged`) instead of growing memory; a publication
//!   is dropped once every listener has read it.

mod publish;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use redis::aio::ConnectionManager;
use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::cache::RedisSettings;
use crate::model::{Customer, Order};

/// Publications a listener may fall behind by default (`EVENT_BACKLOG`).
pub const DEFAULT_BACKLOG: usize = 1_024;

/// What a committed write changed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Event {
    /// Orders created (one write: one or many).
    OrdersCreated { orders: Vec<Order> },
    /// An order's total or status changed.
    OrderUpdated { order: Order },
    /// An order was deleted (the ranking may have changed).
    OrderDeleted { customer_id: i64 },
    /// A customer's name, email or phone changed.
    CustomerUpdated { customer: Customer },
    /// Customers were created or deleted (the ranking may have changed).
    CustomersChanged,
}

/// One committed write's events, and its trace (W3C `traceparent`) if traced.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Published {
    pub events: Vec<Event>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub trace: Option<String>,
}

impl std::ops::Deref for Published {
    type Target = Vec<Event>;

    fn deref(&self) -> &Vec<Event> {
        &self.events
    }
}

/// The publishing code's trace context ([`EventBus::set_trace_source`]).
pub type TraceSource = Arc<dyn Fn() -> Option<String> + Send + Sync>;

/// What listeners receive.
#[derive(Clone, Debug)]
pub enum Delivery {
    /// The events of one committed write.
    Events(Arc<Published>),
    /// Delivery was interrupted: events may have been missed.
    Gap,
}

enum Transport {
    InProcess,
    Redis {
        conn: ConnectionManager,
        channel: String,
        timeout: Duration,
    },
}

/// The event bus of an instance. Cheap to clone; clones share everything.
#[derive(Clone)]
pub struct EventBus(Arc<Inner>);

struct Inner {
    transport: Transport,
    local: broadcast::Sender<Delivery>,
    /// Whether this instance hears the shared channel now (always, in process).
    hearing: AtomicBool,
    /// Tells each publication's trace context, when traces are exported.
    trace_source: std::sync::OnceLock<TraceSource>,
    /// Told of each publication (the server's traces).
    spans: crate::spans::Spans,
}

/// Live events cannot be heard now (Redis is unreachable).
#[derive(Debug, thiserror::Error)]
#[error(
    "live events are unavailable right now (the event channel is unreachable); subscribe again shortly"
)]
pub struct Unavailable;

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let transport = match self.0.transport {
            Transport::InProcess => "in-process",
            Transport::Redis { .. } => "redis",
        };
        f.debug_struct("EventBus")
            .field("transport", &transport)
            .finish()
    }
}

impl EventBus {
    /// Events heard by this instance only; listeners may fall `backlog`
    /// publications behind.
    pub fn in_process(backlog: usize) -> Self {
        let (local, _) = broadcast::channel(backlog.max(1));
        EventBus(Arc::new(Inner {
            transport: Transport::InProcess,
            local,
            hearing: AtomicBool::new(true),
            trace_source: Default::default(),
            spans: Default::default(),
        }))
    }

    /// Events shared through Redis; listeners may fall `backlog`
    /// publications behind. Spawns the task that keeps this instance's
    /// subscription (and resubscribes after a failure).
    pub fn redis(settings: &RedisSettings, backlog: usize) -> Result<Self, redis::RedisError> {
        let client = redis::Client::open(settings.url.as_str())?;
        let conn = settings.connection_manager()?;
        let channel = format!("{}events", settings.key_prefix);
        let (local, _) = broadcast::channel(backlog.max(1));
        let bus = EventBus(Arc::new(Inner {
            transport: Transport::Redis {
                conn,
                channel: channel.clone(),
                timeout: settings.timeout.max(Duration::from_secs(1)),
            },
            local: local.clone(),
            hearing: AtomicBool::new(false),
            trace_source: Default::default(),
            spans: Default::default(),
        }));
        tokio::spawn(listen(client, channel, Arc::downgrade(&bus.0)));
        Ok(bus)
    }

    /// A listener of what this instance hears from now on; refused while
    /// the instance cannot hear the shared channel (a listener would miss
    /// events without knowing).
    pub fn subscribe(&self) -> Result<broadcast::Receiver<Delivery>, Unavailable> {
        let receiver = self.0.local.subscribe();
        if self.0.hearing.load(Ordering::SeqCst) {
            Ok(receiver)
        } else {
            Err(Unavailable)
        }
    }

    /// Waits (at most `limit`) until this instance hears the shared channel;
    /// returns whether it does. Startup waits, so that the first
    /// subscriptions are not refused while the listener connects.
    pub async fn hearing_within(&self, limit: Duration) -> bool {
        let deadline = tokio::time::Instant::now() + limit;
        while !self.is_hearing() {
            if tokio::time::Instant::now() >= deadline {
                return false;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        true
    }

    /// Whether this instance hears every instance's events now.
    pub fn is_hearing(&self) -> bool {
        self.0.hearing.load(Ordering::SeqCst)
    }

    /// Listeners of this instance now.
    pub fn listeners(&self) -> usize {
        self.0.local.receiver_count()
    }

    /// Publishes the events of one committed write. Never fails the write:
    /// a message Redis did not take is counted and logged (at most once).
    /// Each publication carries what `source` tells of the publishing
    /// code's trace (set once, by a server that exports traces).
    pub fn set_trace_source(&self, source: TraceSource) {
        let _ = self.0.trace_source.set(source);
    }
}

/// A publication as another instance sent it (with its trace, or not).
fn read_publication(payload: &[u8]) -> serde_json::Result<Published> {
    match serde_json::from_slice::<Vec<Event>>(payload) {
        Ok(events) => Ok(Published {
            events,
            trace: None,
        }),
        Err(_) => serde_json::from_slice::<Published>(payload),
    }
}

/// Keeps one subscription to `channel` while the bus lives: forwards what it
/// hears into the broadcast, broadcasts a gap when it breaks, subscribes
/// again after a pause.
async fn listen(client: redis::Client, channel: String, bus: std::sync::Weak<Inner>) {
    use futures::StreamExt as _;
    let mut connected_before = false;
    loop {
        let Some(inner) = bus.upgrade() else { return };
        let local = inner.local.clone();
        drop(inner);
        let set_hearing = |on: bool| {
            if let Some(inner) = bus.upgrade() {
                inner.hearing.store(on, Ordering::SeqCst);
            }
        };
        let subscribed = async {
            let mut pubsub = client.get_async_pubsub().await?;
            pubsub.subscribe(&channel).await?;
            Ok::<_, redis::RedisError>(pubsub)
        };
        match tokio::time::timeout(Duration::from_secs(5), subscribed).await {
            Ok(Ok(pubsub)) => {
                if connected_before {
                    // Writes of other instances may have gone unheard: what
                    // keeps state (a live ranking) reads it again.
                    tracing::info!("subscribed to the event channel again");
                    let _ = local.send(Delivery::Gap);
                }
                connected_before = true;
                set_hearing(true);
                let mut messages = pubsub.into_on_message();
                while let Some(msg) = messages.next().await {
                    if bus.strong_count() == 0 {
                        return;
                    }
                    match read_publication(msg.get_payload_bytes()) {
                        Ok(published) => {
                            let _ = local.send(Delivery::Events(Arc::new(published)));
                        }
                        Err(e) => tracing::warn!(error = %e, "an event message could not be read"),
                    }
                }
                set_hearing(false);
                tracing::warn!("the event subscription broke; subscribing again");
                metrics::counter!("events_subscription_interruptions_total").increment(1);
                let _ = local.send(Delivery::Gap);
            }
            Ok(Err(e)) => {
                tracing::debug!(error = %e, "subscribing to the event channel failed");
            }
            Err(_) => tracing::debug!("subscribing to the event channel timed out"),
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
}

impl crate::view::View {
    /// Whether this view sees the `i`-th item of a committed write's event
    /// (an order of `OrdersCreated`, the event itself otherwise).
    pub fn sees_event(&self, event: &Event, i: usize) -> bool {
        if self.is_unrestricted() {
            return true;
        }
        match event {
            Event::OrdersCreated { orders } => orders
                .get(i)
                .is_some_and(|o| self.sees_orders_of(o.customer_id)),
            Event::OrderUpdated { order } => self.sees_orders_of(order.customer_id),
            Event::OrderDeleted { customer_id } => self.sees_orders_of(*customer_id),
            Event::CustomerUpdated { customer } => self.sees_customer(customer.id),
            // Says only that some customer changed: nothing a customer sees.
            Event::CustomersChanged => false,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn publications_are_read_with_their_trace_or_as_the_plain_list() {
        let events = vec![
            Event::CustomersChanged,
            Event::OrderDeleted { customer_id: 7 },
        ];
        let plain = serde_json::to_vec(&events).expect("encode");
        assert_eq!(
            read_publication(&plain).expect("the plain list"),
            Published {
                events: events.clone(),
                trace: None
            }
        );
        let traced = Published {
            events,
            trace: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".to_owned()),
        };
        let encoded = serde_json::to_vec(&traced).expect("encode");
        assert_eq!(read_publication(&encoded).expect("with its trace"), traced);
        assert!(read_publication(b"{}").is_err());
        assert!(read_publication(b"not json").is_err());
    }
}
