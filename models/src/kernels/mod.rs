//! Our CPU kernels under the candle models: a convolution that is one `gemm` call per band
//! of output rows with the bias, the activation and the residual add applied to that band
//! while it is still in cache, and a vectorisable `exp` for SiLU.
//!
//! Layout: one image `[C, H, W]` (NCHW without the batch), f32, contiguous. A convolution
//! `W [C_out, C_in, kh, kw]` is the matmul `W [C_out, C_in·kh·kw] × cols [C_in·kh·kw, P]`
//! where `P` are output pixels: for a 1×1 stride-1 convolution `cols` is the input itself
//! (no copy); otherwise the band's patches are unfolded (im2col) into a per-thread buffer
//! that is reused across calls. The output rows are split between the threads, and each
//! thread multiplies its bands with a single-threaded `gemm` (the crate candle itself
//! multiplies with; its AVX-512 kernels are chosen at run time), so bands never cross
//! threads and the epilogue runs on the thread that just wrote the band.
//!
//! Measured facts behind the design: ../shared/candle-cpu.md (candle's own CPU conv
//! converts layouts and repacks per call at ~37 GFLOP/s; one `gemm` call per conv reached
//! 89 GFLOP/s on one thread and 165 on two; libm's `expf` made SiLU cost 56–75 ms a pass).

mod conv;
mod direct;
pub mod direct3x3;
mod fused;
mod peak;
mod pool;
pub mod profile;

use std::{mem::MaybeUninit, sync::OnceLock};

use candle_core::{DType, Result, Storage, Tensor};

pub use self::conv::{ConvShape, conv_image, conv2d};
pub use self::fused::FusedConv;
pub use self::peak::peak_gflops;

/// The activation applied after the bias, in the same pass over the output.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Act {
    /// None.
    Linear,
    /// SiLU `x·σ(x)` (Ultralytics `Conv`).
    Silu,
    /// ReLU `max(x, 0)`.
    Relu,
    /// Sigmoid `1/(1 + e^−x)` (DBNet's probability map).
    Sigmoid,
    /// HardSwish `x·clip(x + 3, 0, 6)/6` (as ONNX graphs spell it, in that order of f32
    /// operations), then `scale·y + shift`: PP-LCNetV3's activation and the learnable
    /// affine block after it (1, 0 when there is none).
    HardSwish {
        /// Multiplier after the activation.
        scale: f32,
        /// Offset after the activation.
        shift: f32,
    },
}

impl Act {
    /// `v ← act(v + bias)` over a slice, 16 lanes wide where the CPU has AVX-512 (see
    /// [`silu_bias`]); nothing at all for `Linear` with a zero bias.
    pub fn apply(self, v: &mut [f32], bias: f32) {
        match self {
            Self::Linear if bias == 0.0 => {}
            Self::Linear => with_avx512(|| v.iter_mut().for_each(|x| *x += bias)),
            Self::Silu => silu_bias(v, bias),
            Self::Relu => with_avx512(|| v.iter_mut().for_each(|x| *x = (*x + bias).max(0.0))),
            Self::Sigmoid => with_avx512(|| {
                v.iter_mut()
                    .for_each(|x| *x = 1.0 / (1.0 + exp(-(*x + bias))));
            }),
            Self::HardSwish { scale, shift } => with_avx512(|| {
                v.iter_mut().for_each(|x| {
                    let y = *x + bias;
                    *x = scale * (y * (y + 3.0).clamp(0.0, 6.0) / 6.0) + shift;
                });
            }),
        }
    }
}

/// Worker threads for our kernels (the machine's parallelism).
pub fn threads() -> usize {
    // Asked once: `available_parallelism` reads the affinity mask and cgroup quota on every
    // call, and every convolution asks.
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| std::thread::available_parallelism().map_or(1, |p| p.get()))
}

/// Runs `f(i, plane)` for every `len`-long plane `i` of `out`, the planes split into one
/// contiguous run per thread.
pub(crate) fn par_planes(out: &mut [f32], len: usize, f: impl Fn(usize, &mut [f32]) + Sync) {
    let len = len.max(1);
    let planes = out.len() / len;
    let per = planes.div_ceil(threads()).max(1);
    let dst = OutPtr::new(out);
    // Each thread owns planes [p0, p1): disjoint ranges of `out`.
    split_rows(planes, per, |p0, p1| {
        for i in p0..p1 {
            f(i, dst.row(i * len, len));
        }
    });
}

const LOG2_E: f32 = std::f32::consts::LOG2_E;
const LN2_HI: f32 = 0.693_145_75;
const LN2_LO: f32 = 1.428_606_8e-6;
/// 1.5·2²³: adding and subtracting it rounds an f32 of magnitude < 2²² to an integer.
const ROUND: f32 = 12_582_912.0;

/// `eˣ` in f32 without a libm call, so loops over it vectorise: `x = n·ln2 + r`
/// (Cody–Waite split of ln2, |r| ≤ ln2/2), `eʳ` by its degree-6 Taylor polynomial
/// (truncation < 1.2e-7 relative), `2ⁿ` built in the exponent bits. Inputs are clamped to
/// [−87, 88] (below, the result is ~1.6e-38 instead of a subnormal or 0; above, it would
/// overflow). Max relative error ~2.5e-7 over the range (unit-tested).
#[inline(always)]
pub fn exp(x: f32) -> f32 {
    let x = x.clamp(-87.0, 88.0);
    // t's low mantissa bits hold n + 2²² (|n| ≤ 127): integer n without a float→int
    // conversion, which keeps the loops over this function vectorised.
    let t = x * LOG2_E + ROUND;
    let n = t - ROUND;
    let r = x - n * LN2_HI - n * LN2_LO;
    let p = 1.0
        + r * (1.0
            + r * (0.5
                + r * (1.0 / 6.0 + r * (1.0 / 24.0 + r * (1.0 / 120.0 + r * (1.0 / 720.0))))));
    // 2ⁿ: (n + 127) in the exponent field; t.to_bits() − ROUND.to_bits() is n.
    let scale = f32::from_bits((t.to_bits().wrapping_sub(ROUND.to_bits()).wrapping_add(127)) << 23);
    p * scale
}

/// SiLU `x / (1 + e⁻ˣ)` with [`exp`].
#[inline(always)]
pub fn silu(x: f32) -> f32 {
    x / (1.0 + exp(-x))
}

/// `v ← silu(v + bias)` over a slice: the loop [`silu`] was written for, compiled twice —
/// for AVX-512 (16 lanes, chosen at run time where the CPU has it, as the `gemm` crate
/// does) and for the baseline x86-64 target (SSE2) — since the crate is built for the
/// baseline. Measured on 1.6 M values, one thread: 1.25 ns per value baseline, 0.45 ns
/// AVX-512 (`examples/pw_probe.rs`); a 48→64 pointwise conv at 160×160 with SiLU went from
/// 3.57 to 1.22 ms.
///
/// On AVX-512 the 16-lane form is written out ([`silu_bias_avx512`]) so the division
/// becomes a 14-bit reciprocal estimate refined by one Newton step (`vdivps` alone
/// bounded the auto-vectorised loop: 0.51 ns per value on Sapphire Rapids).
pub fn silu_bias(v: &mut [f32], bias: f32) {
    #[cfg(target_arch = "x86_64")]
    if avx512() {
        // SAFETY: the CPU has AVX-512F (checked by `avx512`).
        #[allow(unsafe_code)]
        unsafe {
            silu_bias_avx512(v, bias);
        }
        return;
    }
    v.iter_mut().for_each(|x| *x = silu(*x + bias));
}

/// Whether the CPU has AVX-512F (asked once; never off x86-64).
pub(crate) fn avx512() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        static HAS: OnceLock<bool> = OnceLock::new();
        *HAS.get_or_init(|| std::arch::is_x86_feature_detected!("avx512f"))
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// [`silu_bias`] 16 lanes at a time: `exp(−x)` as [`exp`] computes it (same clamp,
/// Cody–Waite split and polynomial, with fused multiply-adds), then `x · 1/(1 + e)` with
/// the reciprocal from `vrcp14ps` (relative error < 2⁻¹⁴) and one Newton step (< 2⁻²⁷);
/// the tail under a mask. Max relative error against libm's formula ~3e-7 (unit-tested).
///
/// # Safety
/// The CPU has AVX-512F.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
#[allow(unsafe_code)]
unsafe fn silu_bias_avx512(v: &mut [f32], bias: f32) {
    use std::arch::x86_64::{
        __m512, _mm512_add_epi32, _mm512_add_ps, _mm512_castps_si512, _mm512_castsi512_ps,
        _mm512_fmadd_ps, _mm512_fnmadd_ps, _mm512_loadu_ps, _mm512_mask_storeu_ps,
        _mm512_maskz_loadu_ps, _mm512_max_ps, _mm512_min_ps, _mm512_mul_ps, _mm512_rcp14_ps,
        _mm512_set1_epi32, _mm512_set1_ps, _mm512_slli_epi32, _mm512_storeu_ps, _mm512_sub_epi32,
        _mm512_sub_ps,
    };
    let b = _mm512_set1_ps(bias);
    let silu16 = |x: __m512| -> __m512 {
        let one = _mm512_set1_ps(1.0);
        // e = exp(−x), as `exp`.
        let m = _mm512_sub_ps(_mm512_set1_ps(0.0), x);
        let m = _mm512_min_ps(
            _mm512_max_ps(m, _mm512_set1_ps(-87.0)),
            _mm512_set1_ps(88.0),
        );
        let round = _mm512_set1_ps(ROUND);
        let t = _mm512_fmadd_ps(m, _mm512_set1_ps(LOG2_E), round);
        let n = _mm512_sub_ps(t, round);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_HI), m);
        let r = _mm512_fnmadd_ps(n, _mm512_set1_ps(LN2_LO), r);
        let mut p = _mm512_set1_ps(1.0 / 720.0);
        for c in [1.0 / 120.0, 1.0 / 24.0, 1.0 / 6.0, 0.5, 1.0, 1.0] {
            p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(c));
        }
        let bits = _mm512_sub_epi32(
            _mm512_castps_si512(t),
            _mm512_set1_epi32(ROUND.to_bits() as i32),
        );
        let scale = _mm512_castsi512_ps(_mm512_slli_epi32::<23>(_mm512_add_epi32(
            bits,
            _mm512_set1_epi32(127),
        )));
        let d = _mm512_add_ps(one, _mm512_mul_ps(p, scale));
        // 1/d: estimate, then r ← r·(2 − d·r).
        let q = _mm512_rcp14_ps(d);
        let q = _mm512_mul_ps(q, _mm512_fnmadd_ps(d, q, _mm512_set1_ps(2.0)));
        _mm512_mul_ps(x, q)
    };
    let mut chunks = v.chunks_exact_mut(16);
    for c in &mut chunks {
        // SAFETY: `c` holds 16 values.
        unsafe {
            let x = _mm512_add_ps(_mm512_loadu_ps(c.as_ptr()), b);
            _mm512_storeu_ps(c.as_mut_ptr(), silu16(x));
        }
    }
    let rest = chunks.into_remainder();
    if !rest.is_empty() {
        let mask = (1u16 << rest.len()) - 1;
        // SAFETY: the mask covers exactly the `rest.len()` < 16 values of `rest`.
        unsafe {
            let x = _mm512_add_ps(_mm512_maskz_loadu_ps(mask, rest.as_ptr()), b);
            _mm512_mask_storeu_ps(rest.as_mut_ptr(), mask, silu16(x));
        }
    }
}

/// Runs `f` compiled for AVX-512 where the CPU has it (checked at run time, as the `gemm`
/// crate does), as it is otherwise: the crate is built for baseline x86-64, where loops
/// only get SSE2. `f` (a closure called once, with its `#[inline(always)]` callees) is
/// inlined into the AVX-512 function, so its loops are vectorised 16 lanes wide — as long
/// as LLVM chooses to: the closure has two call sites (here and the fallback), and a large
/// one stayed out of line once, leaving `f32::mul_add` a libm call (1.7 GFLOP/s). Code
/// that must run with AVX-512 (intrinsics, `mul_add`) has its own `#[target_feature]`
/// function instead (`direct.rs`, [`silu_bias`]).
#[inline(always)]
pub(crate) fn with_avx512<R>(f: impl FnOnce() -> R) -> R {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx512f") && std::arch::is_x86_feature_detected!("fma")
    {
        // SAFETY: the CPU has AVX-512F and FMA (checked just above).
        #[allow(unsafe_code)]
        return unsafe { in_avx512(f) };
    }
    f()
}

/// [`with_avx512`]'s AVX-512 side.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f,fma")]
fn in_avx512<R>(f: impl FnOnce() -> R) -> R {
    f()
}

/// `bias`, activation and `residual` applied in place to one band of `out`: row `o` is the
/// `len` values from `at + o·stride`, getting `bias[o]`; `residual` is laid out like the
/// band (row `o` from `o·stride`).
fn epilogue(
    out: OutPtr,
    at: usize,
    stride: usize,
    len: usize,
    bias: &[f32],
    act: Act,
    residual: Option<&[f32]>,
) {
    for (o, b) in bias.iter().enumerate() {
        let row = out.row(at + o * stride, len);
        act.apply(row, *b);
        if let Some(r) = residual {
            for (v, r) in row.iter_mut().zip(&r[o * stride..o * stride + len]) {
                *v += r;
            }
        }
    }
}

/// `C[m×n] = A[m×k] · B[k×n]`, all row-major with row strides `lda`, `ldb`, `ldc`, `C`
/// starting at element `at` of `out`, on the calling thread (the bounds every pointer
/// reaches are checked first).
#[allow(clippy::too_many_arguments)]
pub(crate) fn sgemm(
    (m, n, k): (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    out: OutPtr,
    at: usize,
    ldc: usize,
) {
    if m == 0 || n == 0 {
        return;
    }
    assert!(k == 0 || a.len() >= (m - 1) * lda + k, "lhs out of bounds");
    assert!(k == 0 || b.len() >= (k - 1) * ldb + n, "rhs out of bounds");
    assert!(out.len >= at + (m - 1) * ldc + n, "dst out of bounds");
    // SAFETY: the asserts keep every element `gemm` reads (`a[i·lda + p]`, `b[p·ldb + j]`)
    // and writes (`out[at + i·ldc + j]`) for i < m, j < n, p < k inside the buffers; the
    // elements written are this band's own (see [`OutPtr`]).
    #[allow(unsafe_code)]
    unsafe {
        gemm::gemm(
            m,
            n,
            k,
            out.ptr.add(at),
            1,
            ldc as isize,
            false,
            a.as_ptr(),
            1,
            lda as isize,
            b.as_ptr(),
            1,
            ldb as isize,
            0.0,
            1.0,
            false,
            false,
            false,
            gemm::Parallelism::None,
        );
    }
}

/// [`sgemm`] into a slice of its own: `C[m×n]` at the start of `c` (row stride `ldc`).
pub(crate) fn sgemm_into(
    dims: (usize, usize, usize),
    a: &[f32],
    lda: usize,
    b: &[f32],
    ldb: usize,
    c: &mut [f32],
    ldc: usize,
) {
    sgemm(dims, a, lda, b, ldb, OutPtr::new(c), 0, ldc);
}

/// Splits `rows` output rows, processed in bands of `band`, between up to [`threads`]
/// threads: `f(r0, r1)` runs once per thread on its own contiguous range, the calling
/// thread taking the first (no thread is started when one is enough).
pub(crate) fn split_rows(rows: usize, band: usize, f: impl Fn(usize, usize) + Sync) {
    let nthreads = threads().min(rows.div_ceil(band.max(1))).max(1);
    let per = rows.div_ceil(nthreads);
    let f = &f;
    let run = move |t: usize| f(t * per, ((t + 1) * per).min(rows));
    pool::run(nthreads, &run);
}

static WINOGRAD: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(true);

/// Turns the Winograd path of stride-1 3×3 convolutions on (default) or off for the
/// process; `visionflow bench` times both and reports the largest difference of the
/// models' outputs between them.
pub fn set_winograd(on: bool) {
    WINOGRAD.store(on, std::sync::atomic::Ordering::Relaxed);
}

/// Whether the Winograd path is on.
pub fn winograd() -> bool {
    WINOGRAD.load(std::sync::atomic::Ordering::Relaxed)
}

/// Fewest input and output channels for which a stride-1 3×3 convolution runs through
/// Winograd: with fewer, its transforms cost about what the multiplies save (measured per
/// layer: 16→16 at 320×320 is 1.07× faster, 32→32 at 160×160 1.35×).
pub const WINOGRAD_MIN_CHANNELS: usize = 16;

/// An output buffer shared by the threads of [`split_rows`] (in [`conv_image`] and
/// [`crate::winograd::Variant::conv3x3`]): each thread writes only the elements of its own output
/// rows (in `conv_image`, its columns `[p0, p0 + n)` of every channel row), so no element is
/// written by two threads, and the buffer's `&mut` borrow outlives the scoped threads.
#[derive(Clone, Copy)]
pub(crate) struct OutPtr {
    ptr: *mut f32,
    len: usize,
}

// SAFETY: see the type's documentation: disjoint writes, scoped threads.
#[allow(unsafe_code)]
unsafe impl Send for OutPtr {}
#[allow(unsafe_code)]
unsafe impl Sync for OutPtr {}

impl OutPtr {
    /// Shares `out` (borrowed mutably for as long as the threads run).
    pub(crate) fn new(out: &mut [f32]) -> Self {
        Self {
            ptr: out.as_mut_ptr(),
            len: out.len(),
        }
    }

    /// Elements in the buffer.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// The `len` elements from `at` as a buffer of their own (one image of a batch).
    pub(crate) fn offset(&self, at: usize, len: usize) -> Self {
        assert!(at + len <= self.len, "offset out of bounds");
        // SAFETY: in bounds (asserted).
        #[allow(unsafe_code)]
        Self {
            ptr: unsafe { self.ptr.add(at) },
            len,
        }
    }

    /// The `len` elements from `at`, not yet written: the caller stores every one of them
    /// (through [`std::mem::MaybeUninit::write`]) before anything reads them as f32.
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn row_uninit(&self, at: usize, len: usize) -> &mut [MaybeUninit<f32>] {
        assert!(at + len <= self.len, "row out of bounds");
        // SAFETY: in bounds (asserted); exclusive as the type's documentation says; a
        // `MaybeUninit` slice may cover memory that holds no value yet.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(at).cast(), len)
        }
    }

    /// The `len` elements from `at`, already written, to read while other parts of the
    /// buffer are being written (by [`OutPtr::offset`] views that do not overlap them).
    pub(crate) fn written(&self, at: usize, len: usize) -> &[f32] {
        assert!(at + len <= self.len, "range out of bounds");
        // SAFETY: in bounds (asserted); written (the caller's word); nothing writes this
        // range while the slice lives (the type's documentation).
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts(self.ptr.add(at), len)
        }
    }

    /// The `len` elements from `at`: one band's part of one channel row, which no other
    /// thread touches while the returned slice lives, and which has been written.
    #[allow(clippy::mut_from_ref)]
    pub(crate) fn row(&self, at: usize, len: usize) -> &mut [f32] {
        assert!(at + len <= self.len, "row out of bounds");
        // SAFETY: in bounds (asserted); exclusive as the type's documentation says.
        #[allow(unsafe_code)]
        unsafe {
            std::slice::from_raw_parts_mut(self.ptr.add(at), len)
        }
    }
}

/// A fresh `len`-long buffer that `fill` writes from start to end, never zeroed first:
/// zero-filling the output of every convolution (a `vec![0.0; len]` is a `memset` once
/// glibc serves it from the reused heap, as the server's `mallopt` settings make it) was
/// 6–10 % of a vehicles pass (`perf record` of `examples/yolo_loop.rs`).
///
/// # Safety
/// `fill` must store every one of the `len` elements through the [`OutPtr`] it is given
/// (with `gemm`'s `read_dst = false`, [`OutPtr::row_uninit`], or raw writes), and read an
/// element as f32 ([`OutPtr::row`]) only after storing it. If `fill` panics the buffer is
/// freed unread.
#[allow(unsafe_code)]
pub(crate) unsafe fn written_by(len: usize, fill: impl FnOnce(OutPtr)) -> Vec<f32> {
    let mut buf: Vec<MaybeUninit<f32>> = Vec::with_capacity(len);
    // SAFETY: `MaybeUninit<f32>` needs no initialisation; the capacity is `len`.
    unsafe { buf.set_len(len) };
    fill(OutPtr {
        ptr: buf.as_mut_ptr().cast(),
        len,
    });
    let mut buf = std::mem::ManuallyDrop::new(buf);
    // SAFETY: the caller's contract: every element has been written, so the allocation
    // (same size and alignment: `MaybeUninit<f32>` is layout-identical to f32) now holds
    // `len` valid f32 values; `buf` is not dropped, so it is freed once, as this Vec.
    unsafe { Vec::from_raw_parts(buf.as_mut_ptr().cast::<f32>(), len, buf.capacity()) }
}

/// [`written_by`] for a fill that can fail: on an error the buffer is zero-filled (so
/// every element is written) and the error returned instead of the buffer.
///
/// # Safety
/// As [`written_by`], for a `fill` that returns `Ok`.
#[allow(unsafe_code)]
pub(crate) unsafe fn try_written_by(
    len: usize,
    fill: impl FnOnce(OutPtr) -> Result<()>,
) -> Result<Vec<f32>> {
    let mut result = Ok(());
    let fill = |out: OutPtr| {
        if let Err(e) = fill(out) {
            // SAFETY: `out` covers `len` f32 values; all-zero bits are 0.0.
            unsafe { std::ptr::write_bytes(out.ptr, 0, out.len) };
            result = Err(e);
        }
    };
    // SAFETY: `fill` writes every element: the caller's `fill` on success, zeros otherwise.
    let buf = unsafe { written_by(len, fill) };
    result.map(|()| buf)
}

/// Runs `f` on a tensor's values as one contiguous f32 slice (borrowed from CPU storage
/// when possible, copied otherwise).
///
/// # Errors
/// Dtype conversion errors.
pub fn with_f32<R>(t: &Tensor, f: impl FnOnce(&[f32]) -> R) -> Result<R> {
    let t = t.to_dtype(DType::F32)?.contiguous()?;
    {
        let (storage, layout) = t.storage_and_layout();
        if let (Storage::Cpu(cpu), Some((start, end))) = (&*storage, layout.contiguous_offsets()) {
            return Ok(f(&cpu.as_slice::<f32>()?[start..end]));
        }
    }
    let v = t.flatten_all()?.to_vec1::<f32>()?;
    Ok(f(&v))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exp_is_within_3e_7_relative_of_libm_and_silu_follows() {
        let mut worst = 0f64;
        let mut x = -87.0f32;
        while x < 88.0 {
            let (a, b) = (f64::from(exp(x)), f64::from(x).exp());
            worst = worst.max(((a - b) / b).abs());
            x += 0.0137;
        }
        assert!(worst < 3e-7, "worst relative error {worst:e}");
        assert!(exp(-200.0) > 0.0 && exp(-200.0) < 1e-37);
        assert!(exp(200.0).is_finite());
        for v in [-20.0f32, -3.0, -0.5, 0.0, 0.5, 3.0, 20.0] {
            let want = v / (1.0 + (-v).exp());
            assert!((silu(v) - want).abs() <= 1e-6 * want.abs().max(1.0), "{v}");
        }
    }

    #[test]
    fn silu_bias_is_within_1e_6_relative_of_libm_over_the_range_and_the_tail() {
        // 1003 values: 62 full vectors and a tail of 11; -100..100 spans both clamps.
        let xs: Vec<f32> = (0..1003).map(|i| (i as f32 - 501.0) * 0.2).collect();
        let mut v = xs.clone();
        silu_bias(&mut v, 0.25);
        for (x, got) in xs.iter().zip(&v) {
            let z = f64::from(x + 0.25);
            let want = z / (1.0 + (-z).exp());
            let err = (f64::from(*got) - want).abs();
            assert!(
                err <= 1e-6 * want.abs().max(1e-30) + 1e-30,
                "{x}: {got} vs {want}"
            );
        }
    }
}
