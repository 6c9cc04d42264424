//! Metrics of GraphQL operations: requests, durations and errors by code,
//! labelled by operation names the server knows.

use std::time::Instant;

use async_graphql::ServerError;
use metrics::{Counter, Histogram};
use service::metered::ByKey;

use super::persisted::Persisted;
use crate::auth::Auth;
use crate::graphql::runtime::error::code_of;

/// Operation names label metrics only when the server knows them (the
/// manifest declares them, or a staff token's caller sent them), so
/// strangers and customers cannot fill the label set with junk.
pub fn label(name: Option<&str>, auth: &Auth, persisted: &Persisted) -> String {
    let Some(name) = name else {
        return "anonymous".to_owned();
    };
    let known = persisted.knows_name(name) || auth.is_staff_token();
    if !known {
        return "unlisted".to_owned();
    }
    metrics_label(name)
}

/// Distinct operation names kept as metric labels; later ones count as `other`.
const MAX_OPERATION_LABELS: usize = 200;

/// An operation name as a metric label: short, plain and bounded in number.
pub fn metrics_label(name: &str) -> String {
    static SEEN: std::sync::OnceLock<std::sync::Mutex<std::collections::HashSet<String>>> =
        std::sync::OnceLock::new();
    if name.is_empty()
        || name.len() > 64
        || !name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
    {
        return "invalid".to_owned();
    }
    let mut seen = SEEN
        .get_or_init(Default::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(name) {
        name.to_owned()
    } else if seen.len() < MAX_OPERATION_LABELS {
        seen.insert(name.to_owned());
        name.to_owned()
    } else {
        "other".to_owned()
    }
}

/// Counts one executed operation.
pub fn record(label: &str, errors: &[ServerError], started: Instant) {
    let outcome = if errors.is_empty() { "ok" } else { "error" };
    for err in errors {
        let code = code_of(err).unwrap_or_default();
        metrics::counter!("graphql_errors_total", "code" => code).increment(1);
    }
    static SUCCEEDED: ByKey<String, Counter> = ByKey::new();
    static FAILED: ByKey<String, Counter> = ByKey::new();
    static DURATIONS: ByKey<String, Histogram> = ByKey::new();
    let requests = if errors.is_empty() {
        &SUCCEEDED
    } else {
        &FAILED
    };
    requests.with(
        label,
        str::to_owned,
        || metrics::counter!("graphql_requests_total", "operation" => label.to_owned(), "outcome" => outcome),
        |c| c.increment(1),
    );
    DURATIONS.with(
        label,
        str::to_owned,
        || metrics::histogram!("graphql_request_duration_seconds", "operation" => label.to_owned()),
        |h| h.record(started.elapsed().as_secs_f64()),
    );
}
