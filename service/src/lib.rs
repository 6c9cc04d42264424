//! Queries, mutations, batch loads and the result cache of the customer and
//! order server. Knows no HTTP and no GraphQL: `api` calls it.

pub mod aggregates;
pub mod bulk;
pub mod cache;
pub mod compose;
pub mod customers;
pub mod db;
pub mod documents;
pub mod error;
pub mod events;
pub mod import;
pub mod input;
pub mod metered;
pub mod model;
pub mod money;
pub mod orders;
pub mod queries;
pub mod replication;
pub mod seed;
pub mod spans;
pub mod stats;
pub mod view;

use crate::db::Db;

pub use crate::cache::Cache;
use crate::cache::{Fill, Scope};
pub use crate::customers::CustomerService;
pub use crate::error::{Error, Result};
pub use crate::events::EventBus;
pub use crate::orders::OrderService;
pub use crate::replication::Replication;
use crate::replication::{ReplicaStatus, Route};
pub use crate::view::View;

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
    /// The database this store reads (and, on the primary, writes).
    pub db: Db,
    pub cache: Cache,
    pub events: EventBus,
    pub limits: Limits,
    /// The read replica, when `DATABASE_READ_URL` is set.
    pub replication: Option<Replication>,
    /// Cache versions carry the WAL position of their write (a replica
    /// exists somewhere): see `cache` and `replication`.
    wal_positions: bool,
    /// `db` is the replica.
    on_replica: bool,
    /// What the row budget knows of the tables (shared by every clone).
    catalog: compose::budget::catalog::CatalogCache,
    /// The orders' extent the last rollup read saw (shared by every clone).
    pub(crate) extent: aggregates::rollups::LastExtent,
}

impl Store {
    /// A store whose events stay in this process (see [`Store::with_events`]).
    pub fn new(db: Db, cache: Cache, limits: Limits) -> Self {
        Store {
            db,
            cache,
            events: EventBus::in_process(events::DEFAULT_BACKLOG),
            limits,
            replication: None,
            wal_positions: false,
            on_replica: false,
            catalog: Default::default(),
            extent: Default::default(),
        }
    }

    /// The same store publishing on `events`.
    pub fn with_events(mut self, events: EventBus) -> Self {
        self.events = events;
        self
    }

    /// The same store with a read replica (see [`Store::for_query`]).
    pub fn with_replication(mut self, replication: Replication) -> Self {
        self.replication = Some(replication);
        self.wal_positions = true;
        self
    }

    /// The same store, its invalidations carrying WAL positions (for writers
    /// without a replica of their own, such as `import`, in a deployment
    /// that reads from one).
    pub fn with_wal_positions(mut self) -> Self {
        self.wal_positions = true;
        self
    }

    /// Makes what `scopes` cached unreachable after a commit; with
    /// replicas, at the primary's position after it.
    pub async fn invalidate(&self, scopes: &[Scope]) {
        let lsn = if let Some(replication) = &self.replication {
            replication.after_commit().await
        } else if self.wal_positions {
            replication::primary_position(&self.db).await
        } else {
            Ok(0)
        };
        let lsn = match lsn {
            Ok(lsn) => (lsn > 0).then_some(lsn),
            Err(e) => {
                tracing::warn!(error = %e, "the WAL position after a commit could not be read");
                // Without it, neither the cache versions nor the writer's
                // mark can hold the replica back from this write: bypass
                // the replica until it is let back past a fresh position.
                if let Some(replication) = &self.replication {
                    replication.suspect();
                }
                None
            }
        };
        self.cache.invalidate_after(scopes, lsn).await;
    }

    /// The store one query reads through: the replica when it may serve
    /// `caller` (its token's subject), else the primary (see `replication`).
    pub async fn for_query(&self, caller: Option<&str>) -> Store {
        let Some(replication) = &self.replication else {
            return self.clone();
        };
        match replication.route(caller).await {
            Route::Replica(replayed) => Store {
                db: replication.replica().clone(),
                cache: self.cache.with_fill(Fill::UpTo(replayed)),
                on_replica: true,
                ..self.clone()
            },
            Route::PrimaryForCaller => self.primary_only(),
            Route::PrimaryBypassing => self.clone(),
        }
    }

    /// Whether this store reads the replica.
    pub fn reads_replica(&self) -> bool {
        self.on_replica
    }

    /// The store of a mutation or a subscription: the primary; while the
    /// replica serves others, nothing read here is cached (it may be newer
    /// than what the replica shows).
    pub fn for_writes(&self) -> Store {
        match &self.replication {
            Some(r) if r.status().0 == ReplicaStatus::Up => self.primary_only(),
            _ => self.clone(),
        }
    }

    fn primary_only(&self) -> Store {
        Store {
            cache: self.cache.with_fill(Fill::Never),
            ..self.clone()
        }
    }

    /// Whether a request's composed `reads` fit `budget` rows (see
    /// [`compose::budget`]) as `view` makes them; estimated on the
    /// database this store reads.
    pub async fn row_budget(
        &self,
        view: &View,
        reads: &[compose::budget::Read],
        budget: u64,
    ) -> Result<Result<compose::budget::Within, compose::budget::OverBudget>> {
        // The unrestricted view changes no read: nothing to copy.
        if view.is_unrestricted() {
            return Ok(compose::budget::check(&self.db, &self.catalog, reads, budget).await?);
        }
        let seen: Vec<compose::budget::Read> = reads.iter().map(|r| r.seen_by(view)).collect();
        Ok(compose::budget::check(&self.db, &self.catalog, &seen, budget).await?)
    }

    /// Reads what the row budget knows of the tables now (at start, so no
    /// request waits for it).
    pub async fn read_catalog(&self) -> Result<()> {
        self.catalog.refresh(&self.db).await?;
        Ok(())
    }

    /// Whether the database keeps order rollups, as the catalog last read
    /// found (at start, then every minute while requests come).
    pub fn keeps_rollups(&self) -> bool {
        self.catalog.rollups()
    }

    /// Customers as `view` sees them (see [`view`]).
    pub fn customers<'a>(&'a self, view: &'a View) -> CustomerService<'a> {
        CustomerService::new(self, view)
    }

    /// Orders as `view` sees them (see [`view`]).
    pub fn orders<'a>(&'a self, view: &'a View) -> OrderService<'a> {
        OrderService::new(self, view)
    }
}
