//! Bounds on a document's text, checked before it is parsed: its size, its
//! number of tokens and how deep its brackets nest. The parser recurses on
//! nesting and does work per token; both are bounded here in one linear
//! pass over the bytes, so no document can make parsing slow or deep.

/// What a document's text may hold.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct TextLimits {
    pub max_bytes: usize,
    pub max_tokens: usize,
    pub max_nesting: usize,
}

/// Counts the lexical tokens of a GraphQL document (punctuators, names,
/// numbers, strings; not whitespace, commas or comments) and the deepest
/// bracket nesting; stops at the first limit passed and says which.
pub fn check(text: &str, limits: TextLimits) -> Result<usize, String> {
    if text.len() > limits.max_bytes {
        return Err(format!(
            "the document is {} bytes; at most {} are accepted (put large inputs in variables)",
            text.len(),
            limits.max_bytes
        ));
    }
    let bytes = text.as_bytes();
    let mut i = 0;
    let mut tokens = 0usize;
    let mut depth = 0usize;
    while i < bytes.len() {
        let b = bytes[i];
        match b {
            b' ' | b'\t' | b'\n' | b'\r' | b',' => {
                i += 1;
                continue;
            }
            b'#' => {
                while i < bytes.len() && bytes[i] != b'\n' && bytes[i] != b'\r' {
                    i += 1;
                }
                continue;
            }
            b'"' if bytes[i..].starts_with(b"\"\"\"") => {
                i += 3;
                while i < bytes.len() && !bytes[i..].starts_with(b"\"\"\"") {
                    i += if bytes[i..].starts_with(b"\\\"\"\"") {
                        4
                    } else {
                        1
                    };
                }
                i += 3;
            }
            b'"' => {
                i += 1;
                while i < bytes.len() && bytes[i] != b'"' && bytes[i] != b'\n' {
                    i += if bytes[i] == b'\\' { 2 } else { 1 };
                }
                i += 1;
            }
            b'{' | b'(' | b'[' => {
                depth += 1;
                if depth > limits.max_nesting {
                    return Err(format!(
                        "the document nests brackets more than {} levels deep",
                        limits.max_nesting
                    ));
                }
                i += 1;
            }
            b'}' | b')' | b']' => {
                depth = depth.saturating_sub(1);
                i += 1;
            }
            b'.' if bytes[i..].starts_with(b"...") => i += 3,
            b'_' | b'a'..=b'z' | b'A'..=b'Z' => {
                while i < bytes.len() && (bytes[i] == b'_' || bytes[i].is_ascii_alphanumeric()) {
                    i += 1;
                }
            }
            b'-' | b'0'..=b'9' => {
                i += 1;
                while i < bytes.len()
                    && (bytes[i].is_ascii_alphanumeric() || matches!(bytes[i], b'.' | b'+' | b'-'))
                {
                    i += 1;
                }
            }
            _ => i += 1,
        }
        tokens += 1;
        if tokens > limits.max_tokens {
            return Err(format!(
                "the document has more than {} tokens; send a smaller document (put large inputs in variables)",
                limits.max_tokens
            ));
        }
    }
    Ok(tokens)
}

#[cfg(test)]
mod tests {
    use super::*;

    const LIMITS: TextLimits = TextLimits {
        max_bytes: 1_000,
        max_tokens: 20,
        max_nesting: 3,
    };

    #[test]
    fn counts_tokens_but_not_whitespace_commas_comments_or_string_contents() {
        let doc = "# a comment { { {\n{ a(x: \"}}} ,,\", y: \"\"\"block { \"\"\") ...F }";
        // { a ( x : "…" y : """…""" ) ... F }
        assert_eq!(check(doc, LIMITS), Ok(13));
    }

    #[test]
    fn refuses_too_many_tokens_too_much_nesting_and_too_many_bytes() {
        assert!(check(&"a ".repeat(21), LIMITS).is_err());
        assert!(check("{a{b{c{d}}}}", LIMITS).is_err());
        assert!(check("{a{b{c}}}", LIMITS).is_ok());
        assert!(check(&" ".repeat(1_001), LIMITS).is_err());
    }

    #[test]
    fn unterminated_strings_end_at_the_text() {
        assert!(check("{ a(x: \"never closed", LIMITS).is_ok());
        assert!(check("{ a(x: \"\"\"never closed", LIMITS).is_ok());
    }
}
