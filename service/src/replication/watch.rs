//! The checker task: how far behind the replica is, and whether it serves.

use std::collections::VecDeque;
use std::sync::Weak;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use super::{Inner, REPLAYED_POSITION, position, primary_position};

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
        let (primary, replica) = tokio::join!(
            tokio::time::timeout(timeout, primary_position(&inner.primary)),
            tokio::time::timeout(timeout, position(&inner.replica, REPLAYED_POSITION)),
        );
        let now = Instant::now();
        let previous = history.back().map(|(_, lsn)| *lsn);
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
                inner.replayed.fetch_max(replayed, Ordering::SeqCst);
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
                let serve = if serving {
                    lag <= max_lag
                } else {
                    lag <= max_lag && previous.is_some_and(|p| replayed >= p)
                };
                if serve != serving {
                    if serve {
                        tracing::info!(lag_ms = lag.as_millis() as u64, "the replica serves reads");
                    } else {
                        tracing::warn!(
                            lag_ms = lag.as_millis() as u64,
                            "the replica is too far behind; reads go to the primary"
                        );
                    }
                }
                if serve && !serving {
                    // Reads may still start on the primary until `serving`
                    // is seen; the position read after it bounds them.
                    inner.return_floor.store(u64::MAX, Ordering::SeqCst);
                    inner.serving.store(true, Ordering::SeqCst);
                    let floor = tokio::time::timeout(timeout, primary_position(&inner.primary))
                        .await
                        .ok()
                        .and_then(std::result::Result::ok);
                    match floor {
                        Some(floor) => inner.return_floor.store(floor, Ordering::SeqCst),
                        // Try again at the next check.
                        None => inner.serving.store(false, Ordering::SeqCst),
                    }
                } else {
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
