//! The WebSocket's door: a `subscribe` message's document becomes a stream
//! of deliveries. Subscriptions with the same document, operation,
//! variables and view form one audience (see `audience`): each event's
//! result is resolved once for it, with the audience's own dataloaders
//! (forgotten between writes, see `schema::subscription`) under its own
//! database gate, completed to the specification and encoded once; every
//! subscriber sends those bytes.

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{Request, Response, ServerError};
use futures::StreamExt as _;
use futures::stream::BoxStream;

use super::audience::{Audience, AudienceKey, Audiences, Read, Shared, join};
use super::execute::refused_by_validation;
use super::{Engine, Prepared};
use crate::auth::Auth;
use crate::graphql::runtime::db_gate::DbGate;
use crate::graphql::runtime::error::{Code, coded, ensure_codes};
use crate::graphql::runtime::fetch_queue::{FetchQueue, drive};
use crate::graphql::runtime::{Listening, LiveConnection};
use crate::graphql::schema::loaders::Loaders;

/// What a subscription yields, for the transport to encode.
#[derive(Debug)]
pub enum Delivery {
    /// A result (of an event, or an error of the field itself).
    Next(Response),
    /// A result shared by an audience: the `next` message's payload,
    /// encoded once.
    Shared(Arc<str>),
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
        // The ranking pushes its current state to each new subscriber:
        // not shared (a document that names it anywhere stays alone).
        let key = (!prepared.request.query.contains("topCustomersChanged")).then(|| AudienceKey {
            query: prepared.request.query.clone(),
            operation: prepared.operation.as_ref().map(|n| n.to_string()),
            variables: serde_json::to_string(&prepared.variables).unwrap_or_default(),
            view: auth.view(),
        });
        let (audience, new) = self.audiences.get_or_new(key, self.limits.audience_backlog);
        // Joined before the stream starts: its first result is this
        // subscriber's too.
        let deliveries = join(audience.clone(), connection)
            .map(|read| match read {
                Read::Next(text) => Delivery::Shared(text),
                Read::Refused(errors) => Delivery::Refused(errors.as_ref().clone()),
                Read::Behind(error) => Delivery::Next(Response::from_errors(vec![error])),
            })
            .boxed();
        if new {
            let gate = DbGate::new(self.limits.max_connections_per_request);
            let results =
                self.stream(prepared, auth, gate, audience.listening())
                    .map(|d| match d {
                        Delivery::Refused(errors) => Shared::Refused(Arc::new(errors)),
                        Delivery::Next(response) => Shared::Next(Arc::from(
                            serde_json::to_string(&response).unwrap_or_default(),
                        )),
                        Delivery::Shared(text) => Shared::Next(text),
                    });
            let (fill, stop) =
                futures::future::abortable(Audience::fill(Arc::downgrade(&audience), results));
            Audiences::started(&audience, stop);
            tokio::spawn(fill);
        }
        deliveries
    }

    /// The audience's stream: its results, one per event it concerns.
    fn stream(
        self: &Arc<Self>,
        prepared: Prepared,
        auth: &Auth,
        gate: DbGate,
        listening: Listening,
    ) -> BoxStream<'static, Delivery> {
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
            .data(listening)
            .data(store.clone())
            .data(view)
            .data(Loaders::new_loader(
                store,
                view,
                &queue,
                gate,
                self.traces.clone(),
            ));
        let request = match &self.traces {
            Some(traces) => request.data(traces.clone()),
            None => request,
        };
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
