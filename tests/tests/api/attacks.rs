//! Hostile traffic: each attack that once exhausted the server, kept as a
//! test. Refusals are checked for their code and for doing no database
//! work; the times they take are the attack soak's business (`bench`).

use std::time::Duration;

use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::helpers::{data, error_code, error_message, spawn_app, spawn_app_with};

/// `query { ...F0 }` where each fragment spreads the next twice: 2^levels
/// selections once expanded, in about 40 bytes per level.
fn fragment_bomb(levels: usize) -> String {
    let mut doc = String::from("query { ...F0 }");
    for i in 0..levels {
        doc.push_str(&format!(
            " fragment F{i} on Query {{ ...F{} ...F{} }}",
            i + 1,
            i + 1
        ));
    }
    doc.push_str(&format!(" fragment F{levels} on Query {{ __typename }}"));
    doc
}

#[tokio::test]
async fn a_fragment_bomb_is_counted_without_being_expanded_and_refused() {
    let app = spawn_app().await;
    let bomb = fragment_bomb(30);
    assert!(bomb.len() < 1_300, "{} bytes", bomb.len());
    let before = app.statements();
    let resp = app.query(&bomb, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    // The count is exact (2^30), so it was computed per fragment, not by
    // expanding a billion selections.
    assert!(error_message(&resp).contains("1073741824"), "{resp}");
    assert!(resp.get("data").is_none());
    assert_eq!(app.statements(), before, "no database work");
    // Small expansions are fine.
    assert_eq!(
        data(&app.query(&fragment_bomb(5), json!({})).await)["__typename"],
        "Query"
    );
}

#[tokio::test]
async fn fragment_cycles_and_deep_nesting_are_refused_before_parsing_work_grows() {
    let app = spawn_app().await;
    let resp = app
        .query(
            "query { ...A } fragment A on Query { ...B } fragment B on Query { ...A }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT");
    let deep = format!("{{{}{}", "a{".repeat(10_000), "}".repeat(10_001));
    let resp = app.query(&deep, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert!(error_message(&resp).contains("nests"), "{resp}");
}

#[tokio::test]
async fn the_document_is_capped_in_bytes_and_tokens_but_variables_are_not() {
    let app = spawn_app_with(|s| {
        s.graphql_max_document_bytes = 2_000;
        s.graphql_max_tokens = 100;
    })
    .await;
    let big = format!("{{ __typename {} }}", "# padding\n".repeat(300));
    let resp = app.query(&big, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert!(error_message(&resp).contains("bytes"), "{resp}");
    let many = format!(
        "{{ {} }}",
        (0..60)
            .map(|i| format!("a{i}: __typename"))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let resp = app.query(&many, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    assert!(error_message(&resp).contains("tokens"), "{resp}");
    // A bulk input travels in variables, whatever its size.
    let ids = app.seed_customers(1).await;
    let rows: Vec<Value> = (0..2_000)
        .map(|_| json!({ "customerId": ids[0].to_string(), "total": "1.00" }))
        .collect();
    let resp = app
        .mutate(
            "mutation($rows: [CreateOrderInput!]!) { createOrders(input: $rows) { id } }",
            json!({ "rows": rows }),
        )
        .await;
    assert_eq!(
        data(&resp)["createOrders"].as_array().map(Vec::len),
        Some(2_000)
    );
}

/// One operation of the amplification batch: rankings of 100, each with
/// 49 orders, each with their customer's 49 orders.
const AMPLIFIER: &str = "{a: topCustomers(limit:100,minOrders:0){customer{orders(first:49){nodes{customer{orders(first:49){nodes{id}}}}}}}}";

#[tokio::test]
async fn lists_are_priced_by_their_size_and_a_batch_shares_one_budget() {
    let app = spawn_app().await;
    app.seed_customers(3).await;
    let before = app.statements();
    // One amplifier alone is over the budget: `limit` multiplies too.
    let resp = app.query(AMPLIFIER, json!({})).await;
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX");
    // Sixteen operations each under the budget, together over it.
    let each = "{ customers(first: 100) { nodes { orders(first: 100) { nodes { id total } } } } }";
    let alone = app.query(each, json!({})).await;
    data(&alone);
    let batch: Vec<Value> = (0..16).map(|_| json!({ "query": each })).collect();
    let resp: Value = app
        .client
        .post(format!("{}/graphql", app.address))
        .json(&batch)
        .send()
        .await
        .expect("batch")
        .json()
        .await
        .expect("JSON");
    assert_eq!(error_code(&resp), "QUERY_TOO_COMPLEX", "{resp}");
    assert!(error_message(&resp).contains("at most 150000"), "{resp}");
    // Refused before any database work (the single `each` above ran 2).
    assert_eq!(app.statements() - before, 2);
}

#[tokio::test]
async fn a_response_past_its_cap_is_replaced_by_one_error() {
    let app = spawn_app_with(|s| s.max_response_bytes = 2_000).await;
    app.seed_customers(40).await;
    let resp = app
        .query(
            "{ customers(first: 40) { nodes { id name email createdAt } } }",
            json!({}),
        )
        .await;
    assert_eq!(error_code(&resp), "RESPONSE_TOO_LARGE");
    assert!(resp["data"].is_null());
    assert!(error_message(&resp).contains("2000"), "{resp}");
    // Under the cap, the same query answers.
    data(
        &app.query("{ customers(first: 5) { nodes { id } } }", json!({}))
            .await,
    );
}

#[tokio::test]
async fn statements_of_their_own_cost_more_than_values() {
    let app = spawn_app_with(|s| s.graphql_max_complexity = 5_000).await;
    let ranking = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!(
                "r{i}: topCustomers(limit: 1, minOrders: {}) {{ totalSpent }}",
                i + 1
            ))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let resp = app.query(&ranking, json!({})).await;
    assert_eq!(
        error_code(&resp),
        "QUERY_TOO_COMPLEX",
        "40 rankings: {resp}"
    );
    let lookups = format!(
        "{{ {} }}",
        (0..40)
            .map(|i| format!("c{i}: customer(id: \"{}\") {{ name }}", i + 1))
            .collect::<Vec<_>>()
            .join(" ")
    );
    data(&app.query(&lookups, json!({})).await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_holds_at_most_its_share_of_the_pool() {
    let app = spawn_app_with(|s| {
        s.db_max_connections = 8;
        s.db_max_connections_per_request = 2;
        s.cache_disabled = true;
    })
    .await;
    let ids = app.seed_customers(5).await;
    for id in &ids {
        app.seed_order(*id, 100, "2026-01-01T00:00:00Z").await;
    }
    // Eight root fields, each a statement of its own, resolved concurrently.
    let many = format!(
        "{{ {} }}",
        (0..8)
            .map(|i| format!("r{i}: topCustomers(limit: 3, minOrders: {}) {{ totalSpent }} o{i}: orders(first: 3, filter: {{ minTotal: \"0.0{i}\" }}) {{ totalCount }}", i % 2))
            .collect::<Vec<_>>()
            .join(" ")
    );
    let since = std::time::Instant::now();
    data(&app.query(&many, json!({})).await);
    // Each running statement holds a connection of its own.
    let peak = app.state.statements.peak_concurrency(since);
    assert!(
        (1..=2).contains(&peak),
        "peak {peak} statements at once for one request"
    );
}

#[tokio::test]
async fn idle_sockets_past_the_cap_cannot_keep_clients_out() {
    let app = spawn_app_with(|s| s.http_max_connections = 20).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    let mut idle = Vec::new();
    for _ in 0..30 {
        idle.push(TcpStream::connect(&addr).await.expect("connect"));
    }
    // Let the server accept them all.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()
        .expect("client");
    for _ in 0..5 {
        let resp = client
            .get(format!("{}/healthz", app.address))
            .send()
            .await
            .expect("/healthz answers past the cap");
        assert_eq!(resp.status(), 200);
    }
    // The oldest idle sockets were closed for them.
    let mut closed = 0;
    for mut s in idle {
        let mut buf = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(50), s.read(&mut buf)).await {
            closed += 1;
        }
    }
    assert!(closed >= 10, "{closed} idle sockets closed");
}

#[tokio::test]
async fn slow_headers_and_idle_keep_alives_are_closed_after_the_header_timeout() {
    let app = spawn_app_with(|s| s.http_header_timeout_secs = 1).await;
    let addr = app.address.trim_start_matches("http://").to_owned();
    // Headers that never finish.
    let mut slow = TcpStream::connect(&addr).await.expect("connect");
    slow.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n")
        .await
        .expect("write");
    // A keep-alive connection after its first answer.
    let mut idle = TcpStream::connect(&addr).await.expect("connect");
    idle.write_all(b"GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .expect("write");
    let mut buf = vec![0u8; 4096];
    let n = idle.read(&mut buf).await.expect("answer");
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    for (name, mut s) in [("slow headers", slow), ("idle keep-alive", idle)] {
        let closed = tokio::time::timeout(Duration::from_secs(5), async {
            loop {
                match s.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
            }
        })
        .await;
        assert!(closed.is_ok(), "{name}: still open after 5 s");
    }
}

#[test]
fn the_open_file_limit_is_raised_to_the_hard_limit() {
    let raised = api::server::raise_open_file_limit().expect("raised");
    let (soft, hard) = rlimit::Resource::NOFILE.get().expect("limits");
    assert_eq!(soft, hard);
    assert_eq!(raised, soft);
}

#[tokio::test]
async fn tokens_not_yet_valid_or_issued_in_the_future_are_refused() {
    use jsonwebtoken::{EncodingKey, Header, encode};
    let app = spawn_app().await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("clock")
        .as_secs();
    let key = EncodingKey::from_secret(crate::helpers::JWT_SECRET.as_bytes());
    let mutation = "mutation { createCustomer(input: { name: \"Early\", email: \"early@example.com\" }) { id } }";
    for (claims, why) in [
        (
            json!({ "sub": "x", "role": "writer", "exp": now + 3600, "nbf": now + 600 }),
            "not valid yet",
        ),
        (
            json!({ "sub": "x", "role": "writer", "exp": now + 3600, "iat": now + 600 }),
            "issued in the future",
        ),
    ] {
        let token = encode(&Header::default(), &claims, &key).expect("token");
        let resp = app.graphql(mutation, json!({}), Some(&token)).await;
        assert_eq!(error_code(&resp), "UNAUTHENTICATED", "{why}");
        assert!(
            error_message(&resp).contains(if why == "not valid yet" { "nbf" } else { "iat" }),
            "{resp}"
        );
    }
    // Within the leeway, and in the past, they are fine.
    let claims =
        json!({ "sub": "x", "role": "writer", "exp": now + 3600, "nbf": now + 5, "iat": now - 10 });
    let token = encode(&Header::default(), &claims, &key).expect("token");
    data(&app.graphql(mutation, json!({}), Some(&token)).await);
    assert_eq!(app.count_rows("customers").await, 1);
}

#[tokio::test]
async fn nul_bytes_ancient_cursors_and_invisible_names_are_bad_input() {
    let app = spawn_app().await;
    for (query, vars) in [
        (
            "query($t: String) { customers(filter: { nameContains: $t }) { totalCount } }",
            json!({ "t": "a\u{0}b" }),
        ),
        (
            "query($t: String) { customers(filter: { email: $t }) { totalCount } }",
            json!({ "t": "a\u{0}@b.com" }),
        ),
    ] {
        let resp = app.query(query, vars).await;
        assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
    }
    // A forged cursor for an instant before 4713 BC (PostgreSQL's first day).
    use base64::Engine as _;
    let forged = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(format!("o:{}:1", -210_000_000_000_000_000i64));
    let resp = app
        .query(
            "query($c: String) { orders(first: 1, after: $c) { totalCount } }",
            json!({ "c": forged }),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
    let resp = app
        .mutate(
            "mutation($n: String!) { createCustomer(input: { name: $n, email: \"zw@example.com\" }) { id } }",
            json!({ "n": "\u{200B}\u{200D}\u{202E}" }),
        )
        .await;
    assert_eq!(error_code(&resp), "BAD_USER_INPUT", "{resp}");
    assert_eq!(app.count_rows("customers").await, 0);
}

#[test]
fn help_never_shows_the_values_of_urls_or_secrets() {
    use clap::CommandFactory;
    let cmd = api::cli::Cli::command();
    for arg in cmd.get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
            continue;
        };
        if env.ends_with("_URL") || env.contains("SECRET") {
            assert!(
                arg.is_hide_env_values_set(),
                "{env} would be printed by --help"
            );
        }
    }
}

#[tokio::test]
async fn a_malformed_database_url_never_shows_its_password() {
    let mut settings = api::settings::Settings {
        database_url: Some("postgres://user:hunter2secret@[bad/db".into()),
        listen_addr: "127.0.0.1:0".into(),
        ..Default::default()
    };
    settings.jwt_secret = Some("x".into());
    let err = api::startup::Application::build(
        settings,
        api::startup::BuildOptions {
            migrate: false,
            record_sql: false,
        },
    )
    .await
    .err()
    .expect("refused");
    let chain = format!("{err:#} {err:?}");
    assert!(!chain.contains("hunter2secret"), "{chain}");
    assert!(chain.contains("***"), "{chain}");
}
