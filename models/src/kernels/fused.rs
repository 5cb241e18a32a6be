//! [`FusedConv`]: a dense convolution prepared at load, and the choice between its paths
//! (im2col + `gemm`, the direct 3×3 kernel, Winograd) made by timing the first call at each
//! input size.

use std::{
    collections::HashMap,
    sync::{Arc, Mutex, OnceLock},
    time::Instant,
};

use candle_core::{DType, Result, Tensor};

use super::{
    Act, OutPtr, WINOGRAD_MIN_CHANNELS,
    conv::{ConvShape, Kernel, conv_one, run},
    direct3x3, profile, winograd, with_f32,
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
    /// Whether the direct 3×3 kernel takes it ([`direct3x3::takes`]).
    direct3x3: bool,
    /// Its weights packed for that kernel ([`direct3x3::pack`]), built on first use.
    packed: OnceLock<Vec<f32>>,
    /// The path chosen per input `(h, w)` and Winograd switch ([`winograd`]) by timing
    /// (shared by clones: same weights).
    tuned: Arc<Mutex<Tuned>>,
}

/// The path chosen per input `(h, w, Winograd on)`.
type Tuned = HashMap<(usize, usize, bool), Path>;

/// How a convolution runs at one input size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Path {
    /// im2col + `gemm` (≤ 32 taps: the small direct kernel).
    Gemm,
    /// The direct 3×3 kernel ([`direct3x3`]).
    Direct3x3,
    /// A Winograd variant (index into [`VARIANTS`]).
    Winograd(usize),
}

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
        let shape = ConvShape {
            c_in,
            c_out,
            k: (kh, kw),
            stride,
            pad,
        };
        Ok(Self {
            shape,
            weight,
            bias,
            act,
            winograd,
            transforms: [OnceLock::new(), OnceLock::new()],
            direct3x3: direct3x3::takes(&shape),
            packed: OnceLock::new(),
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
    /// A convolution with more than one path ([`Self::paths`]: the direct 3×3 kernel for
    /// 3×3 stride 1 or 2 on AVX-512; Winograd F(2×2,3×3) and F(4×4,3×3) for stride-1 3×3
    /// with ≥ [`WINOGRAD_MIN_CHANNELS`] channels each way) runs the one that was fastest the
    /// first time it met this input size, each timed on this input ([`TUNING_RUNS`],
    /// [`TUNING_SECS`]; the answer of that first call is the fastest path's). Which one wins
    /// depends on the machine, not only the layer: 128→128 at 40×40 took F4 1.9 ms vs F2
    /// 2.6 ms on Zen 4, F4 1.55 ms vs F2 1.33 ms on Sapphire Rapids
    /// (`examples/wino_probe.rs`, `examples/d3_probe.rs`), so a fixed rule was wrong on one
    /// of them. All paths compute the same convolution (the Winograd ones with more
    /// rounding: unit-tested, and `visionflow bench` reports the models' largest output
    /// difference with Winograd off).
    ///
    /// # Errors
    /// Shape errors (channel count, residual shape).
    pub fn forward(&self, x: &Tensor, residual: Option<&Tensor>) -> Result<Tensor> {
        let (h, w) = x.dims4().map_or((0, 0), |d| (d.2, d.3));
        if !self.tunable() {
            return self.run_path(Path::Gemm, x, residual, true);
        }
        if let Some(path) = self.chosen_path(h, w) {
            return self.run_path(path, x, residual, true);
        }
        let mut best: Option<(f64, Path, Tensor)> = None;
        for path in self.paths() {
            // Packing and filter transforms are built once, outside the timing.
            let _ = self.kernel(path);
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
        let (t, path, y) = best.expect("at least two candidate paths");
        if let Ok(mut tuned) = self.tuned.lock() {
            tuned.insert((h, w, winograd()), path);
        }
        if profile::enabled() {
            // The tuning runs were not recorded: this call counts once, as its answer's path.
            let n = x.dims4().map_or(1, |d| d.0);
            profile::record(&self.shape, self.kernel(path).tag(), h, w, n, t);
        }
        Ok(y)
    }

    /// Whether this convolution has more than one path now ([`Self::paths`]).
    fn tunable(&self) -> bool {
        self.direct3x3 || (self.winograd && winograd())
    }

    /// The paths this convolution may take now: im2col + `gemm` first, then the direct
    /// 3×3 kernel and the Winograd variants where they apply (Winograd only while
    /// [`winograd`] is on).
    fn paths(&self) -> Vec<Path> {
        let mut p = vec![Path::Gemm];
        if self.direct3x3 {
            p.push(Path::Direct3x3);
        }
        if self.winograd && winograd() {
            p.extend((0..VARIANTS.len()).map(Path::Winograd));
        }
        p
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
        let path = if self.tunable() {
            match self.chosen_path(h, w) {
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
            Path::Gemm
        };
        let started = profile::enabled().then(Instant::now);
        let kernel = self.kernel(path);
        let (weight, bias, act) = (&self.weight, &self.bias, self.act);
        conv_one(x, (h, w), weight, kernel, bias, s, act, residual, out);
        if let Some(t0) = started {
            profile::record(s, kernel.tag(), h, w, 1, t0.elapsed().as_secs_f64());
        }
        Ok(())
    }

    /// The path chosen for an `h × w` input (with [`winograd`] as it is now), if one was.
    pub(crate) fn chosen_path(&self, h: usize, w: usize) -> Option<Path> {
        let key = (h, w, winograd());
        self.tuned.lock().ok().and_then(|t| t.get(&key).copied())
    }

    /// The kernel of `path`, its packed weights or filter transform built on first use.
    fn kernel(&self, path: Path) -> Kernel<'_> {
        let s = &self.shape;
        match path {
            Path::Gemm => Kernel::Gemm,
            Path::Direct3x3 => Kernel::Direct3x3(
                self.packed
                    .get_or_init(|| direct3x3::pack(&self.weight, s.c_out, s.c_in)),
            ),
            Path::Winograd(i) => Kernel::Winograd(VARIANTS[i], self.transform(i)),
        }
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
        let (s, kernel) = (&self.shape, self.kernel(path));
        run(
            x,
            &self.weight,
            kernel,
            &self.bias,
            s,
            self.act,
            residual,
            record,
        )
    }
}
