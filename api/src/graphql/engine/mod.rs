//! The engine: what happens to a document between a transport and the
//! resolvers. Each transport calls one door and only encodes the result:
//! HTTP calls [`Engine::run_batch`] (see `batch`), the WebSocket calls
//! [`Engine::subscribe`] (see `subscribe`). Behind both, every operation
//! goes the same way:
//!
//! 1. [`Engine::prepare`]: the persisted document (if the request sent a
//!    hash), the text limits, parsing, the operation, the expansion
//!    (selections and depth), every argument value, the cost (each field's
//!    weight comes from `schema::weights`), the composed reads and the size
//!    of their filters (`rows`). Anything refused here never reaches
//!    async-graphql or the database.
//! 2. [`Engine::execute`]: the database is chosen (a query reads the
//!    replica unless it lags the caller's last write), the composed reads
//!    are held against the row budget (`QUERY_TOO_EXPENSIVE` before
//!    anything runs), the caller becomes a view (`Auth::view`: what every
//!    read of the request may see), and async-graphql validates and runs the operation with fresh dataloaders
//!    and the request's database gate; the result is then completed to the
//!    specification (field order, null propagation). [`Engine::subscribe`]
//!    does the same for each event of a subscription, once per audience
//!    (the subscriptions with one document, variables and view: see
//!    `audience`), whose subscribers all send the one encoded result.
//!
//! What async-graphql 7.2.1 gets wrong and this module corrects is listed,
//! with what to delete on 8.0, in `UPGRADING.md`.

pub mod arguments;
pub mod audience;
mod batch;
pub mod complete;
pub mod cost;
pub mod documents;
mod execute;
pub mod lexical;
pub mod metrics;
pub mod offload;
pub mod operation;
pub mod persisted;
mod refused;
pub mod rows;
pub mod schema_index;
mod subscribe;
pub mod variables;

pub use batch::{Outcome, Transport};
pub use refused::{Limits, Refusal, Refused};
pub use subscribe::{Deliveries, Delivery};

use std::sync::Arc;

use async_graphql::parser::types::OperationType;
use async_graphql::{Name, Request, ServerError, Variables};
use service::Store;

use self::cost::{IntrospectionSizes, Pricer, expansion, too_costly};
use self::documents::{DocumentCache, Parsed};
use self::offload::{HEAVY_SELECTIONS, LARGE_DOCUMENT_BYTES, off_the_workers_if};
use self::operation::{operation_of, root_keys, select};
use self::persisted::Persisted;
use self::schema_index::SchemaIndex;
use crate::graphql::runtime::error::{Code, coded, parse_error};
use crate::graphql::schema::AppSchema;
use crate::graphql::schema::weights::WEIGHTS;

/// A checked request, ready to run.
pub struct Prepared {
    request: Request,
    doc: Arc<Parsed>,
    operation: Option<Name>,
    /// Query, mutation or subscription.
    pub kind: OperationType,
    /// Its cost (see [`super::cost`]).
    pub cost: u64,
    /// The operation's name, for metrics.
    pub name: Option<String>,
    /// Variables with the operation's defaults, for `@skip`/`@include`.
    variables: Variables,
    /// Large enough that validating it should not hold an async worker.
    heavy: bool,
    /// Its composed reads, for the row budget (see [`rows`]).
    reads: Vec<service::compose::budget::Read>,
}

/// What one operation produced. `data` is `None` when it never started
/// executing (refused, or async-graphql's validation refused it).
#[derive(Debug)]
pub struct Answer {
    pub data: Option<async_graphql::Value>,
    pub errors: Vec<ServerError>,
}

impl Answer {
    /// An operation that did not run.
    pub fn errors(errors: Vec<ServerError>) -> Self {
        Answer { data: None, errors }
    }
}

pub struct Engine {
    /// Validates in full (async-graphql's strict mode).
    pub schema: AppSchema,
    /// Validates fragment cycles only: for operations that passed in full.
    fast: AppSchema,
    documents: DocumentCache,
    index: SchemaIndex,
    sizes: IntrospectionSizes,
    pub limits: Limits,
    pub persisted: Persisted,
    /// Whether callers without a token may read (`ANONYMOUS_ACCESS=read`).
    pub anonymous_reads: bool,
    /// The live subscriptions' audiences (see `audience`).
    pub audiences: audience::Audiences,
    /// Each operation's span, when traces are exported.
    pub traces: Option<Arc<crate::telemetry::traces::Traces>>,
    store: Store,
}

impl Engine {
    /// `schemas`: the same schema with strict and with fast validation.
    pub fn new(
        schemas: [AppSchema; 2],
        store: Store,
        limits: Limits,
        persisted: Persisted,
    ) -> anyhow::Result<Self> {
        let [schema, fast] = schemas;
        let sdl = schema.sdl();
        let index = SchemaIndex::from_sdl(&sdl)
            .and_then(|index| index.with_weights(WEIGHTS))
            .map_err(|e| anyhow::anyhow!("the schema's index: {e}"))?;
        let names: Vec<String> = sdl
            .lines()
            .filter_map(|l| {
                let mut words = l.split_whitespace();
                match words.next()? {
                    "type" | "input" | "enum" | "scalar" => words.next().map(str::to_owned),
                    _ => None,
                }
            })
            .collect();
        let name_refs: Vec<&str> = names.iter().map(String::as_str).collect();
        let sizes = IntrospectionSizes::of(&index, &name_refs);
        Ok(Engine {
            schema,
            fast,
            documents: DocumentCache::default(),
            index,
            sizes,
            limits,
            persisted,
            anonymous_reads: true,
            audiences: audience::Audiences::default(),
            traces: None,
            store,
        })
    }

    /// Checks a request; see the module's description.
    async fn prepare(&self, mut request: Request) -> Result<Prepared, Refused> {
        let registration = self.persisted.resolve(&mut request).await.map_err(|r| {
            let kind = match r.code {
                Code::PersistedQueryNotFound => Refusal::NotFound,
                Code::Forbidden => Refusal::Forbidden,
                _ => Refusal::BadRequest,
            };
            Refused {
                kind,
                errors: vec![r.into_error()],
            }
        })?;
        let large = request.query.len() > LARGE_DOCUMENT_BYTES;
        let prepared = off_the_workers_if(large, || self.check(request))?;
        if let Some(registration) = registration {
            self.persisted
                .register(registration, &prepared.request.query)
                .await;
        }
        Ok(prepared)
    }

    /// The synchronous checks: text, parse, operation, expansion, arguments, cost.
    fn check(&self, mut request: Request) -> Result<Prepared, Refused> {
        if request.query.trim().is_empty() {
            return Err(Refused::one(
                Code::BadUserInput,
                "the request has no `query` (nor a known persisted-query hash)",
            ));
        }
        let parsed = match self.documents.get(&request.query) {
            Some(parsed) => parsed,
            None => {
                lexical::check(&request.query, self.limits.text)
                    .map_err(|m| Refused::one(Code::QueryTooComplex, m))?;
                let doc = async_graphql::parser::parse_query(&request.query)
                    .map_err(|e| Refused::bad(vec![parse_error(e)]))?;
                let parsed = Arc::new(Parsed::new(doc));
                self.documents.insert(request.query.clone(), parsed.clone());
                parsed
            }
        };
        let doc = &parsed.doc;
        let (operation, kind) = select(doc, request.operation_name.as_deref())
            .map_err(|m| Refused::one(Code::BadUserInput, m))?;
        let op_def = operation_of(doc, operation.as_ref())
            .ok_or_else(|| Refused::one(Code::BadUserInput, "the operation is missing"))?;
        if kind == OperationType::Subscription {
            let keys = root_keys(doc, &op_def.selection_set.node);
            if keys.len() != 1 || keys.iter().any(|k| k.starts_with("__")) {
                return Err(Refused::one(
                    Code::BadUserInput,
                    format!(
                        "a subscription selects exactly one field of `Subscription`, and not `__typename` (this one selects {})",
                        keys.len()
                    ),
                ));
            }
        }
        let (selections, depth) =
            expansion(doc, op_def).map_err(|m| Refused::one(Code::BadUserInput, m))?;
        if selections > self.limits.max_selections {
            return Err(Refused::one(
                Code::QueryTooComplex,
                format!(
                    "the operation expands to {selections} field selections once its fragments are spread; at most {} are accepted",
                    self.limits.max_selections
                ),
            ));
        }
        if depth > self.limits.max_depth {
            return Err(Refused::one(
                Code::QueryTooComplex,
                format!(
                    "the operation nests fields {depth} levels deep; at most {} are accepted (split it into smaller queries)",
                    self.limits.max_depth
                ),
            ));
        }
        let mut variables =
            variables::with_defaults(&op_def.variable_definitions, &request.variables)
                .unwrap_or_else(|| request.variables.clone());
        let root = self.root_of(kind)?;
        // Arguments first: they name a bad value by where it is used
        // (`input[12].total`); then what only the variables show.
        let (mut problems, argument_defaults) =
            arguments::check(&self.index, doc, op_def, root, &variables);
        for (name, default) in argument_defaults {
            variables.insert(name.clone(), default.clone());
            request.variables.insert(name, default);
        }
        if problems.is_empty() {
            problems = arguments::check_variables(&self.index, op_def, &variables);
        }
        if !problems.is_empty() {
            let mut errors: Vec<ServerError> = problems
                .messages
                .into_iter()
                .map(|m| coded(Code::BadUserInput, m))
                .collect();
            if problems.unreported > 0 {
                errors.push(coded(
                    Code::BadUserInput,
                    format!("… and {} more bad values not listed", problems.unreported),
                ));
            }
            return Err(Refused::bad(errors));
        }
        let cost = Pricer::new(
            &self.index,
            doc,
            &variables,
            self.sizes,
            self.limits.max_bulk_rows,
        )
        .price(op_def, root);
        if cost > self.limits.max_cost {
            return Err(Refused::one(
                Code::QueryTooComplex,
                too_costly(cost, self.limits.max_cost),
            ));
        }
        let reads = match kind {
            OperationType::Subscription => Vec::new(),
            _ => rows::reads(
                &self.index,
                doc,
                op_def,
                root,
                &variables,
                self.limits.max_bulk_rows,
                self.limits.filters,
            )
            .map_err(|m| Refused::one(Code::QueryTooComplex, m))?,
        };
        let name = request
            .operation_name
            .clone()
            .or_else(|| operation.as_ref().map(|n| n.to_string()));
        let heavy = selections > HEAVY_SELECTIONS || request.query.len() > LARGE_DOCUMENT_BYTES;
        request.set_parsed_query(doc.clone());
        Ok(Prepared {
            request,
            doc: parsed,
            operation,
            kind,
            cost,
            name,
            variables,
            heavy,
            reads,
        })
    }

    fn root_of(&self, kind: OperationType) -> Result<&str, Refused> {
        match kind {
            OperationType::Query => Ok(&self.index.query),
            OperationType::Mutation => self
                .index
                .mutation
                .as_deref()
                .ok_or_else(|| Refused::one(Code::BadUserInput, "this schema has no mutations")),
            OperationType::Subscription => self.index.subscription.as_deref().ok_or_else(|| {
                Refused::one(Code::BadUserInput, "this schema has no subscriptions")
            }),
        }
    }
}
