//! SeaORM entities: the database rows of the server.
//!
//! Rows are not API types: `service` turns them into domain values and `api`
//! into GraphQL objects. Money is stored in integer minor units (cents).
//!
//! Regenerate against a migrated database with
//! `sea-orm-cli generate entity -o entity/src --lib`, then keep the doc
//! comments and the `status` column's value type.

pub mod customer;
pub mod customer_stats;
pub mod order;

pub mod prelude {
    pub use super::customer::Entity as Customer;
    pub use super::customer_stats::Entity as CustomerStats;
    pub use super::order::Entity as Order;
}
