//! Order writes: creation (one or many, all or nothing), changes, a
//! customer's cancellation, deletion; each invalidates what it made stale
//! and publishes its event after it committed.

use entity::order;
use sea_orm::sea_query::Expr;
use sea_orm::{ColumnTrait, ConnectionTrait, EntityTrait, QueryFilter, QueryTrait, Value};

use super::OrderService;
use crate::bulk;
use crate::cache::Scope;
use crate::error::{Error, Result};
use crate::events::Event;
use crate::input::{NewOrder, OrderPatch};
use crate::model::{Order, OrderStatus};

impl OrderService<'_> {
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
        // Another customer's id is refused exactly as one that names no
        // customer.
        if let Some(rejected) = bulk::check_customers_seen(self.view, &news) {
            return Err(rejected.into_error(bulk::request_label(news.len())));
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
        let mut update = order::Entity::update_many()
            .filter(order::Column::Id.eq(id))
            .apply_if(self.view.customer_id(), |q, own| {
                q.filter(order::Column::CustomerId.eq(own))
            });
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
        self.updated(updated).await
    }

    /// Cancels a `PENDING` order in one statement: `NOT_FOUND` when no
    /// order the view sees has this id, `FORBIDDEN` when it is no longer
    /// pending (a customer's one change to its orders).
    #[tracing::instrument(level = "debug", skip(self))]
    pub async fn cancel(&self, id: i64) -> Result<Order> {
        let db = &self.store.db;
        let seen = |q: sea_orm::UpdateMany<order::Entity>| {
            q.filter(order::Column::Id.eq(id))
                .apply_if(self.view.customer_id(), |q, own| {
                    q.filter(order::Column::CustomerId.eq(own))
                })
        };
        let cancelled = seen(order::Entity::update_many())
            .filter(order::Column::Status.eq(OrderStatus::Pending))
            .col_expr(
                order::Column::Status,
                Expr::value(Value::from(OrderStatus::Cancelled)),
            )
            .exec_with_returning(db)
            .await?
            .pop();
        match cancelled {
            Some(order) => self.updated(order).await,
            None => match self.by_ids(&[id]).await?.remove(&id) {
                Some(order) => Err(Error::Forbidden(format!(
                    "order {id} is {}: only a PENDING order can be cancelled",
                    order.status.as_str()
                ))),
                None => Err(Error::not_found(format!("no order with id {id}"))),
            },
        }
    }

    /// After an order changed: invalidation and the event.
    async fn updated(&self, updated: order::Model) -> Result<Order> {
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
            .apply_if(self.view.customer_id(), |q, own| {
                q.filter(order::Column::CustomerId.eq(own))
            })
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
