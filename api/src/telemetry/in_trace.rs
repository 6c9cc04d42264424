//! A future polled in a trace context, when there is one.

use opentelemetry::Context;

pin_project_lite::pin_project! {
    /// `inner`, polled with `cx` as the current context when there is one
    /// (one future type whether traced or not: the untraced path pays an
    /// `Option` check, and its future is not moved around).
    pub struct InTrace<F> {
        #[pin]
        inner: F,
        cx: Option<Context>,
    }
}

/// Runs `inner` in `cx`'s trace, if any.
pub fn in_trace<F: std::future::Future>(inner: F, cx: Option<Context>) -> InTrace<F> {
    InTrace { inner, cx }
}

impl<F: std::future::Future> std::future::Future for InTrace<F> {
    type Output = F::Output;

    fn poll(
        self: std::pin::Pin<&mut Self>,
        task: &mut std::task::Context<'_>,
    ) -> std::task::Poll<F::Output> {
        let this = self.project();
        let _attached = this.cx.as_ref().map(|cx| cx.clone().attach());
        this.inner.poll(task)
    }
}
