//! Persisted queries: Apollo's automatic persisted queries (a document is
//! sent once with its SHA-256, then the hash alone) and a manifest of
//! trusted operations (`PERSISTED_QUERIES_FILE`), which with
//! `PERSISTED_QUERIES_ONLY` becomes a safelist: nothing else runs.

use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context as _;
use async_graphql::{Request, ServerError, Value};
use service::documents::DocumentRegistry;
use sha2::{Digest, Sha256};

use crate::graphql::runtime::error::Code;

/// The lower-case hex SHA-256 of a document, as clients compute it.
pub fn sha256_hex(text: &str) -> String {
    let digest = Sha256::digest(text.as_bytes());
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 0xf)]));
    }
    out
}

/// Why a request's document could not be had.
#[derive(Debug)]
pub struct Refusal {
    pub code: Code,
    pub message: String,
}

impl Refusal {
    fn new(code: Code, message: impl Into<String>) -> Self {
        Refusal {
            code,
            message: message.into(),
        }
    }

    pub fn into_error(self) -> ServerError {
        crate::graphql::runtime::error::coded(self.code, self.message)
    }
}

/// Trusted documents by hash: the document and its operation's name.
pub type Manifest = HashMap<String, (Arc<str>, Option<String>)>;

/// A document to register once it has passed the document checks.
pub struct Registration {
    pub hash: String,
}

pub struct Persisted {
    /// Trusted documents by hash, from the manifest.
    manifest: HashMap<String, Arc<str>>,
    /// Operation names in the manifest (known to metrics).
    names: HashSet<String>,
    only: bool,
    registry: DocumentRegistry,
}

impl Persisted {
    pub fn new(manifest: Manifest, only: bool, registry: DocumentRegistry) -> Self {
        let names = manifest.values().filter_map(|(_, n)| n.clone()).collect();
        Persisted {
            manifest: manifest.into_iter().map(|(h, (d, _))| (h, d)).collect(),
            names,
            only,
            registry,
        }
    }

    /// Whether an operation name is one the manifest declares.
    pub fn knows_name(&self, name: &str) -> bool {
        self.names.contains(name)
    }

    /// Fills in the document of a hash-only request, checks a hash sent with
    /// its document, and applies the safelist. Returns the hash to register
    /// when the request brought a new document.
    pub async fn resolve(&self, request: &mut Request) -> Result<Option<Registration>, Refusal> {
        let Some(ext) = request.extensions.get("persistedQuery") else {
            if self.only && !self.manifest.contains_key(&sha256_hex(&request.query)) {
                return Err(not_listed());
            }
            return Ok(None);
        };
        let hash = parse_extension(ext)?;
        if request.query.is_empty() {
            let found = match self.manifest.get(&hash) {
                Some(doc) => Some(doc.clone()),
                None if self.only => return Err(not_listed()),
                None => self.registry.get(&hash).await,
            };
            return match found {
                Some(doc) => {
                    request.query = doc.to_string();
                    Ok(None)
                }
                None => Err(Refusal::new(
                    Code::PersistedQueryNotFound,
                    "PersistedQueryNotFound",
                )),
            };
        }
        if sha256_hex(&request.query) != hash {
            return Err(Refusal::new(
                Code::BadUserInput,
                "extensions.persistedQuery.sha256Hash is not the SHA-256 of the query",
            ));
        }
        if self.manifest.contains_key(&hash) {
            return Ok(None);
        }
        if self.only {
            return Err(not_listed());
        }
        Ok(Some(Registration { hash }))
    }

    /// Registers a document that passed the checks.
    pub async fn register(&self, registration: Registration, document: &str) {
        self.registry.put(&registration.hash, document).await;
    }
}

fn not_listed() -> Refusal {
    Refusal::new(
        Code::Forbidden,
        "only the operations of the persisted-query manifest run here (PERSISTED_QUERIES_ONLY)",
    )
}

fn parse_extension(ext: &Value) -> Result<String, Refusal> {
    let bad = || {
        Refusal::new(
            Code::BadUserInput,
            "extensions.persistedQuery must be {\"version\": 1, \"sha256Hash\": \"<64 hex digits>\"}",
        )
    };
    let Value::Object(map) = ext else {
        return Err(bad());
    };
    match map.get("version") {
        Some(Value::Number(n)) if n.as_u64() == Some(1) => {}
        _ => return Err(bad()),
    }
    match map.get("sha256Hash") {
        Some(Value::String(h)) if h.len() == 64 && h.bytes().all(|b| b.is_ascii_hexdigit()) => {
            Ok(h.to_ascii_lowercase())
        }
        _ => Err(bad()),
    }
}

/// Reads a manifest: Apollo's `apollo-persisted-query-manifest` (operations
/// with `id`, `body`, `name`) or a plain `{"<sha256>": "<document>"}` map.
/// Every hash is checked against its document.
pub fn load_manifest(path: &Path) -> anyhow::Result<Manifest> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("reading PERSISTED_QUERIES_FILE {}", path.display()))?;
    let json: serde_json::Value =
        serde_json::from_str(&text).with_context(|| format!("{} is not JSON", path.display()))?;
    let mut out = HashMap::new();
    let entries: Vec<(String, String, Option<String>)> =
        if json.get("format").and_then(|f| f.as_str()) == Some("apollo-persisted-query-manifest") {
            let ops = json
                .get("operations")
                .and_then(|o| o.as_array())
                .context("the manifest has no \"operations\" array")?;
            ops.iter()
                .map(|op| {
                    let id = op.get("id").and_then(|v| v.as_str());
                    let body = op.get("body").and_then(|v| v.as_str());
                    match (id, body) {
                        (Some(id), Some(body)) => Ok((
                            id.to_owned(),
                            body.to_owned(),
                            op.get("name").and_then(|v| v.as_str()).map(str::to_owned),
                        )),
                        _ => anyhow::bail!(
                            "every operation of the manifest needs \"id\" and \"body\""
                        ),
                    }
                })
                .collect::<anyhow::Result<_>>()?
        } else {
            let map = json
                .as_object()
                .context("the manifest is neither Apollo's format nor a {hash: document} map")?;
            map.iter()
                .map(|(hash, doc)| match doc.as_str() {
                    Some(d) => Ok((hash.clone(), d.to_owned(), None)),
                    None => anyhow::bail!("the manifest's value for {hash} is not a string"),
                })
                .collect::<anyhow::Result<_>>()?
        };
    for (hash, body, name) in entries {
        let actual = sha256_hex(&body);
        if !hash.eq_ignore_ascii_case(&actual) {
            anyhow::bail!(
                "the manifest's hash {hash} is not the SHA-256 of its document ({actual})"
            );
        }
        let name = name.or_else(|| operation_name_of(&body));
        out.insert(actual, (Arc::from(body), name));
    }
    Ok(out)
}

/// The name of a document's first named operation.
fn operation_name_of(doc: &str) -> Option<String> {
    let parsed = async_graphql::parser::parse_query(doc).ok()?;
    parsed
        .operations
        .iter()
        .find_map(|(name, _)| name.map(|n| n.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hashes_are_lower_case_sha256_hex() {
        assert_eq!(
            sha256_hex("{ __typename }"),
            "7f56e67dd21ab3f30d1ff8b7bed08893f0a0db86449836189b361dd1e56ddb4b"
        );
    }
}
