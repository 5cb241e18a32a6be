//! Winograd F(m×m, 3×3) for stride-1 3×3 convolutions (Lavin & Gray, "Fast Algorithms for
//! Convolutional Neural Networks", CVPR 2016): each m×m output tile comes from an α×α input
//! tile `d` (α = m + 2) as `Y = Aᵀ [(G g Gᵀ) ⊙ (Bᵀ d B)] A`, so the channel sums become α²
//! matmuls `U[ξ] [C_out, C_in] × V[ξ] [C_in, tiles]`: α² multiplies per tile instead of
//! 9·m², i.e. 2.25× fewer FLOP for F(2×2,3×3) and 4× fewer for F(4×4,3×3), paid for with
//! the input and output transforms (linear in the channel counts) and rounding that grows
//! with m (the matrices' points 0, ±1, ±2, ∞; unit-tested against the direct convolution,
//! and the models' outputs are checked against the direct path by `visionflow bench`).
//!
//! Layout as [`crate::kernels`]: one image `[C, H, W]` f32; the filter transform
//! `U [α², C_out, C_in]` is computed once at load. Tiles are processed in bands of tile
//! rows per thread (`V`, `M` in per-thread buffers reused across calls); both transforms
//! run over whole rows of tiles (strips), so their loops vectorise, and bias, activation
//! and residual are applied while the band's output rows are written.

use std::cell::RefCell;

use crate::kernels::{Act, OutPtr, split_rows, with_avx512};

/// One Winograd algorithm: output tile `m`, input tile `α = m + 2`, and its matrices
/// (row-major): `Bᵀ [α, α]`, `G [α, 3]`, `Aᵀ [m, α]`.
#[derive(Debug)]
pub struct Variant {
    /// Output tile side.
    pub m: usize,
    /// Input tile side, `m + 2`.
    pub alpha: usize,
    g: &'static [f32],
}

/// F(2×2, 3×3): 16 multiplies per 4 outputs (Lavin & Gray, section 4.1).
pub static F2: Variant = Variant {
    m: 2,
    alpha: 4,
    g: &[
        1.0, 0.0, 0.0, //
        0.5, 0.5, 0.5, //
        0.5, -0.5, 0.5, //
        0.0, 0.0, 1.0,
    ],
};

/// F(4×4, 3×3): 36 multiplies per 16 outputs (Lavin & Gray, section 4.2; points 0, ±1,
/// ±2, ∞).
pub static F4: Variant = Variant {
    m: 4,
    alpha: 6,
    g: &[
        1.0 / 4.0,
        0.0,
        0.0, //
        -1.0 / 6.0,
        -1.0 / 6.0,
        -1.0 / 6.0, //
        -1.0 / 6.0,
        1.0 / 6.0,
        -1.0 / 6.0, //
        1.0 / 24.0,
        1.0 / 12.0,
        1.0 / 6.0, //
        1.0 / 24.0,
        -1.0 / 12.0,
        1.0 / 6.0, //
        0.0,
        0.0,
        1.0,
    ],
};

impl Variant {
    /// `U = G g Gᵀ` of every (output, input) channel pair: `[α², C_out, C_in]` from `weight
    /// [C_out, C_in, 3, 3]`.
    pub fn transform_filters(&self, weight: &[f32], c_out: usize, c_in: usize) -> Vec<f32> {
        let a = self.alpha;
        let mut u = vec![0f32; a * a * c_out * c_in];
        let mut gg = vec![0f64; a * 3];
        for o in 0..c_out {
            for c in 0..c_in {
                let k = &weight[(o * c_in + c) * 9..(o * c_in + c) * 9 + 9];
                // G g: α×3 (in f64, so the transform adds no rounding of its own).
                for i in 0..a {
                    for j in 0..3 {
                        gg[i * 3 + j] = (0..3)
                            .map(|t| f64::from(self.g[i * 3 + t]) * f64::from(k[t * 3 + j]))
                            .sum();
                    }
                }
                // (G g) Gᵀ: α×α.
                for i in 0..a {
                    for j in 0..a {
                        let v: f64 = (0..3)
                            .map(|t| gg[i * 3 + t] * f64::from(self.g[j * 3 + t]))
                            .sum();
                        u[((i * a + j) * c_out + o) * c_in + c] = v as f32;
                    }
                }
            }
        }
        u
    }

    /// Stride-1 3×3 convolution of one image with zero padding `pad` (0 or 1 in YOLO):
    /// `x [C_in, h, w]`, filters transformed by [`Variant::transform_filters`], `bias
    /// [C_out]`, activation, `residual` (`[C_out, ho, wo]`, added after the activation) →
    /// `out [C_out, ho, wo]`.
    ///
    /// # Panics
    /// Slices shorter than the shapes say.
    #[allow(clippy::too_many_arguments)]
    pub fn conv3x3(
        &self,
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
        let out = OutPtr::new(out);
        self.conv3x3_into(x, (c_in, h, w), u, c_out, pad, bias, act, residual, out);
    }

    /// [`Variant::conv3x3`] into a buffer shared as an [`OutPtr`]: each output row is
    /// stored whole before the activation and residual read it, so `out` may be a fresh,
    /// unwritten buffer ([`crate::kernels::written_by`]).
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn conv3x3_into(
        &self,
        x: &[f32],
        (c_in, h, w): (usize, usize, usize),
        u: &[f32],
        c_out: usize,
        pad: usize,
        bias: &[f32],
        act: Act,
        residual: Option<&[f32]>,
        out: OutPtr,
    ) {
        let (m, a) = (self.m, self.alpha);
        let (ho, wo) = (h + 2 * pad - 2, w + 2 * pad - 2);
        let (th, tw) = (ho.div_ceil(m), wo.div_ceil(m));
        assert!(x.len() >= c_in * h * w && u.len() >= a * a * c_out * c_in);
        assert!(bias.len() == c_out && out.len() >= c_out * ho * wo);
        // Tile rows per band: V and M of a band near 1 MiB (measured best of 0.25–16 MiB).
        let band = ((1usize << 18) / (a * a * (c_in + c_out) * tw).max(1)).clamp(1, th);
        // Each thread owns tile rows [r0, r1), so output rows [m·r0, m·r1).
        split_rows(th, band, |r0, r1| {
            SCRATCH.with(|s| {
                let (v, mm) = &mut *s.borrow_mut();
                let mut ty0 = r0;
                while ty0 < r1 {
                    let ty1 = (ty0 + band).min(r1);
                    let n = (ty1 - ty0) * tw;
                    if v.len() < a * a * c_in * n {
                        v.resize(a * a * c_in * n, 0.0);
                    }
                    if mm.len() < a * a * c_out * n {
                        mm.resize(a * a * c_out * n, 0.0);
                    }
                    let band_tiles = (ty0, ty1, tw);
                    match m {
                        2 => with_avx512(|| {
                            input_transform::<T2, 2, 4>(x, (c_in, h, w), pad, band_tiles, n, v)
                        }),
                        _ => with_avx512(|| {
                            input_transform::<T4, 4, 6>(x, (c_in, h, w), pad, band_tiles, n, v)
                        }),
                    }
                    for xi in 0..a * a {
                        crate::kernels::sgemm_into(
                            (c_out, n, c_in),
                            &u[xi * c_out * c_in..(xi + 1) * c_out * c_in],
                            c_in,
                            &v[xi * c_in * n..(xi + 1) * c_in * n],
                            n,
                            &mut mm[xi * c_out * n..(xi + 1) * c_out * n],
                            n,
                        );
                    }
                    let dims = (c_out, ho, wo);
                    match m {
                        2 => with_avx512(|| {
                            output_transform::<T2, 2, 4>(
                                mm, dims, band_tiles, n, bias, act, residual, out,
                            )
                        }),
                        _ => with_avx512(|| {
                            output_transform::<T4, 4, 6>(
                                mm, dims, band_tiles, n, bias, act, residual, out,
                            )
                        }),
                    }
                    ty0 = ty1;
                }
            });
        });
    }
}

/// The transforms of one variant as straight-line code on one column of a tile, so a
/// loop over the tiles of a row vectorises (multiplies by the matrices' zeros are left
/// out, which the compiler may not do on its own).
trait Tile<const M: usize, const A: usize> {
    /// `Bᵀ d` of one column `d` (α values).
    fn bt(d: [f32; A]) -> [f32; A];
    /// `Aᵀ v` of one column `v` (α values → m).
    fn at(v: [f32; A]) -> [f32; M];
}

/// F(2×2, 3×3) ([`F2`]'s matrices).
struct T2;

impl Tile<2, 4> for T2 {
    #[inline(always)]
    fn bt(d: [f32; 4]) -> [f32; 4] {
        [d[0] - d[2], d[1] + d[2], d[2] - d[1], d[1] - d[3]]
    }
    #[inline(always)]
    fn at(v: [f32; 4]) -> [f32; 2] {
        [v[0] + v[1] + v[2], v[1] - v[2] - v[3]]
    }
}

/// F(4×4, 3×3) ([`F4`]'s matrices).
struct T4;

impl Tile<4, 6> for T4 {
    #[inline(always)]
    fn bt(d: [f32; 6]) -> [f32; 6] {
        let (a, b) = (d[4] - 4.0 * d[2], d[3] - 4.0 * d[1]);
        let (c, e) = (d[4] - d[2], 2.0 * (d[3] - d[1]));
        [
            4.0 * d[0] - 5.0 * d[2] + d[4],
            a + b,
            a - b,
            c + e,
            c - e,
            4.0 * d[1] - 5.0 * d[3] + d[5],
        ]
    }
    #[inline(always)]
    fn at(v: [f32; 6]) -> [f32; 4] {
        let (s1, d1) = (v[1] + v[2], v[1] - v[2]);
        let (s2, d2) = (v[3] + v[4], v[3] - v[4]);
        [
            v[0] + s1 + s2,
            d1 + 2.0 * d2,
            s1 + 4.0 * s2,
            d1 + 8.0 * d2 + v[5],
        ]
    }
}

/// `V[ξ, c, tile] = (Bᵀ d B)[ξ]` for the tiles of tile rows `ty0..ty1`, `d` the α×α input
/// patch at `(m·ty − pad, m·tx − pad)` (zeros outside the image).
///
/// Per channel and tile row, the α input rows are copied once into zero-padded strips;
/// `Bᵀ d` is one pass over the strips' columns, and `(Bᵀ d) B` one pass over the row's
/// tiles per row of `Bᵀ d`, each writing α contiguous runs of `V`.
#[inline(always)]
fn input_transform<T: Tile<M, A>, const M: usize, const A: usize>(
    x: &[f32],
    (c_in, h, w): (usize, usize, usize),
    pad: usize,
    (ty0, ty1, tw): (usize, usize, usize),
    n: usize,
    v: &mut [f32],
) {
    // Strip column `sx` is input column `sx − pad`; tiles reach strip column m·tw + 1.
    let sw = M * tw + 2;
    let mut rows = vec![0f32; A * sw];
    let mut e = vec![0f32; A * sw];
    let (lo, hi) = (pad, (w + pad).min(sw));
    for c in 0..c_in {
        let plane = &x[c * h * w..(c + 1) * h * w];
        for ty in ty0..ty1 {
            for (i, row) in rows.chunks_mut(sw).enumerate() {
                let yy = (M * ty + i) as isize - pad as isize;
                if yy < 0 || yy >= h as isize {
                    row.fill(0.0);
                    continue;
                }
                let src = &plane[yy as usize * w..(yy as usize + 1) * w];
                row[..lo].fill(0.0);
                row[lo..hi].copy_from_slice(&src[..hi - lo]);
                row[hi..].fill(0.0);
            }
            for k in 0..sw {
                let r = T::bt(std::array::from_fn(|i| rows[i * sw + k]));
                for (i, val) in r.iter().enumerate() {
                    e[i * sw + k] = *val;
                }
            }
            let t0 = (ty - ty0) * tw;
            for i in 0..A {
                let ei = &e[i * sw..(i + 1) * sw];
                let base = (i * A * c_in + c) * n + t0;
                let step = c_in * n;
                for tx in 0..tw {
                    let r = T::bt(std::array::from_fn(|k| ei[M * tx + k]));
                    for (j, val) in r.iter().enumerate() {
                        v[base + j * step + tx] = *val;
                    }
                }
            }
        }
    }
}

/// `Y = Aᵀ M A` for each tile of the band, then bias, activation and residual, written to
/// the output rows the tiles cover: per output channel and tile row, `Aᵀ M` is one pass
/// over the tiles per component, `(Aᵀ M) A` one pass per output row writing it with the
/// bias, and the activation and residual run over the whole row.
#[allow(clippy::too_many_arguments)]
#[inline(always)]
fn output_transform<T: Tile<M, A>, const M: usize, const A: usize>(
    mm: &[f32],
    (c_out, ho, wo): (usize, usize, usize),
    (ty0, ty1, tw): (usize, usize, usize),
    n: usize,
    bias: &[f32],
    act: Act,
    residual: Option<&[f32]>,
    out: OutPtr,
) {
    let plane = ho * wo;
    // am[(i·α + j)·tw + tx]: row i of Aᵀ M, component j, tile tx.
    let mut am = vec![0f32; M * A * tw];
    let full = wo / M;
    for (o, &b) in bias.iter().enumerate().take(c_out) {
        for ty in ty0..ty1 {
            let t0 = (ty - ty0) * tw;
            let step = c_out * n;
            for j in 0..A {
                let base = (j * c_out + o) * n + t0;
                for tx in 0..tw {
                    let r = T::at(std::array::from_fn(|k| mm[base + k * A * step + tx]));
                    for (i, val) in r.iter().enumerate() {
                        am[(i * A + j) * tw + tx] = *val;
                    }
                }
            }
            for i in 0..M {
                let oy = M * ty + i;
                if oy >= ho {
                    break;
                }
                let at = o * plane + oy * wo;
                let row = out.row_uninit(at, wo);
                let ai = &am[i * A * tw..(i + 1) * A * tw];
                for tx in 0..tw {
                    let y = T::at(std::array::from_fn(|j| ai[j * tw + tx]));
                    if tx < full {
                        for (jj, val) in y.iter().enumerate() {
                            row[M * tx + jj].write(val + b);
                        }
                    } else {
                        for (jj, val) in y.iter().enumerate().take(wo - M * tx) {
                            row[M * tx + jj].write(val + b);
                        }
                    }
                }
                // The tiles cover the row (tw·M ≥ wo): all of it is stored.
                let row = out.row(at, wo);
                act.apply(row, 0.0);
                if let Some(r) = residual {
                    let r = &r[o * plane + oy * wo..o * plane + (oy + 1) * wo];
                    row.iter_mut().zip(r).for_each(|(v, r)| *v += r);
                }
            }
        }
    }
}

thread_local! {
    /// Each thread's `V` and `M` band buffers.
    static SCRATCH: RefCell<(Vec<f32>, Vec<f32>)> = const { RefCell::new((Vec::new(), Vec::new())) };
}
