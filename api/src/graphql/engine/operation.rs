//! Which operation of a document a request runs.

use async_graphql::Name;
use async_graphql::parser::types::{DocumentOperations, ExecutableDocument, OperationType};

/// The operation a request runs: the named one, or the document's only
/// one; `Err` says what is missing.
pub fn select(
    doc: &ExecutableDocument,
    name: Option<&str>,
) -> Result<(Option<Name>, OperationType), String> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Ok((None, op.node.ty)),
        (DocumentOperations::Multiple(ops), Some(name)) => ops
            .get_key_value(name)
            .map(|(n, op)| (Some(n.clone()), op.node.ty))
            .ok_or_else(|| format!("the document has no operation named \"{name}\"")),
        (DocumentOperations::Multiple(ops), None) if ops.len() == 1 => {
            let (n, op) = ops
                .iter()
                .next()
                .map(|(n, op)| (n.clone(), op.node.ty))
                .ok_or_else(|| "the document has no operation".to_owned())?;
            Ok((Some(n), op))
        }
        (DocumentOperations::Multiple(_), None) => {
            Err("the document has several operations: say which one in `operationName`".to_owned())
        }
    }
}

pub fn operation_of<'a>(
    doc: &'a ExecutableDocument,
    name: Option<&Name>,
) -> Option<&'a async_graphql::parser::types::OperationDefinition> {
    match (&doc.operations, name) {
        (DocumentOperations::Single(op), _) => Some(&op.node),
        (DocumentOperations::Multiple(ops), Some(n)) => ops.get(n).map(|op| &op.node),
        (DocumentOperations::Multiple(_), None) => None,
    }
}

/// The response keys an operation's root selects, through fragments (a
/// subscription must select exactly one, and not `__typename`). Fragment
/// cycles are cut (validation reports them).
pub fn root_keys(
    doc: &ExecutableDocument,
    selection_set: &async_graphql::parser::types::SelectionSet,
) -> std::collections::BTreeSet<String> {
    use async_graphql::parser::types::Selection;
    fn walk(
        doc: &ExecutableDocument,
        set: &async_graphql::parser::types::SelectionSet,
        seen: &mut Vec<Name>,
        out: &mut std::collections::BTreeSet<String>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(f) => {
                    out.insert(f.node.response_key().node.to_string());
                }
                Selection::InlineFragment(inline) => {
                    walk(doc, &inline.node.selection_set.node, seen, out);
                }
                Selection::FragmentSpread(spread) => {
                    let name = &spread.node.fragment_name.node;
                    if seen.contains(name) {
                        continue;
                    }
                    seen.push(name.clone());
                    if let Some(fragment) = doc.fragments.get(name) {
                        walk(doc, &fragment.node.selection_set.node, seen, out);
                    }
                }
            }
        }
    }
    let mut out = std::collections::BTreeSet::new();
    walk(doc, selection_set, &mut Vec::new(), &mut out);
    out
}
