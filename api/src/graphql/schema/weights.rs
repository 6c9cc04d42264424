//! What each field costs on its own, before its children: the schema's
//! side of the engine's cost check (`engine::cost`). A field that runs a
//! statement of its own weighs what that statement costs relative to
//! returning one value; every other field weighs 1.
//!
//! Every root field (query and mutation) is listed, so adding one means
//! deciding its weight. The engine reads this table into its index of the
//! schema when it starts and refuses to start if an entry names a field the
//! schema does not have; a test checks that every root field has an entry.

/// A field's own cost.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Weight {
    /// The same whatever the arguments.
    Fixed(u64),
    /// A base plus one per row of the field's list `input` (bulk writes).
    PerInputRow(u64),
    /// A count: `at_root` when its connection came from a root field (a
    /// COUNT over a filter), `nested` under a parent (it comes with the
    /// parent's aggregates).
    Count { at_root: u64, nested: u64 },
}

impl Weight {
    /// The weight given where the field sits and how many input rows it has.
    pub fn of(self, from_root: bool, input_rows: u64) -> u64 {
        match self {
            Weight::Fixed(w) => w,
            Weight::PerInputRow(base) => base.saturating_add(input_rows),
            Weight::Count { at_root, nested } => {
                if from_root {
                    at_root
                } else {
                    nested
                }
            }
        }
    }
}

impl Default for Weight {
    fn default() -> Self {
        Weight::Fixed(1)
    }
}

/// A keyset page: one indexed statement.
const PAGE: Weight = Weight::Fixed(10);
/// A lookup by key, batched with its siblings by the loaders.
const LOOKUP: Weight = Weight::Fixed(1);
/// A write: one transaction.
const WRITE: Weight = Weight::Fixed(10);
/// A bulk write: one transaction, and a row each on top.
const BULK_WRITE: Weight = Weight::PerInputRow(10);
/// `totalCount` of a connection.
const COUNT: Weight = Weight::Count {
    at_root: 500,
    nested: 5,
};

/// `(type, field, weight)`; fields not listed weigh 1.
pub const WEIGHTS: &[(&str, &str, Weight)] = &[
    ("Query", "customer", LOOKUP),
    ("Query", "customers", PAGE),
    ("Query", "order", LOOKUP),
    ("Query", "orders", PAGE),
    // The ranking: one aggregate statement.
    ("Query", "topCustomers", Weight::Fixed(200)),
    // Aggregates: one statement reading every order they cover (the row
    // budget bounds how many), like a count at the root; under a customer,
    // one grouped statement for the page of customers.
    ("Query", "ordersAggregate", Weight::Fixed(500)),
    ("Query", "ordersGrouped", Weight::Fixed(500)),
    ("Customer", "ordersAggregate", Weight::Fixed(5)),
    ("CustomerConnection", "totalCount", COUNT),
    ("OrderConnection", "totalCount", COUNT),
    ("Mutation", "createCustomer", WRITE),
    ("Mutation", "createCustomers", BULK_WRITE),
    ("Mutation", "updateCustomer", WRITE),
    ("Mutation", "deleteCustomer", WRITE),
    ("Mutation", "createOrder", WRITE),
    ("Mutation", "createOrders", BULK_WRITE),
    ("Mutation", "updateOrder", WRITE),
    ("Mutation", "deleteOrder", WRITE),
];
