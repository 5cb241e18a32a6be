//! Choosing a tracked vehicle's plate from the reads of several frames (issue "live plate
//! reading at the gate"): reads are normalised (`A–Z0–9`), the **modal length** is the
//! length with the largest summed confidence (ties: more reads, then longer), and each
//! character position of that length is a confidence-weighted vote (ties: the character of
//! the most confident read). This is the practice of Frigate's LPR post-processing and Plate
//! Recognizer's stream mode: one bad frame (a cut-off or misread character) is outvoted, and
//! a read of another length cannot corrupt positions.
//!
//! Confidence of the vote: the mean over positions of the winner's share of that position's
//! votes, times the mean confidence of the reads of modal length (0–1). `candidates` are the
//! other texts read, by summed confidence share.

use std::collections::BTreeMap;

use visionflow_models::alpr::normalize_plate;

/// One frame's read of a plate.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateRead {
    /// The text as read (normalised here).
    pub text: String,
    /// OCR confidence, 0–1.
    pub confidence: f32,
}

/// The voted plate of a track.
#[derive(Debug, Clone, PartialEq)]
pub struct Vote {
    /// The chosen text (normalised).
    pub text: String,
    /// 0–1 (see the module docs).
    pub confidence: f32,
    /// Other texts read, with their share of the summed confidence, best first (≤ 5).
    pub candidates: Vec<(String, f32)>,
    /// Reads that went into the vote (non-empty after normalising).
    pub reads: usize,
    /// Reads whose whole text equals the chosen one.
    pub agreeing: usize,
}

/// Votes over `reads`; `None` when none has any character.
pub fn vote(reads: &[PlateRead]) -> Option<Vote> {
    let reads: Vec<(String, f32)> = reads
        .iter()
        .map(|r| (normalize_plate(&r.text), r.confidence.clamp(0.0, 1.0)))
        .filter(|(t, _)| !t.is_empty())
        .collect();
    if reads.is_empty() {
        return None;
    }
    // Modal length: summed confidence, then count, then the longer.
    let mut by_len: BTreeMap<usize, (f32, usize)> = BTreeMap::new();
    for (t, c) in &reads {
        let e = by_len.entry(t.len()).or_default();
        e.0 += c;
        e.1 += 1;
    }
    let (&len, _) = by_len
        .iter()
        .max_by(|a, b| {
            (a.1.0)
                .total_cmp(&b.1.0)
                .then(a.1.1.cmp(&b.1.1))
                .then(a.0.cmp(b.0))
        })
        .expect("non-empty");
    let modal: Vec<&(String, f32)> = reads.iter().filter(|(t, _)| t.len() == len).collect();
    let mut text = String::with_capacity(len);
    let mut share_sum = 0.0f32;
    for pos in 0..len {
        // (score, best single confidence) per character.
        let mut scores: BTreeMap<char, (f32, f32)> = BTreeMap::new();
        let mut total = 0.0f32;
        for (t, c) in &modal {
            let ch = t.as_bytes()[pos] as char;
            let e = scores.entry(ch).or_default();
            e.0 += c;
            e.1 = e.1.max(*c);
            total += c;
        }
        let (&ch, &(score, _)) = scores
            .iter()
            .max_by(|a, b| (a.1.0).total_cmp(&b.1.0).then((a.1.1).total_cmp(&b.1.1)))
            .expect("a read at every position");
        text.push(ch);
        share_sum += if total > 0.0 {
            score / total
        } else {
            1.0 / modal.len() as f32
        };
    }
    let mean_conf = modal.iter().map(|(_, c)| c).sum::<f32>() / modal.len() as f32;
    let confidence = (share_sum / len as f32) * mean_conf;
    let total: f32 = reads.iter().map(|(_, c)| c).sum();
    let mut others: BTreeMap<&str, f32> = BTreeMap::new();
    for (t, c) in &reads {
        if *t != text {
            *others.entry(t.as_str()).or_default() += c;
        }
    }
    let mut candidates: Vec<(String, f32)> = others
        .into_iter()
        .map(|(t, c)| (t.to_owned(), if total > 0.0 { c / total } else { 0.0 }))
        .collect();
    candidates.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    candidates.truncate(5);
    let agreeing = reads.iter().filter(|(t, _)| *t == text).count();
    Some(Vote {
        text,
        confidence,
        candidates,
        reads: reads.len(),
        agreeing,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn r(text: &str, confidence: f32) -> PlateRead {
        PlateRead {
            text: text.into(),
            confidence,
        }
    }

    #[test]
    fn one_bad_frame_is_outvoted_per_character() {
        let v = vote(&[
            r("ABC-1234", 0.90),
            r("ABC1Z34", 0.95), // 2 read as Z once
            r("A8C1234", 0.60), // B read as 8 once
            r("BC1234", 0.95),  // a cut-off first character: another length, not in the vote
            r("abc 1234", 0.85),
        ])
        .expect("a vote");
        assert_eq!(v.text, "ABC1234");
        assert_eq!(v.reads, 5);
        assert_eq!(v.agreeing, 2);
        assert_eq!(v.candidates[0].0, "ABC1Z34");
        assert!(v.candidates.iter().any(|(t, _)| t == "A8C1234"));
        assert!(v.confidence > 0.7 && v.confidence < 0.9, "{}", v.confidence);
    }

    #[test]
    fn the_modal_length_wins_by_summed_confidence_not_by_the_best_single_read() {
        let v = vote(&[r("XY1234", 0.99), r("XY12345", 0.6), r("XY12345", 0.6)]).expect("vote");
        assert_eq!(v.text, "XY12345", "1.2 summed beats 0.99");
        assert_eq!(v.candidates.len(), 1);
        assert_eq!(v.candidates[0].0, "XY1234");
        assert!((v.candidates[0].1 - 0.99 / 2.19).abs() < 1e-5);
    }

    #[test]
    fn ties_go_to_the_most_confident_read() {
        // Position 2: 'C' (0.5 + 0.25) against '0' (0.75): equal scores, the single 0.75 read wins.
        let v = vote(&[r("ABC1", 0.5), r("ABC1", 0.25), r("AB01", 0.75)]).expect("vote");
        assert_eq!(v.text, "AB01");
        // Equal lengths summed equally: more reads, then the longer length.
        let v = vote(&[r("AB12", 0.5), r("AB123", 0.25), r("AB123", 0.25)]).expect("vote");
        assert_eq!(v.text, "AB123");
    }

    #[test]
    fn unanimous_reads_are_confident_and_empty_ones_are_ignored() {
        let v = vote(&[r("KLM 999", 0.8), r("KLM999", 0.8), r("--", 0.9)]).expect("vote");
        assert_eq!(v.text, "KLM999");
        assert_eq!((v.reads, v.agreeing), (2, 2));
        assert!((v.confidence - 0.8).abs() < 1e-6);
        assert!(v.candidates.is_empty());
        assert_eq!(vote(&[r("", 0.9), r("-", 0.5)]), None);
        assert_eq!(vote(&[]), None);
    }
}
