//! Drawing a camera's analysis onto its frames (annotated MJPEG, alert snapshots), with
//! Frigate's conventions: boxes 2 px, a filled `label: score` tag above the box (below when
//! there is no room), zones outlined 2 px, 8 px while occupied.

use super::analysis::{FrameResult, LiveObject, ZoneInfo};
use crate::{draw, vision::images::RgbImage};

/// A stable colour per label.
pub fn color(label: &str) -> [u8; 3] {
    const PALETTE: [[u8; 3]; 8] = [
        [255, 56, 56],
        [56, 200, 255],
        [255, 178, 29],
        [72, 249, 10],
        [146, 204, 23],
        [255, 55, 199],
        [61, 219, 134],
        [132, 56, 255],
    ];
    let h = label
        .bytes()
        .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
    PALETTE[h as usize % PALETTE.len()]
}

fn scale_for(img: &RgbImage) -> i64 {
    ((img.width.max(img.height) as i64) / 640).clamp(1, 4)
}

/// Draws one object: box, and `label: score #track` on a filled tag.
pub fn draw_object(img: &mut RgbImage, o: &LiveObject) {
    let c = color(&o.label);
    let s = scale_for(img);
    let b = [
        f64::from(o.bbox[0]),
        f64::from(o.bbox[1]),
        f64::from(o.bbox[2]),
        f64::from(o.bbox[3]),
    ];
    draw::draw_box(img, b, 2 * s, c);
    let text = match o.posture() {
        Some(p) if p != "normal" => {
            format!("{} ({p}): {:.2} #{}", o.label, o.confidence, o.track_id)
        }
        _ => format!("{}: {:.2} #{}", o.label, o.confidence, o.track_id),
    };
    let tag_h = 10 * s;
    let y = if (b[1] as i64) >= tag_h {
        b[1] as i64
    } else {
        b[3] as i64 + tag_h
    };
    draw::draw_label(img, b[0] as i64, y, &text, s, [255, 255, 255], c);
}

/// Outlines a zone with its name; thicker while occupied.
pub fn draw_zone(img: &mut RgbImage, z: &ZoneInfo, occupied: bool) {
    let s = scale_for(img);
    let c = if occupied {
        [255, 60, 60]
    } else {
        [255, 215, 0]
    };
    draw::draw_polygon(img, &z.polygon, if occupied { 8 } else { 2 } * s.min(2), c);
    if let Some(p) = z.polygon.first() {
        draw::draw_label(img, p[0] as i64, p[1] as i64, &z.name, s, [0, 0, 0], c);
    }
}

/// Draws zones and the tracked objects of `result` onto a frame.
pub fn annotate(img: &mut RgbImage, zones: &[ZoneInfo], result: Option<&FrameResult>) {
    for z in zones {
        let occupied = result.is_some_and(|r| r.occupied.contains(&z.id));
        draw_zone(img, z, occupied);
    }
    if let Some(r) = result {
        for o in &r.objects {
            draw_object(img, o);
        }
    }
}
