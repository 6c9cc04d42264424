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
    let client = crate::rate_limit::client_key(auth, peer);
    let (message, _) =
        crate::rate_limit::check(limiter, state.http.rate_limit_per_second, client).err()?;
    let errors = [coded(Code::ServiceUnavailable, message)];
    Some(
        ServerMessage::Error {
            id,
            payload: &errors,
        }
        .text(),
    )
}
