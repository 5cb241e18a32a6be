//! Convolution fast paths on top of candle's CPU kernels.
//!
//! candle's `conv2d` runs im2col + a matmul per group and copies layouts on every call:
//! a pointwise (1×1) convolution is a plain matmul, and a depthwise one (one filter per
//! channel) is a small stencil that grouped im2col makes hundreds of times more expensive.

use candle_core::{DType, Result, Tensor};

use crate::kernels::with_f32;

/// `conv2d` with the pointwise and depthwise fast paths; `x` `[N, C, H, W]`, `w`
/// `[C_out, C_in/groups, kh, kw]`, symmetric zero padding, equal strides.
///
/// # Errors
/// Shape errors.
pub fn conv2d(x: &Tensor, w: &Tensor, pad: usize, stride: usize, groups: usize) -> Result<Tensor> {
    let (c_out, c_in_g, kh, kw) = w.dims4()?;
    let (_, c, h, wd) = x.dims4()?;
    if groups > 1 && c_in_g == 1 && c_out == groups && groups == c {
        return depthwise(x, w, pad, stride, stride);
    }
    if groups == 1 && h + 2 * pad >= kh && wd + 2 * pad >= kw {
        return crate::kernels::conv2d(x, w, None, stride, pad, crate::kernels::Act::Linear);
    }
    x.conv2d(w, pad, stride, 1, groups)
}

/// Depthwise convolution (`groups == channels`, one k×k filter per channel), computed
/// directly: candle's grouped convolution runs one im2col + matmul per group, which for
/// hundreds of single-channel groups costs far more than the arithmetic.
///
/// `x` `[N, C, H, W]`, `w` `[C, 1, kh, kw]`, symmetric zero padding `pad`, strides `sh`, `sw`.
///
/// # Errors
/// Shape errors.
pub fn depthwise(x: &Tensor, w: &Tensor, pad: usize, sh: usize, sw: usize) -> Result<Tensor> {
    depthwise_fused(x, w, None, crate::kernels::Act::Linear, pad, (sh, sw))
}

/// [`depthwise`] with the per-channel `bias` (`[C]`) and the activation applied to each
/// output plane right after it is computed (Ultralytics `DWConv`), instead of another pass.
///
/// # Errors
/// Shape errors.
pub fn depthwise_fused(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&[f32]>,
    act: crate::kernels::Act,
    pad: usize,
    (sh, sw): (usize, usize),
) -> Result<Tensor> {
    let (n, c, h, wd) = x.dims4()?;
    if bias.is_some_and(|b| b.len() != c) {
        candle_core::bail!("depthwise bias has the wrong length");
    }
    let (_, _, kh, kw) = w.dims4()?;
    let oh = (h + 2 * pad - kh) / sh + 1;
    let ow = (wd + 2 * pad - kw) / sw + 1;
    let (ph, pw) = (h + 2 * pad, wd + 2 * pad);
    let ws = w.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let mut out = vec![0f32; n * c * oh * ow];
    let planes = n * c;
    let per = planes.div_ceil(crate::kernels::threads()).max(1);
    let dst_all = crate::kernels::OutPtr::new(&mut out);
    with_f32(x, |xs| {
        // Each thread owns planes [p0, p1): disjoint ranges of `out`.
        crate::kernels::split_rows(planes, per, |p0, p1| {
            // The plane is copied into a zero-bordered buffer once, and for a
            // horizontal stride s > 1 each padded row is split into its s phases
            // (columns j·s + p), so every kernel tap reads a contiguous run;
            // taps are summed in the same order as the scalar stencil, so results
            // are bit-identical to it.
            let mut padded = vec![0f32; ph * pw];
            let pws = pw.div_ceil(sw);
            let mut phased = vec![0f32; if sw > 1 { ph * sw * pws } else { 0 }];
            for plane in p0..p1 {
                let dst = dst_all.row(plane * oh * ow, oh * ow);
                let ch = plane % c;
                let src = &xs[plane * h * wd..(plane + 1) * h * wd];
                for (y, row) in src.chunks(wd).enumerate() {
                    let at = (y + pad) * pw + pad;
                    padded[at..at + wd].copy_from_slice(row);
                }
                if sw > 1 {
                    for (prow, out) in padded.chunks(pw).zip(phased.chunks_mut(sw * pws)) {
                        for (p, phase) in out.chunks_mut(pws).enumerate() {
                            for (d, v) in phase.iter_mut().zip(prow[p..].iter().step_by(sw)) {
                                *d = *v;
                            }
                        }
                    }
                }
                let rows: &[f32] = if sw > 1 { &phased } else { &padded };
                let k = &ws[ch * kh * kw..(ch + 1) * kh * kw];
                crate::kernels::with_avx512(|| {
                    stencil(rows, pws, k, (kh, kw), (sh, sw), ow, dst);
                });
                act.apply(dst, bias.map_or(0.0, |b| b[ch]));
            }
        });
    })?;
    Tensor::from_vec(out, (n, c, oh, ow), x.device())
}

/// One depthwise output plane: `dst [oh, ow] = Σ taps k[ky, kx] · padded[oy·sh + ky,
/// ox·sw + kx]`, the taps summed in (ky, kx) order (the order of the scalar stencil).
/// `rows` is the padded plane with each row split into its `sw` phases of `pws` values (row
/// r, phase p, index j holds padded column j·sw + p), so tap (ky, kx) of output x reads
/// phase kx mod sw at index x + kx div sw: a contiguous run. Outputs are computed
/// [`STENCIL_BLOCK`] at a time in an accumulator that stays in registers across all taps,
/// then stored once.
#[inline(always)]
fn stencil(
    rows: &[f32],
    pws: usize,
    k: &[f32],
    (kh, kw): (usize, usize),
    (sh, sw): (usize, usize),
    ow: usize,
    dst: &mut [f32],
) {
    const B: usize = STENCIL_BLOCK;
    // Each tap's weight and offset from the start of its output row's first input row.
    let taps: Vec<(f32, usize)> = (0..kh * kw)
        .map(|t| {
            let (ky, kx) = (t / kw, t % kw);
            (k[t], (ky * sw + kx % sw) * pws + kx / sw)
        })
        .collect();
    for (oy, drow) in dst.chunks_mut(ow).enumerate() {
        let base = oy * sh * sw * pws;
        let full = ow / B * B;
        for ox0 in (0..full).step_by(B) {
            block::<B>(rows, &taps, base + ox0, &mut drow[ox0..ox0 + B]);
        }
        // The tail: a half block where it fits (80-wide rows: 32 + 32 + 16), then the rest.
        let mut ox0 = full;
        if ow - ox0 >= B / 2 {
            block::<{ B / 2 }>(rows, &taps, base + ox0, &mut drow[ox0..ox0 + B / 2]);
            ox0 += B / 2;
        }
        if ox0 < ow {
            let n = ow - ox0;
            let mut acc = [0f32; B];
            for &(kv, off) in &taps {
                let at = base + off + ox0;
                for (a, v) in acc[..n].iter_mut().zip(&rows[at..at + n]) {
                    *a += kv * v;
                }
            }
            drow[ox0..].copy_from_slice(&acc[..n]);
        }
    }
}

/// `N` consecutive outputs of [`stencil`] from `at`: an accumulator of fixed length (kept in
/// registers) summed over all taps, stored once into `dst` (`N` long).
#[inline(always)]
fn block<const N: usize>(rows: &[f32], taps: &[(f32, usize)], at: usize, dst: &mut [f32]) {
    let mut acc = [0f32; N];
    for &(kv, off) in taps {
        for (a, v) in acc.iter_mut().zip(&rows[at + off..at + off + N]) {
            *a += kv * v;
        }
    }
    dst.copy_from_slice(&acc);
}

/// Outputs per register block of the depthwise stencil (two AVX-512 vectors).
const STENCIL_BLOCK: usize = 32;

/// Ultralytics `SPPF`'s pooled pyramid in one buffer: `x [N, C, H, W]` →
/// `[N, 4C, H, W]` = `cat(x, m(x), m(m(x)), m(m(m(x))))` along channels, where `m` is a
/// 5×5 stride-1 max-pool padded with −∞ (PyTorch's `MaxPool2d(5, 1, 2)`). `k` chained
/// pools are one (4k+1)-wide pool (with −∞ padding every valid pixel within 2k is reached
/// through a valid one), so each output plane is computed on its own, separably (a row
/// pass, then a column pass over whole rows), planes split between threads. Max is exact:
/// the result is bit-identical to the chained pools (upstream:
/// `ultralytics/nn/modules/block.py`, `SPPF`).
///
/// # Errors
/// Shape errors.
pub fn sppf_pyramid(x: &Tensor) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let plane = h * w;
    let mut out = vec![0f32; n * 4 * c * plane];
    with_f32(x, |xs| {
        crate::kernels::par_planes(&mut out, plane, |i, dst| {
            // Output plane i is pyramid level k of input channel ch of image img.
            let (img, k, ch) = (i / (4 * c), (i / c) % 4, i % c);
            let src = &xs[(img * c + ch) * plane..(img * c + ch + 1) * plane];
            if k == 0 {
                dst.copy_from_slice(src);
            } else {
                let mut tmp = vec![0f32; plane];
                crate::kernels::with_avx512(|| max_pool_same(src, (h, w), 2 * k, &mut tmp, dst));
            }
        });
    })?;
    Tensor::from_vec(out, (n, 4 * c, h, w), x.device())
}

/// Stride-1 max-pool of one `h × w` plane over the `(2r+1)²` window centred on each pixel,
/// −∞ outside the plane: a row pass into `tmp`, then a column pass over whole rows.
#[inline(always)]
fn max_pool_same(src: &[f32], (h, w): (usize, usize), r: usize, tmp: &mut [f32], dst: &mut [f32]) {
    for (srow, trow) in src.chunks(w).zip(tmp.chunks_mut(w)) {
        for (x, t) in trow.iter_mut().enumerate() {
            let win = &srow[x.saturating_sub(r)..(x + r + 1).min(w)];
            *t = win.iter().copied().fold(f32::NEG_INFINITY, f32::max);
        }
    }
    for (y, drow) in dst.chunks_mut(w).enumerate() {
        let (lo, hi) = (y.saturating_sub(r), (y + r + 1).min(h));
        drow.copy_from_slice(&tmp[lo * w..(lo + 1) * w]);
        for row in tmp[(lo + 1) * w..hi * w].chunks(w) {
            for (d, v) in drow.iter_mut().zip(row) {
                *d = d.max(*v);
            }
        }
    }
}

/// HardSwish as ONNX graphs spell it, `x · clip(x + 3, 0, 6) / 6`, in one pass (same f32
/// operations in the same order as the four separate nodes).
///
/// # Errors
/// Shape errors.
pub fn hardswish(x: &Tensor) -> Result<Tensor> {
    let out: Vec<f32> = with_f32(x, |xs| {
        xs.iter()
            .map(|&v| v * (v + 3.0).clamp(0.0, 6.0) / 6.0)
            .collect()
    })?;
    Tensor::from_vec(out, x.dims(), x.device())
}

/// `w · x + b` with scalar `w`, `b`, in one pass (the multiply and the add rounded
/// separately, as the two nodes it replaces).
///
/// # Errors
/// Shape errors.
pub fn affine(x: &Tensor, w: f32, b: f32) -> Result<Tensor> {
    let out: Vec<f32> = with_f32(x, |xs| xs.iter().map(|&v| w * v + b).collect())?;
    Tensor::from_vec(out, x.dims(), x.device())
}

/// Transposed convolution with kernel = stride (no overlap, no padding), e.g. the 2×2
/// stride-2 upsampling of YOLO's mask prototypes and DBNet's head: one matmul
/// `Wᵀ [C_out·kh·kw, C_in] × x [C_in, H·W]`, then the kernel positions interleaved into
/// the output. `w` `[C_in, C_out, kh, kw]` (ONNX/PyTorch layout), bias `[C_out]`.
///
/// # Errors
/// Shape errors.
pub fn conv_transpose_nonoverlapping(
    x: &Tensor,
    w: &Tensor,
    bias: Option<&Tensor>,
) -> Result<Tensor> {
    let (n, c_in, h, wd) = x.dims4()?;
    let (_, c_out, kh, kw) = w.dims4()?;
    let wt = w.reshape((c_in, c_out * kh * kw))?.t()?.contiguous()?;
    let m = wt.broadcast_matmul(&x.reshape((n, c_in, h * wd))?.contiguous()?)?; // [n, co·kh·kw, h·w]
    let y = m
        .reshape((n, c_out, kh, kw, h, wd))?
        .permute((0, 1, 4, 2, 5, 3))?
        .contiguous()?
        .reshape((n, c_out, h * kh, wd * kw))?;
    match bias {
        Some(b) => y.broadcast_add(&b.reshape((1, c_out, 1, 1))?),
        None => Ok(y),
    }
}

/// Nearest-neighbour upsampling by integer factors, plus `base` when given (the FPN's
/// `base + Resize(x)` in one pass, the upsampled map never stored): `x [N, C, h, w]` →
/// `[N, C, h·fh, w·fw]`, `base` of that shape. Output planes split between threads; the
/// 2× column duplication is written pairwise so it vectorises. Same f32 operations as
/// `upsample_nearest2d` followed by `Add`.
///
/// # Errors
/// Shape errors (`base` of another shape, a zero factor).
pub fn upsample_nearest_add(
    x: &Tensor,
    base: Option<&Tensor>,
    (fh, fw): (usize, usize),
) -> Result<Tensor> {
    let (n, c, h, w) = x.dims4()?;
    let (oh, ow) = (h * fh, w * fw);
    if fh == 0 || fw == 0 {
        candle_core::bail!("upsampling by a zero factor");
    }
    if let Some(b) = base
        && b.dims() != [n, c, oh, ow]
    {
        candle_core::bail!(
            "upsample-add: base {:?} vs upsampled {:?}",
            b.dims(),
            [n, c, oh, ow]
        );
    }
    let mut out = vec![0f32; n * c * oh * ow];
    let fill = |xs: &[f32], bs: Option<&[f32]>, out: &mut [f32]| {
        crate::kernels::par_planes(out, oh * ow, |i, dst| {
            let src = &xs[i * h * w..(i + 1) * h * w];
            let base = bs.map(|b| &b[i * oh * ow..(i + 1) * oh * ow]);
            crate::kernels::with_avx512(|| {
                for (oy, row) in dst.chunks_mut(ow).enumerate() {
                    let s = &src[(oy / fh) * w..(oy / fh + 1) * w];
                    if fw == 2 {
                        for (pair, v) in row.chunks_exact_mut(2).zip(s) {
                            pair[0] = *v;
                            pair[1] = *v;
                        }
                    } else {
                        for (ox, d) in row.iter_mut().enumerate() {
                            *d = s[ox / fw];
                        }
                    }
                    if let Some(b) = base {
                        for (d, b) in row.iter_mut().zip(&b[oy * ow..(oy + 1) * ow]) {
                            *d += *b;
                        }
                    }
                }
            });
        });
    };
    with_f32(x, |xs| match base {
        Some(b) => with_f32(b, |bs| fill(xs, Some(bs), &mut out)),
        None => {
            fill(xs, None, &mut out);
            Ok(())
        }
    })??;
    Tensor::from_vec(out, (n, c, oh, ow), x.device())
}

/// `a [.., M, K] × b [K, N]` → `[.., M, N]`: every leading index's rows in one matmul
/// (`b` shared), the columns of `b` split between threads in blocks of 64 when the product
/// is large enough to pay for a thread.
///
/// # Errors
/// Shape errors (inner dimensions that differ).
pub fn matmul_rhs2d(a: &Tensor, b: &Tensor) -> Result<Tensor> {
    let (k, n) = b.dims2()?;
    let dims = a.dims();
    let ka = dims.last().copied().unwrap_or(0);
    if a.rank() < 2 || ka != k {
        candle_core::bail!("matmul: {:?} × [{k}, {n}]", dims);
    }
    let m = a.elem_count() / k.max(1);
    let mut out = vec![0f32; m * n];
    with_f32(a, |xa| {
        with_f32(b, |xb| {
            let dst = crate::kernels::OutPtr::new(&mut out);
            // Below ~8 MFLOP starting a thread costs more than it saves.
            let block = if 2 * m * n * k < 8_000_000 { n } else { 64 };
            crate::kernels::split_rows(n, block, |c0, c1| {
                crate::kernels::sgemm((m, c1 - c0, k), xa, k, &xb[c0..], n, dst, c0, n);
            });
        })
    })??;
    let mut shape = dims.to_vec();
    shape[dims.len() - 1] = n;
    Tensor::from_vec(out, shape, a.device())
}

/// Softmax over the last dimension of `scale · x` (`scale` > 0): per row, `e^(scale·(x −
/// max)) / Σ` (the exponential of [`crate::kernels::exp`], ≤ 3e-7 relative), 16 lanes wide
/// where the CPU has AVX-512.
///
/// # Errors
/// Shape errors (a rank-0 tensor).
pub fn softmax_last_dim(x: &Tensor, scale: f32) -> Result<Tensor> {
    let d = *x
        .dims()
        .last()
        .ok_or_else(|| candle_core::Error::Msg("softmax of a scalar".into()))?;
    let mut out = with_f32(x, <[f32]>::to_vec)?;
    crate::kernels::with_avx512(|| {
        for row in out.chunks_mut(d.max(1)) {
            let max = row.iter().copied().fold(f32::NEG_INFINITY, f32::max);
            row.iter_mut()
                .for_each(|v| *v = crate::kernels::exp(scale * (*v - max)));
            let sum: f32 = row.iter().sum();
            let inv = 1.0 / sum;
            row.iter_mut().for_each(|v| *v *= inv);
        }
    });
    Tensor::from_vec(out, x.dims(), x.device())
}

/// A transposed convolution whose kernel equals its stride (no overlap, no padding), e.g.
/// DBNet's 2×2 stride-2 upsampling, prepared at load: per band of input rows one matmul
/// `W [C_out·kh·kw, C_in] × x [C_in, rows·w]` into a reused buffer, then the kernel
/// positions interleaved into the output rows with the bias and activation applied in the
/// same pass; bands split between threads.
#[derive(Debug, Clone)]
pub struct ConvTransposed {
    /// `[C_out·kh·kw, C_in]` row-major (the ONNX `[C_in, C_out, kh, kw]` weight transposed).
    weight: Vec<f32>,
    /// `[C_out]`.
    bias: Vec<f32>,
    c_out: usize,
    k: (usize, usize),
    act: crate::kernels::Act,
}

impl ConvTransposed {
    /// From the ONNX weight `[C_in, C_out, kh, kw]` (stride = kernel) and `bias [C_out]`.
    ///
    /// # Errors
    /// Shape errors (a bias of another length).
    pub fn new(weight: &Tensor, bias: &[f32], act: crate::kernels::Act) -> Result<Self> {
        let (c_in, c_out, kh, kw) = weight.dims4()?;
        if bias.len() != c_out {
            candle_core::bail!("transposed conv bias has the wrong length");
        }
        let weight = weight
            .to_dtype(DType::F32)?
            .reshape((c_in, c_out * kh * kw))?
            .t()?
            .flatten_all()?
            .to_vec1::<f32>()?;
        Ok(Self {
            weight,
            bias: bias.to_vec(),
            c_out,
            k: (kh, kw),
            act,
        })
    }

    /// `x [N, C_in, h, w]` → `[N, C_out, h·kh, w·kw]`.
    ///
    /// # Errors
    /// Shape errors (channel count).
    pub fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let (n, c_in, h, w) = x.dims4()?;
        let (co, (kh, kw)) = (self.c_out, self.k);
        let rows = co * kh * kw;
        if self.weight.len() != rows * c_in {
            candle_core::bail!(
                "transposed conv expects {} input channels, got {c_in}",
                self.weight.len() / rows
            );
        }
        let (oh, ow) = (h * kh, w * kw);
        let mut out = vec![0f32; n * co * oh * ow];
        let band = ((1usize << 18) / (rows * w).max(1)).clamp(1, h.max(1));
        with_f32(x, |xs| {
            for (img, dst) in out.chunks_mut(co * oh * ow).enumerate() {
                let x = &xs[img * c_in * h * w..(img + 1) * c_in * h * w];
                let dst = crate::kernels::OutPtr::new(dst);
                crate::kernels::split_rows(h, band, |r0, r1| {
                    let mut m = vec![0f32; rows * band * w];
                    let mut y0 = r0;
                    while y0 < r1 {
                        let y1 = (y0 + band).min(r1);
                        let len = (y1 - y0) * w;
                        crate::kernels::sgemm_into(
                            (rows, len, c_in),
                            &self.weight,
                            c_in,
                            &x[y0 * w..],
                            h * w,
                            &mut m,
                            len,
                        );
                        for o in 0..co {
                            for y in y0..y1 {
                                for ky in 0..kh {
                                    let row = dst.row((o * oh + y * kh + ky) * ow, ow);
                                    let src = |kx: usize| {
                                        let r = (o * kh + ky) * kw + kx;
                                        &m[r * len + (y - y0) * w..r * len + (y - y0 + 1) * w]
                                    };
                                    crate::kernels::with_avx512(|| {
                                        if kw == 2 {
                                            // Pairwise, so the interleave vectorises.
                                            let (a, b) = (src(0), src(1));
                                            for ((d, a), b) in row.chunks_exact_mut(2).zip(a).zip(b)
                                            {
                                                d[0] = *a;
                                                d[1] = *b;
                                            }
                                        } else {
                                            for kx in 0..kw {
                                                for (d, v) in
                                                    row[kx..].iter_mut().step_by(kw).zip(src(kx))
                                                {
                                                    *d = *v;
                                                }
                                            }
                                        }
                                    });
                                    self.act.apply(row, self.bias[o]);
                                }
                            }
                        }
                        y0 = y1;
                    }
                });
            }
        })?;
        Tensor::from_vec(out, (n, co, oh, ow), x.device())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Device;

    #[test]
    fn fused_elementwise_kernels_equal_the_nodes_they_replace() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 4.0, (1, 4, 9, 7), &dev)?;
        // As the graph runs them: constant tensors, broadcast ops, a true division.
        let c = |v: f32| Tensor::new(&[v], &dev);
        let nodes = x
            .broadcast_mul(&x.broadcast_add(&c(3.0)?)?.clamp(0f32, 6f32)?)?
            .broadcast_div(&c(6.0)?)?;
        assert_eq!(
            hardswish(&x)?.flatten_all()?.to_vec1::<f32>()?,
            nodes.flatten_all()?.to_vec1::<f32>()?
        );
        let nodes = c(1.7)?.broadcast_mul(&x)?.broadcast_add(&c(0.3)?)?;
        assert_eq!(
            affine(&x, 1.7, 0.3)?.flatten_all()?.to_vec1::<f32>()?,
            nodes.flatten_all()?.to_vec1::<f32>()?
        );
        Ok(())
    }

    #[test]
    fn fast_paths_match_candle() -> Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (1, 6, 9, 7), &dev)?;
        let check = |a: &Tensor, b: &Tensor| -> Result<f32> {
            (a - b)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
        };
        // Dense 3×3, stride 2, pad 1 (im2col) and 1×1 (matmul).
        let w = Tensor::randn(0f32, 1.0, (5, 6, 3, 3), &dev)?;
        assert!(check(&conv2d(&x, &w, 1, 2, 1)?, &x.conv2d(&w, 1, 2, 1, 1)?)? < 1e-4);
        let w1 = Tensor::randn(0f32, 1.0, (4, 6, 1, 1), &dev)?;
        assert!(check(&conv2d(&x, &w1, 0, 1, 1)?, &x.conv2d(&w1, 0, 1, 1, 1)?)? < 1e-4);
        // Dense 3×3 over an image big enough to be computed in several bands of rows.
        let big = Tensor::randn(0f32, 1.0, (1, 64, 70, 64), &dev)?;
        let wb = Tensor::randn(0f32, 1.0, (8, 64, 3, 3), &dev)?;
        assert!(check(&conv2d(&big, &wb, 1, 1, 1)?, &big.conv2d(&wb, 1, 1, 1, 1)?)? < 1e-3);
        // Depthwise 5×5 (stride 1) and 3×3 (stride 2, also with unequal strides).
        let wd = Tensor::randn(0f32, 1.0, (6, 1, 5, 5), &dev)?;
        assert!(check(&conv2d(&x, &wd, 2, 1, 6)?, &x.conv2d(&wd, 2, 1, 1, 6)?)? < 1e-4);
        let wd3 = Tensor::randn(0f32, 1.0, (6, 1, 3, 3), &dev)?;
        assert!(check(&conv2d(&x, &wd3, 1, 2, 6)?, &x.conv2d(&wd3, 1, 2, 1, 6)?)? < 1e-4);
        let dense_s1 = x.conv2d(&wd3, 1, 1, 1, 6)?;
        let rows = Tensor::new(&[0u32, 2, 4, 6, 8], &dev)?;
        let want = dense_s1.index_select(&rows, 2)?;
        assert!(check(&depthwise(&x, &wd3, 1, 2, 1)?, &want)? < 1e-4);
        // A matmul with a weight matrix, and the softmax of its rows.
        let a = Tensor::randn(0f32, 1.0, (2, 5, 7), &dev)?;
        let bm = Tensor::randn(0f32, 1.0, (7, 130), &dev)?;
        let want = a.broadcast_matmul(&bm)?;
        assert!(check(&matmul_rhs2d(&a, &bm)?, &want)? < 1e-4);
        let want = candle_nn::ops::softmax_last_dim(&want)?;
        assert!(check(&softmax_last_dim(&a.broadcast_matmul(&bm)?, 1.0)?, &want)? < 1e-6);
        let want = candle_nn::ops::softmax_last_dim(&(a.broadcast_matmul(&bm)? * 0.3)?)?;
        assert!(check(&softmax_last_dim(&a.broadcast_matmul(&bm)?, 0.3)?, &want)? < 1e-6);
        // Nearest 2× and 3×2 upsampling, alone and added to a base.
        for f in [(2, 2), (3, 2)] {
            let up = x.upsample_nearest2d(9 * f.0, 7 * f.1)?;
            assert!(check(&upsample_nearest_add(&x, None, f)?, &up)? == 0.0);
            let base = Tensor::randn(0f32, 1.0, up.dims(), &dev)?;
            let want = (&base + &up)?;
            assert!(check(&upsample_nearest_add(&x, Some(&base), f)?, &want)? == 0.0);
        }
        // Transposed 2×2 stride 2, prepared, with its bias and ReLU.
        let wt2 = Tensor::randn(0f32, 1.0, (6, 3, 2, 2), &dev)?;
        let b2 = [0.3f32, -0.2, 0.1];
        let ct = ConvTransposed::new(&wt2, &b2, crate::kernels::Act::Relu)?;
        let want = x
            .conv_transpose2d(&wt2, 0, 0, 2, 1)?
            .broadcast_add(&Tensor::new(&b2, &dev)?.reshape((1, 3, 1, 1))?)?
            .relu()?;
        assert!(check(&ct.forward(&x)?, &want)? < 1e-4);
        // Transposed 2×2 stride 2.
        let wt = Tensor::randn(0f32, 1.0, (6, 3, 2, 2), &dev)?;
        let b = Tensor::randn(0f32, 1.0, 3, &dev)?;
        let want = x
            .conv_transpose2d(&wt, 0, 0, 2, 1)?
            .broadcast_add(&b.reshape((1, 3, 1, 1))?)?;
        assert!(check(&conv_transpose_nonoverlapping(&x, &wt, Some(&b))?, &want)? < 1e-4);
        // SPPF's pyramid against three chained candle max-pools (edges replicated, which
        // equals −∞ padding), over a map with negative values.
        let m = Tensor::randn(0f32, 1.0, (2, 3, 11, 9), &dev)?;
        let pool = |t: &Tensor| -> Result<Tensor> {
            t.pad_with_same(2, 2, 2)?
                .pad_with_same(3, 2, 2)?
                .max_pool2d_with_stride(5, 1)
        };
        let (y1, y2, y3) = {
            let y1 = pool(&m)?;
            let y2 = pool(&y1)?;
            let y3 = pool(&y2)?;
            (y1, y2, y3)
        };
        let want = Tensor::cat(&[&m, &y1, &y2, &y3], 1)?;
        assert_eq!(
            sppf_pyramid(&m)?.flatten_all()?.to_vec1::<f32>()?,
            want.flatten_all()?.to_vec1::<f32>()?
        );
        // Depthwise over rows wide enough for whole register blocks, a half block and a
        // remainder (83 = 2·32 + 16 + 3; stride 2: 42 = 32 + 10).
        let wide = Tensor::randn(0f32, 1.0, (1, 6, 5, 83), &dev)?;
        assert!(
            check(
                &conv2d(&wide, &wd, 2, 1, 6)?,
                &wide.conv2d(&wd, 2, 1, 1, 6)?
            )? < 1e-4
        );
        assert!(
            check(
                &conv2d(&wide, &wd3, 1, 2, 6)?,
                &wide.conv2d(&wd3, 1, 2, 1, 6)?
            )? < 1e-4
        );
        // Depthwise with its bias and SiLU fused.
        let bias: Vec<f32> = (0..6).map(|i| i as f32 * 0.1 - 0.2).collect();
        let bt = Tensor::new(bias.as_slice(), &dev)?.reshape((1, 6, 1, 1))?;
        let fused = depthwise_fused(&x, &wd3, Some(&bias), crate::kernels::Act::Silu, 1, (1, 1))?;
        let want = candle_nn::ops::silu(&depthwise(&x, &wd3, 1, 1, 1)?.broadcast_add(&bt)?)?;
        assert!(check(&fused, &want)? < 1e-5);
        Ok(())
    }
}
