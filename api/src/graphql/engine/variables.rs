//! Argument values with the request's variables substituted, and the
//! `@skip`/`@include` conditions: shared by the document checks and the
//! response completion.

use async_graphql::parser::types::Directive;
use async_graphql::{Positioned, Value as ConstValue, Variables};
use async_graphql_value::Value;

/// The constant value of an argument: variables replaced by the request's
/// values (an unset variable is `null`; its declared default is applied by
/// [`with_defaults`] before).
pub fn resolve(value: &Value, variables: &Variables) -> ConstValue {
    value
        .clone()
        .into_const_with(|name| {
            Ok::<_, std::convert::Infallible>(
                variables.get(&name).cloned().unwrap_or(ConstValue::Null),
            )
        })
        .unwrap_or(ConstValue::Null)
}

/// Like [`resolve`], but borrows a variable's value instead of copying it
/// (a bulk input is a variable of thousands of rows).
pub fn resolve_ref<'a>(
    value: &'a Value,
    variables: &'a Variables,
) -> std::borrow::Cow<'a, ConstValue> {
    match value {
        Value::Variable(name) => match variables.get(name) {
            Some(v) => std::borrow::Cow::Borrowed(v),
            None => std::borrow::Cow::Owned(ConstValue::Null),
        },
        other => std::borrow::Cow::Owned(resolve(other, variables)),
    }
}

/// An integer argument, if it is one.
pub fn as_i64(value: &ConstValue) -> Option<i64> {
    match value {
        ConstValue::Number(n) => n.as_i64(),
        _ => None,
    }
}

/// True when the selection is included: no `@skip(if: true)` and no
/// `@include(if: false)`. A condition that is not a boolean is left to
/// validation (and counts as included here).
pub fn directive_condition(directives: &[Positioned<Directive>], variables: &Variables) -> bool {
    for directive in directives {
        let name = directive.node.name.node.as_str();
        if name != "skip" && name != "include" {
            continue;
        }
        let Some(cond) = directive.node.get_argument("if") else {
            continue;
        };
        let value = match resolve(&cond.node, variables) {
            ConstValue::Boolean(b) => b,
            _ => continue,
        };
        if (name == "skip" && value) || (name == "include" && !value) {
            return false;
        }
    }
    true
}

/// The request's variables completed with the defaults the operation
/// declares for variables the request left out.
pub fn with_defaults(
    definitions: &[Positioned<async_graphql::parser::types::VariableDefinition>],
    variables: &Variables,
) -> Option<Variables> {
    let missing: Vec<_> = definitions
        .iter()
        .filter(|d| d.node.default_value.is_some() && !variables.contains_key(&d.node.name.node))
        .collect();
    if missing.is_empty() {
        return None;
    }
    let mut out = variables.clone();
    for d in missing {
        if let Some(default) = &d.node.default_value {
            out.insert(d.node.name.node.clone(), default.node.clone());
        }
    }
    Some(out)
}
