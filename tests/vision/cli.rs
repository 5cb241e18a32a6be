//! `visionflow detect` on real and broken inputs: JSON on stdout for good images, a clear
//! error naming the file and a non-zero exit for bad ones, never a panic.

use serde_json::Value;

use crate::visionflow;

#[test]
fn detect_json_on_bus_jpg() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    let line = crate::run_json(
        &models,
        &["detect", "--json", "--model", "vehicles"],
        &samples.join("bus.jpg"),
    );
    assert_eq!(line["model"], "vehicles");
    assert!(line["inference_ms"].as_f64().expect("ms") > 0.0);
    let dets = line["detections"].as_array().expect("detections");
    let bus = dets.iter().find(|d| d["class"] == "bus").expect("bus");
    assert_eq!(bus["class_id"], 1);
    let b = crate::bbox(&bus["bbox"]);
    assert!(
        b[0] >= 0.0 && b[2] <= 810.0 && b[3] <= 1080.0 && b[0] < b[2] && b[1] < b[3],
        "{b:?}"
    );
    assert!(bus["mask_area"].as_u64().expect("mask_area") > 300_000);
}

#[test]
fn save_masks_writes_pngs() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let out = visionflow(&models)
        .args(["detect", "--json", "--save-masks"])
        .arg(dir.path())
        .arg(samples.join("bus.jpg"))
        .output()
        .expect("runs");
    assert!(out.status.success());
    let png = dir.path().join("bus_0_bus.png");
    let img = image::open(&png).expect("mask png").to_luma8();
    assert_eq!(img.dimensions(), (810, 1080));
    let on = img.pixels().filter(|p| p.0[0] == 255).count();
    let line: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(
        on as u64,
        line["detections"][0]["mask_area"].as_u64().expect("area")
    );
}

#[test]
fn bad_images_are_named_and_fail_without_panicking() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    let dir = tempfile::tempdir().expect("tmp");
    let text = dir.path().join("notes.jpg");
    std::fs::write(&text, "this is not an image").expect("write");
    let bus = std::fs::read(samples.join("bus.jpg")).expect("bus");
    let truncated = dir.path().join("truncated.jpg");
    std::fs::write(&truncated, &bus[..bus.len() / 3]).expect("write");
    let tiny = dir.path().join("tiny.png");
    image::RgbImage::from_pixel(1, 1, image::Rgb([0, 0, 0]))
        .save(&tiny)
        .expect("png");
    let huge = dir.path().join("huge.bmp");
    let mut bmp = Vec::new();
    bmp.extend_from_slice(b"BM");
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&[0; 4]);
    bmp.extend_from_slice(&54u32.to_le_bytes());
    bmp.extend_from_slice(&40u32.to_le_bytes());
    bmp.extend_from_slice(&20_000i32.to_le_bytes());
    bmp.extend_from_slice(&20_000i32.to_le_bytes());
    bmp.extend_from_slice(&1u16.to_le_bytes());
    bmp.extend_from_slice(&24u16.to_le_bytes());
    bmp.extend_from_slice(&[0; 24]);
    std::fs::write(&huge, bmp).expect("write");

    for (file, needle) in [
        (&text, "not a supported image"),
        (&truncated, "truncated"),
        (&huge, "too large"),
    ] {
        let out = visionflow(&models)
            .args(["detect", "--json"])
            .arg(file)
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{}", file.display());
        assert!(err.contains(&file.display().to_string()), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    // A 1×1 image is an image: it runs, finds nothing.
    let out = visionflow(&models)
        .args(["detect", "--json"])
        .arg(&tiny)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(line["detections"], serde_json::json!([]));
}

#[test]
fn wrong_model_files_are_refused() {
    let Some((models, samples)) = crate::data() else {
        return;
    };
    // An OCR network is ONNX but not a YOLO export; a JPEG is not ONNX at all.
    for (model, needle) in [
        (models.join("ocr-det/source.onnx"), "unsupported model"),
        (samples.join("bus.jpg"), "not a usable ONNX model"),
    ] {
        let out = visionflow(&models)
            .args(["detect", "--model"])
            .arg(&model)
            .arg(samples.join("bus.jpg"))
            .output()
            .expect("runs");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success());
        assert!(err.contains(&model.display().to_string()), "{err}");
        assert!(err.contains(needle), "{err}");
        assert!(!err.contains("panicked"), "{err}");
    }
    let out = visionflow(&models)
        .args(["detect", "--model", "no-such-model"])
        .arg(samples.join("bus.jpg"))
        .output()
        .expect("runs");
    assert!(!out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).contains("no model \"no-such-model\""));
}
