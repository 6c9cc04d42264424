//! The one mapping from failures to GraphQL errors with the contract's
//! `extensions.code`. Internal causes are logged with their chain and never
//! shown: no SQL, driver text, paths or traces reach a client.

use async_graphql::{Error, ErrorExtensions, ServerError};

/// Most bad values reported for one request (the argument checks, a bulk
/// input's rows); the rest are counted.
pub const MAX_REPORTED: usize = 100;

/// The contract's error codes.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub enum Code {
    BadUserInput,
    NotFound,
    Conflict,
    Unauthenticated,
    Forbidden,
    QueryTooComplex,
    QueryTooExpensive,
    ResponseTooLarge,
    PersistedQueryNotFound,
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
            Code::QueryTooExpensive => "QUERY_TOO_EXPENSIVE",
            Code::ResponseTooLarge => "RESPONSE_TOO_LARGE",
            Code::PersistedQueryNotFound => "PERSISTED_QUERY_NOT_FOUND",
            Code::ServiceUnavailable => "SERVICE_UNAVAILABLE",
            Code::Internal => "INTERNAL",
        }
    }
}

/// A response-level error with a code (no path: the request as a whole).
pub fn coded(code: Code, message: impl Into<String>) -> ServerError {
    let mut err = ServerError::new(message, None);
    err.extensions
        .get_or_insert_with(Default::default)
        .set("code", code.as_str());
    err
}

/// The code an error carries, if any.
pub fn code_of(err: &ServerError) -> Option<String> {
    match err.extensions.as_ref()?.get("code")? {
        async_graphql::Value::String(s) => Some(s.clone()),
        _ => None,
    }
}

/// A parse error as one readable line with its location: the parser's own
/// message draws the document in ASCII art over several lines.
pub fn parse_error(err: async_graphql::parser::Error) -> ServerError {
    use async_graphql::parser::Error as E;
    let positions: Vec<async_graphql::Pos> = err.positions().collect();
    let message = match &err {
        E::Syntax { message, start, .. } => {
            let expected = message
                .lines()
                .rev()
                .find_map(|l| l.trim().strip_prefix("= "))
                .unwrap_or("unexpected input");
            format!(
                "syntax error at line {}, column {}: {expected}",
                start.line, start.column
            )
        }
        other => other.to_string(),
    };
    let mut e = ServerError::new(message, positions.first().copied());
    e.locations = positions;
    e.extensions
        .get_or_insert_with(Default::default)
        .set("code", Code::BadUserInput.as_str());
    e
}

/// A GraphQL error with a code.
pub fn gql_error(code: Code, message: impl Into<String>) -> Error {
    Error::new(message).extend_with(|_, ext| ext.set("code", code.as_str()))
}

pub fn bad_input(message: impl Into<String>) -> Error {
    gql_error(Code::BadUserInput, message)
}

/// The contract's code of a service error.
pub fn service_code(err: &service::Error) -> Code {
    use service::Error as E;
    match err {
        E::NotFound(_) => Code::NotFound,
        E::Conflict(_) => Code::Conflict,
        E::Forbidden(_) => Code::Forbidden,
        E::Validation(_) => Code::BadUserInput,
        E::Unavailable(_) => Code::ServiceUnavailable,
        E::Db(_) => Code::Internal,
    }
}

/// Maps a service error once; logs what the client must not see.
pub fn from_service(err: &service::Error) -> Error {
    use service::Error as E;
    let message = match err {
        E::NotFound(m) | E::Conflict(m) | E::Forbidden(m) | E::Validation(m) => m.clone(),
        E::Unavailable(cause) => {
            tracing::warn!(error = %cause, "database unavailable");
            "the database is unavailable; retry later".to_owned()
        }
        E::Db(cause) => {
            tracing::error!(error = ?cause, "database error");
            "internal error".to_owned()
        }
    };
    gql_error(service_code(err), message)
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
/// validation and argument coercion, which are input errors.
pub fn ensure_codes(errors: &mut [ServerError]) {
    for err in errors {
        let has_code = err
            .extensions
            .as_ref()
            .is_some_and(|e| e.get("code").is_some());
        if !has_code {
            err.extensions
                .get_or_insert_with(Default::default)
                .set("code", Code::BadUserInput.as_str());
        }
    }
}
