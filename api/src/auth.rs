//! Bearer tokens: HS256 JWTs with `sub`, `exp` and `role` (`reader`,
//! `writer`, or `customer` with the claim `customer_id`, the customer's id
//! as a string). A caller becomes a view here ([`Auth::view`]): staff and
//! anonymous readers see every row, a customer its own. Who may run which
//! mutation is `graphql::schema::guard`'s.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use service::View;

#[derive(Copy, Clone, Debug, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    Reader,
    Writer,
    /// A shop's customer: its own row and orders (claim `customer_id`).
    Customer,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Claims {
    pub sub: String,
    pub exp: u64,
    pub role: Role,
    /// Not valid before (seconds since the epoch), if the issuer says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub nbf: Option<u64>,
    /// Issued at (seconds since the epoch), if the issuer says so.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub iat: Option<u64>,
    /// For the role `customer`: the customer's id, a string of digits
    /// (any other type, or none, fails the token's checks).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub customer_id: Option<serde_json::Value>,
}

impl Claims {
    /// The customer a `customer` token speaks for: its `customer_id`, a
    /// string holding a positive id (`None` for a missing claim, or one of
    /// another type or form).
    pub fn customer(&self) -> Option<i64> {
        self.customer_id
            .as_ref()?
            .as_str()?
            .parse::<i64>()
            .ok()
            .filter(|id| *id > 0)
    }
}

/// Clock skew tolerated on `exp`, `nbf` and `iat`, in seconds.
const LEEWAY_SECS: u64 = 30;

/// Signs and verifies tokens with one HS256 secret.
#[derive(Clone)]
pub struct Jwt {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
}

impl std::fmt::Debug for Jwt {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Jwt { .. }")
    }
}

impl Jwt {
    pub fn new(secret: &[u8]) -> Self {
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_required_spec_claims(&["exp", "sub"]);
        validation.leeway = LEEWAY_SECS;
        validation.validate_nbf = true;
        Jwt {
            encoding: EncodingKey::from_secret(secret),
            decoding: DecodingKey::from_secret(secret),
            validation,
        }
    }

    /// A token for `sub` with `role`, valid for `ttl`.
    pub fn issue(
        &self,
        sub: &str,
        role: Role,
        ttl: Duration,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        self.issue_for(sub, role, None, ttl)
    }

    /// A token for `sub` with `role` (and, for a customer, its id), valid
    /// for `ttl`.
    pub fn issue_for(
        &self,
        sub: &str,
        role: Role,
        customer_id: Option<i64>,
        ttl: Duration,
    ) -> Result<String, jsonwebtoken::errors::Error> {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default();
        let claims = Claims {
            sub: sub.to_owned(),
            exp: (now + ttl).as_secs(),
            role,
            nbf: None,
            iat: Some(now.as_secs()),
            customer_id: customer_id.map(|id| serde_json::Value::String(id.to_string())),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
    }

    pub fn verify(&self, token: &str) -> Result<Claims, String> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| {
                use jsonwebtoken::errors::ErrorKind;
                match e.kind() {
                    ErrorKind::ExpiredSignature => "the bearer token has expired".to_owned(),
                    ErrorKind::ImmatureSignature => {
                        "the bearer token is not valid yet (nbf)".to_owned()
                    }
                    ErrorKind::InvalidSignature => {
                        "the bearer token's signature is invalid".to_owned()
                    }
                    _ => "the bearer token is malformed or its claims are invalid".to_owned(),
                }
            })?;
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        if claims.iat.is_some_and(|iat| iat > now + LEEWAY_SECS) {
            return Err("the bearer token claims to be issued in the future (iat)".to_owned());
        }
        if claims.role == Role::Customer && claims.customer().is_none() {
            return Err(
                "a customer token needs `customer_id`: the customer's id as a string".to_owned(),
            );
        }
        Ok(claims)
    }
}

/// Who is calling, as far as the `Authorization` header says.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Auth {
    Anonymous,
    Bearer(Claims),
    /// A header was sent but is not a valid token; the reason is safe to show.
    Invalid(String),
}

impl Auth {
    /// What this caller may see: the one place a caller becomes a view.
    /// A customer sees its own row and orders; everyone else every row
    /// (an invalid token never runs anything).
    pub fn view(&self) -> View {
        match self.customer() {
            Some(id) => View::customer(id),
            None => View::unrestricted(),
        }
    }

    /// The customer a `customer` token speaks for.
    pub fn customer(&self) -> Option<i64> {
        match self {
            Auth::Bearer(c) if c.role == Role::Customer => c.customer(),
            _ => None,
        }
    }

    pub fn from_headers(headers: &HeaderMap, jwt: &Jwt) -> Auth {
        let Some(value) = headers.get(axum::http::header::AUTHORIZATION) else {
            return Auth::Anonymous;
        };
        let Ok(value) = value.to_str() else {
            return Auth::Invalid("the Authorization header is not valid text".into());
        };
        Self::from_authorization(value, jwt)
    }

    /// The caller named by an `Authorization` value (`Bearer <token>`), from
    /// a header or a WebSocket's `connection_init` payload.
    pub fn from_authorization(value: &str, jwt: &Jwt) -> Auth {
        let mut parts = value.trim().splitn(2, ' ');
        let scheme = parts.next().unwrap_or_default();
        let token = parts.next().unwrap_or_default().trim();
        if !scheme.eq_ignore_ascii_case("bearer") || token.is_empty() {
            return Auth::Invalid("the Authorization header must be `Bearer <token>`".into());
        }
        match jwt.verify(token) {
            Ok(claims) => Auth::Bearer(claims),
            Err(reason) => Auth::Invalid(reason),
        }
    }

    /// Whether the caller is staff (every caller but a customer, the only
    /// role that sees part of the data): staff learn why a request costs
    /// too much and which index would serve it.
    pub fn is_staff(&self) -> bool {
        !matches!(self, Auth::Bearer(c) if c.role == Role::Customer)
    }

    /// Whether the caller holds a valid staff token (`reader`, `writer`).
    pub fn is_staff_token(&self) -> bool {
        matches!(self, Auth::Bearer(_)) && self.is_staff()
    }

    /// Who the caller is, for rate limits and read-your-writes: a customer
    /// by its `customer_id` (every token of one customer counts as one
    /// caller), staff by the token's subject; `None` without a token.
    pub fn caller(&self) -> Option<String> {
        match self {
            Auth::Bearer(c) => Some(match self.customer() {
                Some(id) => format!("customer_id:{id}"),
                None => format!("sub:{}", c.sub),
            }),
            _ => None,
        }
    }
}
