//! Convolution fast paths on top of candle's CPU kernels.
//!
//! candle's `conv2d` runs im2col + a matmul per group and copies layouts on every call:
//! a pointwise (1×1) convolution is a plain matmul, and a depthwise one (one filter per
//! channel) is a small stencil that grouped im2col makes hundreds of times more expensive.

use candle_core::{DType, Result, Tensor};

/// `conv2d` with the pointwise and depthwise fast paths; `x` `[N, C, H, W]`, `w`
/// `[C_out, C_in/groups, kh, kw]`, symmetric zero padding, equal strides.
///
/// # Errors
/// Shape errors.
pub fn conv2d(x: &Tensor, w: &Tensor, pad: usize, stride: usize, groups: usize) -> Result<Tensor> {
    let (c_out, c_in_g, kh, kw) = w.dims4()?;
    let (n, c, h, wd) = x.dims4()?;
    if groups > 1 && c_in_g == 1 && c_out == groups && groups == c {
        return depthwise(x, w, pad, stride, stride);
    }
    if groups == 1 && kh == 1 && kw == 1 && pad == 0 && stride == 1 {
        let y = w
            .reshape((c_out, c_in_g))?
            .broadcast_matmul(&x.reshape((n, c, h * wd))?.contiguous()?)?;
        return y.reshape((n, c_out, h, wd));
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
    let (n, c, h, wd) = x.dims4()?;
    let (_, _, kh, kw) = w.dims4()?;
    let oh = (h + 2 * pad - kh) / sh + 1;
    let ow = (wd + 2 * pad - kw) / sw + 1;
    let xs = x.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let ws = w.to_dtype(DType::F32)?.flatten_all()?.to_vec1::<f32>()?;
    let mut out = vec![0f32; n * c * oh * ow];
    let planes: Vec<(usize, &mut [f32])> = out.chunks_mut(oh * ow).enumerate().collect();
    let threads = std::thread::available_parallelism()
        .map_or(1, |p| p.get())
        .min(planes.len().max(1));
    let per = planes.len().div_ceil(threads);
    let mut planes = planes;
    std::thread::scope(|scope| {
        while !planes.is_empty() {
            let take = per.min(planes.len());
            let chunk: Vec<(usize, &mut [f32])> = planes.drain(..take).collect();
            let (xs, ws) = (&xs, &ws);
            scope.spawn(move || {
                for (plane, dst) in chunk {
                    let ch = plane % c;
                    let src = &xs[plane * h * wd..(plane + 1) * h * wd];
                    let k = &ws[ch * kh * kw..(ch + 1) * kh * kw];
                    for oy in 0..oh {
                        for ox in 0..ow {
                            let mut acc = 0f32;
                            for ky in 0..kh {
                                let iy = (oy * sh + ky) as isize - pad as isize;
                                if iy < 0 || iy >= h as isize {
                                    continue;
                                }
                                let row = &src[iy as usize * wd..(iy as usize + 1) * wd];
                                for kx in 0..kw {
                                    let ix = (ox * sw + kx) as isize - pad as isize;
                                    if ix >= 0 && (ix as usize) < wd {
                                        acc += row[ix as usize] * k[ky * kw + kx];
                                    }
                                }
                            }
                            dst[oy * ow + ox] = acc;
                        }
                    }
                }
            });
        }
    });
    Tensor::from_vec(out, (n, c, oh, ow), x.device())
}
