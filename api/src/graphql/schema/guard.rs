//! Who may run what: every mutation needs a valid `writer` token.

use async_graphql::{Context, Guard};

use crate::auth::{Auth, Role};
use crate::graphql::runtime::error::{Code, gql_error};

/// Lets only callers with a valid `writer` token through.
pub struct WriterGuard;

impl Guard for WriterGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous) {
            Auth::Anonymous => Err(gql_error(
                Code::Unauthenticated,
                "mutations need `Authorization: Bearer <token>` with the writer role",
            )),
            Auth::Invalid(reason) => Err(gql_error(Code::Unauthenticated, reason.clone())),
            Auth::Bearer(claims) if claims.role != Role::Writer => Err(gql_error(
                Code::Forbidden,
                "this token has the reader role; mutations need the writer role",
            )),
            Auth::Bearer(_) => Ok(()),
        }
    }
}
