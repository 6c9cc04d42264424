//! Cursors of composed lists (`where`/`orderBy`): the values of a row's
//! sort keys, and the fingerprint of the list they were issued for: the
//! field, its parent (for `Customer.orders`), the caller's view, the order
//! and the filter. A cursor used with any other list is `BAD_USER_INPUT`,
//! so it can neither skip rows nor reveal another list's values; a cursor
//! of the format before composed lists (the key alone) is refused the same
//! way, once, and the client starts again from the first page.
//!
//! The fingerprint is a digest of the normalized tree and order
//! (`service::compose`), the same on every instance; two spellings of the
//! same condition may fingerprint differently, which the contract allows.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::{Deserialize, Serialize};
use service::View;
use service::compose::Where;
use service::compose::order::{KeyValue, Sort};
use sha2::{Digest as _, Sha256};

use crate::graphql::runtime::error::bad_input;

/// The list a cursor belongs to.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Scope([u8; 12]);

impl Scope {
    /// The scope of `field` (under `parent`, for a nested list) as `view`
    /// reads it, in `sort`'s order, filtered by `filter`.
    pub fn of<K: Serialize, F: Serialize>(
        field: &str,
        parent: Option<i64>,
        view: &View,
        sort: &Sort<K>,
        filter: &Where<F>,
    ) -> Scope {
        // Serializing these plain values cannot fail.
        let bytes = serde_json::to_vec(&(field, parent, view, sort, filter)).unwrap_or_default();
        let digest = Sha256::digest(&bytes);
        let mut out = [0u8; 12];
        out.copy_from_slice(&digest[..12]);
        Scope(out)
    }
}

#[derive(Serialize, Deserialize)]
struct Wire {
    /// The format's version.
    v: u8,
    /// The scope, as base64.
    s: String,
    /// The sort-key values.
    k: Vec<KeyValue>,
}

const VERSION: u8 = 1;

/// The cursor of the row at `position` in `scope`.
pub fn encode(scope: Scope, position: Vec<KeyValue>) -> String {
    let wire = Wire {
        v: VERSION,
        s: URL_SAFE_NO_PAD.encode(scope.0),
        k: position,
    };
    // Serializing numbers, strings and instants cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(&wire).unwrap_or_default())
}

/// The position a cursor names, if it was issued for `scope`.
pub fn decode(cursor: &str, scope: Scope) -> async_graphql::Result<Vec<KeyValue>> {
    let wire = URL_SAFE_NO_PAD
        .decode(cursor.trim())
        .ok()
        .and_then(|bytes| serde_json::from_slice::<Wire>(&bytes).ok())
        .filter(|w| w.v == VERSION);
    match wire {
        Some(w) if w.s == URL_SAFE_NO_PAD.encode(scope.0) => Ok(w.k),
        Some(_) => Err(bad_input(
            "this cursor belongs to another list, order or filter: start again from the first page",
        )),
        None => Err(bad_input(format!(
            "cursor {cursor:?} is malformed or from before composed lists: start again from the first page"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use service::compose::order::{CustomerKey, Dir};
    use service::compose::{CustomerField, TextOp, TextOps};

    use super::*;

    fn name_is(s: &str) -> Where<CustomerField> {
        Where::Field(CustomerField::Name(TextOps {
            ops: vec![TextOp::Eq(s.into())],
            case_insensitive: false,
        }))
    }

    #[test]
    fn a_cursor_is_valid_only_for_the_list_it_was_issued_for() {
        let view = View::unrestricted();
        let by_name = Sort::new(&[(CustomerKey::Name, Dir::Asc)]).expect("sort");
        let by_id = Sort::new(&[(CustomerKey::Id, Dir::Asc)]).expect("sort");
        let scope = Scope::of("customers", None, &view, &by_name, &name_is("a"));
        let position = vec![KeyValue::Text("Ann".into()), KeyValue::Int(7)];
        let cursor = encode(scope, position.clone());
        assert_eq!(decode(&cursor, scope).expect("its own list"), position);
        for other in [
            Scope::of("customers", None, &view, &by_id, &name_is("a")),
            Scope::of("customers", None, &view, &by_name, &name_is("b")),
            Scope::of("orders", None, &view, &by_name, &name_is("a")),
            Scope::of("customers", Some(1), &view, &by_name, &name_is("a")),
        ] {
            let err = decode(&cursor, other).expect_err("another list");
            assert!(err.message.contains("another list"), "{}", err.message);
        }
        // The key-only cursors of before (`c:7`), and garbage, are refused
        // as malformed.
        for old in [URL_SAFE_NO_PAD.encode("c:7"), "not a cursor".to_owned()] {
            assert!(
                decode(&old, scope)
                    .expect_err("old")
                    .message
                    .contains("malformed")
            );
        }
    }
}
