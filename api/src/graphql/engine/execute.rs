//! Running a prepared query or mutation once, with fresh dataloaders, the
//! request's database gate, and its result completed to the specification.

use std::time::Instant;

use async_graphql::parser::types::OperationType;
use async_graphql::{Name, Request, Response, ServerError, Variables};
use service::Store;
use service::compose::budget::Read;

use super::{Answer, Engine, Prepared};
use crate::auth::Auth;
use crate::graphql::engine::documents::Parsed;
use crate::graphql::engine::offload::FirstPollOffTheWorkers;
use crate::graphql::engine::operation::operation_of;
use crate::graphql::runtime::db_gate::DbGate;
use crate::graphql::runtime::error::{Code, coded, ensure_codes, from_service};
use crate::graphql::runtime::fetch_queue::{FetchQueue, drive};
use crate::graphql::schema::loaders::Loaders;

/// Validation refused it when nothing ran: no data, and only errors
/// without a path.
pub(super) fn refused_by_validation(data: &async_graphql::Value, errors: &[ServerError]) -> bool {
    matches!(data, async_graphql::Value::Null)
        && !errors.is_empty()
        && errors.iter().all(|e| e.path.is_empty())
}

/// The request again, for a second run (its parsed document included).
fn copy_of(request: &Request, doc: &Parsed) -> Request {
    let mut copy = Request::new(request.query.clone()).variables(request.variables.clone());
    copy.operation_name = request.operation_name.clone();
    copy.extensions = request.extensions.clone();
    copy.set_parsed_query(doc.doc.clone());
    copy
}

/// Whether a database was unavailable to some field.
fn unavailable(response: &Response) -> bool {
    response.errors.iter().any(|e| {
        e.extensions
            .as_ref()
            .and_then(|x| x.get("code"))
            .is_some_and(|c| *c == async_graphql::Value::from(Code::ServiceUnavailable.as_str()))
    })
}

impl Engine {
    /// Completes `data` to the specification (field order, null propagation).
    pub(super) fn complete(
        &self,
        doc: &Parsed,
        operation: Option<&Name>,
        kind: OperationType,
        variables: &Variables,
        data: async_graphql::Value,
    ) -> async_graphql::Value {
        let root = self.root_of(kind).unwrap_or("Query");
        match operation_of(&doc.doc, operation) {
            Some(op) => crate::graphql::engine::complete::complete(
                &self.index,
                &doc.doc,
                op,
                root,
                variables,
                data,
            ),
            None => data,
        }
    }

    /// After a mutation: the caller's later queries must see what it wrote,
    /// on every instance (see `service::replication`).
    async fn remember_writer(&self, auth: &Auth) {
        if let (Some(replication), Some(caller)) = (&self.store.replication, auth.caller())
            && let Err(e) = replication.mark_writer(&caller).await
        {
            tracing::warn!(error = %e, "could not remember a writer's position; its reads go to the primary meanwhile");
        }
    }

    /// Whether a request's composed reads (at least one) fit the row budget (see
    /// `service::compose::budget`): the refusal otherwise, with the
    /// estimate, the budget and the index that would serve the request for
    /// staff callers (a customer learns the code alone).
    async fn within_budget(
        &self,
        store: &Store,
        reads: &[Read],
        auth: &Auth,
        gate: &DbGate,
    ) -> Result<(), Vec<ServerError>> {
        let budget = self.limits.row_budget;
        let verdict = gate
            .run(store.row_budget(&auth.view(), reads, budget))
            .await;
        let over = match verdict {
            Ok(Ok(_)) => return Ok(()),
            Ok(Err(over)) => over,
            Err(e) => {
                let err = from_service(&e);
                let mut server = ServerError::new(err.message, None);
                server.extensions = err.extensions;
                return Err(vec![server]);
            }
        };
        metrics::counter!("graphql_over_row_budget_total").increment(1);
        let mut err = coded(
            Code::QueryTooExpensive,
            format!(
                "the request would make the database read about {} rows; at most {} are accepted (narrow its filters, ask for smaller pages, or sort by an indexed field)",
                over.estimated_rows, over.budget
            ),
        );
        if auth.is_staff() {
            let extensions = err.extensions.get_or_insert_with(Default::default);
            extensions.set("estimatedRows", over.estimated_rows);
            extensions.set("budget", over.budget);
            if let Some(index) = over.suggested_index {
                extensions.set("suggestedIndex", index);
            }
        } else {
            err.message =
                "the request would make the database read more rows than it accepts".into();
        }
        Err(vec![err])
    }

    /// Runs a prepared request with fresh dataloaders and `gate`.
    pub(super) async fn execute(&self, prepared: Prepared, auth: &Auth, gate: &DbGate) -> Answer {
        let started = Instant::now();
        let Prepared {
            request,
            doc,
            operation,
            kind,
            name,
            variables,
            heavy,
            reads,
            ..
        } = prepared;
        let label = crate::graphql::engine::metrics::label(name.as_deref(), auth, &self.persisted);
        // Queries may read a replica; mutations read what they wrote.
        let store = match kind {
            OperationType::Query => self.store.for_query(auth.caller().as_deref()).await,
            _ => self.store.for_writes(),
        };
        // Over the row budget: refused before anything runs.
        // (Boxed: its future is large, and inline it would be copied with
        // every request's future, measured as 12k instructions per request.)
        if !reads.is_empty()
            && let Err(refusal) = Box::pin(self.within_budget(&store, &reads, auth, gate)).await
        {
            crate::graphql::engine::metrics::record(&label, &refusal, started);
            return Answer::errors(refusal);
        }
        // A query on the replica runs again on the primary if the replica
        // fails it (it is read-only: nothing happens twice).
        let again = store.reads_replica().then(|| copy_of(&request, &doc));
        let operation_name = operation.as_ref().map(|n| n.as_str().to_owned());
        let validated = doc.validated(operation_name.as_deref());
        let schema = if validated { &self.fast } else { &self.schema };
        let view = auth.view();
        let run = |request: Request, store: Store| {
            let queue = FetchQueue::new();
            let request = request
                .data(auth.clone())
                .data(gate.clone())
                .data(store.clone())
                .data(view)
                .data(Loaders::new_loader(
                    store,
                    view,
                    &queue,
                    gate.clone(),
                    self.traces.clone(),
                ));
            let execution = FirstPollOffTheWorkers {
                inner: schema.execute(request),
                heavy,
            };
            drive(execution, queue)
        };
        let mut response: Response = run(request, store).await;
        if let Some(again) = again
            && unavailable(&response)
            && let Some(replication) = &self.store.replication
        {
            replication.suspect();
            response = run(again, self.store.for_query(auth.caller().as_deref()).await).await;
        }
        if kind == OperationType::Mutation {
            self.remember_writer(auth).await;
        }
        let mut errors = response.errors;
        ensure_codes(&mut errors);
        let executed = !refused_by_validation(&response.data, &errors);
        if executed && !validated {
            doc.mark_validated(operation_name.as_deref());
        }
        let data = executed
            .then(|| self.complete(&doc, operation.as_ref(), kind, &variables, response.data));
        crate::graphql::engine::metrics::record(&label, &errors, started);
        Answer { data, errors }
    }
}
