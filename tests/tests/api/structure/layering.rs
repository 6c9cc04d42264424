//! Modules depend one way, and transports enter the engine only through its doors.

use super::*;

#[test]
fn modules_depend_one_way() {
    let root = workspace();
    for (dir, prefix) in [
        ("service/src", "crate::"),
        ("service/src/cache", "crate::cache::"),
        ("service/src/queries", "crate::queries::"),
        ("api/src", "crate::"),
        ("api/src/graphql", "crate::graphql::"),
        ("api/src/graphql/engine", "crate::graphql::engine::"),
        ("api/src/graphql/schema", "crate::graphql::schema::"),
        ("api/src/routes", "crate::routes::"),
    ] {
        let graph = module_graph(&root.join(dir), prefix);
        assert!(graph.len() > 2, "{dir}: {graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{dir} has a module cycle: {}", cycle.join(" -> "));
        }
    }
    // The layering the style guide names, inside `service`.
    let service = module_graph(&root.join("service/src"), "crate::");
    for (lower, higher) in [
        ("queries", "bulk"),
        ("bulk", "cache"),
        ("cache", "customers"),
        ("customers", "seed"),
        ("orders", "import"),
    ] {
        assert!(
            !service[lower].contains(higher),
            "service::{lower} must not use service::{higher}"
        );
    }
    // GraphQL: the engine runs the schema, the schema runs under the
    // runtime; nothing below calls up, and nothing in GraphQL calls back
    // into a transport.
    let graphql = module_graph(&root.join("api/src/graphql"), "crate::graphql::");
    for (lower, higher) in [
        ("schema", "engine"),
        ("runtime", "schema"),
        ("runtime", "engine"),
    ] {
        assert!(
            !graphql[lower].contains(higher),
            "graphql::{lower} must not use graphql::{higher}"
        );
    }
    let api = module_graph(&root.join("api/src"), "crate::");
    assert!(
        !api["graphql"].contains("routes") && !api["graphql"].contains("startup"),
        "graphql must not use the transports or startup: {:?}",
        api["graphql"]
    );
}

#[test]
fn transports_enter_the_engine_through_its_doors() {
    // The HTTP and WebSocket transports reach the engine only through
    // `run_batch` and `subscribe`: no step of the pipeline is called from
    // a transport.
    let root = workspace();
    let code: String = rust_files(&root.join("api/src/routes"))
        .into_iter()
        .map(|p| without_tests(&std::fs::read_to_string(p).expect("read")).to_owned())
        .collect();
    for step in [
        ".prepare(",
        ".execute(",
        "execute_stream(",
        "DbGate",
        "too_costly",
    ] {
        assert!(
            !code.contains(step),
            "a transport calls `{step}`: route it through the engine's doors"
        );
    }
    assert!(code.contains(".run_batch(") && code.contains(".subscribe("));
}
