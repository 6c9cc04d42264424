//! Checks every argument value of an operation against the schema before it
//! runs, with variables substituted, and names each bad value by its path:
//! `input[12].total: money has at most two decimals (got "1.234")`.
//!
//! async-graphql's validation stops at the first bad item of a list and
//! names it `"input.12"`; a client sending 10,000 rows needs to hear about
//! every bad one (up to [`MAX_REPORTED`]) in the words of the schema.

use std::collections::{HashMap, HashSet};

use async_graphql::Value as ConstValue;
use async_graphql::parser::types::{
    BaseType, ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet, Type,
};
use async_graphql::{Name, Positioned, Variables};

use super::schema_index::{InputValueDef, SchemaIndex, TypeDef};
use super::variables::resolve_ref;
use crate::graphql::schema::scalars::{parse_datetime, parse_decimal};

pub use crate::graphql::runtime::error::MAX_REPORTED;

/// The problems found, in document order, and how many went unreported.
#[derive(Debug, Default)]
pub struct Problems {
    pub messages: Vec<String>,
    pub unreported: usize,
}

impl Problems {
    fn push(&mut self, message: String) {
        if self.messages.len() < MAX_REPORTED {
            self.messages.push(message);
        } else {
            self.unreported += 1;
        }
    }

    pub fn is_empty(&self) -> bool {
        self.messages.is_empty()
    }
}

/// Checks the arguments of every field of `operation` and of every fragment
/// (each fragment once, against its type condition).
///
/// Also returns, for each variable the request left unset that is used
/// only as arguments sharing one default, that default: the specification
/// (CoerceArgumentValues) gives such an argument its default, where
/// async-graphql would take `null`; the caller sets the variable to it.
pub fn check(
    index: &SchemaIndex,
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
    root: &str,
    variables: &Variables,
) -> (Problems, Vec<(Name, ConstValue)>) {
    let mut checker = Checker {
        index,
        variables,
        problems: Problems::default(),
        unset: HashMap::new(),
    };
    checker.set(root, &operation.selection_set.node);
    for fragment in doc.fragments.values() {
        let on = fragment.node.type_condition.node.on.node.as_str();
        checker.set(on, &fragment.node.selection_set.node);
    }
    let declared: HashSet<&Name> = operation
        .variable_definitions
        .iter()
        .map(|d| &d.node.name.node)
        .collect();
    let defaults = checker
        .unset
        .into_iter()
        .filter(|(name, _)| declared.contains(name))
        .filter_map(|(name, default)| Some((name, default?)))
        .collect();
    (checker.problems, defaults)
}

/// Where a value sits in an argument (`input[12].total`), built only when
/// a problem must be named.
#[derive(Copy, Clone)]
enum Path<'a> {
    Argument(&'a str),
    Index(&'a Path<'a>, usize),
    Field(&'a Path<'a>, &'a str),
}

impl std::fmt::Display for Path<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Path::Argument(name) => f.write_str(name),
            Path::Index(parent, i) => write!(f, "{parent}[{i}]"),
            Path::Field(parent, name) => write!(f, "{parent}.{name}"),
        }
    }
}

/// CoerceVariableValues: every variable the operation declares against its
/// type (a required one must be given, unless it has a default). Values of
/// variables the operation does not declare are left alone.
pub fn check_variables(
    index: &SchemaIndex,
    operation: &OperationDefinition,
    variables: &Variables,
) -> Problems {
    let mut checker = Checker {
        index,
        variables,
        problems: Problems::default(),
        unset: HashMap::new(),
    };
    for def in &operation.variable_definitions {
        let name = def.node.name.node.as_str();
        let ty = &def.node.var_type.node;
        let label = format!("${name}");
        match variables.get(&def.node.name.node) {
            Some(value) => checker.value(Path::Argument(&label), ty, value),
            None if !ty.nullable && def.node.default_value.is_none() => {
                checker
                    .problems
                    .push(format!("{label}: is required (of type {ty})"));
            }
            None => {}
        }
    }
    checker.problems
}

struct Checker<'a> {
    index: &'a SchemaIndex,
    variables: &'a Variables,
    problems: Problems,
    /// Unset variables used as arguments: the one default of the arguments
    /// they stand for (`None` when one has none, or they differ).
    unset: HashMap<Name, Option<ConstValue>>,
}

impl Checker<'_> {
    fn set(&mut self, type_name: &str, set: &SelectionSet) {
        for item in &set.items {
            match &item.node {
                Selection::Field(field) => self.field(type_name, field),
                Selection::InlineFragment(inline) => {
                    let on = inline
                        .node
                        .type_condition
                        .as_ref()
                        .map(|c| c.node.on.node.as_str())
                        .unwrap_or(type_name);
                    self.set(on, &inline.node.selection_set.node);
                }
                // Fragments are checked once each, by `check`.
                Selection::FragmentSpread(_) => {}
            }
        }
    }

    fn field(&mut self, type_name: &str, field: &Positioned<Field>) {
        let Some(def) = self.index.field(type_name, field.node.name.node.as_str()) else {
            return; // unknown fields and introspection: validation's business
        };
        for arg in &def.args {
            // Absent (or an unset variable): its default, or validation's "required".
            let Some(given) = field.node.get_argument(&arg.name) else {
                continue;
            };
            if let async_graphql_value::Value::Variable(var) = &given.node
                && !self.variables.contains_key(var)
            {
                self.unset
                    .entry(var.clone())
                    .and_modify(|d| {
                        if *d != arg.default {
                            *d = None;
                        }
                    })
                    .or_insert_with(|| arg.default.clone());
                continue;
            }
            let value = resolve_ref(&given.node, self.variables);
            self.value(Path::Argument(&arg.name), &arg.ty, &value);
        }
        let child = super::schema_index::named(&def.ty);
        if self.index.is_object(child) {
            self.set(child, &field.node.selection_set.node);
        }
    }

    fn value(&mut self, path: Path<'_>, ty: &Type, value: &ConstValue) {
        if matches!(value, ConstValue::Null) {
            if !ty.nullable {
                self.problems.push(format!("{path}: must not be null"));
            }
            return;
        }
        match &ty.base {
            BaseType::List(inner) => match value {
                ConstValue::List(items) => {
                    for (i, item) in items.iter().enumerate() {
                        self.value(Path::Index(&path, i), inner, item);
                    }
                }
                // Input coercion: a single value stands for a list of one.
                single => self.value(path, inner, single),
            },
            BaseType::Named(name) => self.named(path, name, value),
        }
    }

    fn named(&mut self, path: Path<'_>, name: &str, value: &ConstValue) {
        let problem = match (name, self.index.get(name)) {
            ("Int", _) => match value {
                ConstValue::Number(n) if n.as_i64().is_some_and(|i| i32::try_from(i).is_ok()) => {
                    None
                }
                other => Some(format!("expected an Int (a 32-bit integer), got {other}")),
            },
            ("Float", _) => (!matches!(value, ConstValue::Number(_)))
                .then(|| format!("expected a Float, got {value}")),
            ("String", _) => (!matches!(value, ConstValue::String(_)))
                .then(|| format!("expected a String, got {value}")),
            ("Boolean", _) => (!matches!(value, ConstValue::Boolean(_)))
                .then(|| format!("expected a Boolean, got {value}")),
            ("ID", _) => match value {
                ConstValue::String(_) => None,
                ConstValue::Number(n) if n.is_i64() || n.is_u64() => None,
                other => Some(format!("expected an ID (a string), got {other}")),
            },
            ("Decimal", _) => parse_decimal(value).err(),
            ("DateTime", _) => parse_datetime(value).err(),
            (_, Some(TypeDef::Enum(values))) => {
                let given = match value {
                    ConstValue::Enum(n) => Some(n.as_str()),
                    ConstValue::String(s) => Some(s.as_str()),
                    _ => None,
                };
                match given {
                    Some(v) if values.contains(v) => None,
                    _ => {
                        let mut allowed: Vec<&str> = values.iter().map(String::as_str).collect();
                        allowed.sort_unstable();
                        Some(format!(
                            "expected one of {} ({name}), got {value}",
                            allowed.join(", ")
                        ))
                    }
                }
            }
            (_, Some(TypeDef::Input(fields))) => {
                self.input_object(path, name, fields, value);
                None
            }
            _ => None,
        };
        if let Some(problem) = problem {
            self.problems.push(format!("{path}: {problem}"));
        }
    }

    fn input_object(
        &mut self,
        path: Path<'_>,
        name: &str,
        fields: &[InputValueDef],
        value: &ConstValue,
    ) {
        let ConstValue::Object(map) = value else {
            self.problems
                .push(format!("{path}: expected an object ({name}), got {value}"));
            return;
        };
        for key in map.keys() {
            if !fields.iter().any(|f| f.name == key.as_str()) {
                let known: Vec<&str> = fields.iter().map(|f| f.name.as_str()).collect();
                self.problems.push(format!(
                    "{path}: {name} has no field \"{key}\" (it has {})",
                    known.join(", ")
                ));
            }
        }
        for f in fields {
            let field_path = Path::Field(&path, &f.name);
            match map.get(f.name.as_str()) {
                Some(v) => self.value(field_path, &f.ty, v),
                None if !f.ty.nullable && f.default.is_none() => {
                    self.problems.push(format!("{field_path}: is required"));
                }
                None => {}
            }
        }
    }
}
