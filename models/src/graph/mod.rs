//! A small ONNX graph executor over candle tensors, for the PP-OCR networks.
//!
//! PaddleOCR's exports (paddle2onnx) name weights by global counters (`conv2d_395.w_0`,
//! `batch_norm2d_148.w_0`) rather than by module path, and compute reshapes from runtime
//! shapes (`Shape → Slice → Concat → Reshape`). This executor runs such graphs node by node
//! with candle operations, converting weights once at load; it implements exactly the
//! operators PP-OCRv4 det/rec/cls use (listed in [`OnnxGraph::SUPPORTED`]) and refuses any
//! other graph at load time, naming the operator.
//!
//! Value layout follows ONNX: NCHW activations, `[C_out, C_in/g, kh, kw]` conv weights.
//! Integer tensors (shapes, axes) are kept on the host as `Vec<i64>`.

use std::collections::HashMap;

use candle_core::{DType, Device, Result, Tensor, bail};

use crate::onnx::{AttributeProto, NodeProto, OnnxModel};

mod fuse;
mod small;

use self::fuse::{ConvEpilogue, fuse, fuse_conv_epilogues};
use self::small::BinOp;

#[derive(Debug, Clone)]
enum Value {
    T(Tensor),
    I(Vec<i64>),
}

impl Value {
    fn t(&self) -> Result<&Tensor> {
        match self {
            Self::T(t) => Ok(t),
            Self::I(_) => bail!("expected a float tensor, got integers"),
        }
    }

    fn ints(&self) -> Result<Vec<i64>> {
        match self {
            Self::I(v) => Ok(v.clone()),
            Self::T(t) => Ok(t
                .flatten_all()?
                .to_dtype(DType::F32)?
                .to_vec1::<f32>()?
                .into_iter()
                .map(|v| v as i64)
                .collect()),
        }
    }
}

/// A loaded graph with one input and one output.
pub struct OnnxGraph {
    nodes: Vec<NodeProto>,
    consts: HashMap<String, Value>,
    /// For each node, the values whose last use it is (freed after it runs).
    frees: Vec<Vec<String>>,
    input: String,
    output: String,
    device: Device,
    /// Dense convolutions (group 1, symmetric padding, equal strides, no dilation) with
    /// their weights read out once at load, by output name: they run through
    /// [`crate::kernels::FusedConv`] (Winograd for stride-1 3×3 ones).
    dense: HashMap<String, crate::kernels::FusedConv>,
    /// Depthwise convolutions with constant weights, by output name.
    depthwise: HashMap<String, Depthwise>,
    /// Transposed convolutions whose kernel is their stride, by output name.
    transposed: HashMap<String, crate::ops::ConvTransposed>,
}

/// A depthwise convolution prepared at load (with what [`fuse_conv_epilogues`] folded in).
struct Depthwise {
    /// `[C, 1, kh, kw]`.
    weight: Tensor,
    /// `[C]`.
    bias: Vec<f32>,
    act: crate::kernels::Act,
    pad: usize,
    strides: (usize, usize),
}

/// How a convolution with constant weights runs: prepared at load, by output name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Prebuilt {
    /// Group 1, equal strides, symmetric padding, no dilation: a [`crate::kernels::FusedConv`].
    Dense { stride: usize, pad: usize },
    /// One filter per channel, symmetric padding, no dilation: [`crate::ops::depthwise_fused`].
    Depthwise { pad: usize, strides: (usize, usize) },
    /// `ConvTranspose` with group 1, kernel = stride, no padding:
    /// [`crate::ops::ConvTransposed`].
    Transposed,
}

/// Whether and how a `Conv` node is prepared at load (constant weights and bias, a
/// geometry the fast paths take).
fn prebuilt(n: &NodeProto, consts: &HashMap<String, Value>) -> Option<Prebuilt> {
    let strides = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
    let dil = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
    let pads = attr_ints(n, "pads").unwrap_or(vec![0; 4]);
    let group = attr_i(n, "group", 1);
    let is_const = |k: usize| {
        matches!(
            n.input.get(k).and_then(|i| consts.get(i)),
            Some(Value::T(_))
        )
    };
    let has_bias = n.input.get(2).is_some_and(|s| !s.is_empty());
    let Some(Value::T(w)) = n.input.get(1).and_then(|i| consts.get(i)) else {
        return None;
    };
    if strides.len() != 2
        || dil.iter().any(|&d| d != 1)
        || pads.iter().any(|&p| p != pads[0])
        || (has_bias && !is_const(2))
    {
        return None;
    }
    let (c_out, c_in_g, kh, kw) = w.dims4().ok()?;
    if n.op_type == "ConvTranspose" {
        let out_pad = attr_ints(n, "output_padding").unwrap_or_default();
        return (group == 1
            && strides == [kh as i64, kw as i64]
            && pads.iter().all(|&p| p == 0)
            && out_pad.iter().all(|&p| p == 0))
        .then_some(Prebuilt::Transposed);
    }
    if n.op_type != "Conv" {
        return None;
    }
    let pad = pads.first().copied().unwrap_or(0) as usize;
    if group == 1 && strides[0] == strides[1] {
        Some(Prebuilt::Dense {
            stride: strides[0] as usize,
            pad,
        })
    } else if group > 1 && c_in_g == 1 && c_out as i64 == group {
        Some(Prebuilt::Depthwise {
            pad,
            strides: (strides[0] as usize, strides[1] as usize),
        })
    } else {
        None
    }
}

fn attr<'a>(n: &'a NodeProto, name: &str) -> Option<&'a AttributeProto> {
    n.attribute.iter().find(|a| a.name == name)
}

fn attr_i(n: &NodeProto, name: &str, default: i64) -> i64 {
    attr(n, name).map_or(default, |a| a.i)
}

fn attr_f(n: &NodeProto, name: &str, default: f32) -> f32 {
    attr(n, name).map_or(default, |a| a.f)
}

fn attr_ints(n: &NodeProto, name: &str) -> Option<Vec<i64>> {
    attr(n, name).map(|a| a.ints.clone())
}

fn axis(a: i64, rank: usize) -> usize {
    if a < 0 {
        (rank as i64 + a) as usize
    } else {
        a as usize
    }
}

/// Fused `x · clip(x + 3, 0, 6) / 6` (the HardSwish that Paddle exports as four nodes).
const FUSED_HARDSWISH: &str = "vf.HardSwish";
/// Fused `w · x + b` with scalar `w`, `b` (PP-LCNetV3's learnable affine blocks).
const FUSED_AFFINE: &str = "vf.Affine";
/// Fused `base + Resize(x)` (nearest, integer factors; the FPN's top-down path): inputs
/// `base`, then the `Resize` node's.
const FUSED_RESIZE_ADD: &str = "vf.ResizeAdd";

/// The integer nearest-neighbour factors `(fh, fw)` of a `Resize` whose inputs start at
/// `first` (`x`, `roi`, `scales`, `sizes`), for `x`'s size.
fn resize_factors<'v>(
    x: &Tensor,
    get: &dyn Fn(usize) -> Result<&'v Value>,
    has: &dyn Fn(usize) -> bool,
    first: usize,
) -> Result<(usize, usize)> {
    let (_, _, h, w) = x.dims4()?;
    let (nh, nw) = if has(first + 3) {
        let s = get(first + 3)?.ints()?;
        (s[2] as usize, s[3] as usize)
    } else {
        let s = get(first + 2)?.t()?.flatten_all()?.to_vec1::<f32>()?;
        (
            (h as f32 * s[2]).round() as usize,
            (w as f32 * s[3]).round() as usize,
        )
    };
    if h == 0 || w == 0 || nh % h != 0 || nw % w != 0 {
        bail!("Resize only by integer factors (nearest)");
    }
    Ok((nh / h, nw / w))
}

fn scalar_of(v: &Value) -> Result<f32> {
    let t = v.t()?;
    if t.elem_count() != 1 {
        bail!("expected a scalar, got {:?}", t.dims());
    }
    t.flatten_all()?
        .to_dtype(DType::F32)?
        .to_vec1::<f32>()?
        .first()
        .copied()
        .ok_or_else(|| candle_core::Error::Msg("empty scalar".into()))
}

impl OnnxGraph {
    /// Operators this executor implements.
    pub const SUPPORTED: &'static [&'static str] = &[
        "Add",
        "AveragePool",
        "BatchNormalization",
        "Cast",
        "Clip",
        "Concat",
        "Constant",
        "Conv",
        "ConvTranspose",
        "Div",
        "GlobalAveragePool",
        "HardSigmoid",
        "MatMul",
        "Mul",
        "Pow",
        "ReduceMean",
        "Relu",
        "Reshape",
        "Resize",
        "Shape",
        "Sigmoid",
        "Slice",
        "Softmax",
        "Sqrt",
        "Squeeze",
        "Sub",
        "Transpose",
        "Unsqueeze",
        "Flatten",
    ];

    /// Prepares a graph: weights become tensors on `device`, last uses are computed.
    ///
    /// # Errors
    /// An operator outside [`Self::SUPPORTED`], or a graph without exactly one input (beyond
    /// its weights) and one output.
    pub fn new(model: &OnnxModel, device: &Device) -> Result<Self> {
        for n in &model.nodes {
            if !Self::SUPPORTED.contains(&n.op_type.as_str()) {
                bail!(
                    "unsupported ONNX operator {} (node {:?})",
                    n.op_type,
                    n.name
                );
            }
        }
        let mut consts = HashMap::new();
        for (name, w) in &model.weights {
            let v = match &w.ints {
                Some(ints) => Value::I(ints.clone()),
                None => Value::T(Tensor::from_vec(w.data.clone(), w.dims.clone(), device)?),
            };
            consts.insert(name.clone(), v);
        }
        let input = model
            .inputs
            .iter()
            .find(|i| !consts.contains_key(*i))
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("the graph has no data input".into()))?;
        let output = model
            .outputs
            .first()
            .cloned()
            .ok_or_else(|| candle_core::Error::Msg("the graph has no output".into()))?;
        let nodes: Vec<NodeProto> = model
            .nodes
            .iter()
            .filter(|n| n.op_type != "Constant")
            .cloned()
            .collect();
        let nodes = fuse(nodes, &consts, &output);
        let (nodes, epilogues) =
            fuse_conv_epilogues(nodes, &consts, &output, |n| prebuilt(n, &consts).is_some())?;
        let mut last_use: HashMap<&str, usize> = HashMap::new();
        for (i, n) in nodes.iter().enumerate() {
            for inp in &n.input {
                last_use.insert(inp.as_str(), i);
            }
        }
        let mut frees = vec![Vec::new(); nodes.len()];
        for (name, i) in last_use {
            if !consts.contains_key(name) && name != output {
                frees[i].push(name.to_owned());
            }
        }
        let (mut dense, mut depthwise) = (HashMap::new(), HashMap::new());
        let mut transposed = HashMap::new();
        for n in &nodes {
            let (Some(kind), Some(out)) = (prebuilt(n, &consts), n.output.first()) else {
                continue;
            };
            let tensor = |k: usize| match n.input.get(k).and_then(|i| consts.get(i)) {
                Some(Value::T(t)) => Some(t.to_dtype(DType::F32)),
                _ => None,
            };
            let w = tensor(1).ok_or_else(|| candle_core::Error::Msg("no conv weight".into()))??;
            let b = tensor(2).transpose()?;
            let plain = ConvEpilogue::identity();
            let epi = epilogues.get(out).unwrap_or(&plain);
            let axis = usize::from(kind == Prebuilt::Transposed);
            let (w, b) = epi.fold(&w, b.as_ref(), axis)?;
            match kind {
                Prebuilt::Dense { stride, pad } => {
                    let conv = crate::kernels::FusedConv::new(&w, Some(&b), stride, pad, epi.act)?;
                    dense.insert(out.clone(), conv);
                }
                Prebuilt::Depthwise { pad, strides } => {
                    let bias = b.to_vec1::<f32>()?;
                    let (weight, act) = (w, epi.act);
                    let d = Depthwise {
                        weight,
                        bias,
                        act,
                        pad,
                        strides,
                    };
                    depthwise.insert(out.clone(), d);
                }
                Prebuilt::Transposed => {
                    let ct = crate::ops::ConvTransposed::new(&w, &b.to_vec1::<f32>()?, epi.act)?;
                    transposed.insert(out.clone(), ct);
                }
            }
        }
        Ok(Self {
            nodes,
            consts,
            frees,
            input,
            output,
            device: device.clone(),
            dense,
            depthwise,
            transposed,
        })
    }

    /// Runs the graph on one input tensor and returns its output.
    ///
    /// # Errors
    /// Shape errors (e.g. an input of the wrong rank).
    pub fn run(&self, input: &Tensor) -> Result<Tensor> {
        let mut vals: HashMap<String, Value> = HashMap::new();
        vals.insert(self.input.clone(), Value::T(input.to_device(&self.device)?));
        let profile = std::env::var_os("VF_GRAPH_PROFILE").is_some();
        let mut spent: HashMap<String, std::time::Duration> = HashMap::new();
        for (i, n) in self.nodes.iter().enumerate() {
            let started = std::time::Instant::now();
            let get = |k: usize| -> Result<&Value> {
                let name = n.input.get(k).ok_or_else(|| {
                    candle_core::Error::Msg(format!("{}: missing input {k}", n.op_type))
                })?;
                vals.get(name)
                    .or_else(|| self.consts.get(name))
                    .ok_or_else(|| {
                        candle_core::Error::Msg(format!("{}: unknown value {name}", n.op_type))
                    })
            };
            let has = |k: usize| n.input.get(k).is_some_and(|s| !s.is_empty());
            // Convolutions are told apart by weight, group, stride and input shape.
            let key = if profile && n.op_type == "Conv" {
                let dims = |k: usize| {
                    get(k)
                        .ok()
                        .and_then(|v| v.t().ok())
                        .map(|t| t.dims().to_vec())
                        .unwrap_or_default()
                };
                format!(
                    "Conv w{:?} g{} s{:?} x{:?}",
                    dims(1),
                    attr_i(n, "group", 1),
                    attr_ints(n, "strides").unwrap_or(vec![1, 1]),
                    dims(0)
                )
            } else {
                n.op_type.clone()
            };
            let out = self.eval(n, &get, &has).map_err(|e| {
                candle_core::Error::Msg(format!("node {} ({}): {e}", n.name, n.op_type))
            })?;
            for name in &self.frees[i] {
                vals.remove(name);
            }
            if let Some(o) = n.output.first() {
                vals.insert(o.clone(), out);
            }
            if profile {
                *spent.entry(key).or_default() += started.elapsed();
            }
        }
        if profile {
            let mut v: Vec<_> = spent.into_iter().collect();
            v.sort_by_key(|e| std::cmp::Reverse(e.1));
            eprintln!("graph profile: {v:?}");
        }
        match vals.remove(&self.output) {
            Some(Value::T(t)) => Ok(t),
            _ => bail!("the graph produced no tensor output"),
        }
    }

    fn eval<'v>(
        &self,
        n: &NodeProto,
        get: &dyn Fn(usize) -> Result<&'v Value>,
        has: &dyn Fn(usize) -> bool,
    ) -> Result<Value> {
        let t = |k: usize| -> Result<Tensor> { Ok(get(k)?.t()?.clone()) };
        let binary = |op: BinOp, f: fn(&Tensor, &Tensor) -> Result<Tensor>| -> Result<Value> {
            let (a, b) = (t(0)?, t(1)?);
            Ok(Value::T(match small::binary(&a, &b, op)? {
                Some(y) => y,
                None => f(&a, &b)?,
            }))
        };
        Ok(match n.op_type.as_str() {
            "Add" => binary(BinOp::Add, |a, b| a.broadcast_add(b))?,
            "Sub" => binary(BinOp::Sub, |a, b| a.broadcast_sub(b))?,
            "Mul" => binary(BinOp::Mul, |a, b| a.broadcast_mul(b))?,
            "Div" => binary(BinOp::Div, |a, b| a.broadcast_div(b))?,
            "Pow" => {
                let e = get(1)?.t()?.flatten_all()?.to_vec1::<f32>()?;
                match e.as_slice() {
                    [2.0] => Value::T(t(0)?.sqr()?),
                    [e] => Value::T(t(0)?.powf(f64::from(*e))?),
                    _ => bail!("Pow needs a scalar exponent"),
                }
            }
            "Sqrt" => Value::T(t(0)?.sqrt()?),
            "Relu" => Value::T(t(0)?.relu()?),
            "Sigmoid" => Value::T(candle_nn::ops::sigmoid(&t(0)?)?),
            "HardSigmoid" => {
                let (a, b) = (attr_f(n, "alpha", 0.2), attr_f(n, "beta", 0.5));
                Value::T(
                    t(0)?
                        .affine(f64::from(a), f64::from(b))?
                        .clamp(0f32, 1f32)?,
                )
            }
            "Clip" => {
                let scalar = |k: usize| -> Result<Option<f32>> {
                    if has(k) {
                        Ok(get(k)?
                            .t()?
                            .flatten_all()?
                            .to_vec1::<f32>()?
                            .first()
                            .copied())
                    } else {
                        Ok(None)
                    }
                };
                let lo = scalar(1)?.unwrap_or(attr_f(n, "min", f32::MIN));
                let hi = scalar(2)?.unwrap_or(attr_f(n, "max", f32::MAX));
                Value::T(t(0)?.clamp(lo, hi)?)
            }
            FUSED_HARDSWISH => Value::T(crate::ops::hardswish(&t(0)?)?),
            FUSED_AFFINE => {
                let (w, b) = (scalar_of(get(1)?)?, scalar_of(get(2)?)?);
                Value::T(crate::ops::affine(&t(0)?, w, b)?)
            }
            "Conv" => {
                Value::T(self.conv(n, &t(0)?, &t(1)?, if has(2) { Some(t(2)?) } else { None })?)
            }
            "ConvTranspose" => {
                if let Some(ct) = n.output.first().and_then(|o| self.transposed.get(o)) {
                    return Ok(Value::T(ct.forward(&t(0)?)?));
                }
                let strides = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
                let pads = attr_ints(n, "pads").unwrap_or(vec![0; 4]);
                let out_pad = attr_ints(n, "output_padding").unwrap_or(vec![0, 0]);
                if attr_i(n, "group", 1) != 1
                    || strides[0] != strides[1]
                    || pads.iter().any(|&p| p != pads[0])
                {
                    bail!("ConvTranspose with groups or asymmetric stride/padding");
                }
                let w = t(1)?;
                let (_, _, kh, kw) = w.dims4()?;
                if pads[0] == 0
                    && out_pad.iter().all(|&p| p == 0)
                    && kh as i64 == strides[0]
                    && kw as i64 == strides[1]
                {
                    let b = if has(2) { Some(t(2)?) } else { None };
                    return Ok(Value::T(crate::ops::conv_transpose_nonoverlapping(
                        &t(0)?,
                        &w,
                        b.as_ref(),
                    )?));
                }
                let mut y = t(0)?.conv_transpose2d(
                    &t(1)?,
                    pads[0] as usize,
                    out_pad[0] as usize,
                    strides[0] as usize,
                    1,
                )?;
                if has(2) {
                    y = y.broadcast_add(&t(2)?.reshape((1, (), 1, 1))?)?;
                }
                Value::T(y)
            }
            "BatchNormalization" => {
                let eps = f64::from(attr_f(n, "epsilon", 1e-5));
                let (scale, bias, mean, var) = (t(1)?, t(2)?, t(3)?, t(4)?);
                let a = scale.broadcast_div(&(var + eps)?.sqrt()?)?;
                let b = (bias - mean.broadcast_mul(&a)?)?;
                let x = t(0)?;
                let shape: Vec<usize> = (0..x.rank())
                    .map(|d| if d == 1 { a.dim(0).unwrap_or(1) } else { 1 })
                    .collect();
                Value::T(
                    x.broadcast_mul(&a.reshape(shape.clone())?)?
                        .broadcast_add(&b.reshape(shape)?)?,
                )
            }
            "GlobalAveragePool" => Value::T(t(0)?.mean_keepdim(3)?.mean_keepdim(2)?),
            "AveragePool" => {
                let k = attr_ints(n, "kernel_shape").unwrap_or(vec![1, 1]);
                let s = attr_ints(n, "strides").unwrap_or(k.clone());
                if attr_ints(n, "pads").is_some_and(|p| p.iter().any(|&v| v != 0)) {
                    bail!("padded AveragePool");
                }
                Value::T(t(0)?.avg_pool2d_with_stride(
                    (k[0] as usize, k[1] as usize),
                    (s[0] as usize, s[1] as usize),
                )?)
            }
            "Resize" => {
                let x = t(0)?;
                let factors = resize_factors(&x, get, has, 0)?;
                Value::T(crate::ops::upsample_nearest_add(&x, None, factors)?)
            }
            FUSED_RESIZE_ADD => {
                let (base, x) = (t(0)?, t(1)?);
                let factors = resize_factors(&x, get, has, 1)?;
                Value::T(crate::ops::upsample_nearest_add(&x, Some(&base), factors)?)
            }
            "Concat" => {
                let ax = attr_i(n, "axis", 0);
                let vals: Vec<&Value> = (0..n.input.len()).map(get).collect::<Result<_>>()?;
                if vals.iter().all(|v| matches!(v, Value::I(_))) {
                    let mut out = Vec::new();
                    for v in vals {
                        out.extend(v.ints()?);
                    }
                    Value::I(out)
                } else {
                    let ts: Vec<&Tensor> = vals.iter().map(|v| v.t()).collect::<Result<_>>()?;
                    let rank = ts[0].rank();
                    Value::T(Tensor::cat(&ts, axis(ax, rank))?)
                }
            }
            "Shape" => Value::I(get(0)?.t()?.dims().iter().map(|&d| d as i64).collect()),
            "Cast" => match (get(0)?, attr_i(n, "to", 1)) {
                (v, 6 | 7) => Value::I(v.ints()?),
                (Value::I(v), _) => Value::T(Tensor::from_vec(
                    v.iter().map(|&x| x as f32).collect::<Vec<_>>(),
                    v.len(),
                    &self.device,
                )?),
                (Value::T(x), _) => Value::T(x.to_dtype(DType::F32)?),
            },
            "Slice" => {
                let starts = get(1)?.ints()?;
                let ends = get(2)?.ints()?;
                let axes = if has(3) {
                    get(3)?.ints()?
                } else {
                    (0..starts.len() as i64).collect()
                };
                if has(4) && get(4)?.ints()?.iter().any(|&s| s != 1) {
                    bail!("Slice with steps");
                }
                match get(0)? {
                    Value::I(v) => {
                        let len = v.len() as i64;
                        let s = starts[0].clamp(-len, len).rem_euclid(len.max(1)).min(len);
                        let e = if ends[0] < 0 {
                            (len + ends[0]).max(0)
                        } else {
                            ends[0].min(len)
                        };
                        Value::I(v[s as usize..e.max(s) as usize].to_vec())
                    }
                    Value::T(x) => {
                        let mut x = x.clone();
                        for ((&s, &e), &a) in starts.iter().zip(&ends).zip(&axes) {
                            let d = axis(a, x.rank());
                            let len = x.dim(d)? as i64;
                            let s = if s < 0 { (len + s).max(0) } else { s.min(len) };
                            let e = if e < 0 { (len + e).max(0) } else { e.min(len) };
                            x = x.narrow(d, s as usize, (e - s).max(0) as usize)?;
                        }
                        Value::T(x)
                    }
                }
            }
            "Squeeze" | "Unsqueeze" => {
                let axes = match attr_ints(n, "axes") {
                    Some(a) => a,
                    None if has(1) => get(1)?.ints()?,
                    None => Vec::new(),
                };
                match get(0)? {
                    Value::I(v) => Value::I(v.clone()),
                    Value::T(x) => {
                        let mut x = x.clone();
                        if n.op_type == "Squeeze" {
                            let rank = x.rank();
                            let mut ds: Vec<usize> = if axes.is_empty() {
                                (0..rank).filter(|&d| x.dims()[d] == 1).collect()
                            } else {
                                axes.iter().map(|&a| axis(a, rank)).collect()
                            };
                            ds.sort_unstable_by(|a, b| b.cmp(a));
                            for d in ds {
                                x = x.squeeze(d)?;
                            }
                        } else {
                            let rank = x.rank() + axes.len();
                            let mut ds: Vec<usize> = axes.iter().map(|&a| axis(a, rank)).collect();
                            ds.sort_unstable();
                            for d in ds {
                                x = x.unsqueeze(d)?;
                            }
                        }
                        Value::T(x)
                    }
                }
            }
            "Flatten" => {
                let x = t(0)?;
                let ax = axis(attr_i(n, "axis", 1), x.rank());
                let outer: usize = x.dims()[..ax].iter().product();
                Value::T(x.reshape((outer, ()))?)
            }
            "Reshape" => {
                let x = t(0)?;
                let spec = get(1)?.ints()?;
                let total = x.elem_count();
                let mut dims: Vec<usize> = Vec::with_capacity(spec.len());
                let mut infer = None;
                for (i, &s) in spec.iter().enumerate() {
                    match s {
                        0 => dims.push(x.dim(i)?),
                        -1 => {
                            infer = Some(i);
                            dims.push(1);
                        }
                        s if s > 0 => dims.push(s as usize),
                        _ => bail!("bad reshape dim {s}"),
                    }
                }
                if let Some(i) = infer {
                    let known: usize = dims.iter().product();
                    dims[i] = total / known.max(1);
                }
                Value::T(x.contiguous()?.reshape(dims)?)
            }
            "Transpose" => {
                let x = t(0)?;
                let perm: Vec<usize> = match attr_ints(n, "perm") {
                    Some(p) => p.iter().map(|&a| a as usize).collect(),
                    None => (0..x.rank()).rev().collect(),
                };
                Value::T(x.permute(perm)?.contiguous()?)
            }
            "MatMul" => {
                let (a, b) = (t(0)?, t(1)?);
                if b.rank() == 2 && a.rank() >= 2 {
                    // A weight matrix (the recogniser's CTC head, 120 → 6625 classes).
                    Value::T(crate::ops::matmul_rhs2d(&a, &b)?)
                } else if let Some(y) = small::batched_matmul(&a, &b)? {
                    // Attention (activation × activation), on this thread.
                    Value::T(y)
                } else {
                    Value::T(a.contiguous()?.broadcast_matmul(&b.contiguous()?)?)
                }
            }
            "Softmax" => {
                let x = t(0)?;
                let ax = axis(attr_i(n, "axis", -1), x.rank());
                if ax + 1 == x.rank() {
                    Value::T(crate::ops::softmax_last_dim(&x, 1.0)?)
                } else {
                    Value::T(candle_nn::ops::softmax(&x, ax)?)
                }
            }
            "ReduceMean" => {
                let mut x = t(0)?;
                let keep = attr_i(n, "keepdims", 1) == 1;
                let rank = x.rank();
                let mut axes: Vec<usize> = attr_ints(n, "axes")
                    .unwrap_or_else(|| (0..rank as i64).collect())
                    .iter()
                    .map(|&a| axis(a, rank))
                    .collect();
                axes.sort_unstable_by(|a, b| b.cmp(a));
                for d in axes {
                    x = if keep { x.mean_keepdim(d)? } else { x.mean(d)? };
                }
                Value::T(x)
            }
            other => bail!("unsupported operator {other}"),
        })
    }

    fn conv(&self, n: &NodeProto, x: &Tensor, w: &Tensor, b: Option<Tensor>) -> Result<Tensor> {
        if let Some(conv) = n.output.first().and_then(|o| self.dense.get(o)) {
            return conv.forward(x, None);
        }
        if let Some(d) = n.output.first().and_then(|o| self.depthwise.get(o)) {
            let b = Some(d.bias.as_slice());
            return crate::ops::depthwise_fused(x, &d.weight, b, d.act, d.pad, d.strides);
        }
        let strides = attr_ints(n, "strides").unwrap_or(vec![1, 1]);
        let dil = attr_ints(n, "dilations").unwrap_or(vec![1, 1]);
        let pads = attr_ints(n, "pads").unwrap_or(vec![0; 4]);
        let groups = attr_i(n, "group", 1) as usize;
        if dil[0] != dil[1] {
            bail!("Conv with different dilations per axis");
        }
        let (x, pad) = if pads.iter().all(|&p| p == pads[0]) {
            (x.clone(), pads[0] as usize)
        } else {
            // [top, left, bottom, right]
            let x = x
                .pad_with_zeros(2, pads[0] as usize, pads[2] as usize)?
                .pad_with_zeros(3, pads[1] as usize, pads[3] as usize)?;
            (x, 0)
        };
        let (c_out, c_in_g, _, _) = w.dims4()?;
        if groups == 1 && strides[0] == strides[1] && dil[0] == 1 {
            // Dense: one gemm per band with the bias added in the same pass.
            return crate::kernels::conv2d(
                &x,
                w,
                b.as_ref(),
                strides[0] as usize,
                pad,
                crate::kernels::Act::Linear,
            );
        }
        let y = if groups > 1 && c_in_g == 1 && c_out == groups && dil[0] == 1 {
            crate::ops::depthwise(&x, w, pad, strides[0] as usize, strides[1] as usize)?
        } else if strides[0] == strides[1] && dil[0] == 1 {
            crate::ops::conv2d(&x, w, pad, strides[0] as usize, groups)?
        } else if strides[0] == strides[1] {
            x.conv2d(w, pad, strides[0] as usize, dil[0] as usize, groups)?
        } else {
            // candle strides both axes alike: convolve densely, keep every s-th row/column.
            let dense = x.conv2d(w, pad, 1, dil[0] as usize, groups)?;
            let mut y = dense;
            for (d, s) in [(2usize, strides[0]), (3usize, strides[1])] {
                if s > 1 {
                    let n = y.dim(d)?;
                    let idx: Vec<u32> = (0..n as u32).step_by(s as usize).collect();
                    let idx = Tensor::from_vec(idx.clone(), idx.len(), y.device())?;
                    y = y.index_select(&idx, d)?;
                }
            }
            y
        };
        match b {
            Some(b) => y.broadcast_add(&b.reshape((1, (), 1, 1))?),
            None => Ok(y),
        }
    }
}
