//! The checker task: how far behind the replica is, and whether it serves.

use std::collections::VecDeque;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{CATCH_UP, Inner, REPLAYED_POSITION, position, primary_position};

/// The checker: every interval, both positions; the lag; whether the
/// replica serves. Ends when the replication is dropped.
pub(super) async fn watch(replication: Weak<Inner>) {
    // (when, primary position) of recent checks, oldest first.
    let mut history: VecDeque<(Instant, u64)> = VecDeque::new();
    loop {
        let Some(inner) = replication.upgrade() else {
            return;
        };
        let interval = inner.settings.interval;
        let max_lag = inner.settings.max_lag;
        let timeout = interval.max(Duration::from_millis(500));
        // Every position recorded so far was asked before this check's.
        let before = inner.replayed.load(Ordering::SeqCst);
        let (primary, replica) = tokio::join!(
            tokio::time::timeout(timeout, primary_position(&inner.primary)),
            tokio::time::timeout(timeout, position(&inner.replica, REPLAYED_POSITION)),
        );
        let now = Instant::now();
        if let Ok(Ok(lsn)) = primary {
            history.push_back((now, lsn));
        }
        while history
            .front()
            .is_some_and(|(at, _)| now.duration_since(*at) > max_lag * 2 + interval * 4)
        {
            history.pop_front();
        }
        match replica {
            Ok(Ok(replayed)) => {
                if replayed < before {
                    // The server behind the replica URL is not where the
                    // replica was (restarted from an earlier point, or
                    // another server): believe it, and bypass it until it
                    // is let back with a fresh position.
                    inner.replayed.store(replayed, Ordering::SeqCst);
                    if inner.serving.swap(false, Ordering::SeqCst) {
                        tracing::warn!("the replica went back; reads go to the primary");
                    }
                } else {
                    inner.replayed.fetch_max(replayed, Ordering::SeqCst);
                }
                inner.reachable.store(true, Ordering::SeqCst);
                // The lag: how long ago the primary was first past `replayed`.
                let behind_since = history
                    .iter()
                    .find(|(_, lsn)| *lsn > replayed)
                    .map(|(at, _)| *at);
                let lag = behind_since.map_or(Duration::ZERO, |at| now.duration_since(at));
                inner.lag_ms.store(
                    u64::try_from(lag.as_millis()).unwrap_or(u64::MAX),
                    Ordering::SeqCst,
                );
                metrics::gauge!("replica_lag_seconds").set(lag.as_secs_f64());
                let serving = inner.serving.load(Ordering::SeqCst);
                let serve = lag <= max_lag;
                // Let back only a replica that can replay the primary's
                // position well within the time queries wait for it.
                if serve && !serving && lag <= CATCH_UP / 2 {
                    let back = let_back(&inner, timeout).await;
                    if back {
                        tracing::info!(lag_ms = lag.as_millis() as u64, "the replica serves reads");
                    }
                } else if serving {
                    if !serve {
                        tracing::warn!(
                            lag_ms = lag.as_millis() as u64,
                            "the replica is too far behind; reads go to the primary"
                        );
                    }
                    inner.serving.store(serve, Ordering::SeqCst);
                }
            }
            _ => {
                if inner.reachable.swap(false, Ordering::SeqCst)
                    || inner.serving.load(Ordering::SeqCst)
                {
                    tracing::warn!("the replica does not answer; reads go to the primary");
                }
                inner.serving.store(false, Ordering::SeqCst);
            }
        }
        metrics::gauge!("replica_serving").set(if inner.serving.load(Ordering::SeqCst) {
            1.0
        } else {
            0.0
        });
        drop(inner);
        tokio::time::sleep(interval).await;
    }
}

/// Lets the replica serve again after a bypass: from now on queries wait
/// for it (none starts on the primary any more), the primary's position is
/// read (every primary read routed before is bounded by it, but for one
/// whose statement started later still), and the replica must replay that
/// position within [`CATCH_UP`]; then the waiting queries read it. If it
/// does not, the bypass goes on and the waiting queries read the primary.
async fn let_back(inner: &Inner, timeout: Duration) -> bool {
    inner.return_floor.store(u64::MAX, Ordering::SeqCst);
    inner.serving.store(true, Ordering::SeqCst);
    let deadline = Instant::now() + CATCH_UP;
    let floor = tokio::time::timeout(timeout, primary_position(&inner.primary))
        .await
        .ok()
        .and_then(std::result::Result::ok);
    let mut back = false;
    if let Some(floor) = floor {
        inner.return_floor.store(floor, Ordering::SeqCst);
        while Instant::now() < deadline {
            if inner.replayed.load(Ordering::SeqCst) >= floor {
                back = true;
                break;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
            if let Ok(Ok(now)) =
                tokio::time::timeout(timeout, position(&inner.replica, REPLAYED_POSITION)).await
            {
                inner.replayed.fetch_max(now, Ordering::SeqCst);
            }
        }
    }
    if !back {
        inner.serving.store(false, Ordering::SeqCst);
    }
    inner.caught_up.notify_waiters();
    back
}
