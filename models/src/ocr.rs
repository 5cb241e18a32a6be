//! Text reading with PP-OCRv4: DBNet detection, text-line crops, SVTR-LCNet recognition with
//! CTC greedy decoding.
//!
//! Mirrors RapidOCR 1.4.4 (`rapidocr_onnxruntime/main.py`, `ch_ppocr_det/`, `ch_ppocr_rec/`,
//! `config.yaml`), the reference this is tested against: side limits (max 2000, min 30),
//! black letterbox for flat images, detection input resized so its short side is 736
//! (multiples of 32, BGR, `(x/255 − 0.5)/0.5`), DB post-processing (threshold 0.3, 2×2
//! dilation, min-area boxes, box score ≥ 0.5, unclip ratio 1.6), perspective crops, and
//! recognition at height 48 in batches of 6 sorted by aspect ratio, keeping lines whose
//! mean character probability is ≥ 0.5. The 180° direction classifier is not run: plates
//! and signs arrive upright (it is a separate network to add when rotated input matters).
//!
//! Geometry differences from the reference, all sub-pixel: connected components instead of
//! `cv2.findContours` (same outer boundary, holes ignored), the unclip of a rectangle done
//! in closed form instead of by `pyclipper`, bicubic crop sampling in float instead of OpenCV's
//! fixed-point tables.

use std::path::Path;

use candle_core::{Device, Tensor};

use crate::{ModelError, graph::OnnxGraph, onnx::OnnxModel, preprocess::resize_rgb};

/// One read text line.
#[derive(Debug, Clone, PartialEq)]
pub struct TextLine {
    /// The text.
    pub text: String,
    /// Mean probability of its characters, 0–1.
    pub confidence: f32,
    /// Corners in source pixels: top-left, top-right, bottom-right, bottom-left.
    pub quad: [[f32; 2]; 4],
}

/// Tunables (RapidOCR's defaults).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct OcrParams {
    /// Probability threshold of the DB map.
    pub thresh: f32,
    /// Minimum mean probability inside a box.
    pub box_thresh: f32,
    /// Box expansion ratio (DBNet's unclip).
    pub unclip_ratio: f32,
    /// Minimum text confidence kept.
    pub text_score: f32,
    /// The detection input's short side when the image's is shorter (RapidOCR's
    /// `limit_side_len` 736 with `limit_type: min`): smaller images are upscaled to it,
    /// larger ones kept. Plate reading uses less ([`crate::alpr::PLATE_DET_SIDE`]).
    pub det_min_side: usize,
}

impl Default for OcrParams {
    fn default() -> Self {
        Self {
            thresh: 0.3,
            box_thresh: 0.5,
            unclip_ratio: 1.6,
            text_score: 0.5,
            det_min_side: 736,
        }
    }
}

/// The detection and recognition networks plus the character list.
pub struct OcrEngine {
    det: OnnxGraph,
    rec: OnnxGraph,
    /// `blank`, the model's characters, then space (CTC index 0 is blank).
    chars: Vec<String>,
    device: Device,
}

/// An RGB8 image buffer.
struct Img {
    w: usize,
    h: usize,
    rgb: Vec<u8>,
}

impl OcrEngine {
    /// Loads PP-OCR det and rec ONNX files; the character list comes from the rec model's
    /// `character` metadata.
    ///
    /// # Errors
    /// Unreadable files, unsupported operators, or a rec model without `character`.
    pub fn load(det: &Path, rec: &Path, device: &Device) -> Result<Self, ModelError> {
        let det_model = OnnxModel::load(det)?;
        let rec_model = OnnxModel::load(rec)?;
        let chars_meta = rec_model.metadata.get("character").ok_or_else(|| {
            ModelError::Unsupported(format!(
                "{}: no `character` metadata (not a PP-OCR rec model)",
                rec.display()
            ))
        })?;
        let mut chars = vec!["blank".to_owned()];
        chars.extend(chars_meta.lines().map(str::to_owned));
        chars.push(" ".to_owned());
        let det_graph = OnnxGraph::new(&det_model, device)
            .map_err(|e| ModelError::Unsupported(format!("{}: {e}", det.display())))?;
        let rec_graph = OnnxGraph::new(&rec_model, device)
            .map_err(|e| ModelError::Unsupported(format!("{}: {e}", rec.display())))?;
        Ok(Self {
            det: det_graph,
            rec: rec_graph,
            chars,
            device: device.clone(),
        })
    }

    /// Reads the text lines of an interleaved RGB8 image, top to bottom, left to right.
    ///
    /// # Errors
    /// Candle errors.
    pub fn read(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
        params: &OcrParams,
    ) -> Result<Vec<TextLine>, ModelError> {
        let src = Img {
            w: width,
            h: height,
            rgb: rgb[..3 * width * height].to_vec(),
        };
        // Side limits.
        let (mut img, mut ratio_h, mut ratio_w) = (src, 1.0f32, 1.0f32);
        if img.w.max(img.h) > 2000 {
            let r = 2000.0 / img.w.max(img.h) as f32;
            (img, ratio_h, ratio_w) = resize_by(&img, r);
        }
        if img.w.min(img.h) < 30 {
            let r = 30.0 / img.w.min(img.h) as f32;
            (img, ratio_h, ratio_w) = resize_by(&img, r);
        }
        // Black letterbox above and below for short or very wide images.
        let mut pad_top = 0usize;
        if img.h <= 30 || img.w as f32 / img.h as f32 > 8.0 {
            let new_h = ((img.w as f32 / 8.0) as usize).max(30) * 2;
            pad_top = new_h.abs_diff(img.h) / 2;
            let mut rgb = vec![0u8; 3 * img.w * (img.h + 2 * pad_top)];
            rgb[3 * img.w * pad_top..3 * img.w * (pad_top + img.h)].copy_from_slice(&img.rgb);
            img = Img {
                w: img.w,
                h: img.h + 2 * pad_top,
                rgb,
            };
        }
        let boxes = self.detect(&img, params)?;
        if boxes.is_empty() {
            return Ok(Vec::new());
        }
        let crops: Vec<Img> = boxes.iter().map(|q| crop_quad(&img, q)).collect();
        let texts = self.recognize(&crops)?;
        let mut out = Vec::new();
        for (q, (text, conf)) in boxes.iter().zip(texts) {
            if conf < params.text_score || text.is_empty() {
                continue;
            }
            let quad = q.map(|[x, y]| {
                [
                    ((x) * ratio_w).clamp(0.0, width as f32),
                    ((y - pad_top as f32) * ratio_h).clamp(0.0, height as f32),
                ]
            });
            out.push(TextLine {
                text,
                confidence: conf,
                quad,
            });
        }
        Ok(out)
    }

    /// DB detection: quads in `img` pixels, sorted top-to-bottom then left-to-right.
    fn detect(&self, img: &Img, params: &OcrParams) -> Result<Vec<[[f32; 2]; 4]>, ModelError> {
        let (h, w) = (img.h, img.w);
        let side = params.det_min_side.max(32);
        let ratio = if w.min(h) < side {
            side as f64 / w.min(h) as f64
        } else {
            1.0
        };
        let rh = ((((h as f64 * ratio) as usize) as f64 / 32.0).round() as usize * 32).max(32);
        let rw = ((((w as f64 * ratio) as usize) as f64 / 32.0).round() as usize * 32).max(32);
        let resized = resize_rgb(&img.rgb, w, h, rw, rh);
        let plane = rw * rh;
        let mut input = vec![0f32; 3 * plane];
        for i in 0..plane {
            for c in 0..3 {
                // BGR order, (x/255 − 0.5)/0.5.
                input[c * plane + i] = (f32::from(resized[3 * i + 2 - c]) / 255.0 - 0.5) / 0.5;
            }
        }
        let x = Tensor::from_vec(input, (1, 3, rh, rw), &self.device)?;
        let prob = self.det.run(&x)?.flatten_all()?.to_vec1::<f32>()?;
        let mut bitmap: Vec<u8> = prob.iter().map(|&p| u8::from(p > params.thresh)).collect();
        bitmap = dilate2x2(&bitmap, rw, rh);
        let mut quads = Vec::new();
        for comp in components(&bitmap, rw, rh).into_iter().take(1000) {
            let hull = convex_hull(&comp);
            let Some((rect, sside)) = min_area_rect(&hull) else {
                continue;
            };
            if sside < 3.0 {
                continue;
            }
            let pts = mini_box(&rect);
            if box_score(&prob, rw, rh, &pts) < params.box_thresh {
                continue;
            }
            let expanded = unclip(&pts, params.unclip_ratio);
            let Some((rect2, sside2)) = min_area_rect(&expanded) else {
                continue;
            };
            if sside2 < 5.0 {
                continue;
            }
            let pts = mini_box(&rect2).map(|[x, y]| {
                [
                    (x / rw as f32 * w as f32).round().clamp(0.0, w as f32),
                    (y / rh as f32 * h as f32).round().clamp(0.0, h as f32),
                ]
            });
            let q = order_clockwise(pts).map(|[x, y]| {
                [
                    x.clamp(0.0, (w - 1) as f32).trunc(),
                    y.clamp(0.0, (h - 1) as f32).trunc(),
                ]
            });
            let dist =
                |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            if dist(q[0], q[1]) as i32 <= 3 || dist(q[0], q[3]) as i32 <= 3 {
                continue;
            }
            quads.push(q);
        }
        Ok(sort_boxes(quads))
    }

    /// Recognition in batches of 6 sorted by aspect ratio; returns (text, mean prob).
    fn recognize(&self, crops: &[Img]) -> Result<Vec<(String, f32)>, ModelError> {
        let mut order: Vec<usize> = (0..crops.len()).collect();
        let ratio = |i: usize| crops[i].w as f32 / crops[i].h as f32;
        order.sort_by(|&a, &b| ratio(a).total_cmp(&ratio(b)));
        let mut out = vec![(String::new(), 0.0); crops.len()];
        for batch in order.chunks(6) {
            let max_ratio = batch.iter().map(|&i| ratio(i)).fold(320.0 / 48.0, f32::max);
            let img_w = (48.0 * max_ratio) as usize;
            let mut input = vec![0f32; batch.len() * 3 * 48 * img_w];
            for (b, &i) in batch.iter().enumerate() {
                let c = &crops[i];
                let rw = ((48.0 * ratio(i)).ceil() as usize).clamp(1, img_w);
                let resized = resize_rgb(&c.rgb, c.w, c.h, rw, 48);
                for y in 0..48 {
                    for x in 0..rw {
                        for ch in 0..3 {
                            // BGR, (x/255 − 0.5)/0.5, zero padding on the right.
                            let v = f32::from(resized[3 * (y * rw + x) + 2 - ch]) / 255.0;
                            input[((b * 3 + ch) * 48 + y) * img_w + x] = (v - 0.5) / 0.5;
                        }
                    }
                }
            }
            let x = Tensor::from_vec(input, (batch.len(), 3, 48, img_w), &self.device)?;
            let probs = self.rec.run(&x)?; // [N, T, C] softmax
            let (n, t, c) = probs.dims3()?;
            let data = probs.flatten_all()?.to_vec1::<f32>()?;
            for (b, &i) in batch.iter().enumerate().take(n) {
                out[i] = ctc_greedy(&data[b * t * c..(b + 1) * t * c], t, c, &self.chars);
            }
        }
        Ok(out)
    }
}

/// CTC greedy decoding: best class per step, repeats collapsed, blanks (index 0) dropped;
/// confidence is the mean of the kept steps' probabilities (0 for empty text).
pub fn ctc_greedy(probs: &[f32], steps: usize, classes: usize, chars: &[String]) -> (String, f32) {
    let mut text = String::new();
    let mut confs = Vec::new();
    let mut prev = usize::MAX;
    for s in 0..steps {
        let row = &probs[s * classes..(s + 1) * classes];
        let (best, p) = row
            .iter()
            .enumerate()
            .fold(
                (0, f32::NEG_INFINITY),
                |acc, (i, &v)| if v > acc.1 { (i, v) } else { acc },
            );
        if best != 0
            && best != prev
            && let Some(ch) = chars.get(best)
        {
            text.push_str(ch);
            confs.push(p);
        }
        prev = best;
    }
    let conf = if confs.is_empty() {
        0.0
    } else {
        confs.iter().sum::<f32>() / confs.len() as f32
    };
    (text, conf)
}

fn resize_by(img: &Img, r: f32) -> (Img, f32, f32) {
    let rh = ((((img.h as f32 * r) as usize) as f32 / 32.0).round() as usize * 32).max(32);
    let rw = ((((img.w as f32 * r) as usize) as f32 / 32.0).round() as usize * 32).max(32);
    let rgb = resize_rgb(&img.rgb, img.w, img.h, rw, rh);
    (
        Img { w: rw, h: rh, rgb },
        img.h as f32 / rh as f32,
        img.w as f32 / rw as f32,
    )
}

/// `cv2.dilate` with a 2×2 kernel of ones (anchor at its centre: offsets −1 and 0).
fn dilate2x2(src: &[u8], w: usize, h: usize) -> Vec<u8> {
    let mut out = vec![0u8; w * h];
    for y in 0..h {
        for x in 0..w {
            let mut v = src[y * w + x];
            if x > 0 {
                v |= src[y * w + x - 1];
            }
            if y > 0 {
                v |= src[(y - 1) * w + x];
                if x > 0 {
                    v |= src[(y - 1) * w + x - 1];
                }
            }
            out[y * w + x] = v;
        }
    }
    out
}

/// 8-connected components of the set pixels, as pixel-centre coordinates.
fn components(bitmap: &[u8], w: usize, h: usize) -> Vec<Vec<[f32; 2]>> {
    let mut seen = vec![false; w * h];
    let mut out = Vec::new();
    let mut stack = Vec::new();
    for start in 0..w * h {
        if bitmap[start] == 0 || seen[start] {
            continue;
        }
        let mut pts = Vec::new();
        seen[start] = true;
        stack.push(start);
        while let Some(i) = stack.pop() {
            let (x, y) = (i % w, i / w);
            pts.push([x as f32, y as f32]);
            for dy in -1i64..=1 {
                for dx in -1i64..=1 {
                    let (nx, ny) = (x as i64 + dx, y as i64 + dy);
                    if nx < 0 || ny < 0 || nx >= w as i64 || ny >= h as i64 {
                        continue;
                    }
                    let j = ny as usize * w + nx as usize;
                    if bitmap[j] != 0 && !seen[j] {
                        seen[j] = true;
                        stack.push(j);
                    }
                }
            }
        }
        out.push(pts);
    }
    out
}

/// Convex hull (Andrew's monotone chain), counter-clockwise, no repeated end point.
fn convex_hull(points: &[[f32; 2]]) -> Vec<[f32; 2]> {
    let mut p: Vec<[f32; 2]> = points.to_vec();
    p.sort_by(|a, b| a[0].total_cmp(&b[0]).then(a[1].total_cmp(&b[1])));
    p.dedup();
    if p.len() < 3 {
        return p;
    }
    let cross = |o: [f32; 2], a: [f32; 2], b: [f32; 2]| {
        (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0])
    };
    let mut hull: Vec<[f32; 2]> = Vec::with_capacity(2 * p.len());
    for &pt in p.iter().chain(p.iter().rev().skip(1)) {
        while hull.len() >= 2 && cross(hull[hull.len() - 2], hull[hull.len() - 1], pt) <= 0.0 {
            hull.pop();
        }
        hull.push(pt);
    }
    hull.pop();
    hull
}

/// Minimum-area enclosing rectangle of a convex polygon (rotating calipers over its edges):
/// the four corners and the shorter side. A single point or a segment gives a degenerate
/// rectangle of side 0.
fn min_area_rect(hull: &[[f32; 2]]) -> Option<([[f32; 2]; 4], f32)> {
    if hull.is_empty() {
        return None;
    }
    if hull.len() < 3 {
        let a = hull[0];
        let b = *hull.last()?;
        return Some(([a, b, b, a], 0.0));
    }
    let mut best: Option<(f32, [[f32; 2]; 4], f32)> = None;
    for i in 0..hull.len() {
        let a = hull[i];
        let b = hull[(i + 1) % hull.len()];
        let (dx, dy) = (b[0] - a[0], b[1] - a[1]);
        let len = (dx * dx + dy * dy).sqrt();
        if len == 0.0 {
            continue;
        }
        let (ux, uy) = (dx / len, dy / len);
        let (vx, vy) = (-uy, ux);
        let (mut min_u, mut max_u, mut min_v, mut max_v) = (f32::MAX, f32::MIN, f32::MAX, f32::MIN);
        for p in hull {
            let u = p[0] * ux + p[1] * uy;
            let v = p[0] * vx + p[1] * vy;
            min_u = min_u.min(u);
            max_u = max_u.max(u);
            min_v = min_v.min(v);
            max_v = max_v.max(v);
        }
        let area = (max_u - min_u) * (max_v - min_v);
        if best.as_ref().is_none_or(|b| area < b.0) {
            let corner = |u: f32, v: f32| [u * ux + v * vx, u * uy + v * vy];
            let rect = [
                corner(min_u, min_v),
                corner(max_u, min_v),
                corner(max_u, max_v),
                corner(min_u, max_v),
            ];
            best = Some((area, rect, (max_u - min_u).min(max_v - min_v)));
        }
    }
    best.map(|(_, r, s)| (r, s))
}

/// RapidOCR's `get_mini_boxes` ordering: sorted by x, then top-left, top-right,
/// bottom-right, bottom-left by y within the left and right pairs.
fn mini_box(rect: &[[f32; 2]; 4]) -> [[f32; 2]; 4] {
    let mut p = *rect;
    p.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (i1, i4) = if p[1][1] > p[0][1] { (0, 1) } else { (1, 0) };
    let (i2, i3) = if p[3][1] > p[2][1] { (2, 3) } else { (3, 2) };
    [p[i1], p[i2], p[i3], p[i4]]
}

/// `order_points_clockwise`: top-left, top-right, bottom-right, bottom-left.
fn order_clockwise(pts: [[f32; 2]; 4]) -> [[f32; 2]; 4] {
    let mut p = pts;
    p.sort_by(|a, b| a[0].total_cmp(&b[0]));
    let (mut left, mut right) = ([p[0], p[1]], [p[2], p[3]]);
    left.sort_by(|a, b| a[1].total_cmp(&b[1]));
    right.sort_by(|a, b| a[1].total_cmp(&b[1]));
    [left[0], right[0], right[1], left[1]]
}

/// Mean probability over the pixels whose centres lie inside the quad (`box_score_fast`).
fn box_score(prob: &[f32], w: usize, h: usize, q: &[[f32; 2]; 4]) -> f32 {
    let xmin = (q
        .iter()
        .map(|p| p[0])
        .fold(f32::MAX, f32::min)
        .floor()
        .max(0.0) as usize)
        .min(w - 1);
    let xmax = (q
        .iter()
        .map(|p| p[0])
        .fold(f32::MIN, f32::max)
        .ceil()
        .max(0.0) as usize)
        .min(w - 1);
    let ymin = (q
        .iter()
        .map(|p| p[1])
        .fold(f32::MAX, f32::min)
        .floor()
        .max(0.0) as usize)
        .min(h - 1);
    let ymax = (q
        .iter()
        .map(|p| p[1])
        .fold(f32::MIN, f32::max)
        .ceil()
        .max(0.0) as usize)
        .min(h - 1);
    let poly: Vec<[f32; 2]> = q.iter().map(|p| [p[0].trunc(), p[1].trunc()]).collect();
    let (mut sum, mut n) = (0f64, 0usize);
    for y in ymin..=ymax {
        for x in xmin..=xmax {
            if inside(&poly, x as f32, y as f32) {
                sum += f64::from(prob[y * w + x]);
                n += 1;
            }
        }
    }
    if n == 0 { 0.0 } else { (sum / n as f64) as f32 }
}

/// Point in polygon, boundary included.
fn inside(poly: &[[f32; 2]], x: f32, y: f32) -> bool {
    let n = poly.len();
    let mut c = false;
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + 1) % n]);
        // On the edge?
        let cross = (b[0] - a[0]) * (y - a[1]) - (b[1] - a[1]) * (x - a[0]);
        if cross.abs() < 1e-6
            && x >= a[0].min(b[0]) - 1e-6
            && x <= a[0].max(b[0]) + 1e-6
            && y >= a[1].min(b[1]) - 1e-6
            && y <= a[1].max(b[1]) + 1e-6
        {
            return true;
        }
        if (a[1] > y) != (b[1] > y) && x < (b[0] - a[0]) * (y - a[1]) / (b[1] - a[1]) + a[0] {
            c = !c;
        }
    }
    c
}

/// DBNet's unclip of a rectangle: offset by `area · ratio / perimeter` outwards. The round
/// join's minimum-area rectangle is the rectangle grown by that distance on every side.
fn unclip(q: &[[f32; 2]; 4], ratio: f32) -> Vec<[f32; 2]> {
    let d = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let (wd, ht) = (d(q[0], q[1]), d(q[1], q[2]));
    let area = wd * ht;
    let perimeter = 2.0 * (wd + ht);
    if perimeter <= 0.0 {
        return q.to_vec();
    }
    let dist = area * ratio / perimeter;
    let c = [(q[0][0] + q[2][0]) / 2.0, (q[0][1] + q[2][1]) / 2.0];
    let unit = |a: [f32; 2], b: [f32; 2]| {
        let l = d(a, b).max(1e-6);
        [(b[0] - a[0]) / l, (b[1] - a[1]) / l]
    };
    let u = unit(q[0], q[1]);
    let v = unit(q[1], q[2]);
    let (hw, hh) = (wd / 2.0 + dist, ht / 2.0 + dist);
    [(-1.0f32, -1.0f32), (1.0, -1.0), (1.0, 1.0), (-1.0, 1.0)]
        .iter()
        .map(|(su, sv)| {
            [
                c[0] + su * hw * u[0] + sv * hh * v[0],
                c[1] + su * hw * u[1] + sv * hh * v[1],
            ]
        })
        .collect()
}

/// RapidOCR's `sorted_boxes`: by top-left y then x, then neighbours on the same line
/// (y within 10 px) swapped into left-to-right order.
fn sort_boxes(mut boxes: Vec<[[f32; 2]; 4]>) -> Vec<[[f32; 2]; 4]> {
    boxes.sort_by(|a, b| {
        a[0][1]
            .total_cmp(&b[0][1])
            .then(a[0][0].total_cmp(&b[0][0]))
    });
    for i in 0..boxes.len().saturating_sub(1) {
        for j in (0..=i).rev() {
            if (boxes[j + 1][0][1] - boxes[j][0][1]).abs() < 10.0
                && boxes[j + 1][0][0] < boxes[j][0][0]
            {
                boxes.swap(j, j + 1);
            } else {
                break;
            }
        }
    }
    boxes
}

/// Perspective crop of a quad to an upright rectangle (edge pixels replicated), rotated
/// 90° when much taller than wide (`get_rotate_crop_image`).
fn crop_quad(img: &Img, q: &[[f32; 2]; 4]) -> Img {
    let d = |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
    let cw = (d(q[0], q[1]).max(d(q[2], q[3])) as usize).max(1);
    let ch = (d(q[0], q[3]).max(d(q[1], q[2])) as usize).max(1);
    let dst = [
        [0.0, 0.0],
        [cw as f32, 0.0],
        [cw as f32, ch as f32],
        [0.0, ch as f32],
    ];
    // Map destination pixels back into the source: homography dst → src.
    let m = homography(&dst, q);
    let mut rgb = vec![0u8; 3 * cw * ch];
    for y in 0..ch {
        for x in 0..cw {
            let (xf, yf) = (x as f64, y as f64);
            let den = m[6] * xf + m[7] * yf + 1.0;
            let sx = ((m[0] * xf + m[1] * yf + m[2]) / den) as f32;
            let sy = ((m[3] * xf + m[4] * yf + m[5]) / den) as f32;
            let px = sample_bicubic(img, sx, sy);
            rgb[3 * (y * cw + x)..3 * (y * cw + x) + 3].copy_from_slice(&px);
        }
    }
    let crop = Img { w: cw, h: ch, rgb };
    if ch as f32 / cw as f32 >= 1.5 {
        rotate90_ccw(&crop)
    } else {
        crop
    }
}

/// OpenCV's `INTER_CUBIC` sample as `warpPerspective` takes it: Keys' cubic (a = −0.75)
/// over a 4×4 neighbourhood, fractional positions quantised to 1/32 pixel
/// (`INTER_TAB_SIZE`), edge pixels replicated (`BORDER_REPLICATE`).
fn sample_bicubic(img: &Img, x: f32, y: f32) -> [u8; 3] {
    let weights = |t: f32| -> [f32; 4] {
        const A: f32 = -0.75;
        let w = |d: f32| {
            let d = d.abs();
            if d <= 1.0 {
                ((A + 2.0) * d - (A + 3.0)) * d * d + 1.0
            } else if d < 2.0 {
                ((A * d - 5.0 * A) * d + 8.0 * A) * d - 4.0 * A
            } else {
                0.0
            }
        };
        [w(1.0 + t), w(t), w(1.0 - t), w(2.0 - t)]
    };
    let (xf, yf) = ((x * 32.0).round() / 32.0, (y * 32.0).round() / 32.0);
    let (x0, y0) = (xf.floor(), yf.floor());
    let (wx, wy) = (weights(xf - x0), weights(yf - y0));
    let clamp = |v: f32, n: usize| (v.max(0.0) as usize).min(n - 1);
    let mut out = [0u8; 3];
    for (c, o) in out.iter_mut().enumerate() {
        let mut acc = 0f32;
        for (j, wyj) in wy.iter().enumerate() {
            let sy = clamp(y0 - 1.0 + j as f32, img.h);
            for (i, wxi) in wx.iter().enumerate() {
                let sx = clamp(x0 - 1.0 + i as f32, img.w);
                acc += wxi * wyj * f32::from(img.rgb[3 * (sy * img.w + sx) + c]);
            }
        }
        *o = acc.round().clamp(0.0, 255.0) as u8;
    }
    out
}

/// `np.rot90`: 90° counter-clockwise.
fn rotate90_ccw(img: &Img) -> Img {
    let (w, h) = (img.h, img.w);
    let mut rgb = vec![0u8; 3 * w * h];
    for y in 0..h {
        for x in 0..w {
            // dst(x, y) = src(w_src − 1 − y, x)
            let (sx, sy) = (img.w - 1 - y, x);
            rgb[3 * (y * w + x)..3 * (y * w + x) + 3]
                .copy_from_slice(&img.rgb[3 * (sy * img.w + sx)..3 * (sy * img.w + sx) + 3]);
        }
    }
    Img { w, h, rgb }
}

/// The 3×3 homography (h33 = 1) taking `from[i]` to `to[i]`, by Gaussian elimination.
fn homography(from: &[[f32; 2]; 4], to: &[[f32; 2]; 4]) -> [f64; 8] {
    let mut a = [[0f64; 9]; 8];
    for i in 0..4 {
        let (x, y) = (f64::from(from[i][0]), f64::from(from[i][1]));
        let (u, v) = (f64::from(to[i][0]), f64::from(to[i][1]));
        a[2 * i] = [x, y, 1.0, 0.0, 0.0, 0.0, -u * x, -u * y, u];
        a[2 * i + 1] = [0.0, 0.0, 0.0, x, y, 1.0, -v * x, -v * y, v];
    }
    for col in 0..8 {
        let pivot = (col..8)
            .max_by(|&r1, &r2| a[r1][col].abs().total_cmp(&a[r2][col].abs()))
            .unwrap_or(col);
        a.swap(col, pivot);
        let p = a[col][col];
        if p.abs() < 1e-12 {
            continue;
        }
        for v in &mut a[col][col..] {
            *v /= p;
        }
        let pivot_row = a[col];
        for (r, row) in a.iter_mut().enumerate() {
            if r != col {
                let f = row[col];
                for (v, pv) in row[col..].iter_mut().zip(&pivot_row[col..]) {
                    *v -= f * pv;
                }
            }
        }
    }
    let mut m = [0f64; 8];
    for (i, row) in a.iter().enumerate() {
        m[i] = row[8];
    }
    m
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ctc_collapses_repeats_and_drops_blanks() {
        let chars: Vec<String> = ["blank", "A", "B"]
            .iter()
            .map(|s| (*s).to_owned())
            .collect();
        // steps: A A blank A B B
        let seq = [1usize, 1, 0, 1, 2, 2];
        let mut probs = vec![0f32; seq.len() * 3];
        for (s, &c) in seq.iter().enumerate() {
            probs[s * 3 + c] = 0.9;
        }
        let (text, conf) = ctc_greedy(&probs, seq.len(), 3, &chars);
        assert_eq!(text, "AAB");
        assert!((conf - 0.9).abs() < 1e-6);
        assert_eq!(
            ctc_greedy(&[1.0, 0.0, 0.0], 1, 3, &chars),
            (String::new(), 0.0)
        );
    }

    #[test]
    fn min_area_rect_of_a_rotated_square() {
        let pts = [[0.0, 1.0], [1.0, 0.0], [2.0, 1.0], [1.0, 2.0]];
        let (rect, side) = min_area_rect(&convex_hull(&pts)).expect("rect");
        assert!((side - 2f32.sqrt()).abs() < 1e-5);
        let area = {
            let d =
                |a: [f32; 2], b: [f32; 2]| ((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2)).sqrt();
            d(rect[0], rect[1]) * d(rect[1], rect[2])
        };
        assert!((area - 2.0).abs() < 1e-4);
    }

    #[test]
    fn homography_maps_corners() {
        let from = [[0.0, 0.0], [10.0, 0.0], [10.0, 5.0], [0.0, 5.0]];
        let to = [[2.0, 3.0], [12.0, 4.0], [11.0, 9.0], [1.0, 8.0]];
        let m = homography(&from, &to);
        for (f, t) in from.iter().zip(&to) {
            let (x, y) = (f64::from(f[0]), f64::from(f[1]));
            let den = m[6] * x + m[7] * y + 1.0;
            assert!(((m[0] * x + m[1] * y + m[2]) / den - f64::from(t[0])).abs() < 1e-6);
            assert!(((m[3] * x + m[4] * y + m[5]) / den - f64::from(t[1])).abs() < 1e-6);
        }
    }

    #[test]
    fn components_and_dilation() {
        let w = 5;
        let bm = [1u8, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0];
        assert_eq!(components(&bm, w, 3).len(), 2);
        let d = dilate2x2(&bm, w, 3);
        assert_eq!(d[1], 1, "right neighbour of a set pixel");
        assert_eq!(d[5], 1, "pixel below");
    }
}
