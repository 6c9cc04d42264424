//! GraphQL objects and inputs: their own structs, built from service values.

pub mod aggregates;
pub mod connection;
pub mod customer;
pub mod filters;
pub mod inputs;
pub mod lists;
pub mod order;
pub mod wheres;

pub use connection::{CustomerConnection, OrderConnection, PageInfo};
pub use customer::{Customer, CustomerSpending};
pub use order::{Order, OrderStatus};
