//! The one mapping from failures to GraphQL errors with the contract's
//! `extensions.code`. Internal causes are logged with their chain and never
//! shown: no SQL, driver text, paths or traces reach a client.

use async_graphql::{Error, ErrorExtensions, ServerError};

/// The contract's error codes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Code {
    BadUserInput,
    NotFound,
    Conflict,
    Unauthenticated,
    Forbidden,
    QueryTooComplex,
    ServiceUnavailable,
    Internal,
}

impl Code {
    pub fn as_str(self) -> &'static str {
        match self {
            Code::BadUserInput => "BAD_USER_INPUT",
            Code::NotFound => "NOT_FOUND",
            Code::Conflict => "CONFLICT",
            Code::Unauthenticated => "UNAUTHENTICATED",
            Code::Forbidden => "FORBIDDEN",
            Code::QueryTooComplex => "QUERY_TOO_COMPLEX",
            Code::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }
}

/// A GraphQL error with a code.
pub fn gql_error(code: Code, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, ext| ext.set("code", code.as_str()))
}

pub fn bad_input(message: impl Into<String>) -> Error {
    gql_error(Code::BadUserInput, message)
}

/// Maps a service error once; logs what the client must not see.
pub fn from_service(err: &service::Error) -> Error {
    use service::Error as E;
    match err {
        E::NotFound(m) => gql_error(Code::NotFound, m.clone()),
        E::Conflict(m) => gql_error(Code::Conflict, m.clone()),
        E::Validation(m) => gql_error(Code::BadUserInput, m.clone()),
        E::Unavailable(cause) => {
            tracing::warn!(error = %cause, "database unavailable");
            gql_error(
                Code::ServiceUnavailable,
                "the database is unavailable; retry later",
            )
        }
        E::Db(cause) => {
            tracing::error!(error = ?cause, "database error");
            gql_error(Code::Internal, "internal error")
        }
    }
}

/// `?`-friendly conversion of service results.
pub trait ServiceResultExt<T> {
    fn gql(self) -> async_graphql::Result<T>;
}

impl<T> ServiceResultExt<T> for Result<T, service::Error> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| from_service(&e))
    }
}

impl<T> ServiceResultExt<T> for Result<T, std::sync::Arc<service::Error>> {
    fn gql(self) -> async_graphql::Result<T> {
        self.map_err(|e| from_service(&e))
    }
}

/// Gives every error of a response a code. Errors raised by the server's
/// own resolvers already have one; the rest come from async-graphql's
/// parsing, validation and argument coercion, which are input errors, or
/// from the depth and complexity limits.
pub fn ensure_codes(errors: &mut [ServerError], limits: (usize, usize)) {
    for err in errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if has_code {
            continue;
        }
        let code = match err.message.as_str() {
            "Query is nested too deep." => {
                err.message = format!(
                    "query is nested too deep (the limit is {} levels); split it into smaller queries",
                    limits.0
                );
                Code::QueryTooComplex
            }
            "Query is too complex." => {
                err.message = format!(
                    "query is too complex (the limit is {}); ask for smaller pages or fewer fields",
                    limits.1
                );
                Code::QueryTooComplex
            }
            _ => Code::BadUserInput,
        };
        err.extensions
            .get_or_insert_with(Default::default)
            .set("code", code.as_str());
    }
}
