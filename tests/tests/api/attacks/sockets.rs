//! Hostile connections and inputs: idle and slow sockets, file limits, tokens, NUL bytes, secrets in help and errors.

use super::*;

#[tokio::test]
async fn idle_sockets_past_the_cap_cannot_keep_clients_out() {
    let app = spawn_app_with(|s| s.http.max_connections = 20).await;
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
    let app = spawn_app_with(|s| s.http.header_timeout_secs = 1).await;
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
    let mut settings = api::settings::Settings::default();
    settings.database.url = Some("postgres://user:hunter2secret@[bad/db".into());
    settings.http.listen_addr = "127.0.0.1:0".into();
    settings.auth.jwt_secret = Some("x".into());
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
