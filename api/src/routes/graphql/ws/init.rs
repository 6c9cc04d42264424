//! `connection_init`: who the caller is.

use serde_json::Value;

use crate::auth::{Auth, Jwt};

/// The caller named by a `connection_init` payload: `Authorization` (any
/// case) at its top level, or under `headers`.
pub fn auth_of_payload(payload: &Value, jwt: &Jwt) -> Auth {
    let find = |object: &serde_json::Map<String, Value>| {
        object
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.clone())
    };
    let found = payload.as_object().and_then(|o| {
        find(o).or_else(|| o.get("headers").and_then(Value::as_object).and_then(find))
    });
    match found {
        None | Some(Value::Null) => Auth::Anonymous,
        Some(Value::String(value)) => Auth::from_authorization(&value, jwt),
        Some(_) => Auth::Invalid(
            "`Authorization` in connection_init must be a string `Bearer <token>`".into(),
        ),
    }
}
