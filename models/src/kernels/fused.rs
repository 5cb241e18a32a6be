//! [`FusedConv`]: a dense convolution prepared at load, and the choice between its direct
//! path and Winograd made by timing the first call at each input size.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use candle_core::{DType, Result, Tensor};

use super::{
    Act, OutPtr, WINOGRAD_MIN_CHANNELS,
    conv::{ConvShape, conv_one, run},
    profile, winograd, with_f32,
};
use crate::winograd::{F2, F4, Variant};

/// A dense convolution with its weights and bias read out of their tensors once, at load:
/// `weight [C_out, C_in, kh, kw]` is already the row-major `[C_out, C_in·kh·kw]` the
/// matmul wants.
#[derive(Debug, Clone)]
pub struct FusedConv {
    shape: ConvShape,
    weight: Vec<f32>,
    bias: Vec<f32>,
    act: Act,
    /// Whether this is a stride-1 3×3 convolution wide enough for Winograd.
    winograd: bool,
    /// Its filter transforms `[α², C_out, C_in]` for F(2×2,3×3) and F(4×4,3×3), each built
    /// on first use.
    transforms: [OnceLock<Vec<f32>>; 2],
    /// The path chosen per input `(h, w)` by timing (shared by clones: same weights).
    tuned: Arc<Mutex<HashMap<(usize, usize), Path>>>,
}

/// How a stride-1 3×3 convolution runs at one input size: directly (im2col + `gemm`) or
/// through a Winograd variant (index into [`VARIANTS`]).
type Path = Option<usize>;

/// The Winograd variants a stride-1 3×3 convolution may take.
const VARIANTS: [&Variant; 2] = [&F2, &F4];

/// Timed runs per candidate path when a convolution meets a new input size: at least
/// [`TUNING_RUNS`], more until [`TUNING_SECS`] are spent (at most 20); the fastest run
/// counts. Small layers (0.2–0.4 ms) chose wrongly on two runs.
const TUNING_RUNS: usize = 3;

/// Seconds of timed runs per candidate path before the choice is made.
const TUNING_SECS: f64 = 3e-3;

impl FusedConv {
    /// From `weight [C_out, C_in, kh, kw]` and `bias [C_out]` (zeros when absent).
    ///
    /// # Errors
    /// Shape or dtype errors.
    pub fn new(
        weight: &Tensor,
        bias: Option<&Tensor>,
        stride: usize,
        pad: usize,
        act: Act,
    ) -> Result<Self> {
        let (c_out, c_in, kh, kw) = weight.dims4()?;
        let weight = weight
            .to_dtype(DType::F32)?
            .flatten_all()?
            .to_vec1::<f32>()?;
        let bias = match bias {
            Some(b) => b.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?,
            None => vec![0.0; c_out],
        };
        let winograd = (kh, kw) == (3, 3)
            && stride == 1
            && pad <= 1
            && c_in >= WINOGRAD_MIN_CHANNELS
            && c_out >= WINOGRAD_MIN_CHANNELS;
        Ok(Self {
            shape: ConvShape {
                c_in,
                c_out,
                k: (kh, kw),
                stride,
                pad,
            },
            weight,
            bias,
            act,
            winograd,
            transforms: [OnceLock::new(), OnceLock::new()],
            tuned: Arc::default(),
        })
    }

    /// The geometry.
    pub fn shape(&self) -> &ConvShape {
        &self.shape
    }

    /// `x [N, C_in, H, W]` → `[N, C_out, Ho, Wo]`, plus `residual` (same shape as the
    /// output) after the activation. Non-CPU tensors are copied through the host.
    ///
    /// A stride-1 3×3 convolution with ≥ [`WINOGRAD_MIN_CHANNELS`] channels each way runs
    /// the path that was fastest the first time it met this input size: directly, through
    /// F(2×2,3×3) or through F(4×4,3×3), each timed on this input ([`TUNING_RUNS`],
    /// [`TUNING_SECS`]; the answer of that first call is the fastest path's). Which one wins depends on
    /// the machine, not only the layer: 128→128 at 40×40 took F4 1.9 ms vs F2 2.6 ms on
    /// Zen 4, F4 1.55 ms vs F2 1.33 ms on Sapphire Rapids (`examples/wino_probe.rs`), so a
    /// fixed rule was wrong on one of them. All paths compute the same convolution (the
    /// Winograd ones with more rounding: unit-tested, and `visionflow bench` reports the
    /// models' largest output difference against the direct path).
    ///
    /// # Errors
    /// Shape errors (channel count, residual shape).
    pub fn forward(&self, x: &Tensor, residual: Option<&Tensor>) -> Result<Tensor> {
        let (h, w) = x.dims4().map_or((0, 0), |d| (d.2, d.3));
        if !(self.winograd && winograd()) {
            return self.run_path(None, x, residual, true);
        }
        let known = self.chosen_path(h, w);
        if let Some(path) = known {
            return self.run_path(path, x, residual, true);
        }
        let mut best: Option<(f64, Path, Tensor)> = None;
        for path in [None, Some(0), Some(1)] {
            // The filter transform is built once, outside the timing.
            if let Some(i) = path {
                self.transform(i);
            }
            let mut spent = 0.0;
            for run in 0..20 {
                if run >= TUNING_RUNS && spent >= TUNING_SECS {
                    break;
                }
                let t0 = Instant::now();
                let y = self.run_path(path, x, residual, false)?;
                let t = t0.elapsed().as_secs_f64();
                spent += t;
                if best.as_ref().is_none_or(|(bt, ..)| t < *bt) {
                    best = Some((t, path, y));
                }
            }
        }
        let (t, path, y) = best.expect("three candidate paths");
        if let Ok(mut tuned) = self.tuned.lock() {
            tuned.insert((h, w), path);
        }
        if profile::enabled() {
            // The tuning runs were not recorded: this call counts once, as its answer's path.
            let n = x.dims4().map_or(1, |d| d.0);
            profile::record(&self.shape, path.map(|i| VARIANTS[i].m), h, w, n, t);
        }
        Ok(y)
    }

    /// One image `x [C_in, h, w]` into `out` (`[C_out, ho, wo]`: possibly a channel slice of
    /// a larger buffer not yet written, such as a concatenation its consumer reads whole),
    /// plus `residual` (`[C_out, ho, wo]`), through the path [`Self::forward`] chose for
    /// this size. At a size not met before it tunes through `forward` on a copy of the
    /// input and copies that answer. Every element of `out` is stored.
    ///
    /// # Errors
    /// Slices that do not match the shapes (nothing is written then).
    pub(crate) fn forward_image_into(
        &self,
        x: &[f32],
        (h, w): (usize, usize),
        residual: Option<&[f32]>,
        out: OutPtr,
    ) -> Result<()> {
        let s = &self.shape;
        if h + 2 * s.pad < s.k.0 || w + 2 * s.pad < s.k.1 {
            candle_core::bail!("conv input {h}x{w} is smaller than its kernel");
        }
        let (ho, wo) = s.out_hw(h, w);
        let len = s.c_out * ho * wo;
        if x.len() != s.c_in * h * w || out.len() != len || residual.is_some_and(|r| r.len() != len)
        {
            candle_core::bail!("conv into a slice: lengths do not match {s:?} at {h}x{w}");
        }
        let path = if self.winograd && winograd() {
            let known = self.chosen_path(h, w);
            match known {
                Some(path) => path,
                None => {
                    let dev = candle_core::Device::Cpu;
                    let xt = Tensor::from_slice(x, (1, s.c_in, h, w), &dev)?;
                    let rt = residual
                        .map(|r| Tensor::from_slice(r, (1, s.c_out, ho, wo), &dev))
                        .transpose()?;
                    let y = self.forward(&xt, rt.as_ref())?;
                    with_f32(&y, |ys| {
                        for (d, v) in out.row_uninit(0, len).iter_mut().zip(ys) {
                            d.write(*v);
                        }
                    })?;
                    return Ok(());
                }
            }
        } else {
            None
        };
        let started = profile::enabled().then(Instant::now);
        let wino = path.map(|i| (VARIANTS[i], self.transform(i)));
        conv_one(
            x,
            (h, w),
            &self.weight,
            wino,
            &self.bias,
            s,
            self.act,
            residual,
            out,
        );
        if let Some(t0) = started {
            let tag = path.map(|i| VARIANTS[i].m);
            profile::record(s, tag, h, w, 1, t0.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// The path chosen for an `h × w` input, if one was: `Some(None)` direct,
    /// `Some(Some(i))` through [`VARIANTS`]`[i]`.
    pub(crate) fn chosen_path(&self, h: usize, w: usize) -> Option<Path> {
        self.tuned.lock().ok().and_then(|t| t.get(&(h, w)).copied())
    }

    /// The filter transform of [`VARIANTS`]`[i]`, built on first use.
    fn transform(&self, i: usize) -> &[f32] {
        let s = &self.shape;
        self.transforms[i]
            .get_or_init(|| VARIANTS[i].transform_filters(&self.weight, s.c_out, s.c_in))
    }

    /// The convolution through `path`; `record`: into the profile.
    fn run_path(
        &self,
        path: Path,
        x: &Tensor,
        residual: Option<&Tensor>,
        record: bool,
    ) -> Result<Tensor> {
        let wino = path.map(|i| (VARIANTS[i], self.transform(i)));
        let s = &self.shape;
        run(
            x,
            &self.weight,
            wino,
            &self.bias,
            s,
            self.act,
            residual,
            record,
        )
    }
}
