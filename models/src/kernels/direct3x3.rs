//! Direct 3×3 convolution (padding 1, stride 1 or 2) without im2col: the stride-2
//! down-sampling convolutions of YOLO's backbone and the narrow 3×3 layers of its heads ran
//! at 100–145 GFLOP/s through im2col + `gemm` (the unfolded patches of a stride-1 layer are
//! 9× its input), against a measured peak of ~233 on Zen 4. ONNX Runtime (MLAS) runs such
//! layers as direct NCHWc kernels; here activations stay NCHW.
//!
//! Weights are packed once ([`pack`]) as `[⌈C_out/CB⌉, C_in, 3, 3, CB]` (zeros past
//! `C_out`), so the [`CB`] weights of one tap are adjacent. A block of `P·16` output pixels
//! (P ≤ 3 AVX-512 vectors) × [`CB`] output channels accumulates in `CB·P ≤ 24` registers
//! over all `C_in·9` taps: per tap, P input vectors are loaded and each of the [`CB`]
//! weights is broadcast into P FMAs; the sums are stored once, then bias, activation and
//! residual follow over the rows while they are in cache. Where the taps come from:
//! - rows of ≥ [`FLAT_BELOW`] output pixels, stride 1: straight from the input, one output
//!   row per block run, loads masked at the row's ends (the zero padding);
//! - such rows, stride 2 ([`deinterleave`]): the input rows split into even and odd columns
//!   once (two `vpermt2ps` per 32 values), a ring of three rows per thread shared by every
//!   channel block;
//! - narrower rows ([`flat`]): the zero-padded input (stride 2: its four phases) flattened,
//!   so blocks run across output rows instead of leaving lanes of a 20-pixel row empty.
//!
//! Output rows are split between the threads. [`super::FusedConv`] offers this kernel as
//! one candidate of its per-layer timing (the fastest path wins), measured per layer with
//! `examples/d3_probe.rs` (Zen 4, two threads: 64→64 stride 2 at 160×160 2.52 ms vs 2.91
//! through `gemm`; 128→256 stride 2 at 40×40 1.30 vs 1.32; 128→32 stride 1 at 40×40 0.85
//! vs 1.36; F(4×4,3×3) still wins the wide stride-1 layers, 64→64 at 160×160 6.1 vs 9.1).
//!
//! AVX-512 only: [`takes`] is false elsewhere, and the callers then use im2col + `gemm`.

use std::cell::RefCell;

use super::{Act, ConvShape, OutPtr, conv::MIN_SPLIT_FLOPS, epilogue, split_rows};

/// Output channels per register block.
pub const CB: usize = 8;

/// Output pixels per vector.
const LANES: usize = 16;

/// Whether [`conv3x3`] takes a convolution of this shape on this CPU: 3×3, padding 1,
/// stride 1 or 2, AVX-512. (The stems, 27 taps, are a candidate too: 3→16 at 640×640 took
/// 0.88–0.93 ms here against 1.08 ms through [`super::direct`], `examples/d3_probe.rs`.)
pub fn takes(s: &ConvShape) -> bool {
    s.k == (3, 3) && s.pad == 1 && matches!(s.stride, 1 | 2) && super::avx512()
}

/// `weight [C_out, C_in, 3, 3]` → `[⌈C_out/CB⌉, C_in, 3, 3, CB]`, zeros past `C_out`.
pub fn pack(weight: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    let blocks = c_out.div_ceil(CB);
    let mut p = vec![0f32; blocks * c_in * 9 * CB];
    for (o, w) in weight.chunks_exact(c_in * 9).take(c_out).enumerate() {
        let (b, c) = (o / CB, o % CB);
        for (t, &v) in w.iter().enumerate() {
            p[(b * c_in * 9 + t) * CB + c] = v;
        }
    }
    p
}

/// [`conv3x3`] into a slice (for probes and tests), with weights from [`pack`].
///
/// # Panics
/// As [`conv3x3`].
#[allow(clippy::too_many_arguments)]
pub fn conv3x3_image(
    x: &[f32],
    (h, w): (usize, usize),
    packed: &[f32],
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&[f32]>,
    out: &mut [f32],
) {
    conv3x3(x, (h, w), packed, bias, s, act, residual, OutPtr::new(out));
}

/// `x [C_in, h, w]` → `out [C_out, ho, wo]` with the packed weights ([`pack`]), `bias
/// [C_out]`, the activation, then `residual` (`[C_out, ho, wo]`), as
/// [`super::conv_image`]; every output element is stored before it is read, so `out` may
/// be a fresh, unwritten buffer.
///
/// # Panics
/// A shape [`takes`] refuses (AVX-512 missing included), or slices shorter than the shapes
/// say.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv3x3(
    x: &[f32],
    (h, w): (usize, usize),
    packed: &[f32],
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&[f32]>,
    out: OutPtr,
) {
    assert!(takes(s), "direct 3×3 kernel: {s:?} on this CPU");
    let (ho, wo) = s.out_hw(h, w);
    let plane = ho * wo;
    let blocks = s.c_out.div_ceil(CB);
    assert!(x.len() >= s.c_in * h * w && packed.len() >= blocks * s.c_in * 9 * CB);
    assert!(bias.len() == s.c_out && out.len() >= s.c_out * plane);
    assert!(residual.is_none_or(|r| r.len() >= s.c_out * plane));
    let band = if s.flops(h, w) < MIN_SPLIT_FLOPS {
        ho
    } else {
        1
    };
    if wo < FLAT_BELOW {
        return flat(x, (h, w), packed, bias, s, act, residual, out, band);
    }
    split_rows(ho, band, |r0, r1| {
        PANEL.with(|panel| {
            let panel = &mut *panel.borrow_mut();
            // Stride 2: input rows below this are in the panel already.
            let mut next_row = 0;
            for oy in r0..r1 {
                // Where tap (ci, ky, kx) of output pixel ox is read: src + ci·ci_stride +
                // ky_off[ky] + kx_off[kx] + ox.
                let taps = if s.stride == 1 {
                    let iy0 = oy as isize - 1;
                    Taps {
                        src: x.as_ptr().wrapping_offset(iy0 * w as isize),
                        ci_stride: h * w,
                        ky_off: [0, w, 2 * w],
                        kx_off: [-1, 0, 1],
                        masked_w: Some(w),
                    }
                } else {
                    // Rows 2·oy − 1 ..= 2·oy + 1; the first was the last of the previous
                    // output row, except at the start of a thread's range.
                    let first = (2 * oy)
                        .saturating_sub(1)
                        .max(if oy == r0 { 0 } else { next_row });
                    next_row = (2 * oy + 2).min(h);
                    let l = deinterleave(x, (h, w), s.c_in, first..next_row, wo, panel);
                    let slot = |ky: usize| ((2 * oy + ky + 2) % 3) * 2 * l;
                    Taps {
                        src: panel.as_ptr(),
                        ci_stride: 6 * l,
                        ky_off: [slot(0), slot(1), slot(2)],
                        kx_off: [l as isize, 1, l as isize + 1],
                        masked_w: None,
                    }
                };
                let iy0 = (oy * s.stride) as isize - 1;
                let ky = (
                    (-iy0).max(0) as usize,
                    (h as isize - iy0).clamp(0, 3) as usize,
                );
                for b in 0..blocks {
                    let (c0, cb, wb) = channel_block(packed, s, b);
                    // SAFETY: AVX-512F is present (`takes`); the asserts above bound
                    // `wb` and the stores into `out`, and `taps` addresses rows of `x` or
                    // of the panel (see `row_avx512`).
                    #[cfg(target_arch = "x86_64")]
                    #[allow(unsafe_code)]
                    unsafe {
                        let o = out.ptr.add(c0 * plane + oy * wo);
                        row_avx512(&taps, ky, s.c_in, wb, (o, plane, cb), wo);
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("`takes` is false without AVX-512");
                    let at = c0 * plane + oy * wo;
                    let res = residual.map(|r| &r[at..]);
                    epilogue(out, at, plane, wo, &bias[c0..c0 + cb], act, res);
                }
            }
        });
    });
}

/// Channel block `b`: its first output channel, how many of its [`CB`] channels exist, and
/// its packed weights (`[C_in, 3, 3, CB]`).
fn channel_block<'a>(packed: &'a [f32], s: &ConvShape, b: usize) -> (usize, usize, &'a [f32]) {
    let c0 = b * CB;
    let len = s.c_in * 9 * CB;
    (c0, CB.min(s.c_out - c0), &packed[b * len..(b + 1) * len])
}

/// Output widths below which a convolution runs on flattened planes ([`flat`]): a row of
/// 20 pixels fills 20 of a block's 32 lanes.
const FLAT_BELOW: usize = 64;

/// Narrow rows over flattened planes, so a block's vectors run across output rows (the
/// grid's extra column is computed and not stored, 1/21 to 2/22 of the work) instead of
/// leaving most lanes of a short row empty:
/// - stride 1: the input zero-padded, `[C_in, (h + 2)·(w + 2) + 64]`; output `q = oy·(w +
///   2) + ox` reads tap `(ky, kx)` at `q + ky·(w + 2) + kx`;
/// - stride 2: the zero-padded input `xp` split into its four phases, `[C_in, 4, (ho +
///   1)·(wo + 1) + 64]`, phase `(a, b)` holding `xp[2i + a, 2j + b]` at `i·(wo + 1) + j`;
///   output `q = oy·(wo + 1) + ox` reads tap `(ky, kx)` in phase `(ky mod 2, kx mod 2)` at
///   `q + (ky div 2)·(wo + 1) + kx div 2`.
///
/// The planes are prepared by all threads (split by channel), then each thread owns output
/// rows `r0..r1`; blocks are staged and their valid runs copied out.
#[allow(clippy::too_many_arguments)]
fn flat(
    x: &[f32],
    (h, w): (usize, usize),
    packed: &[f32],
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&[f32]>,
    out: OutPtr,
    band: usize,
) {
    let (ho, wo) = s.out_hw(h, w);
    let plane = ho * wo;
    // Grid width, phase size, phases per channel.
    let (gw, ps, phases) = if s.stride == 1 {
        (w + 2, (h + 2) * (w + 2) + 64, 1)
    } else {
        (wo + 1, (ho + 1) * (wo + 1) + 64, 4)
    };
    let cs = ps * phases;
    let (ky_off, kx_off) = if s.stride == 1 {
        ([0, gw, 2 * gw], [0, 1, 2])
    } else {
        ([0, 2 * ps, gw], [0, ps as isize, 1])
    };
    PANEL.with(|xp| {
        let xp = &mut *xp.borrow_mut();
        if xp.len() < s.c_in * cs {
            xp.resize(s.c_in * cs, 0.0);
        }
        let prep = OutPtr::new(&mut xp[..s.c_in * cs]);
        split_rows(s.c_in, 1, |c0, c1| {
            for ci in c0..c1 {
                // Channel ci's planes: this thread's own range of the buffer.
                let dst = prep.row(ci * cs, cs);
                let src = &x[ci * h * w..(ci + 1) * h * w];
                dst.fill(0.0);
                if s.stride == 1 {
                    for (d, r) in dst[gw + 1..].chunks_mut(gw).zip(src.chunks_exact(w)) {
                        d[..w].copy_from_slice(r);
                    }
                    continue;
                }
                // Phase (a, b) row i is padded row 2i + a, i.e. input row 2i + a − 1; its
                // column j is input column 2j + b − 1: odd columns shifted by one for b = 0,
                // even columns for b = 1.
                for a in 0..2 {
                    for i in 0..=ho {
                        let Some(iy) = (2 * i + a).checked_sub(1).filter(|&iy| iy < h) else {
                            continue;
                        };
                        let row = &src[iy * w..(iy + 1) * w];
                        let (p0, p1) = dst[2 * a * ps..].split_at_mut(ps);
                        let (odd, even) = (&mut p0[i * gw + 1..], &mut p1[i * gw..]);
                        // SAFETY: AVX-512F is present (`takes`); both hold ≥ ⌈w/2⌉ = wo
                        // values (`gw = wo + 1`).
                        #[cfg(target_arch = "x86_64")]
                        #[allow(unsafe_code)]
                        unsafe {
                            split_avx512(row, &mut even[..wo], &mut odd[..wo]);
                        }
                        #[cfg(not(target_arch = "x86_64"))]
                        unreachable!("`takes` is false without AVX-512");
                    }
                }
            }
        });
        let xp: &[f32] = xp;
        let blocks = s.c_out.div_ceil(CB);
        split_rows(ho, band, |r0, r1| {
            let taps = Taps {
                src: xp.as_ptr(),
                ci_stride: cs,
                ky_off,
                kx_off,
                masked_w: None,
            };
            let mut stage = [0f32; CB * 3 * LANES];
            for b in 0..blocks {
                let (c0, cb, wb) = channel_block(packed, s, b);
                let mut q = r0 * gw;
                while q < r1 * gw {
                    let n = (r1 * gw - q).min(3 * LANES);
                    // SAFETY: AVX-512F is present (`takes`); block q..q + 48 (q < ho·gw)
                    // reads at most offset q + 47 + gw + 2 (stride 1: + 2·gw + 2) inside its
                    // phase, below its size ps (the +64 tail); the stage holds CB rows of 48.
                    #[cfg(target_arch = "x86_64")]
                    #[allow(unsafe_code)]
                    unsafe {
                        let g = Row {
                            taps: &taps,
                            ky: (0, 3),
                            c_in: s.c_in,
                            wb: wb.as_ptr(),
                            cb,
                        };
                        let dst = (stage.as_mut_ptr(), 3 * LANES, n);
                        match n.div_ceil(LANES) {
                            3 => block::<3>(&g, q, dst),
                            2 => block::<2>(&g, q, dst),
                            _ => block::<1>(&g, q, dst),
                        }
                    }
                    #[cfg(not(target_arch = "x86_64"))]
                    unreachable!("`takes` is false without AVX-512");
                    // The valid runs (ox < wo) of q..q + n, row by row.
                    let (mut oy, mut ox, mut i) = (q / gw, q % gw, 0);
                    while i < n {
                        let run = (gw - ox).min(n - i);
                        let valid = wo.saturating_sub(ox).min(run);
                        for c in 0..cb {
                            let d = out.row_uninit((c0 + c) * plane + oy * wo + ox, valid);
                            let src = &stage[c * 3 * LANES + i..c * 3 * LANES + i + valid];
                            for (d, v) in d.iter_mut().zip(src) {
                                d.write(*v);
                            }
                        }
                        (oy, ox, i) = (oy + 1, 0, i + run);
                    }
                    q += n;
                }
                let at = c0 * plane + r0 * wo;
                let res = residual.map(|r| &r[at..]);
                epilogue(out, at, plane, (r1 - r0) * wo, &bias[c0..c0 + cb], act, res);
            }
        });
    });
}

thread_local! {
    /// Each thread's deinterleaved input rows (stride 2) or padded input (stride 1, narrow
    /// rows), reused across calls.
    static PANEL: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// For stride 2: input rows `rows` of every channel split into even and odd columns, so
/// each tap column is a contiguous load. `panel [C_in, 3, 2, l]` is a ring of three rows:
/// input row `iy` goes to slot `iy mod 3`, its row `(ci, slot, 0)` holding `x[2j]` at
/// `1 + j` and row `(ci, slot, 1)` holding `0` at 0 and `x[2j + 1]` at `1 + j` (zero where
/// `2j + 1 ≥ w`), for `j < wo`. Then `x[2·ox + kx − 1]` is at `(l, 1, l + 1)[kx] + ox` of
/// the pair. Output row `oy` reads rows `2·oy − 1 ..= 2·oy + 1`, of which the first was
/// the previous output row's last, so each input row is split once. Returns `l` (`wo +
/// 64`: a block's vectors never read past a row).
fn deinterleave(
    x: &[f32],
    (h, w): (usize, usize),
    c_in: usize,
    rows: std::ops::Range<usize>,
    wo: usize,
    panel: &mut Vec<f32>,
) -> usize {
    let l = wo + 64;
    if panel.len() < c_in * 6 * l {
        panel.resize(c_in * 6 * l, 0.0);
    }
    for ci in 0..c_in {
        for iy in rows.clone() {
            let at = (ci * h + iy) * w;
            let src = &x[at..at + w];
            let slot = ci * 3 + iy % 3;
            let pair = &mut panel[slot * 2 * l..(slot + 1) * 2 * l];
            let (even, odd) = pair.split_at_mut(l);
            odd[0] = 0.0;
            // SAFETY: AVX-512F is present (`takes`, checked by the caller); `even` and
            // `odd` hold l = wo + 64 > ⌈w/2⌉ + 1 values.
            #[cfg(target_arch = "x86_64")]
            #[allow(unsafe_code)]
            unsafe {
                split_avx512(src, &mut even[1..], &mut odd[1..]);
            }
            #[cfg(not(target_arch = "x86_64"))]
            unreachable!("`takes` is false without AVX-512");
        }
    }
    l
}

/// `even[j] = src[2j]`, `odd[j] = src[2j + 1]` (0 past the end) for `j < ⌈len/2⌉`: two
/// loads, two `vpermt2ps` and two stores per 32 values.
///
/// # Safety
/// AVX-512F is present; `even` and `odd` hold at least `⌈src.len()/2⌉` values.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn split_avx512(src: &[f32], even: &mut [f32], odd: &mut [f32]) {
    use std::arch::x86_64::{
        _mm512_loadu_ps, _mm512_permutex2var_ps, _mm512_setr_epi32, _mm512_storeu_ps,
    };
    let half = src.len().div_ceil(2);
    assert!(even.len() >= half && odd.len() >= half);
    let ie = _mm512_setr_epi32(0, 2, 4, 6, 8, 10, 12, 14, 16, 18, 20, 22, 24, 26, 28, 30);
    let io = _mm512_setr_epi32(1, 3, 5, 7, 9, 11, 13, 15, 17, 19, 21, 23, 25, 27, 29, 31);
    let mut j = 0;
    while 2 * j + 32 <= src.len() {
        // SAFETY: 2j + 32 ≤ len reads inside `src`; j + 16 ≤ len/2 ≤ half writes inside
        // `even` and `odd`.
        unsafe {
            let lo = _mm512_loadu_ps(src.as_ptr().add(2 * j));
            let hi = _mm512_loadu_ps(src.as_ptr().add(2 * j + 16));
            _mm512_storeu_ps(even.as_mut_ptr().add(j), _mm512_permutex2var_ps(lo, ie, hi));
            _mm512_storeu_ps(odd.as_mut_ptr().add(j), _mm512_permutex2var_ps(lo, io, hi));
        }
        j += 16;
    }
    for (k, p) in src[2 * j..].chunks(2).enumerate() {
        even[j + k] = p[0];
        odd[j + k] = p.get(1).copied().unwrap_or(0.0);
    }
}

/// Where the taps of one output row are read (see [`conv3x3`]).
struct Taps {
    src: *const f32,
    ci_stride: usize,
    ky_off: [usize; 3],
    kx_off: [isize; 3],
    /// Input row width when reads must be masked to `0..w` (stride 1, straight from the
    /// input); `None` for the panel, padded on both sides.
    masked_w: Option<usize>,
}

/// One output row of [`CB`] channels without bias: `out[c, ox] = Σ wb[ci, ky, kx, c]·
/// tap(ci, ky, kx, ox)` over `ky` in `ky.0..ky.1`, for `ox < wo`, `c < cb`; `out` is
/// `(first element, channel stride, cb)`.
///
/// # Safety
/// AVX-512F is present; every tap read of `taps` for `ox` below `wo` rounded up to 16
/// (masked to `0..w` when `masked_w`) lies in its buffer; `wb` holds `C_in·9·CB` values;
/// `out` holds `wo` values from `c·stride` for `c < cb`.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn row_avx512(
    taps: &Taps,
    ky: (usize, usize),
    c_in: usize,
    wb: &[f32],
    (out, plane, cb): (*mut f32, usize, usize),
    wo: usize,
) {
    let g = Row {
        taps,
        ky,
        c_in,
        wb: wb.as_ptr(),
        cb,
    };
    let mut ox = 0;
    // SAFETY (every call): as this function's contract, ox < wo: pixels ox..wo of the
    // output row.
    while wo.saturating_sub(ox) > 2 * LANES {
        unsafe { block::<3>(&g, ox, (out.add(ox), plane, wo - ox)) };
        ox += 3 * LANES;
    }
    if wo.saturating_sub(ox) > LANES {
        unsafe { block::<2>(&g, ox, (out.add(ox), plane, wo - ox)) };
    } else if ox < wo {
        unsafe { block::<1>(&g, ox, (out.add(ox), plane, wo - ox)) };
    }
}

/// What the block loops read: taps, the tap rows `ky.0..ky.1`, `C_in`, one block's packed
/// weights, and how many of its [`CB`] channels are stored.
#[cfg(target_arch = "x86_64")]
struct Row<'a> {
    taps: &'a Taps,
    ky: (usize, usize),
    c_in: usize,
    wb: *const f32,
    cb: usize,
}

/// Lanes `l` of a 16-value load from row index `start` with `0 ≤ start + l < w`.
#[inline(always)]
fn lanes(start: isize, w: usize) -> u16 {
    let lo = (-start).clamp(0, 16);
    let hi = (w as isize - start).clamp(0, 16);
    if hi <= lo {
        0
    } else {
        ((1u32 << hi) - (1u32 << lo)) as u16
    }
}

/// `P·16` output pixels from `ox0` of [`CB`] channels: lane `i < n` of channel `c < cb`
/// stored at `dst + c·stride + i` (the others computed, not stored).
///
/// # Safety
/// As [`row_avx512`] for the taps and weights; `dst` holds those `cb·n` lanes.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn block<const P: usize>(
    g: &Row<'_>,
    ox0: usize,
    (dst, stride, n): (*mut f32, usize, usize),
) {
    use std::arch::x86_64::{
        _mm512_fmadd_ps, _mm512_mask_storeu_ps, _mm512_maskz_loadu_ps, _mm512_set1_ps,
        _mm512_setzero_ps,
    };
    let t = g.taps;
    let mut acc = [[_mm512_setzero_ps(); P]; CB];
    // Load masks per vector and tap column.
    let mut m = [[u16::MAX; 3]; P];
    if let Some(w) = t.masked_w {
        for (p, mp) in m.iter_mut().enumerate() {
            for (kx, mk) in mp.iter_mut().enumerate() {
                *mk = lanes((ox0 + p * LANES) as isize + t.kx_off[kx], w);
            }
        }
    }
    for ci in 0..g.c_in {
        for ky in g.ky.0..g.ky.1 {
            let row = t.src.wrapping_add(ci * t.ci_stride + t.ky_off[ky]);
            // SAFETY: tap row (ci, ky) of the block: 3·CB weights inside `wb`.
            let wt = unsafe { g.wb.add((ci * 9 + ky * 3) * CB) };
            for (kx, &off) in t.kx_off.iter().enumerate() {
                let mut v = [_mm512_setzero_ps(); P];
                for (p, v) in v.iter_mut().enumerate() {
                    // Masked lanes are not read, so pointers past a row's ends (even
                    // before `x`'s first element) are only formed, never dereferenced.
                    let at = row.wrapping_offset((ox0 + p * LANES) as isize + off);
                    *v = unsafe { _mm512_maskz_loadu_ps(m[p][kx], at) };
                }
                let wk = unsafe { wt.add(kx * CB) };
                for (c, a) in acc.iter_mut().enumerate() {
                    let wv = _mm512_set1_ps(unsafe { *wk.add(c) });
                    for p in 0..P {
                        a[p] = _mm512_fmadd_ps(wv, v[p], a[p]);
                    }
                }
            }
        }
    }
    for (c, a) in acc.iter().enumerate().take(g.cb) {
        for (p, a) in a.iter().enumerate() {
            let i = p * LANES;
            if i >= n {
                break;
            }
            let k = LANES.min(n - i);
            let mask = if k == LANES {
                u16::MAX
            } else {
                (1u16 << k) - 1
            };
            // SAFETY: channel c < cb, lanes i..i + k < n of `dst` (the contract).
            unsafe { _mm512_mask_storeu_ps(dst.add(c * stride + i), mask, *a) };
        }
    }
}
