//! What the service layer tells of work it did outside SQL (cache reads,
//! fills and invalidations, event publications), for the server's traces.
//! The service knows no tracing library: a server that exports traces
//! installs a [`SpanHook`] and turns each [`Done`] into a span of the
//! current trace. Without one, nothing is measured or built.

use std::borrow::Cow;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

/// What kind of work a span was (OpenTelemetry's span kinds).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Work in this process.
    Internal,
    /// A call to another server (Redis).
    Client,
    /// A message sent for others to consume (an event's publication).
    Producer,
}

/// An attribute's value.
#[derive(Clone, Debug, PartialEq)]
pub enum Value {
    Str(Cow<'static, str>),
    Int(i64),
    Bool(bool),
}

impl From<&'static str> for Value {
    fn from(s: &'static str) -> Self {
        Value::Str(Cow::Borrowed(s))
    }
}

impl From<usize> for Value {
    fn from(n: usize) -> Self {
        Value::Int(i64::try_from(n).unwrap_or(i64::MAX))
    }
}

impl From<bool> for Value {
    fn from(b: bool) -> Self {
        Value::Bool(b)
    }
}

/// A piece of work that ended: a span of the current trace.
#[derive(Debug)]
pub struct Done {
    pub name: &'static str,
    pub kind: Kind,
    pub elapsed: Duration,
    /// Why it failed, if it did (never values, keys or payloads).
    pub error: Option<&'static str>,
    pub attributes: Vec<(&'static str, Value)>,
}

/// Told of each [`Done`], when it `wanted` one at its start (the current
/// trace keeps spans).
#[derive(Clone)]
pub struct SpanHook {
    pub wanted: Arc<dyn Fn() -> bool + Send + Sync>,
    pub done: Arc<dyn Fn(Done) + Send + Sync>,
}

impl std::fmt::Debug for SpanHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SpanHook")
    }
}

/// Where a part of the service keeps its hook (installed once, at start).
#[derive(Debug, Default)]
pub struct Spans(OnceLock<SpanHook>);

impl Spans {
    pub fn install(&self, hook: SpanHook) {
        let _ = self.0.set(hook);
    }

    /// When work starts: the time, if the hook wants to be told of it.
    pub fn start(&self) -> Option<Instant> {
        self.0
            .get()
            .filter(|hook| (hook.wanted)())
            .map(|_| Instant::now())
    }

    /// Tells the hook of work begun at `started` (from [`Spans::start`]);
    /// `attributes` are built only when there is one.
    pub fn done(
        &self,
        started: Option<Instant>,
        name: &'static str,
        kind: Kind,
        error: Option<&'static str>,
        attributes: impl FnOnce() -> Vec<(&'static str, Value)>,
    ) {
        let (Some(hook), Some(started)) = (self.0.get(), started) else {
            return;
        };
        (hook.done)(Done {
            name,
            kind,
            elapsed: started.elapsed(),
            error,
            attributes: attributes(),
        });
    }
}
