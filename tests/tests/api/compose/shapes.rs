//! Which index serves a composed read, read from the catalog as it is now:
//! the migrated indexes serve the default screens, and the index suggested
//! for a shape no index serves does serve it once created, with no restart.

use sea_orm::Statement;
use service::compose::order::{Dir, OrderSortKey, Sort};
use service::compose::shape::{Shape, indexes};

use super::*;

#[tokio::test]
async fn a_suggested_index_serves_its_shape_as_soon_as_it_exists() {
    let app = spawn_app().await;
    let db = &app.store().db;
    let backend = db.get_database_backend();
    let served = |shape: Shape, all: Vec<Vec<String>>| all.iter().any(|i| shape.served_by(i));

    // A customer's newest orders: the migrated (customer_id, created_at, id) index.
    let newest = Sort::new(&[(OrderSortKey::CreatedAt, Dir::Desc)]).expect("sort");
    let mine = Where::Field(OrderField::CustomerId(Ops(vec![Op::Eq(1)])));
    let read = indexes(db).await.expect("the catalog");
    let orders = read.orders;
    // The customers' B-tree indexes only: the trigram index of names
    // (PostgreSQL), an expression under another access method, serves no
    // order and is not read as an index of no columns.
    assert!(
        read.customers
            .contains(&vec!["name".to_owned(), "id".to_owned()]),
        "{:?}",
        read.customers
    );
    assert!(
        read.customers.iter().all(|columns| !columns.is_empty()),
        "{:?}",
        read.customers
    );
    assert!(
        served(Shape::of_orders(&mine, &newest, false), orders.clone()),
        "{orders:?}"
    );
    assert!(served(
        Shape::of_orders(&Where::And(vec![]), &newest, true),
        orders.clone()
    ));

    // Paid orders by total: nothing serves it until the suggestion exists.
    let by_total = Sort::new(&[(OrderSortKey::Total, Dir::Desc)]).expect("sort");
    let paid = Where::Field(OrderField::Status(Ops(vec![Op::Eq(OrderStatus::Paid)])));
    let shape = Shape::of_orders(&paid, &by_total, false);
    assert!(!served(shape.clone(), orders));
    let suggestion = shape.suggested_index().expect("a suggestion");
    assert_eq!(
        suggestion,
        "CREATE INDEX ON orders (status, total_cents, id)"
    );
    // SQLite wants a name; PostgreSQL runs the suggestion as it is.
    let sql = match backend {
        sea_orm::DbBackend::Postgres => suggestion,
        _ => suggestion.replace("CREATE INDEX ON", "CREATE INDEX orders_by_status_total ON"),
    };
    db.execute_raw(Statement::from_string(backend, sql))
        .await
        .expect("the suggested index");
    let orders = indexes(db).await.expect("the catalog").orders;
    assert!(served(shape, orders.clone()), "{orders:?}");
}

#[tokio::test]
async fn by_the_structural_rule_a_read_no_index_serves_fits_the_budget_only_on_a_small_table() {
    // SQLite's rule; it reads the same catalog on PostgreSQL, where the
    // planner's estimate will refine it.
    use service::compose::budget::structural_check;
    let app = spawn_app().await;
    let db = &app.store().db;
    let customers = app.seed_customers(5).await;
    for (i, c) in customers.iter().enumerate() {
        app.seed_order(*c, 100 * i as i64, "2026-01-01T00:00:00Z")
            .await;
    }
    let by_total = Sort::new(&[(OrderSortKey::Total, Dir::Desc)]).expect("sort");
    let paid = Where::Field(OrderField::Status(Ops(vec![Op::Eq(OrderStatus::Paid)])));
    let shape = Shape::of_orders(&paid, &by_total, false);
    assert_eq!(
        structural_check(db, &shape, 5).await.expect("check"),
        Ok(())
    );
    let over = structural_check(db, &shape, 4)
        .await
        .expect("check")
        .expect_err("over");
    assert_eq!((over.estimated_rows, over.budget), (5, 4));
    let index = over.suggested_index.expect("a suggestion");
    let named = index.replace("CREATE INDEX ON", "CREATE INDEX orders_by_status_total ON");
    db.execute_raw(Statement::from_string(db.get_database_backend(), named))
        .await
        .expect("the suggested index");
    assert_eq!(
        structural_check(db, &shape, 4).await.expect("check"),
        Ok(())
    );
    // A customer's newest orders: served from the start, whatever the budget.
    let newest = Sort::new(&[(OrderSortKey::CreatedAt, Dir::Desc)]).expect("sort");
    let mine = Where::Field(OrderField::CustomerId(Ops(vec![Op::Eq(customers[0])])));
    let shape = Shape::of_orders(&mine, &newest, false);
    assert_eq!(
        structural_check(db, &shape, 0).await.expect("check"),
        Ok(())
    );
}
