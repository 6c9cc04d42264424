//! The operations of one WebSocket: each `subscribe` goes through the same
//! pipeline as an HTTP request; the caller is the one `connection_init` named.

use std::sync::{Arc, OnceLock};

use async_graphql::parser::types::OperationType;
use async_graphql::{Data, Executor, Request, Response};
use futures::StreamExt as _;
use futures::stream::BoxStream;
use serde_json::Value;

use crate::auth::{Auth, Jwt};
use crate::graphql::db_gate::DbGate;
use crate::graphql::error::{Code, coded};
use crate::graphql::pipeline::refusal;
use crate::graphql::subscription::LiveConnection;
use crate::state::AppState;

/// Runs one connection's operations through the pipeline.
#[derive(Clone)]
pub struct Operations {
    pub state: AppState,
    pub connection: Arc<LiveConnection>,
    pub auth: Arc<OnceLock<Auth>>,
}

const ONLY_SUBSCRIPTIONS: &str = "only subscriptions run over the WebSocket; send queries and mutations over HTTP (POST /graphql)";

impl Executor for Operations {
    async fn execute(&self, _request: Request) -> Response {
        Response::from_errors(vec![coded(Code::BadUserInput, ONLY_SUBSCRIPTIONS)])
    }

    fn execute_stream(
        &self,
        request: Request,
        _session: Option<Arc<Data>>,
    ) -> BoxStream<'static, Response> {
        let this = self.clone();
        futures::stream::once(async move {
            let pipeline = &this.state.pipeline;
            let prepared = match pipeline.prepare(request).await {
                Ok(p) => p,
                Err(refused) => return refusal(refused.errors),
            };
            if prepared.kind != OperationType::Subscription {
                return refusal(vec![coded(Code::BadUserInput, ONLY_SUBSCRIPTIONS)]);
            }
            let auth = this.auth.get().cloned().unwrap_or(Auth::Anonymous);
            let gate = DbGate::new(this.state.settings.db_max_connections_per_request);
            pipeline.subscribe(prepared, &auth, gate, this.connection.clone())
        })
        .flatten()
        .boxed()
    }
}

/// The caller named by a `connection_init` payload: `Authorization` (any
/// case) at its top level, or under `headers`.
pub fn auth_of_payload(payload: &Value, jwt: &Jwt) -> Auth {
    let find = |object: &serde_json::Map<String, Value>| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
    };
    let found = payload.as_object().and_then(|o| {
        find(o).or_else(|| o.get("headers").and_then(Value::as_object).and_then(find))
    });
    match found {
        None | Some(Value::Null) => Auth::Anonymous,
        Some(Value::String(value)) => Auth::from_authorization(&value, jwt),
        Some(_) => Auth::Invalid(
            "`Authorization` in connection_init must be a string `Bearer <token>`".into(),
        ),
    }
}
