//! The composed reads of an operation, found before it runs: every
//! `customers`, `orders` and `Customer.orders` it selects (and each
//! `totalCount` of them), with its list built exactly as the resolver will
//! build it (`schema::lists`), its page size, and for a page per parent how
//! many parents the lists above can hold. The sizes of their filters are
//! checked here against the document limits (`QUERY_TOO_COMPLEX`, no
//! database work); the reads then go to the row budget
//! (`service::compose::budget`) before the operation runs.
//!
//! A read whose arguments do not parse is left out: its resolver refuses
//! it with a precise error, and nothing below it runs.
//!
//! The file stays whole: one recursion over the operation finds every
//! kind of composed read (lists, counts, aggregates), and splitting it
//! would split that walk.

use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};
use async_graphql::{InputType, Variables};
use service::compose::Size;
use service::compose::budget::Read;

use super::cost::list_rows;
use super::schema_index::{SchemaIndex, is_list, named};
use super::variables::{as_i64, directive_condition, resolve};
use crate::graphql::schema::scalars::MAX_PAGE;
use crate::graphql::schema::types::aggregates::OrderGroupKey;
use crate::graphql::schema::types::inputs::{CustomerFilter, OrderFilter};
use crate::graphql::schema::types::lists::{self, DEFAULT_NESTED_PAGE, DEFAULT_ROOT_PAGE};
use crate::graphql::schema::types::wheres::{
    CustomerOrderBy, CustomerWhere, OrderOrderBy, OrderWhere,
};

/// How big the filters of one request may be, all told.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct FilterLimits {
    /// Deepest nesting of `and`/`or`/`not` and relation filters.
    pub depth: u64,
    /// Operators in all the request's filters.
    pub operators: u64,
    /// Items of every `in`/`notIn` list of the request.
    pub list_items: u64,
}

/// The operation's composed reads, or why its filters are too big.
pub fn reads(
    index: &SchemaIndex,
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
    root: &str,
    variables: &Variables,
    max_bulk_rows: u64,
    limits: FilterLimits,
) -> Result<Vec<Read>, String> {
    let mut walker = Walker {
        index,
        doc,
        variables,
        max_bulk_rows,
        reads: Vec::new(),
        size: Size::default(),
        spreads: 0,
    };
    walker.set(root, &operation.selection_set.node, 1, 1, None);
    let size = walker.size;
    if size.depth > limits.depth {
        return Err(format!(
            "the request's filters nest `and`/`or`/`not` and relation filters {} levels deep; at most {} are accepted",
            size.depth, limits.depth
        ));
    }
    if size.operators > limits.operators {
        return Err(format!(
            "the request's filters hold {} operators; at most {} are accepted",
            size.operators, limits.operators
        ));
    }
    if size.list_items > limits.list_items {
        return Err(format!(
            "the request's `in`/`notIn` lists hold {} items; at most {} are accepted",
            size.list_items, limits.list_items
        ));
    }
    Ok(walker.reads)
}

/// Whether an aggregate's selection may ask for `min` or `max` (which the
/// rollups do not keep): a fragment counts as asking.
fn wants_extremes(set: &SelectionSet) -> bool {
    set.items.iter().any(|item| match &item.node {
        Selection::Field(f) => matches!(f.node.name.node.as_str(), "min" | "max"),
        Selection::InlineFragment(_) | Selection::FragmentSpread(_) => true,
    })
}

/// Fragment spreads followed at most (the expansion limit already refused
/// anything bigger; this only bounds the walk itself).
const MAX_SPREADS: u32 = 10_000;

struct Walker<'a> {
    index: &'a SchemaIndex,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    max_bulk_rows: u64,
    reads: Vec<Read>,
    size: Size,
    spreads: u32,
}

impl<'a> Walker<'a> {
    /// `times`: how many parents the fields of `set` may be read for;
    /// `inherited`: the page size a connection passes to `edges`/`nodes`;
    /// `count`: what a `totalCount` selected here reads.
    fn set(
        &mut self,
        type_name: &str,
        set: &'a SelectionSet,
        times: u64,
        inherited: u64,
        count: Option<&Read>,
    ) {
        for item in &set.items {
            match &item.node {
                Selection::Field(f) => {
                    if directive_condition(&f.node.directives, self.variables) {
                        self.field(type_name, &f.node, times, inherited, count);
                    }
                }
                Selection::InlineFragment(i) => {
                    if directive_condition(&i.node.directives, self.variables) {
                        let on = i
                            .node
                            .type_condition
                            .as_ref()
                            .map_or(type_name, |t| t.node.on.node.as_str());
                        self.set(on, &i.node.selection_set.node, times, inherited, count);
                    }
                }
                Selection::FragmentSpread(s) => {
                    if !directive_condition(&s.node.directives, self.variables) {
                        continue;
                    }
                    self.spreads += 1;
                    if self.spreads > MAX_SPREADS {
                        continue;
                    }
                    if let Some(fragment) = self.doc.fragments.get(&s.node.fragment_name.node) {
                        let on = fragment.node.type_condition.node.on.node.as_str();
                        self.set(
                            on,
                            &fragment.node.selection_set.node,
                            times,
                            inherited,
                            count,
                        );
                    }
                }
            }
        }
    }

    fn arg<T: InputType>(&self, field: &Field, name: &str) -> Result<Option<T>, ()> {
        match field.get_argument(name) {
            None => Ok(None),
            Some(v) => Option::<T>::parse(Some(resolve(&v.node, self.variables))).map_err(|_| ()),
        }
    }

    /// The page size of a composed field: `first` or `last`, else `default`.
    fn page(&self, field: &Field, default: u64) -> u64 {
        let n = ["first", "last"]
            .iter()
            .filter_map(|name| field.get_argument(name))
            .find_map(|v| as_i64(&resolve(&v.node, self.variables)));
        n.map_or(default, |n| {
            u64::try_from(n).unwrap_or(0).min(MAX_PAGE as u64)
        })
    }

    fn field(
        &mut self,
        type_name: &str,
        field: &'a Field,
        times: u64,
        inherited: u64,
        count: Option<&Read>,
    ) {
        let name = field.name.node.as_str();
        if name == "totalCount" {
            if let Some(read) = count {
                self.reads.push(read.clone());
            }
            return;
        }
        let Some(def) = self.index.field(type_name, name) else {
            return;
        };
        let child = named(&def.ty);
        let aggregated = match (type_name, name) {
            (t, "ordersAggregate") if t == self.index.query => Some(None),
            (t, "ordersGrouped") if t == self.index.query => Some(None),
            ("Customer", "ordersAggregate") => Some(Some(times)),
            _ => None,
        };
        if let Some(parents) = aggregated {
            self.aggregate(type_name, field, child, parents, times);
            return;
        }
        let composed = match (type_name, name) {
            (t, "customers") if t == self.index.query => self.customers(field),
            (t, "orders") if t == self.index.query => self.orders(field, None),
            ("Customer", "orders") => self.orders(field, Some(times)),
            _ => Some(None),
        };
        let Some(composed) = composed else {
            // Arguments that do not parse: the resolver refuses them.
            return;
        };
        let (size, count) = match composed {
            Some((size, page, count)) => {
                self.reads.push(page);
                (size, Some(count))
            }
            None => (
                list_rows(field, def, inherited, self.variables, self.max_bulk_rows),
                None,
            ),
        };
        if !self.index.is_object(child) {
            return;
        }
        let child_inherited = if child.ends_with("Connection") {
            size
        } else {
            1
        };
        let child_times = if is_list(&def.ty) {
            times.saturating_mul(size)
        } else {
            times
        };
        self.set(
            child,
            &field.selection_set.node,
            child_times,
            child_inherited,
            count.as_ref(),
        );
    }

    fn measure(&mut self, size: Size) {
        self.size = Size {
            depth: self.size.depth.max(size.depth),
            operators: self.size.operators.saturating_add(size.operators),
            list_items: self.size.list_items.saturating_add(size.list_items),
        };
    }

    /// `ordersAggregate`, `ordersGrouped` (whose groups' fields are read
    /// once per group `first` allows), or `Customer.ordersAggregate` read
    /// for `parents` customers.
    fn aggregate(
        &mut self,
        type_name: &str,
        field: &'a Field,
        child: &str,
        parents: Option<u64>,
        times: u64,
    ) {
        let Ok(where_) = self.arg::<OrderWhere>(field, "where") else {
            return;
        };
        let Ok(list) = lists::orders_list(None, where_.as_ref(), None) else {
            return;
        };
        self.measure(list.filter.size());
        let keys: Option<Vec<service::aggregates::GroupKey>> =
            match self.arg::<Vec<OrderGroupKey>>(field, "groupBy") {
                Ok(keys) => keys.map(|k| k.into_iter().map(Into::into).collect()),
                Err(()) => return,
            };
        let kept = service::aggregates::rollups::kept(
            &list.filter,
            keys.as_deref(),
            wants_extremes(&field.selection_set.node),
        );
        self.reads.push(match parents {
            None => Read::AggregateOrders {
                filter: list.filter,
                kept,
            },
            Some(customers) => Read::AggregateOrdersPerCustomer {
                filter: list.filter,
                customers,
            },
        });
        if field.name.node == "ordersGrouped" && type_name == self.index.query {
            let groups = field
                .get_argument("first")
                .and_then(|v| as_i64(&resolve(&v.node, self.variables)))
                .map_or(service::aggregates::DEFAULT_GROUPS, |n| {
                    u64::try_from(n)
                        .unwrap_or(0)
                        .min(service::aggregates::MAX_GROUPS)
                });
            self.set(
                child,
                &field.selection_set.node,
                times.saturating_mul(groups),
                1,
                None,
            );
        }
    }

    /// `customers`: `Some(None)` is not composed, `None` does not parse.
    #[allow(clippy::option_option)]
    fn customers(&mut self, field: &Field) -> Option<Option<(u64, Read, Read)>> {
        let filter = self.arg::<CustomerFilter>(field, "filter").ok()?;
        let where_ = self.arg::<CustomerWhere>(field, "where").ok()?;
        let order_by = self.arg::<Vec<CustomerOrderBy>>(field, "orderBy").ok()?;
        let list = lists::customers_list(filter, where_.as_ref(), order_by.as_deref()).ok()?;
        self.measure(list.filter.size());
        let size = self.page(field, DEFAULT_ROOT_PAGE);
        let count = Read::CountCustomers {
            filter: list.filter.clone(),
        };
        let page = Read::Customers {
            filter: list.filter,
            sort: list.sort,
            rows: size + 1,
        };
        Some(Some((size, page, count)))
    }

    /// `orders`, or `Customer.orders` read for `parents` customers.
    #[allow(clippy::option_option)]
    fn orders(&mut self, field: &Field, parents: Option<u64>) -> Option<Option<(u64, Read, Read)>> {
        let filter = self.arg::<OrderFilter>(field, "filter").ok()?;
        let where_ = self.arg::<OrderWhere>(field, "where").ok()?;
        let order_by = self.arg::<Vec<OrderOrderBy>>(field, "orderBy").ok()?;
        let list =
            lists::orders_list(filter.as_ref(), where_.as_ref(), order_by.as_deref()).ok()?;
        self.measure(list.filter.size());
        Some(Some(match parents {
            None => {
                let size = self.page(field, DEFAULT_ROOT_PAGE);
                let count = Read::CountOrders {
                    filter: list.filter.clone(),
                };
                let page = Read::Orders {
                    filter: list.filter,
                    sort: list.sort,
                    rows: size + 1,
                };
                (size, page, count)
            }
            Some(customers) => {
                let size = self.page(field, DEFAULT_NESTED_PAGE);
                let count = Read::CountOrdersPerCustomer {
                    filter: list.filter.clone(),
                    customers,
                };
                let page = Read::OrdersPerCustomer {
                    filter: list.filter,
                    sort: list.sort,
                    rows: size + 1,
                    customers,
                };
                (size, page, count)
            }
        }))
    }
}
