//! What resolvers run under, provided per request by the engine: the error
//! codes of the contract, the database gate (connections one request may
//! hold), the fetch queue (when dataloader batches run) and, for
//! subscriptions, the WebSocket connection they report to.

pub mod db_gate;
pub mod error;
pub mod fetch_queue;
mod live;

pub use live::{Listening, LiveConnection};
