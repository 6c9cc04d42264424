//! The clients frontend developers use, run against the live server from
//! `tests/js` (Node.js; `npm ci --prefix tests/js` installs the pinned
//! packages): graphql-http's GraphQL-over-HTTP audits, Apollo Client with
//! persisted queries, and the playground in headless Chromium with no
//! internet. `.ci/run` installs what they need and runs them.

use std::path::PathBuf;
use std::process::Command;

use api::auth::Role;

use crate::helpers::{spawn_app, spawn_app_with, token};

fn js_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("js")
}

/// Runs `node <script> <args>` in `tests/js` off the runtime's thread (the
/// server keeps serving); returns whether it succeeded, and what it printed.
async fn node(script: &str, args: Vec<String>) -> (bool, String) {
    let dir = js_dir();
    assert!(
        dir.join("node_modules").is_dir(),
        "the client checks need their packages: npm ci --prefix tests/js"
    );
    let script = script.to_owned();
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .arg(&script)
            .args(&args)
            .current_dir(&dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs (install Node.js)");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    (output.status.success(), text)
}

#[tokio::test]
#[ignore = "needs Node.js and tests/js's packages (npm ci --prefix tests/js)"]
async fn every_graphql_over_http_audit_passes() {
    let app = spawn_app().await;
    let (ok, out) = node("audit.mjs", vec![format!("{}/graphql", app.address)]).await;
    assert!(ok, "{out}");
    assert!(out.contains(r#"{"audits":61,"ok":61}"#), "{out}");
}

#[tokio::test]
#[ignore = "needs Node.js and tests/js's packages (npm ci --prefix tests/js)"]
async fn apollo_client_with_persisted_queries_works_as_a_frontend_uses_it() {
    let app = spawn_app_with(|s| s.http.cors_allowed_origins = Some("*".into())).await;
    app.seed_customers(3).await;
    let (ok, out) = node(
        "apollo.mjs",
        vec![format!("{}/graphql", app.address), token(Role::Writer)],
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("all Apollo Client checks passed"), "{out}");
}

#[tokio::test]
#[ignore = "needs Node.js and tests/js's packages (npm ci --prefix tests/js)"]
async fn graphql_ws_and_apollo_clients_receive_subscription_events() {
    let app = spawn_app().await;
    let ids = app.seed_customers(2).await;
    let (ok, out) = node(
        "subscriptions.mjs",
        vec![
            format!("{}/graphql", app.address),
            token(Role::Writer),
            ids[1].to_string(),
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(
        out.contains("all subscription client checks passed"),
        "{out}"
    );
}

#[tokio::test]
#[ignore = "needs Chromium (/usr/bin/chromium), Node.js and tests/js's packages"]
async fn the_playground_works_in_chromium_without_internet() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    let chromium = std::env::var("CHROMIUM").unwrap_or_else(|_| "/usr/bin/chromium".into());
    let (ok, out) = node(
        "playground.mjs",
        vec![
            app.address.clone(),
            chromium,
            token(Role::Writer),
            ids[1].to_string(),
        ],
    )
    .await;
    assert!(ok, "{out}");
    assert!(out.contains("all playground checks passed"), "{out}");
}

#[tokio::test]
#[ignore = "needs Node.js and tests/js's packages (npm ci --prefix tests/js)"]
async fn codegen_with_the_readme_configuration_types_every_scalar() {
    let app = spawn_app().await;
    let out = crate::helpers::temp_path("codegen", "ts");
    let dir = js_dir();
    let env = [
        ("SCHEMA_URL", format!("{}/graphql", app.address)),
        ("DOCUMENTS", "../graphql/operations.graphql".to_owned()),
        ("OUTPUT", out.display().to_string()),
    ];
    let output = tokio::task::spawn_blocking(move || {
        Command::new("node")
            .args([
                "node_modules/@graphql-codegen/cli/cjs/bin.js",
                "--config",
                "codegen.yml",
            ])
            .envs(env)
            .current_dir(dir)
            .output()
    })
    .await
    .expect("join")
    .expect("node runs");
    assert!(
        output.status.success(),
        "{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    let types = std::fs::read_to_string(&out).expect("generated types");
    let _ = std::fs::remove_file(&out);
    assert!(
        types.contains("Decimal: { input: string; output: string; }"),
        "{types}"
    );
    assert!(
        types.contains("DateTime: { input: string; output: string; }"),
        "{types}"
    );
    // The schema's descriptions reach the generated code.
    assert!(types.contains("A customer of the shop"), "{types}");
    assert!(types.contains("export type OrderStatus ="), "{types}");
}
