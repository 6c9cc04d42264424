//! GraphQL, in three parts that depend one way (engine → schema → runtime):
//!
//! - [`engine`]: what happens to a document between a transport and the
//!   resolvers. Both transports (HTTP in `routes::graphql`, the WebSocket in
//!   `routes::graphql::ws`) call it through one door each,
//!   [`engine::Engine::run_batch`] and [`engine::Engine::subscribe`], and
//!   only encode what it returns. Behind the door: persisted documents, the
//!   text limits, parsing, the operation and its type, expansion, argument
//!   values, cost (one budget per HTTP request), the database gate, the
//!   replica choice, async-graphql's validation and execution, and the
//!   completion of its result to the specification.
//! - [`schema`]: what clients see: the roots split by domain, the object and
//!   input types, scalars, the guard, the dataloaders and the fields' cost
//!   weights. It knows nothing of the engine.
//! - [`runtime`]: what a resolver runs under and the engine provides per
//!   request: error codes, the database gate, the fetch queue that schedules
//!   dataloader batches, the live connection a subscription reports to.

pub mod engine;
pub mod runtime;
pub mod schema;
