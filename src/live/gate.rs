//! Plate reading inside a plate camera's inference job (`model_name` `alpr`): after the
//! vehicles model, the plate text detector and recogniser ([`Alpr::read_region`], DBNet +
//! CTC) run on the boxes of the vehicles worth reading — at least
//! [`MIN_VEHICLE_WIDTH`]×[`MIN_VEHICLE_HEIGHT`] pixels, the [`MAX_READS_PER_FRAME`] largest,
//! and not a vehicle whose plate is already final (its box overlaps a done track's last box
//! at IoU ≥ [`DONE_IOU`]). The most confident plausible plate of each vehicle goes with its
//! detection to the tracker, which hands it to [`super::plates::PlateTracks`].

use visionflow_models::alpr::{Alpr, PlateRead};

use super::{capture::Frame, tracker::iou};

/// Narrowest vehicle box read, pixels (a plate inside a narrower one is too small to read).
pub const MIN_VEHICLE_WIDTH: f32 = 64.0;
/// Lowest vehicle box read, pixels.
pub const MIN_VEHICLE_HEIGHT: f32 = 48.0;
/// Vehicles read per frame at most (the largest first): bounds the OCR cost of a frame.
pub const MAX_READS_PER_FRAME: usize = 4;
/// IoU with a done track's last box above which a vehicle is not read again.
pub const DONE_IOU: f32 = 0.5;
/// IoU above which two vehicle boxes of different classes are one vehicle: the detector's
/// NMS is per class, so a car filling the frame can come back as both `car` and `truck`.
pub const SAME_VEHICLE_IOU: f32 = 0.6;

/// Class-agnostic greedy NMS over a frame's vehicle boxes: whether each box is kept (the
/// most confident of every group overlapping at IoU > [`SAME_VEHICLE_IOU`]). A plate camera
/// tracks and reads one box per vehicle, never two tracks (and two stored reads) for one car.
pub fn one_box_per_vehicle(boxes: &[[f32; 4]], scores: &[f32]) -> Vec<bool> {
    let mut order: Vec<usize> = (0..boxes.len().min(scores.len())).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut keep = vec![false; boxes.len()];
    let mut kept: Vec<usize> = Vec::new();
    for i in order {
        if kept
            .iter()
            .all(|&k| iou(&boxes[k], &boxes[i]) <= SAME_VEHICLE_IOU)
        {
            keep[i] = true;
            kept.push(i);
        }
    }
    keep
}

/// Which vehicles of a frame to read: indices into `boxes`, largest first.
pub fn worth_reading(boxes: &[[f32; 4]], done: &[[f32; 4]]) -> Vec<usize> {
    let mut idx: Vec<usize> = (0..boxes.len())
        .filter(|&i| {
            let b = &boxes[i];
            b[2] - b[0] >= MIN_VEHICLE_WIDTH
                && b[3] - b[1] >= MIN_VEHICLE_HEIGHT
                && !done.iter().any(|d| iou(b, d) >= DONE_IOU)
        })
        .collect();
    let area = |b: &[f32; 4]| (b[2] - b[0]) * (b[3] - b[1]);
    idx.sort_by(|&a, &b| area(&boxes[b]).total_cmp(&area(&boxes[a])));
    idx.truncate(MAX_READS_PER_FRAME);
    idx
}

/// The most confident plausible plate inside `bbox` (source pixels) of `frame`.
///
/// # Errors
/// Model errors.
pub fn read_vehicle(
    alpr: &Alpr,
    frame: &Frame,
    bbox: [f32; 4],
) -> anyhow::Result<Option<PlateRead>> {
    let img = &frame.image;
    let r = [
        bbox[0].floor().max(0.0) as usize,
        bbox[1].floor().max(0.0) as usize,
        (bbox[2].ceil().max(0.0) as usize).min(img.width),
        (bbox[3].ceil().max(0.0) as usize).min(img.height),
    ];
    if r[2] <= r[0] + 8 || r[3] <= r[1] + 8 {
        return Ok(None);
    }
    let reads = alpr.read_region(&img.data, img.width, r)?;
    Ok(reads
        .into_iter()
        .max_by(|a, b| a.confidence.total_cmp(&b.confidence)))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_vehicle_seen_as_two_classes_is_one_box() {
        let boxes = [
            [100.0, 100.0, 400.0, 300.0], // car 0.8
            [105.0, 98.0, 410.0, 305.0],  // truck 0.6, the same vehicle
            [420.0, 100.0, 600.0, 300.0], // the next car, touching
            [0.0, 0.0, 0.0, 0.0],         // degenerate
        ];
        let keep = one_box_per_vehicle(&boxes, &[0.8, 0.6, 0.5, 0.3]);
        assert_eq!(keep, vec![true, false, true, true]);
        // The more confident class wins whichever comes first.
        let keep = one_box_per_vehicle(&boxes[..2], &[0.4, 0.9]);
        assert_eq!(keep, vec![false, true]);
    }

    #[test]
    fn the_largest_readable_vehicles_not_yet_done_are_read() {
        let boxes = [
            [0.0, 0.0, 100.0, 100.0],   // 10,000
            [0.0, 0.0, 50.0, 200.0],    // too narrow
            [200.0, 0.0, 400.0, 100.0], // 20,000
            [0.0, 300.0, 300.0, 330.0], // too low
            [500.0, 0.0, 580.0, 60.0],  // 4,800, but done
        ];
        let done = [[502.0, 1.0, 581.0, 61.0]];
        assert_eq!(worth_reading(&boxes, &done), vec![2, 0]);
        assert_eq!(worth_reading(&boxes, &[]), vec![2, 0, 4]);
        let many: Vec<[f32; 4]> = (0..6)
            .map(|i| {
                let x = i as f32 * 100.0;
                [x, 0.0, x + 64.0 + i as f32, 48.0]
            })
            .collect();
        assert_eq!(worth_reading(&many, &[]), vec![5, 4, 3, 2]);
    }
}
