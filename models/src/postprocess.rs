//! From raw YOLO predictions to detections: confidence filter, per-class NMS, boxes in source
//! pixels, instance masks.
//!
//! Follows Ultralytics' `non_max_suppression`, `scale_boxes` and `process_mask`
//! (`ultralytics/utils/ops.py`): best class per anchor, `conf > threshold`, greedy NMS per
//! class at IoU `iou` (a box is dropped when its IoU with a kept box of the same class
//! exceeds `iou`), at most `max_det` results, best first.

use crate::preprocess::Letterbox;

/// One detection.
#[derive(Debug, Clone, PartialEq)]
pub struct Detection {
    /// Class index into the model's names.
    pub class_id: usize,
    /// Class score, 0–1.
    pub confidence: f32,
    /// `x1, y1, x2, y2` in network (letterboxed) pixels.
    pub bbox_input: [f32; 4],
    /// `x1, y1, x2, y2` in source pixels, clipped to the image.
    pub bbox: [f32; 4],
    /// Segment models: the mask coefficients (`nm` values).
    pub mask_coefs: Vec<f32>,
}

/// Thresholds of the detection post-processing.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DetectParams {
    /// Minimum class score kept (Ultralytics default 0.25).
    pub conf: f32,
    /// NMS IoU threshold (Ultralytics default 0.7).
    pub iou: f32,
    /// Maximum detections per image (300).
    pub max_det: usize,
}

impl Default for DetectParams {
    fn default() -> Self {
        Self {
            conf: 0.25,
            iou: 0.7,
            max_det: 300,
        }
    }
}

/// Intersection over union of two `x1, y1, x2, y2` boxes; 0 for empty or non-finite boxes.
pub fn iou(a: &[f32; 4], b: &[f32; 4]) -> f32 {
    let iw = (a[2].min(b[2]) - a[0].max(b[0])).max(0.0);
    let ih = (a[3].min(b[3]) - a[1].max(b[1])).max(0.0);
    let inter = iw * ih;
    let area = |r: &[f32; 4]| (r[2] - r[0]).max(0.0) * (r[3] - r[1]).max(0.0);
    let union = area(a) + area(b) - inter;
    if union > 0.0 && union.is_finite() {
        inter / union
    } else {
        0.0
    }
}

/// Decodes predictions `[4 + nc + nm, A]` (row-major, as [`crate::yolo::YoloOutput::preds`]
/// without the batch dim) into detections.
///
/// Non-finite scores or coordinates are dropped, never compared, so NaN cannot panic or
/// reorder results.
pub fn decode(
    preds: &[f32],
    num_classes: usize,
    num_masks: usize,
    params: &DetectParams,
    letterbox: &Letterbox,
) -> Vec<Detection> {
    let rows = 4 + num_classes + num_masks;
    if preds.is_empty() || !preds.len().is_multiple_of(rows) {
        return Vec::new();
    }
    let a = preds.len() / rows;
    let at = |r: usize, i: usize| preds[r * a + i];
    let mut candidates: Vec<Detection> = Vec::new();
    for i in 0..a {
        let mut best = (0usize, f32::NEG_INFINITY);
        for c in 0..num_classes {
            let s = at(4 + c, i);
            if s > best.1 {
                best = (c, s);
            }
        }
        if !best.1.is_finite() || best.1 <= params.conf {
            continue;
        }
        let (cx, cy, w, h) = (at(0, i), at(1, i), at(2, i), at(3, i));
        let b = [cx - w / 2.0, cy - h / 2.0, cx + w / 2.0, cy + h / 2.0];
        if b.iter().any(|v| !v.is_finite()) {
            continue;
        }
        candidates.push(Detection {
            class_id: best.0,
            confidence: best.1,
            bbox_input: b,
            bbox: letterbox.to_source(b),
            mask_coefs: (0..num_masks).map(|m| at(4 + num_classes + m, i)).collect(),
        });
    }
    nms(candidates, params.iou, params.max_det)
}

/// Greedy per-class NMS; the result is sorted by confidence, best first.
pub fn nms(mut dets: Vec<Detection>, iou_threshold: f32, max_det: usize) -> Vec<Detection> {
    dets.retain(|d| d.confidence.is_finite());
    dets.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
    let mut kept: Vec<Detection> = Vec::new();
    for d in dets {
        if kept.len() >= max_det {
            break;
        }
        if kept
            .iter()
            .all(|k| k.class_id != d.class_id || iou(&k.bbox_input, &d.bbox_input) <= iou_threshold)
        {
            kept.push(d);
        }
    }
    kept
}

/// A binary mask in source pixels.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mask {
    /// Width (source image width).
    pub width: usize,
    /// Height (source image height).
    pub height: usize,
    /// Row-major, 1 inside.
    pub data: Vec<u8>,
}

impl Mask {
    /// Pixels inside the mask.
    pub fn area(&self) -> usize {
        self.data.iter().filter(|&&v| v != 0).count()
    }

    /// IoU of two masks of the same size (0 when sizes differ or both are empty).
    pub fn iou(&self, other: &Mask) -> f32 {
        if self.width != other.width || self.height != other.height {
            return 0.0;
        }
        let (mut inter, mut union) = (0usize, 0usize);
        for (a, b) in self.data.iter().zip(&other.data) {
            inter += usize::from(*a != 0 && *b != 0);
            union += usize::from(*a != 0 || *b != 0);
        }
        if union == 0 {
            0.0
        } else {
            inter as f32 / union as f32
        }
    }
}

/// The instance mask of a detection, in source pixels.
///
/// `protos`: `[nm, mh, mw]` row-major. Ultralytics `process_mask`: coefficients × prototypes,
/// zero outside the box (at prototype scale), bilinear upsampling to the network input,
/// positive logits kept; then `scale_image`: the padding is cut and the mask resized to the
/// source (bilinear), kept where ≥ 0.5.
pub fn mask(
    det: &Detection,
    protos: &[f32],
    nm: usize,
    mh: usize,
    mw: usize,
    lb: &Letterbox,
) -> Mask {
    let (iw, ih) = (lb.dst_w, lb.dst_h);
    // Logits at prototype scale, cropped to the box.
    let (rx, ry) = (mw as f32 / iw as f32, mh as f32 / ih as f32);
    let b = det.bbox_input;
    let (bx1, by1, bx2, by2) = (b[0] * rx, b[1] * ry, b[2] * rx, b[3] * ry);
    let mut logits = vec![0f32; mh * mw];
    for y in 0..mh {
        let yf = y as f32;
        if !(yf >= by1 && yf < by2) {
            continue;
        }
        for x in 0..mw {
            let xf = x as f32;
            if !(xf >= bx1 && xf < bx2) {
                continue;
            }
            let mut v = 0f32;
            for (k, c) in det.mask_coefs.iter().enumerate().take(nm) {
                v += c * protos[k * mh * mw + y * mw + x];
            }
            logits[y * mw + x] = v;
        }
    }
    // Bilinear (align_corners = false) to the network input, threshold at 0.
    let up = resize_f32(&logits, mw, mh, iw, ih);
    let binary: Vec<f32> = up
        .iter()
        .map(|&v| if v > 0.0 { 1.0 } else { 0.0 })
        .collect();
    // Cut the padding, resize to the source.
    let mut cut = vec![0f32; lb.new_w * lb.new_h];
    for y in 0..lb.new_h {
        for x in 0..lb.new_w {
            let (sy, sx) = (y + lb.pad_top, x + lb.pad_left);
            if sy < ih && sx < iw {
                cut[y * lb.new_w + x] = binary[sy * iw + sx];
            }
        }
    }
    let src = resize_f32(&cut, lb.new_w, lb.new_h, lb.src_w, lb.src_h);
    Mask {
        width: lb.src_w,
        height: lb.src_h,
        data: src.iter().map(|&v| u8::from(v >= 0.5)).collect(),
    }
}

/// Bilinear resize of a single-channel f32 image with half-pixel centres (PyTorch
/// `align_corners=False`, OpenCV `INTER_LINEAR`).
pub fn resize_f32(src: &[f32], w: usize, h: usize, nw: usize, nh: usize) -> Vec<f32> {
    let taps = |s: usize, d: usize| -> Vec<(usize, usize, f32)> {
        let scale = s as f32 / d as f32;
        (0..d)
            .map(|i| {
                let f = ((i as f32 + 0.5) * scale - 0.5).max(0.0);
                let i0 = (f.floor() as usize).min(s - 1);
                let i1 = (i0 + 1).min(s - 1);
                (i0, i1, f - i0 as f32)
            })
            .collect()
    };
    let xs = taps(w, nw);
    let ys = taps(h, nh);
    let mut out = vec![0f32; nw * nh];
    for (y, &(y0, y1, fy)) in ys.iter().enumerate() {
        for (x, &(x0, x1, fx)) in xs.iter().enumerate() {
            let top = src[y0 * w + x0] * (1.0 - fx) + src[y0 * w + x1] * fx;
            let bot = src[y1 * w + x0] * (1.0 - fx) + src[y1 * w + x1] * fx;
            out[y * nw + x] = top * (1.0 - fy) + bot * fy;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn det(class_id: usize, confidence: f32, b: [f32; 4]) -> Detection {
        Detection {
            class_id,
            confidence,
            bbox_input: b,
            bbox: b,
            mask_coefs: Vec::new(),
        }
    }

    #[test]
    fn iou_basics() {
        assert!((iou(&[0.0, 0.0, 2.0, 2.0], &[1.0, 1.0, 3.0, 3.0]) - 1.0 / 7.0).abs() < 1e-6);
        assert_eq!(iou(&[0.0, 0.0, 1.0, 1.0], &[2.0, 2.0, 3.0, 3.0]), 0.0);
        assert_eq!(iou(&[f32::NAN, 0.0, 1.0, 1.0], &[0.0, 0.0, 1.0, 1.0]), 0.0);
    }

    #[test]
    fn nms_is_per_class_and_sorted() {
        let dets = vec![
            det(0, 0.6, [0.0, 0.0, 10.0, 10.0]),
            det(0, 0.9, [1.0, 1.0, 10.0, 10.0]),
            det(1, 0.8, [0.0, 0.0, 10.0, 10.0]),
            det(0, 0.5, [50.0, 50.0, 60.0, 60.0]),
        ];
        let kept = nms(dets, 0.7, 300);
        let summary: Vec<_> = kept.iter().map(|d| (d.class_id, d.confidence)).collect();
        assert_eq!(summary, vec![(0, 0.9), (1, 0.8), (0, 0.5)]);
    }

    #[test]
    fn nms_survives_nan_and_respects_max_det() {
        let dets = vec![
            det(0, f32::NAN, [0.0, 0.0, 1.0, 1.0]),
            det(0, 0.4, [0.0, 0.0, 1.0, 1.0]),
            det(1, 0.3, [5.0, 5.0, 6.0, 6.0]),
        ];
        let kept = nms(dets, 0.5, 1);
        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].confidence, 0.4);
    }

    #[test]
    fn decode_filters_by_confidence_and_maps_boxes() {
        // Two anchors, one class: [cx, cy, w, h, score] rows.
        let preds = vec![
            100.0, 300.0, // cx
            100.0, 300.0, // cy
            20.0, 20.0, // w
            40.0, 40.0, // h
            0.9, 0.1, // class 0 score
        ];
        let lb = Letterbox::plan(640, 640, 640, 640);
        let d = decode(&preds, 1, 0, &DetectParams::default(), &lb);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].bbox, [90.0, 80.0, 110.0, 120.0]);
        let mut nan = preds.clone();
        nan[8] = f32::NAN;
        assert!(decode(&nan, 1, 0, &DetectParams::default(), &lb).is_empty());
        assert!(decode(&preds[..7], 1, 0, &DetectParams::default(), &lb).is_empty());
    }

    #[test]
    fn resize_f32_keeps_constants_and_interpolates() {
        let src = vec![1.0; 4];
        assert!(
            resize_f32(&src, 2, 2, 5, 3)
                .iter()
                .all(|v| (v - 1.0).abs() < 1e-6)
        );
        let ramp = vec![0.0, 1.0];
        let up = resize_f32(&ramp, 2, 1, 4, 1);
        assert_eq!(up, vec![0.0, 0.25, 0.75, 1.0]);
    }
}
