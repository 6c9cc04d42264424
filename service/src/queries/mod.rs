//! SQL shared below the services: lookups and the ranking (composed pages:
//! `compose::pages`).
//! Depends only on the model; every writer and service above may use it.

pub mod columns;
pub mod lookups;
pub mod ranking;

pub use lookups::{existing_ids, stats_for_customers};
