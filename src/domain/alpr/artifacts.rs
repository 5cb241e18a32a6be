//! Plate colours read from a plate crop (alpr-api.en.md `plate_color`, `text_color`).
//! Files and drawing live in the shared `crate::storage` and `crate::draw`.

use crate::vision::images::RgbImage;

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
    use crate::draw::fill;

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
}
