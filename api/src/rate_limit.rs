//! The per-client rate limit (`RATE_LIMIT_PER_SECOND`): a keyed GCRA
//! limiter (governor), by caller (a customer's id, a staff token's
//! subject), else by address. HTTP requests and
//! WebSocket `subscribe` messages draw on the same allowance.

use std::net::SocketAddr;
use std::num::NonZeroU32;
use std::sync::Arc;
use std::time::Duration;

use governor::{DefaultKeyedRateLimiter, Quota, RateLimiter};

/// Per-client limiter: by caller, else by address.
pub type ClientLimiter = DefaultKeyedRateLimiter<String>;

/// The key a caller's requests count under: its `customer_id` for a
/// customer, its token's subject for staff, else its address.
pub fn client_key(auth: &crate::auth::Auth, peer: Option<SocketAddr>) -> String {
    match auth.caller() {
        Some(caller) => caller,
        None => peer.map_or_else(|| "ip:unknown".to_owned(), |a| format!("ip:{}", a.ip())),
    }
}

/// The limiter for `per_second` requests (bursts of `burst`); `None` when off.
pub fn limiter(per_second: Option<u32>, burst: Option<u32>) -> Option<Arc<ClientLimiter>> {
    let rate = NonZeroU32::new(per_second?)?;
    let burst = burst.and_then(NonZeroU32::new).unwrap_or(rate);
    let limiter = Arc::new(RateLimiter::keyed(
        Quota::per_second(rate).allow_burst(burst),
    ));
    // Forget idle clients now and then, so the map stays small.
    let weak = Arc::downgrade(&limiter);
    tokio::spawn(async move {
        let mut tick = tokio::time::interval(Duration::from_secs(60));
        loop {
            tick.tick().await;
            let Some(l) = weak.upgrade() else { return };
            l.retain_recent();
            l.shrink_to_fit();
        }
    });
    Some(limiter)
}

/// Counts one request of `client` against `limiter`: `Err` with the
/// refusal's message and the whole seconds to wait when it is over
/// (counted in `http_rate_limited_total`).
pub fn check(
    limiter: &ClientLimiter,
    per_second: Option<u32>,
    client: String,
) -> Result<(), (String, u64)> {
    use governor::clock::{Clock as _, DefaultClock};
    let Err(not_until) = limiter.check_key(&client) else {
        return Ok(());
    };
    let secs = not_until
        .wait_time_from(DefaultClock::default().now())
        .as_secs()
        .max(1);
    metrics::counter!("http_rate_limited_total").increment(1);
    Err((
        format!(
            "too many requests: at most {} per second per client (subscriptions included); retry after {secs} s",
            per_second.unwrap_or_default()
        ),
        secs,
    ))
}
