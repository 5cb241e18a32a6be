//! Constraints on a route's inputs, declared once next to the route: the REST engine checks
//! them before the operation runs (a violation is a validation error naming the field) and
//! the OpenAPI document publishes them, so what the document promises is what the server
//! enforces. The resolvers keep their own checks; a constraint here is never looser.
//!
//! A constraint is a JSON Schema fragment over the variable's value; the supported keywords
//! are `minimum`, `maximum`, `minLength`, `maxLength` (characters, after trimming when
//! `x-trim` is true), `pattern` (anchored by the author), `enum`, `format: uuid` and `format: date-time`
//! (RFC 3339) or `format: date` (`YYYY-MM-DD`, a real calendar day). `"x-message"` replaces the generic message with the document's wording.
//! `"x-resolver": true` marks a constraint the resolver enforces in the
//! document's own words (DRF's "This field may not be blank."): published, not re-checked
//! here; the contract tests keep the two in step.

use serde_json::Value;

/// Checks `value` (the coerced GraphQL variable, as JSON) against `schema`; `Err` with the
/// message to show.
///
/// # Errors
/// The first keyword the value violates.
pub fn check(value: &Value, schema: &Value) -> Result<(), String> {
    check_inner(value, schema).map_err(|m| match schema.get("x-message").and_then(Value::as_str) {
        Some(custom) => custom.to_owned(),
        None => m,
    })
}

fn check_inner(value: &Value, schema: &Value) -> Result<(), String> {
    if value.is_null() {
        return Ok(());
    }
    if schema.get("type").and_then(Value::as_str) == Some("object") && !value.is_object() {
        return Err("must be an object".to_owned());
    }
    if let Value::Array(items) = value {
        for item in items {
            check(item, schema.get("items").unwrap_or(schema))?;
        }
        return Ok(());
    }
    if let Some(n) = value.as_f64() {
        if let Some(min) = schema.get("minimum").and_then(Value::as_f64)
            && n < min
        {
            return Err(format!("must be ≥ {}", fmt(min)));
        }
        if let Some(max) = schema.get("maximum").and_then(Value::as_f64)
            && n > max
        {
            return Err(format!("must be ≤ {}", fmt(max)));
        }
    }
    if let Some(s) = value.as_str() {
        let trim = schema
            .get("x-trim")
            .and_then(Value::as_bool)
            .unwrap_or(false);
        let t = if trim { s.trim() } else { s };
        let len = t.chars().count() as u64;
        if let Some(min) = schema.get("minLength").and_then(Value::as_u64)
            && len < min
        {
            return Err(if min == 1 {
                "must not be blank".to_owned()
            } else {
                format!("must be at least {min} characters")
            });
        }
        if let Some(max) = schema.get("maxLength").and_then(Value::as_u64)
            && len > max
        {
            return Err(format!("must be at most {max} characters"));
        }
        if let Some(p) = schema.get("pattern").and_then(Value::as_str) {
            let re = regex::Regex::new(p).map_err(|e| format!("bad pattern {p}: {e}"))?;
            if !re.is_match(s) {
                return Err(format!("must match {p}"));
            }
        }
        if schema.get("format").and_then(Value::as_str) == Some("date-time") && !is_date_time(s) {
            return Err("must be an ISO 8601 date-time, e.g. 2025-07-03T00:00:00Z".to_owned());
        }
        if schema.get("format").and_then(Value::as_str) == Some("date")
            && chrono::NaiveDate::parse_from_str(s.trim(), "%Y-%m-%d").is_err()
        {
            return Err("must be a date YYYY-MM-DD".to_owned());
        }
        if schema.get("format").and_then(Value::as_str) == Some("uuid") && !is_uuid(s.trim()) {
            return Err("must be a UUID".to_owned());
        }
    }
    if let Some(Value::Array(allowed)) = schema.get("enum")
        && !allowed.contains(value)
    {
        let names: Vec<String> = allowed.iter().map(|v| v.to_string()).collect();
        return Err(format!("must be one of {}", names.join(", ")));
    }
    Ok(())
}

fn fmt(v: f64) -> String {
    if v.fract() == 0.0 {
        format!("{}", v as i64)
    } else {
        v.to_string()
    }
}

/// A UUID in its hyphenated form (`8-4-4-4-12` hex digits, RFC 9562), any case.
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| match i {
            8 | 13 | 18 | 23 => *c == b'-',
            _ => c.is_ascii_hexdigit(),
        })
}

/// RFC 3339 (`2025-07-03T00:00:00Z`, `…+08:00`, with or without fraction).
pub fn is_date_time(s: &str) -> bool {
    chrono::DateTime::parse_from_rfc3339(s.trim()).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn uuids() {
        let id = json!({"format": "uuid"});
        assert!(check(&json!("a1b2c3d4-e5f6-7890-abcd-ef1234567890"), &id).is_ok());
        assert!(check(&json!("A1B2C3D4-E5F6-7890-ABCD-EF1234567890"), &id).is_ok());
        for bad in [
            "0",
            "a1b2c3d4e5f67890abcdef1234567890",
            "a1b2c3d4-e5f6-7890-abcd-ef123456789g",
            "",
        ] {
            assert_eq!(
                check(&json!(bad), &id),
                Err("must be a UUID".into()),
                "{bad}"
            );
        }
    }

    #[test]
    fn keywords() {
        let days = json!({"minimum": 1, "maximum": 365});
        assert!(check(&json!(7), &days).is_ok());
        assert_eq!(check(&json!(0), &days), Err("must be ≥ 1".into()));
        assert!(check(&json!(366), &days).is_err());
        let day = json!({"format": "date"});
        assert!(check(&json!("2026-02-28"), &day).is_ok());
        assert_eq!(
            check(&json!("2026-02-30"), &day),
            Err("must be a date YYYY-MM-DD".into())
        );
        let name = json!({"minLength": 1, "maxLength": 3, "x-trim": true});
        assert_eq!(check(&json!("  "), &name), Err("must not be blank".into()));
        assert!(check(&json!("abcd"), &name).is_err());
        assert!(check(&json!(" ab "), &name).is_ok());
        let url = json!({"pattern": "^rtsps?://"});
        assert!(check(&json!("rtsp://x"), &url).is_ok());
        assert!(check(&json!("http://x"), &url).is_err());
        let kind = json!({"enum": ["read", "unread"]});
        assert!(check(&json!("read"), &kind).is_ok());
        assert!(check(&json!("maybe"), &kind).is_err());
        let at = json!({"format": "date-time"});
        assert!(check(&json!("2025-07-03T00:00:00Z"), &at).is_ok());
        assert!(check(&json!("yesterday"), &at).is_err());
        assert!(
            check(&Value::Null, &days).is_ok(),
            "absent values are not constrained"
        );
        assert!(check(&json!([1, 2]), &json!({"items": {"minimum": 1}})).is_ok());
        assert!(check(&json!([1, 0]), &json!({"items": {"minimum": 1}})).is_err());
    }
}
