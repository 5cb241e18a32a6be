//! Validation of device input (devices-api-v1.zh-TW.txt "建立設備" request table and
//! "排程結構 (Schedule)"; errors are `VALIDATION_ERROR` naming the field). Everything is
//! checked before anything is stored.

use serde_json::{Map, Value as Json, json};

pub use crate::domain::validate::{Errors, name, optional_text};

/// Longest device name, characters.
pub const MAX_NAME: usize = 200;
/// Longest description, characters.
pub const MAX_DESCRIPTION: usize = 500;
/// Longest location label, characters.
pub const MAX_LOCATION: usize = 200;
/// Most tags per device (the document sets none; a bound keeps rows small).
pub const MAX_TAGS: usize = 32;
/// Longest tag, characters.
pub const MAX_TAG: usize = 64;
/// Longest RTSP user name, password or token, bytes.
pub const MAX_SECRET: usize = 1024;
/// Half-hour slots per day.
pub const SLOTS_PER_DAY: i64 = 48;

/// `type` values; the first is the default.
pub const TYPES: &[&str] = &["ip_camera", "rtsp_source", "usb_camera"];
/// `plan` values; the first is the default.
pub const PLANS: &[&str] = &["level_01", "level_02"];
/// `geoSource` values.
pub const GEO_SOURCES: &[&str] = &["manual", "address", "device", "ip"];
/// `status` values.
pub const STATUSES: &[&str] = &["active", "paused", "archived"];
/// `onlineStatus` values.
pub const ONLINE_STATUSES: &[&str] = &["online", "offline", "unknown"];

/// One of `allowed`.
pub fn one_of(errs: &mut Errors, field: &str, value: &str, allowed: &[&str]) -> String {
    if !allowed.contains(&value) {
        errs.add(field, format!("must be one of {}", allowed.join(", ")));
    }
    value.to_owned()
}

/// A WGS84 coordinate within `±limit` degrees.
pub fn degrees(errs: &mut Errors, field: &str, value: f64, limit: f64) -> f64 {
    if !value.is_finite() || value.abs() > limit {
        errs.add(field, format!("must be between -{limit} and {limit}"));
    }
    value
}

/// Tags: trimmed, 1–[`MAX_TAG`] characters, at most [`MAX_TAGS`], duplicates dropped.
pub fn tags(errs: &mut Errors, field: &str, values: &[String]) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    for t in values {
        let t = name(errs, field, t, MAX_TAG);
        if !out.contains(&t) {
            out.push(t);
        }
    }
    if out.len() > MAX_TAGS {
        errs.add(field, format!("must hold at most {MAX_TAGS} tags"));
    }
    out
}

/// A UTC offset `UTC+H`, `UTC-H` or `UTC+H:MM` (−12:00 … +14:00, minutes 00/15/30/45):
/// the normalised text and the offset in minutes east of UTC.
pub fn utc_offset(errs: &mut Errors, field: &str, value: &str) -> (String, i32) {
    match parse_utc_offset(value.trim()) {
        Some(minutes) => (format_utc_offset(minutes), minutes),
        None => {
            errs.add(
                field,
                "must be UTC+H, UTC-H or UTC+H:MM between UTC-12 and UTC+14 (e.g. UTC+8, UTC+5:30)",
            );
            (value.to_owned(), 0)
        }
    }
}

/// Minutes east of UTC of `UTC+H[:MM]` / `UTC-H[:MM]`; `None` when malformed or out of range.
pub fn parse_utc_offset(v: &str) -> Option<i32> {
    let rest = v.strip_prefix("UTC")?;
    let (sign, rest) = match rest.as_bytes().first()? {
        b'+' => (1, &rest[1..]),
        b'-' => (-1, &rest[1..]),
        _ => return None,
    };
    let (h, m) = match rest.split_once(':') {
        Some((h, m)) if m.len() == 2 => (h, m.parse::<i32>().ok()?),
        Some(_) => return None,
        None => (rest, 0),
    };
    if h.is_empty() || h.len() > 2 || !h.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let h: i32 = h.parse().ok()?;
    if ![0, 15, 30, 45].contains(&m) {
        return None;
    }
    let minutes = sign * (h * 60 + m);
    (-12 * 60..=14 * 60).contains(&minutes).then_some(minutes)
}

/// `UTC+8`, `UTC-5`, `UTC+5:30`, `UTC+0`.
pub fn format_utc_offset(minutes: i32) -> String {
    let sign = if minutes < 0 { '-' } else { '+' };
    let (h, m) = (minutes.abs() / 60, minutes.abs() % 60);
    if m == 0 {
        format!("UTC{sign}{h}")
    } else {
        format!("UTC{sign}{h}:{m:02}")
    }
}

fn slots(errs: &mut Errors, field: &str, v: &Json) -> Option<Vec<i64>> {
    let Some(items) = v.as_array() else {
        errs.add(field, "must be an array of slot indexes (0-47)");
        return None;
    };
    let mut out = Vec::with_capacity(items.len());
    for i in items {
        match i.as_i64() {
            Some(s) if (0..SLOTS_PER_DAY).contains(&s) => out.push(s),
            _ => {
                errs.add(field, "slot indexes must be integers from 0 to 47");
                return None;
            }
        }
    }
    out.sort_unstable();
    out.dedup();
    Some(out)
}

fn weekly(errs: &mut Errors, field: &str, v: &Json) -> Option<Vec<Vec<i64>>> {
    let Some(days) = v.as_array() else {
        errs.add(field, "must be an array of 7 arrays (Sunday to Saturday)");
        return None;
    };
    if days.is_empty() {
        return Some(Vec::new());
    }
    if days.len() != 7 {
        errs.add(field, "must hold 7 arrays, Sunday to Saturday");
        return None;
    }
    days.iter().map(|d| slots(errs, field, d)).collect()
}

/// The `schedule` object, normalised (slots sorted and unique, `daylightSaving` explicit):
/// `dailySlots` required (0–47, at most 48), `dailyPeakSlots` optional, `weeklySlots` and
/// `weeklyPeakSlots` optional (empty, or 7 arrays from Sunday). Unknown keys are refused.
pub fn schedule(errs: &mut Errors, field: &str, v: &Json) -> Json {
    let Some(obj) = v.as_object() else {
        errs.add(field, "must be an object or null");
        return Json::Null;
    };
    let known = [
        "daylightSaving",
        "dailySlots",
        "dailyPeakSlots",
        "weeklySlots",
        "weeklyPeakSlots",
    ];
    for k in obj.keys().filter(|k| !known.contains(&k.as_str())) {
        errs.add(format!("{field}.{k}"), "is not a schedule field");
    }
    let mut out = Map::new();
    match obj.get("daylightSaving") {
        None | Some(Json::Null) => {
            out.insert("daylightSaving".into(), json!(false));
        }
        Some(Json::Bool(b)) => {
            out.insert("daylightSaving".into(), json!(b));
        }
        Some(_) => errs.add(format!("{field}.daylightSaving"), "must be a boolean"),
    }
    match obj.get("dailySlots") {
        None | Some(Json::Null) => errs.add(format!("{field}.dailySlots"), "is required"),
        Some(d) => {
            if let Some(s) = slots(errs, &format!("{field}.dailySlots"), d) {
                out.insert("dailySlots".into(), json!(s));
            }
        }
    }
    if let Some(d) = obj.get("dailyPeakSlots").filter(|d| !d.is_null())
        && let Some(s) = slots(errs, &format!("{field}.dailyPeakSlots"), d)
    {
        out.insert("dailyPeakSlots".into(), json!(s));
    }
    for k in ["weeklySlots", "weeklyPeakSlots"] {
        if let Some(w) = obj.get(k).filter(|w| !w.is_null())
            && let Some(s) = weekly(errs, &format!("{field}.{k}"), w)
        {
            out.insert(k.into(), json!(s));
        }
    }
    Json::Object(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_offsets_as_the_document_writes_them() {
        for (v, m) in [
            ("UTC+8", 480),
            ("UTC-5", -300),
            ("UTC+5:30", 330),
            ("UTC+0", 0),
            ("UTC-0", 0),
            ("UTC+14", 840),
            ("UTC-12", -720),
            ("UTC+05:45", 345),
        ] {
            assert_eq!(parse_utc_offset(v), Some(m), "{v}");
        }
        for v in [
            "UTC", "UTC8", "UTC+15", "UTC-13", "UTC+5:20", "UTC+5:3", "GMT+8", "utc+8", "UTC+8:",
            "UTC+:30", "UTC+123", "UTC+ 8",
        ] {
            assert_eq!(parse_utc_offset(v), None, "{v}");
        }
        assert_eq!(format_utc_offset(330), "UTC+5:30");
        assert_eq!(format_utc_offset(-300), "UTC-5");
        assert_eq!(format_utc_offset(0), "UTC+0");
        let mut errs = Errors::default();
        assert_eq!(
            utc_offset(&mut errs, "utcOffset", " UTC+05:30 ").0,
            "UTC+5:30"
        );
        assert!(errs.finish().is_ok());
    }

    #[test]
    fn schedules_are_normalised_and_checked() {
        let mut errs = Errors::default();
        let s = schedule(
            &mut errs,
            "schedule",
            &json!({"dailySlots": [17, 16, 16], "weeklySlots": []}),
        );
        assert!(errs.finish().is_ok());
        assert_eq!(
            s,
            json!({"daylightSaving": false, "dailySlots": [16, 17], "weeklySlots": []})
        );
        let bad = [
            json!({"dailySlots": [48]}),
            json!({"dailySlots": [-1]}),
            json!({"dailySlots": [1.5]}),
            json!({}),
            json!({"dailySlots": [], "weeklySlots": [[1]]}),
            json!({"dailySlots": [], "daylightSaving": "yes"}),
            json!({"dailySlots": [], "hourly": []}),
            json!([1, 2]),
        ];
        for b in bad {
            let mut errs = Errors::default();
            schedule(&mut errs, "schedule", &b);
            assert!(errs.finish().is_err(), "{b}");
        }
    }
}
