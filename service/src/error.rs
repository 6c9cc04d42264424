//! The service layer's one error type.
//!
//! `api` maps each variant once to a GraphQL error code. Constraint violations
//! are classified here ([`Error::from_db`]), never by matching driver text in
//! resolvers. `Db` carries the internal cause: it is logged, never shown.

use sea_orm::{DbErr, RuntimeErr, SqlErr};

pub type Result<T, E = Error> = std::result::Result<T, E>;

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A mutation's id names a row that does not exist.
    #[error("{0}")]
    NotFound(String),
    /// The caller may not do this (its view does not allow it, or the row's
    /// state forbids it).
    #[error("{0}")]
    Forbidden(String),
    /// A unique value (the email) is already taken.
    #[error("{0}")]
    Conflict(String),
    /// Bad input: the message says what to change.
    #[error("{0}")]
    Validation(String),
    /// The database cannot be reached, or no pooled connection was free in time.
    #[error("the database is unavailable; retry later")]
    Unavailable(#[source] DbErr),
    /// Anything else from the database: a bug or an operational fault.
    #[error("database error")]
    Db(#[source] DbErr),
}

impl Error {
    pub fn not_found(msg: impl Into<String>) -> Self {
        Self::NotFound(msg.into())
    }

    /// Classifies a database error: connectivity problems become
    /// [`Error::Unavailable`], a duplicate email [`Error::Conflict`], a
    /// missing referenced customer [`Error::Validation`].
    pub fn from_db(err: DbErr) -> Self {
        match err.sql_err() {
            Some(SqlErr::UniqueConstraintViolation(_)) => {
                return Self::Conflict("a customer with this email already exists".into());
            }
            Some(SqlErr::ForeignKeyConstraintViolation(_)) => {
                return Self::Validation("the referenced customer does not exist".into());
            }
            _ => {}
        }
        if matches!(
            err,
            DbErr::ConnectionAcquire(sea_orm::ConnAcquireErr::Timeout)
        ) {
            metrics::counter!("db_pool_acquire_timeouts_total").increment(1);
        }
        if is_unavailable(&err) {
            Self::Unavailable(err)
        } else {
            Self::Db(err)
        }
    }
}

impl From<DbErr> for Error {
    fn from(err: DbErr) -> Self {
        Self::from_db(err)
    }
}

fn is_unavailable(err: &DbErr) -> bool {
    use sea_orm::sqlx::Error as SqlxError;
    match err {
        DbErr::ConnectionAcquire(_) | DbErr::Conn(_) => true,
        DbErr::Exec(RuntimeErr::SqlxError(e)) | DbErr::Query(RuntimeErr::SqlxError(e)) => {
            matches!(
                &**e,
                SqlxError::Io(_)
                    | SqlxError::PoolTimedOut
                    | SqlxError::PoolClosed
                    | SqlxError::WorkerCrashed
                    | SqlxError::Tls(_)
            ) || is_admin_shutdown(e)
        }
        _ => false,
    }
}

/// PostgreSQL's "admin shutdown" / "cannot connect now" class (57P): the server
/// is going away or starting, which is unavailability, not a bug.
fn is_admin_shutdown(err: &sea_orm::sqlx::Error) -> bool {
    match err {
        sea_orm::sqlx::Error::Database(db) => db.code().is_some_and(|c| c.starts_with("57P")),
        _ => false,
    }
}
