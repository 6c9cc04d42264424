use clap::CommandFactory;

#[test]
fn schema_graphql_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../schema.graphql");
    let on_disk = std::fs::read_to_string(&path).expect("schema.graphql at the workspace root");
    let generated = api::graphql::sdl();
    assert!(
        on_disk == generated,
        "schema.graphql is stale: run `cargo run -p api -- print-schema > schema.graphql`"
    );
}

#[test]
fn the_schema_holds_the_contracts_fixed_part() {
    let sdl = api::graphql::sdl();
    for needle in [
        "scalar Decimal",
        "scalar DateTime",
        "enum OrderStatus",
        "customer(id: ID!): Customer",
        "topCustomers(",
        "createCustomers(input: [CreateCustomerInput!]!): [Customer!]!",
        "createOrders(input: [CreateOrderInput!]!): [Order!]!",
        "deleteCustomer(id: ID!): Boolean!",
        "totalSpent: Decimal!",
        "status: OrderStatus = PENDING",
    ] {
        assert!(sdl.contains(needle), "missing {needle:?}");
    }
}

#[test]
fn the_command_line_is_well_formed() {
    api::cli::Cli::command().debug_assert();
}
