//! The dense convolution: bands of output rows per thread, one `gemm` per band, the
//! epilogue fused ([`super`] has the design), and its Tensor-level entry points.

use std::{cell::RefCell, time::Instant};

use candle_core::{Result, Tensor};

use crate::winograd::Variant;

use super::{Act, OutPtr, epilogue, profile, sgemm, split_rows, threads, with_avx512, with_f32};

thread_local! {
    /// Each thread's im2col buffer, grown to the largest band it has unfolded and reused.
    static COLS: RefCell<Vec<f32>> = const { RefCell::new(Vec::new()) };
}

/// A convolution's geometry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ConvShape {
    /// Input channels.
    pub c_in: usize,
    /// Output channels.
    pub c_out: usize,
    /// Kernel height, width.
    pub k: (usize, usize),
    /// Stride (both axes).
    pub stride: usize,
    /// Zero padding (all sides).
    pub pad: usize,
}

impl ConvShape {
    /// Output height and width for an `h × w` input.
    pub fn out_hw(&self, h: usize, w: usize) -> (usize, usize) {
        (
            (h + 2 * self.pad - self.k.0) / self.stride + 1,
            (w + 2 * self.pad - self.k.1) / self.stride + 1,
        )
    }

    /// Multiply-adds ×2 of one image at `h × w`, FLOP.
    pub fn flops(&self, h: usize, w: usize) -> f64 {
        let (ho, wo) = self.out_hw(h, w);
        2.0 * (self.c_out * self.c_in * self.k.0 * self.k.1 * ho * wo) as f64
    }
}

/// Unfolds output rows `oy0..oy1` of input `x [C_in, h, w]` into `cols [C_in·kh·kw, ld]`
/// (row `r` holds its `rows·wo` values from `r·ld`; the rest of the row is not written).
#[inline(always)]
pub(super) fn im2col(
    x: &[f32],
    (h, w): (usize, usize),
    s: &ConvShape,
    oy0: usize,
    oy1: usize,
    cols: &mut [f32],
    ld: usize,
) {
    let (kh, kw) = s.k;
    let (_, wo) = s.out_hw(h, w);
    let plane = (oy1 - oy0) * wo;
    for (r, dst) in cols.chunks_mut(ld).enumerate().take(s.c_in * kh * kw) {
        let dst = &mut dst[..plane];
        let (ci, ky, kx) = (r / (kh * kw), (r / kw) % kh, r % kw);
        let src = &x[ci * h * w..(ci + 1) * h * w];
        for oy in oy0..oy1 {
            let row = &mut dst[(oy - oy0) * wo..(oy - oy0 + 1) * wo];
            let iy = (oy * s.stride + ky) as isize - s.pad as isize;
            if iy < 0 || iy >= h as isize {
                row.fill(0.0);
                continue;
            }
            let srow = &src[iy as usize * w..(iy as usize + 1) * w];
            if s.stride == 1 {
                // Valid output columns read srow[ox + kx - pad] contiguously.
                let lo = s.pad.saturating_sub(kx).min(wo);
                let hi = (w + s.pad).saturating_sub(kx).min(wo).max(lo);
                row[..lo].fill(0.0);
                row[hi..].fill(0.0);
                let start = lo + kx - s.pad;
                row[lo..hi].copy_from_slice(&srow[start..start + (hi - lo)]);
            } else {
                // Valid output columns are those with 0 ≤ ox·stride + kx − pad < w: a
                // strided copy between zero-filled ends, no test per element.
                let st = s.stride;
                let lo = s.pad.saturating_sub(kx).div_ceil(st).min(wo);
                let hi = (w + s.pad).saturating_sub(kx).div_ceil(st).min(wo).max(lo);
                row[..lo].fill(0.0);
                row[hi..].fill(0.0);
                let start = lo * st + kx - s.pad;
                let (dst, src) = (&mut row[lo..hi], &srow[start..]);
                if st == 2 {
                    // Every other value: pairs, so the copy vectorises (a shuffle per
                    // vector) instead of one bounds-checked load per value.
                    let pairs = (src.len() / 2).min(dst.len());
                    for (v, p) in dst.iter_mut().zip(src.chunks_exact(2)) {
                        *v = p[0];
                    }
                    if pairs < dst.len() {
                        dst[pairs] = src[2 * pairs];
                    }
                } else {
                    for (v, x) in dst.iter_mut().zip(src.iter().step_by(st)) {
                        *v = *x;
                    }
                }
            }
        }
    }
}

/// Output rows per band: the band's unfolded patches (or, for 1×1, its output) near 1 MiB,
/// so they stay in L2 between the unfold, the multiply and the epilogue.
fn band_rows(s: &ConvShape, wo: usize, ho: usize) -> usize {
    let per_row = (s.c_in * s.k.0 * s.k.1).max(s.c_out) * wo;
    ((1usize << 18) / per_row.max(1)).clamp(1, ho.max(1))
}

/// FLOP below which a convolution smaller than one band per thread runs on one thread:
/// starting and joining a thread costs tens of microseconds, about what one core does with
/// 4–8 MFLOP (the recogniser's 120→480 1×1 at 1×40, 4.6 MFLOP, took 0.11 ms split).
pub(super) const MIN_SPLIT_FLOPS: f64 = 8e6;

/// Convolves one image: `x [C_in, h, w]` → `out [C_out, ho, wo]`, with `bias [C_out]`, the
/// activation and `residual` (`[C_out, ho, wo]`, added after the activation, as in
/// Ultralytics' `Bottleneck`) fused into the pass over each band.
///
/// # Panics
/// Slices shorter than the shapes say.
#[allow(clippy::too_many_arguments)]
pub fn conv_image(
    x: &[f32],
    (h, w): (usize, usize),
    weight: &[f32],
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&[f32]>,
    out: &mut [f32],
) {
    conv_into(x, (h, w), weight, bias, s, act, residual, OutPtr::new(out));
}

/// [`conv_image`] into a buffer shared as an [`OutPtr`]: every output element is stored
/// (by `gemm`, which never reads it) before the epilogue reads it, so `out` may be a
/// fresh, unwritten buffer ([`super::written_by`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn conv_into(
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
    let k = s.c_in * s.k.0 * s.k.1;
    assert!(x.len() >= s.c_in * h * w && weight.len() >= s.c_out * k);
    assert!(bias.len() == s.c_out && out.len >= s.c_out * plane);
    assert!(residual.is_none_or(|r| r.len() >= s.c_out * plane));
    if super::direct::takes(s) {
        return super::direct::conv_direct(x, (h, w), weight, bias, s, act, residual, out);
    }
    let pointwise = s.k == (1, 1) && s.stride == 1 && s.pad == 0;
    let band = band_rows(s, wo, ho);
    // Output rows [r0, r1) of output channels [o0, o1), band by band.
    let work = |r0: usize, r1: usize, o0: usize, o1: usize| {
        let m = o1 - o0;
        let w_part = &weight[o0 * k..o1 * k];
        let at = o0 * plane;
        let mut oy0 = r0;
        COLS.with(|cols| {
            let mut cols = cols.borrow_mut();
            while oy0 < r1 {
                let oy1 = (oy0 + band).min(r1);
                let n = (oy1 - oy0) * wo;
                let p0 = oy0 * wo;
                if pointwise {
                    sgemm((m, n, k), w_part, k, &x[p0..], plane, out, at + p0, plane);
                } else {
                    if cols.len() < k * n {
                        cols.resize(k * n, 0.0);
                    }
                    with_avx512(|| im2col(x, (h, w), s, oy0, oy1, &mut cols[..k * n], n));
                    let c = &cols[..k * n];
                    sgemm((m, n, k), w_part, k, c, n, out, at + p0, plane);
                }
                let res = residual.map(|r| &r[at + p0..]);
                epilogue(out, at + p0, plane, n, &bias[o0..o1], act, res);
                oy0 = oy1;
            }
        });
    };
    if ho.div_ceil(band) < threads() && s.c_out >= 32 && s.flops(h, w) >= MIN_SPLIT_FLOPS {
        // A map smaller than one band per thread (the recogniser's 12×80, YOLO's 20×20):
        // each thread takes a contiguous range of output channels instead (and unfolds the
        // same patches). Below MIN_SPLIT_FLOPS one thread finishes before a second would
        // have started.
        split_rows(s.c_out, 16, |o0, o1| work(0, ho, o0, o1));
    } else {
        // Each thread owns output rows [r0, r1): a column range of every channel row.
        split_rows(ho, band, |r0, r1| work(r0, r1, 0, s.c_out));
    }
}

/// A dense convolution straight from its tensors (weights borrowed, not copied):
/// `x [N, C_in, H, W]`, `weight [C_out, C_in, kh, kw]`, `bias [C_out]`, symmetric zero
/// padding, equal strides.
///
/// # Errors
/// Shape errors.
pub fn conv2d(
    x: &Tensor,
    weight: &Tensor,
    bias: Option<&Tensor>,
    stride: usize,
    pad: usize,
    act: Act,
) -> Result<Tensor> {
    let (c_out, c_in, kh, kw) = weight.dims4()?;
    let s = ConvShape {
        c_in,
        c_out,
        k: (kh, kw),
        stride,
        pad,
    };
    with_f32(weight, |w| match bias {
        Some(b) => with_f32(b, |b| run(x, w, Kernel::Gemm, b, &s, act, None, true))?,
        None => run(x, w, Kernel::Gemm, &vec![0f32; c_out], &s, act, None, true),
    })?
}

/// How a convolution runs: im2col + `gemm` ([`conv_into`], which hands ≤ 32 taps to the
/// small direct kernel), the direct 3×3 kernel with its packed weights
/// ([`super::direct3x3`]), or a Winograd variant with its filter transform.
#[derive(Clone, Copy)]
pub(super) enum Kernel<'a> {
    /// im2col + `gemm`.
    Gemm,
    /// [`super::direct3x3::conv3x3`] with weights from [`super::direct3x3::pack`].
    Direct3x3(&'a [f32]),
    /// F(m×m,3×3) with its transformed filters.
    Winograd(&'a Variant, &'a [f32]),
}

impl Kernel<'_> {
    /// The profile's tag for this path (none for `gemm`).
    pub(super) fn tag(&self) -> Option<&'static str> {
        match self {
            Kernel::Gemm => None,
            Kernel::Direct3x3(_) => Some("direct"),
            Kernel::Winograd(v, _) if v.m == 2 => Some("F2"),
            Kernel::Winograd(..) => Some("F4"),
        }
    }
}

/// One image through `kernel`; every path stores every element of `out` before reading it.
#[allow(clippy::too_many_arguments)]
pub(super) fn conv_one(
    x: &[f32],
    (h, w): (usize, usize),
    weight: &[f32],
    kernel: Kernel<'_>,
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&[f32]>,
    out: OutPtr,
) {
    match kernel {
        Kernel::Winograd(v, u) => v.conv3x3_into(
            x,
            (s.c_in, h, w),
            u,
            s.c_out,
            s.pad,
            bias,
            act,
            residual,
            out,
        ),
        Kernel::Direct3x3(packed) => {
            super::direct3x3::conv3x3(x, (h, w), packed, bias, s, act, residual, out);
        }
        Kernel::Gemm => conv_into(x, (h, w), weight, bias, s, act, residual, out),
    }
}

/// One image per [`conv_one`] over a batch, with the shape checks and (when `record`) the profile.
#[allow(clippy::too_many_arguments)]
pub(super) fn run(
    x: &Tensor,
    weight: &[f32],
    kernel: Kernel<'_>,
    bias: &[f32],
    s: &ConvShape,
    act: Act,
    residual: Option<&Tensor>,
    record: bool,
) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    if c != s.c_in {
        candle_core::bail!("conv expects {} input channels, got {c}", s.c_in);
    }
    if h + 2 * s.pad < s.k.0 || w + 2 * s.pad < s.k.1 {
        candle_core::bail!("conv input {h}x{w} is smaller than its kernel");
    }
    let (ho, wo) = s.out_hw(h, w);
    let per_out = s.c_out * ho * wo;
    if let Some(r) = residual
        && r.dims() != [n, s.c_out, ho, wo]
    {
        candle_core::bail!("residual {:?} does not match the output", r.dims());
    }
    let started = (record && profile::enabled()).then(Instant::now);
    let go = |xs: &[f32], rs: Option<&[f32]>| {
        let fill = |out: OutPtr| {
            for i in 0..n {
                let xi = &xs[i * c * h * w..(i + 1) * c * h * w];
                let ri = rs.map(|r| &r[i * per_out..(i + 1) * per_out]);
                let o = out.offset(i * per_out, per_out);
                conv_one(xi, (h, w), weight, kernel, bias, s, act, ri, o);
            }
        };
        // SAFETY: `conv_one` stores every element of an image's `per_out` outputs before
        // reading any (its documentation), and the `n` images cover the buffer.
        #[allow(unsafe_code)]
        unsafe {
            super::written_by(n * per_out, fill)
        }
    };
    let out = with_f32(x, |xs| match residual {
        Some(r) => with_f32(r, |rs| go(xs, Some(rs))),
        None => Ok(go(xs, None)),
    })??;
    if let Some(t0) = started {
        profile::record(s, kernel.tag(), h, w, n, t0.elapsed().as_secs_f64());
    }
    Tensor::from_vec(out, (n, s.c_out, ho, wo), x.device())
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;
    use crate::kernels::FusedConv;
    use crate::winograd::{F2, F4};

    /// The direct definition of a convolution, for checking.
    fn reference(
        x: &[f32],
        (h, w): (usize, usize),
        wt: &[f32],
        b: &[f32],
        s: &ConvShape,
    ) -> Vec<f32> {
        let (ho, wo) = s.out_hw(h, w);
        let (kh, kw) = s.k;
        let mut y = vec![0f32; s.c_out * ho * wo];
        for o in 0..s.c_out {
            for oy in 0..ho {
                for ox in 0..wo {
                    let mut acc = f64::from(b[o]);
                    for c in 0..s.c_in {
                        for ky in 0..kh {
                            for kx in 0..kw {
                                let iy = (oy * s.stride + ky) as isize - s.pad as isize;
                                let ix = (ox * s.stride + kx) as isize - s.pad as isize;
                                if iy >= 0 && ix >= 0 && (iy as usize) < h && (ix as usize) < w {
                                    acc += f64::from(wt[((o * s.c_in + c) * kh + ky) * kw + kx])
                                        * f64::from(x[(c * h + iy as usize) * w + ix as usize]);
                                }
                            }
                        }
                    }
                    y[(o * ho + oy) * wo + ox] = acc as f32;
                }
            }
        }
        y
    }

    fn data(n: usize, seed: u32) -> Vec<f32> {
        let mut s = seed;
        (0..n)
            .map(|_| {
                s = s.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                (s >> 8) as f32 / (1u32 << 24) as f32 - 0.5
            })
            .collect()
    }

    #[test]
    fn fused_conv_matches_the_definition_for_every_geometry_yolo_uses() -> Result<()> {
        let dev = Device::Cpu;
        for (c_in, c_out, k, stride, pad, h, w) in [
            (3, 16, 3, 2, 1, 37, 41),    // stem, odd sizes (direct: 27 taps)
            (3, 32, 3, 2, 1, 40, 70),    // people's stem: two channel blocks (direct)
            (16, 8, 1, 1, 0, 7, 33),     // 1×1, half a channel block, partial pixel block
            (2, 5, 3, 1, 1, 5, 17),      // 18 taps, 5 channels (direct, one thread)
            (8, 32, 3, 1, 1, 20, 24),    // 3×3 stride 1, direct (too few channels)
            (5, 7, 3, 2, 0, 15, 16),     // stride 2 without padding
            (32, 24, 1, 1, 0, 19, 23),   // pointwise
            (8, 8, 3, 2, 1, 64, 64),     // many bands
            (64, 80, 1, 1, 0, 5, 7),     // head
            (4, 6, 5, 1, 2, 9, 300),     // wide rows, k = 5
            (64, 64, 3, 1, 1, 13, 10),   // odd output height
            (80, 64, 3, 1, 0, 9, 12),    // no padding
            (64, 64, 3, 1, 1, 40, 40),   // Winograd candidates (the fastest path is kept)
            (48, 64, 3, 1, 1, 60, 64),   // Winograd candidates, wider
            (128, 128, 3, 1, 1, 15, 21), // Winograd candidates, narrow output
            (32, 64, 3, 2, 1, 40, 40),   // stride 2: direct 3×3 or gemm
        ] {
            let s = ConvShape {
                c_in,
                c_out,
                k: (k, k),
                stride,
                pad,
            };
            let xs = data(2 * c_in * h * w, 7);
            let wt = data(c_out * c_in * k * k, 11);
            let b = data(c_out, 13);
            let (ho, wo) = s.out_hw(h, w);
            let res = data(2 * c_out * ho * wo, 17);
            let x = Tensor::from_vec(xs.clone(), (2, c_in, h, w), &dev)?;
            let wt_t = Tensor::from_vec(wt.clone(), (c_out, c_in, k, k), &dev)?;
            let b_t = Tensor::from_vec(b.clone(), c_out, &dev)?;
            let r_t = Tensor::from_vec(res.clone(), (2, c_out, ho, wo), &dev)?;
            let hardswish = Act::HardSwish {
                scale: 0.7,
                shift: -0.1,
            };
            for act in [Act::Linear, Act::Silu, Act::Relu, Act::Sigmoid, hardswish] {
                let conv = FusedConv::new(&wt_t, Some(&b_t), stride, pad, act)?;
                let mut worst = 0f32;
                let y = conv.forward(&x, Some(&r_t))?;
                assert_eq!(y.dims(), [2, c_out, ho, wo]);
                let y = y.flatten_all()?.to_vec1::<f32>()?;
                let per_in = c_in * h * w;
                let per_out = c_out * ho * wo;
                for i in 0..2 {
                    let want = reference(&xs[i * per_in..(i + 1) * per_in], (h, w), &wt, &b, &s);
                    for (j, (got, z)) in y[i * per_out..(i + 1) * per_out]
                        .iter()
                        .zip(&want)
                        .enumerate()
                    {
                        let a = match act {
                            Act::Linear => *z,
                            Act::Silu => z / (1.0 + (-z).exp()),
                            Act::Relu => z.max(0.0),
                            Act::Sigmoid => 1.0 / (1.0 + (-z).exp()),
                            Act::HardSwish { scale, shift } => {
                                scale * (z * (z + 3.0).clamp(0.0, 6.0) / 6.0) + shift
                            }
                        } + res[i * per_out + j];
                        worst = worst.max((got - a).abs());
                        // Relative beyond 1: the timing may pick F(4×4,3×3), whose rounding
                        // grows with the sums (128 channels: 1.2e-4 on a value of 4.8).
                        assert!(
                            (got - a).abs() < 1e-4 * (1.0 + a.abs()),
                            "{s:?} {act:?} [{i}, {j}]: {got} vs {a}"
                        );
                    }
                }
                let path = conv.chosen_path(h, w);
                eprintln!("{s:?} {act:?} {path:?}: max abs difference {worst:e}");
            }
        }
        Ok(())
    }

    #[test]
    fn direct_3x3_kernel_matches_the_definition() {
        if !crate::kernels::avx512() {
            eprintln!("no AVX-512: the direct 3×3 kernel is not used here");
            return;
        }
        for (c_in, c_out, stride, h, w) in [
            (4, 8, 1, 5, 7),      // 36 taps, one short vector per row
            (3, 16, 2, 37, 41),   // the stem, odd sizes
            (16, 13, 1, 9, 33),   // partial channel block, 33 px: 3 vectors, 1 lane in the last
            (16, 24, 1, 20, 20),  // 20 px: two vectors
            (8, 16, 1, 3, 97),    // 97 px: 3 + 3 vectors, the last block partial
            (32, 8, 2, 17, 41),   // stride 2, odd input: 21 px
            (16, 32, 2, 40, 96),  // stride 2, 48 px: one full block
            (24, 40, 2, 2, 2),    // stride 2, 1×1 output
            (64, 64, 2, 30, 130), // stride 2, wide
        ] {
            let s = ConvShape {
                c_in,
                c_out,
                k: (3, 3),
                stride,
                pad: 1,
            };
            let xs = data(c_in * h * w, 7);
            let wt = data(c_out * c_in * 9, 11);
            let b = data(c_out, 13);
            let (ho, wo) = s.out_hw(h, w);
            let res = data(c_out * ho * wo, 17);
            let want = reference(&xs, (h, w), &wt, &b, &s);
            let packed = crate::kernels::direct3x3::pack(&wt, c_out, c_in);
            let mut y = vec![f32::NAN; c_out * ho * wo];
            crate::kernels::direct3x3::conv3x3_image(
                &xs,
                (h, w),
                &packed,
                &b,
                &s,
                Act::Silu,
                Some(&res),
                &mut y,
            );
            for (j, (got, z)) in y.iter().zip(&want).enumerate() {
                let a = z / (1.0 + (-z).exp()) + res[j];
                assert!((got - a).abs() < 1e-4, "{s:?} [{j}]: {got} vs {a}");
            }
        }
    }

    #[test]
    fn both_winograd_variants_match_the_definition() {
        for (c_in, c_out, pad, h, w) in [
            (16, 24, 1, 20, 40), // few channels, wide
            (32, 48, 1, 11, 37), // partial tiles on both axes
            (64, 96, 1, 8, 9),   // odd output width
            (64, 64, 0, 14, 40), // no padding
            (24, 16, 0, 4, 3),   // one partial tile
        ] {
            let s = ConvShape {
                c_in,
                c_out,
                k: (3, 3),
                stride: 1,
                pad,
            };
            let xs = data(c_in * h * w, 7);
            let wt = data(c_out * c_in * 9, 11);
            let b = data(c_out, 13);
            let (ho, wo) = s.out_hw(h, w);
            let res = data(c_out * ho * wo, 17);
            let want = reference(&xs, (h, w), &wt, &b, &s);
            for v in [&F2, &F4] {
                let u = v.transform_filters(&wt, c_out, c_in);
                let mut y = vec![f32::NAN; c_out * ho * wo];
                v.conv3x3(
                    &xs,
                    (c_in, h, w),
                    &u,
                    c_out,
                    pad,
                    &b,
                    Act::Silu,
                    Some(&res),
                    &mut y,
                );
                let mut worst = 0f32;
                for (j, (got, z)) in y.iter().zip(&want).enumerate() {
                    let a = z / (1.0 + (-z).exp()) + res[j];
                    worst = worst.max((got - a).abs());
                }
                eprintln!("{s:?} F{}: max abs difference {worst:e}", v.m);
                assert!(worst < 1e-4, "{s:?} F{}: {worst}", v.m);
            }
        }
    }
}
