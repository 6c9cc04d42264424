//! A client generated from `schema.graphql` (graphql_client, operations in
//! `tests/graphql/operations.graphql`) against the live server: its types
//! come from the SDL, so a schema change that breaks generated clients
//! breaks this build.

use graphql_client::{GraphQLQuery, Response};
use serde::Serialize;
use serde::de::DeserializeOwned;

use crate::helpers::{TestApp, spawn_app, writer};

// The schema's custom scalars as the generated code sees them: strings
// (money as "123.45", instants in RFC 3339).
type Decimal = String;
type DateTime = String;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/operations.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct CustomerPage;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/operations.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct Ranking;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/operations.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct CreateCustomers;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/operations.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct CreateOrders;

#[derive(GraphQLQuery)]
#[graphql(
    schema_path = "../schema.graphql",
    query_path = "graphql/operations.graphql",
    response_derives = "Debug, Clone, PartialEq"
)]
struct UpdateOrder;

/// Sends a generated operation as a generated client does.
async fn send<Q: GraphQLQuery>(app: &TestApp, variables: Q::Variables) -> Response<Q::ResponseData>
where
    Q::Variables: Serialize,
    Q::ResponseData: DeserializeOwned,
{
    app.client
        .post(format!("{}/graphql", app.address))
        .bearer_auth(writer())
        .json(&Q::build_query(variables))
        .send()
        .await
        .expect("request")
        .json()
        .await
        .expect("a response the generated types read")
}

fn ok<T: std::fmt::Debug>(resp: Response<T>) -> T {
    assert!(resp.errors.is_none(), "{:?}", resp.errors);
    resp.data.expect("data")
}

#[tokio::test]
async fn a_generated_client_creates_reads_pages_and_ranks() {
    let app = spawn_app().await;
    let created = ok(send::<CreateCustomers>(
        &app,
        create_customers::Variables {
            input: (0..3)
                .map(|i| create_customers::CreateCustomerInput {
                    name: format!("Gen {i}"),
                    email: format!("gen{i}@example.com"),
                    phone: None,
                })
                .collect(),
        },
    )
    .await)
    .create_customers;
    assert_eq!(created.len(), 3);
    assert_eq!(created[1].name, "Gen 1");
    assert_eq!(created[1].total_spent, "0.00");

    let orders = ok(send::<CreateOrders>(
        &app,
        create_orders::Variables {
            input: vec![
                create_orders::CreateOrderInput {
                    customer_id: created[2].id.clone(),
                    total: "12.50".into(),
                    status: Some(create_orders::OrderStatus::PAID),
                    created_at: Some("2026-01-02T03:04:05Z".into()),
                },
                create_orders::CreateOrderInput {
                    customer_id: created[0].id.clone(),
                    total: "7".into(),
                    status: None,
                    created_at: None,
                },
            ],
        },
    )
    .await)
    .create_orders;
    assert_eq!(orders[0].total, "12.50");
    assert_eq!(orders[0].status, create_orders::OrderStatus::PAID);
    assert_eq!(orders[1].status, create_orders::OrderStatus::PENDING);
    assert_eq!(orders[0].customer.id, created[2].id);

    let updated = ok(send::<UpdateOrder>(
        &app,
        update_order::Variables {
            id: orders[1].id.clone(),
            input: update_order::UpdateOrderInput {
                total: Some("8.25".into()),
                status: Some(update_order::OrderStatus::SHIPPED),
            },
        },
    )
    .await)
    .update_order;
    assert_eq!(
        (updated.total.as_str(), updated.status),
        ("8.25", update_order::OrderStatus::SHIPPED)
    );

    let page = ok(send::<CustomerPage>(
        &app,
        customer_page::Variables {
            first: Some(2),
            after: None,
            last: None,
            before: None,
            filter: Some(customer_page::CustomerFilter {
                name_contains: Some("gen".into()),
                email: None,
            }),
        },
    )
    .await)
    .customers;
    assert_eq!(page.total_count, 3);
    assert_eq!(page.nodes.len(), 2);
    assert!(page.page_info.has_next_page);
    assert_eq!(page.nodes[0].customer_fields.total_spent, "8.25");
    assert_eq!(
        page.nodes[0].orders.nodes[0].status,
        customer_page::OrderStatus::SHIPPED
    );

    // `last` without `before`: the end of the list.
    let last = ok(send::<CustomerPage>(
        &app,
        customer_page::Variables {
            first: None,
            after: None,
            last: Some(2),
            before: page
                .page_info
                .end_cursor
                .clone()
                .map(|_| None)
                .unwrap_or(None),
            filter: None,
        },
    )
    .await)
    .customers;
    assert_eq!(
        last.nodes
            .iter()
            .map(|n| n.customer_fields.name.clone())
            .collect::<Vec<_>>(),
        ["Gen 1", "Gen 2"]
    );
    assert!(last.page_info.has_previous_page);

    let ranking = ok(send::<Ranking>(
        &app,
        ranking::Variables {
            limit: 2,
            min_orders: 1,
        },
    )
    .await)
    .top_customers;
    assert_eq!(ranking.len(), 2);
    assert_eq!(ranking[0].customer.name, "Gen 2");
    assert_eq!(ranking[0].total_spent, "12.50");
}

#[tokio::test]
async fn a_generated_client_reads_coded_errors() {
    let app = spawn_app().await;
    let resp = send::<UpdateOrder>(
        &app,
        update_order::Variables {
            id: "999999".into(),
            input: update_order::UpdateOrderInput {
                total: None,
                status: Some(update_order::OrderStatus::PAID),
            },
        },
    )
    .await;
    let errors = resp.errors.expect("errors");
    assert_eq!(errors.len(), 1);
    let code = errors[0]
        .extensions
        .as_ref()
        .and_then(|e| e.get("code"))
        .and_then(|c| c.as_str());
    assert_eq!(code, Some("NOT_FOUND"));
}
