//! Who may run what (the contract's table under "Auth"). Every mutation
//! needs a token: `writer` runs them all, `reader` none (`FORBIDDEN`), a
//! `customer` only the three that concern itself, and within them only the
//! fields it may set ([`customer_sets`]); which rows it may name is its view's
//! (`service::View`: another customer's row answers as a missing one).
//! Checked in the contract's order: the mutation, the fields, the rows,
//! then the row's state.

use async_graphql::{Context, Guard};

use crate::auth::{Auth, Role};
use crate::graphql::runtime::error::{Code, gql_error};

/// Lets through writers, and customers where `customers` allows.
pub struct MutationGuard {
    customers: bool,
}

impl MutationGuard {
    /// Writers only.
    pub const fn writers() -> Self {
        MutationGuard { customers: false }
    }

    /// Writers, and customers (on their own rows).
    pub const fn writers_and_customers() -> Self {
        MutationGuard { customers: true }
    }
}

impl Guard for MutationGuard {
    async fn check(&self, ctx: &Context<'_>) -> async_graphql::Result<()> {
        match ctx.data_opt::<Auth>().unwrap_or(&Auth::Anonymous) {
            Auth::Anonymous => Err(gql_error(
                Code::Unauthenticated,
                "mutations need `Authorization: Bearer <token>` with the writer role",
            )),
            Auth::Invalid(reason) => Err(gql_error(Code::Unauthenticated, reason.clone())),
            Auth::Bearer(claims) => match claims.role {
                Role::Writer => Ok(()),
                Role::Customer if self.customers => Ok(()),
                Role::Customer => Err(gql_error(
                    Code::Forbidden,
                    "a customer token may only update its own name and phone, create its own orders and cancel its pending orders",
                )),
                Role::Reader => Err(gql_error(
                    Code::Forbidden,
                    "this token has the reader role; mutations need the writer role",
                )),
            },
        }
    }
}

/// For a customer's mutation: `FORBIDDEN` when it sets a field it may not
/// (`allowed` false), naming what it may set. Callers that are not
/// customers pass.
pub fn customer_sets(
    ctx: &Context<'_>,
    allowed: bool,
    what_it_may: &str,
) -> async_graphql::Result<()> {
    let customer = ctx.data_opt::<Auth>().and_then(Auth::customer).is_some();
    if customer && !allowed {
        return Err(gql_error(Code::Forbidden, what_it_may.to_owned()));
    }
    Ok(())
}

/// Whether the caller is a customer.
pub fn is_customer(ctx: &Context<'_>) -> bool {
    ctx.data_opt::<Auth>().and_then(Auth::customer).is_some()
}
