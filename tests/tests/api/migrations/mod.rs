//! Migrations: down then up round-trips on the backend under test.

use migration::{Migrator, MigratorTrait};
use sea_orm::{ConnectionTrait, Statement};

use crate::helpers::TestDb;

mod catalog;

use catalog::{has_column, index_definition, orders_triggers, rollup_months, stats_rows};

const CUSTOMER_ORDERS_INDEX: &str = "idx_orders_customer_created_id";

#[tokio::test]
async fn every_migration_rolls_back_and_reapplies() {
    let test_db = TestDb::create().await;
    let db = sea_orm::Database::connect(test_db.url.as_str())
        .await
        .expect("connect");
    let backend = test_db.backend;

    // Up to the aggregates' migration, with data, then that one: it backfills.
    Migrator::up(&db, Some(3)).await.expect("up 3");
    for sql in [
        "INSERT INTO customers (name, email, created_at) VALUES ('A', 'a@example.com', '2025-01-01T00:00:00+00:00')",
        "INSERT INTO customers (name, email, created_at) VALUES ('B', 'b@example.com', '2025-01-01T00:00:00+00:00')",
        "INSERT INTO orders (customer_id, total_cents, status, created_at) VALUES (1, 150, 'PAID', '2025-01-02T00:00:00+00:00')",
        "INSERT INTO orders (customer_id, total_cents, status, created_at) VALUES (1, 250, 'PAID', '2025-01-03T00:00:00+00:00')",
    ] {
        db.execute_raw(Statement::from_string(backend, sql.to_owned()))
            .await
            .expect("insert");
    }
    Migrator::up(&db, None).await.expect("up");
    assert_eq!(stats_rows(&db, backend).await, vec![(1, 2, 400), (2, 0, 0)]);
    // From now on the triggers keep them.
    db.execute_raw(Statement::from_string(
        backend,
        "UPDATE orders SET total_cents = 50 WHERE total_cents = 250".to_owned(),
    ))
    .await
    .expect("update");
    assert_eq!(stats_rows(&db, backend).await, vec![(1, 2, 200), (2, 0, 0)]);
    let status = Migrator::get_migration_with_status(&db)
        .await
        .expect("status");
    assert_eq!(status.len(), 9);
    assert!(
        status
            .iter()
            .all(|m| m.status() == migration::MigrationStatus::Applied)
    );
    assert!(has_column(&db, backend, "customers", "phone").await);

    // Down one: the rollups' time-of-day index goes (PostgreSQL; SQLite
    // has none).
    let by_time_of_day = index_definition(&db, backend, "order_rollups_time_of_day").await;
    if backend == sea_orm::DbBackend::Postgres {
        let def = by_time_of_day.expect("the time-of-day index on PostgreSQL");
        assert!(def.contains("order_rollup_time_of_day(bucket)"), "{def}");
    } else {
        assert!(by_time_of_day.is_none());
    }
    Migrator::down(&db, Some(1))
        .await
        .expect("down the time-of-day index");
    assert!(
        index_definition(&db, backend, "order_rollups_time_of_day")
            .await
            .is_none()
    );

    // Down one: the fourth and seventh migrations' triggers on `orders` come
    // back in place of the one (PostgreSQL; SQLite keeps its own), and keep
    // both aggregates: a single-row insert (the one-row path of the eighth
    // migration's function) and an update, before and after.
    let single_write = |total: i64| {
        format!(
            "INSERT INTO orders (customer_id, total_cents, status, created_at) VALUES (2, {total}, 'PENDING', '2025-01-04T00:30:00+00:00')"
        )
    };
    for (i, sql) in [
        single_write(7),
        "UPDATE orders SET total_cents = 8 WHERE total_cents = 7".to_owned(),
    ]
    .into_iter()
    .enumerate()
    {
        db.execute_raw(Statement::from_string(backend, sql))
            .await
            .expect("a write under the one trigger");
        assert_eq!(
            stats_rows(&db, backend).await,
            vec![(1, 2, 200), (2, 1, 7 + i as i64)]
        );
    }
    if backend == sea_orm::DbBackend::Postgres {
        assert_eq!(rollup_months(&db).await, vec![(3, 208)]);
        assert_eq!(
            orders_triggers(&db, backend).await,
            [
                "orders_aggregates_deleted",
                "orders_aggregates_inserted",
                "orders_aggregates_updated"
            ]
        );
    }
    Migrator::down(&db, Some(1))
        .await
        .expect("down the one trigger");
    db.execute_raw(Statement::from_string(backend, single_write(9)))
        .await
        .expect("a write under the two triggers");
    db.execute_raw(Statement::from_string(
        backend,
        "DELETE FROM orders WHERE total_cents IN (8, 9)".to_owned(),
    ))
    .await
    .expect("a deletion under the two triggers");
    assert_eq!(stats_rows(&db, backend).await, vec![(1, 2, 200), (2, 0, 0)]);
    if backend == sea_orm::DbBackend::Postgres {
        assert_eq!(rollup_months(&db).await, vec![(2, 200)]);
        assert_eq!(
            orders_triggers(&db, backend).await,
            [
                "customer_stats_orders_deleted",
                "customer_stats_orders_inserted",
                "customer_stats_orders_updated",
                "order_rollups_deleted",
                "order_rollups_inserted",
                "order_rollups_updated"
            ]
        );
    }

    // Down one: the order rollups go (PostgreSQL; SQLite has none).
    assert_eq!(
        has_column(&db, backend, "order_rollups", "bucket").await,
        backend == sea_orm::DbBackend::Postgres
    );
    Migrator::down(&db, Some(1))
        .await
        .expect("down the rollups");
    assert!(!has_column(&db, backend, "order_rollups", "bucket").await);

    // Down one more: the name search index goes (PostgreSQL, where pg_trgm
    // is available here; SQLite has none).
    let trigrams = index_definition(&db, backend, "idx_customers_name_trgm").await;
    if backend == sea_orm::DbBackend::Postgres {
        let def = trigrams.expect("the trigram index on PostgreSQL");
        assert!(
            def.contains("USING gin (lower(") && def.contains("gin_trgm_ops"),
            "{def}"
        );
    } else {
        assert!(trigrams.is_none());
    }
    Migrator::down(&db, Some(1))
        .await
        .expect("down the name search index");
    assert!(
        index_definition(&db, backend, "idx_customers_name_trgm")
            .await
            .is_none()
    );

    // Down one more: the screens' indexes go, the others stay.
    for index in ["idx_orders_total_id", "idx_customers_name_id"] {
        assert!(index_definition(&db, backend, index).await.is_some());
    }
    Migrator::down(&db, Some(1))
        .await
        .expect("down the screen indexes");
    for index in ["idx_orders_total_id", "idx_customers_name_id"] {
        assert!(index_definition(&db, backend, index).await.is_none());
    }
    assert!(
        index_definition(&db, backend, CUSTOMER_ORDERS_INDEX)
            .await
            .is_some()
    );

    // Down one more: the aggregates and their triggers go; writes still work.
    Migrator::down(&db, Some(1)).await.expect("down 1");
    assert!(!has_column(&db, backend, "customer_stats", "customer_id").await);
    db.execute_raw(Statement::from_string(
        backend,
        "DELETE FROM orders WHERE total_cents = 50".to_owned(),
    ))
    .await
    .expect("a write without the triggers");

    let covering = index_definition(&db, backend, CUSTOMER_ORDERS_INDEX)
        .await
        .expect("the per-customer index");
    // Down two: only the covering index changes (PostgreSQL; SQLite has no
    // INCLUDE, there the migration does nothing).
    Migrator::down(&db, Some(1)).await.expect("down 2");
    assert!(has_column(&db, backend, "customers", "phone").await);
    let plain = index_definition(&db, backend, CUSTOMER_ORDERS_INDEX)
        .await
        .expect("the per-customer index");
    if backend == sea_orm::DbBackend::Postgres {
        assert!(
            covering.contains("INCLUDE (total_cents, status)"),
            "{covering}"
        );
        assert!(!plain.contains("INCLUDE"), "{plain}");
    } else {
        assert_eq!(covering, plain);
    }
    // Down three: the phone column goes, the tables stay.
    Migrator::down(&db, Some(1)).await.expect("down 3");
    assert!(!has_column(&db, backend, "customers", "phone").await);
    assert!(has_column(&db, backend, "customers", "email").await);
    assert!(has_column(&db, backend, "orders", "total_cents").await);

    // Down all: the tables go.
    Migrator::down(&db, None).await.expect("down all");
    assert!(!has_column(&db, backend, "customers", "id").await);
    assert!(!has_column(&db, backend, "orders", "id").await);
    assert_eq!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("pending")
            .len(),
        9
    );

    // Up again: everything is back and usable.
    Migrator::up(&db, None).await.expect("up again");
    assert!(has_column(&db, backend, "customers", "phone").await);
    db.execute_raw(Statement::from_string(
        backend,
        "INSERT INTO customers (name, email, phone, created_at) VALUES ('A', 'a@example.com', NULL, '2025-01-01T00:00:00+00:00')".to_owned(),
    ))
    .await
    .expect("insert after round trip");
    // The unique email survived the round trip.
    let dup = db
        .execute_raw(Statement::from_string(
            backend,
            "INSERT INTO customers (name, email, created_at) VALUES ('B', 'a@example.com', '2025-01-01T00:00:00+00:00')".to_owned(),
        ))
        .await;
    assert!(dup.is_err(), "unique email enforced");
    db.close().await.ok();
}

#[tokio::test]
async fn fresh_rebuilds_an_empty_schema() {
    let test_db = TestDb::create().await;
    let db = sea_orm::Database::connect(test_db.url.as_str())
        .await
        .expect("connect");
    Migrator::up(&db, None).await.expect("up");
    db.execute_raw(Statement::from_string(
        test_db.backend,
        "INSERT INTO customers (name, email, created_at) VALUES ('A', 'a@example.com', '2025-01-01T00:00:00+00:00')".to_owned(),
    ))
    .await
    .expect("insert");
    Migrator::fresh(&db).await.expect("fresh");
    let row = db
        .query_one_raw(Statement::from_string(
            test_db.backend,
            "SELECT COUNT(*) AS n FROM customers".to_owned(),
        ))
        .await
        .expect("count")
        .expect("row");
    assert_eq!(row.try_get::<i64>("", "n").expect("n"), 0);
    db.close().await.ok();
}

#[tokio::test]
async fn the_migrate_commands_move_the_schema_version() {
    use clap::Parser;
    let test_db = TestDb::create().await;
    let run = |args: &[&str]| {
        let mut argv = vec![
            "api",
            "--redis-url=",
            "--database-url",
            test_db.url.as_str(),
        ];
        argv.extend_from_slice(args);
        api::cli::run(api::cli::Cli::try_parse_from(argv).expect("valid command line"))
    };
    run(&["migrate", "up"]).await.expect("migrate up");
    let db = sea_orm::Database::connect(test_db.url.as_str())
        .await
        .expect("connect");
    assert!(has_column(&db, test_db.backend, "customers", "phone").await);

    run(&["migrate", "down", "-n", "5"])
        .await
        .expect("migrate down (the time-of-day index, the one trigger, the rollups and the two index migrations)");
    assert!(has_column(&db, test_db.backend, "customer_stats", "customer_id").await);
    run(&["migrate", "down"])
        .await
        .expect("migrate down (another step)");
    assert!(!has_column(&db, test_db.backend, "customer_stats", "customer_id").await);
    assert_eq!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("pending")
            .len(),
        6
    );
    run(&["migrate", "down", "-n", "2"])
        .await
        .expect("migrate down two more");
    assert!(!has_column(&db, test_db.backend, "customers", "phone").await);
    assert!(has_column(&db, test_db.backend, "customers", "email").await);
    assert_eq!(
        Migrator::get_pending_migrations(&db)
            .await
            .expect("pending")
            .len(),
        8
    );

    run(&["migrate", "status"]).await.expect("migrate status");
    run(&["migrate", "up", "-n", "1"])
        .await
        .expect("migrate up one");
    assert!(has_column(&db, test_db.backend, "customers", "phone").await);

    run(&["migrate", "down", "-n", "2"])
        .await
        .expect("migrate down the rest");
    assert!(!has_column(&db, test_db.backend, "customers", "id").await);
    run(&["migrate", "fresh"]).await.expect("migrate fresh");
    assert!(has_column(&db, test_db.backend, "orders", "total_cents").await);
    db.close().await.ok();
}
