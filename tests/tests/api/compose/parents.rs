//! A page of each parent's orders, under any filter and order, in one
//! statement for all parents, equal to each parent's own list.

use service::compose::order::OrderSortKey;

use super::pages::{random_sort, request};
use super::*;

#[tokio::test]
async fn a_page_per_parent_in_one_statement_equals_each_parents_own_list() {
    let app = spawn_app().await;
    let store = app.store();
    let view = View::unrestricted();
    let mut rng = StdRng::seed_from_u64(11);
    let news: Vec<NewCustomer> = (0..8)
        .map(|i| {
            NewCustomer::parse(NAMES[i % 4], &format!("n{i}@example.com"), None).expect("valid")
        })
        .collect();
    let customers = store
        .customers(&view)
        .create_many(news)
        .await
        .expect("customers");
    let mut orders = Vec::new();
    for (i, c) in customers.iter().enumerate() {
        for k in 0..(i as i64 * 2) {
            let status = OrderStatus::ALL[(k % 4) as usize];
            let t = base() + Duration::minutes((k % 5) * 10);
            orders.push(
                NewOrder::parse(
                    c.id,
                    Money::from_cents(100 * (k % 3)),
                    Some(status),
                    Some(t),
                )
                .expect("a valid order"),
            );
        }
    }
    store
        .orders(&view)
        .create_many(orders)
        .await
        .expect("orders");
    let parents: Vec<i64> = customers.iter().map(|c| c.id).collect();
    let order_keys = [
        OrderSortKey::Id,
        OrderSortKey::CreatedAt,
        OrderSortKey::Total,
        OrderSortKey::Status,
    ];
    let filters: [Where<OrderField>; 3] = [
        Where::And(vec![]),
        Where::Field(OrderField::Status(Ops(vec![Op::Ne(OrderStatus::Paid)]))),
        Where::Not(Box::new(Where::Field(OrderField::Total(Ops(vec![
            Op::Gte(Money::from_cents(200)),
        ]))))),
    ];
    let before = app.statements();
    let mut statements = 0;
    for round in 0..24 {
        let sort = random_sort(&mut rng, &order_keys);
        let filter = &filters[round % filters.len()];
        let forward = rng.random_bool(0.5);
        let size = rng.random_range(0..=4);
        let pages = store
            .orders(&view)
            .pages_where_for_customers(&parents, filter, &sort, &request(size, None, forward))
            .await
            .expect("pages");
        statements += 1;
        assert_eq!(pages.len(), parents.len());
        for parent in &parents {
            let own = Where::And(vec![
                filter.clone(),
                Where::Field(OrderField::CustomerId(Ops(vec![Op::Eq(*parent)]))),
            ]);
            let alone = store
                .orders(&view)
                .page_where(&own, &sort, &request(size, None, forward))
                .await
                .expect("one list");
            statements += 1;
            let got = &pages[parent];
            assert_eq!(
                got.items.iter().map(|o| o.id).collect::<Vec<_>>(),
                alone.items.iter().map(|o| o.id).collect::<Vec<_>>(),
                "round {round}: parent {parent}, {sort:?}, size {size}, forward {forward}"
            );
            assert_eq!(
                (got.has_next_page, got.has_previous_page),
                (alone.has_next_page, alone.has_previous_page)
            );
        }
    }
    // One statement per call, however many parents.
    assert_eq!(app.statements() - before, statements);
}
