//! Statement spans say which server ran them: the writer's read of its
//! write on the primary, anyone else's on the replica.

use super::*;

use crate::traces::{Collector, attribute};

/// Reads customer `id`'s name as part of trace `trace_id`.
async fn read_in_trace(app: &Instance, id: &str, token: Option<&str>, trace_id: &str) -> String {
    let mut request = app
        .client
        .post(format!("{}/graphql", app.address))
        .header("traceparent", format!("00-{trace_id}-00f067aa0ba902b7-01"))
        .json(&json!({
            "query": "query($id: ID!) { customer(id: $id) { name } }",
            "variables": { "id": id },
        }));
    if let Some(t) = token {
        request = request.bearer_auth(t);
    }
    let resp: Value = request
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("JSON");
    data(&resp)["customer"]["name"]
        .as_str()
        .expect("a name")
        .to_owned()
}

/// The `db.server.role` and `server.address` of trace `trace_id`'s reads
/// of customers (not of the replica's position).
async fn statements_of(collector: &Collector, trace_id: &str) -> Vec<(String, String)> {
    collector
        .trace(trace_id, 3)
        .await
        .iter()
        .filter(|s| attribute(s, "db.query.text").is_some_and(|t| t.contains("FROM customers")))
        .map(|s| {
            (
                attribute(s, "db.server.role").unwrap_or_default(),
                attribute(s, "server.address").unwrap_or_default(),
            )
        })
        .collect()
}

#[tokio::test]
#[ignore = "needs PostgreSQL's server binaries (initdb, pg_basebackup) and the postgres OS user"]
async fn statement_spans_name_the_server_that_ran_them() {
    let collector = Collector::start().await;
    let (_cluster, mut settings) = replicated(None).await;
    settings.traces.endpoint = Some(collector.url.clone());
    // Every read reaches a database.
    settings.cache.disabled = true;
    let app = Instance::start(settings).await;
    let id = customer(&app, "Before").await;
    app.rename(&id, "After").await;

    let mine = "5bf92f3577b34da6a3ce929d0e0e4736";
    assert_eq!(
        read_in_trace(&app, &id, Some(&writer()), mine).await,
        "After"
    );
    let theirs = "6bf92f3577b34da6a3ce929d0e0e4736";
    assert_eq!(read_in_trace(&app, &id, None, theirs).await, "Before");

    // (The writer's read also asks the replica how far it is: a statement
    // of its own, on the replica.)
    let on_primary = statements_of(&collector, mine).await;
    assert!(!on_primary.is_empty());
    for (role, address) in &on_primary {
        assert_eq!((role.as_str(), address.as_str()), ("primary", "127.0.0.1"));
    }
    let on_replica = statements_of(&collector, theirs).await;
    assert!(!on_replica.is_empty());
    for (role, address) in &on_replica {
        assert_eq!((role.as_str(), address.as_str()), ("replica", "127.0.0.1"));
    }
}
