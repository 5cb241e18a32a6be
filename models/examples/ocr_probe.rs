//! `ocr_probe DET.onnx REC.onnx IMAGE...`: reads text with the candle OCR pipeline.
use std::path::Path;

use visionflow_models::ocr::{OcrEngine, OcrParams};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let eng = OcrEngine::load(
        Path::new(&a[1]),
        Path::new(&a[2]),
        &candle_core::Device::Cpu,
    )?;
    for f in &a[3..] {
        let img = image::open(f)?.to_rgb8();
        let (w, h) = img.dimensions();
        let t = std::time::Instant::now();
        let lines = eng.read(img.as_raw(), w as usize, h as usize, &OcrParams::default())?;
        println!("{f} {:?}: {lines:?}", t.elapsed());
    }
    Ok(())
}
