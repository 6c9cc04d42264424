//! Which index serves a composed read: the read's shape (the columns its
//! conditions fix by equality, and the columns it sorts by) against the
//! indexes that exist now, read from the catalog. A B-tree index serves the
//! shape when its leading columns are the equality columns (in any order)
//! followed by the sort columns in order, all sorted one way: then a page
//! reads about as many entries as it returns. This is the row budget's
//! rule on SQLite (which has no planner estimates) and what its
//! `suggestedIndex` proposes on PostgreSQL.
//!
//! The catalog is read when asked, so an index an operator creates serves
//! the next request, with no restart.

use sea_orm::{ConnectionTrait, DbBackend, DbErr, Statement};

use super::columns::Columned;
use super::order::{CustomerKey, Dir, OrderSortKey, Sort};
use super::{CustomerField, OrderField, Where};

/// The columns a read fixes and sorts by, on one table.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Shape {
    pub table: &'static str,
    /// Columns every row read has one given value of (top-level `eq`).
    pub equal: Vec<&'static str>,
    /// The sort's columns, in order; `None` when a key is computed (a
    /// customer's `totalSpent`/`orderCount`), which no index of the table
    /// serves.
    pub order: Option<Vec<&'static str>>,
    /// Whether every sort key runs the same way (a B-tree scans either way).
    pub one_direction: bool,
}

/// The top-level items of a tree (its `and`s flattened): field conditions
/// and the `or`/`not` items no index prefix can use.
pub fn conjuncts<F>(w: &Where<F>) -> Vec<&Where<F>> {
    match w {
        Where::And(items) => items.iter().flat_map(conjuncts).collect(),
        other => vec![other],
    }
}

/// The columns the top-level conditions of `w` fix by equality.
fn fixed_columns<F: Columned>(w: &Where<F>, equal: &mut Vec<&'static str>) {
    for item in conjuncts(w) {
        if let Where::Field(f) = item
            && f.fixes()
            && let Some(c) = f.column()
        {
            push(equal, c);
        }
    }
}

fn one_direction<K>(keys: &[(K, Dir)]) -> bool {
    keys.windows(2).all(|w| w[0].1 == w[1].1)
}

fn push(columns: &mut Vec<&'static str>, column: &'static str) {
    if !columns.contains(&column) {
        columns.push(column);
    }
}

impl Shape {
    /// The shape of a page of customers.
    pub fn of_customers(w: &Where<CustomerField>, sort: &Sort<CustomerKey>) -> Shape {
        let mut equal = Vec::new();
        fixed_columns(w, &mut equal);
        let order = sort
            .keys()
            .iter()
            .map(|(k, _)| match k {
                CustomerKey::Id => Some("id"),
                CustomerKey::Name => Some("name"),
                CustomerKey::Email => Some("email"),
                CustomerKey::CreatedAt => Some("created_at"),
                CustomerKey::TotalSpent | CustomerKey::OrderCount => None,
            })
            .collect();
        Shape {
            table: "customers",
            equal,
            order,
            one_direction: one_direction(sort.keys()),
        }
    }

    /// The shape of a page of orders; `per_parent`: a page of each
    /// customer's orders (the customer is fixed).
    pub fn of_orders(w: &Where<OrderField>, sort: &Sort<OrderSortKey>, per_parent: bool) -> Shape {
        let mut equal = Vec::new();
        if per_parent {
            push(&mut equal, "customer_id");
        }
        fixed_columns(w, &mut equal);
        let order = sort
            .keys()
            .iter()
            .map(|(k, _)| {
                Some(match k {
                    OrderSortKey::Id => "id",
                    OrderSortKey::CreatedAt => "created_at",
                    OrderSortKey::Total => "total_cents",
                    OrderSortKey::Status => "status",
                })
            })
            .collect();
        Shape {
            table: "orders",
            equal,
            order,
            one_direction: one_direction(sort.keys()),
        }
    }

    /// The shape of a count of customers: its equalities, no order.
    pub fn of_customers_count(w: &Where<CustomerField>) -> Shape {
        let mut equal = Vec::new();
        fixed_columns(w, &mut equal);
        Shape {
            table: "customers",
            equal,
            order: None,
            one_direction: true,
        }
    }

    /// The shape of a count of orders (of each customer, `per_parent`).
    pub fn of_orders_count(w: &Where<OrderField>, per_parent: bool) -> Shape {
        let mut equal = Vec::new();
        if per_parent {
            push(&mut equal, "customer_id");
        }
        fixed_columns(w, &mut equal);
        Shape {
            table: "orders",
            equal,
            order: None,
            one_direction: true,
        }
    }

    /// Whether an index on `index` seeks the shape's equalities (what a
    /// count needs): they are its leading columns, and there is one.
    pub fn seeks(&self, index: &[String]) -> bool {
        let n = self.equal.len();
        n > 0 && index.len() >= n && self.equal.iter().all(|c| index[..n].iter().any(|i| i == c))
    }

    /// The index columns that serve this shape: the equality columns, then
    /// the sort columns not already fixed. `None` when none can.
    pub(crate) fn wanted(&self) -> Option<Vec<&'static str>> {
        let order = self.order.as_ref()?;
        if !self.one_direction {
            return None;
        }
        let mut columns = self.equal.clone();
        for c in order {
            push(&mut columns, c);
        }
        Some(columns)
    }

    /// Whether an index on `index` (its columns in order) serves the shape.
    pub fn served_by(&self, index: &[String]) -> bool {
        let Some(order) = self.order.as_ref().filter(|_| self.one_direction) else {
            return false;
        };
        let n = self.equal.len();
        if index.len() < n {
            return false;
        }
        let lead: Vec<&str> = index[..n].iter().map(String::as_str).collect();
        if !self.equal.iter().all(|c| lead.contains(c)) {
            return false;
        }
        // The sort columns not fixed by equality follow, in order (the
        // primary key last may be implied: every index entry carries it).
        let rest: Vec<&str> = order
            .iter()
            .copied()
            .filter(|c| !self.equal.contains(c))
            .collect();
        let tail: Vec<&str> = index[n..].iter().map(String::as_str).collect();
        let needed = match rest.split_last() {
            Some((last, init)) if *last == "id" => init,
            _ => rest.as_slice(),
        };
        tail.len() >= needed.len() && tail[..needed.len()] == *needed
    }

    /// A runnable PostgreSQL `CREATE INDEX` on plain columns that would
    /// serve the shape, if one can.
    pub fn suggested_index(&self) -> Option<String> {
        let columns = match self.order {
            Some(_) => self.wanted()?,
            None if !self.equal.is_empty() => self.equal.clone(),
            None => return None,
        };
        Some(format!(
            "CREATE INDEX ON {} ({})",
            self.table,
            columns.join(", ")
        ))
    }
}

/// The B-tree indexes of the two tables now, in one statement: the
/// customers' and the orders', each index as its columns in order
/// (expression columns left out, which ends the usable prefix there).
/// Other kinds (the trigram index of customer names) serve no order or
/// range the cost model reasons about.
pub async fn indexes<C: ConnectionTrait>(db: &C) -> Result<TableIndexes, DbErr> {
    let backend = db.get_database_backend();
    let sql = match backend {
        DbBackend::Postgres => {
            "SELECT t.relname::text AS table_name, i.relname::text AS index_name, \
                    a.attname::text AS column_name \
             FROM pg_index x \
             JOIN pg_class i ON i.oid = x.indexrelid \
             JOIN pg_am am ON am.oid = i.relam AND am.amname = 'btree' \
             JOIN pg_class t ON t.oid = x.indrelid \
             CROSS JOIN LATERAL unnest(x.indkey::int2[]) WITH ORDINALITY AS k(attnum, ord) \
             LEFT JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = k.attnum \
             WHERE t.relname IN ('customers', 'orders') \
               AND t.relnamespace = to_regnamespace(current_schema()) \
               AND x.indpred IS NULL AND k.ord <= x.indnkeyatts \
             ORDER BY 1, 2, k.ord"
        }
        _ => {
            "SELECT 'customers' AS table_name, il.name AS index_name, ii.name AS column_name, \
                    ii.seqno AS seqno \
             FROM pragma_index_list('customers') AS il, pragma_index_info(il.name) AS ii \
             WHERE il.partial = 0 \
             UNION ALL \
             SELECT 'orders', il.name, ii.name, ii.seqno \
             FROM pragma_index_list('orders') AS il, pragma_index_info(il.name) AS ii \
             WHERE il.partial = 0 \
             ORDER BY 1, 2, 4"
        }
    };
    // Per index: its table, its name, its plain leading columns, and
    // whether an expression column ended them.
    let mut read: Vec<(String, String, Vec<String>, bool)> = Vec::new();
    for row in db
        .query_all_raw(Statement::from_string(backend, sql))
        .await?
    {
        let table: String = row.try_get("", "table_name")?;
        let index: String = row.try_get("", "index_name")?;
        let column: Option<String> = row.try_get("", "column_name")?;
        if read
            .last()
            .is_none_or(|(t, name, _, _)| *t != table || *name != index)
        {
            read.push((table, index, Vec::new(), false));
        }
        if let Some((_, _, columns, ended)) = read.last_mut()
            && !*ended
        {
            match column {
                Some(c) => columns.push(c),
                None => *ended = true,
            }
        }
    }
    let mut out = TableIndexes::default();
    for (table, _, columns, _) in read {
        match table.as_str() {
            "customers" => out.customers.push(columns),
            _ => out.orders.push(columns),
        }
    }
    Ok(out)
}

/// The indexes of both tables, as [`indexes`] reads them.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TableIndexes {
    pub customers: Vec<Vec<String>>,
    pub orders: Vec<Vec<String>>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::compose::{Op, Ops};

    fn cols(c: &[&str]) -> Vec<String> {
        c.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn an_index_serves_equalities_then_the_order() {
        let by_newest = Sort::new(&[(OrderSortKey::CreatedAt, Dir::Desc)]).expect("sort");
        let mine = Where::Field(OrderField::CustomerId(Ops(vec![Op::Eq(7)])));
        let shape = Shape::of_orders(&mine, &by_newest, false);
        assert!(shape.served_by(&cols(&["customer_id", "created_at", "id"])));
        assert!(
            shape.served_by(&cols(&["customer_id", "created_at"])),
            "the primary key is implied"
        );
        assert!(!shape.served_by(&cols(&["created_at", "id"])));
        assert_eq!(
            shape.suggested_index().as_deref(),
            Some("CREATE INDEX ON orders (customer_id, created_at, id)")
        );
        // Mixed directions, or a computed key: no index serves them.
        let mixed = Sort::new(&[
            (OrderSortKey::Total, Dir::Asc),
            (OrderSortKey::Id, Dir::Desc),
        ])
        .expect("sort");
        assert!(
            Shape::of_orders(&mine, &mixed, false)
                .suggested_index()
                .is_none()
        );
        let by_spent = Sort::new(&[(CustomerKey::TotalSpent, Dir::Desc)]).expect("sort");
        let shape = Shape::of_customers(&Where::And(vec![]), &by_spent);
        assert!(!shape.served_by(&cols(&["id"])) && shape.suggested_index().is_none());
    }
}
