//! Building GraphQL variables from the parts of an HTTP request.
//!
//! Each declared variable of a stored operation takes its value from the first source that
//! has its name: the path, then the query string, then the body (a JSON object, an
//! urlencoded form or multipart fields; multipart files become GraphQL `Upload`s). Values
//! are coerced to the declared type (RESTified-endpoint semantics, as Hasura does them):
//! text from the path, query or a form becomes `Int`, `Float`, `Boolean` when declared so,
//! and a JSON value of the wrong scalar kind is refused with a per-field message before the
//! operation runs.

use std::collections::{BTreeMap, HashMap};

use async_graphql::{Name, Value};
use serde_json::Value as Json;

use crate::operation::{VarType, VariableDef};

/// An uploaded file from a multipart body.
#[derive(Debug)]
pub struct FilePart {
    /// Client-supplied file name.
    pub filename: String,
    /// Client-supplied content type.
    pub content_type: Option<String>,
    /// The bytes.
    pub bytes: bytes::Bytes,
}

/// The decoded body of a request.
#[derive(Debug, Default)]
pub enum Body {
    /// No body.
    #[default]
    Empty,
    /// A JSON object.
    Json(serde_json::Map<String, Json>),
    /// Text fields (urlencoded form or multipart) and files (multipart only).
    Fields {
        /// Text fields by name; repeated names keep every value.
        text: HashMap<String, Vec<String>>,
        /// Files by field name.
        files: HashMap<String, Vec<FilePart>>,
    },
}

/// Every input a request offers, by source.
#[derive(Debug, Default)]
pub struct Inputs {
    /// Path parameters.
    pub path: HashMap<String, String>,
    /// Query string parameters; repeated names keep every value.
    pub query: HashMap<String, Vec<String>>,
    /// The body.
    pub body: Body,
}

/// The result of coercion: GraphQL variables and the uploads to attach to them
/// (`(variable path, file)`, e.g. `("images.1", file)`).
#[derive(Debug, Default)]
pub struct Coerced {
    /// Variables object.
    pub variables: async_graphql::indexmap::IndexMap<Name, Value>,
    /// Files for `Upload` variables.
    pub uploads: Vec<(String, FilePart)>,
}

enum Raw<'a> {
    Text(Vec<&'a str>),
    Json(&'a Json),
}

/// Builds the variables of an operation from the request inputs.
///
/// # Errors
/// A map of field name → messages when a required value is missing or a value cannot be
/// coerced to its declared type.
pub fn coerce(
    defs: &[VariableDef],
    mut inputs: Inputs,
) -> Result<Coerced, BTreeMap<String, Vec<String>>> {
    let mut out = Coerced::default();
    let mut errors: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for def in defs {
        let name = def.name.as_str();
        if def.ty.base_name() == "Upload" {
            let files = match &mut inputs.body {
                Body::Fields { files, .. } => files.remove(name).unwrap_or_default(),
                _ => Vec::new(),
            };
            match (&def.ty, files.len()) {
                (ty, 0) if ty.is_non_null() => {
                    errors.insert(name.into(), vec!["a file is required".into()]);
                }
                (_, 0) => {}
                (VarType::List { .. }, _) => {
                    let mut list = Vec::with_capacity(files.len());
                    for (i, f) in files.into_iter().enumerate() {
                        list.push(Value::Null);
                        out.uploads.push((format!("{name}.{i}"), f));
                    }
                    out.variables.insert(Name::new(name), Value::List(list));
                }
                (VarType::Named { .. }, 1) => {
                    out.variables.insert(Name::new(name), Value::Null);
                    out.uploads
                        .push((name.to_owned(), files.into_iter().next().expect("one file")));
                }
                (VarType::Named { .. }, _) => {
                    errors.insert(name.into(), vec!["exactly one file is expected".into()]);
                }
            }
            continue;
        }
        let raw = if let Some(v) = inputs.path.get(name) {
            Some(Raw::Text(vec![v.as_str()]))
        } else if let Some(v) = inputs.query.get(name) {
            Some(Raw::Text(v.iter().map(String::as_str).collect()))
        } else {
            match &inputs.body {
                Body::Json(map) => map.get(name).map(Raw::Json),
                Body::Fields { text, files } => {
                    if files.contains_key(name) {
                        errors.insert(
                            name.into(),
                            vec!["expected a text field, not a file".into()],
                        );
                        continue;
                    }
                    text.get(name)
                        .map(|v| Raw::Text(v.iter().map(String::as_str).collect()))
                }
                Body::Empty => None,
            }
        };
        let value = match raw {
            None | Some(Raw::Json(Json::Null)) => {
                if def.ty.is_non_null() && !def.has_default {
                    errors.insert(name.into(), vec!["this field is required".into()]);
                } else if matches!(raw, Some(Raw::Json(Json::Null))) {
                    out.variables.insert(Name::new(name), Value::Null);
                }
                continue;
            }
            Some(Raw::Text(values)) => from_text(&values, &def.ty),
            Some(Raw::Json(json)) => from_json(json, &def.ty),
        };
        match value {
            Ok(v) => {
                out.variables.insert(Name::new(name), v);
            }
            Err(msg) => {
                errors.insert(name.into(), vec![msg]);
            }
        }
    }
    if errors.is_empty() {
        Ok(out)
    } else {
        Err(errors)
    }
}

fn from_text(values: &[&str], ty: &VarType) -> Result<Value, String> {
    match ty {
        VarType::List { item, .. } => {
            // `?id=1&id=2` or `?id=1,2`.
            let parts: Vec<&str> = if values.len() == 1 {
                values[0].split(',').filter(|s| !s.is_empty()).collect()
            } else {
                values.to_vec()
            };
            parts
                .iter()
                .map(|v| from_text(&[v], item))
                .collect::<Result<Vec<_>, _>>()
                .map(Value::List)
        }
        VarType::Named { name, .. } => {
            let text = values.last().copied().unwrap_or_default();
            scalar_from_text(text, name)
        }
    }
}

/// Text fields may not hold NUL: PostgreSQL cannot store it, so no database gets it.
const NUL: &str = "must not contain NUL (U+0000) characters";

fn scalar_from_text(text: &str, type_name: &str) -> Result<Value, String> {
    match type_name {
        "Int" => text
            .trim()
            .parse::<i32>()
            .map(Value::from)
            .map_err(|_| "must be an integer".to_owned()),
        "Float" => match text.trim().parse::<f64>() {
            Ok(f) if f.is_finite() => Ok(Value::from(f)),
            _ => Err("must be a number".to_owned()),
        },
        "Boolean" => match text.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "on" => Ok(Value::Boolean(true)),
            "false" | "0" | "no" | "off" => Ok(Value::Boolean(false)),
            _ => Err("must be a boolean".to_owned()),
        },
        // Input objects may be sent as JSON text inside a form field.
        _ if text.trim_start().starts_with('{') => serde_json::from_str::<Json>(text)
            .map_err(|_| "must be a JSON object".to_owned())
            .and_then(|j| Value::from_json(j).map_err(|e| e.to_string())),
        _ if text.contains('\0') => Err(NUL.to_owned()),
        // String, ID, enums and custom scalars: GraphQL validation checks the rest.
        _ => Ok(Value::String(text.to_owned())),
    }
}

fn from_json(json: &Json, ty: &VarType) -> Result<Value, String> {
    match (ty, json) {
        (_, Json::Null) if !ty.is_non_null() => Ok(Value::Null),
        (_, Json::Null) => Err("may not be null".to_owned()),
        (VarType::List { item, .. }, Json::Array(items)) => items
            .iter()
            .map(|i| from_json(i, item))
            .collect::<Result<Vec<_>, _>>()
            .map(Value::List),
        // A JSON body says what it means: a list is an array (forms and query strings still
        // send one value for a one-item list, see `from_text`).
        (VarType::List { .. }, _) => Err("must be a list".to_owned()),
        (VarType::Named { name, .. }, json) => match (name.as_str(), json) {
            // JSON Schema counts 5.0 as an integer; so do we.
            ("Int", Json::Number(n)) => n
                .as_i64()
                .or_else(|| {
                    n.as_f64()
                        .filter(|f| f.fract() == 0.0 && f.abs() <= f64::from(i32::MAX))
                        .map(|f| f as i64)
                })
                .and_then(|i| i32::try_from(i).ok())
                .map(Value::from)
                .ok_or_else(|| "must be a 32-bit integer".to_owned()),
            ("Int" | "Float" | "Boolean", Json::String(s)) => scalar_from_text(s, name),
            ("Int", _) => Err("must be an integer".to_owned()),
            ("Float", Json::Number(n)) => n
                .as_f64()
                .map(Value::from)
                .ok_or_else(|| "must be a number".to_owned()),
            ("Float", _) => Err("must be a number".to_owned()),
            ("Boolean", Json::Bool(b)) => Ok(Value::Boolean(*b)),
            ("Boolean", _) => Err("must be a boolean".to_owned()),
            ("String" | "ID", Json::String(s)) if s.contains('\0') => Err(NUL.to_owned()),
            ("String", Json::String(s)) => Ok(Value::String(s.clone())),
            ("String", _) => Err("must be a string".to_owned()),
            ("ID", Json::String(s)) => Ok(Value::String(s.clone())),
            ("ID", Json::Number(n)) if n.is_i64() || n.is_u64() => Ok(Value::String(n.to_string())),
            ("ID", _) => Err("must be a string or an integer id".to_owned()),
            // An input object: the documents write its fields in snake_case
            // (`alert_duration`), the schema in camelCase (`alertDuration`).
            (name, Json::Object(map)) if name != "JSON" => Value::from_json(Json::Object(
                map.iter()
                    .map(|(k, v)| (camel_case(k), v.clone()))
                    .collect(),
            ))
            .map_err(|e| e.to_string()),
            (_, json) => Value::from_json(json.clone()).map_err(|e| e.to_string()),
        },
    }
}

/// `alert_duration` → `alertDuration`; names without `_` are unchanged.
pub fn camel_case(name: &str) -> String {
    let mut out = String::with_capacity(name.len());
    let mut upper = false;
    for c in name.chars() {
        if c == '_' && !out.is_empty() {
            upper = true;
        } else if upper {
            out.extend(c.to_uppercase());
            upper = false;
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::operation::StoredOperation;

    fn defs(src: &'static str) -> Vec<VariableDef> {
        StoredOperation::parse("t", src).expect("parses").variables
    }

    #[test]
    fn input_objects_take_the_documents_snake_case_fields() {
        assert_eq!(camel_case("alert_duration"), "alertDuration");
        assert_eq!(camel_case("name"), "name");
        assert_eq!(camel_case("_private"), "_private");
        let ty = VarType::List {
            item: Box::new(VarType::Named {
                name: "ZoneInput".into(),
                non_null: true,
            }),
            non_null: true,
        };
        let v = from_json(
            &serde_json::json!([{"alert_duration": 5, "coordinates": [{"x": 1}]}]),
            &ty,
        )
        .expect("coerced");
        assert_eq!(
            v.into_json().expect("json"),
            serde_json::json!([{"alertDuration": 5, "coordinates": [{"x": 1}]}])
        );
        let json_ty = VarType::Named {
            name: "JSON".into(),
            non_null: false,
        };
        let v = from_json(&serde_json::json!({"bounding_box": 1}), &json_ty).expect("coerced");
        assert_eq!(
            v.into_json().expect("json"),
            serde_json::json!({"bounding_box": 1})
        );
    }

    #[test]
    fn path_then_query_then_body() {
        let d = defs("query Q($id: Int!, $q: String, $flag: Boolean) { x }");
        let mut inputs = Inputs::default();
        inputs.path.insert("id".into(), "7".into());
        inputs.query.insert("id".into(), vec!["8".into()]);
        inputs.query.insert("flag".into(), vec!["true".into()]);
        let mut body = serde_json::Map::new();
        body.insert("q".into(), Json::String("hello".into()));
        body.insert("flag".into(), Json::Bool(false));
        inputs.body = Body::Json(body);
        let c = coerce(&d, inputs).expect("coerces");
        assert_eq!(c.variables["id"], Value::from(7));
        assert_eq!(c.variables["q"], Value::String("hello".into()));
        assert_eq!(c.variables["flag"], Value::Boolean(true));
    }

    #[test]
    fn missing_and_mistyped_fields_are_reported_per_field() {
        let d = defs("mutation M($username: String!, $age: Int, $ok: Boolean!) { x }");
        let mut body = serde_json::Map::new();
        body.insert("age".into(), Json::String("ten".into()));
        body.insert("ok".into(), Json::from(3));
        let inputs = Inputs {
            body: Body::Json(body),
            ..Inputs::default()
        };
        let errs = coerce(&d, inputs).expect_err("fails");
        assert_eq!(errs["username"], vec!["this field is required"]);
        assert_eq!(errs["age"], vec!["must be an integer"]);
        assert_eq!(errs["ok"], vec!["must be a boolean"]);
    }

    #[test]
    fn string_fields_refuse_numbers_and_int_refuses_overflow() {
        let d = defs("mutation M($username: String!, $n: Int!) { x }");
        let mut body = serde_json::Map::new();
        body.insert("username".into(), Json::from(123));
        body.insert("n".into(), Json::from(1_i64 << 40));
        let errs = coerce(
            &d,
            Inputs {
                body: Body::Json(body),
                ..Inputs::default()
            },
        )
        .expect_err("fails");
        assert_eq!(errs["username"], vec!["must be a string"]);
        assert_eq!(errs["n"], vec!["must be a 32-bit integer"]);
    }

    #[test]
    fn whole_floats_are_integers_as_json_schema_says() {
        let d = defs("mutation M($a: Int, $b: Int, $c: Int) { x }");
        let mut body = serde_json::Map::new();
        body.insert("a".into(), serde_json::json!(15344.0));
        body.insert("b".into(), serde_json::json!(1.5));
        body.insert("c".into(), serde_json::json!(4e10));
        let errs = coerce(
            &d,
            Inputs {
                body: Body::Json(body.clone()),
                ..Inputs::default()
            },
        )
        .expect_err("fails");
        assert!(!errs.contains_key("a"), "{errs:?}");
        assert_eq!(errs["b"], vec!["must be a 32-bit integer"]);
        assert_eq!(errs["c"], vec!["must be a 32-bit integer"]);
        body.remove("b");
        body.remove("c");
        let ok = coerce(
            &d,
            Inputs {
                body: Body::Json(body),
                ..Inputs::default()
            },
        )
        .expect("coerces");
        assert_eq!(ok.variables["a"], Value::from(15344));
    }

    #[test]
    fn lists_from_repeated_or_comma_separated_query_values() {
        let d = defs("query Q($ids: [Int!]!) { x }");
        let mut inputs = Inputs::default();
        inputs.query.insert("ids".into(), vec!["1,2".into()]);
        let c = coerce(&d, inputs).expect("coerces");
        assert_eq!(
            c.variables["ids"],
            Value::List(vec![Value::from(1), Value::from(2)])
        );
    }

    #[test]
    fn uploads_become_null_variables_with_files_attached() {
        let d = defs("mutation U($images: [Upload!]!, $file: Upload) { x }");
        let mut files = HashMap::new();
        let part = |n: &str| FilePart {
            filename: n.into(),
            content_type: None,
            bytes: bytes::Bytes::from_static(b"x"),
        };
        files.insert("images".into(), vec![part("a.jpg"), part("b.jpg")]);
        let inputs = Inputs {
            body: Body::Fields {
                text: HashMap::new(),
                files,
            },
            ..Inputs::default()
        };
        let c = coerce(&d, inputs).expect("coerces");
        assert_eq!(
            c.variables["images"],
            Value::List(vec![Value::Null, Value::Null])
        );
        assert!(!c.variables.contains_key("file"));
        let paths: Vec<_> = c.uploads.iter().map(|(p, _)| p.as_str()).collect();
        assert_eq!(paths, ["images.0", "images.1"]);
    }
}
