//! The GraphiQL playground's page and files, in the binary itself: pinned
//! production builds of GraphiQL, React and graphql-ws (brought in at build
//! time by `build.rs`) and a bootstrap script of ours. No CDN, no inline
//! script: it works offline and under `Content-Security-Policy: default-src
//! 'self'`. `routes::playground` serves them.

use std::collections::HashMap;

use sha2::{Digest, Sha256};

mod vendored {
    include!(concat!(env!("OUT_DIR"), "/playground_assets.rs"));
}

const BOOTSTRAP: &[u8] = include_bytes!("../playground/playground.js");
const STYLE: &[u8] = include_bytes!("../playground/playground.css");

/// The policy the playground is served with.
pub const CONTENT_SECURITY_POLICY: &str =
    "default-src 'self'; img-src 'self' data:; font-src 'self' data:";

/// The query the playground opens with.
const DEFAULT_QUERY: &str = "# Mutations need a writer token: see the Headers tab.\n{\n  customers(first: 5) {\n    totalCount\n    nodes { id name email orderCount totalSpent }\n    pageInfo { hasNextPage endCursor }\n  }\n  topCustomers(limit: 3) { customer { name } totalSpent orderCount }\n}\n";

/// What the Headers tab shows: where a token comes from, never a token.
const TOKEN_PLACEHOLDER: &str = "Bearer <a writer token: run `api token --role writer` with the server's JWT_SECRET, or copy the one the server logs at start when JWT_SECRET is unset>";

/// One file the playground page loads.
pub struct Asset {
    pub bytes: &'static [u8],
    pub content_type: &'static str,
    /// Strong validator of `bytes`.
    pub etag: String,
}

/// The page and its files, built once at start.
pub struct Playground {
    page: String,
    assets: HashMap<&'static str, Asset>,
}

impl Playground {
    /// `subscriptions`: wire GraphiQL's subscriptions to the WebSocket endpoint.
    pub fn new(subscriptions: bool) -> Self {
        let mut assets = HashMap::new();
        let mut add = |name: &'static str, bytes: &'static [u8]| {
            let content_type = if name.ends_with(".css") {
                "text/css; charset=utf-8"
            } else {
                "text/javascript; charset=utf-8"
            };
            let digest = Sha256::digest(bytes);
            let etag = format!(
                "\"{}\"",
                digest[..12]
                    .iter()
                    .map(|b| format!("{b:02x}"))
                    .collect::<String>()
            );
            assets.insert(
                name,
                Asset {
                    bytes,
                    content_type,
                    etag,
                },
            );
        };
        add("playground.js", BOOTSTRAP);
        add("playground.css", STYLE);
        for (name, bytes) in vendored::VENDORED {
            add(name, bytes);
        }
        let page = match vendored::MISSING {
            None => complete_page(subscriptions),
            Some(why) => missing_page(why),
        };
        Playground { page, assets }
    }

    /// The HTML page.
    pub fn page(&self) -> &str {
        &self.page
    }

    /// A file of the page by name (`graphiql.js`, …).
    pub fn asset(&self, name: &str) -> Option<&Asset> {
        self.assets.get(name)
    }
}

fn complete_page(subscriptions: bool) -> String {
    let config = serde_json::json!({
        "endpoint": "/graphql",
        "subscriptions": subscriptions,
        "defaultQuery": DEFAULT_QUERY,
        "tokenPlaceholder": TOKEN_PLACEHOLDER,
    });
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Customers &amp; orders GraphQL</title>
<link rel="stylesheet" href="/graphql/assets/graphiql.css">
<link rel="stylesheet" href="/graphql/assets/playground.css">
</head>
<body>
<div id="graphiql" data-config="{config}">Loading the playground…</div>
<script src="/graphql/assets/react.js"></script>
<script src="/graphql/assets/react-dom.js"></script>
<script src="/graphql/assets/graphiql.js"></script>
<script src="/graphql/assets/graphql-ws.js"></script>
<script src="/graphql/assets/playground.js"></script>
</body>
</html>
"#,
        config = html_escape(&config.to_string())
    )
}

/// The page of a binary built without the third-party files.
fn missing_page(why: &str) -> String {
    let packages = vendored::PACKAGES.join(", ");
    format!(
        r#"<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Playground unavailable</title>
<link rel="stylesheet" href="/graphql/assets/playground.css">
</head>
<body>
<div class="missing">
<h1>The GraphQL playground is not part of this build</h1>
<p>Its files ({packages}) could not be brought in when this binary was built: {why}.</p>
<p>To get it, rebuild on a machine that can reach the npm registry (or has these
packages in its npm cache): <code>cargo build -p api</code> runs <code>npm pack</code> for
each pinned package and checks its integrity.</p>
<p>The API itself works: POST <code>{{"query": "{{ __typename }}"}}</code> as JSON to
<code>/graphql</code>, or use any GraphQL client against this URL.</p>
</div>
</body>
</html>
"#,
        packages = html_escape(&packages),
        why = html_escape(why)
    )
}

fn html_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_missing_page_says_what_is_missing_and_how_to_get_it() {
        let page = missing_page("`npm pack graphiql@4.1.2` failed: ENOTFOUND");
        assert!(page.contains("graphiql@4.1.2"));
        assert!(page.contains("ENOTFOUND"));
        assert!(page.contains("cargo build -p api"));
        assert!(!page.contains("<script"));
    }

    #[test]
    fn the_page_has_no_inline_script_and_no_token() {
        let page = complete_page(true);
        assert!(!page.contains("<script>"));
        assert_eq!(page.matches("<script src=\"/graphql/assets/").count(), 5);
        assert!(page.contains("api token --role writer"));
    }
}
