//! Response schemas of the REST routes, derived so they cannot drift from what the routes
//! answer: the JSON Schema of a stored operation's `data` comes from its selection set over
//! the GraphQL schema (the printed SDL), and the answer template ([`crate::shape`]) is then
//! applied to that schema the way [`crate::shape::apply`] applies it to the data.
//!
//! GraphQL types map to JSON Schema (OpenAPI 3.1): `Int` → `integer` (`int32`), `Float` →
//! `number`, `String`/`ID` → `string`, `Boolean` → `boolean`, `DateTime` → `date-time`
//! strings, `UUID` → `uuid` strings, `JSON` → any value, enums → string enums, nullable
//! fields → `null` allowed. Objects list exactly the selected fields (aliases included) as
//! required, with no others.

use std::collections::HashMap;

use async_graphql::parser::{
    parse_query, parse_schema,
    types::{
        BaseType, DocumentOperations, Selection, SelectionSet, Type, TypeKind, TypeSystemDefinition,
    },
};
use serde_json::{Map, Value, json};

use crate::StoredOperation;

/// Output field types of every object and interface of a GraphQL schema, and its enums.
#[derive(Debug, Default)]
pub struct SchemaIndex {
    fields: HashMap<String, HashMap<String, Type>>,
    inputs: HashMap<String, Vec<(String, Type)>>,
    enums: HashMap<String, Vec<String>>,
    query: String,
    mutation: String,
}

impl SchemaIndex {
    /// Indexes a schema in SDL.
    ///
    /// # Errors
    /// The SDL does not parse.
    pub fn new(sdl: &str) -> Result<Self, async_graphql::parser::Error> {
        let doc = parse_schema(sdl)?;
        let mut idx = Self {
            query: "Query".into(),
            mutation: "Mutation".into(),
            ..Self::default()
        };
        for def in doc.definitions {
            match def {
                TypeSystemDefinition::Type(t) => {
                    let t = t.node;
                    let name = t.name.node.to_string();
                    match t.kind {
                        TypeKind::Object(o) => {
                            idx.fields.insert(
                                name,
                                o.fields
                                    .into_iter()
                                    .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                                    .collect(),
                            );
                        }
                        TypeKind::Interface(i) => {
                            idx.fields.insert(
                                name,
                                i.fields
                                    .into_iter()
                                    .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                                    .collect(),
                            );
                        }
                        TypeKind::InputObject(i) => {
                            idx.inputs.insert(
                                name,
                                i.fields
                                    .into_iter()
                                    .map(|f| (f.node.name.node.to_string(), f.node.ty.node))
                                    .collect(),
                            );
                        }
                        TypeKind::Enum(e) => {
                            idx.enums.insert(
                                name,
                                e.values
                                    .into_iter()
                                    .map(|v| v.node.value.node.to_string())
                                    .collect(),
                            );
                        }
                        _ => {}
                    }
                }
                TypeSystemDefinition::Schema(s) => {
                    let s = s.node;
                    if let Some(q) = s.query {
                        idx.query = q.node.to_string();
                    }
                    if let Some(m) = s.mutation {
                        idx.mutation = m.node.to_string();
                    }
                }
                TypeSystemDefinition::Directive(_) => {}
            }
        }
        Ok(idx)
    }

    fn named(&self, name: &str, selection: Option<&SelectionSet>) -> Value {
        match name {
            "Int" => json!({"type": "integer", "format": "int32"}),
            "Float" => json!({"type": "number"}),
            "String" | "ID" => json!({"type": "string"}),
            "Boolean" => json!({"type": "boolean"}),
            "DateTime" => json!({"type": "string", "format": "date-time"}),
            "UUID" => json!({"type": "string", "format": "uuid"}),
            "JSON" => json!({}),
            other => {
                if let Some(values) = self.enums.get(other) {
                    return json!({"type": "string", "enum": values});
                }
                match (self.fields.get(other), selection) {
                    (Some(_), Some(sel)) => self.object(other, sel),
                    _ => json!({}),
                }
            }
        }
    }

    fn of_type(&self, ty: &Type, selection: Option<&SelectionSet>) -> Value {
        let inner = match &ty.base {
            BaseType::Named(n) => self.named(n.as_str(), selection),
            BaseType::List(item) => {
                json!({"type": "array", "items": self.of_type(item, selection)})
            }
        };
        if ty.nullable { nullable(inner) } else { inner }
    }

    fn object(&self, type_name: &str, sel: &SelectionSet) -> Value {
        let mut props = Map::new();
        let fields = self.fields.get(type_name);
        for item in &sel.items {
            match &item.node {
                Selection::Field(f) => {
                    let f = &f.node;
                    let name = f.name.node.as_str();
                    let key = f
                        .alias
                        .as_ref()
                        .map_or(name, |a| a.node.as_str())
                        .to_owned();
                    let schema = if name == "__typename" {
                        json!({"type": "string"})
                    } else {
                        match fields.and_then(|fs| fs.get(name)) {
                            Some(ty) => {
                                let sub = (!f.selection_set.node.items.is_empty())
                                    .then_some(&f.selection_set.node);
                                self.of_type(ty, sub)
                            }
                            None => json!({}),
                        }
                    };
                    props.insert(key, schema);
                }
                // Stored operations use no fragments; an unknown shape stays open.
                Selection::FragmentSpread(_) | Selection::InlineFragment(_) => {
                    return json!({"type": "object"});
                }
            }
        }
        let required: Vec<Value> = props.keys().cloned().map(Value::String).collect();
        json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
    }

    /// The JSON Schema of a GraphQL input object as the REST documents write it: fields in
    /// snake_case (the engine maps them back, [`crate::coerce`]), non-null ones required, no
    /// others. `None` for a type that is not an input object.
    pub fn input_schema(&self, name: &str) -> Option<Value> {
        let fields = self.inputs.get(name)?;
        let mut props = Map::new();
        let mut required = Vec::new();
        for (f, ty) in fields {
            let key = snake_case(f);
            if !ty.nullable {
                required.push(Value::String(key.clone()));
            }
            props.insert(key, self.input_type(ty));
        }
        Some(
            json!({"type": "object", "properties": props, "required": required, "additionalProperties": false}),
        )
    }

    fn input_type(&self, ty: &Type) -> Value {
        let inner = match &ty.base {
            BaseType::Named(n) => match self.input_schema(n.as_str()) {
                Some(s) => s,
                None => self.named(n.as_str(), None),
            },
            BaseType::List(item) => json!({"type": "array", "items": self.input_type(item)}),
        };
        if ty.nullable { nullable(inner) } else { inner }
    }

    /// The JSON Schema of a stored operation's `data`.
    pub fn data_schema(&self, op: &StoredOperation) -> Value {
        let Ok(doc) = parse_query(op.source) else {
            return json!({});
        };
        let op_def = match doc.operations {
            DocumentOperations::Single(o) => o.node,
            DocumentOperations::Multiple(m) => match m.into_values().next() {
                Some(o) => o.node,
                None => return json!({}),
            },
        };
        let root = match op.kind {
            async_graphql::parser::types::OperationType::Mutation => &self.mutation,
            _ => &self.query,
        };
        self.object(root, &op_def.selection_set.node)
    }
}

/// `alertDuration` → `alert_duration`.
pub fn snake_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len() + 4);
    for c in name.chars() {
        if c.is_ascii_uppercase() {
            out.push('_');
            out.push(c.to_ascii_lowercase());
        } else {
            out.push(c);
        }
    }
    out
}

/// `schema` or `null`.
pub fn nullable(schema: Value) -> Value {
    match schema.get("type") {
        Some(Value::String(t)) if t == "null" => schema,
        Some(Value::String(t)) => {
            let mut s = schema.clone();
            s["type"] = json!([t, "null"]);
            if let Some(Value::Array(e)) = s.get_mut("enum") {
                e.push(Value::Null);
            }
            s
        }
        _ if schema.as_object().is_some_and(Map::is_empty) => schema,
        _ => json!({"anyOf": [schema, {"type": "null"}]}),
    }
}

/// Strips a `null` alternative; answers whether there was one.
fn non_null(schema: &Value) -> (Value, bool) {
    if let Some(Value::Array(alts)) = schema.get("anyOf") {
        let rest: Vec<&Value> = alts
            .iter()
            .filter(|a| a.get("type") != Some(&json!("null")))
            .collect();
        if rest.len() == 1 && rest.len() < alts.len() {
            return (rest[0].clone(), true);
        }
    }
    if let Some(Value::Array(types)) = schema.get("type") {
        let rest: Vec<&Value> = types.iter().filter(|t| *t != "null").collect();
        if rest.len() == 1 && rest.len() < types.len() {
            let mut s = schema.clone();
            s["type"] = rest[0].clone();
            return (s, true);
        }
    }
    (schema.clone(), false)
}

/// The schema at a `.`-separated path (`""` = the whole), nullable when any step is.
fn lookup(schema: &Value, path: &str) -> Value {
    let mut cur = schema.clone();
    let mut null = false;
    if path.is_empty() {
        return cur;
    }
    for seg in path.split('.') {
        let (inner, n) = non_null(&cur);
        null |= n;
        let next = if let Ok(_i) = seg.parse::<usize>() {
            // An index may be past the end: the template answers null there.
            null = true;
            inner.get("items").cloned()
        } else {
            inner.get("properties").and_then(|p| p.get(seg)).cloned()
        };
        match next {
            Some(s) => cur = s,
            None => return json!({}),
        }
    }
    if null { nullable(cur) } else { cur }
}

/// The schema of what [`crate::shape::apply`] makes of `template` over data of `data`'s
/// schema.
pub fn shape_schema(template: &Value, data: &Value) -> Value {
    match template {
        Value::String(s) => match s.strip_prefix('$') {
            Some(rest) if rest.starts_with('$') => json!({"type": "string", "const": rest}),
            Some(path) => lookup(data, path),
            None if s.contains("{$") => json!({"type": "string"}),
            None => json!({"type": "string", "const": s}),
        },
        Value::Null => json!({"type": "null"}),
        Value::Bool(_) | Value::Number(_) => json!({"const": template}),
        Value::Array(items) => json!({
            "type": "array",
            "items": {"anyOf": items.iter().map(|t| shape_schema(t, data)).collect::<Vec<_>>()},
            "minItems": items.len(),
            "maxItems": items.len()
        }),
        Value::Object(map) if map.contains_key("$each") => {
            let list = map
                .get("$each")
                .map_or(json!({}), |p| shape_schema(p, data));
            let (list, _) = non_null(&list);
            let item = list.get("items").cloned().unwrap_or(json!({}));
            let each = map.get("$as").cloned().unwrap_or(Value::String("$".into()));
            json!({"type": "array", "items": shape_schema(&each, &item)})
        }
        Value::Object(map) if map.contains_key("$entries") => {
            let list = map
                .get("$entries")
                .map_or(json!({}), |p| shape_schema(p, data));
            let (list, _) = non_null(&list);
            let item = list.get("items").cloned().unwrap_or(json!({}));
            let value = map.get("$value").cloned().unwrap_or(Value::Null);
            json!({"type": "object", "additionalProperties": shape_schema(&value, &item)})
        }
        Value::Object(map) if map.contains_key("$when") => {
            let mut rest = map.clone();
            rest.shift_remove("$when");
            nullable(shape_schema(&Value::Object(rest), data))
        }
        Value::Object(map) => {
            let mut props = Map::new();
            let mut required = Vec::new();
            for (key, t) in map {
                if key == "..." {
                    let (spread, _) = non_null(&shape_schema(t, data));
                    if let Some(Value::Object(p)) = spread.get("properties") {
                        for (k, v) in p {
                            props.insert(k.clone(), v.clone());
                            required.push(Value::String(k.clone()));
                        }
                    }
                } else {
                    props.insert(key.clone(), shape_schema(t, data));
                    required.push(Value::String(key.clone()));
                }
            }
            json!({"type": "object", "properties": props, "required": required, "additionalProperties": false})
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SDL: &str = r#"
        type Query { cameras(first: Int): CameraConnection! camera(id: Int!): Camera! }
        type Mutation { deleteCamera(id: Int!): Int! }
        type CameraConnection { totalCount: Int! edges: [CameraEdge!]! }
        type CameraEdge { node: Camera! }
        type Camera { id: Int! name: String! location: String kind: Kind! meta: JSON createdAt: DateTime! }
        enum Kind { RTSP ONVIF }
        scalar JSON
        scalar DateTime
    "#;

    fn op(src: &'static str) -> StoredOperation {
        StoredOperation::parse("t.graphql", src).expect("parses")
    }

    #[test]
    fn data_schemas_follow_the_selection_and_aliases() {
        let idx = SchemaIndex::new(SDL).expect("sdl");
        let s = idx.data_schema(&op("query C { cameras { totalCount edges { node { id name loc: location kind created_at: createdAt } } } }"));
        let node =
            &s["properties"]["cameras"]["properties"]["edges"]["items"]["properties"]["node"];
        assert_eq!(
            node["properties"]["id"],
            json!({"type": "integer", "format": "int32"})
        );
        assert_eq!(node["properties"]["loc"]["type"], json!(["string", "null"]));
        assert_eq!(node["properties"]["kind"]["enum"], json!(["RTSP", "ONVIF"]));
        assert_eq!(node["properties"]["created_at"]["format"], "date-time");
        assert_eq!(node["additionalProperties"], false);
        assert_eq!(
            node["required"],
            json!(["id", "name", "loc", "kind", "created_at"])
        );
        let d = idx.data_schema(&op("mutation D($id: Int!) { deleteCamera(id: $id) }"));
        assert_eq!(d["properties"]["deleteCamera"]["type"], "integer");
    }

    #[test]
    fn templates_shape_schemas_like_they_shape_data() {
        let idx = SchemaIndex::new(SDL).expect("sdl");
        let data = idx.data_schema(&op(
            "query C { cameras { totalCount edges { node { id name location } } } }",
        ));
        let t = json!({
            "status": "success",
            "data": {"$each": "$cameras.edges", "$as": "$node"},
            "total": "$cameras.totalCount",
            "first": "$cameras.edges.0.node.name",
            "label": "Camera {$cameras.totalCount}",
            "maybe": {"$when": "$cameras.edges.0.node.location", "where": "$cameras.edges.0.node.location"}
        });
        let s = shape_schema(&t, &data);
        assert_eq!(
            s["properties"]["status"],
            json!({"type": "string", "const": "success"})
        );
        assert_eq!(s["properties"]["data"]["type"], "array");
        assert_eq!(
            s["properties"]["data"]["items"]["properties"]["id"]["type"],
            "integer"
        );
        assert_eq!(s["properties"]["total"]["type"], "integer");
        assert_eq!(
            s["properties"]["first"]["type"],
            json!(["string", "null"]),
            "an index may be missing"
        );
        assert_eq!(s["properties"]["label"], json!({"type": "string"}));
        assert_eq!(s["properties"]["maybe"]["type"], json!(["object", "null"]));
        assert_eq!(s["additionalProperties"], false);
        // The shaped answer of real data validates against the shaped schema's structure.
        let answer = crate::shape::apply(
            &t,
            &json!({"cameras": {"totalCount": 1, "edges": [{"node": {"id": 1, "name": "a", "location": null}}]}}),
        );
        assert_eq!(answer["maybe"], Value::Null);
        assert_eq!(answer["first"], "a");
    }
}
