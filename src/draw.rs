//! Drawing on RGB8 frames: boxes, labels (8×8 bitmap font), polygons, filled polygons,
//! crops and JPEG encoding. Used by alpr artifacts, camera alert snapshots, the annotated
//! MJPEG stream and zone masks.

use std::io::Cursor;

use font8x8::UnicodeFonts as _;

use crate::vision::images::RgbImage;

/// A rectangle `x1, y1, x2, y2` clipped to the image, in whole pixels.
fn clip(img: &RgbImage, b: [f64; 4]) -> Option<[usize; 4]> {
    let x1 = b[0].floor().clamp(0.0, img.width as f64) as usize;
    let y1 = b[1].floor().clamp(0.0, img.height as f64) as usize;
    let x2 = b[2].ceil().clamp(0.0, img.width as f64) as usize;
    let y2 = b[3].ceil().clamp(0.0, img.height as f64) as usize;
    (x2 > x1 && y2 > y1).then_some([x1, y1, x2, y2])
}

/// The pixels inside `bbox` (source pixels) as a new image; `None` when empty.
pub fn crop(img: &RgbImage, bbox: [f64; 4]) -> Option<RgbImage> {
    let [x1, y1, x2, y2] = clip(img, bbox)?;
    let mut data = Vec::with_capacity(3 * (x2 - x1) * (y2 - y1));
    for y in y1..y2 {
        data.extend_from_slice(&img.data[3 * (y * img.width + x1)..3 * (y * img.width + x2)]);
    }
    Some(RgbImage {
        width: x2 - x1,
        height: y2 - y1,
        data,
    })
}

/// JPEG at quality 90 (stored artifacts).
///
/// # Errors
/// Encoder errors (dimensions over 65535).
pub fn jpeg(img: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    jpeg_quality(img, 90)
}

pub fn put(img: &mut RgbImage, x: i64, y: i64, color: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as usize) < img.width && (y as usize) < img.height {
        let i = 3 * (y as usize * img.width + x as usize);
        img.data[i..i + 3].copy_from_slice(&color);
    }
}

pub fn fill(img: &mut RgbImage, x1: i64, y1: i64, x2: i64, y2: i64, color: [u8; 3]) {
    for y in y1.max(0)..y2.min(img.height as i64) {
        for x in x1.max(0)..x2.min(img.width as i64) {
            put(img, x, y, color);
        }
    }
}

/// Draws a hollow box of `thickness` pixels.
pub fn draw_box(img: &mut RgbImage, b: [f64; 4], thickness: i64, color: [u8; 3]) {
    let (x1, y1, x2, y2) = (b[0] as i64, b[1] as i64, b[2] as i64, b[3] as i64);
    fill(img, x1, y1, x2, y1 + thickness, color);
    fill(img, x1, y2 - thickness, x2, y2, color);
    fill(img, x1, y1, x1 + thickness, y2, color);
    fill(img, x2 - thickness, y1, x2, y2, color);
}

/// Draws `text` (8×8 bitmap font scaled by `scale`) on a filled label whose bottom-left
/// corner is at `(x, y)`.
pub fn draw_label(
    img: &mut RgbImage,
    x: i64,
    y: i64,
    text: &str,
    scale: i64,
    fg: [u8; 3],
    bg: [u8; 3],
) {
    let w = 8 * scale * text.chars().count() as i64 + 2 * scale;
    let h = 8 * scale + 2 * scale;
    let top = (y - h).max(0);
    fill(img, x, top, x + w, top + h, bg);
    for (i, ch) in text.chars().enumerate() {
        let Some(glyph) = font8x8::BASIC_FONTS.get(ch) else {
            continue;
        };
        let gx = x + scale + 8 * scale * i as i64;
        for (row, bits) in glyph.iter().enumerate() {
            for col in 0..8 {
                if bits & (1 << col) != 0 {
                    let px = gx + col * scale;
                    let py = top + scale + row as i64 * scale;
                    fill(img, px, py, px + scale, py + scale, fg);
                }
            }
        }
    }
}

/// JPEG at `quality` (1–100; live streams use 70 as Frigate does).
///
/// # Errors
/// Encoder errors (dimensions over 65535).
pub fn jpeg_quality(img: &RgbImage, quality: u8) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, quality.clamp(1, 100));
    image::ImageEncoder::write_image(
        enc,
        &img.data,
        img.width as u32,
        img.height as u32,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out.into_inner())
}

/// Draws a line of `thickness` pixels from `a` to `b` (source pixels) as a run of filled
/// squares along the segment.
pub fn draw_line(img: &mut RgbImage, a: [f64; 2], b: [f64; 2], thickness: i64, color: [u8; 3]) {
    let steps = (b[0] - a[0]).abs().max((b[1] - a[1]).abs()).ceil().max(1.0) as i64;
    let half = thickness / 2;
    for i in 0..=steps {
        let t = i as f64 / steps as f64;
        let x = (a[0] + (b[0] - a[0]) * t).round() as i64;
        let y = (a[1] + (b[1] - a[1]) * t).round() as i64;
        fill(
            img,
            x - half,
            y - half,
            x - half + thickness,
            y - half + thickness,
            color,
        );
    }
}

/// Outlines a closed polygon (vertices in source pixels).
pub fn draw_polygon(img: &mut RgbImage, points: &[[f64; 2]], thickness: i64, color: [u8; 3]) {
    for (i, a) in points.iter().enumerate() {
        let b = points[(i + 1) % points.len()];
        draw_line(img, *a, b, thickness, color);
    }
}

/// Fills a polygon with the even-odd rule, sampling each pixel at its centre; pixels on
/// the outline are filled too (the outline is drawn 1 px wide after the scanline pass), so
/// a zone's boundary belongs to it as in the zone test.
pub fn fill_polygon(img: &mut RgbImage, points: &[[f64; 2]], color: [u8; 3]) {
    if points.len() < 3 {
        return;
    }
    let (w, h) = (img.width as i64, img.height as i64);
    let ymin = points
        .iter()
        .map(|p| p[1])
        .fold(f64::INFINITY, f64::min)
        .floor()
        .max(0.0) as i64;
    let ymax = points
        .iter()
        .map(|p| p[1])
        .fold(f64::NEG_INFINITY, f64::max)
        .ceil()
        .min(h as f64) as i64;
    let mut xs: Vec<f64> = Vec::new();
    for y in ymin..ymax {
        let cy = y as f64 + 0.5;
        xs.clear();
        for (i, a) in points.iter().enumerate() {
            let b = points[(i + 1) % points.len()];
            if (a[1] <= cy) != (b[1] <= cy) {
                xs.push(a[0] + (cy - a[1]) * (b[0] - a[0]) / (b[1] - a[1]));
            }
        }
        xs.sort_by(f64::total_cmp);
        for pair in xs.chunks(2) {
            if let [x1, x2] = pair {
                let from = (x1 - 0.5).ceil().max(0.0) as i64;
                let to = ((x2 - 0.5).floor() as i64).min(w - 1);
                fill(img, from, y, to + 1, y + 1, color);
            }
        }
    }
    draw_polygon(img, points, 1, color);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: usize, h: usize, c: [u8; 3]) -> RgbImage {
        RgbImage {
            width: w,
            height: h,
            data: c.repeat(w * h),
        }
    }

    #[test]
    fn crops_clip_to_the_image_and_labels_stay_inside() {
        let mut img = solid(20, 10, [0, 0, 0]);
        let c = crop(&img, [-5.0, 2.0, 8.0, 50.0]).expect("crop");
        assert_eq!((c.width, c.height), (8, 8));
        assert!(crop(&img, [30.0, 0.0, 40.0, 5.0]).is_none());
        draw_box(&mut img, [1.0, 1.0, 19.0, 9.0], 1, [0, 255, 0]);
        draw_label(&mut img, 15, 3, "B1234", 2, [255, 255, 255], [255, 0, 0]);
        assert_eq!(&img.data[3 * (20 + 1)..3 * (20 + 2)], &[0, 255, 0]);
        assert!(jpeg(&img).expect("jpeg").starts_with(&[0xFF, 0xD8]));
    }

    #[test]
    fn filled_polygons_cover_their_inside_and_edges_only() {
        let mut img = solid(20, 20, [0, 0, 0]);
        fill_polygon(
            &mut img,
            &[[5.0, 5.0], [14.0, 5.0], [14.0, 14.0], [5.0, 14.0]],
            [255, 255, 255],
        );
        let at = |x: usize, y: usize| img.data[3 * (y * 20 + x)];
        assert_eq!(at(10, 10), 255);
        assert_eq!(at(5, 5), 255, "vertex");
        assert_eq!(at(14, 9), 255, "edge");
        assert_eq!(at(3, 10), 0);
        assert_eq!(at(16, 16), 0);
        let white = img.data.chunks(3).filter(|p| p[0] == 255).count();
        assert_eq!(white, 100, "10×10 pixels from 5 to 14 inclusive");
    }
}
