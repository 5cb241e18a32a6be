//! Winograd F(2×2, 3×3) for stride-1 3×3 convolutions (Lavin & Gray, "Fast Algorithms for
//! Convolutional Neural Networks", CVPR 2016): each 2×2 output tile comes from a 4×4 input
//! tile `d` as `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`, so the channel sums become 16 matmuls
//! `U[ξ] [C_out, C_in] × V[ξ] [C_in, tiles]` with 16 multiplies per tile instead of 36:
//! 2.25× fewer FLOP, paid for with the input and output transforms (linear in the channel
//! counts, so it wins on wide layers) and rounding of order 1e-6 relative (unit-tested
//! against the direct convolution).
//!
//! Layout as [`crate::kernels`]: one image `[C, H, W]` f32; the filter transform
//! `U [16, C_out, C_in]` is computed once at load. Tiles are processed in bands of tile
//! rows per thread (`V`, `M` in per-thread buffers reused across calls), bias, activation
//! and residual applied while writing each band's outputs.
//!
//! Off by default ([`crate::kernels::set_winograd`]): with these scalar transforms it is
//! slower than the direct path on this CPU (`visionflow bench` prints both every run).

use std::cell::RefCell;

use crate::kernels::{Act, OutPtr, silu, split_rows};

#[allow(clippy::needless_range_loop)]
/// `U = G g Gᵀ` of every (output, input) channel pair: `[16, C_out, C_in]` from `weight
/// [C_out, C_in, 3, 3]`.
pub fn transform_filters(weight: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
    let mut u = vec![0f32; 16 * c_out * c_in];
    for o in 0..c_out {
        for c in 0..c_in {
            let g = &weight[(o * c_in + c) * 9..(o * c_in + c) * 9 + 9];
            // G g: 4×3, G = [[1,0,0],[½,½,½],[½,−½,½],[0,0,1]].
            let mut gg = [[0f32; 3]; 4];
            for j in 0..3 {
                let (a, b, d) = (g[j], g[3 + j], g[6 + j]);
                gg[0][j] = a;
                gg[1][j] = 0.5 * (a + b + d);
                gg[2][j] = 0.5 * (a - b + d);
                gg[3][j] = d;
            }
            // (G g) Gᵀ: 4×4.
            for (i, row) in gg.iter().enumerate() {
                let (a, b, d) = (row[0], row[1], row[2]);
                let vals = [a, 0.5 * (a + b + d), 0.5 * (a - b + d), d];
                for (j, v) in vals.iter().enumerate() {
                    u[((i * 4 + j) * c_out + o) * c_in + c] = *v;
                }
            }
        }
    }
    u
}

thread_local! {
    /// Each thread's `V` and `M` band buffers.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}

/// Stride-1 3×3 convolution of one image with zero padding `pad` (0 or 1 in YOLO):
/// `x [C_in, h, w]`, filters transformed by [`transform_filters`], `bias [C_out]`,
/// activation, `residual` (`[C_out, ho, wo]`, added after the activation) → `out [C_out,
/// ho, wo]`.
///
/// # Panics
/// Slices shorter than the shapes say.
#[allow(clippy::too_many_arguments)]
pub fn conv3x3(
    x: &[f32],
    (c_in, h, w): (usize, usize, usize),
    u: &[f32],
    c_out: usize,
    pad: usize,
    bias: &[f32],
    act: Act,
    residual: Option<&[f32]>,
    out: &mut [f32],
) {
    let (ho, wo) = (h + 2 * pad - 2, w + 2 * pad - 2);
    let (th, tw) = (ho.div_ceil(2), wo.div_ceil(2));
    assert!(x.len() >= c_in * h * w && u.len() >= 16 * c_out * c_in);
    assert!(bias.len() == c_out && out.len() >= c_out * ho * wo);
    // Tile rows per band: V and M of a band near 1 MiB.
    let band = ((1usize << 18) / (16 * (c_in + c_out) * tw).max(1)).clamp(1, th);
    // Each thread owns tile rows [r0, r1), so output rows [2·r0, 2·r1).
    let out = OutPtr::new(out);
    split_rows(th, band, |r0, r1| {
        SCRATCH.with(|s| {
            let (v, m) = &mut *s.borrow_mut();
            let mut ty0 = r0;
            while ty0 < r1 {
                let ty1 = (ty0 + band).min(r1);
                let n = (ty1 - ty0) * tw;
                if v.len() < 16 * c_in * n {
                    v.resize(16 * c_in * n, 0.0);
                }
                if m.len() < 16 * c_out * n {
                    m.resize(16 * c_out * n, 0.0);
                }
                input_transform(x, (c_in, h, w), pad, (ty0, ty1, tw), n, v);
                for xi in 0..16 {
                    crate::kernels::sgemm_into(
                        (c_out, n, c_in),
                        &u[xi * c_out * c_in..(xi + 1) * c_out * c_in],
                        c_in,
                        &v[xi * c_in * n..(xi + 1) * c_in * n],
                        n,
                        &mut m[xi * c_out * n..(xi + 1) * c_out * n],
                        n,
                    );
                }
                output_transform(
                    m,
                    (c_out, ho, wo),
                    (ty0, ty1, tw),
                    n,
                    bias,
                    act,
                    residual,
                    out,
                );
                ty0 = ty1;
            }
        });
    });
}

#[allow(clippy::needless_range_loop)] // the transforms read clearest with indices
/// `V[ξ, c, tile] = (Bᵀ d B)[ξ]` for the tiles of tile rows `ty0..ty1`, `d` the 4×4 input
/// patch at `(2·ty − pad, 2·tx − pad)` (zeros outside the image).
fn input_transform(
    x: &[f32],
    (c_in, h, w): (usize, usize, usize),
    pad: usize,
    (ty0, ty1, tw): (usize, usize, usize),
    n: usize,
    v: &mut [f32],
) {
    for c in 0..c_in {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for ty in ty0..ty1 {
            for tx in 0..tw {
                let (y0, x0) = (
                    (2 * ty) as isize - pad as isize,
                    (2 * tx) as isize - pad as isize,
                );
                let mut d = [[0f32; 4]; 4];
                let inside = y0 >= 0 && x0 >= 0 && y0 + 4 <= h as isize && x0 + 4 <= w as isize;
                for (i, row) in d.iter_mut().enumerate() {
                    let yy = y0 + i as isize;
                    if !inside && (yy < 0 || yy >= h as isize) {
                        continue;
                    }
                    for (j, cell) in row.iter_mut().enumerate() {
                        let xx = x0 + j as isize;
                        if inside || (xx >= 0 && xx < w as isize) {
                            *cell = plane[yy as usize * w + xx as usize];
                        }
                    }
                }
                // Bᵀ d: Bᵀ = [[1,0,−1,0],[0,1,1,0],[0,−1,1,0],[0,1,0,−1]].
                let mut bd = [[0f32; 4]; 4];
                for j in 0..4 {
                    bd[0][j] = d[0][j] - d[2][j];
                    bd[1][j] = d[1][j] + d[2][j];
                    bd[2][j] = d[2][j] - d[1][j];
                    bd[3][j] = d[1][j] - d[3][j];
                }
                let t = (ty - ty0) * tw + tx;
                for (i, r) in bd.iter().enumerate() {
                    let vals = [r[0] - r[2], r[1] + r[2], r[2] - r[1], r[1] - r[3]];
                    for (j, val) in vals.iter().enumerate() {
                        v[((i * 4 + j) * c_in + c) * n + t] = *val;
                    }
                }
            }
        }
    }
}

#[allow(clippy::needless_range_loop)]
/// `Y = Aᵀ M A` (Aᵀ = [[1,1,1,0],[0,1,−1,−1]]) for each tile of the band, then bias,
/// activation and residual, written to the output rows the tiles cover.
#[allow(clippy::too_many_arguments)]
fn output_transform(
    m: &[f32],
    (c_out, ho, wo): (usize, usize, usize),
    (ty0, ty1, tw): (usize, usize, usize),
    n: usize,
    bias: &[f32],
    act: Act,
    residual: Option<&[f32]>,
    out: OutPtr,
) {
    let plane = ho * wo;
    for (o, &b) in bias.iter().enumerate().take(c_out) {
        for ty in ty0..ty1 {
            for tx in 0..tw {
                let t = (ty - ty0) * tw + tx;
                let mv = |xi: usize| m[(xi * c_out + o) * n + t];
                // Aᵀ M: 2×4.
                let mut am = [[0f32; 4]; 2];
                for j in 0..4 {
                    let (m0, m1, m2, m3) = (mv(j), mv(4 + j), mv(8 + j), mv(12 + j));
                    am[0][j] = m0 + m1 + m2;
                    am[1][j] = m1 - m2 - m3;
                }
                for (i, r) in am.iter().enumerate() {
                    let oy = 2 * ty + i;
                    if oy >= ho {
                        continue;
                    }
                    for (j, val) in [r[0] + r[1] + r[2], r[1] - r[2] - r[3]].iter().enumerate() {
                        let ox = 2 * tx + j;
                        if ox >= wo {
                            continue;
                        }
                        let at = o * plane + oy * wo + ox;
                        let mut y = val + b;
                        if act == Act::Silu {
                            y = silu(y);
                        }
                        if let Some(r) = residual {
                            y += r[at];
                        }
                        out.row(at, 1)[0] = y;
                    }
                }
            }
        }
    }
}
