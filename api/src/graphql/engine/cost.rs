//! What an operation will cost, measured on the parsed document before
//! async-graphql validates or runs it.
//!
//! - **Selections**: how many field selections the document expands to once
//!   every fragment spread is replaced by its fragment. A fragment spread
//!   twice per level doubles per level (`F0 → F1 F1 → …`): the count is
//!   memoised per fragment, so counting is linear in the document's size
//!   however large the expansion, and a bomb is refused before anything
//!   expands it.
//! - **Depth**: the deepest field nesting, also memoised per fragment.
//! - **Cost**: each field costs its weight plus, for a list, its children
//!   once per row it can return: `first`/`last` of a connection (passed down
//!   to its `edges` and `nodes`), `limit` of `topCustomers`, the length of a
//!   bulk `input`, the schema's size for introspection lists. Fields that run
//!   their own statement weigh more (their weights are the schema's,
//!   `schema::weights`, read into the index). A batch shares one
//!   budget (`Engine::run_batch` adds the operations' costs).

use std::collections::HashMap;

use async_graphql::Variables;
use async_graphql::parser::types::{
    ExecutableDocument, Field, OperationDefinition, Selection, SelectionSet,
};

use super::schema_index::{FieldDef, SchemaIndex, TypeDef, is_list, named};
use super::variables::{as_i64, directive_condition, resolve, resolve_ref};

/// Rows a page holds when neither `first` nor `last` is given (the larger
/// of the two defaults, 20 for root lists and 10 per customer).
const DEFAULT_PAGE: u64 = 20;
/// Rows one page or ranking may return at most (bigger is refused by the
/// resolver with a precise error, so it prices as this).
const MAX_ROWS: u64 = 100;

/// What the document measures.
#[derive(Copy, Clone, Debug, Default, PartialEq, Eq)]
pub struct Measure {
    pub selections: u64,
    pub depth: u64,
    pub cost: u64,
}

/// Sizes of the schema that bound introspection lists.
#[derive(Copy, Clone, Debug)]
pub struct IntrospectionSizes {
    types: u64,
    fields: u64,
    args: u64,
    enum_values: u64,
}

impl IntrospectionSizes {
    /// The lists of the schema's introspection, sized so that a full
    /// introspection query costs what it returns: `types` is every type,
    /// and each type's `fields` (or `inputFields`, `enumValues`) and each
    /// field's `args` count as the schema's totals spread over them (the
    /// product over the levels is the total, not the largest type times
    /// the number of types).
    pub fn of(index: &SchemaIndex, names: &[&str]) -> Self {
        // The introspection types themselves (`__Type` and its kin: about
        // 40 fields, 6 arguments) and their two enums (27 values).
        let types = names.len() as u64 + 8;
        let (mut fields, mut args, mut enum_values) = (40u64, 6u64, 27u64);
        for name in names {
            match index.get(name) {
                Some(TypeDef::Object(f)) => {
                    fields += f.len() as u64;
                    args += f.values().map(|d| d.args.len() as u64).sum::<u64>();
                }
                Some(TypeDef::Input(f)) => fields += f.len() as u64,
                Some(TypeDef::Enum(v)) => enum_values += v.len() as u64,
                _ => {}
            }
        }
        let per = |total: u64, over: u64| total.div_ceil(over.max(1)).max(1);
        IntrospectionSizes {
            types,
            fields: per(fields, types),
            args: per(args, fields),
            enum_values: per(enum_values, types),
        }
    }

    fn list_size(&self, field: &str) -> u64 {
        match field {
            "types" => self.types,
            "fields" | "inputFields" => self.fields,
            "args" => self.args,
            "enumValues" => self.enum_values,
            "directives" => 8,
            _ => 1,
        }
    }
}

/// The selections and the depth of `operation` with every fragment expanded
/// (without expanding it). `Err` names a fragment that spreads itself.
pub fn expansion(
    doc: &ExecutableDocument,
    operation: &OperationDefinition,
) -> Result<(u64, u64), String> {
    let mut memo: HashMap<&str, (u64, u64)> = HashMap::new();
    let mut in_progress: Vec<&str> = Vec::new();
    expand_set(
        doc,
        &operation.selection_set.node,
        &mut memo,
        &mut in_progress,
    )
}

fn expand_set<'a>(
    doc: &'a ExecutableDocument,
    set: &'a SelectionSet,
    memo: &mut HashMap<&'a str, (u64, u64)>,
    in_progress: &mut Vec<&'a str>,
) -> Result<(u64, u64), String> {
    let mut count = 0u64;
    let mut depth = 0u64;
    for item in &set.items {
        let (c, d) = match &item.node {
            Selection::Field(f) => {
                let (c, d) = expand_set(doc, &f.node.selection_set.node, memo, in_progress)?;
                (c.saturating_add(1), d.saturating_add(1))
            }
            Selection::InlineFragment(i) => {
                expand_set(doc, &i.node.selection_set.node, memo, in_progress)?
            }
            Selection::FragmentSpread(s) => {
                let name = s.node.fragment_name.node.as_str();
                if let Some(known) = memo.get(name) {
                    *known
                } else {
                    if in_progress.contains(&name) {
                        return Err(format!("fragment \"{name}\" spreads itself"));
                    }
                    let Some(fragment) = doc.fragments.get(name) else {
                        continue; // validation reports unknown fragments
                    };
                    in_progress.push(name);
                    let measured =
                        expand_set(doc, &fragment.node.selection_set.node, memo, in_progress)?;
                    in_progress.pop();
                    memo.insert(name, measured);
                    measured
                }
            }
        };
        count = count.saturating_add(c);
        depth = depth.max(d);
    }
    Ok((count, depth))
}

/// Prices an operation whose expansion is known to be bounded.
pub struct Pricer<'a> {
    index: &'a SchemaIndex,
    doc: &'a ExecutableDocument,
    variables: &'a Variables,
    introspection: IntrospectionSizes,
    memo: HashMap<(&'a str, u64, bool), u64>,
    max_bulk_rows: u64,
}

impl<'a> Pricer<'a> {
    pub fn new(
        index: &'a SchemaIndex,
        doc: &'a ExecutableDocument,
        variables: &'a Variables,
        introspection: IntrospectionSizes,
        max_bulk_rows: u64,
    ) -> Self {
        Pricer {
            index,
            doc,
            variables,
            introspection,
            memo: HashMap::new(),
            max_bulk_rows,
        }
    }

    pub fn price(&mut self, operation: &'a OperationDefinition, root: &str) -> u64 {
        self.set(Some(root), &operation.selection_set.node, 1, false)
    }

    /// `type_name` is `None` inside introspection (whose types the index
    /// does not hold); `rows` is the page size a connection passes to its
    /// `edges`/`nodes`; `from_root` says a root field returned this object.
    fn set(
        &mut self,
        type_name: Option<&str>,
        set: &'a SelectionSet,
        rows: u64,
        from_root: bool,
    ) -> u64 {
        let mut total = 0u64;
        for item in &set.items {
            let cost = match &item.node {
                Selection::Field(f) => {
                    if !directive_condition(&f.node.directives, self.variables) {
                        continue;
                    }
                    self.field(type_name, &f.node, rows, from_root)
                }
                Selection::InlineFragment(i) => {
                    if !directive_condition(&i.node.directives, self.variables) {
                        continue;
                    }
                    self.set(type_name, &i.node.selection_set.node, rows, from_root)
                }
                Selection::FragmentSpread(s) => {
                    if !directive_condition(&s.node.directives, self.variables) {
                        continue;
                    }
                    let name = s.node.fragment_name.node.as_str();
                    match self.memo.get(&(name, rows, from_root)) {
                        Some(c) => *c,
                        None => {
                            let Some(fragment) = self.doc.fragments.get(name) else {
                                continue;
                            };
                            let on = fragment.node.type_condition.node.on.node.as_str();
                            let on = type_name.map(|_| on);
                            let c =
                                self.set(on, &fragment.node.selection_set.node, rows, from_root);
                            self.memo.insert((name, rows, from_root), c);
                            c
                        }
                    }
                }
            };
            total = total.saturating_add(cost);
        }
        total
    }

    fn field(
        &mut self,
        type_name: Option<&str>,
        field: &'a Field,
        rows: u64,
        from_root: bool,
    ) -> u64 {
        let name = field.name.node.as_str();
        let def = type_name.and_then(|t| self.index.field(t, name));
        let Some(def) = def else {
            // Introspection (or an unknown field, which validation refuses).
            if field.selection_set.node.items.is_empty() {
                return 1;
            }
            let per_row = self.set(None, &field.selection_set.node, 1, false);
            return 1u64.saturating_add(self.introspection.list_size(name).saturating_mul(per_row));
        };
        let child_type = named(&def.ty);
        let size = self.list_size(field, def, rows);
        let child_rows = if child_type.ends_with("Connection") {
            size
        } else {
            1
        };
        let is_root = type_name == Some(self.index.query.as_str());
        let children = if self.index.is_object(child_type) {
            self.set(
                Some(child_type),
                &field.selection_set.node,
                child_rows,
                is_root,
            )
        } else {
            0
        };
        let rows_out = if is_list(&def.ty) { size } else { 1 };
        def.weight
            .of(from_root, size)
            .saturating_add(rows_out.saturating_mul(children))
    }

    /// How many rows the field can return (see [`list_rows`]).
    fn list_size(&self, field: &Field, def: &FieldDef, inherited: u64) -> u64 {
        list_rows(field, def, inherited, self.variables, self.max_bulk_rows)
    }
}

/// How many rows a field can return (or, for a connection, its page):
/// `first`/`last`, `limit`, the length of a bulk `input` (at most
/// `max_bulk_rows`), `inherited` for a connection's `edges` and `nodes`.
pub fn list_rows(
    field: &Field,
    def: &FieldDef,
    inherited: u64,
    variables: &Variables,
    max_bulk_rows: u64,
) -> u64 {
    let arg = |name: &str| -> Option<Option<i64>> {
        let given = field
            .get_argument(name)
            .map(|v| resolve(&v.node, variables));
        match given {
            Some(async_graphql::Value::Null) | None => def
                .args
                .iter()
                .find(|a| a.name == name)
                .map(|a| a.default.as_ref().and_then(as_i64)),
            Some(v) => Some(as_i64(&v).or(Some(i64::MAX))),
        }
    };
    let clamp = |n: i64| u64::try_from(n).unwrap_or(0).min(MAX_ROWS);
    if let Some(input) = field.get_argument("input") {
        if let async_graphql::Value::List(items) = &*resolve_ref(&input.node, variables) {
            return (items.len() as u64).min(max_bulk_rows);
        }
        return 1;
    }
    if let Some(limit) = arg("limit") {
        return limit.map(clamp).unwrap_or(MAX_ROWS);
    }
    let first = arg("first");
    let last = arg("last");
    if first.is_some() || last.is_some() {
        return match (first.flatten(), last.flatten()) {
            (Some(f), _) => clamp(f),
            (None, Some(l)) => clamp(l),
            (None, None) => DEFAULT_PAGE,
        };
    }
    match field.name.node.as_str() {
        "edges" | "nodes" => inherited,
        _ => 1,
    }
}

/// What a client reads when its request costs too much.
pub fn too_costly(cost: u64, max: u64) -> String {
    format!(
        "the request would cost {cost}; at most {max} is accepted (a list multiplies its fields by the rows it may return: ask for smaller pages or fewer fields)"
    )
}
