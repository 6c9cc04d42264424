//! A subscriber's view of the instance's events: the items of each committed
//! write that it asked for, one at a time, read lazily from the shared
//! publication (a bulk insert of 10,000 orders is one publication; each
//! subscriber walks it without copying it).

use std::sync::Arc;

use service::View;
use service::events::{Delivery, Event, Published};
use tokio::sync::broadcast::{Receiver, error::RecvError};

use crate::graphql::runtime::Listening;
use crate::graphql::runtime::error::{Code, gql_error};
use crate::graphql::schema::loaders::{AppLoader, CustomerId, OrderId, OrdersOf, StatsOf};
use crate::telemetry::traces::Traces;

/// Counts a field's active subscriptions while it lives.
pub struct Active(&'static str);

impl Active {
    pub fn new(field: &'static str) -> Self {
        metrics::gauge!("graphql_subscriptions_active", "field" => field).increment(1.0);
        Active(field)
    }
}

impl Drop for Active {
    fn drop(&mut self) {
        metrics::gauge!("graphql_subscriptions_active", "field" => self.0).decrement(1.0);
    }
}

/// Forgets what the subscription's loader read for the previous write: the
/// next items are resolved against the committed state that follows it.
pub fn forget(loader: &AppLoader) {
    loader.clear::<CustomerId>();
    loader.clear::<OrderId>();
    loader.clear::<StatsOf>();
    loader.clear::<OrdersOf>();
}

/// The items one subscription takes from the events it hears, of those its
/// view sees (a customer hears only of its own rows).
pub struct Feed<'a> {
    field: &'static str,
    events: Receiver<Delivery>,
    /// The subscriber's view: items it does not see are skipped.
    view: View,
    loader: &'a AppLoader,
    listening: Option<Listening>,
    /// The publication being walked, and where.
    current: Option<Arc<Published>>,
    event: usize,
    item: usize,
    /// No item of `current` has been given yet.
    fresh: bool,
    done: bool,
    /// Each delivery's span, in the trace of the write that caused it.
    traces: Option<Arc<Traces>>,
    _active: Active,
}

impl<'a> Feed<'a> {
    pub fn new(
        field: &'static str,
        events: Receiver<Delivery>,
        view: View,
        loader: &'a AppLoader,
        listening: Option<Listening>,
    ) -> Self {
        Feed {
            field,
            events,
            view,
            loader,
            listening,
            current: None,
            event: 0,
            item: 0,
            fresh: false,
            done: false,
            traces: None,
            _active: Active::new(field),
        }
    }

    /// Each item delivered is a span of the trace of the write it came
    /// from (whichever instance made it), when traces are exported.
    pub fn traced(mut self, traces: Option<Arc<Traces>>) -> Self {
        self.traces = traces;
        self
    }

    /// The next item `pick` takes (`pick(event, i)` looks at the `i`-th item
    /// of an event: an order of `OrdersCreated`, the event itself otherwise).
    /// An error ends the feed: events were missed (the event channel broke,
    /// or this subscriber fell too far behind).
    pub async fn next<T>(
        &mut self,
        pick: &(impl Fn(&Event, usize) -> Option<T> + Sync),
    ) -> Option<async_graphql::Result<T>> {
        loop {
            if self.done {
                return None;
            }
            if let Some(events) = &self.current {
                while let Some(event) = events.get(self.event) {
                    let items = match event {
                        Event::OrdersCreated { orders } => orders.len(),
                        _ => 1,
                    };
                    while self.item < items {
                        let i = self.item;
                        self.item += 1;
                        if !self.view.sees_event(event, i) {
                            continue;
                        }
                        if let Some(found) = pick(event, i) {
                            if std::mem::take(&mut self.fresh) {
                                forget(self.loader);
                            }
                            metrics::counter!("subscription_events_delivered_total", "field" => self.field)
                                .increment(1);
                            if let Some(traces) = &self.traces
                                && let Some(trace) = events.trace.as_deref()
                            {
                                traces.delivered(trace, self.field);
                            }
                            return Some(Ok(found));
                        }
                    }
                    self.event += 1;
                    self.item = 0;
                }
                self.current = None;
            }
            match self.events.recv().await {
                Ok(Delivery::Events(events)) => {
                    if let Some(listening) = &self.listening {
                        listening.advanced();
                    }
                    self.current = Some(events);
                    self.event = 0;
                    self.item = 0;
                    self.fresh = true;
                }
                Ok(Delivery::Gap) => {
                    self.done = true;
                    return Some(Err(gql_error(
                        Code::ServiceUnavailable,
                        "live events were interrupted (the event channel was unreachable) and some may have been missed: query the current state, then subscribe again",
                    )));
                }
                Err(RecvError::Lagged(missed)) => {
                    // The audience's resolution fell behind the events:
                    // every subscriber of it learns it, and is let go.
                    self.done = true;
                    if let Some(listening) = &self.listening {
                        listening.lag();
                    }
                    return Some(Err(gql_error(
                        Code::ServiceUnavailable,
                        format!(
                            "this subscription fell too far behind ({missed} writes not delivered): query the current state, then subscribe again"
                        ),
                    )));
                }
                Err(RecvError::Closed) => return None,
            }
        }
    }
}
