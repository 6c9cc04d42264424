//! Reading rows by column position, for the statements written here.
//!
//! sqlx compares a column's type with the Rust type on every value it
//! reads: for short values that comparison costs more than the decoding
//! (about an eighth of the server's work for a page of 50 customers with 5
//! orders each). The columns of a result all have the same types in every
//! row, so on PostgreSQL the first row of a result is read with the check
//! and the others without it; elsewhere every value goes through SeaORM's
//! checked read.

use sea_orm::sqlx::postgres::Postgres;
use sea_orm::sqlx::{self, Row as _};
use sea_orm::{DbErr, QueryResult, RuntimeErr, TryGetable};

/// One row of a result, and whether its column types are already known
/// to match.
pub struct Row<'a> {
    row: &'a QueryResult,
    checked: bool,
}

impl Row<'_> {
    /// The value at column `index` (0-based).
    pub fn get<T>(&self, index: usize) -> Result<T, DbErr>
    where
        T: TryGetable + for<'r> sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
    {
        if self.checked
            && let Some(row) = self.row.try_as_pg_row()
        {
            return row
                .try_get_unchecked::<T, usize>(index)
                .map_err(|e| DbErr::Query(RuntimeErr::SqlxError(std::sync::Arc::new(e))));
        }
        self.row.try_get_by_index(index)
    }
}

/// Decodes every row of one result with `decode`: the first with the type
/// check, the rest without it (see the module's description).
pub fn decode_all<'a, T>(
    rows: impl IntoIterator<Item = &'a QueryResult>,
    mut decode: impl FnMut(&Row<'_>) -> Result<T, DbErr>,
) -> Result<Vec<T>, DbErr> {
    let rows = rows.into_iter();
    let mut out = Vec::with_capacity(rows.size_hint().0);
    let mut checked = false;
    for row in rows {
        out.push(decode(&Row { row, checked })?);
        checked = true;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// SQLite rows carry no PostgreSQL row: every value goes through the
    /// checked read, and a wrong type is an error on any row.
    #[tokio::test]
    async fn values_are_read_by_position_and_a_wrong_type_is_an_error() {
        use sea_orm::{ConnectionTrait, Database, DbBackend, Statement};
        let db = Database::connect("sqlite::memory:").await.expect("sqlite");
        let rows = db
            .query_all_raw(Statement::from_string(
                DbBackend::Sqlite,
                "SELECT 1 AS n, 'a' AS s UNION ALL SELECT 2, 'b'",
            ))
            .await
            .expect("rows");
        let read = decode_all(&rows, |r| Ok((r.get::<i64>(0)?, r.get::<String>(1)?)));
        assert_eq!(
            read.expect("decoded"),
            vec![(1, "a".to_owned()), (2, "b".to_owned())]
        );
        assert!(decode_all(&rows, |r| r.get::<i64>(1)).is_err());
    }
}
