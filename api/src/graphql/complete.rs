//! Makes an executed response follow the GraphQL specification's execution
//! rules exactly.
//!
//! async-graphql 7.2.1 resolves the fields of a selection set with an
//! unordered join and leaves out a field whose resolver failed (its error is
//! kept, with its path). 8.0's release candidates order fields again but turn
//! a failed nullable root field into `data: null`, so neither line gives the
//! specification's answer by itself. This pass rebuilds `data` from the
//! operation (CollectFields: fragments, inline fragments, aliases, merged
//! fields, `@skip`/`@include`):
//!
//! - fields come back in the order the operation selected them;
//! - a field missing because it failed is `null` when its type is nullable;
//! - a `null` in a non-null position nulls the nearest nullable parent (up to
//!   `data` itself).
//!
//! It adds no errors: each failure already carries exactly one, at its path.

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, OperationDefinition, Selection, SelectionSet, Type,
};
use async_graphql::{Name, Positioned, Variables};

use super::schema_index::SchemaIndex;
use super::variables::directive_condition;

/// A non-null position received `null`: its parent must become `null`.
struct Nulled;

/// Rebuilds `data` of `operation` (whose root type is `root`) after it
/// executed. The executor answers `null` when every root field failed; that
/// is completed like an object without fields.
pub fn complete(
    index: &SchemaIndex,
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
    root: &str,
    variables: &Variables,
    data: Value,
) -> Value {
    let map = match data {
        Value::Object(map) => map,
        Value::Null => IndexMap::new(),
        other => return other,
    };
    let walker = Walker {
        index,
        doc,
        variables,
    };
    walker
        .object(root, map, &[&operation.selection_set.node])
        .unwrap_or(Value::Null)
}

struct Walker<'a> {
    index: &'a SchemaIndex,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
}

/// Fields selected under one response key, in document order.
type Grouped<'a> = IndexMap<&'a str, Vec<&'a Positioned<async_graphql::parser::types::Field>>>;

impl<'a> Walker<'a> {
    fn object(
        &self,
        type_name: &str,
        mut value: IndexMap<Name, Value>,
        sets: &[&'a SelectionSet],
    ) -> Result<Value, Nulled> {
        let mut grouped = Grouped::new();
        let mut visited = Vec::new();
        for set in sets {
            self.collect(type_name, set, &mut grouped, &mut visited);
        }
        let mut out = IndexMap::with_capacity(grouped.len());
        for (key, fields) in grouped {
            let Some((key_name, field_value)) = value.swap_remove_entry(key) else {
                // Left out by the executor: its resolver failed.
                let field_name = fields[0].node.name.node.as_str();
                match self.index.field(type_name, field_name) {
                    Some(def) if !def.ty.nullable => return Err(Nulled),
                    _ => {
                        out.insert(Name::new(key), Value::Null);
                        continue;
                    }
                }
            };
            let field_name = fields[0].node.name.node.as_str();
            let completed = match self.index.field(type_name, field_name) {
                Some(def) => self.value(&def.ty, field_value, &fields)?,
                // `__typename` and introspection: as resolved.
                None => field_value,
            };
            out.insert(key_name, completed);
        }
        Ok(Value::Object(out))
    }

    fn value(
        &self,
        ty: &Type,
        value: Value,
        fields: &[&'a Positioned<async_graphql::parser::types::Field>],
    ) -> Result<Value, Nulled> {
        if matches!(value, Value::Null) {
            // The executor turns an object whose every selected field was
            // skipped into null; the specification says `{}`.
            if !ty.nullable && self.all_skipped(ty, fields) {
                return Ok(Value::Object(IndexMap::new()));
            }
            return if ty.nullable {
                Ok(Value::Null)
            } else {
                Err(Nulled)
            };
        }
        let completed = match (&ty.base, value) {
            (BaseType::List(inner), Value::List(items)) => items
                .into_iter()
                .map(|item| self.value(inner, item, fields))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List),
            (BaseType::Named(name), Value::Object(map)) if self.index.is_object(name) => {
                let sets: Vec<&SelectionSet> =
                    fields.iter().map(|f| &f.node.selection_set.node).collect();
                self.object(name, map, &sets)
            }
            (_, other) => Ok(other),
        };
        match completed {
            Err(Nulled) if ty.nullable => Ok(Value::Null),
            other => other,
        }
    }

    fn all_skipped(
        &self,
        ty: &Type,
        fields: &[&'a Positioned<async_graphql::parser::types::Field>],
    ) -> bool {
        let BaseType::Named(name) = &ty.base else {
            return false;
        };
        if !self.index.is_object(name) {
            return false;
        }
        let mut grouped = Grouped::new();
        let mut visited = Vec::new();
        for f in fields {
            self.collect(name, &f.node.selection_set.node, &mut grouped, &mut visited);
        }
        grouped.is_empty()
    }

    /// CollectFields: the fields of `set` that apply to `type_name`, grouped
    /// by response key in document order.
    fn collect(
        &self,
        type_name: &str,
        set: &'a SelectionSet,
        out: &mut Grouped<'a>,
        visited: &mut Vec<&'a str>,
    ) {
        for selection in &set.items {
            match &selection.node {
                Selection::Field(field) => {
                    if self.skipped(&field.node.directives) {
                        continue;
                    }
                    out.entry(field.node.response_key().node.as_str())
                        .or_default()
                        .push(field);
                }
                Selection::FragmentSpread(spread) => {
                    let name = spread.node.fragment_name.node.as_str();
                    if self.skipped(&spread.node.directives) || visited.contains(&name) {
                        continue;
                    }
                    visited.push(name);
                    let Some(fragment) = self.doc.fragments.get(name) else {
                        continue;
                    };
                    if fragment.node.type_condition.node.on.node.as_str() != type_name {
                        continue;
                    }
                    self.collect(type_name, &fragment.node.selection_set.node, out, visited);
                }
                Selection::InlineFragment(inline) => {
                    if self.skipped(&inline.node.directives) {
                        continue;
                    }
                    if let Some(cond) = &inline.node.type_condition
                        && cond.node.on.node.as_str() != type_name
                    {
                        continue;
                    }
                    self.collect(type_name, &inline.node.selection_set.node, out, visited);
                }
            }
        }
    }

    fn skipped(&self, directives: &[Positioned<Directive>]) -> bool {
        !directive_condition(directives, self.variables)
    }
}
