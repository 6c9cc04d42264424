//! The GraphQL schema, what clients see: roots split by domain, types,
//! scalars, the guard and the dataloaders. [`build_schema`] is pure: it
//! connects and migrates nothing. It knows nothing of the engine that runs
//! documents against it (`graphql::engine`).

pub mod guard;
pub mod keyset;
pub mod loaders;
pub mod mutation;
pub mod query;
pub mod scalars;
pub mod subscription;
pub mod types;
pub mod weights;

use std::sync::Arc;

use async_graphql::{Context, Schema};
use service::{Store, View};

use self::loaders::AppLoader;
use self::mutation::MutationRoot;
use self::query::QueryRoot;
use self::subscription::SubscriptionRoot;
use self::subscription::ranking::Rankings;

pub type AppSchema = Schema<QueryRoot, MutationRoot, SubscriptionRoot>;

/// Builds the schema. Depth, size and cost are checked before a document
/// reaches it (see `graphql::engine`); the recursion and directive limits stay as
/// a second line.
pub fn build_schema(
    store: Store,
    rankings: Arc<Rankings>,
    introspection: bool,
    validation: async_graphql::ValidationMode,
) -> AppSchema {
    let mut builder = Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .data(store)
    .data(rankings)
    .validation_mode(validation)
    .limit_recursive_depth(64)
    .limit_directives(16);
    if !introspection {
        builder = builder.disable_introspection();
    }
    builder.finish()
}

/// The SDL of the schema, as `schema.graphql` holds it.
pub fn sdl() -> String {
    Schema::build(
        QueryRoot::default(),
        MutationRoot::default(),
        SubscriptionRoot,
    )
    .finish()
    .sdl_with_options(async_graphql::SDLExportOptions::new().include_specified_by())
}

pub(crate) fn store<'a>(ctx: &Context<'a>) -> &'a Store {
    ctx.data_unchecked::<Store>()
}

/// The caller's view: what every read of this request may see.
pub(crate) fn view<'a>(ctx: &Context<'a>) -> &'a View {
    ctx.data_unchecked::<View>()
}

pub(crate) fn loader<'a>(ctx: &Context<'a>) -> &'a AppLoader {
    ctx.data_unchecked::<AppLoader>()
}
