//! Which rows a caller may see: the one door every read goes through.
//!
//! [`Store::customers`](crate::Store::customers) and
//! [`Store::orders`](crate::Store::orders) take a [`View`], and the services
//! they return are the only way `api` reads customers and orders; so a read
//! that forgets the caller's view does not compile. Inside the services the
//! view becomes conditions on the statements (`customer_condition`,
//! `order_condition`, added to every filtered read) and decides which
//! cache entries a read may share (`shares_cache`).
//!
//! Today every caller has the unrestricted view. A restricted form (a
//! customer who sees only its own rows) adds a variant here; every place
//! that must honour it already holds a view. Operator commands (`seed`,
//! `import`, `stats`) are not callers: they read and write everything.

use std::sync::LazyLock;

use sea_orm::sea_query::Condition;

use crate::Cache;

/// What a view that shares no entry reads through: no cache at all.
static NO_CACHE: LazyLock<Cache> = LazyLock::new(Cache::disabled);

/// What a caller may see. Serialized into what must tell views apart (a
/// cursor's fingerprint, later the cache keys of restricted views).
#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
pub struct View {
    visible: Visible,
}

#[derive(Clone, Debug, PartialEq, Eq, Hash, serde::Serialize)]
enum Visible {
    /// Every row.
    Everything,
}

impl View {
    /// Every row: staff callers, anonymous readers (as the contract allows
    /// them today), and the live ranking shared by all subscribers.
    pub const fn unrestricted() -> Self {
        View {
            visible: Visible::Everything,
        }
    }

    /// Whether the caller sees every row.
    pub fn is_unrestricted(&self) -> bool {
        matches!(self.visible, Visible::Everything)
    }

    /// Whether reads under this view may share the cache's entries with
    /// every other caller of the same view.
    pub fn shares_cache(&self) -> bool {
        self.is_unrestricted()
    }

    /// The cache a read under this view goes through: `shared` (whose
    /// entries are filled under the unrestricted view), or none.
    pub fn cache_for<'a>(&self, shared: &'a Cache) -> &'a Cache {
        if self.shares_cache() {
            shared
        } else {
            &NO_CACHE
        }
    }

    /// The condition a visible customer row meets (`None`: every row, and
    /// the statement stays as it is).
    pub fn customer_condition(&self) -> Option<Condition> {
        match self.visible {
            Visible::Everything => None,
        }
    }

    /// The condition a visible order row meets (`None`: every row).
    pub fn order_condition(&self) -> Option<Condition> {
        match self.visible {
            Visible::Everything => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use entity::{customer, order};
    use sea_orm::{DbBackend, EntityTrait, QueryFilter as _, QueryTrait};

    #[test]
    fn the_unrestricted_view_adds_nothing_to_a_statement() {
        let view = View::unrestricted();
        assert!(view.is_unrestricted() && view.shares_cache());
        let plain = customer::Entity::find()
            .build(DbBackend::Postgres)
            .to_string();
        let viewed = customer::Entity::find()
            .apply_if(view.customer_condition(), |q, c| q.filter(c))
            .build(DbBackend::Postgres)
            .to_string();
        assert_eq!(plain, viewed);
        let plain = order::Entity::find().build(DbBackend::Postgres).to_string();
        let viewed = order::Entity::find()
            .apply_if(view.order_condition(), |q, c| q.filter(c))
            .build(DbBackend::Postgres)
            .to_string();
        assert_eq!(plain, viewed);
    }
}
