//! Without the setting: the pooler found and said; migrations refused.

use super::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn without_the_setting_the_server_finds_the_pooler_says_so_and_still_answers() {
    let bouncer = PgBouncer::start(2).await;
    let app = spawn_behind(&bouncer, DatabasePooler::None, |_| {}).await;
    let (code, body) = app.readiness().await;
    assert_eq!(code, 200, "{body}");
    assert_eq!(body["status"], "degraded", "{body}");
    let said = body["pooler"].as_str().expect("what it found");
    assert!(said.contains("DATABASE_POOLER=transaction"), "{said}");
    assert!(app.store().db.is_behind_pooler());

    // Requests from many clients at once keep working.
    let ids = app.seed_customers(5).await;
    let client = reqwest::Client::new();
    let asks = ids.iter().cycle().take(40).map(|id| {
        let (client, address) = (client.clone(), app.address.clone());
        let body = json!({ "query": LOOKUP, "variables": { "id": id.to_string() } });
        async move { post_graphql(&client, &address, &body, None).await }
    });
    for resp in futures::future::join_all(asks).await {
        data(&resp);
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs PostgreSQL (DATABASE_URL) and pgbouncer"]
async fn through_the_pooler_migrations_are_refused_with_the_direct_way_named() {
    let bouncer = PgBouncer::start(2).await;
    let db = TestDb::create().await;
    let (mut settings, _) = test_settings(&db);
    settings.database.url = Some(bouncer.url(&database_name(&db.url)));
    settings.database.pooler = DatabasePooler::Transaction;
    let refused = api::startup::Application::build(
        settings,
        api::startup::BuildOptions {
            migrate: true,
            record_sql: false,
        },
    )
    .await
    .err()
    .expect("refused to start with migrations pending");
    let message = format!("{refused:#}");
    assert!(message.contains("api migrate up"), "{message}");
    assert!(
        message.contains("DATABASE_URL set to PostgreSQL itself"),
        "{message}"
    );
    // Nothing of the schema was applied.
    let sql = "SELECT to_regclass('customers') IS NULL AS absent";
    let row = row_at(&db.url, sql, vec![]).await;
    assert!(row.try_get::<bool>("", "absent").expect("absent"));
}
