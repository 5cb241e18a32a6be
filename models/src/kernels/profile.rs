//! Per-convolution timing (`VF_GRAPH_PROFILE` set): each [`FusedConv`] pass adds its
//! seconds and FLOP under its geometry; [`take`](profile::take) drains the table.

use std::{
    collections::BTreeMap,
    sync::{
        Mutex,
        atomic::{AtomicBool, Ordering},
    },
};

use super::ConvShape;

/// One geometry's totals.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Entry {
    /// Passes.
    pub calls: usize,
    /// Seconds.
    pub secs: f64,
    /// FLOP.
    pub flops: f64,
}

static TABLE: Mutex<BTreeMap<String, Entry>> = Mutex::new(BTreeMap::new());
static ON: AtomicBool = AtomicBool::new(false);

/// Whether passes are recorded: `VF_GRAPH_PROFILE` set, or [`set_enabled`].
pub fn enabled() -> bool {
    ON.load(Ordering::Relaxed) || std::env::var_os("VF_GRAPH_PROFILE").is_some()
}

/// Turns recording on or off for the whole process (the `bench` counts FLOP this way).
pub fn set_enabled(on: bool) {
    ON.store(on, Ordering::Relaxed);
}

/// Adds one pass (`tag`: the kernel, when not im2col + `gemm`: `direct` for the direct 3×3
/// kernel, `F2`/`F4` for Winograd F(m×m,3×3)).
pub fn record(s: &ConvShape, tag: Option<&str>, h: usize, w: usize, n: usize, secs: f64) {
    let key = format!(
        "conv {}x{} s{} {:>4}->{:<4} @{h}x{w}{}",
        s.k.0,
        s.k.1,
        s.stride,
        s.c_in,
        s.c_out,
        tag.map_or(String::new(), |t| format!(" {t}"))
    );
    if let Ok(mut t) = TABLE.lock() {
        let e = t.entry(key).or_default();
        e.calls += 1;
        e.secs += secs;
        e.flops += s.flops(h, w) * n as f64;
    }
}

/// Adds one timed pass of a named stage (not a convolution: no FLOP), when enabled.
pub fn stage<R>(name: &str, f: impl FnOnce() -> R) -> R {
    if !enabled() {
        return f();
    }
    let t0 = std::time::Instant::now();
    let r = f();
    add(name, t0.elapsed().as_secs_f64());
    r
}

/// Adds `secs` to a named stage, when enabled.
pub fn add(name: &str, secs: f64) {
    if !enabled() {
        return;
    }
    if let Ok(mut t) = TABLE.lock() {
        let e = t.entry(format!("stage {name}")).or_default();
        e.calls += 1;
        e.secs += secs;
    }
}

/// The table so far (emptied).
pub fn take() -> Vec<(String, Entry)> {
    TABLE
        .lock()
        .map(|mut t| std::mem::take(&mut *t).into_iter().collect())
        .unwrap_or_default()
}

/// The table so far (emptied) as text, slowest first, one line per geometry or stage:
/// calls, milliseconds and GFLOP/s per pass over `passes` passes.
pub fn report(passes: usize) -> String {
    let passes = passes.max(1);
    let mut table = take();
    table.sort_by(|a, b| b.1.secs.total_cmp(&a.1.secs));
    let mut out = String::new();
    for (name, e) in table {
        let gflops = if e.secs > 0.0 {
            e.flops / e.secs / 1e9
        } else {
            0.0
        };
        out.push_str(&format!(
            "{name:<44} {:>3} calls {:>7.2} ms/pass {gflops:>6.1} GFLOP/s\n",
            e.calls / passes,
            e.secs * 1e3 / passes as f64
        ));
    }
    out
}
