//! Keyset page walks in random orders while other rows are inserted,
//! changed and deleted: every row present throughout with unchanged sort
//! keys comes exactly once, in the order one statement gives the whole set.

use service::compose::order::{CustomerKey, Dir, KeyValue, OrderSortKey, Sort, SortKey};
use service::compose::order::{customer_position, order_position};
use service::input::{CustomerPatch, OrderPatch};
use service::model::{Page, PageRequest};

use super::*;

pub(super) fn random_sort<K: SortKey>(rng: &mut StdRng, keys: &[K]) -> Sort<K> {
    let mut chosen: Vec<(K, Dir)> = Vec::new();
    for _ in 0..rng.random_range(1..=3) {
        let k = *keys.choose(rng).expect("keys");
        if !chosen.iter().any(|(c, _)| *c == k) {
            let dir = if rng.random_bool(0.5) {
                Dir::Asc
            } else {
                Dir::Desc
            };
            chosen.push((k, dir));
        }
    }
    Sort::new(&chosen).expect("distinct keys")
}

pub(super) fn request(
    size: u64,
    position: Option<Vec<KeyValue>>,
    forward: bool,
) -> PageRequest<Vec<KeyValue>> {
    PageRequest {
        size,
        after: if forward { position.clone() } else { None },
        before: if forward { None } else { position },
        from_end: !forward,
    }
}

/// Walks a list page by page, forwards from its start or backwards from its
/// end, running `meanwhile` after each page: the ids in list order.
async fn walk<T>(
    size: u64,
    forward: bool,
    mut fetch: impl AsyncFnMut(PageRequest<Vec<KeyValue>>) -> Page<T>,
    position: impl Fn(&T) -> Vec<KeyValue>,
    id: impl Fn(&T) -> i64,
    mut meanwhile: impl AsyncFnMut(),
) -> Vec<i64> {
    let (mut walked, mut at) = (Vec::new(), None);
    loop {
        let page = fetch(request(size, at, forward)).await;
        let edge = if forward {
            page.items.last()
        } else {
            page.items.first()
        };
        at = edge.map(&position);
        let ids: Vec<i64> = page.items.iter().map(&id).collect();
        if forward {
            walked.extend(ids);
        } else {
            walked.splice(0..0, ids);
        }
        meanwhile().await;
        let more = if forward {
            page.has_next_page
        } else {
            page.has_previous_page
        };
        if !more || at.is_none() {
            return walked;
        }
    }
}

#[tokio::test]
async fn page_walks_in_every_order_return_each_stable_row_once_while_others_change() {
    let app = spawn_app().await;
    let store = app.store();
    let view = View::unrestricted();
    let mut rng = StdRng::seed_from_u64(7);
    // Few distinct names and totals: many ties, which the primary key breaks.
    let news: Vec<NewCustomer> = (0..30)
        .map(|i| {
            let mut c = NewCustomer::parse(NAMES[i % 4], &format!("p{i}@example.com"), None)
                .expect("a valid customer");
            c.created_at = Some(base() + Duration::hours((i % 5) as i64));
            c
        })
        .collect();
    let customers = store
        .customers(&view)
        .create_many(news)
        .await
        .expect("customers");
    let (stable, volatile) = customers.split_at(20);
    let stable: BTreeSet<i64> = stable.iter().map(|c| c.id).collect();
    let mut volatile: Vec<i64> = volatile.iter().map(|c| c.id).collect();
    let mut orders = Vec::new();
    for c in &customers {
        for k in 0..(c.id % 3) {
            let t = base() + Duration::minutes(((c.id + k) % 4) * 30);
            let status = OrderStatus::ALL[((c.id + k) % 4) as usize];
            orders.push(
                NewOrder::parse(
                    c.id,
                    Money::from_cents(100 * ((c.id + k) % 3)),
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
    let everything: Where<CustomerField> = Where::And(vec![]);
    let every_order: Where<OrderField> = Where::And(vec![]);
    let customer_keys = [
        CustomerKey::Id,
        CustomerKey::Name,
        CustomerKey::Email,
        CustomerKey::CreatedAt,
        CustomerKey::TotalSpent,
        CustomerKey::OrderCount,
    ];
    let mut n = 0;
    for round in 0..16 {
        let sort = random_sort(&mut rng, &customer_keys);
        let whole = store
            .customers(&view)
            .page_where(&everything, &sort, &request(1000, None, true))
            .await
            .expect("the whole set");
        let expected: Vec<i64> = whole
            .items
            .iter()
            .map(|(c, _)| c.id)
            .filter(|id| stable.contains(id))
            .collect();
        let forward = rng.random_bool(0.5);
        let size = rng.random_range(1..=6);
        let walked = walk(
            size,
            forward,
            async |r| {
                store
                    .customers(&view)
                    .page_where(&everything, &sort, &r)
                    .await
                    .expect("a page")
            },
            |(c, s)| customer_position(&sort, c, s.as_ref()),
            |(c, _)| c.id,
            // Meanwhile: a new customer, a renamed one, a deleted one, and
            // an order that moves another one's aggregates.
            async || {
                n += 1;
                let email = format!("new{round}x{n}@example.com");
                let new = NewCustomer::parse(NAMES[n % 4], &email, None).expect("a customer");
                volatile.push(store.customers(&view).create(new).await.expect("create").id);
                let v = volatile[n % volatile.len()];
                let patch =
                    CustomerPatch::parse(Some(NAMES[(n + 1) % 4]), None, None).expect("patch");
                store
                    .customers(&view)
                    .update(v, patch)
                    .await
                    .expect("rename");
                let order =
                    NewOrder::parse(v, Money::from_cents(150), None, Some(base())).expect("order");
                store.orders(&view).create(order).await.expect("order");
                let gone = volatile.remove((n * 7) % volatile.len());
                store.customers(&view).delete(gone).await.expect("delete");
            },
        )
        .await;
        let walked: Vec<i64> = walked
            .into_iter()
            .filter(|id| stable.contains(id))
            .collect();
        assert_eq!(
            walked, expected,
            "round {round}: {sort:?}, size {size}, forward {forward}"
        );
    }

    // Orders: the stable ones are those of the stable customers, never touched.
    let stable_orders: BTreeSet<i64> = store
        .orders(&view)
        .page_where(
            &Where::And(vec![]),
            &service::compose::order::default_order_sort(),
            &PageRequest::first(1000, None),
        )
        .await
        .expect("orders")
        .items
        .iter()
        .filter(|o| stable.contains(&o.customer_id))
        .map(|o| o.id)
        .collect();
    assert!(stable_orders.len() > 10, "{}", stable_orders.len());
    let order_keys = [
        OrderSortKey::Id,
        OrderSortKey::CreatedAt,
        OrderSortKey::Total,
        OrderSortKey::Status,
    ];
    for round in 0..16 {
        let sort = random_sort(&mut rng, &order_keys);
        let whole = store
            .orders(&view)
            .page_where(&every_order, &sort, &request(1000, None, true))
            .await
            .expect("the whole set");
        let expected: Vec<i64> = whole
            .items
            .iter()
            .map(|o| o.id)
            .filter(|id| stable_orders.contains(id))
            .collect();
        let forward = rng.random_bool(0.5);
        let size = rng.random_range(1..=6);
        let walked = walk(
            size,
            forward,
            async |r| {
                store
                    .orders(&view)
                    .page_where(&every_order, &sort, &r)
                    .await
                    .expect("a page")
            },
            |o| order_position(&sort, o),
            |o| o.id,
            // Meanwhile: another customer's order is created, changed, and
            // every other time deleted.
            async || {
                n += 1;
                let v = volatile[n % volatile.len()];
                let order =
                    NewOrder::parse(v, Money::from_cents(100), None, Some(base())).expect("order");
                let created = store.orders(&view).create(order).await.expect("order");
                let patch =
                    OrderPatch::parse(Some(Money::from_cents(200)), Some(OrderStatus::Paid))
                        .expect("patch");
                store
                    .orders(&view)
                    .update(created.id, patch)
                    .await
                    .expect("update");
                if n % 2 == 0 {
                    store
                        .orders(&view)
                        .delete(created.id)
                        .await
                        .expect("delete");
                }
            },
        )
        .await;
        let walked: Vec<i64> = walked
            .into_iter()
            .filter(|id| stable_orders.contains(id))
            .collect();
        assert_eq!(
            walked, expected,
            "round {round}: {sort:?}, size {size}, forward {forward}"
        );
    }
}
