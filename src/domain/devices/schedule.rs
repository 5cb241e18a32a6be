//! Analysis schedules (devices-api-v1.zh-TW.txt "排程結構 (Schedule)"): a day is 48
//! half-hour slots (slot `n` covers `n × 30` to `n × 30 + 30` minutes) counted in the
//! device's `utcOffset`, one hour later with `daylightSaving`. `weeklySlots` (7 arrays,
//! Sunday first) replace `dailySlots` when not empty; the peak slots work the same way.

use chrono::{DateTime, Datelike as _, Duration, Timelike as _, Utc};
use serde_json::Value as Json;

use super::validate::parse_utc_offset;

/// The local time of `now` for a device: `utcOffset` plus an hour with `daylightSaving`.
pub fn local_time(schedule: &Json, utc_offset: &str, now: DateTime<Utc>) -> DateTime<Utc> {
    let mut minutes = i64::from(parse_utc_offset(utc_offset).unwrap_or(0));
    if schedule.get("daylightSaving").and_then(Json::as_bool) == Some(true) {
        minutes += 60;
    }
    now + Duration::minutes(minutes)
}

/// `(weekday from Sunday = 0, slot 0–47)` of a local time.
pub fn slot_of(local: DateTime<Utc>) -> (usize, i64) {
    let weekday = local.weekday().num_days_from_sunday() as usize;
    let slot = i64::from(local.hour() * 2 + local.minute() / 30);
    (weekday, slot)
}

fn slots_for(schedule: &Json, daily: &str, weekly: &str, weekday: usize) -> Vec<i64> {
    let from = |v: Option<&Json>| -> Vec<i64> {
        v.and_then(Json::as_array)
            .map(|a| a.iter().filter_map(Json::as_i64).collect())
            .unwrap_or_default()
    };
    match schedule.get(weekly).and_then(Json::as_array) {
        Some(days) if !days.is_empty() => from(days.get(weekday)),
        _ => from(schedule.get(daily)),
    }
}

/// Whether analysis should run at `now` (`schedule` not null).
pub fn active_at(schedule: &Json, utc_offset: &str, now: DateTime<Utc>) -> bool {
    let (weekday, slot) = slot_of(local_time(schedule, utc_offset, now));
    slots_for(schedule, "dailySlots", "weeklySlots", weekday).contains(&slot)
}

/// Whether the schedule names any peak slot (daily or weekly); without one a device's
/// alerts are never coalesced.
pub fn has_peaks(schedule: &Json) -> bool {
    let non_empty = |k: &str| {
        schedule
            .get(k)
            .and_then(Json::as_array)
            .is_some_and(|a| a.iter().any(|d| d.as_array().is_none_or(|x| !x.is_empty())))
    };
    non_empty("dailyPeakSlots") || non_empty("weeklyPeakSlots")
}

/// Whether `now` is in a peak slot (alerts go out at once; outside, they are coalesced).
pub fn peak_at(schedule: &Json, utc_offset: &str, now: DateTime<Utc>) -> bool {
    let (weekday, slot) = slot_of(local_time(schedule, utc_offset, now));
    slots_for(schedule, "dailyPeakSlots", "weeklyPeakSlots", weekday).contains(&slot)
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone as _;
    use serde_json::json;

    use super::*;

    fn at(h: u32, m: u32) -> DateTime<Utc> {
        // 2026-02-25 is a Wednesday.
        Utc.with_ymd_and_hms(2026, 2, 25, h, m, 0).unwrap()
    }

    #[test]
    fn the_documents_example_is_08_to_22_in_taipei() {
        let s = json!({"daylightSaving": false, "dailySlots": (16..=43).collect::<Vec<i64>>()});
        // 08:00 UTC+8 is 00:00 UTC; 22:00 UTC+8 is 14:00 UTC.
        assert!(!active_at(&s, "UTC+8", at(23, 59) - Duration::days(1)));
        assert!(active_at(&s, "UTC+8", at(0, 0)));
        assert!(active_at(&s, "UTC+8", at(13, 59)));
        assert!(!active_at(&s, "UTC+8", at(14, 0)));
        // UTC+5:30: slot 16 starts at 02:30 UTC.
        assert!(!active_at(&s, "UTC+5:30", at(2, 29)));
        assert!(active_at(&s, "UTC+5:30", at(2, 30)));
        assert!(!active_at(&s, "UTC+5:30", at(16, 30)));
        // Daylight saving moves the window an hour earlier in UTC.
        let dst = json!({"daylightSaving": true, "dailySlots": [16]});
        assert!(active_at(&dst, "UTC+8", at(23, 0) - Duration::days(1)));
        assert!(!active_at(&dst, "UTC+8", at(0, 0)));
    }

    #[test]
    fn weekly_slots_replace_daily_ones_and_peaks_follow_the_same_rules() {
        let mut week = vec![json!([]); 7];
        week[3] = json!([20]); // Wednesday 10:00–10:30 local
        let s = json!({"dailySlots": [0, 1, 2], "weeklySlots": week, "dailyPeakSlots": [20]});
        assert!(active_at(&s, "UTC+0", at(10, 15)));
        assert!(
            !active_at(&s, "UTC+0", at(0, 15)),
            "daily slots are replaced"
        );
        assert!(
            !active_at(&s, "UTC+0", at(10, 15) + Duration::days(1)),
            "Thursday"
        );
        assert!(peak_at(&s, "UTC+0", at(10, 0)));
        assert!(has_peaks(&s));
        assert!(!has_peaks(
            &json!({"dailySlots": [1], "dailyPeakSlots": []})
        ));
        assert!(!has_peaks(
            &json!({"dailySlots": [1], "weeklyPeakSlots": [[], [], [], [], [], [], []]})
        ));
        assert!(has_peaks(
            &json!({"dailySlots": [1], "weeklyPeakSlots": [[], [3], [], [], [], [], []]})
        ));
        assert!(!peak_at(&s, "UTC+0", at(10, 30)));
        let empty_week = json!({"dailySlots": [0], "weeklySlots": []});
        assert!(active_at(&empty_week, "UTC+0", at(0, 10)));
        assert_eq!(slot_of(at(23, 59)), (3, 47));
    }
}
