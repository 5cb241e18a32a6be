//! Shaping a GraphQL `data` object into the documented JSON answer.
//!
//! A template is plain JSON in which a string that starts with `$` is a path into `data`
//! (`"$login.accessToken"`, `"$cameras.items.0"`, `"$"` for `data` itself) and the key
//! `"..."` spreads the fields of the object its path names into the object around it.
//! `"$$text"` is the literal string `"$text"`. Field aliases in the stored operation give
//! the documented field names, so most templates only add the envelope.
//!
//! Three object forms reshape lists and optional parts:
//! - `{"$each": "$path", "$as": T}`: the list at `path`, each element shaped by `T`, whose
//!   paths are relative to the element (a missing or null list gives `[]`);
//! - `{"$entries": "$path", "$key": "$k", "$value": "$v"}`: a list of objects turned into
//!   one object (`[{"k":"car","v":9}]` → `{"car": 9}`);
//! - `{"$when": "$path", …}`: `null` when `path` is null or missing, otherwise the object
//!   without the `$when` key.
//!
//! Inside other strings, `{$path}` is replaced by the value at `path`
//! (`"Successfully updated plate {$updatePlate.id}"`).

use serde_json::{Map, Value};

/// Applies a template to the `data` of a GraphQL response.
pub fn apply(template: &Value, data: &Value) -> Value {
    match template {
        Value::String(s) => match s.strip_prefix('$') {
            Some(rest) if rest.starts_with('$') => Value::String(rest.to_owned()),
            Some(path) => lookup(data, path).cloned().unwrap_or(Value::Null),
            None if s.contains("{$") => Value::String(interpolate(s, data)),
            None => template.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|t| apply(t, data)).collect()),
        Value::Object(map) if map.contains_key("$each") => {
            let items = match map.get("$each").map(|p| apply(p, data)) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let each = map.get("$as").cloned().unwrap_or(Value::String("$".into()));
            Value::Array(items.iter().map(|item| apply(&each, item)).collect())
        }
        Value::Object(map) if map.contains_key("$entries") => {
            let items = match map.get("$entries").map(|p| apply(p, data)) {
                Some(Value::Array(items)) => items,
                _ => Vec::new(),
            };
            let key = map.get("$key").cloned().unwrap_or(Value::Null);
            let value = map.get("$value").cloned().unwrap_or(Value::Null);
            let mut out = Map::new();
            for item in &items {
                let k = match apply(&key, item) {
                    Value::String(s) => s,
                    Value::Null => continue,
                    other => other.to_string(),
                };
                out.insert(k, apply(&value, item));
            }
            Value::Object(out)
        }
        Value::Object(map) if map.contains_key("$when") => {
            match map.get("$when").map(|p| apply(p, data)) {
                None | Some(Value::Null) => Value::Null,
                Some(_) => {
                    let mut rest = map.clone();
                    rest.shift_remove("$when");
                    apply(&Value::Object(rest), data)
                }
            }
        }
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, t) in map {
                if key == "..." {
                    if let Value::Object(spread) = apply(t, data) {
                        out.extend(spread);
                    }
                } else {
                    out.insert(key.clone(), apply(t, data));
                }
            }
            Value::Object(out)
        }
        other => other.clone(),
    }
}

/// Replaces each `{$path}` in `text` with the value at `path` (strings as they are, other
/// values as JSON, null and missing as nothing).
fn interpolate(text: &str, data: &Value) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(start) = rest.find("{$") {
        out.push_str(&rest[..start]);
        let Some(len) = rest[start..].find('}') else {
            out.push_str(&rest[start..]);
            return out;
        };
        match lookup(data, &rest[start + 2..start + len]) {
            Some(Value::String(v)) => out.push_str(v),
            Some(Value::Null) | None => {}
            Some(v) => out.push_str(&v.to_string()),
        }
        rest = &rest[start + len + 1..];
    }
    out.push_str(rest);
    out
}

fn lookup<'a>(data: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.')
        .filter(|seg| !seg.is_empty())
        .try_fold(data, |cur, seg| match cur {
            Value::Object(map) => map.get(seg),
            Value::Array(items) => seg.parse::<usize>().ok().and_then(|i| items.get(i)),
            _ => None,
        })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn paths_spreads_and_literals() {
        let data = json!({"login": {"account": {"account_uuid": "u1"}, "access_token": "a", "refresh_token": "r"}});
        let t = json!({
            "message": "Login successful",
            "account_uuid": "$login.account.account_uuid",
            "...": "$login",
            "price": "$$5",
            "missing": "$nope.deeper"
        });
        let out = apply(&t, &data);
        assert_eq!(
            out,
            json!({"message": "Login successful", "account_uuid": "u1",
                   "account": {"account_uuid": "u1"}, "access_token": "a", "refresh_token": "r",
                   "price": "$5", "missing": null})
        );
        let keys: Vec<_> = out.as_object().expect("object").keys().cloned().collect();
        assert_eq!(keys[0], "message", "documented key order is kept");
    }

    #[test]
    fn each_entries_and_when() {
        let data = json!({"d": {"rows": [
            {"v": {"cls": "car"}, "p": {"t": "B1"}},
            {"v": null, "p": {"t": "D2"}}
        ], "dist": [{"label": "car", "count": 2}, {"label": "bus", "count": 1}]}});
        let t = json!({
            "list": {"$each": "$d.rows", "$as": {
                "vehicle": {"$when": "$v", "class": "$v.cls"},
                "plate_text": "$p.t"
            }},
            "dist": {"$entries": "$d.dist", "$key": "$label", "$value": "$count"},
            "none": {"$each": "$d.missing", "$as": "$x"}
        });
        assert_eq!(
            apply(&t, &data),
            json!({
                "list": [
                    {"vehicle": {"class": "car"}, "plate_text": "B1"},
                    {"vehicle": null, "plate_text": "D2"}
                ],
                "dist": {"car": 2, "bus": 1},
                "none": []
            })
        );
    }

    #[test]
    fn interpolation() {
        let data = json!({"p": {"id": 10, "t": "B1"}});
        assert_eq!(
            apply(&json!("Plate {$p.t} ({$p.id}){$p.none} {$"), &data),
            json!("Plate B1 (10) {$")
        );
    }

    #[test]
    fn array_indexes_and_whole_data() {
        let data = json!({"items": [{"id": 1}, {"id": 2}]});
        assert_eq!(apply(&json!("$items.1.id"), &data), json!(2));
        assert_eq!(apply(&json!("$"), &data), data);
    }
}
