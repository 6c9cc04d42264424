//! Customers: lookups (cached), keyset pages, counts and writes.

use std::collections::HashMap;

use entity::customer;
use sea_orm::{ActiveModelTrait, EntityTrait, Set};

use crate::Store;
use crate::bulk;
use crate::cache::{Scope, Slot, index_by};
use crate::compose::order::{CustomerKey, KeyValue, Sort};
use crate::compose::{self, CustomerField, Where};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::input::{CustomerPatch, NewCustomer};
use crate::model::{Customer, CustomerStats, Page, PageRequest};
use crate::queries;
use crate::view::{Seen, View};

/// Customers as one caller's view sees them.
pub struct CustomerService<'a> {
    store: &'a Store,
    view: &'a View,
}

impl<'a> CustomerService<'a> {
    pub(crate) fn new(store: &'a Store, view: &'a View) -> Self {
        CustomerService { store, view }
    }

    /// `NOT_FOUND` for a customer the view does not see, exactly as for
    /// one that does not exist.
    fn seen(&self, id: i64) -> Result<()> {
        if self.view.sees_customer(id) {
            Ok(())
        } else {
            Err(Error::not_found(format!("no customer with id {id}")))
        }
    }

    /// `FORBIDDEN` under a restricted view.
    fn unrestricted(&self, what: &str) -> Result<()> {
        if self.view.is_unrestricted() {
            Ok(())
        } else {
            Err(Error::Forbidden(format!(
                "{what} is not available to customers"
            )))
        }
    }

    /// `slot` as this view caches it (see [`View::cache_namespace`]).
    fn slot(&self, slot: Slot) -> Slot {
        slot.under(self.view.cache_namespace().as_deref())
    }

    /// Per-customer values of the `ids` this view sees, read through the
    /// cache (each in `slot` of its id, under the view's namespace): `fetch`
    /// gets the ids the cache missed, in one call, and answers for each.
    async fn cached<T, F, Fut>(
        &self,
        ids: &[i64],
        slot: fn(i64) -> Slot,
        fetch: F,
    ) -> Result<HashMap<i64, T>>
    where
        T: serde::Serialize + serde::de::DeserializeOwned + Clone,
        F: Fn(Seen<Vec<i64>>) -> Fut,
        Fut: std::future::Future<Output = Result<Vec<Option<T>>>>,
    {
        let seen = self.view.customer_ids(ids);
        let slots: Vec<Slot> = seen.get().iter().map(|id| self.slot(slot(*id))).collect();
        let part = |missed: Vec<usize>| fetch(seen.part(&missed));
        let values = self.store.cache.read_through(&slots, part).await?;
        Ok(index_by(seen.get(), values))
    }

    /// Customers by id, from the cache where possible; absent ids, and
    /// those the view does not see, are left out.
    #[tracing::instrument(level = "debug", skip_all, fields(n = ids.len()))]
    pub async fn by_ids(&self, ids: &[i64]) -> Result<HashMap<i64, Customer>> {
        let db = &self.store.db;
        self.cached(ids, Slot::customer, |wanted| async move {
            let mut found: HashMap<i64, Customer> = queries::lookups::customers_by_ids(db, &wanted)
                .await?
                .into_iter()
                .map(|c| (c.id, c))
                .collect();
            Ok(wanted.get().iter().map(|id| found.remove(id)).collect())
        })
        .await
    }

    /// Order count and total spent per customer the view sees, from the
    /// cache where possible; one grouped statement for all misses.
    #[tracing::instrument(level = "debug", skip_all, fields(n = ids.len()))]
    pub async fn stats(&self, ids: &[i64]) -> Result<HashMap<i64, CustomerStats>> {
        let db = &self.store.db;
        self.cached(ids, Slot::stats, |wanted| async move {
            let found = queries::stats_for_customers(db, &wanted).await?;
            Ok(wanted
                .get()
                .iter()
                .map(|id| Some(found.get(id).copied().unwrap_or_default()))
                .collect())
        })
        .await
    }

    /// One page of the customers a composed filter selects, in `sort`'s
    /// order; each with its aggregates when `sort` has them (see
    /// [`compose::pages`]).
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn page_where(
        &self,
        filter: &Where<CustomerField>,
        sort: &Sort<CustomerKey>,
        page: &PageRequest<Vec<KeyValue>>,
    ) -> Result<Page<(Customer, Option<CustomerStats>)>> {
        compose::pages::customers(&self.store.db, &self.view.customers(filter), sort, page).await
    }

    /// How many customers a composed filter selects.
    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn count_where(&self, filter: &Where<CustomerField>) -> Result<u64> {
        compose::counts::count_customers(&self.store.db, &self.view.customers(filter)).await
    }

    #[tracing::instrument(level = "debug", skip_all)]
    pub async fn create(&self, new: NewCustomer) -> Result<Customer> {
        let mut created = self.create_many(vec![new]).await?;
        created
            .pop()
            .ok_or_else(|| Error::Validation("nothing to create".into()))
    }

    /// Creates all customers or none: one transaction of multi-row inserts,
    /// each below the backend's bind-parameter limit. Returns them in input order.
    #[tracing::instrument(level = "debug", skip_all, fields(n = news.len()))]
    pub async fn create_many(&self, news: Vec<NewCustomer>) -> Result<Vec<Customer>> {
        let max = self.store.limits.max_bulk_rows;
        if news.len() > max {
            return Err(Error::Validation(format!(
                "at most {max} customers per request (got {})",
                news.len()
            )));
        }
        if news.is_empty() {
            return Ok(Vec::new());
        }
        self.unrestricted("creating customers")?;
        let db = &self.store.db;
        let txn = db.begin().await?;
        // The unique index guards the emails; only when it refuses do we
        // look for the offending input, to name it.
        let created = match bulk::insert_customers(&txn, &news).await {
            Ok(created) => created,
            Err(Error::Conflict(generic)) => {
                txn.rollback().await?;
                return Err(match bulk::check_emails_free(db, &news).await? {
                    Some(rejected) => rejected.into_error(bulk::request_label(news.len())),
                    None => Error::Conflict(generic),
                });
            }
            Err(e) => return Err(e),
        };
        txn.commit().await?;
        // New customers only change the ranking (`minOrders: 0` lists them).
        self.store.invalidate(&[Scope::Ranking]).await;
        self.store
            .events
            .publish(vec![Event::CustomersChanged])
            .await;
        Ok(created)
    }

    /// Applies a patch; `NOT_FOUND` when no customer has this id.
    #[tracing::instrument(level = "debug", skip(self, patch))]
    pub async fn update(&self, id: i64, patch: CustomerPatch) -> Result<Customer> {
        self.seen(id)?;
        let db = &self.store.db;
        let txn = db.begin().await?;
        let current = customer::Entity::find_by_id(id)
            .one(&txn)
            .await?
            .ok_or_else(|| Error::not_found(format!("no customer with id {id}")))?;
        if patch == CustomerPatch::default() {
            return Ok(current.into());
        }
        let mut model: customer::ActiveModel = current.into();
        if let Some(name) = patch.name {
            model.name = Set(name);
        }
        if let Some(email) = patch.email {
            model.email = Set(email);
        }
        if let Some(phone) = patch.phone {
            model.phone = Set(phone);
        }
        let updated = model.update(&txn).await?;
        txn.commit().await?;
        self.store.invalidate(&[Scope::Customer(id)]).await;
        let updated = Customer::from(updated);
        self.store
            .events
            .publish(vec![Event::CustomerUpdated {
                customer: updated.clone(),
            }])
            .await;
        Ok(updated)
    }

    /// Deletes a customer and, by cascade, its orders.
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn delete(&self, id: i64) -> Result<()> {
        self.seen(id)?;
        self.unrestricted("deleting customers")?;
        let result = customer::Entity::delete_by_id(id)
            .exec(&self.store.db)
            .await?;
        if result.rows_affected == 0 {
            return Err(Error::not_found(format!("no customer with id {id}")));
        }
        self.store
            .invalidate(&[Scope::Customer(id), Scope::Ranking])
            .await;
        self.store
            .events
            .publish(vec![Event::CustomersChanged])
            .await;
        Ok(())
    }
}
