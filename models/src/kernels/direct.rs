//! Convolutions with a tiny reduction (`C_in·kh·kw ≤` [`MAX_TAPS`]: the stem's 3→16/32
//! 3×3 stride 2, 27 taps; 1×1 convolutions of ≤ 32 channels), where `gemm` spends its time
//! packing and storing rather than multiplying (the people model's stem ran at ~41
//! GFLOP/s, 4.3 ms of a 122 ms pass).
//!
//! Per output row: the row's patches are unfolded (im2col, `[taps, wp]`, each tap row
//! padded with zeros to `wp`, a multiple of [`LANES`]), and each block of [`LANES`] output
//! pixels × [`CO_BLOCK`] output channels is accumulated in 16 AVX-512 registers over all
//! taps (one vector load and 16 broadcast FMAs per tap), then stored once with its bias;
//! the activation and the residual follow over the row while it is in L1. Output rows are
//! split between the threads. Without AVX-512 the same blocks run as plain loops.

use std::cell::RefCell;

use super::{Act, ConvShape, OutPtr, conv::MIN_SPLIT_FLOPS, conv::im2col, split_rows};

/// Most taps (`C_in·kh·kw`) a convolution may have to take this path.
pub const MAX_TAPS: usize = 32;

/// Output pixels per register block (one AVX-512 vector).
const LANES: usize = 16;

/// Output channels per register block.
const CO_BLOCK: usize = 16;

thread_local! {
    /// Each thread's unfolded row and transposed weights, reused across calls.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Whether [`conv_direct`] takes a convolution of this shape.
pub fn takes(s: &ConvShape) -> bool {
    s.c_in * s.k.0 * s.k.1 <= MAX_TAPS && s.c_out >= 4
}

/// `x [C_in, h, w]` → `out [C_out, ho, wo]` with `weight [C_out, C_in·kh·kw]`, `bias
/// [C_out]`, the activation, then `residual` (`[C_out, ho, wo]`), as
/// [`super::conv_image`]; every output element is stored before it is read, so `out` may
/// be a fresh, unwritten buffer. Called by [`super::conv::conv_into`], which has checked
/// the slices' lengths.
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_direct(
    x: &[f32],
    (h, w): (usize, usize),
    weight: &[f32],
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&[f32]>,
    out: OutPtr,
) {
    let (ho, wo) = s.out_hw(h, w);
    let plane = ho * wo;
    let taps = s.c_in * s.k.0 * s.k.1;
    let co = s.c_out;
    let g = Geometry {
        wo,
        plane,
        wp: wo.next_multiple_of(LANES),
        taps,
        cop: co.next_multiple_of(CO_BLOCK),
    };
    // Below MIN_SPLIT_FLOPS one thread finishes before a second would have started.
    let band = if s.flops(h, w) < MIN_SPLIT_FLOPS {
        ho
    } else {
        1
    };
    split_rows(ho, band, |r0, r1| {
        SCRATCH.with(|scratch| {
            let (cols, wt) = &mut *scratch.borrow_mut();
            // Weights as [taps, C_out rounded up to CO_BLOCK], zeros past C_out.
            wt.clear();
            wt.resize(taps * g.cop, 0.0);
            for (o, wrow) in weight.chunks_exact(taps).take(co).enumerate() {
                for (t, &v) in wrow.iter().enumerate() {
                    wt[t * g.cop + o] = v;
                }
            }
            cols.resize(taps * g.wp, 0.0);
            // Columns wo..wp of every tap row: zeros (im2col writes only 0..wo).
            for r in cols.chunks_exact_mut(g.wp) {
                r[wo..].fill(0.0);
            }
            for oy in r0..r1 {
                super::with_avx512(|| im2col(x, (h, w), s, oy, oy + 1, cols, g.wp));
                rows_of_blocks(&g, cols, wt, bias, co, oy, out);
                for c in 0..co {
                    let at = c * plane + oy * wo;
                    // Stored whole by `rows_of_blocks`.
                    let dst = out.row(at, wo);
                    act.apply(dst, 0.0);
                    if let Some(r) = residual {
                        super::with_avx512(|| {
                            dst.iter_mut()
                                .zip(&r[at..at + wo])
                                .for_each(|(v, r)| *v += r);
                        });
                    }
                }
            }
        });
    });
}

/// Sizes of one call.
struct Geometry {
    /// Output row width.
    wo: usize,
    /// Output plane, `ho·wo`.
    plane: usize,
    /// Unfolded row stride: `wo` rounded up to [`LANES`].
    wp: usize,
    /// Taps, `C_in·kh·kw`.
    taps: usize,
    /// Transposed weight row stride: `C_out` rounded up to [`CO_BLOCK`].
    cop: usize,
}

/// Output row `oy` of every channel from its unfolded patches `cols [taps, wp]` and
/// `wt [taps, cop]`: stores `Σ_t wt[t, c]·cols[t, ox] + bias[c]` for every `c < co`,
/// `ox < wo`.
fn rows_of_blocks(
    g: &Geometry,
    cols: &[f32],
    wt: &[f32],
    bias: &[f32],
    co: usize,
    oy: usize,
    out: OutPtr,
) {
    assert!(cols.len() >= g.taps * g.wp && wt.len() >= g.taps * g.cop && bias.len() >= co);
    assert!(out.len() >= (co - 1) * g.plane + (oy + 1) * g.wo);
    #[cfg(target_arch = "x86_64")]
    if super::avx512() {
        // SAFETY: the CPU has AVX-512F (`avx512`); the asserts bound every
        // pointer `blocks_avx512` forms (see its comments).
        #[allow(unsafe_code)]
        unsafe {
            blocks_avx512(g, cols, wt, bias, co, oy, out);
        }
        return;
    }
    for c0 in (0..co).step_by(CO_BLOCK) {
        for ox in (0..g.wp).step_by(LANES) {
            let mut acc = [[0f32; LANES]; CO_BLOCK];
            for t in 0..g.taps {
                let xv = &cols[t * g.wp + ox..t * g.wp + ox + LANES];
                for (c, a) in acc.iter_mut().enumerate() {
                    let wc = wt[t * g.cop + c0 + c];
                    a.iter_mut().zip(xv).for_each(|(a, x)| *a += wc * x);
                }
            }
            let len = LANES.min(g.wo - ox);
            for (c, a) in acc.iter().enumerate().take(CO_BLOCK.min(co - c0)) {
                let dst = out.row_uninit((c0 + c) * g.plane + oy * g.wo + ox, len);
                for (v, a) in dst.iter_mut().zip(a) {
                    v.write(a + bias[c0 + c]);
                }
            }
        }
    }
}

/// [`rows_of_blocks`] with the 16 accumulators of a block in AVX-512 registers.
///
/// # Safety
/// The CPU has AVX-512F, and the slices and `out` hold what `rows_of_blocks` asserts.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn blocks_avx512(
    g: &Geometry,
    cols: &[f32],
    wt: &[f32],
    bias: &[f32],
    co: usize,
    oy: usize,
    out: OutPtr,
) {
    use std::arch::x86_64::{
        __m512, _mm512_add_ps, _mm512_fmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
        _mm512_set1_ps, _mm512_setzero_ps, _mm512_storeu_ps,
    };
    for c0 in (0..co).step_by(CO_BLOCK) {
        let cb = CO_BLOCK.min(co - c0);
        for ox in (0..g.wp).step_by(LANES) {
            let mut acc: [__m512; CO_BLOCK] = [_mm512_setzero_ps(); CO_BLOCK];
            for t in 0..g.taps {
                // SAFETY: t < taps and ox + LANES ≤ wp, so the 16 values read lie in
                // `cols [taps·wp]`; c0 + CO_BLOCK ≤ cop, so the 16 weights lie in
                // `wt [taps·cop]`.
                let xv = unsafe { _mm512_loadu_ps(cols.as_ptr().add(t * g.wp + ox)) };
                let wr = unsafe { wt.as_ptr().add(t * g.cop + c0) };
                for (c, a) in acc.iter_mut().enumerate() {
                    *a = _mm512_fmadd_ps(_mm512_set1_ps(unsafe { *wr.add(c) }), xv, *a);
                }
            }
            let len = LANES.min(g.wo - ox);
            let mask = if len == LANES {
                u16::MAX
            } else {
                (1u16 << len) - 1
            };
            for (c, a) in acc.iter().enumerate().take(cb) {
                let v = _mm512_add_ps(*a, _mm512_set1_ps(bias[c0 + c]));
                let dst = out.row_uninit((c0 + c) * g.plane + oy * g.wo + ox, len);
                // SAFETY: `dst` holds `len` values; the mask stores only those.
                unsafe {
                    let p = dst.as_mut_ptr().cast::<f32>();
                    if len == LANES {
                        _mm512_storeu_ps(p, v);
                    } else {
                        _mm512_mask_storeu_ps(p, mask, v);
                    }
                }
            }
        }
    }
}
