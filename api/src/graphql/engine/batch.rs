//! The HTTP door: the operations of one HTTP request (one, or a batch) in,
//! one [`Outcome`] out. The policy that is the engine's, not the
//! transport's, lives here once: subscriptions do not run over HTTP, only
//! queries run over GET, a batch shares one cost budget and one database
//! gate, and a lone operation refused before it ran refuses the request.

use std::time::SystemTime;

use async_graphql::Request;
use async_graphql::parser::types::OperationType;

use super::cost::too_costly;
use super::{Answer, Engine, Prepared, Refusal, Refused};
use crate::auth::Auth;
use crate::graphql::runtime::db_gate::DbGate;
use crate::graphql::runtime::error::{Code, code_of, coded};

/// How the operations arrived, as far as the engine's policy cares.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Transport {
    /// `GET /graphql`: one operation, a query.
    HttpGet,
    /// `POST /graphql`: one operation or a batch.
    HttpPost,
}

/// What became of an HTTP request's operations.
#[derive(Debug)]
pub enum Outcome {
    /// Nothing ran: the request as a whole is refused (a lone operation
    /// that failed its checks, a batch over the budget, a mutation over
    /// GET).
    Refused(Refused),
    /// One answer per operation, in order; in a batch, an operation that
    /// failed its checks answers with its errors and no `data`.
    Answered(Vec<Answer>),
}

const NO_SUBSCRIPTIONS_OVER_HTTP: &str = "subscriptions run over the WebSocket at /graphql (subprotocol graphql-transport-ws), not over HTTP";

impl Engine {
    /// Checks every operation (one cost budget for them all), then runs
    /// them concurrently through one database gate, for `auth`. `batch`:
    /// the client sent an array (even of one).
    pub async fn run_batch(
        &self,
        requests: Vec<Request>,
        batch: bool,
        transport: Transport,
        auth: &Auth,
    ) -> Outcome {
        // A token that fails a check refuses every operation, queries
        // included: only a request without a token is anonymous, and reads
        // only where `ANONYMOUS_ACCESS=read`.
        let unauthenticated = match auth {
            Auth::Invalid(reason) => Some(reason.clone()),
            Auth::Anonymous if !self.anonymous_reads => Some(
                "this server answers only requests with `Authorization: Bearer <token>` (ANONYMOUS_ACCESS=none)"
                    .to_owned(),
            ),
            _ => None,
        };
        if let Some(reason) = unauthenticated {
            return Outcome::Refused(Refused {
                kind: Refusal::Unauthenticated,
                errors: vec![coded(Code::Unauthenticated, reason)],
            });
        }
        let mut prepared: Vec<Result<Prepared, Refused>> = Vec::with_capacity(requests.len());
        // The request's trace, when its spans are kept: then when each
        // operation's checks began and ended.
        let traced = self.traces.as_ref().filter(|t| t.recording());
        let mut checked = Vec::new();
        for request in requests {
            let began = traced.is_some().then(SystemTime::now);
            prepared.push(match self.prepare(request).await {
                Ok(p) if p.kind == OperationType::Subscription => {
                    Err(Refused::one(Code::BadUserInput, NO_SUBSCRIPTIONS_OVER_HTTP))
                }
                other => other,
            });
            if let Some(began) = began {
                checked.push((began, SystemTime::now()));
            }
        }
        if let Some(traces) = traced {
            // Operations refused by their checks: their spans end here.
            for (p, times) in prepared.iter().zip(&checked) {
                if let Err(refused) = p {
                    let code = refused.errors.first().and_then(code_of);
                    let cx = traces.child_since("graphql", Vec::new(), times.0);
                    traces.between(&cx, "graphql.check", *times, Vec::new(), code.as_deref());
                    crate::telemetry::traces::end(&cx, code.as_deref());
                }
            }
        }
        if transport == Transport::HttpGet
            && let Some(Ok(p)) = prepared.first()
            && p.kind != OperationType::Query
        {
            let mut refused = Refused::one(
                Code::BadUserInput,
                "only queries run over GET; send mutations with POST",
            );
            refused.kind = Refusal::QueriesOnly;
            return Outcome::Refused(refused);
        }
        let total: u64 = prepared
            .iter()
            .filter_map(|p| p.as_ref().ok())
            .map(|p| p.cost)
            .fold(0, u64::saturating_add);
        if total > self.limits.max_cost {
            return Outcome::Refused(Refused::one(
                Code::QueryTooComplex,
                too_costly(total, self.limits.max_cost),
            ));
        }
        if !batch
            && matches!(prepared.first(), Some(Err(_)))
            && let Some(Err(refused)) = prepared.pop()
        {
            return Outcome::Refused(refused);
        }
        let gate = DbGate::new(self.limits.max_connections_per_request);
        let mut checked = checked.into_iter();
        let answers = futures::future::join_all(prepared.into_iter().map(|p| {
            let gate = gate.clone();
            let times = checked.next();
            async move {
                match p {
                    Ok(p) => {
                        let cx = traced.zip(times).map(|(traces, times)| {
                            let cx = traces.child_since(
                                operation_span_name(&p),
                                operation_attributes(&p),
                                times.0,
                            );
                            let cost = opentelemetry::KeyValue::new(
                                "graphql.cost",
                                i64::try_from(p.cost).unwrap_or(i64::MAX),
                            );
                            traces.between(&cx, "graphql.check", times, vec![cost], None);
                            cx
                        });
                        let answer =
                            crate::telemetry::in_trace(self.execute(p, auth, &gate), cx.clone())
                                .await;
                        if let Some(cx) = &cx {
                            crate::telemetry::traces::end(
                                cx,
                                answer.errors.first().and_then(code_of).as_deref(),
                            );
                        }
                        answer
                    }
                    Err(refused) => Answer::errors(refused.errors),
                }
            }
        }))
        .await;
        Outcome::Answered(answers)
    }
}

/// The operation's span name: `query Q1`, or its type alone.
fn operation_span_name(p: &Prepared) -> String {
    let kind = operation_kind(p.kind);
    match &p.name {
        Some(name) => format!("{kind} {name}"),
        None => kind.to_owned(),
    }
}

fn operation_kind(kind: OperationType) -> &'static str {
    match kind {
        OperationType::Query => "query",
        OperationType::Mutation => "mutation",
        OperationType::Subscription => "subscription",
    }
}

/// The operation's attributes: its type, name and the document's SHA-256
/// (never its variables).
fn operation_attributes(p: &Prepared) -> Vec<opentelemetry::KeyValue> {
    let hex = p.doc.hash(&p.request.query);
    let mut attributes = vec![
        opentelemetry::KeyValue::new("graphql.operation.type", operation_kind(p.kind)),
        opentelemetry::KeyValue::new("graphql.document.hash", hex),
    ];
    if let Some(name) = &p.name {
        attributes.push(opentelemetry::KeyValue::new(
            "graphql.operation.name",
            name.clone(),
        ));
    }
    attributes
}
