//! The customer and order GraphQL server: HTTP, schema and CLI. SQL lives in
//! `service`; this crate writes none.

pub mod auth;
pub mod cli;
pub mod demo;
pub mod graphql;
pub mod live;
pub mod playground;
pub mod rate_limit;
pub mod routes;
pub mod server;
pub mod settings;
pub mod startup;
pub mod state;
pub mod telemetry;
