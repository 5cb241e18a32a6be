//! Letterbox: resize keeping the aspect ratio, pad to the network size with grey 114.
//!
//! Follows Ultralytics' `LetterBox` (`ultralytics/data/augment.py`, `center=True`,
//! `scaleup=True`): gain `r = min(H/h, W/w)`, new size `round(w·r) × round(h·r)` with
//! Python's round-half-even, padding split `round(d/2 ∓ 0.1)`, bilinear resize as OpenCV's
//! `INTER_LINEAR` computes it on 8-bit images (11-bit fixed-point weights), and OpenCV's
//! switch to area averaging on an exact 2× shrink.

/// How a source image maps onto the letterboxed network input.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Source width, pixels.
    pub src_w: usize,
    /// Source height, pixels.
    pub src_h: usize,
    /// Network input width, pixels.
    pub dst_w: usize,
    /// Network input height, pixels.
    pub dst_h: usize,
    /// Resize gain (network pixels per source pixel).
    pub gain: f64,
    /// Left padding, network pixels.
    pub pad_left: usize,
    /// Top padding, network pixels.
    pub pad_top: usize,
    /// Resized (unpadded) width, network pixels.
    pub new_w: usize,
    /// Resized (unpadded) height, network pixels.
    pub new_h: usize,
}

impl Letterbox {
    /// Plans the letterbox of a `src_w × src_h` image into `dst_w × dst_h`.
    pub fn plan(src_w: usize, src_h: usize, dst_w: usize, dst_h: usize) -> Self {
        let gain = (dst_h as f64 / src_h as f64).min(dst_w as f64 / src_w as f64);
        let new_w = ((src_w as f64 * gain).round_ties_even() as usize).clamp(1, dst_w);
        let new_h = ((src_h as f64 * gain).round_ties_even() as usize).clamp(1, dst_h);
        let dw = (dst_w - new_w) as f64 / 2.0;
        let dh = (dst_h - new_h) as f64 / 2.0;
        Self {
            src_w,
            src_h,
            dst_w,
            dst_h,
            gain,
            pad_left: (dw - 0.1).round_ties_even().max(0.0) as usize,
            pad_top: (dh - 0.1).round_ties_even().max(0.0) as usize,
            new_w,
            new_h,
        }
    }

    /// The network input size of a rectangular letterbox (Ultralytics `LetterBox(auto=True)`,
    /// the `rect` inference shape): the image scaled as [`Self::plan`] would into `size_w ×
    /// size_h`, then each axis it does not fill padded to at least `margin` pixels a side
    /// and up to the next multiple of `stride` (at most the size), so a 16:9 frame runs at
    /// 640×416 instead of 640×640. Answers `(dst_w, dst_h)`.
    pub fn rect_size(
        src_w: usize,
        src_h: usize,
        size_w: usize,
        size_h: usize,
        stride: usize,
        margin: usize,
    ) -> (usize, usize) {
        let p = Self::plan(src_w, src_h, size_w, size_h);
        let stride = stride.max(1);
        let fit = |new: usize, size: usize| {
            if new >= size {
                size
            } else {
                (new + 2 * margin)
                    .div_ceil(stride)
                    .saturating_mul(stride)
                    .min(size)
            }
        };
        (fit(p.new_w, size_w), fit(p.new_h, size_h))
    }

    /// Maps a box from network pixels to source pixels, clipped to the image (Ultralytics
    /// `scale_boxes`, which subtracts `round(pad − 0.1)` and divides by the gain).
    pub fn to_source(&self, b: [f32; 4]) -> [f32; 4] {
        let g = self.gain as f32;
        let (px, py) = (self.pad_left as f32, self.pad_top as f32);
        let (w, h) = (self.src_w as f32, self.src_h as f32);
        [
            ((b[0] - px) / g).clamp(0.0, w),
            ((b[1] - py) / g).clamp(0.0, h),
            ((b[2] - px) / g).clamp(0.0, w),
            ((b[3] - py) / g).clamp(0.0, h),
        ]
    }
}

/// Letterboxes an interleaved RGB8 image (`rgb.len() == 3·w·h`) into a planar f32 tensor
/// buffer `[3, dst_h, dst_w]` in 0–1 (RGB order).
///
/// # Panics
/// When `rgb` is shorter than `3·w·h` or a dimension is zero (callers validate images first).
pub fn letterbox(
    rgb: &[u8],
    w: usize,
    h: usize,
    dst_w: usize,
    dst_h: usize,
) -> (Vec<f32>, Letterbox) {
    assert!(
        w > 0 && h > 0 && rgb.len() >= 3 * w * h,
        "invalid image buffer"
    );
    let plan = Letterbox::plan(w, h, dst_w, dst_h);
    let resized = resize_rgb(rgb, w, h, plan.new_w, plan.new_h);
    let plane = dst_w * dst_h;
    let grey = 114.0 / 255.0;
    let mut out = vec![grey; 3 * plane];
    for y in 0..plan.new_h {
        let dy = y + plan.pad_top;
        if dy >= dst_h {
            break;
        }
        for x in 0..plan.new_w {
            let dx = x + plan.pad_left;
            if dx >= dst_w {
                break;
            }
            let s = 3 * (y * plan.new_w + x);
            let d = dy * dst_w + dx;
            out[d] = f32::from(resized[s]) / 255.0;
            out[plane + d] = f32::from(resized[s + 1]) / 255.0;
            out[2 * plane + d] = f32::from(resized[s + 2]) / 255.0;
        }
    }
    (out, plan)
}

const COEF_BITS: u32 = 11;
const COEF_SCALE: f64 = (1 << COEF_BITS) as f64;

/// Source index and fixed-point weights for each destination coordinate (OpenCV's
/// `resize` coefficient computation for `INTER_LINEAR`).
fn linear_taps(src: usize, dst: usize) -> Vec<(usize, usize, i32, i32)> {
    let scale = src as f64 / dst as f64;
    (0..dst)
        .map(|d| {
            let f = (d as f64 + 0.5) * scale - 0.5;
            let mut s = f.floor() as isize;
            let mut frac = f - s as f64;
            if s < 0 {
                s = 0;
                frac = 0.0;
            }
            let mut s = s as usize;
            if s + 1 >= src {
                s = src - 1;
                frac = 0.0;
            }
            let b = (frac * COEF_SCALE).round() as i32;
            let a = (COEF_SCALE as i32) - b;
            (s, (s + 1).min(src - 1), a, b)
        })
        .collect()
}

/// Bilinear resize of an interleaved RGB8 image as OpenCV's `INTER_LINEAR` does it
/// (11-bit fixed-point weights; area averaging on an exact 2× shrink).
pub fn resize_rgb(rgb: &[u8], w: usize, h: usize, nw: usize, nh: usize) -> Vec<u8> {
    if nw == w && nh == h {
        rgb[..3 * w * h].to_vec()
    } else if w == 2 * nw && h == 2 * nh {
        area_half(rgb, w, h)
    } else {
        resize_bilinear(rgb, w, h, nw, nh)
    }
}

fn resize_bilinear(rgb: &[u8], w: usize, h: usize, nw: usize, nh: usize) -> Vec<u8> {
    let xs = linear_taps(w, nw);
    let ys = linear_taps(h, nh);
    // Horizontal pass into 2^11-scaled integers, one row per source row used.
    let hrow = |y: usize| -> Vec<i32> {
        let row = &rgb[3 * w * y..3 * w * (y + 1)];
        let mut out = vec![0i32; 3 * nw];
        for (x, &(s0, s1, a, b)) in xs.iter().enumerate() {
            for c in 0..3 {
                out[3 * x + c] = i32::from(row[3 * s0 + c]) * a + i32::from(row[3 * s1 + c]) * b;
            }
        }
        out
    };
    let mut out = vec![0u8; 3 * nw * nh];
    let mut cache: Option<(usize, Vec<i32>, usize, Vec<i32>)> = None;
    for (y, &(s0, s1, a, b)) in ys.iter().enumerate() {
        let (r0, r1) = match cache.take() {
            Some((c0, v0, c1, v1)) if c0 == s0 && c1 == s1 => (v0, v1),
            Some((_, _, c1, v1)) if c1 == s0 => {
                let r1 = if s1 == s0 { v1.clone() } else { hrow(s1) };
                (v1, r1)
            }
            _ => (hrow(s0), hrow(s1)),
        };
        for i in 0..3 * nw {
            let v = i64::from(r0[i]) * i64::from(a) + i64::from(r1[i]) * i64::from(b);
            out[3 * nw * y + i] =
                ((v + (1 << (2 * COEF_BITS - 1))) >> (2 * COEF_BITS)).clamp(0, 255) as u8;
        }
        cache = Some((s0, r0, s1, r1));
    }
    out
}

/// OpenCV's `INTER_LINEAR` on an exact 2× shrink is `INTER_AREA`: the rounded mean of each
/// 2×2 block.
fn area_half(rgb: &[u8], w: usize, h: usize) -> Vec<u8> {
    let (nw, nh) = (w / 2, h / 2);
    let mut out = vec![0u8; 3 * nw * nh];
    for y in 0..nh {
        for x in 0..nw {
            for c in 0..3 {
                let p = |yy: usize, xx: usize| u32::from(rgb[3 * (yy * w + xx) + c]);
                let s = p(2 * y, 2 * x)
                    + p(2 * y, 2 * x + 1)
                    + p(2 * y + 1, 2 * x)
                    + p(2 * y + 1, 2 * x + 1);
                out[3 * (y * nw + x) + c] = ((s + 2) / 4) as u8;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rect_sizes_pad_to_the_next_stride_multiple_only() {
        // Without a margin (Ultralytics): 16:9 → 640×384; 4:3 → 640×480; bus.jpg → 480×640.
        assert_eq!(
            Letterbox::rect_size(1920, 1080, 640, 640, 32, 0),
            (640, 384)
        );
        assert_eq!(Letterbox::rect_size(640, 480, 640, 640, 32, 0), (640, 480));
        assert_eq!(Letterbox::rect_size(810, 1080, 640, 640, 32, 0), (480, 640));
        // With 16 px a side: 360 + 32 → 416; 480 + 32 → 512; a filled axis gets none.
        assert_eq!(
            Letterbox::rect_size(1280, 720, 640, 640, 32, 16),
            (640, 416)
        );
        assert_eq!(Letterbox::rect_size(640, 480, 640, 640, 32, 16), (640, 512));
        assert_eq!(
            Letterbox::rect_size(810, 1080, 640, 640, 32, 16),
            (512, 640)
        );
        // A square image stays square; a tiny one is padded up to one stride.
        assert_eq!(Letterbox::rect_size(500, 500, 640, 640, 32, 16), (640, 640));
        assert_eq!(Letterbox::rect_size(3000, 10, 640, 640, 32, 0), (640, 32));
        let p = Letterbox::plan(1920, 1080, 640, 384);
        assert_eq!((p.new_w, p.new_h, p.pad_left, p.pad_top), (640, 360, 0, 12));
    }

    #[test]
    fn plan_matches_ultralytics_for_bus_jpg() {
        // bus.jpg is 810×1080: gain 640/1080, new size 480×640, 80 px of padding each side.
        let p = Letterbox::plan(810, 1080, 640, 640);
        assert_eq!((p.new_w, p.new_h), (480, 640));
        assert_eq!((p.pad_left, p.pad_top), (80, 0));
        // zidane.jpg is 1280×720: 640×360, 140 px top.
        let p = Letterbox::plan(1280, 720, 640, 640);
        assert_eq!((p.new_w, p.new_h), (640, 360));
        assert_eq!((p.pad_left, p.pad_top), (0, 140));
        // Odd padding: 641×1000 → 410×640, d = 115 → left 115 (round(114.9)), right 115.
        let p = Letterbox::plan(641, 1000, 640, 640);
        assert_eq!(p.new_w, 410);
        assert_eq!(p.pad_left, 115);
    }

    #[test]
    fn boxes_map_back_to_source_pixels() {
        let p = Letterbox::plan(810, 1080, 640, 640);
        let b = p.to_source([80.0, 0.0, 560.0, 640.0]);
        assert!(
            (b[0] - 0.0).abs() < 1e-3 && (b[2] - 810.0).abs() < 1e-3,
            "{b:?}"
        );
        assert!((b[3] - 1080.0).abs() < 1e-3);
    }

    #[test]
    fn letterbox_pads_with_grey_and_keeps_colours() {
        // A 4×2 red image into 8×8: scaled ×2 to 8×4, 2 px of grey above and below.
        let rgb: Vec<u8> = [255u8, 0, 0].repeat(8);
        let (t, p) = letterbox(&rgb, 4, 2, 8, 8);
        assert_eq!((p.new_w, p.new_h, p.pad_top), (8, 4, 2));
        let plane = 64;
        assert!((t[0] - 114.0 / 255.0).abs() < 1e-6, "grey padding");
        let centre = 4 * 8 + 4;
        assert!((t[centre] - 1.0).abs() < 1e-6 && t[plane + centre] == 0.0);
    }

    #[test]
    fn bilinear_matches_known_opencv_values() {
        // cv2.resize(np.array([[0, 100, 200]], np.uint8), (2, 1), interpolation=cv2.INTER_LINEAR)
        // → [[25, 175]] (source positions 0.25 and 1.75).
        let grey: Vec<u8> = [0u8, 100, 200].iter().flat_map(|&v| [v, v, v]).collect();
        let out = resize_bilinear(&grey, 3, 1, 2, 1);
        assert_eq!((out[0], out[3]), (25, 175));
    }
}
