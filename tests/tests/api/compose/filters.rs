//! 1,000 random filter compositions against the independent evaluator.

use super::*;

#[tokio::test]
async fn a_thousand_random_compositions_select_what_an_independent_evaluator_selects() {
    let app = spawn_app().await;
    let store = app.store();
    let view = View::unrestricted();
    let mut rng = StdRng::seed_from_u64(20261203);
    let news: Vec<NewCustomer> = (0..24)
        .map(|i| {
            let mut c = NewCustomer::parse(
                &format!("{} {}", NAMES[i % NAMES.len()], i / NAMES.len()),
                &format!("User{i}@Example.com"),
                PHONES[i % PHONES.len()],
            )
            .expect("a valid customer");
            c.created_at = Some(base() + Duration::hours(i as i64 * 7));
            c
        })
        .collect();
    let customers = store
        .customers(&view)
        .create_many(news)
        .await
        .expect("customers");
    let mut orders = Vec::new();
    for c in customers.iter().take(20) {
        for _ in 0..rng.random_range(0..5) {
            let status = *OrderStatus::ALL.choose(&mut rng).expect("statuses");
            let cents = rng.random_range(0..50_000i64);
            let created = base() + Duration::minutes(rng.random_range(0..100_000));
            orders.push(
                NewOrder::parse(c.id, Money::from_cents(cents), Some(status), Some(created))
                    .expect("a valid order"),
            );
        }
    }
    let orders = store
        .orders(&view)
        .create_many(orders)
        .await
        .expect("orders");
    let data = Data {
        customers: customers
            .iter()
            .map(|c| {
                (
                    c.id,
                    c.name.clone(),
                    c.email.clone(),
                    c.phone.clone(),
                    c.created_at,
                )
            })
            .collect(),
        orders: orders
            .iter()
            .map(|o| (o.id, o.customer_id, o.total.cents(), o.status, o.created_at))
            .collect(),
    };
    let mut stats: HashMap<i64, (i64, i64)> = HashMap::new();
    for o in &data.orders {
        let e = stats.entry(o.1).or_default();
        e.0 += 1;
        e.1 += o.2;
    }
    let db = &store.db;
    let backend = db.get_database_backend();
    let pools = Pools {
        ids: data
            .customers
            .iter()
            .map(|c| c.0)
            .chain([0, i64::MAX])
            .collect(),
        order_ids: data.orders.iter().map(|o| o.0).collect(),
        names: data.customers.iter().map(|c| c.1.clone()).collect(),
        emails: data.customers.iter().map(|c| c.2.clone()).collect(),
        phones: PHONES.iter().flatten().map(|p| (*p).to_owned()).collect(),
        times: data
            .orders
            .iter()
            .map(|o| o.4)
            .chain(data.customers.iter().map(|c| c.4))
            .take(30)
            .collect(),
        money: data
            .orders
            .iter()
            .map(|o| Money::from_cents(o.2))
            .chain([Money::ZERO, Money::from_cents(1), Money::from_cents(60_000)])
            .collect(),
        counts: vec![0, 1, 2, 3, 5],
    };
    let eval = Eval {
        data: &data,
        ascii_fold: backend == sea_orm::DbBackend::Sqlite,
        stats,
    };
    let all_customers: BTreeSet<i64> = data.customers.iter().map(|c| c.0).collect();
    let all_orders: BTreeSet<i64> = data.orders.iter().map(|o| o.0).collect();
    let (mut some_customers, mut some_orders) = (0, 0);
    for round in 0..500 {
        let w = customer_where(&mut rng, 3, &pools);
        let got: BTreeSet<i64> = customer::Entity::find()
            .select_only()
            .column(customer::Column::Id)
            .filter(customer_condition(backend, &w))
            .into_tuple::<i64>()
            .all(db)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {w:?} failed: {e}"))
            .into_iter()
            .collect();
        let want: BTreeSet<i64> = all_customers
            .iter()
            .copied()
            .filter(|id| eval.customer(&w, *id))
            .collect();
        assert_eq!(got, want, "round {round}: customers where {w:?}");
        // The same through a page, which joins the aggregates when the
        // condition tests them, and through its count.
        let page = store
            .customers(&View::unrestricted())
            .page_where(
                &w,
                &service::compose::order::default_customer_sort(),
                &service::model::PageRequest::first(100, None),
            )
            .await
            .unwrap_or_else(|e| panic!("round {round}: a page of {w:?} failed: {e}"));
        let paged: BTreeSet<i64> = page.items.iter().map(|(c, _)| c.id).collect();
        assert_eq!(
            paged, want,
            "round {round}: a page of customers where {w:?}"
        );
        let counted = store
            .customers(&View::unrestricted())
            .count_where(&w)
            .await
            .unwrap_or_else(|e| panic!("round {round}: a count of {w:?} failed: {e}"));
        assert_eq!(counted, want.len() as u64, "round {round}: {w:?}");
        some_customers += usize::from(!want.is_empty() && want.len() < all_customers.len());

        let w = order_where(&mut rng, 3, &pools);
        let got: BTreeSet<i64> = order::Entity::find()
            .select_only()
            .column(order::Column::Id)
            .filter(order_condition(backend, &w))
            .into_tuple::<i64>()
            .all(db)
            .await
            .unwrap_or_else(|e| panic!("round {round}: {w:?} failed: {e}"))
            .into_iter()
            .collect();
        let want: BTreeSet<i64> = all_orders
            .iter()
            .copied()
            .filter(|id| eval.order(&w, *id))
            .collect();
        assert_eq!(got, want, "round {round}: orders where {w:?}");
        some_orders += usize::from(!want.is_empty() && want.len() < all_orders.len());
    }
    // The compositions discriminate: many select some rows but not all.
    assert!(
        some_customers > 100 && some_orders > 100,
        "{some_customers} {some_orders}"
    );
}
