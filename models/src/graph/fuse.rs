//! Load-time rewrites of an ONNX graph that save passes over memory: elementwise chains
//! fused into one node, and the elementwise nodes right after a convolution folded into it.

use std::collections::HashMap;

use candle_core::{Result, Tensor};

use super::{FUSED_AFFINE, FUSED_HARDSWISH, FUSED_RESIZE_ADD, Value, scalar_of};
use crate::{kernels::Act, onnx::NodeProto};

/// Replaces chains of elementwise nodes by one fused node where the intermediate values
/// have no other consumer: `Add(x, 3) → Clip(0, 6) → Mul(x, ·) → Div(6)` becomes
/// [`FUSED_HARDSWISH`], `Mul(w, x) → Add(·, b)` with scalar constants becomes
/// [`FUSED_AFFINE`], `Resize → Add` [`FUSED_RESIZE_ADD`]. The fused kernels do the same f32 operations in the same order, so
/// results are bit-identical; they only save passes over memory.
pub(super) fn fuse(
    nodes: Vec<NodeProto>,
    consts: &HashMap<String, Value>,
    output: &str,
) -> Vec<NodeProto> {
    let mut uses: HashMap<&str, usize> = HashMap::new();
    for n in &nodes {
        for i in &n.input {
            *uses.entry(i.as_str()).or_default() += 1;
        }
    }
    *uses.entry(output).or_default() += 1;
    let single = |name: &str| uses.get(name) == Some(&1);
    let is_scalar = |name: &str, want: Option<f32>| match consts.get(name) {
        Some(v) => scalar_of(v).is_ok_and(|s| want.is_none_or(|w| s == w)),
        None => false,
    };
    let mut out = Vec::with_capacity(nodes.len());
    let mut i = 0;
    while i < nodes.len() {
        let n = &nodes[i];
        if let [a, c, m, d] = nodes.get(i..i + 4).unwrap_or_default() {
            let x = a.input.first().map(String::as_str).unwrap_or_default();
            let hardswish = a.op_type == "Add"
                && c.op_type == "Clip"
                && m.op_type == "Mul"
                && d.op_type == "Div"
                && a.input.len() == 2
                && is_scalar(&a.input[1], Some(3.0))
                && c.input.len() == 3
                && c.input[0] == a.output[0]
                && is_scalar(&c.input[1], Some(0.0))
                && is_scalar(&c.input[2], Some(6.0))
                && m.input.len() == 2
                && ((m.input[0] == x && m.input[1] == c.output[0])
                    || (m.input[1] == x && m.input[0] == c.output[0]))
                && d.input.len() == 2
                && d.input[0] == m.output[0]
                && is_scalar(&d.input[1], Some(6.0))
                && single(&a.output[0])
                && single(&c.output[0])
                && single(&m.output[0]);
            if hardswish {
                out.push(NodeProto {
                    input: vec![x.to_owned()],
                    output: d.output.clone(),
                    name: format!("{}+fused", d.name),
                    op_type: FUSED_HARDSWISH.into(),
                    attribute: Vec::new(),
                });
                i += 4;
                continue;
            }
        }
        // Resize → Add(other, resized) (either order): the upsampled map is never stored.
        if let [r, a] = nodes.get(i..i + 2).unwrap_or_default()
            && r.op_type == "Resize"
            && super::attr(r, "mode").is_none_or(|m| m.s == b"nearest")
            && a.op_type == "Add"
            && a.input.len() == 2
            && a.input.contains(&r.output[0])
            && a.input[0] != a.input[1]
            && single(&r.output[0])
        {
            let base = if a.input[0] == r.output[0] {
                &a.input[1]
            } else {
                &a.input[0]
            };
            if !consts.contains_key(base) {
                out.push(NodeProto {
                    input: std::iter::once(base.clone())
                        .chain(r.input.iter().cloned())
                        .collect(),
                    output: a.output.clone(),
                    name: format!("{}+fused", a.name),
                    op_type: FUSED_RESIZE_ADD.into(),
                    attribute: r.attribute.clone(),
                });
                i += 2;
                continue;
            }
        }
        if let [m, a] = nodes.get(i..i + 2).unwrap_or_default()
            && m.op_type == "Mul"
            && a.op_type == "Add"
            && m.input.len() == 2
            && a.input.len() == 2
            && is_scalar(&m.input[0], None)
            && !consts.contains_key(&m.input[1])
            && a.input[0] == m.output[0]
            && is_scalar(&a.input[1], None)
            && single(&m.output[0])
        {
            out.push(NodeProto {
                input: vec![m.input[1].clone(), m.input[0].clone(), a.input[1].clone()],
                output: a.output.clone(),
                name: format!("{}+fused", a.name),
                op_type: FUSED_AFFINE.into(),
                attribute: Vec::new(),
            });
            i += 2;
            continue;
        }
        out.push(n.clone());
        i += 1;
    }
    out
}

/// What follows a convolution, folded into it at load: `scale`, `shift` (one per output
/// channel, or one for all) of an affine or inference-mode `BatchNormalization` right
/// after it, multiplied into its weights and bias; then `act`, applied by the kernel in
/// the pass that adds the bias.
#[derive(Debug, Clone, PartialEq)]
pub(super) struct ConvEpilogue {
    pub scale: Vec<f32>,
    pub shift: Vec<f32>,
    pub act: Act,
}

impl ConvEpilogue {
    /// Nothing folded in: scale 1, shift 0, no activation.
    pub fn identity() -> Self {
        Self {
            scale: vec![1.0],
            shift: vec![0.0],
            act: Act::Linear,
        }
    }

    /// `weight` (output channels along `axis`: 0 for `Conv`, 1 for `ConvTranspose`) and
    /// `bias [C_out]` (zeros when absent) with the affine folded in: `W' = s·W`, `b' = s·b +
    /// t` per output channel.
    ///
    /// # Errors
    /// Shape errors (an affine whose length is neither 1 nor `C_out`).
    pub fn fold(
        &self,
        weight: &Tensor,
        bias: Option<&Tensor>,
        axis: usize,
    ) -> Result<(Tensor, Tensor)> {
        let c_out = weight.dim(axis)?;
        let per = |v: &[f32]| -> Result<Vec<f32>> {
            match v.len() {
                1 => Ok(vec![v[0]; c_out]),
                n if n == c_out => Ok(v.to_vec()),
                n => candle_core::bail!("affine of {n} values after a conv of {c_out} channels"),
            }
        };
        let (s, t) = (per(&self.scale)?, per(&self.shift)?);
        let dev = weight.device();
        let st = Tensor::from_vec(s.clone(), c_out, dev)?;
        let mut shape = vec![1; weight.rank()];
        shape[axis] = c_out;
        let w = weight.broadcast_mul(&st.reshape(shape)?)?;
        let b = match bias {
            Some(b) => b.flatten_all()?.to_vec1::<f32>()?,
            None => vec![0.0; c_out],
        };
        let b: Vec<f32> = b
            .iter()
            .zip(&s)
            .zip(&t)
            .map(|((b, s), t)| s * b + t)
            .collect();
        Ok((w, Tensor::from_vec(b, c_out, dev)?))
    }
}

/// `y ↦ s₂·(s₁·y + t₁) + t₂`, each pair per channel or one value for all.
fn compose((s1, t1): (Vec<f32>, Vec<f32>), (s2, t2): (&[f32], &[f32])) -> (Vec<f32>, Vec<f32>) {
    let len = s1.len().max(t1.len()).max(s2.len()).max(t2.len());
    let at = |v: &[f32], i: usize| if v.len() == 1 { v[0] } else { v[i] };
    (0..len)
        .map(|i| (at(s2, i) * at(&s1, i), at(s2, i) * at(&t1, i) + at(t2, i)))
        .unzip()
}

/// Folds into each convolution (`Conv`, `ConvTranspose`) that `foldable` accepts the nodes
/// right after it whose input is its output alone (no other consumer): an `Add` of a
/// constant (a bias exported as its own node), an affine — [`FUSED_AFFINE`] or a
/// `BatchNormalization` with constant parameters — then an activation — [`FUSED_HARDSWISH`]
/// (with a [`FUSED_AFFINE`] after it), `Relu` or `Sigmoid`. The convolution node then writes the last
/// folded node's output; the returned map gives, by that output name, what it absorbed.
/// PP-OCRv4's PP-LCNetV3 blocks are `Conv → affine → HardSwish → affine` (four passes over
/// the activation, now none) and its DBNet head `Conv → BatchNormalization → Relu` and
/// `ConvTranspose → Add → BatchNormalization → Relu`.
///
/// # Errors
/// Constant parameters that are not float tensors.
pub(super) fn fuse_conv_epilogues(
    nodes: Vec<NodeProto>,
    consts: &HashMap<String, Value>,
    output: &str,
    foldable: impl Fn(&NodeProto) -> bool,
) -> Result<(Vec<NodeProto>, HashMap<String, ConvEpilogue>)> {
    let mut uses: HashMap<String, usize> = HashMap::new();
    for n in &nodes {
        for i in &n.input {
            *uses.entry(i.clone()).or_default() += 1;
        }
    }
    *uses.entry(output.to_owned()).or_default() += 1;
    let single = |name: &str| uses.get(name) == Some(&1);
    let floats = |name: &str| -> Result<Vec<f32>> {
        match consts.get(name) {
            Some(Value::T(t)) => t.flatten_all()?.to_vec1::<f32>(),
            _ => candle_core::bail!("{name} is not a constant float tensor"),
        }
    };
    let is_const = |name: &str| matches!(consts.get(name), Some(Value::T(_)));
    // The node at `j` reads `from` as its data input and is its only consumer.
    let follows = |j: usize, from: &str, op: &str| -> bool {
        nodes.get(j).is_some_and(|n| {
            n.op_type == op && n.input.first().is_some_and(|i| i == from) && single(from)
        })
    };
    let mut out = Vec::with_capacity(nodes.len());
    let mut epilogues = HashMap::new();
    let mut i = 0;
    while i < nodes.len() {
        let conv = &nodes[i];
        if !matches!(conv.op_type.as_str(), "Conv" | "ConvTranspose") || !foldable(conv) {
            out.push(conv.clone());
            i += 1;
            continue;
        }
        let mut j = i + 1;
        let mut last = conv.output[0].clone();
        let ConvEpilogue { scale, shift, .. } = ConvEpilogue::identity();
        let mut affine = (scale, shift);
        // A bias exported as its own node (`ConvTranspose → Add(b)`).
        if follows(j, &last, "Add") && nodes[j].input.len() == 2 && is_const(&nodes[j].input[1]) {
            affine = compose(affine, (&[1.0], &floats(&nodes[j].input[1])?));
            last = nodes[j].output[0].clone();
            j += 1;
        }
        if follows(j, &last, FUSED_AFFINE) && nodes[j].input.iter().skip(1).all(|n| is_const(n)) {
            let (w, b) = (floats(&nodes[j].input[1])?, floats(&nodes[j].input[2])?);
            affine = compose(affine, (&w, &b));
            last = nodes[j].output[0].clone();
            j += 1;
        } else if follows(j, &last, "BatchNormalization")
            && nodes[j].input.len() == 5
            && nodes[j].input.iter().skip(1).all(|n| is_const(n))
        {
            let n = &nodes[j];
            let eps = super::attr_f(n, "epsilon", 1e-5);
            let (g, b, m, v) = (
                floats(&n.input[1])?,
                floats(&n.input[2])?,
                floats(&n.input[3])?,
                floats(&n.input[4])?,
            );
            let s: Vec<f32> = g
                .iter()
                .zip(&v)
                .map(|(g, v)| g / (v + eps).sqrt())
                .collect();
            let t: Vec<f32> = b
                .iter()
                .zip(&m)
                .zip(&s)
                .map(|((b, m), s)| b - m * s)
                .collect();
            affine = compose(affine, (&s, &t));
            last = n.output[0].clone();
            j += 1;
        }
        let (scale, shift) = affine;
        let mut act = Act::Linear;
        if follows(j, &last, FUSED_HARDSWISH) {
            last = nodes[j].output[0].clone();
            j += 1;
            let (mut s, mut t) = (1.0, 0.0);
            if follows(j, &last, FUSED_AFFINE)
                && let (Some(Ok(w)), Some(Ok(b))) = (
                    consts.get(&nodes[j].input[1]).map(scalar_of),
                    consts.get(&nodes[j].input[2]).map(scalar_of),
                )
            {
                (s, t) = (w, b);
                last = nodes[j].output[0].clone();
                j += 1;
            }
            act = Act::HardSwish { scale: s, shift: t };
        } else if follows(j, &last, "Relu") {
            act = Act::Relu;
            last = nodes[j].output[0].clone();
            j += 1;
        } else if follows(j, &last, "Sigmoid") {
            act = Act::Sigmoid;
            last = nodes[j].output[0].clone();
            j += 1;
        }
        if j == i + 1 {
            out.push(conv.clone());
        } else {
            epilogues.insert(last.clone(), ConvEpilogue { scale, shift, act });
            out.push(NodeProto {
                output: vec![last],
                name: format!("{}+epilogue", conv.name),
                ..conv.clone()
            });
        }
        i = j;
    }
    Ok((out, epilogues))
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use candle_core::{Device, Tensor};

    use crate::{
        graph::OnnxGraph,
        onnx::{AttributeProto, NodeProto, OnnxModel, Weight},
    };

    fn node(op: &str, input: &[&str], output: &str, attribute: Vec<AttributeProto>) -> NodeProto {
        NodeProto {
            input: input.iter().map(|s| (*s).to_owned()).collect(),
            output: vec![output.to_owned()],
            name: output.to_owned(),
            op_type: op.to_owned(),
            attribute,
        }
    }

    fn ints(name: &str, v: &[i64]) -> AttributeProto {
        AttributeProto {
            name: name.into(),
            ints: v.to_vec(),
            ..Default::default()
        }
    }

    fn weight(t: &Tensor) -> Weight {
        Weight {
            dims: t.dims().to_vec(),
            data: t
                .flatten_all()
                .and_then(|t| t.to_vec1())
                .unwrap_or_default(),
            ints: None,
        }
    }

    /// `x → Conv → ·s+t → HardSwish (4 nodes) → ·s2+t2 → depthwise Conv → BN → Relu`: a
    /// PP-LCNetV3 block and a DBNet head step. The graph folds both chains into their
    /// convolutions; its output must equal the nodes computed one by one.
    #[test]
    fn folded_epilogues_equal_the_nodes_they_replace() -> candle_core::Result<()> {
        let dev = Device::Cpu;
        let x = Tensor::randn(0f32, 1.0, (1, 8, 12, 10), &dev)?;
        let w1 = Tensor::randn(0f32, 0.3, (16, 8, 3, 3), &dev)?;
        let b1 = Tensor::randn(0f32, 0.3, 16, &dev)?;
        let w2 = Tensor::randn(0f32, 0.5, (16, 1, 3, 3), &dev)?;
        let g = Tensor::randn(1f32, 0.2, 16, &dev)?;
        let beta = Tensor::randn(0f32, 0.2, 16, &dev)?;
        let mean = Tensor::randn(0f32, 0.2, 16, &dev)?;
        let var = (Tensor::randn(0f32, 0.2, 16, &dev)?.abs()? + 0.5)?;
        let scalar = |v: f32| Tensor::new(&[v], &dev);
        let mut weights = BTreeMap::new();
        for (name, t) in [
            ("w1", &w1),
            ("b1", &b1),
            ("w2", &w2),
            ("g", &g),
            ("beta", &beta),
            ("mean", &mean),
            ("var", &var),
        ] {
            weights.insert(name.to_owned(), weight(t));
        }
        for (name, v) in [
            ("s", 1.3f32),
            ("t", -0.2),
            ("s2", 0.8),
            ("t2", 0.1),
            ("three", 3.0),
            ("zero", 0.0),
            ("six", 6.0),
        ] {
            weights.insert(name.to_owned(), weight(&scalar(v)?));
        }
        let pad = ints("pads", &[1, 1, 1, 1]);
        let group = AttributeProto {
            name: "group".into(),
            i: 16,
            ..Default::default()
        };
        let nodes = vec![
            node("Conv", &["x", "w1", "b1"], "c1", vec![pad.clone()]),
            node("Mul", &["s", "c1"], "m1", vec![]),
            node("Add", &["m1", "t"], "a1", vec![]),
            node("Add", &["a1", "three"], "h1", vec![]),
            node("Clip", &["h1", "zero", "six"], "h2", vec![]),
            node("Mul", &["a1", "h2"], "h3", vec![]),
            node("Div", &["h3", "six"], "h4", vec![]),
            node("Mul", &["s2", "h4"], "m2", vec![]),
            node("Add", &["m2", "t2"], "a2", vec![]),
            node("Conv", &["a2", "w2"], "c2", vec![pad, group]),
            node(
                "BatchNormalization",
                &["c2", "g", "beta", "mean", "var"],
                "bn",
                vec![],
            ),
            node("Relu", &["bn"], "y", vec![]),
        ];
        let model = OnnxModel {
            weights,
            metadata: BTreeMap::new(),
            nodes,
            inputs: vec!["x".into()],
            outputs: vec!["y".into()],
        };
        let graph = OnnxGraph::new(&model, &dev)?;
        // Both chains became their convolutions: two nodes left.
        assert_eq!(
            graph.nodes.len(),
            2,
            "{:?}",
            graph.nodes.iter().map(|n| &n.op_type).collect::<Vec<_>>()
        );
        let got = graph.run(&x)?;

        let c1 = x
            .conv2d(&w1, 1, 1, 1, 1)?
            .broadcast_add(&b1.reshape((1, 16, 1, 1))?)?;
        let a1 = (c1 * 1.3)?.affine(1.0, -0.2)?;
        let h = a1
            .broadcast_mul(&(&a1 + 3.0)?.clamp(0f32, 6f32)?)?
            .affine(1.0 / 6.0, 0.0)?;
        let a2 = (h * 0.8)?.affine(1.0, 0.1)?;
        let c2 = a2.conv2d(&w2, 1, 1, 1, 16)?;
        let sh = (1, 16, 1, 1);
        let bn = c2
            .broadcast_sub(&mean.reshape(sh)?)?
            .broadcast_div(&(var + 1e-5)?.sqrt()?.reshape(sh)?)?
            .broadcast_mul(&g.reshape(sh)?)?
            .broadcast_add(&beta.reshape(sh)?)?;
        let want = bn.relu()?;
        let diff = (got - want)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-4, "max |Δ| {diff}");
        Ok(())
    }
}
