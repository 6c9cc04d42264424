//! Reads go through a caller's view.

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
}
