//! A closed-loop load driver: `concurrency` workers, each sending the next
//! request as soon as the last one answered, for a fixed duration; latencies
//! go into HDR histograms.

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::{Duration, Instant};

use hdrhistogram::Histogram;

/// What one run measured.
#[derive(Clone, Debug)]
pub struct Figures {
    pub requests: u64,
    pub errors: u64,
    /// Errors by code (GraphQL `extensions.code`, HTTP status, or transport).
    pub errors_by_code: BTreeMap<String, u64>,
    pub seconds: f64,
    pub p50_ms: f64,
    pub p99_ms: f64,
}

impl Figures {
    pub fn rps(&self) -> f64 {
        self.requests as f64 / self.seconds.max(1e-9)
    }
}

/// Runs `op(worker, i)` from `concurrency` workers for `duration`; `op`
/// returns `Err(code)` for a failed request.
pub async fn run<F, Fut>(concurrency: usize, duration: Duration, op: F) -> Figures
where
    F: Fn(usize, u64) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), String>> + Send,
{
    let op = Arc::new(op);
    let started = Instant::now();
    let deadline = started + duration;
    let workers: Vec<_> = (0..concurrency)
        .map(|w| {
            let op = op.clone();
            tokio::spawn(async move {
                let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000, 3)
                    .expect("BUG: valid histogram bounds");
                let (mut ok, mut i) = (0u64, 0u64);
                let mut errors: BTreeMap<String, u64> = BTreeMap::new();
                while Instant::now() < deadline {
                    let t = Instant::now();
                    let result = op(w, i).await;
                    let micros = u64::try_from(t.elapsed().as_micros()).unwrap_or(u64::MAX);
                    let _ = hist.record(micros.clamp(1, 60_000_000));
                    match result {
                        Ok(()) => ok += 1,
                        Err(code) => *errors.entry(code).or_default() += 1,
                    }
                    i += 1;
                }
                (hist, ok, errors)
            })
        })
        .collect();
    let mut total =
        Histogram::<u64>::new_with_bounds(1, 60_000_000, 3).expect("BUG: valid histogram bounds");
    let mut ok = 0;
    let mut errors_by_code: BTreeMap<String, u64> = BTreeMap::new();
    for w in workers {
        if let Ok((h, o, e)) = w.await {
            let _ = total.add(h);
            ok += o;
            for (code, n) in e {
                *errors_by_code.entry(code).or_default() += n;
            }
        }
    }
    let errors: u64 = errors_by_code.values().sum();
    Figures {
        requests: ok + errors,
        errors,
        errors_by_code,
        seconds: started.elapsed().as_secs_f64(),
        p50_ms: total.value_at_quantile(0.5) as f64 / 1000.0,
        p99_ms: total.value_at_quantile(0.99) as f64 / 1000.0,
    }
}

/// Resident memory of this process in MiB (Linux), if known.
pub fn rss_mib() -> Option<f64> {
    crate::process::rss_of(std::process::id())
}
