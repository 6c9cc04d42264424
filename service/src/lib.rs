//! Queries, mutations, batch loads and the result cache of the customer and
//! order server. Knows no HTTP and no GraphQL: `api` calls it.

pub mod bulk;
pub mod cache;
pub mod customers;
pub mod db;
pub mod documents;
pub mod error;
pub mod events;
pub mod import;
pub mod input;
pub mod model;
pub mod money;
pub mod orders;
pub mod queries;
pub mod seed;
pub mod stats;

use sea_orm::DatabaseConnection;

pub use crate::cache::Cache;
pub use crate::customers::CustomerService;
pub use crate::error::{Error, Result};
pub use crate::events::EventBus;
pub use crate::orders::OrderService;

/// Limits the service enforces whatever the caller.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    /// Most rows one bulk create may carry.
    pub max_bulk_rows: usize,
}

/// The database, the cache, the event bus and the limits: everything a
/// service call needs.
#[derive(Clone, Debug)]
pub struct Store {
    pub db: DatabaseConnection,
    pub cache: Cache,
    pub events: EventBus,
    pub limits: Limits,
}

impl Store {
    /// A store whose events stay in this process (see [`Store::with_events`]).
    pub fn new(db: DatabaseConnection, cache: Cache, limits: Limits) -> Self {
        Store {
            db,
            cache,
            events: EventBus::in_process(events::DEFAULT_BACKLOG),
            limits,
        }
    }

    /// The same store publishing on `events`.
    pub fn with_events(mut self, events: EventBus) -> Self {
        self.events = events;
        self
    }

    pub fn customers(&self) -> CustomerService<'_> {
        CustomerService::new(self)
    }

    pub fn orders(&self) -> OrderService<'_> {
        OrderService::new(self)
    }
}
