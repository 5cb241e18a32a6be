//! The machine's fp32 peak, measured: what "GFLOP/s, % of peak" in `visionflow bench` is
//! relative to. A fixed per-machine number was wrong as soon as the machine changed (2 Zen 4
//! cores reach ~237 GFLOP/s with one 512-bit FMA per cycle; 2 Sapphire Rapids cores, with
//! two, reach about twice that).

use std::time::Instant;

/// FMA iterations per thread per measurement (each is 12 independent 16-lane FMAs).
const ITERS: u64 = 8_000_000;

/// fp32 GFLOP/s of `threads` threads each running a register-only loop of independent
/// 16-lane FMAs (AVX-512; the 8-lane AVX2 FMA, or plain multiply-adds, where the CPU lacks
/// it), best of three runs. Takes ~0.1–0.3 s.
pub fn peak_gflops(threads: usize) -> f64 {
    let threads = threads.max(1);
    (0..3)
        .map(|_| {
            let t0 = Instant::now();
            let flop: f64 = std::thread::scope(|s| {
                let runs: Vec<_> = (0..threads).map(|_| s.spawn(fma_loop)).collect();
                runs.into_iter().map(|r| r.join().unwrap_or(0.0)).sum()
            });
            flop / t0.elapsed().as_secs_f64() / 1e9
        })
        .fold(0.0, f64::max)
}

/// Runs the loop on this thread; returns the FLOP it did.
fn fma_loop() -> f64 {
    #[cfg(target_arch = "x86_64")]
    if super::avx512() {
        // SAFETY: the CPU has AVX-512F (`avx512`).
        #[allow(unsafe_code)]
        return unsafe { fma_loop_avx512() };
    }
    let mut acc = [1.0f32; 24];
    for i in 0..ITERS / 8 {
        let m = std::hint::black_box(1.0 + i as f32 * 1e-9);
        for a in &mut acc {
            *a = *a * m + 1e-7;
        }
    }
    std::hint::black_box(acc);
    (ITERS / 8 * 24 * 2) as f64
}

/// 12 zmm accumulators, one FMA each per iteration: independent chains, so the FMA units
/// (not their 4-cycle latency) bound it. Named variables, not an array: LLVM kept an array
/// of vectors partly on the stack (a load and store per FMA).
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
fn fma_loop_avx512() -> f64 {
    use std::arch::x86_64::{_mm512_add_ps, _mm512_fmadd_ps, _mm512_reduce_add_ps, _mm512_set1_ps};
    let m = _mm512_set1_ps(std::hint::black_box(0.999_999));
    let c = _mm512_set1_ps(1e-7);
    let one = _mm512_set1_ps(std::hint::black_box(1.0));
    let (mut a0, mut a1, mut a2, mut a3, mut a4, mut a5) = (one, one, one, one, one, one);
    let (mut a6, mut a7, mut a8, mut a9, mut a10, mut a11) = (one, one, one, one, one, one);
    for _ in 0..ITERS {
        a0 = _mm512_fmadd_ps(a0, m, c);
        a1 = _mm512_fmadd_ps(a1, m, c);
        a2 = _mm512_fmadd_ps(a2, m, c);
        a3 = _mm512_fmadd_ps(a3, m, c);
        a4 = _mm512_fmadd_ps(a4, m, c);
        a5 = _mm512_fmadd_ps(a5, m, c);
        a6 = _mm512_fmadd_ps(a6, m, c);
        a7 = _mm512_fmadd_ps(a7, m, c);
        a8 = _mm512_fmadd_ps(a8, m, c);
        a9 = _mm512_fmadd_ps(a9, m, c);
        a10 = _mm512_fmadd_ps(a10, m, c);
        a11 = _mm512_fmadd_ps(a11, m, c);
    }
    let s = [a1, a2, a3, a4, a5, a6, a7, a8, a9, a10, a11]
        .into_iter()
        .fold(a0, |x, y| _mm512_add_ps(x, y));
    std::hint::black_box(_mm512_reduce_add_ps(s));
    (ITERS * 12 * 16 * 2) as f64
}
