//! `subscribe` messages against the caller's rate limit
//! (`RATE_LIMIT_PER_SECOND`), the allowance HTTP requests draw on.

use super::session::ServerMessage;
use crate::auth::Auth;
use crate::graphql::runtime::error::{Code, coded};
use crate::state::AppState;

/// A `subscribe` over the caller's rate limit: the `error` message that
/// refuses it, or `None` when it may run.
pub(super) fn over_rate(
    state: &AppState,
    auth: &Auth,
    peer: Option<std::net::SocketAddr>,
    id: &str,
) -> Option<String> {
    let limiter = state.limiter.as_ref()?;
    let not_until = limiter
        .check_key(&crate::rate_limit::client_key(auth, peer))
        .err()?;
    let wait = not_until.wait_time_from(governor::clock::Clock::now(
        &governor::clock::DefaultClock::default(),
    ));
    metrics::counter!("http_rate_limited_total").increment(1);
    let errors = [coded(
        Code::ServiceUnavailable,
        format!(
            "too many requests: at most {} per second per client, subscriptions included; retry after {} s",
            state.http.rate_limit_per_second.unwrap_or_default(),
            wait.as_secs().max(1)
        ),
    )];
    Some(
        ServerMessage::Error {
            id,
            payload: &errors,
        }
        .text(),
    )
}
