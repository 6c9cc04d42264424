//! SQL shared below the services: lookups, the ranking, keyset pages.
//! Depends only on the model; every writer and service above may use it.

pub mod columns;
pub mod lookups;
pub mod pages;
pub mod ranking;

pub use lookups::{existing_ids, stats_for_customers};
