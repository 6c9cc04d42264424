use async_graphql::parser::types::{ServiceDocument, TypeKind, TypeSystemDefinition};
use clap::CommandFactory;

#[test]
fn schema_graphql_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let on_disk = std::fs::read_to_string(&path).expect("schema.graphql at the workspace root");
    let generated = api::graphql::schema::sdl();
    assert!(
        on_disk == generated,
        "schema.graphql is stale: run `cargo run -p api -- print-schema > schema.graphql`"
    );
}

fn parsed() -> ServiceDocument {
    async_graphql::parser::parse_schema(api::graphql::schema::sdl()).expect("the SDL parses")
}

/// Every field as `Type.field(arg: T, …): R`, every input field as
/// `Input.field: T [= default]`, every enum as `enum E { A B }`.
fn signatures(doc: &ServiceDocument) -> Vec<String> {
    let mut out = Vec::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let name = &ty.node.name.node;
        match &ty.node.kind {
            TypeKind::Object(obj) => {
                for f in &obj.fields {
                    let args: Vec<String> = f
                        .node
                        .arguments
                        .iter()
                        .map(|a| {
                            let default = a
                                .node
                                .default_value
                                .as_ref()
                                .map(|d| format!(" = {}", d.node))
                                .unwrap_or_default();
                            format!("{}: {}{default}", a.node.name.node, a.node.ty.node)
                        })
                        .collect();
                    let args = if args.is_empty() {
                        String::new()
                    } else {
                        format!("({})", args.join(", "))
                    };
                    out.push(format!(
                        "{name}.{}{args}: {}",
                        f.node.name.node, f.node.ty.node
                    ));
                }
            }
            TypeKind::InputObject(input) => {
                for f in &input.fields {
                    let default = f
                        .node
                        .default_value
                        .as_ref()
                        .map(|d| format!(" = {}", d.node))
                        .unwrap_or_default();
                    out.push(format!(
                        "{name}.{}: {}{default}",
                        f.node.name.node, f.node.ty.node
                    ));
                }
            }
            TypeKind::Enum(e) => {
                let values: Vec<String> = e
                    .values
                    .iter()
                    .map(|v| v.node.value.node.to_string())
                    .collect();
                out.push(format!("enum {name} {{ {} }}", values.join(" ")));
            }
            TypeKind::Scalar => out.push(format!("scalar {name}")),
            _ => {}
        }
    }
    out
}

#[test]
fn the_schema_holds_the_contracts_fixed_part() {
    let sigs = signatures(&parsed());
    for needle in [
        "scalar Decimal",
        "scalar DateTime",
        "enum OrderStatus { PENDING PAID SHIPPED CANCELLED }",
        "Customer.id: ID!",
        "Customer.name: String!",
        "Customer.email: String!",
        "Customer.phone: String",
        "Customer.createdAt: DateTime!",
        "Customer.orderCount: Int!",
        "Customer.totalSpent: Decimal!",
        "Order.customer: Customer!",
        "Order.total: Decimal!",
        "Order.status: OrderStatus!",
        "CustomerSpending.customer: Customer!",
        "CustomerSpending.totalSpent: Decimal!",
        "CustomerSpending.orderCount: Int!",
        "Query.customer(id: ID!): Customer",
        "Query.order(id: ID!): Order",
        "Query.topCustomers(limit: Int! = 10, minOrders: Int! = 1): [CustomerSpending!]!",
        "PageInfo.hasNextPage: Boolean!",
        "PageInfo.hasPreviousPage: Boolean!",
        "PageInfo.startCursor: String",
        "PageInfo.endCursor: String",
        "CustomerConnection.totalCount: Int!",
        "OrderConnection.nodes: [Order!]!",
        "OrderEdge.cursor: String!",
        "CustomerFilter.nameContains: String",
        "OrderFilter.minTotal: Decimal",
        "CreateCustomerInput.name: String!",
        "CreateOrderInput.status: OrderStatus = PENDING",
        "CreateOrderInput.createdAt: DateTime",
        "UpdateOrderInput.total: Decimal",
        "Mutation.createCustomer(input: CreateCustomerInput!): Customer!",
        "Mutation.createCustomers(input: [CreateCustomerInput!]!): [Customer!]!",
        "Mutation.updateCustomer(id: ID!, input: UpdateCustomerInput!): Customer!",
        "Mutation.deleteCustomer(id: ID!): Boolean!",
        "Mutation.createOrder(input: CreateOrderInput!): Order!",
        "Mutation.createOrders(input: [CreateOrderInput!]!): [Order!]!",
        "Mutation.updateOrder(id: ID!, input: UpdateOrderInput!): Order!",
        "Mutation.deleteOrder(id: ID!): Boolean!",
        // With `last`/`before`, `first` has no SDL default (contract).
        "Query.customers(first: Int, after: String, last: Int, before: String, filter: CustomerFilter, where: CustomerWhere, orderBy: [CustomerOrderBy!]): CustomerConnection!",
        "Query.orders(first: Int, after: String, last: Int, before: String, filter: OrderFilter, where: OrderWhere, orderBy: [OrderOrderBy!]): OrderConnection!",
        "Customer.orders(first: Int, after: String, last: Int, before: String, where: OrderWhere, orderBy: [OrderOrderBy!]): OrderConnection!",
        "Subscription.orderCreated(customerId: ID): Order!",
        "Subscription.orderUpdated(customerId: ID): Order!",
        "Subscription.customerUpdated(id: ID): Customer!",
        "Subscription.topCustomersChanged(limit: Int! = 10, minOrders: Int! = 1): [CustomerSpending!]!",
    ] {
        assert!(
            sigs.iter().any(|s| s == needle),
            "missing {needle:?} in\n{}",
            sigs.join("\n")
        );
    }
    assert!(api::graphql::schema::sdl().contains("subscription: Subscription"));
    assert!(
        api::graphql::schema::sdl().contains(
            "scalar DateTime @specifiedBy(url: \"https://www.rfc-editor.org/rfc/rfc3339\")"
        )
    );
}

/// Generated clients show these descriptions to the people who read them.
#[test]
fn every_type_field_argument_input_field_and_enum_value_is_described() {
    let doc = parsed();
    let mut undescribed = Vec::new();
    for def in &doc.definitions {
        let TypeSystemDefinition::Type(ty) = def else {
            continue;
        };
        let name = ty.node.name.node.to_string();
        if ty.node.description.is_none() {
            undescribed.push(name.clone());
        }
        match &ty.node.kind {
            TypeKind::Object(obj) => {
                for f in &obj.fields {
                    if f.node.description.is_none() {
                        undescribed.push(format!("{name}.{}", f.node.name.node));
                    }
                    for a in &f.node.arguments {
                        if a.node.description.is_none() {
                            undescribed
                                .push(format!("{name}.{}({})", f.node.name.node, a.node.name.node));
                        }
                    }
                }
            }
            TypeKind::InputObject(input) => {
                for f in &input.fields {
                    if f.node.description.is_none() {
                        undescribed.push(format!("{name}.{}", f.node.name.node));
                    }
                }
            }
            TypeKind::Enum(e) => {
                for v in &e.values {
                    if v.node.description.is_none() {
                        undescribed.push(format!("{name}.{}", v.node.value.node));
                    }
                }
            }
            _ => {}
        }
    }
    assert!(
        undescribed.is_empty(),
        "without a description: {undescribed:?}"
    );
}

#[test]
fn the_command_line_is_well_formed() {
    api::cli::Cli::command().debug_assert();
}

/// Every variable the server reads is in the README's table and in
/// `.env.example`.
#[test]
fn every_setting_is_documented() {
    let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
    let readme = std::fs::read_to_string(root.join("README.md")).expect("README.md");
    let example = std::fs::read_to_string(root.join(".env.example")).expect(".env.example");
    let mut missing = Vec::new();
    for arg in api::cli::Cli::command().get_arguments() {
        let Some(env) = arg.get_env().and_then(|e| e.to_str()) else {
            continue;
        };
        if !readme.contains(&format!("| `{env}` |")) {
            missing.push(format!("{env} (README)"));
        }
        if !example.contains(&format!("{env}=")) {
            missing.push(format!("{env} (.env.example)"));
        }
    }
    assert!(missing.is_empty(), "undocumented: {missing:?}");
}
