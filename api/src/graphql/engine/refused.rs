//! The limits a request must keep, and what a request that will not run
//! carries back to its transport.

use async_graphql::ServerError;

use super::lexical::TextLimits;
use super::rows;
use crate::graphql::runtime::error::{Code, coded};

/// Every limit a request must keep, checked before any database work, and
/// the connections it may hold while it runs.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub text: TextLimits,
    /// Field selections once every fragment is expanded.
    pub max_selections: u64,
    /// Deepest field nesting.
    pub max_depth: u64,
    /// Cost of one HTTP request (a batch shares it).
    pub max_cost: u64,
    /// Rows a bulk input may carry (for pricing).
    pub max_bulk_rows: u64,
    /// Pooled connections one HTTP request (or one subscription's event)
    /// may hold at once.
    pub max_connections_per_request: usize,
    /// The size of a request's filters.
    pub filters: rows::FilterLimits,
    /// Rows one request's composed reads may make the database read,
    /// estimated before they run (`QUERY_ROW_BUDGET`).
    pub row_budget: u64,
    /// Committed writes a subscriber may fall behind its audience before
    /// it is disconnected (`EVENT_BACKLOG`).
    pub audience_backlog: usize,
}

/// Why a request will not run, as a transport needs to know it to pick a
/// status (the errors say it to the client).
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Refusal {
    /// A request error: 400 for `application/graphql-response+json`.
    BadRequest,
    /// The persisted query is unknown: 200, so clients send the document.
    NotFound,
    /// The safelist refused it: 403.
    Forbidden,
    /// Not a query, over a transport that runs only queries (HTTP GET): 405.
    QueriesOnly,
    /// The request carries a token that fails a check: 401.
    Unauthenticated,
}

/// A request that will not run, and why.
#[derive(Debug)]
pub struct Refused {
    pub kind: Refusal,
    pub errors: Vec<ServerError>,
}

impl Refused {
    pub(super) fn bad(errors: Vec<ServerError>) -> Self {
        Refused {
            kind: Refusal::BadRequest,
            errors,
        }
    }

    pub fn one(code: Code, message: impl Into<String>) -> Self {
        Self::bad(vec![coded(code, message)])
    }
}
