//! The schema's object, input, enum and scalar types as plain data, read
//! once from its SDL. The document checks (cost, argument values) and the
//! response completion (field order, nullability) walk it; async-graphql
//! keeps its own registry private.

use std::collections::HashSet;

use async_graphql::Value as ConstValue;
use async_graphql::parser::types::{BaseType, Type, TypeKind, TypeSystemDefinition};

use crate::graphql::schema::weights::Weight;

/// The index's maps: its keys are the schema's own names, looked up many
/// times per request (a fast hash; no caller chooses them).
type HashMap<K, V> = std::collections::HashMap<K, V, foldhash::fast::RandomState>;

/// An output field: its type, its arguments and its own cost.
#[derive(Debug)]
pub struct FieldDef {
    pub ty: Type,
    pub args: Vec<InputValueDef>,
    /// From the schema's weights table (`schema::weights`); 1 unless listed.
    pub weight: Weight,
}

/// An argument or an input object's field.
#[derive(Debug)]
pub struct InputValueDef {
    pub name: String,
    pub ty: Type,
    pub default: Option<ConstValue>,
}

/// What a named type is.
#[derive(Debug)]
pub enum TypeDef {
    Object(HashMap<String, FieldDef>),
    Input(Vec<InputValueDef>),
    Enum(HashSet<String>),
    Scalar,
}

#[derive(Debug)]
pub struct SchemaIndex {
    types: HashMap<String, TypeDef>,
    pub query: String,
    pub mutation: Option<String>,
    pub subscription: Option<String>,
}

const BUILT_IN_SCALARS: [&str; 5] = ["Int", "Float", "String", "Boolean", "ID"];

impl SchemaIndex {
    /// Reads the SDL the schema prints. Fails only if the SDL does not parse.
    pub fn from_sdl(sdl: &str) -> Result<Self, String> {
        let doc = async_graphql::parser::parse_schema(sdl).map_err(|e| e.to_string())?;
        let mut types: HashMap<String, TypeDef> = BUILT_IN_SCALARS
            .iter()
            .map(|s| ((*s).to_owned(), TypeDef::Scalar))
            .collect();
        let mut roots: [Option<String>; 3] = [None, None, None];
        for def in doc.definitions {
            match def {
                TypeSystemDefinition::Schema(schema) => {
                    let s = schema.node;
                    roots = [
                        s.query.map(|n| n.node.to_string()),
                        s.mutation.map(|n| n.node.to_string()),
                        s.subscription.map(|n| n.node.to_string()),
                    ];
                }
                TypeSystemDefinition::Type(ty) => {
                    let ty = ty.node;
                    let name = ty.name.node.to_string();
                    let def = match ty.kind {
                        TypeKind::Scalar => TypeDef::Scalar,
                        TypeKind::Object(obj) => TypeDef::Object(
                            obj.fields
                                .into_iter()
                                .map(|f| {
                                    let f = f.node;
                                    (
                                        f.name.node.to_string(),
                                        FieldDef {
                                            ty: f.ty.node,
                                            args: f
                                                .arguments
                                                .into_iter()
                                                .map(|a| input_value(a.node))
                                                .collect(),
                                            weight: Weight::default(),
                                        },
                                    )
                                })
                                .collect(),
                        ),
                        TypeKind::InputObject(input) => TypeDef::Input(
                            input
                                .fields
                                .into_iter()
                                .map(|f| input_value(f.node))
                                .collect(),
                        ),
                        TypeKind::Enum(e) => TypeDef::Enum(
                            e.values
                                .into_iter()
                                .map(|v| v.node.value.node.to_string())
                                .collect(),
                        ),
                        // The schema has no interfaces or unions.
                        TypeKind::Interface(_) | TypeKind::Union(_) => continue,
                    };
                    types.insert(name, def);
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        let [query, mutation, subscription] = roots;
        let present = |name: &str| types.contains_key(name).then(|| name.to_owned());
        Ok(SchemaIndex {
            query: query.unwrap_or_else(|| "Query".to_owned()),
            mutation: mutation.or_else(|| present("Mutation")),
            subscription: subscription.or_else(|| present("Subscription")),
            types,
        })
    }

    /// Gives the listed fields their weights. Fails on an entry that names
    /// a field the schema does not have (a renamed field must not silently
    /// weigh 1).
    pub fn with_weights(mut self, weights: &[(&str, &str, Weight)]) -> Result<Self, String> {
        for (type_name, field, weight) in weights {
            match self.types.get_mut(*type_name) {
                Some(TypeDef::Object(fields)) => match fields.get_mut(*field) {
                    Some(def) => def.weight = *weight,
                    None => {
                        return Err(format!(
                            "a weight names `{type_name}.{field}`, which the schema does not have"
                        ));
                    }
                },
                _ => {
                    return Err(format!(
                        "a weight names the type `{type_name}`, which the schema does not have"
                    ));
                }
            }
        }
        Ok(self)
    }

    /// The fields of an object type, by name.
    pub fn fields_of(&self, type_name: &str) -> Vec<&str> {
        match self.types.get(type_name) {
            Some(TypeDef::Object(fields)) => fields.keys().map(String::as_str).collect(),
            _ => Vec::new(),
        }
    }

    pub fn get(&self, name: &str) -> Option<&TypeDef> {
        self.types.get(name)
    }

    /// A field of an object type (`None` for introspection fields and
    /// unknown names).
    pub fn field(&self, type_name: &str, field: &str) -> Option<&FieldDef> {
        match self.types.get(type_name) {
            Some(TypeDef::Object(fields)) => fields.get(field),
            _ => None,
        }
    }

    pub fn is_object(&self, name: &str) -> bool {
        matches!(self.types.get(name), Some(TypeDef::Object(_)))
    }
}

fn input_value(v: async_graphql::parser::types::InputValueDefinition) -> InputValueDef {
    InputValueDef {
        name: v.name.node.to_string(),
        ty: v.ty.node,
        default: v.default_value.map(|d| d.node),
    }
}

/// The named type at the bottom of a (list, non-null) type.
pub fn named(ty: &Type) -> &str {
    match &ty.base {
        BaseType::Named(name) => name.as_str(),
        BaseType::List(inner) => named(inner),
    }
}

/// Whether the type is a list (at its outer level).
pub fn is_list(ty: &Type) -> bool {
    matches!(ty.base, BaseType::List(_))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::graphql::schema::weights::WEIGHTS;

    fn index() -> SchemaIndex {
        SchemaIndex::from_sdl(&crate::graphql::schema::sdl()).expect("the SDL parses")
    }

    #[test]
    fn every_root_field_has_a_weight_and_every_weight_a_field() {
        let index = index()
            .with_weights(WEIGHTS)
            .expect("every weight names a field");
        let mutation = index.mutation.clone().expect("a mutation root");
        for root in [index.query.clone(), mutation] {
            let fields = index.fields_of(&root);
            assert!(fields.len() > 3, "{root}: {fields:?}");
            for field in fields {
                assert!(
                    WEIGHTS.iter().any(|(t, f, _)| *t == root && *f == field),
                    "`{root}.{field}` has no entry in schema::weights::WEIGHTS"
                );
            }
        }
        assert_eq!(
            index.field("Query", "topCustomers").map(|d| d.weight),
            Some(Weight::Fixed(200))
        );
        assert_eq!(
            index.field("Customer", "name").map(|d| d.weight),
            Some(Weight::Fixed(1))
        );
    }

    #[test]
    fn a_weight_for_a_field_the_schema_lacks_is_refused() {
        let err = index()
            .with_weights(&[("Query", "renamedField", Weight::Fixed(5))])
            .expect_err("an unknown field");
        assert!(err.contains("Query.renamedField"), "{err}");
        assert!(
            index()
                .with_weights(&[("NoSuchType", "x", Weight::Fixed(5))])
                .is_err()
        );
    }
}
