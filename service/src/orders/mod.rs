//! Orders: lookups, keyset pages (also per customer, one statement for all
//! parents), aggregates, the spending ranking, and writes (`writes`).

mod writes;

use std::collections::HashMap;

use crate::Store;
use crate::aggregates;
use crate::aggregates::rollups::{Kept, RollupFilter};
use crate::cache::Slot;
use crate::compose::order::{KeyValue, OrderSortKey, Sort};
use crate::compose::{self, OrderField, Where};
use crate::error::{Error, Result};
use crate::model::{Order, Page, PageRequest, Spending};
use crate::queries::ranking;
use crate::view::{Everything, View};

/// Orders as one caller's view sees them.
pub struct OrderService<'a> {
    store: &'a Store,
    view: &'a View,
}

impl<'a> OrderService<'a> {
    pub(crate) fn new(store: &'a Store, view: &'a View) -> Self {
        OrderService { store, view }
    }

    /// What reads of everything kept for all customers need: refused
    /// (`FORBIDDEN`) under a restricted view.
    fn everything(&self, what: &str) -> Result<Everything> {
        self.view
            .everything()
            .ok_or_else(|| Error::Forbidden(format!("{what} is not available to customers")))
    }

    /// Orders by id; absent ids, and orders the view does not see, are
    /// left out.
    #[tracing::instrument(level = "debug", skip_all, fields(n = ids.len()))]
    pub async fn by_ids(&self, ids: &[i64]) -> Result<HashMap<i64, Order>> {
        let seen = self.view.order_ids(ids);
        let rows = crate::queries::lookups::orders_by_ids(&self.store.db, &seen).await?;
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
        compose::pages::orders(&self.store.db, &self.view.orders(filter), sort, page).await
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
            &self.view.orders(filter),
            sort,
            page,
            customer_ids,
        )
        .await
    }

    /// How many orders a composed filter selects.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_where(&self, filter: &Where<OrderField>) -> Result<u64> {
        compose::counts::count_orders(&self.store.db, &self.view.orders(filter)).await
    }

    /// How many of each customer's orders a composed filter selects, in one
    /// statement for all customers.
    #[tracing::instrument(level = "debug", skip_all, fields(n = customer_ids.len()))]
    pub async fn counts_where_for_customers(
        &self,
        customer_ids: &[i64],
        filter: &Where<OrderField>,
    ) -> Result<HashMap<i64, u64>> {
        compose::counts::count_orders_of_customers(
            &self.store.db,
            &self.view.orders(filter),
            customer_ids,
        )
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
        if let Some((all, Kept::Rollups)) = self.kept(filter, None, wants_extremes)
            && let Some(f) = RollupFilter::of(filter)
        {
            return aggregates::rollups::aggregate(&self.store.db, &self.store.extent, all, &f)
                .await;
        }
        aggregates::aggregate(&self.store.db, &self.view.orders(filter)).await
    }

    /// What answers an aggregate for this caller (see
    /// [`aggregates::rollups::kept`]): only the unrestricted view reads
    /// what is kept for everyone (`None` otherwise), and rollups only
    /// where they exist.
    fn kept(
        &self,
        filter: &Where<OrderField>,
        keys: Option<&[aggregates::GroupKey]>,
        wants_extremes: bool,
    ) -> Option<(Everything, Kept)> {
        let all = self.view.everything()?;
        let kept = match aggregates::rollups::kept(filter, keys, wants_extremes) {
            Kept::Rollups if !self.store.keeps_rollups() => Kept::Nothing,
            k => k,
        };
        Some((all, kept))
    }

    /// The aggregates of each customer's orders a composed filter selects,
    /// in one statement for all customers.
    #[tracing::instrument(level = "debug", skip_all, fields(n = customer_ids.len()))]
    pub async fn aggregates_where_for_customers(
        &self,
        customer_ids: &[i64],
        filter: &Where<OrderField>,
    ) -> Result<HashMap<i64, aggregates::Totals>> {
        aggregates::aggregates_of_customers(&self.store.db, &self.view.orders(filter), customer_ids)
            .await
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
        let seen = self.view.orders(filter);
        let from_orders = || aggregates::grouped(&self.store.db, &seen, grouping);
        let groups = match self.kept(filter, Some(grouping.keys()), wants_extremes) {
            Some((all, Kept::Rollups)) => match RollupFilter::of(filter) {
                Some(f) => {
                    let (db, last) = (&self.store.db, &self.store.extent);
                    aggregates::rollups::grouped(db, last, all, &f, grouping).await?
                }
                None => return from_orders().await,
            },
            Some((all, Kept::CustomerStats)) => {
                aggregates::by_customer(&self.store.db, all, grouping).await?
            }
            Some((_, Kept::Nothing)) | None => return from_orders().await,
        };
        Ok(aggregates::finish(groups, grouping))
    }

    /// The customers with at least `min_orders` orders, by total spent
    /// descending, ties by id ascending. Cached per argument set.
    /// `FORBIDDEN` under a restricted view (it ranks other customers).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn top_customers(&self, limit: u64, min_orders: i64) -> Result<Vec<Spending>> {
        let all = self.everything("the spending ranking")?;
        let slot = [Slot::ranking(limit, min_orders)];
        let db = &self.store.db;
        let mut values = self
            .store
            .cache
            .read_through(&slot, |_| async move {
                Ok::<_, Error>(vec![Some(
                    ranking::ranking(db, all, limit, min_orders).await?,
                )])
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
        let all = self.everything("the spending ranking")?;
        let db = &self.store.db;
        let rows = ranking::ranking(db, all, limit, min_orders).await?;
        let ids: Vec<i64> = rows.iter().map(|r| r.customer_id).collect();
        let mut customers: HashMap<i64, crate::model::Customer> =
            crate::queries::lookups::customers_by_ids(db, &self.view.customer_ids(&ids))
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
        Ok(rows
            .into_iter()
            .filter_map(|r| customers.remove(&r.customer_id).map(|c| (r, c)))
            .collect())
    }
}
