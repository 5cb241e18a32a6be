//! The graphs' small elementwise and matmul operators on the calling thread.
//!
//! candle runs broadcast arithmetic and matmuls on its rayon pool and asks for its thread
//! count (reading cgroup files) on every matmul; on the recogniser's maps (≤ 480×3×80
//! values, attention of 8 heads over 40 positions) that costs more than the arithmetic,
//! and rayon's workers, spinning after each such op, took the second core from the
//! convolution threads that followed (the recogniser ran 13.8 ms median with candle's
//! pool of 2, 12.0–12.8 ms with `RAYON_NUM_THREADS=1`; its 240→240 1×1 convolutions were
//! no faster on two threads than on one). Tensors too large for one thread, or shapes
//! outside the simple cases, return `None` and the caller uses candle.

use candle_core::{DType, Result, Tensor};

use crate::kernels::{sgemm_into, with_avx512, with_f32};

/// Most values an operator here computes on one thread.
const MAX_VALUES: usize = 1 << 18;

/// An elementwise binary operator (ONNX `Add`, `Sub`, `Mul`, `Div`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinOp {
    /// `a + b`.
    Add,
    /// `a − b`.
    Sub,
    /// `a · b`.
    Mul,
    /// `a / b`.
    Div,
}

/// `a op b` with ONNX (numpy) broadcasting, f32, when `b` has `a`'s shape, is a scalar, or
/// matches `a` on its leading dimensions and is 1 on the rest (a per-channel scale `[N, C,
/// 1, 1]` against `[N, C, H, W]`); `a` and `b` swap for `Add` and `Mul`. `None` otherwise,
/// or when the result has more than [`MAX_VALUES`] values.
///
/// # Errors
/// Tensor access errors.
pub fn binary(a: &Tensor, b: &Tensor, op: BinOp) -> Result<Option<Tensor>> {
    if a.dtype() != DType::F32 || b.dtype() != DType::F32 {
        return Ok(None);
    }
    let (a, b, inner) = match (rows(a, b), rows(b, a)) {
        (Some(inner), _) => (a, b, inner),
        (None, Some(inner)) if matches!(op, BinOp::Add | BinOp::Mul) => (b, a, inner),
        _ => return Ok(None),
    };
    if a.elem_count() > MAX_VALUES {
        return Ok(None);
    }
    let mut out = with_f32(a, <[f32]>::to_vec)?;
    with_f32(b, |bs| {
        with_avx512(|| match op {
            BinOp::Add => apply(&mut out, bs, inner, |x, y| x + y),
            BinOp::Sub => apply(&mut out, bs, inner, |x, y| x - y),
            BinOp::Mul => apply(&mut out, bs, inner, |x, y| x * y),
            BinOp::Div => apply(&mut out, bs, inner, |x, y| x / y),
        });
    })?;
    Tensor::from_vec(out, a.dims(), a.device()).map(Some)
}

/// How many consecutive values of `a` share one value of `b`: 1 when the shapes are
/// equal, `a`'s element count for a scalar `b`, the product of `a`'s trailing dimensions
/// where `b` (same rank) is 1 after matching `a` on the leading ones. `None` otherwise.
fn rows(a: &Tensor, b: &Tensor) -> Option<usize> {
    if b.elem_count() == 1 && b.rank() <= a.rank() {
        return Some(a.elem_count().max(1));
    }
    let (ad, bd) = (a.dims(), b.dims());
    if ad.len() != bd.len() {
        return None;
    }
    let lead = bd.iter().rposition(|&d| d != 1).map_or(0, |i| i + 1);
    (ad[..lead] == bd[..lead]).then(|| ad[lead..].iter().product())
}

/// `out[i] ← f(out[i], b[i / inner])`, row by row.
#[inline(always)]
fn apply(out: &mut [f32], b: &[f32], inner: usize, f: impl Fn(f32, f32) -> f32) {
    for (row, &y) in out.chunks_mut(inner.max(1)).zip(b.iter().cycle()) {
        row.iter_mut().for_each(|x| *x = f(*x, y));
    }
}

/// `a [.., M, K] × b [.., K, N]` → `[.., M, N]` for f32 operands of the same rank (≥ 3)
/// and the same leading dimensions: one single-threaded `gemm` per leading index. `None`
/// for other shapes or a product of more than [`MAX_VALUES`] multiply-adds per matrix.
///
/// # Errors
/// Tensor access errors.
pub fn batched_matmul(a: &Tensor, b: &Tensor) -> Result<Option<Tensor>> {
    let (ad, bd) = (a.dims(), b.dims());
    let r = ad.len();
    if r < 3 || bd.len() != r || ad[..r - 2] != bd[..r - 2] || ad[r - 1] != bd[r - 2] {
        return Ok(None);
    }
    if a.dtype() != DType::F32 || b.dtype() != DType::F32 {
        return Ok(None);
    }
    let (m, k, n) = (ad[r - 2], ad[r - 1], bd[r - 1]);
    if m * k * n > MAX_VALUES {
        return Ok(None);
    }
    let batch: usize = ad[..r - 2].iter().product();
    let mut out = vec![0f32; batch * m * n];
    with_f32(a, |xa| {
        with_f32(b, |xb| {
            for (i, c) in out.chunks_exact_mut(m * n).enumerate() {
                let (pa, pb) = (
                    &xa[i * m * k..(i + 1) * m * k],
                    &xb[i * k * n..(i + 1) * k * n],
                );
                sgemm_into((m, n, k), pa, k, pb, n, c, n);
            }
        })
    })??;
    let mut dims = ad[..r - 1].to_vec();
    dims.push(n);
    Tensor::from_vec(out, dims, a.device()).map(Some)
}

#[cfg(test)]
mod tests {
    use candle_core::Device;

    use super::*;

    fn t(dims: &[usize], seed: f32) -> Result<Tensor> {
        let n: usize = dims.iter().product();
        let v: Vec<f32> = (0..n)
            .map(|i| ((i as f32 + seed) * 0.37).sin() + 1.5)
            .collect();
        Tensor::from_vec(v, dims, &Device::Cpu)
    }

    fn max_diff(x: &Tensor, y: &Tensor) -> Result<f32> {
        assert_eq!(x.dims(), y.dims());
        (x - y)?.abs()?.flatten_all()?.max(0)?.to_scalar::<f32>()
    }

    #[test]
    fn binary_ops_equal_candles_broadcasting_where_they_apply() -> Result<()> {
        let cases: [(&[usize], &[usize]); 5] = [
            (&[1, 4, 3, 5], &[1, 4, 3, 5]), // same shape
            (&[2, 4, 3, 5], &[2, 4, 1, 1]), // per channel (SE scale)
            (&[1, 4, 3, 5], &[1]),          // scalar
            (&[1, 4, 3, 5], &[1, 1, 1, 1]), // scalar of the same rank
            (&[2, 4, 1, 1], &[2, 4, 3, 5]), // swapped (Add and Mul only)
        ];
        for (da, db) in cases {
            let (a, b) = (t(da, 0.0)?, t(db, 7.0)?);
            for (op, want) in [
                (BinOp::Add, a.broadcast_add(&b)?),
                (BinOp::Sub, a.broadcast_sub(&b)?),
                (BinOp::Mul, a.broadcast_mul(&b)?),
                (BinOp::Div, a.broadcast_div(&b)?),
            ] {
                match binary(&a, &b, op)? {
                    Some(got) => assert!(max_diff(&got, &want)? < 1e-6, "{da:?} {db:?} {op:?}"),
                    None => assert!(
                        da.iter().product::<usize>() < db.iter().product::<usize>()
                            && matches!(op, BinOp::Sub | BinOp::Div),
                        "{da:?} {db:?} {op:?} not taken"
                    ),
                }
            }
        }
        // A broadcast in the middle (not a trailing one) is left to candle.
        let (a, b) = (t(&[1, 4, 3, 5], 0.0)?, t(&[1, 1, 3, 5], 1.0)?);
        assert!(binary(&a, &b, BinOp::Mul)?.is_none());
        Ok(())
    }

    #[test]
    fn batched_matmul_equals_candles() -> Result<()> {
        let (a, b) = (t(&[2, 8, 40, 15], 0.0)?, t(&[2, 8, 15, 40], 3.0)?);
        let got = batched_matmul(&a, &b)?.expect("same leading dims");
        assert!(max_diff(&got, &a.matmul(&b)?)? < 1e-4);
        assert!(batched_matmul(&a, &t(&[1, 8, 15, 40], 0.0)?)?.is_none());
        Ok(())
    }
}
