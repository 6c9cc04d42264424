//! What the cache stores under which key: scopes (the unit of
//! invalidation, each with a version counter), slots (one value within a
//! scope), and the key of an entry under a version.

use std::collections::HashMap;

/// A cache scope: the unit of invalidation.
#[derive(Copy, Clone, Debug, PartialEq, Eq, Hash)]
pub enum Scope {
    /// One customer's row and aggregates.
    Customer(i64),
    /// The spending ranking (`topCustomers`, every argument set).
    Ranking,
}

/// One cached value: its scope and its name within the scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Slot {
    pub scope: Scope,
    pub name: String,
}

impl Slot {
    pub fn customer(id: i64) -> Self {
        Slot {
            scope: Scope::Customer(id),
            name: format!("cust:{id}"),
        }
    }

    pub fn stats(id: i64) -> Self {
        Slot {
            scope: Scope::Customer(id),
            name: format!("stats:{id}"),
        }
    }

    /// The same value in a namespace of its own (a restricted view's:
    /// entries filled under it are never read under another).
    pub fn under(self, namespace: Option<&str>) -> Self {
        match namespace {
            None => self,
            Some(ns) => Slot {
                name: format!("{ns}/{}", self.name),
                ..self
            },
        }
    }

    pub fn ranking(limit: u64, min_orders: i64) -> Self {
        Slot {
            scope: Scope::Ranking,
            name: format!("top:{limit}:{min_orders}"),
        }
    }
}

pub(crate) fn version_key(scope: &Scope) -> String {
    match scope {
        Scope::Customer(id) => format!("v:c:{id}"),
        Scope::Ranking => "v:rank".to_owned(),
    }
}

pub(crate) fn entry_base(slot: &Slot) -> String {
    format!("e:{}", slot.name)
}

pub(crate) fn entry_key(slot: &Slot, version: u64) -> String {
    format!("{}:{version}", entry_base(slot))
}

/// Groups values by key for callers that look up by id.
pub fn index_by<K, V>(ids: &[K], values: Vec<Option<V>>) -> HashMap<K, V>
where
    K: std::hash::Hash + Eq + Copy,
{
    ids.iter()
        .zip(values)
        .filter_map(|(k, v)| v.map(|v| (*k, v)))
        .collect()
}
