//! Licence-plate reading: vehicles → text inside each vehicle (the whole image when no
//! vehicle is found) → plate candidates.
//!
//! Text lines that sit on one row next to each other (vertical overlap ≥ half the smaller
//! height, horizontal gap ≤ 1.5 line heights) form one candidate, read left to right
//! (`AD` `799` `KB` → `AD799KB`). The text is normalised (uppercase, A–Z and 0–9 only, as
//! Plate Recognizer and Frigate LPR do) and kept only when it can be a plate: 4–10
//! characters with at least one digit.

use crate::{
    ModelError,
    detector::YoloDetector,
    ocr::{OcrEngine, OcrParams, TextLine},
    postprocess::DetectParams,
};

/// The vehicle a plate was read in.
#[derive(Debug, Clone, PartialEq)]
pub struct VehicleRef {
    /// Class name.
    pub class: String,
    /// Detection confidence, 0–1.
    pub confidence: f32,
    /// `x1, y1, x2, y2`, source pixels.
    pub bbox: [f32; 4],
}

/// One plate read.
#[derive(Debug, Clone, PartialEq)]
pub struct PlateRead {
    /// Normalised text: uppercase A–Z and 0–9.
    pub text: String,
    /// Text as read, lines joined by spaces.
    pub raw_text: String,
    /// Character-weighted mean OCR confidence, 0–1.
    pub confidence: f32,
    /// `x1, y1, x2, y2` of the text, source pixels.
    pub bbox: [f32; 4],
    /// The vehicle, or `None` when the whole image was read.
    pub vehicle: Option<VehicleRef>,
}

/// Uppercase A–Z and 0–9 only.
pub fn normalize_plate(raw: &str) -> String {
    raw.chars()
        .filter(char::is_ascii_alphanumeric)
        .map(|c| c.to_ascii_uppercase())
        .collect()
}

/// Whether normalised text can be a plate: 4–10 characters, at least one digit.
pub fn plausible_plate(text: &str) -> bool {
    (4..=10).contains(&text.len()) && text.chars().any(|c| c.is_ascii_digit())
}

/// Groups text lines into plate candidates (see the module docs).
pub fn plate_candidates(lines: &[TextLine]) -> Vec<(String, String, f32, [f32; 4])> {
    let bounds = |l: &TextLine| {
        let xs = l.quad.map(|p| p[0]);
        let ys = l.quad.map(|p| p[1]);
        [
            xs.iter().copied().fold(f32::MAX, f32::min),
            ys.iter().copied().fold(f32::MAX, f32::min),
            xs.iter().copied().fold(f32::MIN, f32::max),
            ys.iter().copied().fold(f32::MIN, f32::max),
        ]
    };
    let b: Vec<[f32; 4]> = lines.iter().map(bounds).collect();
    let n = lines.len();
    let mut group: Vec<usize> = (0..n).collect();
    fn root(g: &mut [usize], mut i: usize) -> usize {
        while g[i] != i {
            g[i] = g[g[i]];
            i = g[i];
        }
        i
    }
    for i in 0..n {
        for j in i + 1..n {
            let (hi, hj) = (b[i][3] - b[i][1], b[j][3] - b[j][1]);
            let overlap = b[i][3].min(b[j][3]) - b[i][1].max(b[j][1]);
            let gap = (b[i][0].max(b[j][0]) - b[i][2].min(b[j][2])).max(0.0);
            if overlap >= 0.5 * hi.min(hj) && gap <= 1.5 * hi.max(hj) {
                let (ri, rj) = (root(&mut group, i), root(&mut group, j));
                group[ri] = rj;
            }
        }
    }
    let mut out = Vec::new();
    let mut done = vec![false; n];
    for i in 0..n {
        let r = root(&mut group, i);
        if done[r] {
            continue;
        }
        done[r] = true;
        let mut members: Vec<usize> = (0..n).filter(|&k| root(&mut group, k) == r).collect();
        members.sort_by(|&a, &c| b[a][0].total_cmp(&b[c][0]));
        let raw: Vec<&str> = members.iter().map(|&k| lines[k].text.as_str()).collect();
        let raw_text = raw.join(" ");
        let text = normalize_plate(&raw_text);
        let chars: f32 = members
            .iter()
            .map(|&k| lines[k].text.chars().count() as f32)
            .sum();
        let conf = members
            .iter()
            .map(|&k| lines[k].confidence * lines[k].text.chars().count() as f32)
            .sum::<f32>()
            / chars.max(1.0);
        let bbox = members
            .iter()
            .fold([f32::MAX, f32::MAX, f32::MIN, f32::MIN], |acc, &k| {
                [
                    acc[0].min(b[k][0]),
                    acc[1].min(b[k][1]),
                    acc[2].max(b[k][2]),
                    acc[3].max(b[k][3]),
                ]
            });
        out.push((text, raw_text, conf, bbox));
    }
    out
}

/// What [`Alpr::analyze`] found.
#[derive(Debug, Clone, PartialEq)]
pub struct AlprOutput {
    /// Vehicles, in detector order (confidence descending).
    pub vehicles: Vec<VehicleRef>,
    /// Plates, best first; `vehicle` equals one of `vehicles` or is `None`.
    pub plates: Vec<PlateRead>,
}

/// The short side the text detector works at on a vehicle crop (upscaled to it when
/// smaller), instead of the general OCR's 736: rear_car.png's plate reads `5AU5341` at
/// 0.998 (0.899 at 736) and the pipeline takes 256 instead of 619 ms on its 75 % copy;
/// at half size both sides misread it (`5305341` here, `5105341` at 736).
pub const PLATE_DET_SIDE: usize = 384;

/// The ALPR pipeline.
pub struct Alpr {
    vehicles: YoloDetector,
    ocr: OcrEngine,
}

impl Alpr {
    /// Combines a vehicle detector and an OCR engine.
    pub fn new(vehicles: YoloDetector, ocr: OcrEngine) -> Self {
        Self { vehicles, ocr }
    }

    /// The vehicle detector (live cameras run it alone, without OCR).
    pub fn vehicles(&self) -> &YoloDetector {
        &self.vehicles
    }

    /// Reads the plates of an interleaved RGB8 image (`3 · width · height` bytes), best
    /// first.
    ///
    /// # Errors
    /// Model errors.
    pub fn read(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<Vec<PlateRead>, ModelError> {
        Ok(self.analyze(rgb, width, height)?.plates)
    }

    /// Every vehicle found (detector order) and the plates read, best first.
    ///
    /// # Errors
    /// Model errors.
    pub fn analyze(
        &self,
        rgb: &[u8],
        width: usize,
        height: usize,
    ) -> Result<AlprOutput, ModelError> {
        let names = self.vehicles.info().names.clone();
        let found = self
            .vehicles
            .detect_boxes(rgb, width, height, &DetectParams::default())?;
        let mut regions: Vec<(Option<VehicleRef>, [usize; 4])> = found
            .iter()
            .map(|d| {
                let r = [
                    d.bbox[0].floor().max(0.0) as usize,
                    d.bbox[1].floor().max(0.0) as usize,
                    (d.bbox[2].ceil() as usize).min(width),
                    (d.bbox[3].ceil() as usize).min(height),
                ];
                (
                    Some(VehicleRef {
                        class: names.get(d.class_id).cloned().unwrap_or_default(),
                        confidence: d.confidence,
                        bbox: d.bbox,
                    }),
                    r,
                )
            })
            .filter(|(_, r)| r[2] > r[0] + 8 && r[3] > r[1] + 8)
            .collect();
        let vehicles: Vec<VehicleRef> = regions.iter().filter_map(|(v, _)| v.clone()).collect();
        if regions.is_empty() {
            regions.push((None, [0, 0, width, height]));
        }
        let mut plates: Vec<PlateRead> = Vec::new();
        for (vehicle, r) in regions {
            for read in self.read_region(rgb, width, r)? {
                // The same plate seen through overlapping vehicles: keep the better read.
                if let Some(p) = plates.iter_mut().find(|p| p.text == read.text) {
                    if read.confidence > p.confidence {
                        *p = PlateRead {
                            vehicle: vehicle.clone(),
                            ..read
                        };
                    }
                    continue;
                }
                plates.push(PlateRead {
                    vehicle: vehicle.clone(),
                    ..read
                });
            }
        }
        plates.sort_by(|a, b| b.confidence.total_cmp(&a.confidence));
        Ok(AlprOutput { vehicles, plates })
    }
}

impl Alpr {
    /// Reads the plausible plates inside `region` (`[x1, y1, x2, y2]`, whole source pixels,
    /// `x2 ≤ width`, `y2` ≤ the image height) of an interleaved RGB8 image `width` pixels
    /// wide, in the OCR's order; bboxes are in source pixels and `vehicle` is `None`. Live
    /// cameras call it on each tracked vehicle's box.
    ///
    /// # Errors
    /// Model errors; an empty or out-of-bounds region is `ModelError::Input`.
    pub fn read_region(
        &self,
        rgb: &[u8],
        width: usize,
        r: [usize; 4],
    ) -> Result<Vec<PlateRead>, ModelError> {
        if r[2] <= r[0] || r[3] <= r[1] || r[2] > width || rgb.len() < 3 * width * r[3] {
            return Err(ModelError::Input(format!(
                "region {r:?} is empty or outside the image"
            )));
        }
        let (cw, ch) = (r[2] - r[0], r[3] - r[1]);
        let mut crop = Vec::with_capacity(3 * cw * ch);
        for y in r[1]..r[3] {
            crop.extend_from_slice(&rgb[3 * (y * width + r[0])..3 * (y * width + r[2])]);
        }
        let params = OcrParams {
            det_min_side: PLATE_DET_SIDE,
            ..OcrParams::default()
        };
        let lines = self.ocr.read(&crop, cw, ch, &params)?;
        Ok(plate_candidates(&lines)
            .into_iter()
            .filter(|(text, ..)| plausible_plate(text))
            .map(|(text, raw_text, confidence, b)| PlateRead {
                text,
                raw_text,
                confidence,
                bbox: [
                    b[0] + r[0] as f32,
                    b[1] + r[1] as f32,
                    b[2] + r[0] as f32,
                    b[3] + r[1] as f32,
                ],
                vehicle: None,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(text: &str, x1: f32, y1: f32, x2: f32, y2: f32) -> TextLine {
        TextLine {
            text: text.into(),
            confidence: 0.9,
            quad: [[x1, y1], [x2, y1], [x2, y2], [x1, y2]],
        }
    }

    #[test]
    fn normalisation_and_plausibility() {
        assert_eq!(normalize_plate("b 1234-xyz"), "B1234XYZ");
        assert!(plausible_plate("B1234XYZ"));
        assert!(!plausible_plate("TOYOTA"), "no digit");
        assert!(!plausible_plate("B12"), "too short");
        assert!(!plausible_plate("B123456789XY"), "too long");
    }

    #[test]
    fn neighbouring_lines_join_left_to_right() {
        let lines = vec![
            line("KB", 102.0, 13.0, 140.0, 43.0),
            line("AD", 3.0, 13.0, 41.0, 43.0),
            line("799", 37.0, 9.0, 102.0, 45.0),
            line("EXIT", 10.0, 200.0, 60.0, 230.0),
        ];
        let c = plate_candidates(&lines);
        assert_eq!(c.len(), 2);
        let plate = c.iter().find(|c| c.0.len() == 7).expect("joined");
        assert_eq!(plate.0, "AD799KB");
        assert_eq!(plate.1, "AD 799 KB");
        assert_eq!(plate.3, [3.0, 9.0, 140.0, 45.0]);
    }
}
