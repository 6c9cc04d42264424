//! A customer's mutations, in the contract's order of checks: the
//! mutation, the fields it sets, the rows it names (another customer's
//! answers exactly as a missing one), then the row's state. Every refusal
//! leaves the data as it was.

use serde_json::{Value, json};

use super::{Shop, shop};
use crate::helpers::{data, error_code, error_message};

/// Every order and customer, as staff reads them.
async fn everything(shop: &Shop) -> Value {
    shop.app
        .query(
            "{ customers(first: 100) { nodes { id name email phone } } orders(first: 100, orderBy: [ID_ASC]) { nodes { id customer { id } total status createdAt } } }",
            json!({}),
        )
        .await
}

/// A response with the id it names in its messages replaced, to compare
/// two refusals that name different ids.
fn without(response: &Value, id: &str) -> Value {
    let mut out = response.clone();
    if let Some(errors) = out["errors"].as_array_mut() {
        for e in errors {
            let message = e["message"].as_str().unwrap_or_default();
            e["message"] = json!(message.replace(&format!(" {id}"), " <id>"));
        }
    }
    out
}

#[tokio::test]
async fn a_customer_changes_its_own_name_and_phone_only() {
    let shop = shop().await;
    let update = "mutation($id: ID!, $input: UpdateCustomerInput!) { updateCustomer(id: $id, input: $input) { id name phone email } }";
    let before = everything(&shop).await;
    // Fields first: an email is refused even on another customer's row.
    for id in [shop.a, shop.b] {
        let resp = shop
            .as_customer(
                shop.a,
                update,
                json!({ "id": id.to_string(), "input": { "email": "new@example.com" } }),
            )
            .await;
        assert_eq!(error_code(&resp), "FORBIDDEN", "{resp}");
    }
    // Another customer's row is NOT_FOUND, word for word as a missing one.
    let b = shop.b.to_string();
    let other = shop
        .as_customer(
            shop.a,
            update,
            json!({ "id": b, "input": { "name": "Mallory" } }),
        )
        .await;
    let missing = shop
        .as_customer(
            shop.a,
            update,
            json!({ "id": "987654", "input": { "name": "Mallory" } }),
        )
        .await;
    assert_eq!(error_code(&other), "NOT_FOUND");
    assert_eq!(without(&other, &b), without(&missing, "987654"));
    assert_eq!(everything(&shop).await, before, "refusals changed nothing");
    // Its own name and phone.
    let resp = shop
        .as_customer(
            shop.a,
            update,
            json!({ "id": shop.a.to_string(), "input": { "name": "Alice", "phone": "+49 30 1234" } }),
        )
        .await;
    assert_eq!(data(&resp)["updateCustomer"]["name"], "Alice");
    assert_eq!(data(&resp)["updateCustomer"]["phone"], "+49 30 1234");
    // …which everyone then reads (the cache of every view invalidated).
    let staff = shop
        .app
        .query(
            "query($id: ID!) { customer(id: $id) { name } }",
            json!({ "id": shop.a.to_string() }),
        )
        .await;
    assert_eq!(data(&staff)["customer"]["name"], "Alice");
}

#[tokio::test]
async fn a_customer_creates_pending_orders_for_itself_only() {
    let shop = shop().await;
    let create = "mutation($input: CreateOrderInput!) { createOrder(input: $input) { id status total customer { id } } }";
    let a = shop.a.to_string();
    let b = shop.b.to_string();
    let before = everything(&shop).await;
    for input in [
        json!({ "customerId": a, "total": "1.00", "status": "PAID" }),
        json!({ "customerId": a, "total": "1.00", "createdAt": "2026-01-01T00:00:00Z" }),
        // Fields before rows: another customer with a forbidden field.
        json!({ "customerId": b, "total": "1.00", "status": "SHIPPED" }),
    ] {
        let resp = shop
            .as_customer(shop.a, create, json!({ "input": input }))
            .await;
        assert_eq!(error_code(&resp), "FORBIDDEN", "{input}: {resp}");
    }
    // Another customer's id answers exactly as an id that names no customer.
    let other = shop
        .as_customer(
            shop.a,
            create,
            json!({ "input": { "customerId": b, "total": "1.00" } }),
        )
        .await;
    let missing = shop
        .as_customer(
            shop.a,
            create,
            json!({ "input": { "customerId": "987654", "total": "1.00" } }),
        )
        .await;
    assert_eq!(error_code(&other), "BAD_USER_INPUT");
    assert_eq!(without(&other, &b), without(&missing, "987654"));
    // Bulk creation is not a customer's.
    let bulk = shop
        .as_customer(
            shop.a,
            "mutation($a: ID!) { createOrders(input: [{customerId: $a, total: \"1.00\"}]) { id } }",
            json!({ "a": a }),
        )
        .await;
    assert_eq!(error_code(&bulk), "FORBIDDEN");
    assert_eq!(everything(&shop).await, before, "refusals changed nothing");
    // Its own, PENDING (said or not).
    for input in [
        json!({ "customerId": a, "total": "4.20" }),
        json!({ "customerId": a, "total": "4.30", "status": "PENDING" }),
    ] {
        let resp = shop
            .as_customer(shop.a, create, json!({ "input": input }))
            .await;
        let created = &data(&resp)["createOrder"];
        assert_eq!(created["status"], "PENDING");
        assert_eq!(created["customer"]["id"], a);
    }
    let count = shop
        .as_customer(
            shop.a,
            "{ orders { totalCount } ordersAggregate { sum } }",
            json!({}),
        )
        .await;
    assert_eq!(data(&count)["orders"]["totalCount"], 5);
    assert_eq!(data(&count)["ordersAggregate"]["sum"], "33.90");
}

#[tokio::test]
async fn a_customer_cancels_its_own_pending_orders_only() {
    let shop = shop().await;
    let update = "mutation($id: ID!, $input: UpdateOrderInput!) { updateOrder(id: $id, input: $input) { id status total } }";
    let cancel = |id: &str| json!({ "id": id, "input": { "status": "CANCELLED" } });
    let before = everything(&shop).await;
    // Fields: any other change, even of its own pending order.
    for input in [
        json!({ "status": "PAID" }),
        json!({ "total": "0.01" }),
        json!({ "status": "CANCELLED", "total": "0.01" }),
        json!({}),
    ] {
        let resp = shop
            .as_customer(
                shop.a,
                update,
                json!({ "id": shop.a_orders[0], "input": input }),
            )
            .await;
        assert_eq!(error_code(&resp), "FORBIDDEN", "{input}: {resp}");
    }
    // Rows: another customer's pending order is NOT_FOUND, as a missing one.
    let other = shop
        .as_customer(shop.a, update, cancel(&shop.b_orders[0]))
        .await;
    let missing = shop.as_customer(shop.a, update, cancel("987654")).await;
    assert_eq!(error_code(&other), "NOT_FOUND");
    assert_eq!(
        without(&other, &shop.b_orders[0]),
        without(&missing, "987654")
    );
    // …and so is another customer's order that is no longer pending: its
    // state is not checked before its owner is.
    let paid = shop
        .as_customer(shop.a, update, cancel(&shop.b_orders[1]))
        .await;
    assert_eq!(error_code(&paid), "NOT_FOUND");
    // State: its own order that is not pending.
    let shipped = shop
        .as_customer(shop.a, update, cancel(&shop.a_orders[2]))
        .await;
    assert_eq!(error_code(&shipped), "FORBIDDEN");
    assert!(error_message(&shipped).contains("PENDING"), "{shipped}");
    // Deleting is not a customer's.
    let delete = shop
        .as_customer(
            shop.a,
            "mutation($id: ID!) { deleteOrder(id: $id) }",
            json!({ "id": shop.a_orders[0] }),
        )
        .await;
    assert_eq!(error_code(&delete), "FORBIDDEN");
    for mutation in [
        "mutation { createCustomer(input: {name: \"X\", email: \"x@example.com\"}) { id } }",
        "mutation { createCustomers(input: [{name: \"X\", email: \"x@example.com\"}]) { id } }",
    ] {
        let resp = shop.as_customer(shop.a, mutation, json!({})).await;
        assert_eq!(error_code(&resp), "FORBIDDEN", "{mutation}");
    }
    let resp = shop
        .as_customer(
            shop.a,
            "mutation($id: ID!) { deleteCustomer(id: $id) }",
            json!({ "id": shop.a.to_string() }),
        )
        .await;
    assert_eq!(error_code(&resp), "FORBIDDEN");
    assert_eq!(everything(&shop).await, before, "refusals changed nothing");
    // Its own pending order: cancelled, once.
    let resp = shop
        .as_customer(shop.a, update, cancel(&shop.a_orders[0]))
        .await;
    assert_eq!(data(&resp)["updateOrder"]["status"], "CANCELLED");
    assert_eq!(data(&resp)["updateOrder"]["total"], "12.50");
    let again = shop
        .as_customer(shop.a, update, cancel(&shop.a_orders[0]))
        .await;
    assert_eq!(error_code(&again), "FORBIDDEN");
}
