//! Parsed documents kept by their text, so a document a client sends again
//! (every request of a persisted or generated query) is neither scanned nor
//! parsed again; and, per operation, whether async-graphql's full validation
//! has already accepted it.
//!
//! A document's validity depends on the document alone, except for the
//! values of its variables; the engine checks those on every request
//! (`arguments::check_variables`, `arguments::check`). So once an operation
//! passed the full validation, later requests of it run with the fast
//! validation mode (fragment cycles only). Bounded in bytes; strangers'
//! documents only churn it.

use std::collections::HashSet;
use std::sync::{Arc, Mutex, PoisonError};

use async_graphql::parser::types::ExecutableDocument;

/// Text kept at most, in bytes (a parsed document takes a few times its
/// text): large documents take more of it, so the cache's memory is bounded
/// whatever strangers send.
const MAX_TEXT_BYTES: u64 = 2 * 1024 * 1024;

/// A parsed document and the operations of it that passed validation.
pub struct Parsed {
    pub doc: ExecutableDocument,
    validated: Mutex<HashSet<Option<String>>>,
    /// The text's SHA-256 (hex), once a trace asked for it.
    hash: std::sync::OnceLock<Arc<str>>,
}

impl Parsed {
    pub fn new(doc: ExecutableDocument) -> Self {
        Parsed {
            doc,
            validated: Mutex::new(HashSet::new()),
            hash: std::sync::OnceLock::new(),
        }
    }

    /// The SHA-256 (hex) of `text`, this document's text: computed once per
    /// document kept, not at every traced request.
    pub fn hash(&self, text: &str) -> Arc<str> {
        self.hash
            .get_or_init(|| Arc::from(super::persisted::sha256_hex(text)))
            .clone()
    }

    /// Whether async-graphql's full validation accepted `operation` before.
    pub fn validated(&self, operation: Option<&str>) -> bool {
        self.validated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(&operation.map(str::to_owned))
    }

    pub fn mark_validated(&self, operation: Option<&str>) {
        self.validated
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(operation.map(str::to_owned));
    }
}

pub struct DocumentCache(moka::sync::Cache<String, Arc<Parsed>>);

impl Default for DocumentCache {
    fn default() -> Self {
        DocumentCache(
            moka::sync::Cache::builder()
                .weigher(|text: &String, _| u32::try_from(text.len()).unwrap_or(u32::MAX))
                .max_capacity(MAX_TEXT_BYTES)
                .build(),
        )
    }
}

impl DocumentCache {
    pub fn get(&self, text: &str) -> Option<Arc<Parsed>> {
        self.0.get(text)
    }

    pub fn insert(&self, text: String, parsed: Arc<Parsed>) {
        self.0.insert(text, parsed);
    }
}
