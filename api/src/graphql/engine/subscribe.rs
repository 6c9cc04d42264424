//! The WebSocket's door: a `subscribe` message's document becomes a stream
//! of deliveries. Each event's result is resolved with the subscription's
//! own dataloaders (forgotten between writes, see `schema::subscription`)
//! under its own database gate, and completed to the specification.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use futures::StreamExt as _;
use futures::stream::BoxStream;

use super::execute::refused_by_validation;
use super::{Engine, Prepared};
use crate::auth::Auth;
use crate::graphql::runtime::LiveConnection;
use crate::graphql::runtime::db_gate::DbGate;
use crate::graphql::runtime::error::{Code, coded, ensure_codes};
use crate::graphql::runtime::fetch_queue::{FetchQueue, drive};
use crate::graphql::schema::loaders::Loaders;

/// What a subscription yields, for the transport to encode.
#[derive(Debug)]
pub enum Delivery {
    /// A result (of an event, or an error of the field itself).
    Next(Response),
    /// The subscription was refused before it started (a bad document, a
    /// limit, not a subscription): the protocol's `error` message. Nothing
    /// follows it.
    Refused(Vec<ServerError>),
}

/// A subscription's deliveries; the stream ends when the subscription does.
pub type Deliveries = BoxStream<'static, Delivery>;

/// What a client reads when it sends a query or mutation over the socket.
pub const ONLY_SUBSCRIPTIONS: &str = "only subscriptions run over the WebSocket; send queries and mutations over HTTP (POST /graphql)";

fn refused(errors: Vec<ServerError>) -> Deliveries {
    futures::stream::once(async move { Delivery::Refused(errors) }).boxed()
}

impl Engine {
    /// Checks `request` as any operation is checked, then, if it is a
    /// subscription, starts it for `auth`; `connection` hears when it falls
    /// behind.
    pub async fn subscribe(
        self: &Arc<Self>,
        request: Request,
        auth: &Auth,
        connection: Arc<LiveConnection>,
    ) -> Deliveries {
        let prepared = match self.prepare(request).await {
            Ok(p) => p,
            Err(refusal) => return refused(refusal.errors),
        };
        if prepared.kind != OperationType::Subscription {
            return refused(vec![coded(Code::BadUserInput, ONLY_SUBSCRIPTIONS)]);
        }
        let gate = DbGate::new(self.limits.max_connections_per_request);
        self.stream(prepared, auth, gate, connection)
    }

    fn stream(
        self: &Arc<Self>,
        prepared: Prepared,
        auth: &Auth,
        gate: DbGate,
        connection: Arc<LiveConnection>,
    ) -> Deliveries {
        let Prepared {
            request,
            doc,
            operation,
            kind,
            variables,
            ..
        } = prepared;
        let queue = FetchQueue::new();
        // An event's selection reads the primary: it carries committed state
        // the replica may not have replayed yet.
        let store = self.store.for_writes();
        let view = auth.view();
        let request = request
            .data(auth.clone())
            .data(gate.clone())
            .data(connection)
            .data(store.clone())
            .data(view)
            .data(Loaders::new_loader(store, view, &queue, gate));
        let results = self.schema.execute_stream(request);
        let shape = Arc::new((doc, operation, variables));
        let state = (results, queue, self.clone(), shape, true);
        futures::stream::unfold(
            state,
            move |(mut results, queue, engine, shape, first)| async move {
                let mut response = drive(results.next(), queue.clone()).await?;
                ensure_codes(&mut response.errors);
                // async-graphql validates when the stream is first polled;
                // a refusal then is a result without data or paths.
                if first && refused_by_validation(&response.data, &response.errors) {
                    return Some((
                        Delivery::Refused(response.errors),
                        (results, queue, engine, shape, false),
                    ));
                }
                let (doc, operation, variables) = &*shape;
                let data = std::mem::take(&mut response.data);
                response.data = engine.complete(doc, operation.as_ref(), kind, variables, data);
                Some((
                    Delivery::Next(response),
                    (results, queue, engine, shape, false),
                ))
            },
        )
        // Nothing follows a refusal.
        .scan(false, |ended, delivery| {
            let item = (!*ended).then(|| {
                *ended = matches!(delivery, Delivery::Refused(_));
                delivery
            });
            std::future::ready(item)
        })
        .boxed()
    }
}
