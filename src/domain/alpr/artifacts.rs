//! Stored artifacts of a detection: the original upload, the annotated image (boxes and
//! plate text drawn), vehicle and plate crops; plate colours read from the crop.
//!
//! Files live under `<data_dir>/outputs/` with collision-free names
//! (`<UTC time>_<12 hex of a UUIDv7>_<what>.jpg`); paths are stored relative to the data dir
//! (`outputs/uploaded/…`), as alpr-api.en.md's `stored_original_path` shows.

use std::{
    io::Cursor,
    path::{Component, Path, PathBuf},
};

use chrono::{DateTime, Utc};
use font8x8::UnicodeFonts as _;

use crate::vision::images::RgbImage;

/// Where artifacts are written and read back.
#[derive(Debug, Clone)]
pub struct ArtifactStore {
    root: PathBuf,
}

/// Keeps `[A-Za-z0-9._-]` of a client-supplied file stem, at most 48 characters.
fn sanitize(stem: &str) -> String {
    let s: String = stem
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-'))
        .take(48)
        .collect();
    let s = s.trim_matches('.').to_owned();
    if s.is_empty() { "image".into() } else { s }
}

impl ArtifactStore {
    /// A store rooted at the data dir.
    pub fn new(data_dir: &Path) -> Self {
        Self {
            root: data_dir.to_path_buf(),
        }
    }

    /// A fresh relative path `outputs/<dir>/<time>_<id>_<what>.<ext>`.
    pub fn name(&self, dir: &str, at: DateTime<Utc>, what: &str, ext: &str) -> String {
        let id = uuid::Uuid::now_v7().simple().to_string();
        format!(
            "outputs/{dir}/{}_{}_{}.{ext}",
            at.format("%Y-%m-%d_%H-%M-%S"),
            &id[id.len() - 12..],
            sanitize(what)
        )
    }

    /// Writes a file at a relative path made by [`Self::name`] (never overwrites).
    ///
    /// # Errors
    /// I/O errors, or the file exists already.
    pub fn write(&self, rel: &str, bytes: &[u8]) -> std::io::Result<()> {
        use std::io::Write as _;
        let path = self.root.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent)?;
        }
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .open(&path)?;
        f.write_all(bytes)
    }

    /// Removes files written for a request that then failed (best effort).
    pub fn remove_all(&self, rels: &[String]) {
        for rel in rels {
            let _ = std::fs::remove_file(self.root.join(rel));
        }
    }

    /// Resolves a client path under `<data_dir>/<top>/` (`top` = `outputs` or `static`).
    /// `None` for anything that could leave that directory: `..`, absolute paths, drive
    /// prefixes, or a symlink pointing outside; also for what is not a regular file.
    pub fn resolve(&self, top: &str, rel: &str) -> Option<PathBuf> {
        let rel = rel.strip_prefix(&format!("{top}/")).unwrap_or(rel);
        let rel_path = Path::new(rel);
        if rel.is_empty()
            || rel.contains('\0')
            || !rel_path
                .components()
                .all(|c| matches!(c, Component::Normal(_)))
        {
            return None;
        }
        let base = self.root.join(top).canonicalize().ok()?;
        let full = base.join(rel_path).canonicalize().ok()?;
        (full.starts_with(&base) && full.is_file()).then_some(full)
    }
}

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

/// JPEG at quality 90.
///
/// # Errors
/// Encoder errors (dimensions over 65535).
pub fn jpeg(img: &RgbImage) -> Result<Vec<u8>, image::ImageError> {
    let mut out = Cursor::new(Vec::new());
    let enc = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 90);
    image::ImageEncoder::write_image(
        enc,
        &img.data,
        img.width as u32,
        img.height as u32,
        image::ExtendedColorType::Rgb8,
    )?;
    Ok(out.into_inner())
}

fn put(img: &mut RgbImage, x: i64, y: i64, color: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as usize) < img.width && (y as usize) < img.height {
        let i = 3 * (y as usize * img.width + x as usize);
        img.data[i..i + 3].copy_from_slice(&color);
    }
}

fn fill(img: &mut RgbImage, x1: i64, y1: i64, x2: i64, y2: i64, color: [u8; 3]) {
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

/// Reads a plate's background and text colours from its crop: pixels split at the Otsu
/// threshold of their luminance, the larger part is the background; each part's mean
/// colour is named (`White`, `Black`, `Yellow`, `Red`, `Green`, `Blue`, `Gray`).
pub fn plate_colors(crop: &RgbImage) -> Option<(String, String)> {
    let n = crop.width * crop.height;
    if n < 16 {
        return None;
    }
    let lum: Vec<u8> = crop
        .data
        .chunks_exact(3)
        .map(|p| ((299 * p[0] as u32 + 587 * p[1] as u32 + 114 * p[2] as u32) / 1000) as u8)
        .collect();
    let mut hist = [0u64; 256];
    for &l in &lum {
        hist[l as usize] += 1;
    }
    let total: u64 = n as u64;
    let sum_all: f64 = hist
        .iter()
        .enumerate()
        .map(|(i, &c)| i as f64 * c as f64)
        .sum();
    let (mut w0, mut sum0, mut best, mut thr) = (0u64, 0f64, -1f64, 0usize);
    for (t, &c) in hist.iter().enumerate() {
        w0 += c;
        sum0 += t as f64 * c as f64;
        let w1 = total - w0;
        if w0 == 0 || w1 == 0 {
            continue;
        }
        let (m0, m1) = (sum0 / w0 as f64, (sum_all - sum0) / w1 as f64);
        let between = w0 as f64 * w1 as f64 * (m0 - m1).powi(2);
        if between > best {
            best = between;
            thr = t;
        }
    }
    let mut acc = [[0f64; 4]; 2];
    for (p, &l) in crop.data.chunks_exact(3).zip(&lum) {
        let k = usize::from(l as usize > thr);
        acc[k][0] += p[0] as f64;
        acc[k][1] += p[1] as f64;
        acc[k][2] += p[2] as f64;
        acc[k][3] += 1.0;
    }
    let mean = |a: [f64; 4]| {
        [
            a[0] / a[3].max(1.0),
            a[1] / a[3].max(1.0),
            a[2] / a[3].max(1.0),
        ]
    };
    let (bg, fg) = if acc[1][3] >= acc[0][3] {
        (mean(acc[1]), mean(acc[0]))
    } else {
        (mean(acc[0]), mean(acc[1]))
    };
    Some((color_name(bg).into(), color_name(fg).into()))
}

/// Names an RGB colour by hue, saturation and value.
pub fn color_name(rgb: [f64; 3]) -> &'static str {
    let [r, g, b] = rgb.map(|v| v / 255.0);
    let max = r.max(g).max(b);
    let min = r.min(g).min(b);
    let sat = if max > 0.0 { (max - min) / max } else { 0.0 };
    if sat < 0.3 || max < 0.25 {
        return if max < 0.35 {
            "Black"
        } else if max > 0.6 {
            "White"
        } else {
            "Gray"
        };
    }
    let d = max - min;
    let hue = if max == r {
        60.0 * ((g - b) / d).rem_euclid(6.0)
    } else if max == g {
        60.0 * ((b - r) / d + 2.0)
    } else {
        60.0 * ((r - g) / d + 4.0)
    };
    match hue {
        h if !(20.0..340.0).contains(&h) => "Red",
        h if h < 70.0 => "Yellow",
        h if h < 170.0 => "Green",
        h if h < 260.0 => "Blue",
        _ => "Red",
    }
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
    fn plate_colours_split_text_from_background() {
        let mut img = solid(40, 12, [245, 245, 240]);
        fill(&mut img, 5, 3, 15, 9, [10, 10, 10]);
        assert_eq!(plate_colors(&img), Some(("White".into(), "Black".into())));
        let mut img = solid(40, 12, [230, 190, 30]);
        fill(&mut img, 5, 3, 15, 9, [20, 20, 20]);
        assert_eq!(plate_colors(&img).map(|c| c.0), Some("Yellow".into()));
        assert_eq!(color_name([200.0, 30.0, 30.0]), "Red");
        assert_eq!(color_name([30.0, 140.0, 60.0]), "Green");
    }

    #[test]
    fn resolve_blocks_traversal_and_names_do_not_collide() {
        let dir = tempfile::tempdir().expect("tmp");
        let store = ArtifactStore::new(dir.path());
        let at = Utc::now();
        let a = store.name("uploaded", at, "../../etc/passwd", "jpg");
        let b = store.name("uploaded", at, "../../etc/passwd", "jpg");
        assert_ne!(a, b);
        assert!(
            a.starts_with("outputs/uploaded/") && !a.contains(".."),
            "{a}"
        );
        store.write(&a, b"x").expect("write");
        assert!(store.write(&a, b"y").is_err(), "never overwrites");
        assert!(store.resolve("outputs", &a).is_some());
        assert!(
            store
                .resolve("outputs", a.trim_start_matches("outputs/"))
                .is_some()
        );
        std::fs::write(dir.path().join("secret.txt"), "s").expect("write");
        for bad in [
            "../secret.txt",
            "/etc/passwd",
            "uploaded/../../secret.txt",
            "",
            "uploaded",
        ] {
            assert!(store.resolve("outputs", bad).is_none(), "{bad}");
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
}
