//! The cost model: how many rows (index entries and table rows) a read
//! makes the database read, from the indexes in the catalog and the
//! planner's estimates of how many rows meet a condition.
//!
//! For each way to read a table (scanning it, or any index) the model
//! takes the rows the index's usable prefix selects, `E`: its leading
//! columns fixed by top-level equalities (a page per parent fixes the
//! customer), then a range on the next column. When the index also serves
//! the read's order, a page stops early: it reads about `limit × E / M`
//! entries, `M` being the rows meeting the whole condition (exactly
//! `min(E, limit)` when the prefix is the whole condition); otherwise it
//! reads all `E` (and sorts them). A count reads `E`. The cheapest way
//! wins, as the planner's would. A relation filter adds, per condition,
//! the cheaper of probing it once per row examined (through the index on
//! the foreign key, or the primary key) and reading its matches once.
//!
//! The model asks [`Question`]s and works with `None` answers too: then
//! `E` is the table's rows and `M` is 1, so the result is an upper bound,
//! and a read that fits the budget on that bound needs no planner at all
//! (the hot paths: default orders, pages of customers with their orders).

use std::collections::HashMap;

use super::super::columns::Columned;
use super::super::shape::{Shape, conjuncts};
use super::super::{CustomerField, OrderField, Where};
use super::Kept;
use super::Read;
use super::catalog::{Catalog, Table};

/// The rows an aggregate answered from the rollups reads, as the budget
/// counts it: a few rollup rows per status and period (a day in a whole-
/// hour time zone is three; the data's two years by month, 24 and the
/// edges), whatever the number of orders.
pub const ROLLUP_READ: f64 = 1_000.0;

/// What the model asks the planner: how many rows of a table meet a
/// condition; `per_parent` fixes the order's customer (to any one, as the
/// planner estimates an unknown value).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Question {
    Customers(Where<CustomerField>),
    Orders(Where<OrderField>, bool),
}

/// One run of the model over a catalog, with the planner's answers or
/// without them.
pub struct Model<'a> {
    catalog: &'a Catalog,
    answers: Option<&'a HashMap<Question, f64>>,
    /// Every question asked, in order, once each.
    pub asked: Vec<Question>,
    /// Per part of a read, the index that would serve it (table and
    /// columns), for the suggestion.
    pub wanted: Vec<(&'static str, Vec<&'static str>)>,
}

/// The side of a relation a table is on.
trait Side: Columned + Clone + Sized {
    const TABLE: &'static str;
    fn table(catalog: &Catalog) -> &Table;
    fn question(w: Where<Self>, per_parent: bool) -> Question;
    /// What the relation filters inside `w` add when `outer` rows are
    /// examined.
    fn relations(model: &mut Model<'_>, w: &Where<Self>, outer: f64) -> f64;
}

impl Side for CustomerField {
    const TABLE: &'static str = "customers";

    fn table(catalog: &Catalog) -> &Table {
        &catalog.customers
    }

    fn question(w: Where<Self>, _: bool) -> Question {
        Question::Customers(w)
    }

    fn relations(model: &mut Model<'_>, w: &Where<Self>, outer: f64) -> f64 {
        let mut inner = Vec::new();
        order_relations(w, &mut inner);
        inner
            .into_iter()
            .map(|x| {
                let probe = model.cost(x, None, None, true);
                let once = model.cost(x, None, None, false);
                (outer * probe).min(once)
            })
            .sum()
    }
}

impl Side for OrderField {
    const TABLE: &'static str = "orders";

    fn table(catalog: &Catalog) -> &Table {
        &catalog.orders
    }

    fn question(w: Where<Self>, per_parent: bool) -> Question {
        Question::Orders(w, per_parent)
    }

    fn relations(model: &mut Model<'_>, w: &Where<Self>, outer: f64) -> f64 {
        let mut inner = Vec::new();
        customer_relations(w, &mut inner);
        inner
            .into_iter()
            // A probe reads one customer by its primary key.
            .map(|y| outer.min(model.cost(y, None, None, false)))
            .sum()
    }
}

/// The `orders: {some | none}` conditions of a customer tree, outermost.
fn order_relations<'w>(w: &'w Where<CustomerField>, out: &mut Vec<&'w Where<OrderField>>) {
    match w {
        Where::And(items) | Where::Or(items) => {
            items.iter().for_each(|i| order_relations(i, out));
        }
        Where::Not(inner) => order_relations(inner, out),
        Where::Field(CustomerField::OrdersSome(x) | CustomerField::OrdersNone(x)) => out.push(x),
        Where::Field(_) => {}
    }
}

/// The `customer: {…}` conditions of an order tree, outermost.
fn customer_relations<'w>(w: &'w Where<OrderField>, out: &mut Vec<&'w Where<CustomerField>>) {
    match w {
        Where::And(items) | Where::Or(items) => {
            items.iter().for_each(|i| customer_relations(i, out));
        }
        Where::Not(inner) => customer_relations(inner, out),
        Where::Field(OrderField::Customer(y)) => out.push(y),
        Where::Field(_) => {}
    }
}

/// What an index's usable prefix takes of a condition's top-level items.
struct Prefix<F> {
    /// The items it takes.
    taken: Vec<Where<F>>,
    /// Leading columns it uses.
    used: usize,
    /// Whether it fixes the parent customer (a page per parent).
    parent: bool,
    /// Whether it takes the whole condition.
    whole: bool,
}

fn prefix_of<F: Columned + Clone>(
    items: &[&Where<F>],
    index: &[String],
    per_parent: bool,
) -> Prefix<F> {
    let mut taken = vec![false; items.len()];
    let mut used = 0;
    let mut parent = false;
    let on = |item: &Where<F>, column: &str, test: fn(&F) -> bool| match item {
        Where::Field(f) => f.column() == Some(column) && test(f),
        _ => false,
    };
    for column in index {
        let mut fixed = false;
        if per_parent && column == "customer_id" {
            parent = true;
            fixed = true;
        }
        for (i, item) in items.iter().enumerate() {
            if on(item, column, F::fixes) {
                taken[i] = true;
                fixed = true;
            }
        }
        if fixed {
            used += 1;
            continue;
        }
        // A range on the next column narrows the scan and ends the prefix.
        let mut ranged = false;
        for (i, item) in items.iter().enumerate() {
            if on(item, column, F::bounds) {
                taken[i] = true;
                ranged = true;
            }
        }
        used += usize::from(ranged);
        break;
    }
    Prefix {
        taken: items
            .iter()
            .zip(&taken)
            .filter(|(_, t)| **t)
            .map(|(w, _)| (*w).clone())
            .collect(),
        used,
        parent,
        whole: taken.iter().all(|t| *t) && (parent || !per_parent),
    }
}

impl<'a> Model<'a> {
    pub fn new(catalog: &'a Catalog, answers: Option<&'a HashMap<Question, f64>>) -> Self {
        Model {
            catalog,
            answers,
            asked: Vec::new(),
            wanted: Vec::new(),
        }
    }

    fn ask(&mut self, q: Question) -> Option<f64> {
        let answer = self.answers.and_then(|a| a.get(&q).copied());
        if !self.asked.contains(&q) {
            self.asked.push(q);
        }
        answer
    }

    /// The rows `read` makes the database read, all its parents included.
    pub fn read(&mut self, read: &Read) -> f64 {
        match read {
            Read::Customers { filter, sort, rows } => {
                let shape = Shape::of_customers(filter, sort);
                self.cost(filter, Some(&shape), Some(*rows as f64), false)
            }
            Read::Orders { filter, sort, rows } => {
                let shape = Shape::of_orders(filter, sort, false);
                self.cost(filter, Some(&shape), Some(*rows as f64), false)
            }
            Read::OrdersPerCustomer {
                filter,
                sort,
                rows,
                customers,
            } => {
                let shape = Shape::of_orders(filter, sort, true);
                *customers as f64 * self.cost(filter, Some(&shape), Some(*rows as f64), true)
            }
            Read::CountCustomers { filter } => self.cost(filter, None, None, false),
            Read::CountOrders { filter } if super::super::answered_by_stats(filter) => {
                self.catalog.customers.rows
            }
            Read::AggregateOrders {
                kept: Kept::Rollups,
                ..
            } if self.catalog.rollups => ROLLUP_READ,
            Read::AggregateOrders {
                kept: Kept::CustomerStats,
                ..
            } => self.catalog.customers.rows,
            Read::CountOrders { filter } | Read::AggregateOrders { filter, .. } => {
                self.cost(filter, None, None, false)
            }
            Read::AggregateOrdersPerCustomer { filter, customers } => {
                *customers as f64 * self.cost(filter, None, None, true)
            }
            Read::CountOrdersPerCustomer { filter, customers } => {
                let each = if super::super::answered_by_stats(filter) {
                    1.0
                } else {
                    self.cost(filter, None, None, true)
                };
                *customers as f64 * each
            }
        }
    }

    /// The rows read to return `limit` rows of `w` in `order`'s order, or
    /// (without them) to read every row of `w`, once per parent when
    /// `per_parent`.
    fn cost<F: Side>(
        &mut self,
        w: &Where<F>,
        order: Option<&Shape>,
        limit: Option<f64>,
        per_parent: bool,
    ) -> f64 {
        let table = F::table(self.catalog);
        let n = table.rows.max(1.0);
        let indexes = table.indexes.clone();
        let items = conjuncts(w);
        let matching = if items.is_empty() && !per_parent {
            n
        } else {
            self.ask(F::question(w.clone(), per_parent))
                .unwrap_or(1.0)
                .max(1.0)
        };
        // Scanning the whole table (then sorting what matches).
        let mut best = n;
        for index in &indexes {
            let prefix = prefix_of(&items, index, per_parent);
            let selected = if prefix.used == 0 {
                n
            } else {
                let q = F::question(Where::And(prefix.taken), prefix.parent);
                self.ask(q).map_or(n, |e| e.min(n))
            };
            let cost = match (order, limit) {
                (Some(shape), Some(limit)) if shape.served_by(index) => {
                    if prefix.whole {
                        selected.min(limit)
                    } else {
                        selected.min((limit * selected / matching).ceil())
                    }
                }
                _ => selected,
            };
            best = best.min(cost);
        }
        self.want::<F>(&items, order, per_parent);
        best + F::relations(self, w, best)
    }

    /// Records the index that would serve this part of a read: the shape's
    /// for a page; for a count, its equalities then one range.
    fn want<F: Side>(&mut self, items: &[&Where<F>], order: Option<&Shape>, per_parent: bool) {
        let columns = match order {
            Some(shape) => shape.wanted().unwrap_or_default(),
            None => {
                let mut columns: Vec<&'static str> = Vec::new();
                if per_parent {
                    columns.push("customer_id");
                }
                let fields = items.iter().filter_map(|w| match w {
                    Where::Field(f) => Some(f),
                    _ => None,
                });
                for f in fields.clone().filter(|f| f.fixes()) {
                    if let Some(c) = f.column().filter(|c| !columns.contains(c)) {
                        columns.push(c);
                    }
                }
                if let Some(c) = fields
                    .filter(|f| f.bounds() && !f.fixes())
                    .find_map(|f| f.column().filter(|c| !columns.contains(c)))
                {
                    columns.push(c);
                }
                columns
            }
        };
        if !columns.is_empty() && !self.wanted.contains(&(F::TABLE, columns.clone())) {
            self.wanted.push((F::TABLE, columns));
        }
    }
}
