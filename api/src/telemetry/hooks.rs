//! What the service layer tells the traces: its SQL statements (with the
//! server that ran each), cache calls and event publications, each turned
//! into a span of the current trace.

use std::sync::Arc;

use opentelemetry::KeyValue;
use opentelemetry::trace::SpanKind;

use super::traces::Traces;

impl Traces {
    /// What the service layer tells of its cache calls and event
    /// publications: spans of the current trace.
    pub fn span_hook(self: &Arc<Self>) -> service::spans::SpanHook {
        use service::spans::{Kind, Value};
        let traces = Arc::downgrade(self);
        let asked = traces.clone();
        let wanted = Arc::new(move || asked.upgrade().is_some_and(|t| t.recording()));
        let done = Arc::new(move |done: service::spans::Done| {
            let Some(traces) = traces.upgrade() else {
                return;
            };
            let kind = match done.kind {
                Kind::Internal => SpanKind::Internal,
                Kind::Client => SpanKind::Client,
                Kind::Producer => SpanKind::Producer,
            };
            let attributes = done
                .attributes
                .into_iter()
                .map(|(key, value)| match value {
                    Value::Str(s) => KeyValue::new(key, s),
                    Value::Int(i) => KeyValue::new(key, i),
                    Value::Bool(b) => KeyValue::new(key, b),
                })
                .collect();
            traces.finished(done.name, kind, (done.elapsed, done.error), attributes);
        });
        service::spans::SpanHook { wanted, done }
    }

    /// What the statement counter tells of each statement: a span of the
    /// current trace with the statement's text (placeholders, no values),
    /// the server it ran on (`primary_url`'s, or the replica's).
    pub fn statement_hook(
        self: &Arc<Self>,
        primary_url: &str,
        replica_url: Option<&str>,
    ) -> service::db::StatementHook {
        let system = if primary_url.starts_with("postgres") {
            "postgresql"
        } else {
            "sqlite"
        };
        let primary = server_address(primary_url);
        let replica = replica_url.map(server_address).unwrap_or_default();
        let traces = Arc::downgrade(self);
        service::db::StatementHook(Arc::new(move |ran: service::db::Ran<'_>| {
            let Some(traces) = traces.upgrade().filter(|t| t.recording()) else {
                return;
            };
            let operation = ran
                .sql
                .split_whitespace()
                .next()
                .unwrap_or_default()
                .to_ascii_uppercase();
            let (role, address) = if ran.on_replica {
                ("replica", &replica)
            } else {
                ("primary", &primary)
            };
            let mut attributes = vec![
                KeyValue::new("db.system.name", system),
                KeyValue::new("db.operation.name", operation.clone()),
                KeyValue::new("db.query.text", ran.sql.to_owned()),
                KeyValue::new("db.server.role", role),
            ];
            if !address.is_empty() {
                attributes.push(KeyValue::new("server.address", address.clone()));
            }
            let error = ran.failed.then_some("the statement failed");
            traces.finished(
                operation,
                SpanKind::Client,
                (ran.elapsed, error),
                attributes,
            );
        }))
    }
}

/// The host of a database URL (`server.address`), never its user or
/// password; empty for SQLite and a socket directory.
fn server_address(url: &str) -> String {
    url::Url::parse(url)
        .ok()
        .filter(|u| u.scheme().starts_with("postgres"))
        .and_then(|u| u.host_str().map(|h| h.trim_matches(['[', ']']).to_owned()))
        .unwrap_or_default()
}
