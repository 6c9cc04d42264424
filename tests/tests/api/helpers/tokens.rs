//! Bearer tokens the tests send, signed with the test apps' secret.

use super::*;

pub fn token(role: Role) -> String {
    Jwt::new(JWT_SECRET.as_bytes())
        .issue("tester", role, Duration::from_secs(600))
        .expect("token")
}

pub fn writer() -> String {
    token(Role::Writer)
}

/// A `customer` token for the customer `id` (subject `customer:<id>`).
pub fn customer_token(id: i64) -> String {
    Jwt::new(JWT_SECRET.as_bytes())
        .issue_for(
            &format!("customer:{id}"),
            Role::Customer,
            Some(id),
            Duration::from_secs(600),
        )
        .expect("token")
}
