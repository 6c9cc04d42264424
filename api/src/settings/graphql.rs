//! The GraphQL engine's settings: document and filter limits, the row
//! budget, introspection, bulk inputs.

use super::MAX_NESTING;
use crate::graphql::engine::Limits;
use crate::graphql::engine::lexical::TextLimits;
use crate::graphql::engine::rows::FilterLimits;

/// The GraphQL engine and schema: document limits, introspection, bulk inputs.
#[derive(Clone, Debug, clap::Args)]
pub struct GraphqlSettings {
    /// Deepest nesting of fields an operation may have.
    #[arg(
        id = "graphql_max_depth",
        value_name = "GRAPHQL_MAX_DEPTH",
        long = "graphql-max-depth",
        env = "GRAPHQL_MAX_DEPTH",
        default_value_t = 16,
        global = true
    )]
    pub max_depth: usize,

    /// Highest cost one HTTP request may have (a batch shares it): a field
    /// costs 1, a list multiplies its fields by the rows it may return, and
    /// fields that run a statement of their own cost more.
    #[arg(
        id = "graphql_max_complexity",
        value_name = "GRAPHQL_MAX_COMPLEXITY",
        long = "graphql-max-complexity",
        env = "GRAPHQL_MAX_COMPLEXITY",
        default_value_t = 150_000,
        global = true
    )]
    pub max_complexity: usize,

    /// Most field selections an operation may expand to once its fragments
    /// are spread.
    #[arg(
        id = "graphql_max_selections",
        value_name = "GRAPHQL_MAX_SELECTIONS",
        long = "graphql-max-selections",
        env = "GRAPHQL_MAX_SELECTIONS",
        default_value_t = 2_000,
        global = true
    )]
    pub max_selections: usize,

    /// Largest GraphQL document (the query text, not its variables), in bytes.
    #[arg(
        id = "graphql_max_document_bytes",
        value_name = "GRAPHQL_MAX_DOCUMENT_BYTES",
        long = "graphql-max-document-bytes",
        env = "GRAPHQL_MAX_DOCUMENT_BYTES",
        default_value_t = 32_768,
        global = true
    )]
    pub max_document_bytes: usize,

    /// Most lexical tokens a document may have.
    #[arg(
        id = "graphql_max_tokens",
        value_name = "GRAPHQL_MAX_TOKENS",
        long = "graphql-max-tokens",
        env = "GRAPHQL_MAX_TOKENS",
        default_value_t = 4_000,
        global = true
    )]
    pub max_tokens: usize,

    /// Deepest nesting of `and`/`or`/`not` and relation filters in one
    /// request's `where` arguments.
    #[arg(
        id = "graphql_max_filter_depth",
        value_name = "GRAPHQL_MAX_FILTER_DEPTH",
        long = "graphql-max-filter-depth",
        env = "GRAPHQL_MAX_FILTER_DEPTH",
        default_value_t = 8,
        global = true
    )]
    pub max_filter_depth: u64,

    /// Most operators (`eq`, `in`, `contains`, …) in one request's filters.
    #[arg(
        id = "graphql_max_filter_operators",
        value_name = "GRAPHQL_MAX_FILTER_OPERATORS",
        long = "graphql-max-filter-operators",
        env = "GRAPHQL_MAX_FILTER_OPERATORS",
        default_value_t = 64,
        global = true
    )]
    pub max_filter_operators: u64,

    /// Most items of all `in`/`notIn` lists in one request's filters.
    #[arg(
        id = "graphql_max_filter_list_items",
        value_name = "GRAPHQL_MAX_FILTER_LIST_ITEMS",
        long = "graphql-max-filter-list-items",
        env = "GRAPHQL_MAX_FILTER_LIST_ITEMS",
        default_value_t = 1_000,
        global = true
    )]
    pub max_filter_list_items: u64,

    /// The most rows one request may make the database read, estimated
    /// before it runs; more is refused with `QUERY_TOO_EXPENSIVE`.
    #[arg(
        id = "query_row_budget",
        value_name = "QUERY_ROW_BUDGET",
        long = "query-row-budget",
        env = "QUERY_ROW_BUDGET",
        default_value_t = 100_000,
        global = true
    )]
    pub row_budget: u64,

    /// Most rows `createCustomers` / `createOrders` take in one request.
    #[arg(long, env = "MAX_BULK_ROWS", default_value_t = 20_000, global = true)]
    pub max_bulk_rows: usize,

    /// Answer introspection queries (`__schema`, `__type`). Turn off in production if wanted.
    #[arg(id = "graphql_introspection",
        value_name = "GRAPHQL_INTROSPECTION",
        long = "graphql-introspection", env = "GRAPHQL_INTROSPECTION", default_value_t = true, action = clap::ArgAction::Set, global = true)]
    pub introspection: bool,
}

impl GraphqlSettings {
    /// The engine's limits; `max_connections_per_request` is the database's.
    pub fn engine_limits(&self, max_connections_per_request: usize) -> Limits {
        Limits {
            text: TextLimits {
                max_bytes: self.max_document_bytes,
                max_tokens: self.max_tokens,
                max_nesting: MAX_NESTING,
            },
            max_selections: self.max_selections as u64,
            max_depth: self.max_depth as u64,
            max_cost: self.max_complexity as u64,
            max_bulk_rows: self.max_bulk_rows as u64,
            max_connections_per_request: max_connections_per_request.max(1),
            filters: FilterLimits {
                depth: self.max_filter_depth,
                operators: self.max_filter_operators,
                list_items: self.max_filter_list_items,
            },
            row_budget: self.row_budget,
            audience_backlog: 1_024,
        }
    }

    /// What the service layer checks itself.
    pub fn service_limits(&self) -> service::Limits {
        service::Limits {
            max_bulk_rows: self.max_bulk_rows.max(1),
        }
    }
}
