//! Orders: lookups, keyset pages (also per customer, one statement for all
//! parents), aggregates, the spending ranking, and writes.

use std::collections::HashMap;

use entity::order;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, TransactionTrait, Value};

use crate::aggregates;
use crate::aggregates::rollups::{Kept, RollupFilter};
use crate::bulk;
use crate::cache::{Scope, Slot};
use crate::compose::order::{KeyValue, OrderSortKey, Sort};
use crate::compose::{self, OrderField, Where};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::input::{NewOrder, OrderPatch};
use crate::model::{Order, Page, PageRequest, Spending};
use crate::queries::ranking;
use crate::view::View;
use crate::{Cache, Store};

/// Orders as one caller's view sees them.
pub struct OrderService<'a> {
    store: &'a Store,
    view: &'a View,
}

impl<'a> OrderService<'a> {
    pub(crate) fn new(store: &'a Store, view: &'a View) -> Self {
        OrderService { store, view }
    }

    fn cache(&self) -> &Cache {
        self.view.cache_for(&self.store.cache)
    }

    /// Orders by id; absent ids are left out.
    #[tracing::instrument(level = "debug", skip_all, fields(n = ids.len()))]
    pub async fn by_ids(&self, ids: &[i64]) -> Result<HashMap<i64, Order>> {
        let rows = crate::queries::lookups::orders_by_ids(&self.store.db, ids).await?;
        Ok(rows.into_iter().map(|o| (o.id, o)).collect())
    }

    /// One page of the orders a composed filter selects, in `sort`'s order
    /// (see [`compose::pages`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page_where(
        &self,
        filter: &Where<OrderField>,
        sort: &Sort<OrderSortKey>,
        page: &PageRequest<Vec<KeyValue>>,
    ) -> Result<Page<Order>> {
        compose::pages::orders(&self.store.db, self.view, filter, sort, page).await
    }

    /// A page of each customer's orders that a composed filter selects, in
    /// `sort`'s order, in one statement for all customers (see
    /// [`compose::pages::orders_of_customers`]).
    #[tracing::instrument(level = "debug", skip_all, fields(n = customer_ids.len()))]
    pub async fn pages_where_for_customers(
        &self,
        customer_ids: &[i64],
        filter: &Where<OrderField>,
        sort: &Sort<OrderSortKey>,
        page: &PageRequest<Vec<KeyValue>>,
    ) -> Result<HashMap<i64, Page<Order>>> {
        compose::pages::orders_of_customers(
            &self.store.db,
            self.view,
            filter,
            sort,
            page,
            customer_ids,
        )
        .await
    }

    /// How many orders a composed filter selects.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_where(&self, filter: &Where<OrderField>) -> Result<u64> {
        compose::counts::count_orders(&self.store.db, self.view, filter).await
    }

    /// How many of each customer's orders a composed filter selects, in one
    /// statement for all customers.
    #[tracing::instrument(level = "debug", skip_all, fields(n = customer_ids.len()))]
    pub async fn counts_where_for_customers(
        &self,
        customer_ids: &[i64],
        filter: &Where<OrderField>,
    ) -> Result<HashMap<i64, u64>> {
        compose::counts::count_orders_of_customers(&self.store.db, self.view, filter, customer_ids)
            .await
    }

    /// The aggregates of the orders a composed filter selects (see
    /// [`crate::aggregates`]): from the kept rollups when the database
    /// keeps them, the filter is on statuses and creation instants only,
    /// and `min`/`max` are not wanted; else from the orders.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn aggregate_where(
        &self,
        filter: &Where<OrderField>,
        wants_extremes: bool,
    ) -> Result<aggregates::Totals> {
        if self.kept(filter, None, wants_extremes) == Kept::Rollups
            && let Some(f) = RollupFilter::of(filter)
        {
            return aggregates::rollups::aggregate(&self.store.db, &f).await;
        }
        aggregates::aggregate(&self.store.db, self.view, filter).await
    }

    /// What answers an aggregate for this caller (see
    /// [`aggregates::rollups::kept`]): only the unrestricted view reads
    /// what is kept for everyone, and rollups only where they exist.
    fn kept(
        &self,
        filter: &Where<OrderField>,
        keys: Option<&[aggregates::GroupKey]>,
        wants_extremes: bool,
    ) -> Kept {
        if !self.view.is_unrestricted() {
            return Kept::Nothing;
        }
        match aggregates::rollups::kept(filter, keys, wants_extremes) {
            Kept::Rollups if !self.store.keeps_rollups() => Kept::Nothing,
            k => k,
        }
    }

    /// The aggregates of each customer's orders a composed filter selects,
    /// in one statement for all customers.
    #[tracing::instrument(level = "debug", skip_all, fields(n = customer_ids.len()))]
    pub async fn aggregates_where_for_customers(
        &self,
        customer_ids: &[i64],
        filter: &Where<OrderField>,
    ) -> Result<HashMap<i64, aggregates::Totals>> {
        aggregates::aggregates_of_customers(&self.store.db, self.view, filter, customer_ids).await
    }

    /// The groups of the orders a composed filter selects: from the kept
    /// rollups or per-customer aggregates where they answer (see
    /// [`Self::kept`]); else from the orders.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn grouped_where(
        &self,
        filter: &Where<OrderField>,
        grouping: &aggregates::Grouping,
        wants_extremes: bool,
    ) -> Result<Vec<aggregates::Group>> {
        let groups = match self.kept(filter, Some(grouping.keys()), wants_extremes) {
            Kept::Rollups => match RollupFilter::of(filter) {
                Some(f) => aggregates::rollups::grouped(&self.store.db, &f, grouping).await?,
                None => {
                    return aggregates::grouped(&self.store.db, self.view, filter, grouping).await;
                }
            },
            Kept::CustomerStats => aggregates::by_customer(&self.store.db, grouping).await?,
            Kept::Nothing => {
                return aggregates::grouped(&self.store.db, self.view, filter, grouping).await;
            }
        };
        Ok(aggregates::finish(groups, grouping))
    }

    /// The customers with at least `min_orders` orders, by total spent
    /// descending, ties by id ascending. Cached per argument set.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn top_customers(&self, limit: u64, min_orders: i64) -> Result<Vec<Spending>> {
        let slot = [Slot::ranking(limit, min_orders)];
        let db = &self.store.db;
        let mut values = self
            .cache()
            .read_through(&slot, |_| async move {
                Ok::<_, Error>(vec![Some(ranking::ranking(db, limit, min_orders).await?)])
            })
            .await?;
        Ok(values.pop().flatten().unwrap_or_default())
    }

    /// The ranking as [`Self::top_customers`] gives it, each row with its
    /// customer, read from the database now (never from the cache): what a
    /// live ranking compares and pushes. Customers deleted between the two
    /// statements are left out.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn live_ranking(
        &self,
        limit: u64,
        min_orders: i64,
    ) -> Result<Vec<(Spending, crate::model::Customer)>> {
        let db = &self.store.db;
        let rows = ranking::ranking(db, limit, min_orders).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
        let mut customers: HashMap<i64, crate::model::Customer> =
            crate::queries::lookups::customers_by_ids(db, &ids)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
        Ok(rows
            .into_iter()
            .filter_map(|r| customers.remove(&r.customer_id).map(|c| (r, c)))
            .collect())
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create(&self, new: NewOrder) -> Result<Order> {
        let mut created = self.create_many(vec![new]).await?;
        created
            .pop()
            .ok_or_else(|| Error::Validation("nothing to create".into()))
    }

    /// Creates all orders or none: checks every referenced customer, then one
    /// transaction of multi-row inserts below the bind-parameter limit.
    /// Returns the orders in input order. Invalidates each affected customer
    /// once, and the ranking.
    #[tracing::instrument(level = "debug", skip_all, fields(n = news.len()))]
    pub async fn create_many(&self, news: Vec<NewOrder>) -> Result<Vec<Order>> {
        let max = self.store.limits.max_bulk_rows;
        if news.len() > max {
            return Err(Error::Validation(format!(
                "at most {max} orders per request (got {})",
                news.len()
            )));
        }
        if news.is_empty() {
            return Ok(Vec::new());
        }
        let db = &self.store.db;
        let customer_ids = bulk::distinct_customers(&news);
        // One statement is atomic by itself; more need a transaction.
        let inserted = if bulk::orders_fit_one_statement(db.get_database_backend(), news.len()) {
            bulk::insert_orders(db, &news).await
        } else {
            let txn = db.begin().await?;
            match bulk::insert_orders(&txn, &news).await {
                Ok(created) => txn.commit().await.map(|()| created).map_err(Error::from),
                Err(e) => {
                    txn.rollback().await?;
                    Err(e)
                }
            }
        };
        // The foreign key guards the customers; only when it refuses do we
        // look for the offending input, to name it.
        let created = match inserted {
            Ok(created) => created,
            Err(Error::Validation(generic)) => {
                return Err(match bulk::check_customers_exist(db, &news).await? {
                    Some(rejected) => rejected.into_error(bulk::request_label(news.len())),
                    None => Error::Validation(generic),
                });
            }
            Err(e) => return Err(e),
        };
        let mut scopes: Vec<Scope> = customer_ids.into_iter().map(Scope::Customer).collect();
        scopes.push(Scope::Ranking);
        self.store.invalidate(&scopes).await;
        self.store
            .events
            .publish(vec![Event::OrdersCreated {
                orders: created.clone(),
            }])
            .await;
        Ok(created)
    }

    /// Applies a patch in one `UPDATE … RETURNING`; `NOT_FOUND` when no order has this id.
    #[tracing::instrument(level = "debug", skip(self, patch))]
    pub async fn update(&self, id: i64, patch: OrderPatch) -> Result<Order> {
        let db = &self.store.db;
        if patch == OrderPatch::default() {
            return self
                .by_ids(&[id])
                .await?
                .remove(&id)
                .ok_or_else(|| Error::not_found(format!("no order with id {id}")));
        }
        let mut update = order::Entity::update_many().filter(order::Column::Id.eq(id));
        if let Some(total) = patch.total {
            update = update.col_expr(order::Column::TotalCents, Expr::value(total.cents()));
        }
        if let Some(status) = patch.status {
            update = update.col_expr(order::Column::Status, Expr::value(Value::from(status)));
        }
        let updated = update
            .exec_with_returning(db)
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(format!("no order with id {id}")))?;
        self.store
            .invalidate(&[Scope::Customer(updated.customer_id), Scope::Ranking])
            .await;
        let updated = Order::from(updated);
        self.store
            .events
            .publish(vec![Event::OrderUpdated {
                order: updated.clone(),
            }])
            .await;
        Ok(updated)
    }

    /// Deletes an order; `NOT_FOUND` when no order has this id.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn delete(&self, id: i64) -> Result<()> {
        let deleted = order::Entity::delete_many()
            .filter(order::Column::Id.eq(id))
            .exec_with_returning(&self.store.db)
            .await?
            .pop()
            .ok_or_else(|| Error::not_found(format!("no order with id {id}")))?;
        self.store
            .invalidate(&[Scope::Customer(deleted.customer_id), Scope::Ranking])
            .await;
        self.store
            .events
            .publish(vec![Event::OrderDeleted {
                customer_id: deleted.customer_id,
            }])
            .await;
        Ok(())
    }
}
