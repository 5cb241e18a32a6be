//! YOLOv8 and YOLO11 (detect and segment heads) in candle.
//!
//! Mirrors Ultralytics' modules (`ultralytics/nn/modules/{conv,block,head}.py`): one struct
//! per block, loaded from a `VarBuilder` whose names are the checkpoint keys of an
//! Ultralytics ONNX export (`model.N.cv1.conv.weight` …, BatchNorm already folded into the
//! conv bias). Width and depth are read from the weights (channel counts from shapes, block
//! counts from the keys present), so n/s/m/l/x all load; which bottlenecks add their input
//! comes from the export's graph and is recorded at import ([`YoloConfig::residual`]).
//!
//! Input: `[1, 3, H, W]` RGB in 0–1, H and W multiples of 32 (letterboxed, see
//! [`crate::preprocess`]). Output: [`YoloOutput`] with `preds` `[1, 4 + nc (+ nm), A]`:
//! box centre x, y, width, height in input pixels, then per-class sigmoid scores, then (segment
//! models) `nm` mask coefficients; `A = Σ (H/s)(W/s)` over strides 8, 16, 32.

use std::collections::BTreeSet;

use candle_core::{DType, Module, Result, Tensor};
use candle_nn::{Conv2d, Conv2dConfig, VarBuilder};
use serde::{Deserialize, Serialize};

use crate::kernels::{Act, FusedConv, profile};

mod concat;
mod head;

pub use self::head::{Branch, Head, Proto, YoloOutput};

/// Which Ultralytics generation the weights belong to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum YoloVersion {
    /// YOLOv8: C2f blocks, SPPF at layer 9, head at 22.
    V8,
    /// YOLO11: C3k2 blocks, SPPF at 9, C2PSA at 10, head at 23.
    V11,
}

/// Structure facts recorded at import (see `crate::import`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YoloConfig {
    /// Generation.
    pub version: YoloVersion,
    /// Number of classes.
    pub num_classes: usize,
    /// Segmentation head present (mask coefficients and prototypes).
    pub segment: bool,
    /// Module paths of the bottlenecks whose output adds their input (`model.2.m.0`,
    /// `model.6.m.0.m.1` …), read from the export's `Add` nodes.
    pub residual: BTreeSet<String>,
    /// Module paths of the `Conv` blocks without an activation (`model.9.cv1` in
    /// Ultralytics ≥ 8.4, the attention's `qkv`/`proj`/`pe` …): convs whose output feeds no
    /// `Sigmoid` in the export's graph.
    pub linear: BTreeSet<String>,
}

/// Ultralytics `Conv`: conv (BN folded into its bias) then SiLU (`act`) or nothing.
/// Dense convolutions run through [`FusedConv`] (one `gemm` per band, bias + SiLU + the
/// residual add fused into the band's epilogue); depthwise ones (`DWConv`) through
/// [`crate::ops::depthwise`].
#[derive(Debug, Clone)]
pub struct ConvBlock {
    conv: Conv2d,
    fused: Option<FusedConv>,
    /// Depthwise: the bias read out once.
    dw_bias: Option<Vec<f32>>,
    act: bool,
}

impl ConvBlock {
    /// Loads `{prefix}.conv.weight` `[c2, c1/g, k, k]` and `.bias` `[c2]`; padding `k/2`.
    /// `depthwise`: groups = c2 (Ultralytics `DWConv` with c1 = c2). SiLU follows unless
    /// the block's path is in `cfg.linear`.
    ///
    /// # Errors
    /// Missing or malformed weights.
    pub fn load(vb: VarBuilder, stride: usize, depthwise: bool, cfg: &YoloConfig) -> Result<Self> {
        let act = !cfg.linear.contains(&vb.prefix());
        let conv = raw_conv(vb.pp("conv"), stride, depthwise)?;
        let dw_bias = match (depthwise, conv.bias()) {
            (true, Some(b)) => Some(b.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?),
            _ => None,
        };
        let fused = if depthwise {
            None
        } else {
            let c = conv.config();
            Some(FusedConv::new(
                conv.weight(),
                conv.bias(),
                c.stride,
                c.padding,
                if act { Act::Silu } else { Act::Linear },
            )?)
        };
        Ok(Self {
            conv,
            fused,
            dw_bias,
            act,
        })
    }

    /// The block's output plus `residual` (added after the activation, in the same pass).
    ///
    /// # Errors
    /// Shape errors.
    pub fn forward_add(&self, x: &Tensor, residual: Option<&Tensor>) -> Result<Tensor> {
        if let Some(f) = &self.fused {
            return f.forward(x, residual);
        }
        // Not fused: a depthwise block (`DWConv`).
        let cfg = self.conv.config();
        let y = crate::ops::depthwise_fused(
            x,
            self.conv.weight(),
            self.dw_bias.as_deref(),
            if self.act { Act::Silu } else { Act::Linear },
            cfg.padding,
            (cfg.stride, cfg.stride),
        )?;
        match residual {
            Some(r) => y + r,
            None => Ok(y),
        }
    }
}

impl Module for ConvBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.forward_add(x, None)
    }
}

/// `Conv2d::forward` through the fast paths of [`crate::ops::conv2d`].
fn conv_forward(conv: &Conv2d, x: &Tensor) -> Result<Tensor> {
    let cfg = conv.config();
    let y = crate::ops::conv2d(x, conv.weight(), cfg.padding, cfg.stride, cfg.groups)?;
    match conv.bias() {
        Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1))?),
        None => Ok(y),
    }
}

/// A plain `nn.Conv2d` (with bias) at `vb`: `weight` `[c2, c1/g, k, k]`, padding `k/2`.
fn raw_conv(vb: VarBuilder, stride: usize, depthwise: bool) -> Result<Conv2d> {
    let weight = vb.get_unchecked("weight")?;
    let bias = vb.get_unchecked("bias").ok();
    let (c2, _, k, _) = weight.dims4()?;
    let cfg = Conv2dConfig {
        padding: k / 2,
        stride,
        dilation: 1,
        groups: if depthwise { c2 } else { 1 },
        cudnn_fwd_algo: None,
    };
    Ok(Conv2d::new(weight, bias, cfg))
}

/// Ultralytics `Bottleneck`: `cv2(cv1(x))`, plus `x` when `add`.
#[derive(Debug, Clone)]
pub struct Bottleneck {
    cv1: ConvBlock,
    cv2: ConvBlock,
    add: bool,
}

impl Bottleneck {
    /// Loads `{prefix}.cv1`, `{prefix}.cv2`.
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, add: bool, cfg: &YoloConfig) -> Result<Self> {
        Ok(Self {
            cv1: ConvBlock::load(vb.pp("cv1"), 1, false, cfg)?,
            cv2: ConvBlock::load(vb.pp("cv2"), 1, false, cfg)?,
            add,
        })
    }
}

impl Module for Bottleneck {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.cv1.forward(x)?;
        self.cv2.forward_add(&y, self.add.then_some(x))
    }
}

/// Ultralytics `C3k`: `cv3(cat(m(cv1(x)), cv2(x)))` with bottlenecks under `m.j`.
#[derive(Debug, Clone)]
pub struct C3k {
    cv1: ConvBlock,
    cv2: ConvBlock,
    cv3: ConvBlock,
    m: Vec<Bottleneck>,
}

impl C3k {
    fn load(vb: VarBuilder, path: &str, cfg: &YoloConfig) -> Result<Self> {
        let m = count_children(&vb, "m")
            .into_iter()
            .map(|j| {
                Bottleneck::load(
                    vb.pp(format!("m.{j}")),
                    cfg.residual.contains(&format!("{path}.m.{j}")),
                    cfg,
                )
            })
            .collect::<Result<_>>()?;
        Ok(Self {
            cv1: ConvBlock::load(vb.pp("cv1"), 1, false, cfg)?,
            cv2: ConvBlock::load(vb.pp("cv2"), 1, false, cfg)?,
            cv3: ConvBlock::load(vb.pp("cv3"), 1, false, cfg)?,
            m,
        })
    }
}

impl Module for C3k {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let mut y = self.cv1.forward(x)?;
        for b in &self.m {
            y = b.forward(&y)?;
        }
        self.cv3
            .forward(&Tensor::cat(&[&y, &self.cv2.forward(x)?], 1)?)
    }
}

/// The inner block of a [`C2f`]: a bottleneck (C2f, C3k2 with `c3k=False`) or a C3k.
#[derive(Debug, Clone)]
#[allow(clippy::large_enum_variant)] // a handful per model, built once at load
pub enum Inner {
    /// `Bottleneck`.
    Bottleneck(Bottleneck),
    /// `C3k`.
    C3k(C3k),
}

impl Module for Inner {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Bottleneck(b) => b.forward(x),
            Self::C3k(c) => c.forward(x),
        }
    }
}

/// Ultralytics `C2f` and `C3k2` (a C2f whose inner blocks may be C3k): `cv1` splits into two
/// halves, each inner block extends the list from the last item, `cv2` fuses the concat.
#[derive(Debug, Clone)]
pub struct C2f {
    cv1: ConvBlock,
    cv2: ConvBlock,
    m: Vec<Inner>,
}

impl C2f {
    /// Loads a C2f/C3k2 at `path` (`model.N`).
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, path: &str, cfg: &YoloConfig) -> Result<Self> {
        let mut m = Vec::new();
        for j in count_children(&vb, "m") {
            let inner = vb.pp(format!("m.{j}"));
            let inner_path = format!("{path}.m.{j}");
            m.push(if inner.contains_tensor("cv3.conv.weight") {
                Inner::C3k(C3k::load(inner, &inner_path, cfg)?)
            } else {
                let add = cfg.residual.contains(&inner_path);
                Inner::Bottleneck(Bottleneck::load(inner, add, cfg)?)
            });
        }
        Ok(Self {
            cv1: ConvBlock::load(vb.pp("cv1"), 1, false, cfg)?,
            cv2: ConvBlock::load(vb.pp("cv2"), 1, false, cfg)?,
            m,
        })
    }
}

impl Module for C2f {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        if let Some(y) = self.forward_in_place(x)? {
            return Ok(y);
        }
        let y = self.cv1.forward(x)?;
        let c = y.dim(1)? / 2;
        let mut ys = vec![y.narrow(1, 0, c)?, y.narrow(1, c, c)?];
        for block in &self.m {
            let next = block.forward(ys.last().expect("two halves"))?;
            ys.push(next);
        }
        self.cv2.forward(&Tensor::cat(&ys, 1)?)
    }
}

/// Ultralytics `SPPF` (k = 5): three chained 5×5 stride-1 max-pools, concat, fuse.
///
/// PyTorch pads max-pooling with −∞ (candle's example pads with zeros, which moves boxes
/// because SiLU outputs can be negative): [`crate::ops::sppf_pyramid`] does so.
#[derive(Debug, Clone)]
pub struct Sppf {
    cv1: ConvBlock,
    cv2: ConvBlock,
}

impl Sppf {
    /// Loads `cv1`, `cv2`.
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, cfg: &YoloConfig) -> Result<Self> {
        Ok(Self {
            cv1: ConvBlock::load(vb.pp("cv1"), 1, false, cfg)?,
            cv2: ConvBlock::load(vb.pp("cv2"), 1, false, cfg)?,
        })
    }
}

impl Module for Sppf {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        self.cv2
            .forward(&crate::ops::sppf_pyramid(&self.cv1.forward(x)?)?)
    }
}

/// Ultralytics `Attention` (YOLO11's PSA): multi-head attention over all positions with
/// `key_dim = head_dim / 2`, plus a depthwise 3×3 positional encoding of `v`.
#[derive(Debug, Clone)]
pub struct Attention {
    qkv: ConvBlock,
    proj: ConvBlock,
    pe: ConvBlock,
    num_heads: usize,
    key_dim: usize,
    head_dim: usize,
}

impl Attention {
    /// Loads `qkv`, `proj`, `pe` for `dim` channels (`num_heads = dim / 64`).
    ///
    /// # Errors
    /// Missing weights, or channel counts that do not fit the head layout.
    pub fn load(vb: VarBuilder, dim: usize, cfg: &YoloConfig) -> Result<Self> {
        let num_heads = (dim / 64).max(1);
        let head_dim = dim / num_heads;
        let key_dim = head_dim / 2;
        let qkv = ConvBlock::load(vb.pp("qkv"), 1, false, cfg)?;
        let expected = dim + 2 * key_dim * num_heads;
        let got = qkv.conv.weight().dim(0)?;
        if got != expected {
            candle_core::bail!("attention qkv has {got} channels, expected {expected}");
        }
        Ok(Self {
            qkv,
            proj: ConvBlock::load(vb.pp("proj"), 1, false, cfg)?,
            pe: ConvBlock::load(vb.pp("pe"), 1, true, cfg)?,
            num_heads,
            key_dim,
            head_dim,
        })
    }
}

impl Attention {
    /// `residual + attn(x)`: the residual added by `proj`'s kernel, the score scale folded
    /// into the softmax. `x` `[B, C, H, W]`.
    ///
    /// # Errors
    /// Shape errors.
    pub fn forward_add(&self, x: &Tensor, residual: &Tensor) -> Result<Tensor> {
        let (b, c, h, w) = x.dims4()?;
        let n = h * w;
        let qkv = self.qkv.forward(x)?.reshape((
            b,
            self.num_heads,
            2 * self.key_dim + self.head_dim,
            n,
        ))?;
        let q = qkv.narrow(2, 0, self.key_dim)?;
        let k = qkv.narrow(2, self.key_dim, self.key_dim)?;
        let v = qkv
            .narrow(2, 2 * self.key_dim, self.head_dim)?
            .contiguous()?;
        let scale = (self.key_dim as f32).powf(-0.5);
        // Scores [B, heads, N, N] = softmax(scale · qᵀk) over keys.
        let attn = q.transpose(2, 3)?.contiguous()?.matmul(&k.contiguous()?)?;
        let attn = crate::ops::softmax_last_dim(&attn, scale)?;
        let out = v.matmul(&attn.transpose(2, 3)?)?.reshape((b, c, h, w))?;
        let pe = self.pe.forward(&v.reshape((b, c, h, w))?)?;
        self.proj.forward_add(&(out + pe)?, Some(residual))
    }
}

/// Ultralytics `PSABlock`: `x + attn(x)`, then `x + ffn(x)`.
#[derive(Debug, Clone)]
pub struct PsaBlock {
    attn: Attention,
    ffn0: ConvBlock,
    ffn1: ConvBlock,
}

impl PsaBlock {
    /// Loads `attn`, `ffn.0`, `ffn.1`.
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, dim: usize, cfg: &YoloConfig) -> Result<Self> {
        Ok(Self {
            attn: Attention::load(vb.pp("attn"), dim, cfg)?,
            ffn0: ConvBlock::load(vb.pp("ffn.0"), 1, false, cfg)?,
            ffn1: ConvBlock::load(vb.pp("ffn.1"), 1, false, cfg)?,
        })
    }
}

impl Module for PsaBlock {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let x = self.attn.forward_add(x, x)?;
        self.ffn1.forward_add(&self.ffn0.forward(&x)?, Some(&x))
    }
}

/// Ultralytics `C2PSA`: split, PSA blocks on the second half, fuse.
#[derive(Debug, Clone)]
pub struct C2Psa {
    cv1: ConvBlock,
    cv2: ConvBlock,
    m: Vec<PsaBlock>,
}

impl C2Psa {
    /// Loads `cv1`, `cv2`, `m.j`.
    ///
    /// # Errors
    /// Missing weights.
    pub fn load(vb: VarBuilder, cfg: &YoloConfig) -> Result<Self> {
        let cv1 = ConvBlock::load(vb.pp("cv1"), 1, false, cfg)?;
        let c = cv1.conv.weight().dim(0)? / 2;
        let m = count_children(&vb, "m")
            .into_iter()
            .map(|j| PsaBlock::load(vb.pp(format!("m.{j}")), c, cfg))
            .collect::<Result<_>>()?;
        Ok(Self {
            cv1,
            cv2: ConvBlock::load(vb.pp("cv2"), 1, false, cfg)?,
            m,
        })
    }
}

impl Module for C2Psa {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        let y = self.cv1.forward(x)?;
        let c = y.dim(1)? / 2;
        let a = y.narrow(1, 0, c)?;
        let mut b = y.narrow(1, c, c)?;
        for blk in &self.m {
            b = blk.forward(&b)?;
        }
        self.cv2.forward(&Tensor::cat(&[&a, &b], 1)?)
    }
}

enum Layer {
    Conv(ConvBlock),
    C2f(C2f),
    Sppf(Sppf),
    C2Psa(C2Psa),
}

impl Layer {
    fn forward(&self, x: &Tensor) -> Result<Tensor> {
        match self {
            Self::Conv(c) => c.forward(x),
            Self::C2f(c) => c.forward(x),
            Self::Sppf(s) => s.forward(x),
            Self::C2Psa(c) => c.forward(x),
        }
    }
}

/// A whole YOLOv8 / YOLO11 model.
pub struct Yolo {
    layers: Vec<Layer>,
    head: Head,
    config: YoloConfig,
}

impl Yolo {
    /// Loads the model from weights named as in the Ultralytics checkpoint.
    ///
    /// # Errors
    /// Missing or mis-shaped weights.
    pub fn load(vb: VarBuilder, config: YoloConfig) -> Result<Self> {
        let cfg = &config;
        let m = vb.pp("model");
        let conv = |i: usize, stride| -> Result<Layer> {
            Ok(Layer::Conv(ConvBlock::load(m.pp(i), stride, false, cfg)?))
        };
        let c2f = |i: usize| -> Result<Layer> {
            Ok(Layer::C2f(C2f::load(m.pp(i), &format!("model.{i}"), cfg)?))
        };
        // The computational layers in index order; upsample/concat layers are implicit.
        // YOLO11 inserts C2PSA at 10, shifting the head's indices by one.
        let shift = usize::from(config.version == YoloVersion::V11);
        let mut layers = vec![
            conv(0, 2)?,
            conv(1, 2)?,
            c2f(2)?,
            conv(3, 2)?,
            c2f(4)?,
            conv(5, 2)?,
            c2f(6)?,
            conv(7, 2)?,
            c2f(8)?,
            Layer::Sppf(Sppf::load(m.pp(9), cfg)?),
        ];
        if shift == 1 {
            layers.push(Layer::C2Psa(C2Psa::load(m.pp(10), cfg)?));
        }
        for (i, downsample) in [
            (12, false),
            (15, false),
            (16, true),
            (18, false),
            (19, true),
            (21, false),
        ] {
            layers.push(if downsample {
                conv(i + shift, 2)?
            } else {
                c2f(i + shift)?
            });
        }
        let head_index = 22 + shift;
        let head = Head::load(m.pp(head_index), cfg)?;
        Ok(Self {
            layers,
            head,
            config,
        })
    }

    /// The structure facts this model was loaded with.
    pub fn config(&self) -> &YoloConfig {
        &self.config
    }

    /// Runs the network on a letterboxed batch `[1, 3, H, W]` (RGB, 0–1, f32).
    ///
    /// # Errors
    /// Shape errors (H or W not a multiple of 32).
    pub fn forward(&self, x: &Tensor) -> Result<YoloOutput> {
        self.forward_opts(x, true)
    }

    /// [`Self::forward`]; without `masks` a segment model skips its mask branch and
    /// prototypes (the live cameras and plate reading need boxes only: ~35 ms of the
    /// vehicles model's ~150 ms at 640×640).
    ///
    /// # Errors
    /// As [`Self::forward`].
    pub fn forward_opts(&self, x: &Tensor, masks: bool) -> Result<YoloOutput> {
        let (_, _, h, w) = x.dims4()?;
        if h % 32 != 0 || w % 32 != 0 {
            candle_core::bail!("input {h}×{w} is not a multiple of 32");
        }
        let x = x.to_dtype(DType::F32)?;
        let l = &self.layers;
        let up = |t: &Tensor| crate::ops::upsample_nearest_add(t, None, (2, 2));
        // Backbone.
        let (p3, p4, mut p5) = profile::stage("yolo backbone", || -> Result<_> {
            let x1 = l[1].forward(&l[0].forward(&x)?)?;
            let p3 = l[4].forward(&l[3].forward(&l[2].forward(&x1)?)?)?; // stride 8
            let p4 = l[6].forward(&l[5].forward(&p3)?)?; // stride 16
            let p5 = l[8].forward(&l[7].forward(&p4)?)?;
            Ok((p3, p4, p5))
        })?;
        p5 = profile::stage("yolo sppf", || l[9].forward(&p5))?; // SPPF, stride 32
        let mut k = 10;
        if self.config.version == YoloVersion::V11 {
            p5 = profile::stage("yolo c2psa", || l[10].forward(&p5))?; // C2PSA
            k = 11;
        }
        // Neck (PAN-FPN).
        let feats = profile::stage("yolo neck", || -> Result<_> {
            let h1 = l[k].forward(&Tensor::cat(&[&up(&p5)?, &p4], 1)?)?;
            let out3 = l[k + 1].forward(&Tensor::cat(&[&up(&h1)?, &p3], 1)?)?;
            let out4 = l[k + 3].forward(&Tensor::cat(&[&l[k + 2].forward(&out3)?, &h1], 1)?)?;
            let out5 = l[k + 5].forward(&Tensor::cat(&[&l[k + 4].forward(&out4)?, &p5], 1)?)?;
            Ok([out3, out4, out5])
        })?;
        let strides: Vec<f64> = feats
            .iter()
            .map(|f| f.dim(2).map(|fh| h as f64 / fh as f64))
            .collect::<Result<_>>()?;
        profile::stage("yolo head", || {
            self.head.forward_opts(&feats, &strides, masks)
        })
    }
}

/// Indices `j` for which `{name}.{j}.…` tensors exist under `vb`, in order.
fn count_children(vb: &VarBuilder, name: &str) -> Vec<usize> {
    (0..)
        .take_while(|j| {
            [
                "cv1.conv.weight",
                "0.conv.weight",
                "0.0.conv.weight",
                "attn.qkv.conv.weight",
            ]
            .iter()
            .any(|leaf| vb.contains_tensor(&format!("{name}.{j}.{leaf}")))
        })
        .collect()
}
