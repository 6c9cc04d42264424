//! Reads go through a caller's view (the README's "Who sees what").

use super::*;

#[test]
fn the_api_reads_only_through_a_callers_view() {
    // `service` builds its customer and order services only with a view
    // (`Store::customers(&view)`, `Store::orders(&view)`); `api` must not
    // reach around them to the statements underneath.
    let root = workspace();
    for file in rust_files(&root.join("api/src")) {
        let text = std::fs::read_to_string(&file).expect("read");
        for around in [
            "service::queries",
            "service::compose::pages",
            "service::compose::counts",
            "service::compose::budget::check",
            "service::aggregates::aggregate",
            "service::aggregates::grouped",
            "CustomerService::new",
            "OrderService::new",
        ] {
            assert!(
                !without_tests(&text).contains(around),
                "{} uses `{around}`: read through Store::customers/orders with the caller's view",
                file.display()
            );
        }
    }
    let service = std::fs::read_to_string(root.join("service/src/lib.rs")).expect("read");
    assert!(service.contains("pub fn customers<'a>(&'a self, view: &'a View)"));
    assert!(service.contains("pub fn orders<'a>(&'a self, view: &'a View)"));
    assert!(service.contains("view: &View,\n        reads: &[compose::budget::Read],"));
}

/// The public functions of `text` that take a database connection, each
/// with its signature (from `fn` to the body's `{`).
fn functions_taking_a_connection(text: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut rest = text;
    while let Some(i) = rest.find("pub") {
        rest = &rest[i..];
        let head = rest
            .strip_prefix("pub(crate) ")
            .or_else(|| rest.strip_prefix("pub(super) "))
            .or_else(|| rest.strip_prefix("pub "));
        let Some(head) = head else {
            rest = &rest[3..];
            continue;
        };
        let head = head.strip_prefix("async ").unwrap_or(head);
        if let Some(after) = head.strip_prefix("fn ") {
            let end = after.find('{').unwrap_or(after.len());
            let signature = &after[..end];
            let name: String = signature
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            if ["ConnectionTrait", "&Db", "db: &", "conn: &"]
                .iter()
                .any(|c| signature.contains(c))
            {
                out.push((name, signature.to_owned()));
            }
        }
        rest = &rest[3..];
    }
    out
}

#[test]
fn every_read_of_the_service_layer_takes_what_a_view_made() {
    // A function that builds a read of customers or orders takes what it
    // reads about as a `Seen` value (only a view makes one: a filter with
    // the view's condition, ids the view sees) or the `Everything` proof
    // only the unrestricted view gives. A new read that takes a plain
    // filter, ids or nothing fails here.
    let root = workspace();
    // Reads of something else than rows: the row budget reads the catalog
    // and the planner's estimates; `existing_ids` tells a bulk insert's
    // check which customers exist (writers only: a customer's creation is
    // checked against its view before, `bulk::check_customers_seen`).
    let not_rows = ["compose/budget/", "compose/shape.rs"];
    let allowed = ["existing_ids"];
    let mut checked = 0;
    for dir in ["compose", "aggregates", "queries"] {
        for file in rust_files(&root.join("service/src").join(dir)) {
            let path = file.to_string_lossy().replace('\\', "/");
            if not_rows.iter().any(|n| path.contains(n)) {
                continue;
            }
            let text = std::fs::read_to_string(&file).expect("read");
            for (name, signature) in functions_taking_a_connection(without_tests(&text)) {
                if allowed.contains(&name.as_str()) {
                    continue;
                }
                checked += 1;
                assert!(
                    signature.contains("Seen<") || signature.contains("Everything"),
                    "{path}: `{name}` reads without a view: take a `Seen` value (View::customers, View::orders, View::customer_ids, View::order_ids) or `Everything`"
                );
            }
        }
    }
    assert!(
        checked >= 14,
        "only {checked} reads found: the scan is broken"
    );
    // Only the view and the restriction of filters make `Seen` values.
    for file in rust_files(&root.join("service/src")) {
        let path = file.to_string_lossy().replace('\\', "/");
        let text = std::fs::read_to_string(&file).expect("read");
        if path.ends_with("service/src/view.rs") || path.ends_with("compose/restrict.rs") {
            continue;
        }
        assert!(
            !text.contains("Seen::made") && !text.contains("Seen {"),
            "{path} makes a `Seen` value: only a view does"
        );
    }
}
