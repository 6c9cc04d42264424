//! Per-request dataloaders. Each batch is one service call (one statement,
//! or a cache round trip), whatever the number of keys. Created for every
//! request, so nothing cached here outlives it.

use std::collections::HashMap;
use std::hash::{BuildHasher as _, Hash, Hasher};
use std::sync::Arc;

use async_graphql::dataloader::{DataLoader, HashMapCache, Loader};
use service::{Store, View};

use crate::graphql::runtime::db_gate::DbGate;
use crate::graphql::runtime::fetch_queue::FetchQueue;
use crate::telemetry::traces::Traces;
use service::compose::order::KeyValue;
use service::model::{Customer, CustomerStats, Order, Page, PageRequest};

use service::aggregates::Totals;
use service::compose::{OrderField, OrderList, Where};

/// The loader's per-request cache hashes with foldhash: its keys are
/// bounded by the request's cost, and SipHash over every `OrdersOf` key
/// was a visible share of a page of customers with their orders.
pub type AppLoader = DataLoader<Loaders, HashMapCache<foldhash::fast::RandomState>>;
pub type LoadError = Arc<service::Error>;

/// A customer by id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct CustomerId(pub i64);

/// An order by id.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrderId(pub i64);

/// A customer's `orderCount` and `totalSpent`.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub struct StatsOf(pub i64);

/// What every key of one nested field shares (its list, its page request),
/// hashed once when the field is resolved: the keys of a page of parents
/// then hash as two integers and compare by pointer first, instead of
/// hashing the whole filter tree each time the loader, its cache and its
/// result map look a key up (a tenth of a page of customers with their
/// orders went there).
#[derive(Debug)]
pub struct Hashed<T> {
    hash: u64,
    value: T,
}

impl<T: Hash> Hashed<T> {
    pub fn new(value: T) -> Arc<Self> {
        let hash = foldhash::fast::FixedState::default().hash_one(&value);
        Arc::new(Hashed { hash, value })
    }
}

impl<T> std::ops::Deref for Hashed<T> {
    type Target = T;
    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T> Hash for Hashed<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        state.write_u64(self.hash);
    }
}

impl<T: PartialEq> PartialEq for Hashed<T> {
    fn eq(&self, other: &Self) -> bool {
        self.hash == other.hash && self.value == other.value
    }
}

impl<T: Eq> Eq for Hashed<T> {}

/// A nested order list and the page asked of it.
#[derive(Debug, PartialEq, Eq, Hash)]
pub struct Level {
    pub list: Arc<OrderList>,
    pub page: PageRequest<Vec<KeyValue>>,
}

/// One page of a customer's orders, of a list.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct OrdersOf {
    pub customer_id: i64,
    pub level: Arc<Hashed<Level>>,
}

/// How many of a customer's orders a list holds.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct CountOf {
    pub customer_id: i64,
    pub list: Arc<Hashed<Arc<OrderList>>>,
}

/// The aggregates of a customer's orders a filter selects.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct AggregateOf {
    pub customer_id: i64,
    pub filter: Arc<Hashed<Where<OrderField>>>,
}

pub struct Loaders {
    store: Store,
    gate: DbGate,
    /// The caller's: every batch reads as it sees.
    view: View,
    /// Each batch's span, when traces are exported.
    traces: Option<Arc<Traces>>,
}

impl Loaders {
    /// A loader for one request whose fetches run through `queue` (see
    /// [`super::fetch_queue`]): no timer, batches bounded by execution steps.
    /// Each fetch holds one of the request's database permits.
    pub fn new_loader(
        store: Store,
        view: View,
        queue: &Arc<FetchQueue>,
        gate: DbGate,
        traces: Option<Arc<Traces>>,
    ) -> AppLoader {
        DataLoader::with_cache(
            Loaders {
                store,
                gate,
                view,
                traces,
            },
            queue.spawner(),
            HashMapCache::<foldhash::fast::RandomState>::new(),
        )
        .delay(std::time::Duration::ZERO)
    }

    /// One batch of `loader` for `keys` keys: through the request's
    /// database gate, in a span of its own when traces are exported (its
    /// statements' spans under it).
    async fn batch<V>(
        &self,
        loader: &'static str,
        keys: usize,
        fetch: impl Future<Output = service::Result<HashMap<i64, V>>>,
    ) -> Result<HashMap<i64, V>, LoadError> {
        let count = |n: usize| i64::try_from(n).unwrap_or(i64::MAX);
        let cx = self
            .traces
            .as_ref()
            .filter(|t| t.recording())
            .map(|traces| {
                traces.child(
                    format!("load {loader}"),
                    vec![
                        opentelemetry::KeyValue::new("graphql.loader.name", loader),
                        opentelemetry::KeyValue::new("graphql.loader.keys", count(keys)),
                    ],
                )
            });
        let found = crate::telemetry::in_trace(self.gate.run(fetch), cx.clone()).await;
        if let Some(cx) = &cx {
            let code = match &found {
                Ok(rows) => {
                    opentelemetry::trace::TraceContextExt::span(cx).set_attribute(
                        opentelemetry::KeyValue::new("graphql.loader.results", count(rows.len())),
                    );
                    None
                }
                // The code alone: the resolver maps (and logs) the error.
                Err(e) => Some(crate::graphql::runtime::error::service_code(e).as_str()),
            };
            crate::telemetry::traces::end(cx, code);
        }
        found.map_err(Arc::new)
    }
}

fn ids<K: Copy>(keys: &[K], f: impl Fn(K) -> i64) -> Vec<i64> {
    keys.iter().map(|k| f(*k)).collect()
}

impl Loader<CustomerId> for Loaders {
    type Value = Customer;
    type Error = LoadError;

    async fn load(&self, keys: &[CustomerId]) -> Result<HashMap<CustomerId, Customer>, LoadError> {
        let found = self
            .batch(
                "customers",
                keys.len(),
                self.store.customers(&self.view).by_ids(&ids(keys, |k| k.0)),
            )
            .await?;
        Ok(found
            .into_iter()
            .map(|(id, c)| (CustomerId(id), c))
            .collect())
    }
}

impl Loader<OrderId> for Loaders {
    type Value = Order;
    type Error = LoadError;

    async fn load(&self, keys: &[OrderId]) -> Result<HashMap<OrderId, Order>, LoadError> {
        let found = self
            .batch(
                "orders",
                keys.len(),
                self.store.orders(&self.view).by_ids(&ids(keys, |k| k.0)),
            )
            .await?;
        Ok(found.into_iter().map(|(id, o)| (OrderId(id), o)).collect())
    }
}

impl Loader<StatsOf> for Loaders {
    type Value = CustomerStats;
    type Error = LoadError;

    async fn load(&self, keys: &[StatsOf]) -> Result<HashMap<StatsOf, CustomerStats>, LoadError> {
        let found = self
            .batch(
                "customer stats",
                keys.len(),
                self.store.customers(&self.view).stats(&ids(keys, |k| k.0)),
            )
            .await?;
        Ok(found.into_iter().map(|(id, s)| (StatsOf(id), s)).collect())
    }
}

impl Loader<OrdersOf> for Loaders {
    type Value = Page<Order>;
    type Error = LoadError;

    /// Keys of one level share their list and page arguments, so this is
    /// one statement; keys with different ones are grouped, one statement
    /// a group.
    async fn load(&self, keys: &[OrdersOf]) -> Result<HashMap<OrdersOf, Page<Order>>, LoadError> {
        let mut groups: HashMap<Arc<Hashed<Level>>, Vec<i64>> = HashMap::new();
        for k in keys {
            groups
                .entry(k.level.clone())
                .or_default()
                .push(k.customer_id);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (level, customer_ids) in groups {
            let Level { list, page } = &**level;
            let pages = self
                .batch(
                    "orders of customers",
                    customer_ids.len(),
                    self.store.orders(&self.view).pages_where_for_customers(
                        &customer_ids,
                        &list.filter,
                        &list.sort,
                        page,
                    ),
                )
                .await?;
            for (customer_id, found) in pages {
                let key = OrdersOf {
                    customer_id,
                    level: level.clone(),
                };
                out.insert(key, found);
            }
        }
        Ok(out)
    }
}

impl Loader<CountOf> for Loaders {
    type Value = u64;
    type Error = LoadError;

    /// One grouped statement per list for all its customers.
    async fn load(&self, keys: &[CountOf]) -> Result<HashMap<CountOf, u64>, LoadError> {
        let mut groups: HashMap<Arc<Hashed<Arc<OrderList>>>, Vec<i64>> = HashMap::new();
        for k in keys {
            groups
                .entry(k.list.clone())
                .or_default()
                .push(k.customer_id);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (list, customer_ids) in groups {
            let counts = self
                .batch(
                    "order counts",
                    customer_ids.len(),
                    self.store
                        .orders(&self.view)
                        .counts_where_for_customers(&customer_ids, &list.filter),
                )
                .await?;
            for (customer_id, n) in counts {
                let key = CountOf {
                    customer_id,
                    list: list.clone(),
                };
                out.insert(key, n);
            }
        }
        Ok(out)
    }
}

impl Loader<AggregateOf> for Loaders {
    type Value = Totals;
    type Error = LoadError;

    /// One grouped statement per filter for all its customers.
    async fn load(&self, keys: &[AggregateOf]) -> Result<HashMap<AggregateOf, Totals>, LoadError> {
        let mut groups: HashMap<Arc<Hashed<Where<OrderField>>>, Vec<i64>> = HashMap::new();
        for k in keys {
            groups
                .entry(k.filter.clone())
                .or_default()
                .push(k.customer_id);
        }
        let mut out = HashMap::with_capacity(keys.len());
        for (filter, customer_ids) in groups {
            let totals = self
                .batch(
                    "order aggregates",
                    customer_ids.len(),
                    self.store
                        .orders(&self.view)
                        .aggregates_where_for_customers(&customer_ids, &filter),
                )
                .await?;
            for (customer_id, t) in totals {
                let key = AggregateOf {
                    customer_id,
                    filter: filter.clone(),
                };
                out.insert(key, t);
            }
        }
        Ok(out)
    }
}
