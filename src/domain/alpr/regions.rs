//! Indonesian plate region codes ("B (Jakarta)", alpr-api.en.md `plateRegion`), as data:
//! `plate_regions.csv` beside this file (code, name, province). A plate's region is the
//! letter prefix of its normalised text, matched longest first (`AB` before `A`).

use std::sync::LazyLock;

/// One region code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Region {
    /// Code, 1–2 letters (`B`, `AB`).
    pub code: &'static str,
    /// Region name (`Jakarta`).
    pub name: &'static str,
    /// Province or category.
    pub province: &'static str,
}

impl Region {
    /// `"B (Jakarta)"`, the document's `plateRegion` string.
    pub fn label(&self) -> String {
        format!("{} ({})", self.code, self.name)
    }
}

static REGIONS: LazyLock<Vec<Region>> = LazyLock::new(|| {
    include_str!("plate_regions.csv")
        .lines()
        .skip(1)
        .filter_map(|line| {
            let mut it = line.splitn(3, ',');
            Some(Region {
                code: it.next()?,
                name: it.next()?,
                province: it.next()?,
            })
        })
        .collect()
});

/// Every known region, in table order.
pub fn all() -> &'static [Region] {
    &REGIONS
}

/// The region with this code (case-insensitive).
pub fn by_code(code: &str) -> Option<&'static Region> {
    REGIONS.iter().find(|r| r.code.eq_ignore_ascii_case(code))
}

/// The region of a normalised plate text: its leading letters (1–2, followed by a digit)
/// when they are a known code.
pub fn of_plate(text: &str) -> Option<&'static Region> {
    let letters: String = text.chars().take_while(char::is_ascii_alphabetic).collect();
    if letters.is_empty()
        || letters.len() > 2
        || !text[letters.len()..].starts_with(|c: char| c.is_ascii_digit())
    {
        return None;
    }
    by_code(&letters)
}

/// Plate type from the document's vocabulary, by background colour first (Indonesian
/// practice: white or black = private, yellow = public transport, red = government,
/// green = free-trade zone) and by prefix for diplomatic plates.
pub fn plate_type(text: &str, background: Option<&str>) -> &'static str {
    if text.starts_with("CD") || text.starts_with("CC") {
        return "Diplomatic";
    }
    match background {
        Some("Yellow") => "Commercial",
        Some("Red") => "Government",
        Some("Green") => "Special Zone",
        Some("White" | "Black") | None => "Regular",
        Some(_) => "Unknown",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_loads_and_prefixes_match_longest_code() {
        assert!(all().len() > 50);
        assert_eq!(
            of_plate("B1234XYZ").map(Region::label).as_deref(),
            Some("B (Jakarta)")
        );
        assert_eq!(of_plate("AB1234CD").map(|r| r.code), Some("AB"));
        assert_eq!(of_plate("AD799KB").map(|r| r.name), Some("Surakarta"));
        assert_eq!(of_plate("5AU5341"), None, "no letter prefix");
        assert_eq!(of_plate("XYZ123"), None, "three letters is not a code");
        assert_eq!(of_plate("Q123"), None, "unknown code");
        assert_eq!(by_code("d").map(|r| r.name), Some("Bandung"));
    }

    #[test]
    fn plate_types_follow_background_colour() {
        assert_eq!(plate_type("B1234XYZ", Some("White")), "Regular");
        assert_eq!(plate_type("B1234XYZ", Some("Yellow")), "Commercial");
        assert_eq!(plate_type("B1234XYZ", Some("Red")), "Government");
        assert_eq!(plate_type("CD1234", Some("White")), "Diplomatic");
    }
}
