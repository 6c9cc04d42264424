//! How many pooled connections one HTTP request may hold at once.
//!
//! Every database call a request makes (its dataloader fetches and the
//! statements of root fields) passes through the request's gate, so a
//! request of a thousand aliases runs its statements a few at a time and the
//! rest of the pool stays free for everyone else. A batch shares one gate.

use std::future::Future;
use std::sync::Arc;

use async_graphql::Context;
use tokio::sync::Semaphore;

/// The permits of one HTTP request.
#[derive(Clone, Debug)]
pub struct DbGate(Arc<Semaphore>);

impl DbGate {
    pub fn new(permits: usize) -> Self {
        DbGate(Arc::new(Semaphore::new(permits.max(1))))
    }

    /// Runs `fut` holding one permit.
    pub async fn run<T>(&self, fut: impl Future<Output = T>) -> T {
        // The semaphore is never closed, so acquiring cannot fail.
        let _permit = self.0.acquire().await.ok();
        fut.await
    }
}

/// Runs a resolver's database call through the request's gate (ungated
/// when the request has none, as in `print-schema`).
pub async fn gated<T>(ctx: &Context<'_>, fut: impl Future<Output = T>) -> T {
    match ctx.data_opt::<DbGate>() {
        Some(gate) => gate.run(fut).await,
        None => fut.await,
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn no_more_than_its_permits_run_at_once() {
        let gate = DbGate::new(3);
        let running = Arc::new(AtomicUsize::new(0));
        let peak = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..40)
            .map(|_| {
                let (gate, running, peak) = (gate.clone(), running.clone(), peak.clone());
                tokio::spawn(async move {
                    gate.run(async {
                        let now = running.fetch_add(1, Ordering::SeqCst) + 1;
                        peak.fetch_max(now, Ordering::SeqCst);
                        tokio::time::sleep(std::time::Duration::from_millis(2)).await;
                        running.fetch_sub(1, Ordering::SeqCst);
                    })
                    .await;
                })
            })
            .collect();
        for t in tasks {
            t.await.expect("task");
        }
        assert_eq!(peak.load(Ordering::SeqCst), 3);
    }
}
