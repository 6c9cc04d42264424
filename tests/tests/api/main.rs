//! One test binary: every module talks to the real server over HTTP, backed
//! by PostgreSQL when `DATABASE_URL` is set (a fresh database per test) and
//! by a fresh SQLite file otherwise.

mod helpers;
mod pgbouncer;
mod proxy;
mod redis_server;
mod replica_cluster;
mod ws_client;

mod aggregates;
mod attacks;
mod auth;
mod batching;
mod bulk;
mod cache;
mod clients;
mod compose;
mod connections;
mod cors;
mod customers;
mod dashboards;
mod errors;
pub mod faults;
mod generated;
mod health;
mod http;
mod limits;
mod migrations;
mod ops;
mod orders;
mod pagination;
mod persisted;
mod poolers;
mod replicas;
mod schema;
mod spec;
mod structure;
mod subscriptions;
mod traces;
mod views;
