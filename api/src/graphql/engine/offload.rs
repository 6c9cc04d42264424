//! Keeping parsing and validation of large documents off the async workers
//! that serve every other request's tasks.

/// Documents past this size are parsed and checked off the async workers.
pub const LARGE_DOCUMENT_BYTES: usize = 8 * 1024;
/// Operations past this many selections are validated off the async workers.
pub const HEAVY_SELECTIONS: u64 = 300;

/// Runs `f` where it cannot hold up other requests' tasks when `heavy` and
/// the runtime has other workers to take them over (`block_in_place`);
/// inline otherwise. The limits bound `f`; this keeps even their worst case
/// from stalling everyone else on the same worker.
pub fn off_the_workers_if<T>(heavy: bool, f: impl FnOnce() -> T) -> T {
    let multi_thread = tokio::runtime::Handle::try_current()
        .is_ok_and(|h| h.runtime_flavor() == tokio::runtime::RuntimeFlavor::MultiThread);
    if heavy && multi_thread {
        tokio::task::block_in_place(f)
    } else {
        f()
    }
}

pin_project_lite::pin_project! {
    /// async-graphql parses and validates on the first poll of an execution:
    /// for a heavy document that poll runs off the workers.
    pub struct FirstPollOffTheWorkers<F> {
        #[pin]
        pub inner: F,
        pub heavy: bool,
    }
}

impl<F: std::future::Future> std::future::Future for FirstPollOffTheWorkers<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        if std::mem::take(this.heavy) {
            let inner = this.inner;
            return off_the_workers_if(true, move || inner.poll(cx));
        }
        this.inner.poll(cx)
    }
}
