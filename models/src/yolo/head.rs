//! The detect and segment heads of YOLOv8 / YOLO11 (Ultralytics
//! `ultralytics/nn/modules/head.py`, `Detect` and `Segment`, and `block.py`, `Proto`): per
//! level a box branch (`4·reg_max` distance logits) and a class branch, decoded with DFL
//! into boxes in input pixels; segment models add mask coefficients and prototypes.

use candle_core::{Module, Result, Tensor};
use candle_nn::{Conv2d, VarBuilder};

use super::{ConvBlock, YoloConfig, conv_forward, count_children, raw_conv};
use crate::kernels::{Act, profile};

/// Ultralytics `Proto`: mask prototypes at 1/4 of the input size.
#[derive(Debug, Clone)]
pub struct Proto {
    cv1: ConvBlock,
    /// The 2×2 stride-2 transposed conv, prepared at load.
    upsample: crate::ops::ConvTransposed,
    cv2: ConvBlock,
    cv3: ConvBlock,
}

impl Proto {
    /// Loads `cv1`, `upsample` (ConvTranspose2d 2×2 stride 2), `cv2`, `cv3`.
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, cfg: &YoloConfig) -> Result<Self> {
        let up = vb.pp("upsample");
        let weight = up.get_unchecked("weight")?;
        let c_out = weight.dim(1)?;
        let bias = match up.get_unchecked("bias") {
            Ok(b) => b.to_dtype(candle_core::DType::F32)?.to_vec1::<f32>()?,
            Err(_) => vec![0.0; c_out],
        };
        let upsample = crate::ops::ConvTransposed::new(&weight, &bias, Act::Linear)?;
        Ok(Self {
            cv1: ConvBlock::load(vb.pp("cv1"), 1, false, cfg)?,
            upsample,
            cv2: ConvBlock::load(vb.pp("cv2"), 1, false, cfg)?,
            cv3: ConvBlock::load(vb.pp("cv3"), 1, false, cfg)?,
        })
    }
}

impl Module for Proto {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.upsample.forward(&self.cv1.forward(x)?)?;
        self.cv3.forward(&self.cv2.forward(&x)?)
    }
}

/// One branch of the head: two 3×3 convs then a 1×1 `nn.Conv2d` (YOLO11's class branch uses
/// depthwise-separable pairs instead: `DWConv 3×3 + Conv 1×1`, twice).
#[derive(Debug, Clone)]
pub struct Branch {
    convs: Vec<ConvBlock>,
    out: Conv2d,
}

impl Branch {
    fn load(vb: VarBuilder, separable: bool, cfg: &YoloConfig) -> Result<Self> {
        let convs = if separable {
            vec![
                ConvBlock::load(vb.pp("0.0"), 1, true, cfg)?,
                ConvBlock::load(vb.pp("0.1"), 1, false, cfg)?,
                ConvBlock::load(vb.pp("1.0"), 1, true, cfg)?,
                ConvBlock::load(vb.pp("1.1"), 1, false, cfg)?,
            ]
        } else {
            vec![
                ConvBlock::load(vb.pp("0"), 1, false, cfg)?,
                ConvBlock::load(vb.pp("1"), 1, false, cfg)?,
            ]
        };
        Ok(Self {
            convs,
            out: raw_conv(vb.pp("2"), 1, false)?,
        })
    }
}

impl Module for Branch {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = x.clone();
        for c in &self.convs {
            y = c.forward(&y)?;
        }
        conv_forward(&self.out, &y)
    }
}

/// Ultralytics `Detect` / `Segment` head with DFL box decoding (`reg_max` = 16).
#[derive(Debug, Clone)]
pub struct Head {
    cv2: Vec<Branch>,
    cv3: Vec<Branch>,
    cv4: Vec<Branch>,
    proto: Option<Proto>,
    reg_max: usize,
    num_classes: usize,
}

impl Head {
    /// Loads the head at `model.N`.
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, cfg: &YoloConfig) -> Result<Self> {
        let separable = vb.contains_tensor("cv3.0.0.0.conv.weight");
        let levels = count_children(&vb, "cv2");
        let branches = |name: &str, sep: bool| -> Result<Vec<Branch>> {
            levels
                .iter()
                .map(|i| Branch::load(vb.pp(format!("{name}.{i}")), sep, cfg))
                .collect()
        };
        let cv2 = branches("cv2", false)?;
        let reg_max = cv2[0].out.weight().dim(0)? / 4;
        let (cv4, proto) = if cfg.segment {
            (
                branches("cv4", false)?,
                Some(Proto::load(vb.pp("proto"), cfg)?),
            )
        } else {
            (Vec::new(), None)
        };
        Ok(Self {
            cv2,
            cv3: branches("cv3", separable)?,
            cv4,
            proto,
            reg_max,
            num_classes: cfg.num_classes,
        })
    }

    /// Runs the head on feature maps `[1, c, H/s, W/s]` for strides `strides`.
    ///
    /// # Errors
    /// Shape errors.
    pub fn forward(&self, feats: &[Tensor], strides: &[f64]) -> Result<YoloOutput> {
        self.forward_opts(feats, strides, true)
    }

    /// [`Self::forward`]; without `masks` a segment model's mask coefficients and
    /// prototypes are not computed (`preds` is then `[B, 4 + nc, A]`, `protos` `None`).
    ///
    /// # Errors
    /// Shape errors.
    pub fn forward_opts(
        &self,
        feats: &[Tensor],
        strides: &[f64],
        masks: bool,
    ) -> Result<YoloOutput> {
        let mut levels = Vec::with_capacity(feats.len());
        for (i, f) in feats.iter().enumerate() {
            let bx = profile::stage("head boxes", || self.cv2[i].forward(f))?;
            let cl = profile::stage("head classes", || self.cv3[i].forward(f))?;
            levels.push((bx, cl, strides[i] as f32));
        }
        let preds = profile::stage("head decode", || {
            decode(&levels, self.reg_max, self.num_classes)
        })?;
        let mut parts = vec![preds];
        let mut protos = None;
        if let Some(proto) = self.proto.as_ref().filter(|_| masks) {
            let coefs: Vec<Tensor> = feats
                .iter()
                .zip(&self.cv4)
                .map(|(f, br)| {
                    let (b, _, h, w) = f.dims4()?;
                    profile::stage("head coefs", || br.forward(f))?.reshape((b, (), h * w))
                })
                .collect::<Result<_>>()?;
            parts.push(Tensor::cat(&coefs, 2)?);
            protos = Some(profile::stage("head proto", || proto.forward(&feats[0]))?);
        }
        Ok(YoloOutput {
            preds: Tensor::cat(&parts, 1)?,
            protos,
        })
    }
}

/// What a forward pass returns.
#[derive(Debug, Clone)]
pub struct YoloOutput {
    /// `[B, 4 + nc (+ nm), A]`: cx, cy, w, h (input pixels), class scores (0–1), mask
    /// coefficients.
    pub preds: Tensor,
    /// Segment models: prototypes `[B, nm, H/4, W/4]`.
    pub protos: Option<Tensor>,
}

/// DFL decode of the head's raw outputs into `[B, 4 + nc, A]` (A = anchors of all levels,
/// in level order, row-major within a level): per level `(boxes [B, 4·reg_max, h, w]`
/// distance logits (left, top, right, bottom, `reg_max` bins each), `classes [B, nc, h,
/// w]` logits, stride in pixels`)`. Each side's distance is the expectation of the bin
/// index under the softmax of its bins (Li et al. 2020, "Generalized Focal Loss": DFL);
/// the anchor is the cell centre; rows out are centre x, centre y, width, height in input
/// pixels, then sigmoid class scores (0–1). As Ultralytics' `Detect._inference` +
/// `dist2bbox(xywh=True)`, computed in one pass over rows of anchors (vectorised) instead
/// of a chain of tensor ops.
///
/// # Errors
/// Shape errors (levels with different batch sizes or channel counts).
pub fn decode(levels: &[(Tensor, Tensor, f32)], reg_max: usize, nc: usize) -> Result<Tensor> {
    let Some((first, _, _)) = levels.first() else {
        candle_core::bail!("no head levels");
    };
    let batch = first.dim(0)?;
    let mut sizes = Vec::with_capacity(levels.len());
    for (bx, cl, _) in levels {
        let (b, c, h, w) = bx.dims4()?;
        if b != batch || c != 4 * reg_max || cl.dims4()? != (b, nc, h, w) {
            candle_core::bail!("head level shapes disagree");
        }
        sizes.push((h, w));
    }
    let a: usize = sizes.iter().map(|(h, w)| h * w).sum();
    let rows = 4 + nc;
    let mut out = vec![0f32; batch * rows * a];
    let mut a0 = 0;
    for ((bx, cl, stride), &(h, w)) in levels.iter().zip(&sizes) {
        let n = h * w;
        crate::kernels::with_f32(bx, |bxs| {
            crate::kernels::with_f32(cl, |cls| {
                for b in 0..batch {
                    let img = &mut out[b * rows * a..(b + 1) * rows * a];
                    let logits = &bxs[b * 4 * reg_max * n..(b + 1) * 4 * reg_max * n];
                    let scores = &cls[b * nc * n..(b + 1) * nc * n];
                    crate::kernels::with_avx512(|| {
                        decode_level(logits, scores, (n, w), *stride, reg_max, img, a, a0);
                    });
                }
            })
        })??;
        a0 += n;
    }
    Tensor::from_vec(out, (batch, rows, a), first.device())
}

/// One level of [`decode`] for one image: `logits [4·reg_max, n]`, `scores [nc, n]` (n =
/// h·w cells, rows `w` wide) into columns `a0..a0 + n` of `out [4 + nc, a]`.
#[inline(always)]
#[allow(clippy::too_many_arguments)]
fn decode_level(
    logits: &[f32],
    scores: &[f32],
    (n, w): (usize, usize),
    stride: f32,
    reg_max: usize,
    out: &mut [f32],
    a: usize,
    a0: usize,
) {
    let (mut max, mut sum, mut dist) = (
        vec![0f32; n],
        vec![0f32; n],
        [vec![0f32; n], vec![0f32; n], vec![0f32; n], vec![0f32; n]],
    );
    for (side, d) in dist.iter_mut().enumerate() {
        let bins = &logits[side * reg_max * n..(side + 1) * reg_max * n];
        max.copy_from_slice(&bins[..n]);
        for row in bins.chunks(n).skip(1) {
            max.iter_mut().zip(row).for_each(|(m, v)| *m = m.max(*v));
        }
        sum.fill(0.0);
        d.fill(0.0);
        for (k, row) in bins.chunks(n).enumerate() {
            let k = k as f32;
            for (((s, d), m), v) in sum.iter_mut().zip(d.iter_mut()).zip(&max).zip(row) {
                let e = crate::kernels::exp(v - m);
                *s += e;
                *d += k * e;
            }
        }
        d.iter_mut().zip(&sum).for_each(|(d, s)| *d /= s);
    }
    // Anchor j is the centre of cell (j mod w, j div w); x1 = ax − l, x2 = ax + r, so the
    // centre is ax + (r − l)/2 and the width l + r (likewise in y), times the stride.
    let [l, t, r, btm] = &dist;
    let mut rows = out.chunks_mut(a);
    let mut next = || rows.next().map(|v| &mut v[a0..a0 + n]).unwrap_or_default();
    let (cx, cy, bw, bh) = (next(), next(), next(), next());
    for (j, v) in cx.iter_mut().enumerate() {
        let ax = (j % w) as f32 + 0.5;
        *v = stride * (((ax - l[j]) + (ax + r[j])) / 2.0);
    }
    for (j, v) in cy.iter_mut().enumerate() {
        let ay = (j / w) as f32 + 0.5;
        *v = stride * (((ay - t[j]) + (ay + btm[j])) / 2.0);
    }
    for (j, v) in bw.iter_mut().enumerate() {
        let ax = (j % w) as f32 + 0.5;
        *v = stride * ((ax + r[j]) - (ax - l[j]));
    }
    for (j, v) in bh.iter_mut().enumerate() {
        let ay = (j / w) as f32 + 0.5;
        *v = stride * ((ay + btm[j]) - (ay - t[j]));
    }
    for (vals, src) in out.chunks_mut(a).skip(4).zip(scores.chunks(n)) {
        for (v, x) in vals[a0..a0 + n].iter_mut().zip(src) {
            *v = 1.0 / (1.0 + crate::kernels::exp(-x));
        }
    }
}

#[cfg(test)]
mod tests {
    use candle_core::{Device, Tensor};

    use super::*;

    /// The tensor-op formulation of `Detect._inference` (softmax over the bins, expectation,
    /// `dist2bbox`, sigmoid), as the head computed it before [`decode`].
    fn reference(levels: &[(Tensor, Tensor, f32)], reg_max: usize) -> Result<Tensor> {
        let (mut per_level, mut ax, mut ay, mut st) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for (bx, cl, s) in levels {
            let (b, _, h, w) = bx.dims4()?;
            per_level.push(Tensor::cat(&[bx, cl], 1)?.reshape((b, (), h * w))?);
            for y in 0..h {
                for x in 0..w {
                    ax.push(x as f32 + 0.5);
                    ay.push(y as f32 + 0.5);
                    st.push(*s);
                }
            }
        }
        let x = Tensor::cat(&per_level, 2)?;
        let (b, c, a) = x.dims3()?;
        let dev = x.device();
        let bins = x.narrow(1, 0, 4 * reg_max)?.reshape((b, 4, reg_max, a))?;
        let probs = candle_nn::ops::softmax(&bins, 2)?;
        let idx = Tensor::arange(0f32, reg_max as f32, dev)?.reshape((1, 1, reg_max, 1))?;
        let dist = probs.broadcast_mul(&idx)?.sum(2)?;
        let anchors = Tensor::cat(
            &[
                Tensor::from_vec(ax, (1, 1, a), dev)?,
                Tensor::from_vec(ay, (1, 1, a), dev)?,
            ],
            1,
        )?;
        let x1y1 = anchors.broadcast_sub(&dist.narrow(1, 0, 2)?)?;
        let x2y2 = anchors.broadcast_add(&dist.narrow(1, 2, 2)?)?;
        let dbox = Tensor::cat(&[&((&x1y1 + &x2y2)? / 2.0)?, &(&x2y2 - &x1y1)?], 1)?
            .broadcast_mul(&Tensor::from_vec(st, (1, 1, a), dev)?)?;
        let scores = candle_nn::ops::sigmoid(&x.narrow(1, 4 * reg_max, c - 4 * reg_max)?)?;
        Tensor::cat(&[&dbox, &scores], 1)
    }

    #[test]
    fn the_direct_decode_equals_the_tensor_ops() -> Result<()> {
        let dev = Device::Cpu;
        let (reg_max, nc) = (16, 3);
        let levels: Vec<(Tensor, Tensor, f32)> =
            [(8usize, 10usize, 8f32), (4, 5, 16.0), (2, 3, 32.0)]
                .iter()
                .map(|&(h, w, s)| -> Result<_> {
                    Ok((
                        Tensor::randn(0f32, 3.0, (2, 4 * reg_max, h, w), &dev)?,
                        Tensor::randn(0f32, 3.0, (2, nc, h, w), &dev)?,
                        s,
                    ))
                })
                .collect::<Result<_>>()?;
        let got = decode(&levels, reg_max, nc)?;
        let want = reference(&levels, reg_max)?;
        assert_eq!(got.dims(), &[2, 4 + nc, 80 + 20 + 6]);
        let diff = (got - want)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        // Boxes up to ~32·(16 + 10) pixels: a few ulps of f32.
        assert!(diff < 1e-3, "max |Δ| {diff}");
        Ok(())
    }
}
