//! OCR and ALPR on real images: candle's PP-OCRv4 pipeline reads what RapidOCR reads
//! (fixtures from `scripts/reference/ocr_reference.py`), and `visionflow alpr` finds the
//! plate of a real rear-car photo.

use serde_json::Value;
use visionflow::vision::images;
use visionflow_models::{
    ocr::{OcrEngine, OcrParams},
    postprocess::iou,
};

fn engine(models: &std::path::Path) -> OcrEngine {
    OcrEngine::load(
        &models.join("ocr-det/source.onnx"),
        &models.join("ocr-rec/source.onnx"),
        &candle_core::Device::Cpu,
    )
    .expect("OCR models load")
}

fn bounds(q: &[[f32; 2]; 4]) -> [f32; 4] {
    [
        q.iter().map(|p| p[0]).fold(f32::MAX, f32::min),
        q.iter().map(|p| p[1]).fold(f32::MAX, f32::min),
        q.iter().map(|p| p[0]).fold(f32::MIN, f32::max),
        q.iter().map(|p| p[1]).fold(f32::MIN, f32::max),
    ]
}

#[test]
fn text_equals_rapidocr_on_the_same_images() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    let eng = engine(&models);
    for image in ["test_plate_1", "test_plate_2", "rear_car"] {
        let fixture: Value = serde_json::from_str(
            &std::fs::read_to_string(
                crate::repo().join(format!("tests/fixtures/reference/ocr_{image}.json")),
            )
            .expect("fixture"),
        )
        .expect("json");
        let img = images::open(&samples.join(format!("{image}.png"))).expect("image");
        let ours = eng
            .read(&img.data, img.width, img.height, &OcrParams::default())
            .expect("ocr");
        let refs = fixture["lines"].as_array().expect("lines");
        let texts: Vec<&str> = ours.iter().map(|l| l.text.as_str()).collect();
        let want: Vec<&str> = refs
            .iter()
            .map(|l| l["text"].as_str().expect("text"))
            .collect();
        if image.starts_with("test_plate") {
            // Plate crops: the same text, character for character.
            assert_eq!(texts, want, "{image}");
        } else {
            // The whole photo: the plate's EU band reads as a symbol whose glyph depends on
            // a one-pixel difference in the box (`"` there, `°` here); letters and digits
            // must agree.
            let alnum = |v: &[&str]| -> Vec<String> {
                v.iter()
                    .map(|t| t.chars().filter(char::is_ascii_alphanumeric).collect())
                    .collect()
            };
            assert_eq!(
                alnum(&texts),
                alnum(&want),
                "{image}: {texts:?} vs {want:?}"
            );
        }
        for (l, r) in ours.iter().zip(refs) {
            let rq: Vec<[f32; 2]> = r["box"]
                .as_array()
                .expect("box")
                .iter()
                .map(|p| {
                    [
                        p[0].as_f64().expect("x") as f32,
                        p[1].as_f64().expect("y") as f32,
                    ]
                })
                .collect();
            let rb = bounds(&[rq[0], rq[1], rq[2], rq[3]]);
            assert!(iou(&bounds(&l.quad), &rb) > 0.9, "{image}: {l:?} vs {r}");
            let rc = r["confidence"].as_f64().expect("conf") as f32;
            // Text must be equal; confidences move with sub-pixel crop differences.
            assert!(
                (l.confidence - rc).abs() < 0.1,
                "{image}: {} vs {rc}",
                l.confidence
            );
        }
    }
}

#[test]
fn alpr_reads_the_plate_of_a_rear_car_photo() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    let line = crate::run_json(&models, &["alpr", "--json"], &samples.join("rear_car.png"));
    let plates = line["plates"].as_array().expect("plates");
    let plate = &plates[0];
    assert_eq!(plate["text"], "5AU5341");
    assert!(plate["confidence"].as_f64().expect("conf") > 0.8);
    assert_eq!(plate["vehicle"]["class"], "car");
    let b = crate::bbox(&plate["bbox"]);
    // The plate sits at about (316,189)–(381,207) in the 518×331 photo.
    assert!(
        b[0] > 300.0 && b[2] < 400.0 && b[1] > 180.0 && b[3] < 215.0,
        "{b:?}"
    );
    assert!(line["inference_ms"].as_f64().expect("ms") > 0.0);
}

#[test]
fn ocr_cli_prints_lines_with_boxes() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    let line = crate::run_json(
        &models,
        &["ocr", "--json"],
        &samples.join("test_plate_1.png"),
    );
    let texts: Vec<&str> = line["lines"]
        .as_array()
        .expect("lines")
        .iter()
        .map(|l| l["text"].as_str().expect("t"))
        .collect();
    assert_eq!(texts, ["AD", "799", "KB"]);
    assert_eq!(line["lines"][0]["box"].as_array().expect("box").len(), 4);
}
