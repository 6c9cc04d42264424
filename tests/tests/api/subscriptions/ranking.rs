//! `topCustomersChanged`: the ranking at once, then on change; argument sets bounded.

use super::*;

#[tokio::test]
async fn the_ranking_comes_at_once_then_only_when_it_changed() {
    let app = spawn_app().await;
    let ids = app.seed_customers(3).await;
    app.seed_order(ids[0], 5_000, "2025-01-01T00:00:00Z").await;
    app.seed_order(ids[1], 3_000, "2025-01-01T00:00:00Z").await;
    let mut one = Ws::connect(&app.address, json!({})).await;
    let mut two = Ws::connect(&app.address, json!({})).await;
    one.subscribe("r", RANKING, json!({ "l": 2 })).await;
    two.subscribe("r", RANKING, json!({ "l": 2, "m": 1 })).await;

    let expected = json!({ "topCustomersChanged": [
        { "customer": { "id": ids[0].to_string(), "name": "Customer 0" }, "totalSpent": "50.00", "orderCount": 1 },
        { "customer": { "id": ids[1].to_string(), "name": "Customer 1" }, "totalSpent": "30.00", "orderCount": 1 },
    ] });
    let first = one.next_of("r").await;
    assert_eq!(first["data"], expected, "{first}");
    assert_eq!(two.next_of("r").await["data"], expected);
    // Same arguments (given or defaulted): one watcher for both.
    assert_eq!(app.state.rankings.len(), 1);
    // The query agrees.
    let query = app
        .query(
            "{ topCustomers(limit: 2) { customer { id name } totalSpent orderCount } }",
            json!({}),
        )
        .await;
    assert_eq!(
        data(&query)["topCustomers"],
        expected["topCustomersChanged"]
    );

    // A write that does not change the top two: no push.
    create_order(&app, ids[2], "1.00").await;
    one.silent_for(Duration::from_millis(2_500)).await;

    // Customer 2 overtakes customer 1.
    create_order(&app, ids[2], "40.00").await;
    let pushed = one.next_of("r").await;
    assert_eq!(
        pushed["data"]["topCustomersChanged"][1],
        json!({ "customer": { "id": ids[2].to_string(), "name": "Customer 2" }, "totalSpent": "41.00", "orderCount": 2 })
    );
    assert_eq!(two.next_of("r").await, pushed);

    // A renamed customer in the ranking counts as a change.
    let rename =
        "mutation($id: ID!, $n: String!) { updateCustomer(id: $id, input: {name: $n}) { id } }";
    data(
        &app.mutate(
            rename,
            json!({ "id": ids[0].to_string(), "n": "Top buyer" }),
        )
        .await,
    );
    let pushed = one.next_of("r").await;
    assert_eq!(
        pushed["data"]["topCustomersChanged"][0]["customer"]["name"],
        "Top buyer"
    );

    // When its subscribers leave, the watcher goes.
    drop(one);
    drop(two);
    for _ in 0..300 {
        if app.state.rankings.is_empty() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(app.state.rankings.is_empty());
}

#[tokio::test]
async fn distinct_ranking_argument_sets_are_bounded() {
    let app = spawn_app_with(|s| s.ws.subscription_max_rankings = 2).await;
    let mut ws = Ws::connect(&app.address, json!({})).await;
    for (id, limit) in [("a", 1), ("b", 2)] {
        ws.subscribe(id, RANKING, json!({ "l": limit })).await;
        assert_eq!(
            ws.next_of(id).await["data"]["topCustomersChanged"],
            json!([])
        );
    }
    ws.subscribe("c", RANKING, json!({ "l": 3 })).await;
    let refused = ws.next_of("c").await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "QUERY_TOO_COMPLEX",
        "{refused}"
    );
    assert!(
        refused["errors"][0]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("SUBSCRIPTION_MAX_RANKINGS"),
        "{refused}"
    );
    let done = ws.message().await;
    assert_eq!(done, json!({ "type": "complete", "id": "c" }));
    // An argument set in use is still open to more subscribers.
    ws.subscribe("d", RANKING, json!({ "l": 2 })).await;
    assert_eq!(
        ws.next_of("d").await["data"]["topCustomersChanged"],
        json!([])
    );
    // Bad arguments are refused with the query's code.
    ws.subscribe("e", RANKING, json!({ "l": 101 })).await;
    let refused = ws.next_of("e").await;
    assert_eq!(refused["errors"][0]["extensions"]["code"], "BAD_USER_INPUT");
}
