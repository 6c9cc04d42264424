//! The query builder (`service::compose`), below GraphQL. Filters: random
//! data (names with `%`, `_`, `!` and mixed case, phones missing), random
//! compositions of every operator, `and`/`or`/`not` and relation filters;
//! the rows the SQL selects must be exactly those a plain Rust evaluation
//! over all rows selects. Pages: walks in random orders, forwards and
//! backwards, while other rows change, equal the full ordered set. Runs on
//! SQLite, and on PostgreSQL with `DATABASE_URL`.

pub(crate) mod budget;
mod filters;
mod graphql;
mod pages;
mod parents;
mod shapes;

use std::collections::{BTreeSet, HashMap};

use chrono::{DateTime, Duration, TimeZone, Utc};
use entity::order::OrderStatus;
use entity::{customer, order};
use rand::rngs::StdRng;
use rand::seq::IndexedRandom as _;
use rand::{Rng, SeedableRng};
use sea_orm::{ConnectionTrait as _, EntityTrait, QueryFilter, QuerySelect};
use service::View;
use service::compose::sql::{customer_condition, order_condition};
use service::compose::{CustomerField, Op, Ops, OrderField, TextOp, TextOps, Where};
use service::input::{NewCustomer, NewOrder};
use service::money::Money;

use crate::helpers::spawn_app;

const NAMES: [&str; 10] = [
    "Ann",
    "anna",
    "ANNE Marie",
    "Jo_hn",
    "50% off",
    "a!b",
    "Bob",
    "bobby_",
    "Zoe",
    "Ann_%",
];
const FRAGMENTS: [&str; 14] = [
    "ann", "Ann", "ANN", "%", "_", "!", "o", "", "b", "e", "50%", "n_", "Zoe", "x",
];
const PHONES: [Option<&str>; 4] = [None, Some("+1 555 0100"), Some("0100"), None];

/// id, name, email, phone, createdAt.
type CustomerRow = (i64, String, String, Option<String>, DateTime<Utc>);
/// id, customer id, total in cents, status, createdAt.
type OrderRow = (i64, i64, i64, OrderStatus, DateTime<Utc>);

struct Data {
    customers: Vec<CustomerRow>,
    orders: Vec<OrderRow>,
}

fn base() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
        .single()
        .expect("a date")
}

fn text_ops(rng: &mut StdRng, nullable: bool, pool: &[String]) -> TextOps {
    let pick = |rng: &mut StdRng| -> String {
        if rng.random_bool(0.5) {
            pool.choose(rng).cloned().unwrap_or_default()
        } else {
            (*FRAGMENTS.choose(rng).expect("fragments")).to_owned()
        }
    };
    let n = rng.random_range(1..=2);
    let ops = (0..n)
        .map(
            |_| match rng.random_range(0..if nullable { 8 } else { 7 }) {
                0 => TextOp::Eq(pick(rng)),
                1 => TextOp::Ne(pick(rng)),
                2 => TextOp::In((0..rng.random_range(0..3)).map(|_| pick(rng)).collect()),
                3 => TextOp::NotIn((0..rng.random_range(0..3)).map(|_| pick(rng)).collect()),
                4 => TextOp::StartsWith(pick(rng)),
                5 => TextOp::EndsWith(pick(rng)),
                6 => TextOp::Contains(pick(rng)),
                _ => TextOp::IsNull(rng.random_bool(0.5)),
            },
        )
        .collect();
    TextOps {
        ops,
        case_insensitive: rng.random_bool(0.4),
    }
}

fn ops<T: Clone>(rng: &mut StdRng, values: &[T]) -> Ops<T> {
    let v = |rng: &mut StdRng| values.choose(rng).cloned().expect("values");
    let n = rng.random_range(1..=2);
    Ops((0..n)
        .map(|_| match rng.random_range(0..8) {
            0 => Op::Eq(v(rng)),
            1 => Op::Ne(v(rng)),
            2 => Op::Gt(v(rng)),
            3 => Op::Gte(v(rng)),
            4 => Op::Lt(v(rng)),
            5 => Op::Lte(v(rng)),
            6 => Op::In((0..rng.random_range(0..3)).map(|_| v(rng)).collect()),
            _ => Op::NotIn((0..rng.random_range(0..3)).map(|_| v(rng)).collect()),
        })
        .collect())
}

struct Pools {
    ids: Vec<i64>,
    order_ids: Vec<i64>,
    names: Vec<String>,
    emails: Vec<String>,
    phones: Vec<String>,
    times: Vec<DateTime<Utc>>,
    money: Vec<Money>,
    counts: Vec<i64>,
}

fn combine<F>(
    rng: &mut StdRng,
    depth: u32,
    leaf: &mut dyn FnMut(&mut StdRng, u32) -> F,
) -> Where<F> {
    if depth == 0 || rng.random_bool(0.45) {
        return Where::Field(leaf(rng, depth));
    }
    match rng.random_range(0..3) {
        0 => Where::And(
            (0..rng.random_range(0..3))
                .map(|_| combine(rng, depth - 1, leaf))
                .collect(),
        ),
        1 => Where::Or(
            (0..rng.random_range(0..3))
                .map(|_| combine(rng, depth - 1, leaf))
                .collect(),
        ),
        _ => Where::Not(Box::new(combine(rng, depth - 1, leaf))),
    }
}

fn customer_where(rng: &mut StdRng, depth: u32, p: &Pools) -> Where<CustomerField> {
    combine(rng, depth, &mut |rng, depth| match rng.random_range(0..9) {
        0 => CustomerField::Id(ops(rng, &p.ids)),
        1 => CustomerField::Name(text_ops(rng, false, &p.names)),
        2 => CustomerField::Email(text_ops(rng, false, &p.emails)),
        3 => CustomerField::Phone(text_ops(rng, true, &p.phones)),
        4 => CustomerField::CreatedAt(ops(rng, &p.times)),
        5 => CustomerField::TotalSpent(ops(rng, &p.money)),
        6 => CustomerField::OrderCount(ops(rng, &p.counts)),
        7 if depth > 0 => CustomerField::OrdersSome(Box::new(order_where(rng, depth - 1, p))),
        8 if depth > 0 => CustomerField::OrdersNone(Box::new(order_where(rng, depth - 1, p))),
        _ => CustomerField::Name(text_ops(rng, false, &p.names)),
    })
}

fn order_where(rng: &mut StdRng, depth: u32, p: &Pools) -> Where<OrderField> {
    combine(rng, depth, &mut |rng, depth| match rng.random_range(0..6) {
        0 => OrderField::Id(ops(rng, &p.order_ids)),
        1 => OrderField::CustomerId(ops(rng, &p.ids)),
        2 => OrderField::Total(ops(rng, &p.money)),
        3 => OrderField::Status(ops(rng, &OrderStatus::ALL)),
        4 => OrderField::CreatedAt(ops(rng, &p.times)),
        5 if depth > 0 => OrderField::Customer(Box::new(customer_where(rng, depth - 1, p))),
        _ => OrderField::Total(ops(rng, &p.money)),
    })
}

/// The independent evaluator.
struct Eval<'a> {
    data: &'a Data,
    /// Lower-casing as the database does it: SQLite folds ASCII only.
    ascii_fold: bool,
    stats: HashMap<i64, (i64, i64)>,
}

fn holds<T: PartialOrd>(value: &T, ops: &[Op<T>]) -> bool {
    ops.iter().all(|op| match op {
        Op::Eq(v) => value == v,
        Op::Ne(v) => value != v,
        Op::Gt(v) => value > v,
        Op::Gte(v) => value >= v,
        Op::Lt(v) => value < v,
        Op::Lte(v) => value <= v,
        Op::In(vs) => vs.contains(value),
        Op::NotIn(vs) => !vs.contains(value),
    })
}

impl Eval<'_> {
    fn fold(&self, s: &str, ci: bool) -> String {
        match (ci, self.ascii_fold) {
            (false, _) => s.to_owned(),
            (true, true) => s.to_ascii_lowercase(),
            (true, false) => s.to_lowercase(),
        }
    }

    fn text(&self, value: Option<&str>, t: &TextOps) -> bool {
        t.ops.iter().all(|op| {
            if let TextOp::IsNull(null) = op {
                return value.is_none() == *null;
            }
            let Some(value) = value else { return false };
            let a = self.fold(value, t.case_insensitive);
            let f = |s: &String| self.fold(s, t.case_insensitive);
            match op {
                TextOp::Eq(s) => a == f(s),
                TextOp::Ne(s) => a != f(s),
                TextOp::In(vs) => vs.iter().any(|s| a == f(s)),
                TextOp::NotIn(vs) => vs.iter().all(|s| a != f(s)),
                TextOp::StartsWith(s) => a.starts_with(&f(s)),
                TextOp::EndsWith(s) => a.ends_with(&f(s)),
                TextOp::Contains(s) => a.contains(&f(s)),
                TextOp::IsNull(_) => unreachable!("handled above"),
            }
        })
    }

    fn tree<F, R>(&self, w: &Where<F>, row: &R, field: &dyn Fn(&Self, &F, &R) -> bool) -> bool {
        match w {
            Where::And(items) => items.iter().all(|i| self.tree(i, row, field)),
            Where::Or(items) => items.iter().any(|i| self.tree(i, row, field)),
            Where::Not(inner) => !self.tree(inner, row, field),
            Where::Field(f) => field(self, f, row),
        }
    }

    fn customer(&self, w: &Where<CustomerField>, id: i64) -> bool {
        self.tree(w, &id, &|e: &Self, f: &CustomerField, id: &i64| {
            let (_, name, email, phone, created) = e
                .data
                .customers
                .iter()
                .find(|c| c.0 == *id)
                .expect("a customer");
            let (count, cents) = e.stats.get(id).copied().unwrap_or_default();
            let mine = || e.data.orders.iter().filter(|o| o.1 == *id);
            match f {
                CustomerField::Id(o) => holds(id, &o.0),
                CustomerField::Name(t) => e.text(Some(name), t),
                CustomerField::Email(t) => e.text(Some(email), t),
                CustomerField::Phone(t) => e.text(phone.as_deref(), t),
                CustomerField::CreatedAt(o) => holds(created, &o.0),
                CustomerField::TotalSpent(o) => holds(&Money::from_cents(cents), &o.0),
                CustomerField::OrderCount(o) => holds(&count, &o.0),
                CustomerField::OrdersSome(w) => mine().any(|o| e.order(w, o.0)),
                CustomerField::OrdersNone(w) => !mine().any(|o| e.order(w, o.0)),
            }
        })
    }

    fn order(&self, w: &Where<OrderField>, id: i64) -> bool {
        self.tree(w, &id, &|e: &Self, f: &OrderField, id: &i64| {
            let (_, customer, cents, status, created) =
                e.data.orders.iter().find(|o| o.0 == *id).expect("an order");
            match f {
                OrderField::Id(o) => holds(id, &o.0),
                OrderField::CustomerId(o) => holds(customer, &o.0),
                OrderField::Total(o) => holds(&Money::from_cents(*cents), &o.0),
                OrderField::Status(o) => o.0.iter().all(|op| match op {
                    // Statuses compare by their stored names.
                    Op::Eq(v) => status == v,
                    Op::Ne(v) => status != v,
                    Op::Gt(v) => status.as_str() > v.as_str(),
                    Op::Gte(v) => status.as_str() >= v.as_str(),
                    Op::Lt(v) => status.as_str() < v.as_str(),
                    Op::Lte(v) => status.as_str() <= v.as_str(),
                    Op::In(vs) => vs.contains(status),
                    Op::NotIn(vs) => !vs.contains(status),
                }),
                OrderField::CreatedAt(o) => holds(created, &o.0),
                OrderField::Customer(w) => e.customer(w, *customer),
            }
        })
    }
}
