//! C2f / C3k2 without the concatenation copy, for one image: `cv1` writes its two halves
//! and each bottleneck writes its output straight into channel slices of one buffer, the
//! concatenation `cv2` reads whole (candle's `Tensor::cat` copied every part once more:
//! ~3 % of a people pass, ~2 % of a vehicles pass, `perf record` of `examples/yolo_loop`).

use candle_core::{Module, Result, Tensor};

use super::{C2f, Inner};
use crate::kernels::{FusedConv, try_written_by, with_f32};

impl C2f {
    /// [`candle_core::Module::forward`] of a batch of one whose inner blocks are plain
    /// bottlenecks (C2f, C3k2 with `c3k=False`) of dense convolutions; `None` otherwise
    /// (a batch, C3k blocks, shapes that do not chain), and the caller concatenates.
    ///
    /// # Errors
    /// Shape errors.
    pub(super) fn forward_in_place(&self, x: &Tensor) -> Result<Option<Tensor>> {
        let (n, _, h, w) = x.dims4()?;
        let (Some(f1), true) = (self.cv1.fused.as_ref(), n == 1) else {
            return Ok(None);
        };
        let (ho, wo) = f1.shape().out_hw(h, w);
        let plane = ho * wo;
        let c = f1.shape().c_out / 2;
        let mut blocks: Vec<(&FusedConv, &FusedConv, bool)> = Vec::new();
        for inner in &self.m {
            let Inner::Bottleneck(b) = inner else {
                return Ok(None);
            };
            let (Some(b1), Some(b2)) = (b.cv1.fused.as_ref(), b.cv2.fused.as_ref()) else {
                return Ok(None);
            };
            let (s1, s2) = (b1.shape(), b2.shape());
            let chains = s1.c_in == c
                && s2.c_in == s1.c_out
                && s2.c_out == c
                && s1.out_hw(ho, wo) == (ho, wo)
                && s2.out_hw(ho, wo) == (ho, wo);
            if !chains {
                return Ok(None);
            }
            blocks.push((b1, b2, b.add));
        }
        let total = (2 + blocks.len()) * c;
        let fill = |xs: &[f32]| {
            let write_parts = |out: crate::kernels::OutPtr| -> Result<()> {
                f1.forward_image_into(xs, (h, w), None, out.offset(0, 2 * c * plane))?;
                for (j, (b1, b2, add)) in blocks.iter().enumerate() {
                    // The previous part: written by now, read while part j + 2 is written.
                    let src = out.written((1 + j) * c * plane, c * plane);
                    let mid_len = b1.shape().c_out * plane;
                    // SAFETY: `forward_image_into` stores every element on success.
                    #[allow(unsafe_code)]
                    let mid = unsafe {
                        try_written_by(mid_len, |o| b1.forward_image_into(src, (ho, wo), None, o))
                    }?;
                    let dst = out.offset((2 + j) * c * plane, c * plane);
                    b2.forward_image_into(&mid, (ho, wo), add.then_some(src), dst)?;
                }
                Ok(())
            };
            // SAFETY: on success `cv1` stored channels [0, 2c) and bottleneck j channels
            // [(2 + j)c, (3 + j)c): the whole buffer.
            #[allow(unsafe_code)]
            unsafe {
                try_written_by(total * plane, write_parts)
            }
        };
        let buf = with_f32(x, fill)??;
        let cat = Tensor::from_vec(buf, (1, total, ho, wo), x.device())?;
        self.cv2.forward(&cat).map(Some)
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeSet, HashMap};

    use candle_core::{DType, Device, Module, Tensor};
    use candle_nn::VarBuilder;

    use super::super::{C2f, YoloConfig, YoloVersion};

    /// A C2f `model.2` (c1 = 24 → 2c = 32 → two bottlenecks of 16, residual on the first
    /// only, cv2 64 → 40) with deterministic weights.
    fn c2f() -> candle_core::Result<C2f> {
        let dev = Device::Cpu;
        let mut ts = HashMap::new();
        let mut seed = 1u32;
        let mut put = |name: &str, dims: &[usize]| -> candle_core::Result<()> {
            let n: usize = dims.iter().product();
            let v: Vec<f32> = (0..n)
                .map(|_| {
                    seed = seed.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                    ((seed >> 8) as f32 / (1u32 << 24) as f32 - 0.5) * 0.4
                })
                .collect();
            ts.insert(name.to_string(), Tensor::from_vec(v, dims, &dev)?);
            Ok(())
        };
        put("cv1.conv.weight", &[32, 24, 1, 1])?;
        put("cv1.conv.bias", &[32])?;
        put("cv2.conv.weight", &[40, 64, 1, 1])?;
        put("cv2.conv.bias", &[40])?;
        for j in 0..2 {
            for cv in ["cv1", "cv2"] {
                put(&format!("m.{j}.{cv}.conv.weight"), &[16, 16, 3, 3])?;
                put(&format!("m.{j}.{cv}.conv.bias"), &[16])?;
            }
        }
        let cfg = YoloConfig {
            version: YoloVersion::V8,
            num_classes: 1,
            segment: false,
            residual: BTreeSet::from(["model.2.m.0".to_string()]),
            linear: BTreeSet::new(),
        };
        C2f::load(
            VarBuilder::from_tensors(ts, DType::F32, &dev),
            "model.2",
            &cfg,
        )
    }

    #[test]
    fn writing_into_the_concatenation_equals_concatenating() -> candle_core::Result<()> {
        let block = c2f()?;
        let v: Vec<f32> = (0..24 * 20 * 28)
            .map(|i| ((i as f32) * 0.013).sin())
            .collect();
        let x = Tensor::from_vec(v, (1, 24, 20, 28), &Device::Cpu)?;
        let in_place = block
            .forward_in_place(&x)?
            .expect("a batch of one takes it");
        // A batch of two takes the concatenating path.
        let both = block.forward(&Tensor::cat(&[&x, &x], 0)?)?;
        assert!(
            block
                .forward_in_place(&Tensor::cat(&[&x, &x], 0)?)?
                .is_none()
        );
        let cat = both.narrow(0, 0, 1)?;
        assert_eq!(in_place.dims(), [1, 40, 20, 28]);
        let diff = (in_place - cat)?
            .abs()?
            .flatten_all()?
            .max(0)?
            .to_scalar::<f32>()?;
        assert!(diff < 1e-5, "max |Δ| {diff}");
        Ok(())
    }
}
