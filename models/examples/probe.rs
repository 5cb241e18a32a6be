//! Imports an Ultralytics ONNX export and runs it on an image:
//! `cargo run -p visionflow-models --example probe -- MODEL.onnx IMAGE|RAW.f32 OUTDIR`.
use std::path::Path;

use visionflow_models::{
    detector::YoloDetector, import, onnx::OnnxModel, postprocess::DetectParams,
};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().collect();
    let onnx = OnnxModel::load(Path::new(&args[1]))?;
    let dir = Path::new(&args[3]);
    let info = import::import_yolo(&onnx, "probe", "-", dir)?;
    let det = YoloDetector::load(dir, &candle_core::Device::Cpu)?;
    if args[2].ends_with(".f32") {
        let bytes = std::fs::read(&args[2])?;
        let v: Vec<f32> = bytes
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        let x = candle_core::Tensor::from_vec(v, (1, 3, 640, 640), &candle_core::Device::Cpu)?;
        let out = det.model().forward(&x)?;
        let p = out.preds.squeeze(0)?;
        let nc = info.yolo.num_classes;
        let scores = p.narrow(0, 4, nc)?.max(0)?.to_vec1::<f32>()?;
        let mut idx: Vec<usize> = (0..scores.len()).collect();
        idx.sort_by(|a, b| scores[*b].total_cmp(&scores[*a]));
        for &i in idx.iter().take(5) {
            println!(
                "{:.4} {:?}",
                scores[i],
                p.narrow(1, i, 1)?
                    .narrow(0, 0, 4)?
                    .flatten_all()?
                    .to_vec1::<f32>()?
            );
        }
        return Ok(());
    }
    let img = image::open(&args[2])?.to_rgb8();
    let (w, h) = img.dimensions();
    let t = std::time::Instant::now();
    let out = det.detect(
        img.as_raw(),
        w as usize,
        h as usize,
        &DetectParams::default(),
    )?;
    println!("{:?}", t.elapsed());
    for i in out {
        println!(
            "{} {:.3} {:?} mask_area={:?}",
            info.names[i.detection.class_id],
            i.detection.confidence,
            i.detection.bbox,
            i.mask.map(|m| m.area())
        );
    }
    Ok(())
}
