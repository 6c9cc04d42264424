//! The indexes behind the common screens of the query builder (README,
//! "Query builder"): orders by total (`orders (total_cents, id)`: the
//! largest orders, or those above an amount, one page at a time), and
//! customers by name (`customers (name, id)`: the customer list by name,
//! also with a relation filter on their orders, which then probes each
//! listed customer's orders through the customer index). The id ends each
//! one, so a page of either order is one index range whatever the ties.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

#[derive(DeriveIden)]
enum Orders {
    Table,
    TotalCents,
    Id,
}

#[derive(DeriveIden)]
enum Customers {
    Table,
    Name,
    Id,
}

const ORDERS_BY_TOTAL: &str = "idx_orders_total_id";
const CUSTOMERS_BY_NAME: &str = "idx_customers_name_id";

#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_index(
                Index::create()
                    .name(ORDERS_BY_TOTAL)
                    .table(Orders::Table)
                    .col(Orders::TotalCents)
                    .col(Orders::Id)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name(CUSTOMERS_BY_NAME)
                    .table(Customers::Table)
                    .col(Customers::Name)
                    .col(Customers::Id)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_index(
                Index::drop()
                    .name(CUSTOMERS_BY_NAME)
                    .table(Customers::Table)
                    .to_owned(),
            )
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name(ORDERS_BY_TOTAL)
                    .table(Orders::Table)
                    .to_owned(),
            )
            .await
    }
}
