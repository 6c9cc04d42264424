//! The index behind the customer search screen (README, "Query builder"):
//! `customers (where: {name: {contains: "ann", caseInsensitive: true}})`.
//! A substring has no B-tree order to use, so without this index every
//! search reads every customer; PostgreSQL's `pg_trgm` extension indexes
//! the trigrams of `lower(name)` (`GIN (lower(name) gin_trgm_ops)`), which
//! serves exactly the `lower(name) LIKE lower('%…%') ESCAPE '!'` that the
//! query builder sends for a case-insensitive `contains`, `startsWith` or
//! `endsWith` of three characters or more.
//!
//! `pg_trgm` ships with PostgreSQL (contrib) and is a trusted extension: a
//! role that may create objects in the database may install it. Where it is
//! not available, or the role may not install it, the migration creates
//! nothing and says so in a notice; searches then read every customer, as
//! before, and an operator may run the two statements of [`POSTGRES_UP`]
//! later (the row budget reads the indexes at run time). SQLite has no
//! such index: nothing to do there.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::{ConnectionTrait, DbBackend, Statement};

#[derive(DeriveMigrationName)]
pub struct Migration;

const POSTGRES_UP: &[&str] = &[
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    "CREATE INDEX IF NOT EXISTS idx_customers_name_trgm \
     ON customers USING gin (lower(name) gin_trgm_ops)",
];

/// Whether `pg_trgm` is installed, or available and installable by this role.
const CAN_INDEX: &str = "SELECT EXISTS (SELECT 1 FROM pg_extension WHERE extname = 'pg_trgm') \
       OR (EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'pg_trgm') \
           AND (has_database_privilege(current_database(), 'CREATE') \
                OR (SELECT rolsuper FROM pg_roles WHERE rolname = current_user))) \
     AS can_index";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        let row = db
            .query_one_raw(Statement::from_string(DbBackend::Postgres, CAN_INDEX))
            .await?;
        let can_index = match row {
            Some(row) => row.try_get::<bool>("", "can_index")?,
            None => false,
        };
        if !can_index {
            db.execute_unprepared(
                "DO $$ BEGIN RAISE NOTICE 'pg_trgm is not available to this role: \
                 customer name searches read every customer (see the README, Query builder)'; END $$",
            )
            .await?;
            return Ok(());
        }
        for sql in POSTGRES_UP {
            db.execute_unprepared(sql).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        let db = manager.get_connection();
        if db.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        // The extension stays: other objects may use it.
        db.execute_unprepared("DROP INDEX IF EXISTS idx_customers_name_trgm")
            .await?;
        Ok(())
    }
}
