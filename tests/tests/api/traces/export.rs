//! What an instance exports for a request, a continued trace, and a
//! collector that is down.

use serde_json::json;

use super::{Collector, attribute, hex, post_traced};
use crate::helpers::{TestApp, data, spawn_app_with, writer};

const PAGE: &str = "query Page { customers(first: 3) { nodes { id email orders(first: 2) { nodes { id total } } } } }";

/// SERVER and INTERNAL and CLIENT in OTLP's `Span.kind`.
const SERVER: i32 = 2;
const CLIENT: i32 = 3;

async fn traced_app(
    collector: &Collector,
    configure: impl FnOnce(&mut api::settings::Settings),
) -> TestApp {
    let endpoint = collector.url.clone();
    spawn_app_with(move |s| {
        s.traces.endpoint = Some(endpoint);
        configure(s);
    })
    .await
}

async fn seed(app: &TestApp) {
    let ids = app.seed_customers(3).await;
    for id in ids {
        app.seed_order(id, 1234, "2025-01-01T00:00:00Z").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_page_of_customers_is_one_request_one_operation_and_its_statements() {
    let collector = Collector::start().await;
    let app = traced_app(&collector, |_| {}).await;
    seed(&app).await;
    let trace_id = "4bf92f3577b34da6a3ce929d0e0e4736";
    let caller_span = "00f067aa0ba902b7";
    let resp = post_traced(
        &app,
        json!({}),
        PAGE,
        &format!("00-{trace_id}-{caller_span}-01"),
    )
    .await;
    assert_eq!(
        data(&resp)["customers"]["nodes"].as_array().map(Vec::len),
        Some(3)
    );

    let spans = collector.trace(trace_id, 3).await;
    let servers: Vec<_> = spans.iter().filter(|s| s.kind == SERVER).collect();
    assert_eq!(servers.len(), 1, "{spans:#?}");
    let server = servers[0];
    // The caller's span is its parent: the trace continues.
    assert_eq!(hex(&server.parent_span_id), caller_span);
    assert_eq!(server.name, "POST /graphql");
    assert_eq!(
        attribute(server, "http.request.method").as_deref(),
        Some("POST")
    );
    assert_eq!(attribute(server, "http.route").as_deref(), Some("/graphql"));
    assert_eq!(attribute(server, "url.path").as_deref(), Some("/graphql"));
    assert_eq!(
        attribute(server, "http.response.status_code").as_deref(),
        Some("200")
    );

    let operations: Vec<_> = spans
        .iter()
        .filter(|s| attribute(s, "graphql.operation.type").is_some())
        .collect();
    assert_eq!(operations.len(), 1, "{spans:#?}");
    let operation = operations[0];
    assert_eq!(operation.name, "query Page");
    assert_eq!(operation.parent_span_id, server.span_id);
    assert_eq!(
        attribute(operation, "graphql.operation.name").as_deref(),
        Some("Page")
    );
    assert_eq!(
        attribute(operation, "graphql.document.hash"),
        Some(api::graphql::engine::persisted::sha256_hex(PAGE))
    );

    // The checks (parse, validation, cost) before it ran, under it.
    let checks: Vec<_> = spans.iter().filter(|s| s.name == "graphql.check").collect();
    assert_eq!(checks.len(), 1, "{spans:#?}");
    assert_eq!(checks[0].parent_span_id, operation.span_id);
    let cost: u64 = attribute(checks[0], "graphql.cost")
        .and_then(|c| c.parse().ok())
        .expect("the operation's cost");
    assert!(cost > 0);

    // The customers' orders in one loader batch, under the operation.
    let batches: Vec<_> = spans
        .iter()
        .filter(|s| attribute(s, "graphql.loader.name").is_some())
        .collect();
    assert_eq!(batches.len(), 1, "{spans:#?}");
    let batch = batches[0];
    assert_eq!(batch.name, "load orders of customers");
    assert_eq!(batch.parent_span_id, operation.span_id);
    assert_eq!(
        attribute(batch, "graphql.loader.keys").as_deref(),
        Some("3")
    );
    assert_eq!(
        attribute(batch, "graphql.loader.results").as_deref(),
        Some("3")
    );

    // The page under the operation, the batch's statement under the batch:
    // each a client span with its text and no values.
    let statements: Vec<_> = spans.iter().filter(|s| s.kind == CLIENT).collect();
    let shape: Vec<_> = spans
        .iter()
        .map(|s| {
            (
                s.name.clone(),
                s.kind,
                hex(&s.span_id),
                hex(&s.parent_span_id),
            )
        })
        .collect();
    assert!(statements.len() >= 2, "{shape:#?}");
    for statement in &statements {
        assert!(
            statement.parent_span_id == operation.span_id
                || statement.parent_span_id == batch.span_id,
            "{statement:#?}"
        );
        assert_eq!(
            attribute(statement, "db.operation.name").as_deref(),
            Some("SELECT")
        );
        let text = attribute(statement, "db.query.text").expect("the statement's text");
        assert!(text.contains("FROM"), "{text}");
        let system = attribute(statement, "db.system.name").expect("the system");
        assert!(system == "postgresql" || system == "sqlite", "{system}");
        assert_eq!(
            attribute(statement, "db.server.role").as_deref(),
            Some("primary")
        );
        // The database's host, never the URL (user, password).
        let address = attribute(statement, "server.address");
        if system == "postgresql" {
            let host = address.expect("the server's address");
            assert!(
                !host.is_empty() && !host.contains('@') && !host.contains(':'),
                "{host}"
            );
        } else {
            assert_eq!(address, None);
        }
    }
    assert!(
        statements.iter().any(|s| s.parent_span_id == batch.span_id
            && attribute(s, "db.query.text").is_some_and(|t| t.contains("orders"))),
        "the batch's statement is under it"
    );
    assert!(
        statements
            .iter()
            .any(|s| s.parent_span_id == operation.span_id)
    );

    // Nothing secret anywhere: no token, no email, no variable.
    let token = writer();
    for span in collector.all() {
        for kv in &span.attributes {
            let value = format!("{:?}", kv.value);
            assert!(!value.contains("@example.com"), "{}: {value}", kv.key);
            assert!(!value.contains(&token[..20]), "{}: {value}", kv.key);
            assert_ne!(kv.key, "url.query");
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callers_sampling_decision_is_honoured_only_when_trusted() {
    let collector = Collector::start().await;
    // The default trust (id-only): the caller said "not sampled", the
    // server's sampler (everything) decides; the trace id is kept.
    let app = traced_app(&collector, |_| {}).await;
    let kept = "11111111111111111111111111111111";
    data(
        &post_traced(
            &app,
            json!({}),
            "{ customers(first: 1) { nodes { id } } }",
            &format!("00-{kept}-2222222222222222-00"),
        )
        .await,
    );
    let spans = collector.trace(kept, 2).await;
    assert!(spans.iter().any(|s| s.kind == SERVER));

    // Trusted: the caller's "not sampled" holds, and nothing is exported.
    let trusting = traced_app(&collector, |s| {
        s.traces.trust = api::settings::TraceContextTrust::Sampled;
    })
    .await;
    let dropped = "33333333333333333333333333333333";
    data(
        &post_traced(
            &trusting,
            json!({}),
            "{ customers(first: 1) { nodes { id } } }",
            &format!("00-{dropped}-4444444444444444-00"),
        )
        .await,
    );
    // ... while a sampled caller is traced (and shows the export works).
    let sampled = "55555555555555555555555555555555";
    data(
        &post_traced(
            &trusting,
            json!({}),
            "{ customers(first: 1) { nodes { id } } }",
            &format!("00-{sampled}-6666666666666666-01"),
        )
        .await,
    );
    collector.trace(sampled, 2).await;
    assert!(collector.spans_of(dropped).is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_operation_refused_by_its_checks_has_its_span_with_the_code() {
    let collector = Collector::start().await;
    let app = traced_app(&collector, |_| {}).await;
    let trace_id = "77777777777777777777777777777777";
    let resp = post_traced(
        &app,
        json!({}),
        "{ customers(first: 1) { nodes { id } }",
        &format!("00-{trace_id}-8888888888888888-01"),
    )
    .await;
    let code = resp["errors"][0]["extensions"]["code"]
        .as_str()
        .expect("a code")
        .to_owned();
    let spans = collector.trace(trace_id, 3).await;
    let operation = spans
        .iter()
        .find(|s| s.name == "graphql")
        .expect("the operation's span");
    assert_eq!(
        attribute(operation, "graphql.error.code").as_deref(),
        Some(code.as_str())
    );
    let check = spans
        .iter()
        .find(|s| s.name == "graphql.check")
        .expect("the checks' span");
    assert_eq!(check.parent_span_id, operation.span_id);
    assert_eq!(attribute(check, "graphql.error.code"), Some(code));
    assert!(spans.iter().all(|s| s.kind != CLIENT), "no statement ran");
}
