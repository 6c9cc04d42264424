//! Makes an executed response follow the GraphQL specification's execution
//! rules exactly.
//!
//! async-graphql 7.2.1 resolves the fields of a selection set with an
//! unordered join and leaves out a field whose resolver failed (its error is
//! kept, with its path). 8.0's release candidates order fields again but turn
//! a failed nullable root field into `data: null`, so neither line gives the
//! specification's answer by itself. This pass goes over `data` along the
//! operation (CollectFields: fragments, inline fragments, aliases, merged
//! fields, `@skip`/`@include`):
//!
//! - fields come back in the order the operation selected them;
//! - a field missing because it failed is `null` when its type is nullable;
//! - a `null` in a non-null position nulls the nearest nullable parent (up to
//!   `data` itself).
//!
//! It adds no errors: each failure already carries exactly one, at its path.
//! An object already in order is completed in place; the fields of a list's
//! items are collected once for the whole list.

use async_graphql::Value;
use async_graphql::indexmap::IndexMap;
use async_graphql::parser::types::{
    BaseType, Directive, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
    Type,
};
use async_graphql::{Name, Positioned, Variables};

use super::schema_index::{FieldDef, SchemaIndex};
use super::variables::directive_condition;

/// A non-null position received `null`: its parent must become `null`.
struct Nulled;

/// Fields selected under one response key, in document order, with the
/// definition of the field they select (looked up once per selection set,
/// not once per object of a list).
/// Keyed by response names of the document (foldhash: no SipHash per field).
type Grouped<'a> = IndexMap<
    &'a str,
    (Vec<&'a Positioned<Field>>, Option<&'a FieldDef>),
    foldhash::fast::RandomState,
>;

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
    let grouped = walker.grouped(root, &[&operation.selection_set.node]);
    walker.object(map, &grouped).unwrap_or(Value::Null)
}

struct Walker<'a> {
    index: &'a SchemaIndex,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
}

impl<'a> Walker<'a> {
    fn grouped(&self, type_name: &str, sets: &[&'a SelectionSet]) -> Grouped<'a> {
        let mut grouped = Grouped::default();
        let mut visited = Vec::new();
        for set in sets {
            self.collect(type_name, set, &mut grouped, &mut visited);
        }
        for (fields, def) in grouped.values_mut() {
            *def = self
                .index
                .field(type_name, fields[0].node.name.node.as_str());
        }
        grouped
    }

    fn sub_grouped(&self, type_name: &str, fields: &[&'a Positioned<Field>]) -> Grouped<'a> {
        let sets: Vec<&SelectionSet> = fields.iter().map(|f| &f.node.selection_set.node).collect();
        self.grouped(type_name, &sets)
    }

    fn object(
        &self,
        mut map: IndexMap<Name, Value>,
        grouped: &Grouped<'a>,
    ) -> Result<Value, Nulled> {
        let in_order = map.len() == grouped.len()
            && map
                .keys()
                .zip(grouped.keys())
                .all(|(a, b)| a.as_str() == *b);
        if in_order {
            for (value, (fields, def)) in map.values_mut().zip(grouped.values()) {
                if let Some(def) = def {
                    let taken = std::mem::take(value);
                    *value = self.value(&def.ty, taken, fields)?;
                }
            }
            return Ok(Value::Object(map));
        }
        let mut out = IndexMap::with_capacity(grouped.len());
        for (key, (fields, def)) in grouped {
            let Some((key_name, field_value)) = map.swap_remove_entry(*key) else {
                // Left out by the executor: its resolver failed.
                match def {
                    Some(def) if !def.ty.nullable => return Err(Nulled),
                    _ => {
                        out.insert(Name::new(key), Value::Null);
                        continue;
                    }
                }
            };
            let completed = match def {
                Some(def) => self.value(&def.ty, field_value, fields)?,
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
        fields: &[&'a Positioned<Field>],
    ) -> Result<Value, Nulled> {
        let object_type = match &ty.base {
            BaseType::Named(name) if self.index.is_object(name) => Some(name.as_str()),
            _ => None,
        };
        let grouped = object_type.map(|name| self.sub_grouped(name, fields));
        self.typed(ty, value, fields, object_type.zip(grouped.as_ref()))
    }

    /// `value` at type `ty`; `object` holds the object type and its
    /// collected fields when `ty` names one.
    fn typed(
        &self,
        ty: &Type,
        value: Value,
        fields: &[&'a Positioned<Field>],
        object: Option<(&str, &Grouped<'a>)>,
    ) -> Result<Value, Nulled> {
        if matches!(value, Value::Null) {
            // The executor turns an object whose every selected field was
            // skipped into null; the specification says `{}`.
            if !ty.nullable && object.is_some_and(|(_, g)| g.is_empty()) {
                return Ok(Value::Object(IndexMap::new()));
            }
            return if ty.nullable {
                Ok(Value::Null)
            } else {
                Err(Nulled)
            };
        }
        let completed = match (&ty.base, value, object) {
            (BaseType::List(inner), Value::List(items), _) => {
                // The items share one type: collect their fields once.
                let item_object = match &inner.base {
                    BaseType::Named(name) if self.index.is_object(name) => Some(name.as_str()),
                    _ => None,
                };
                let grouped = item_object.map(|name| self.sub_grouped(name, fields));
                let item = item_object.zip(grouped.as_ref());
                items
                    .into_iter()
                    .map(|v| self.typed(inner, v, fields, item))
                    .collect::<Result<Vec<_>, _>>()
                    .map(Value::List)
            }
            (BaseType::Named(_), Value::Object(map), Some((_, grouped))) => {
                self.object(map, grouped)
            }
            (_, other, _) => Ok(other),
        };
        match completed {
            Err(Nulled) if ty.nullable => Ok(Value::Null),
            other => other,
        }
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
                        .0
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
