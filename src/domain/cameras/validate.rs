//! Validation of camera, zone and notification input (monitor-api.zh-TW.txt; errors as
//! `VALIDATION_ERROR` naming the field). Everything is checked before anything is stored.

use serde_json::Value as Json;

/// Longest camera and zone name, characters.
pub const MAX_NAME: usize = 100;
/// Longest location, characters.
pub const MAX_LOCATION: usize = 200;
/// Longest stream URL, bytes.
pub const MAX_URL: usize = 2048;
/// Most zones per camera.
pub const MAX_ZONES: usize = 64;
/// Most vertices per zone.
pub const MAX_POINTS: usize = 256;
/// Largest coordinate, pixels (the decoder's largest side).
pub const MAX_COORD: f64 = 16_384.0;
/// Longest alert duration, seconds (one day).
pub const MAX_ALERT_DURATION: i64 = 86_400;

pub use crate::domain::validate::{Errors, name, optional_text};

/// An `rtsp://` or `rtsps://` URL with a host; credentials in the URL are allowed. When
/// `allowed` is not empty the host must be one of it (`cameras.allowed_hosts`: camera
/// workers connect to what users type, so an operator can fence them in).
pub fn stream_url(errs: &mut Errors, field: &str, value: &str, allowed: &[String]) -> String {
    let v = value.trim();
    if v.is_empty() {
        errs.add(field, "must not be blank");
        return String::new();
    }
    if v.len() > MAX_URL {
        errs.add(field, format!("must be at most {MAX_URL} bytes"));
        return v.to_owned();
    }
    match url::Url::parse(v) {
        Ok(u) if !matches!(u.scheme(), "rtsp" | "rtsps") => {
            errs.add(field, "must be an rtsp:// or rtsps:// URL");
        }
        Ok(u) if u.host_str().is_none_or(str::is_empty) => errs.add(field, "must name a host"),
        Ok(u)
            if !allowed.is_empty()
                && !allowed.iter().any(|a| {
                    u.host_str().is_some_and(|h| {
                        h.eq_ignore_ascii_case(a.trim_matches(['[', ']']))
                            || h.eq_ignore_ascii_case(a)
                    })
                }) =>
        {
            errs.add(
                field,
                format!(
                    "host must be one of {} (cameras.allowed_hosts)",
                    allowed.join(", ")
                ),
            );
        }
        Ok(_) => {}
        Err(e) => errs.add(field, format!("is not a valid URL ({e})")),
    }
    v.to_owned()
}

/// The URL with its password replaced by `***` (answers never carry camera credentials).
pub fn mask_url(value: &str) -> String {
    match url::Url::parse(value) {
        Ok(mut u) if u.password().is_some() => {
            if u.set_password(Some("***")).is_ok() {
                u.to_string()
            } else {
                value.to_owned()
            }
        }
        _ => value.to_owned(),
    }
}

/// A polygon from `[[x, y], …]` or `[{"x": x, "y": y}, …]`: 3–[`MAX_POINTS`] vertices with
/// finite, non-negative numeric coordinates of at most [`MAX_COORD`] pixels.
pub fn polygon(errs: &mut Errors, field: &str, value: &Json) -> Vec<[f64; 2]> {
    let Some(items) = value.as_array() else {
        errs.add(field, "must be a list of points [x, y] or {\"x\", \"y\"}");
        return Vec::new();
    };
    let mut out = Vec::with_capacity(items.len());
    for (i, p) in items.iter().enumerate() {
        let (x, y) = match p {
            Json::Array(xy) if xy.len() == 2 => (&xy[0], &xy[1]),
            Json::Object(o) if o.contains_key("x") && o.contains_key("y") => (&o["x"], &o["y"]),
            _ => {
                errs.add(
                    format!("{field}[{i}]"),
                    "must be [x, y] or {\"x\": x, \"y\": y}",
                );
                continue;
            }
        };
        match (x.as_f64(), y.as_f64()) {
            (Some(x), Some(y)) if x.is_finite() && y.is_finite() => {
                if x < 0.0 || y < 0.0 {
                    errs.add(format!("{field}[{i}]"), "coordinates must not be negative");
                } else if x > MAX_COORD || y > MAX_COORD {
                    errs.add(
                        format!("{field}[{i}]"),
                        format!("coordinates must be at most {MAX_COORD}"),
                    );
                } else {
                    out.push([x, y]);
                }
            }
            _ => errs.add(format!("{field}[{i}]"), "coordinates must be numbers"),
        }
    }
    if items.len() < 3 {
        errs.add(field, "a polygon needs at least 3 points");
    } else if items.len() > MAX_POINTS {
        errs.add(field, format!("a polygon has at most {MAX_POINTS} points"));
    }
    out
}

/// Seconds in 0–[`MAX_ALERT_DURATION`] (default 5, the document's example).
pub fn alert_duration(errs: &mut Errors, field: &str, value: Option<i64>) -> i32 {
    match value {
        None => 5,
        Some(v) if v < 0 => {
            errs.add(field, "must not be negative");
            0
        }
        Some(v) if v > MAX_ALERT_DURATION => {
            errs.add(
                field,
                format!("must be at most {MAX_ALERT_DURATION} seconds"),
            );
            0
        }
        Some(v) => v as i32,
    }
}

/// Class names, each one of `known`; duplicates removed, order kept. Absent = `["person"]`
/// (the document's monitoring use), an empty list = every class.
pub fn classes(
    errs: &mut Errors,
    field: &str,
    value: Option<&[String]>,
    known: &[String],
) -> Vec<String> {
    let Some(list) = value else {
        return vec!["person".to_owned()];
    };
    let mut out: Vec<String> = Vec::new();
    for (i, c) in list.iter().enumerate() {
        let c = c.trim();
        if !known.iter().any(|k| k == c) {
            errs.add(
                format!("{field}[{i}]"),
                format!("unknown class {c:?} (known: {})", known.join(", ")),
            );
        } else if !out.iter().any(|o| o == c) {
            out.push(c.to_owned());
        }
    }
    out
}

/// The polygon as stored: `[{"x", "y"}, …]`.
pub fn polygon_json(points: &[[f64; 2]]) -> Json {
    Json::Array(
        points
            .iter()
            .map(|[x, y]| serde_json::json!({"x": num(*x), "y": num(*y)}))
            .collect(),
    )
}

/// Whole numbers as JSON integers (`100`, not `100.0`), as the document shows them.
fn num(v: f64) -> Json {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        Json::from(v as i64)
    } else {
        Json::from(v)
    }
}

/// Reads a stored polygon back.
pub fn stored_polygon(value: &Json) -> Vec<[f64; 2]> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|p| Some([p.get("x")?.as_f64()?, p.get("y")?.as_f64()?]))
                .collect()
        })
        .unwrap_or_default()
}

/// Reads stored class names back.
pub fn stored_classes(value: &Json) -> Vec<String> {
    value
        .as_array()
        .map(|items| {
            items
                .iter()
                .filter_map(|c| c.as_str().map(str::to_owned))
                .collect()
        })
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_must_be_rtsp_and_passwords_are_masked() {
        let mut e = Errors::default();
        stream_url(&mut e, "u", "rtsp://127.0.0.1:8554/cam", &[]);
        stream_url(&mut e, "u", "rtsps://user:pw@cam.local/s", &[]);
        stream_url(
            &mut e,
            "u",
            "rtsp://127.0.0.1:8554/cam",
            &["127.0.0.1".into()],
        );
        assert!(e.finish().is_ok());
        let mut e = Errors::default();
        stream_url(&mut e, "u", "rtsp://10.0.0.5/s", &["127.0.0.1".into()]);
        assert!(e.finish().is_err(), "outside the allowed hosts");
        for bad in [
            "http://x/y",
            "",
            "rtsp://",
            "not a url",
            "file:///etc/passwd",
        ] {
            let mut e = Errors::default();
            stream_url(&mut e, "u", bad, &[]);
            assert!(e.finish().is_err(), "{bad}");
        }
        assert_eq!(
            mask_url("rtsp://admin:secret@10.0.0.5:554/s"),
            "rtsp://admin:***@10.0.0.5:554/s"
        );
        assert_eq!(mask_url("rtsp://10.0.0.5/s"), "rtsp://10.0.0.5/s");
    }

    #[test]
    fn polygons_take_both_shapes_and_refuse_bad_points() {
        let mut e = Errors::default();
        let a = polygon(
            &mut e,
            "c",
            &serde_json::json!([[100, 100], [300, 100], [300, 200]]),
        );
        let b = polygon(
            &mut e,
            "c",
            &serde_json::json!([{"x": 100, "y": 100}, {"x": 300, "y": 100}, {"x": 300.5, "y": 200}]),
        );
        assert!(e.finish().is_ok());
        assert_eq!(a.len(), 3);
        assert_eq!(b[2], [300.5, 200.0]);
        for bad in [
            serde_json::json!([[1, 1], [2, 2]]),
            serde_json::json!([[1, 1], [2, 2], ["a", 3]]),
            serde_json::json!([[1, 1], [2, 2], [-3, 3]]),
            serde_json::json!("square"),
            serde_json::json!([[1, 1], [2, 2], [3]]),
        ] {
            let mut e = Errors::default();
            polygon(&mut e, "c", &bad);
            assert!(e.finish().is_err(), "{bad}");
        }
        assert_eq!(
            polygon_json(&[[1.0, 2.5]]),
            serde_json::json!([{"x": 1, "y": 2.5}])
        );
    }

    #[test]
    fn classes_and_durations() {
        let known: Vec<String> = ["person", "vehicle", "car"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let mut e = Errors::default();
        assert_eq!(classes(&mut e, "k", None, &known), vec!["person"]);
        assert_eq!(
            classes(
                &mut e,
                "k",
                Some(&["car".into(), "car".into(), "person".into()]),
                &known
            ),
            vec!["car", "person"]
        );
        assert_eq!(alert_duration(&mut e, "d", None), 5);
        assert!(e.finish().is_ok());
        let mut e = Errors::default();
        classes(&mut e, "k", Some(&["dragon".into()]), &known);
        assert!(e.finish().is_err());
        let mut e = Errors::default();
        alert_duration(&mut e, "d", Some(-1));
        assert!(e.finish().is_err());
    }
}
