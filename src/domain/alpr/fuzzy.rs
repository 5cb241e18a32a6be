//! Fuzzy allow/deny list matching (issue "live plate reading at the gate", item 4): after
//! normalising (`A–Z0–9`), a plate matches an entry exactly, or — when the entry allows it —
//! within a weighted edit distance of 1, where substituting one of OCR's common confusions
//! (O/0, I/1, B/8, S/5) costs half an edit and any other insertion, deletion or
//! substitution costs one (Levenshtein with weighted substitutions).

use visionflow_models::alpr::normalize_plate;

/// How a plate matched a list entry (stored with the plate).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchKind {
    /// The normalised texts are equal.
    Exact,
    /// Within the fuzzy distance.
    Fuzzy,
}

impl MatchKind {
    /// `exact` or `fuzzy`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Exact => "exact",
            Self::Fuzzy => "fuzzy",
        }
    }
}

/// Largest weighted distance a fuzzy match allows.
pub const MAX_DISTANCE: f32 = 1.0;

/// Whether `a` and `b` are one of OCR's common confusions.
pub fn confusable(a: char, b: char) -> bool {
    matches!(
        (a, b),
        ('O', '0')
            | ('0', 'O')
            | ('I', '1')
            | ('1', 'I')
            | ('B', '8')
            | ('8', 'B')
            | ('S', '5')
            | ('5', 'S')
    )
}

/// The weighted edit distance of two normalised texts.
pub fn distance(a: &str, b: &str) -> f32 {
    let a: Vec<char> = a.chars().collect();
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<f32> = (0..=b.len()).map(|j| j as f32).collect();
    let mut cur = vec![0.0f32; b.len() + 1];
    for i in 1..=a.len() {
        cur[0] = i as f32;
        for j in 1..=b.len() {
            let sub = if a[i - 1] == b[j - 1] {
                0.0
            } else if confusable(a[i - 1], b[j - 1]) {
                0.5
            } else {
                1.0
            };
            cur[j] = (prev[j - 1] + sub).min(prev[j] + 1.0).min(cur[j - 1] + 1.0);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// How `plate` matches `entry` (both as read or typed; normalised here): `Exact`, `Fuzzy`
/// when `fuzzy` is allowed and the distance is at most [`MAX_DISTANCE`], else `None`.
pub fn matches(plate: &str, entry: &str, fuzzy: bool) -> Option<MatchKind> {
    let (p, e) = (normalize_plate(plate), normalize_plate(entry));
    if p.is_empty() || e.is_empty() {
        return None;
    }
    if p == e {
        return Some(MatchKind::Exact);
    }
    (fuzzy && distance(&p, &e) <= MAX_DISTANCE).then_some(MatchKind::Fuzzy)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_after_normalising_whether_fuzzy_or_not() {
        assert_eq!(
            matches("abc-1234", "ABC 1234", false),
            Some(MatchKind::Exact)
        );
        assert_eq!(matches("abc-1234", "ABC1234", true), Some(MatchKind::Exact));
        assert_eq!(matches("", "", true), None);
    }

    #[test]
    fn a_near_miss_matches_only_when_enabled() {
        // One ordinary substitution, one insertion, one deletion: distance 1.
        for (plate, entry) in [
            ("ABC1235", "ABC1234"),
            ("ABC12345", "ABC1234"),
            ("BC1234", "ABC1234"),
        ] {
            assert_eq!(
                matches(plate, entry, true),
                Some(MatchKind::Fuzzy),
                "{plate}"
            );
            assert_eq!(matches(plate, entry, false), None, "{plate} without fuzzy");
        }
        // Two confusions cost one edit in all; two ordinary errors do not match.
        assert!((distance("A8C1O34", "ABC1034") - 1.0).abs() < 1e-6);
        assert_eq!(matches("A8C1O34", "ABC1034", true), Some(MatchKind::Fuzzy));
        assert_eq!(matches("XBC1239", "ABC1234", true), None);
        // A confusion plus an ordinary error is 1.5: no match.
        assert!((distance("A8C1235", "ABC1234") - 1.5).abs() < 1e-6);
        assert_eq!(matches("A8C1235", "ABC1234", true), None);
        assert_eq!(matches("A8C1235", "ABC1234", false), None);
    }

    #[test]
    fn distance_is_symmetric_and_zero_only_for_equal_texts() {
        for (a, b) in [("S5", "55"), ("KLM999", "KLM99"), ("", "AB")] {
            assert!((distance(a, b) - distance(b, a)).abs() < 1e-6);
        }
        assert_eq!(distance("AB12", "AB12"), 0.0);
        assert_eq!(distance("", "AB"), 2.0);
        assert_eq!(distance("S5", "55"), 0.5);
        assert!(confusable('O', '0') && !confusable('O', 'Q'));
    }
}
