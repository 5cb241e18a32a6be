//! Shaping a GraphQL `data` object into the documented JSON answer.
//!
//! A template is plain JSON in which a string that starts with `$` is a path into `data`
//! (`"$login.accessToken"`, `"$cameras.items.0"`, `"$"` for `data` itself) and the key
//! `"..."` spreads the fields of the object its path names into the object around it.
//! `"$$text"` is the literal string `"$text"`. Field aliases in the stored operation give
//! the documented field names, so most templates only add the envelope.

use serde_json::{Map, Value};

/// Applies a template to the `data` of a GraphQL response.
pub fn apply(template: &Value, data: &Value) -> Value {
    match template {
        Value::String(s) => match s.strip_prefix('$') {
            Some(rest) if rest.starts_with('$') => Value::String(rest.to_owned()),
            Some(path) => lookup(data, path).cloned().unwrap_or(Value::Null),
            None => template.clone(),
        },
        Value::Array(items) => Value::Array(items.iter().map(|t| apply(t, data)).collect()),
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
    fn array_indexes_and_whole_data() {
        let data = json!({"items": [{"id": 1}, {"id": 2}]});
        assert_eq!(apply(&json!("$items.1.id"), &data), json!(2));
        assert_eq!(apply(&json!("$"), &data), data);
    }
}
