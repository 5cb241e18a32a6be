//! Counters and latency windows of a camera's analysis (telemetry of `Camera.stats`).

use std::{
    collections::VecDeque,
    sync::{
        Mutex,
        atomic::{AtomicU64, Ordering},
    },
};

/// Counters of a camera's analysis.
#[derive(Default)]
pub struct AnalysisStats {
    /// Frames analysed.
    pub analysed: AtomicU64,
    /// Ticks skipped because the previous job had not finished.
    pub skipped: AtomicU64,
    /// Jobs refused by a full inference queue.
    pub refused: AtomicU64,
    /// Analysis rate over the last seconds, frames/s (f64 bits).
    pub fps_bits: AtomicU64,
    /// Recent grab → result latencies, milliseconds (newest last, at most 512).
    pub latencies: Mutex<VecDeque<f64>>,
    /// Recent grab → alert-stored latencies, milliseconds.
    pub alert_latencies: Mutex<VecDeque<f64>>,
}

/// Pushes into a bounded window of recent values.
pub fn record(window: &Mutex<VecDeque<f64>>, v: f64) {
    if let Ok(mut w) = window.lock() {
        if w.len() >= 512 {
            w.pop_front();
        }
        w.push_back(v);
    }
}

/// The `q` quantile (0–1) of a window, nearest rank; `None` when empty.
pub fn quantile(window: &Mutex<VecDeque<f64>>, q: f64) -> Option<f64> {
    let mut v: Vec<f64> = window.lock().ok()?.iter().copied().collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(f64::total_cmp);
    let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
    Some(v[i])
}

impl AnalysisStats {
    /// Analysed frames per second recently.
    pub fn fps(&self) -> f64 {
        f64::from_bits(self.fps_bits.load(Ordering::Relaxed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_use_nearest_rank() {
        let w = Mutex::new(VecDeque::new());
        assert_eq!(quantile(&w, 0.5), None);
        for v in 1..=100 {
            record(&w, f64::from(v));
        }
        assert_eq!(quantile(&w, 0.5), Some(50.0));
        assert_eq!(quantile(&w, 0.99), Some(99.0));
    }
}
