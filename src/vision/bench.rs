//! `visionflow bench`: candle against ONNX Runtime on this machine, in one run.
//!
//! For each default model: the median time of one forward pass on the same input size in
//! candle (in process) and in ONNX Runtime (`scripts/bench_ort.py`, Python onnxruntime on
//! the same ONNX files), then the whole ALPR pipeline on `rear_car.png` (vehicles, then OCR
//! of each vehicle crop). Prints a table with the candle/ORT ratios.

use std::{path::Path, process::Command, time::Instant};

use anyhow::Context as _;
use candle_core::{Device, Tensor};
use visionflow_models::{alpr::Alpr, detector::YoloDetector, graph::OnnxGraph, onnx::OnnxModel};

use super::{
    images,
    registry::{ModelRegistry, load_ocr},
};

fn median_ms(
    runs: usize,
    warmup: usize,
    mut f: impl FnMut() -> anyhow::Result<()>,
) -> anyhow::Result<f64> {
    for _ in 0..warmup {
        f()?;
    }
    let mut t = Vec::with_capacity(runs);
    for _ in 0..runs {
        let s = Instant::now();
        f()?;
        t.push(s.elapsed().as_secs_f64() * 1000.0);
    }
    t.sort_by(f64::total_cmp);
    Ok(t[t.len() / 2])
}

/// Runs the benchmark and prints the table.
///
/// # Errors
/// Missing models or samples.
pub fn run(
    models_dir: &Path,
    samples_dir: &Path,
    runs: usize,
    warmup: usize,
) -> anyhow::Result<()> {
    let device = Device::Cpu;
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let registry = ModelRegistry::new(models_dir);
    let mut rows: Vec<(String, String, f64)> = Vec::new();

    let bus =
        images::open(&samples_dir.join("bus.jpg")).context("bus.jpg (scripts/fetch-samples.py)")?;
    for name in ["vehicles", "people"] {
        let det = YoloDetector::load(&registry.resolve(name)?, &device)?;
        let [h, w] = det.info().imgsz;
        let (input, _) =
            visionflow_models::preprocess::letterbox(&bus.data, bus.width, bus.height, w, h);
        let x = Tensor::from_vec(input, (1, 3, h, w), &device)?;
        let ms = median_ms(runs, warmup, || {
            det.model().forward(&x)?;
            Ok(())
        })?;
        rows.push((name.into(), format!("1×3×{h}×{w}"), ms));
    }
    for (name, shape) in [
        ("ocr-det", [1usize, 3, 736, 1152]),
        ("ocr-rec", [1, 3, 48, 320]),
    ] {
        let onnx = OnnxModel::load(&models_dir.join(name).join(super::registry::SOURCE_FILE))?;
        let g = OnnxGraph::new(&onnx, &device)?;
        let x = Tensor::randn(0f32, 1.0, shape.to_vec(), &device)?;
        let ms = median_ms(runs, warmup, || {
            g.run(&x)?;
            Ok(())
        })?;
        rows.push((
            name.into(),
            format!("{}×{}×{}×{}", shape[0], shape[1], shape[2], shape[3]),
            ms,
        ));
    }
    let car = images::open(&samples_dir.join("rear_car.png"))
        .context("rear_car.png (scripts/fetch-samples.py)")?;
    let alpr = Alpr::new(
        YoloDetector::load(&registry.resolve("vehicles")?, &device)?,
        load_ocr(models_dir, &device)?,
    );
    let ms = median_ms((runs / 4).max(3), 1, || {
        alpr.read(&car.data, car.width, car.height)?;
        Ok(())
    })?;
    rows.push((
        "alpr pipeline".into(),
        format!("rear_car.png {}×{}", car.width, car.height),
        ms,
    ));

    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_ort.py");
    let ort = Command::new(std::env::var("VISIONFLOW_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(&script)
        .arg(models_dir)
        .arg(samples_dir)
        .arg(runs.to_string())
        .arg(warmup.to_string())
        .arg(threads.to_string())
        .output();
    let ort: Option<serde_json::Value> = match ort {
        Ok(o) if o.status.success() => serde_json::from_slice(&o.stdout).ok(),
        Ok(o) => {
            eprintln!(
                "ONNX Runtime side failed: {}",
                String::from_utf8_lossy(&o.stderr)
                    .lines()
                    .last()
                    .unwrap_or_default()
            );
            None
        }
        Err(e) => {
            eprintln!("ONNX Runtime side not run: {e}");
            None
        }
    };
    println!(
        "candle 0.11 vs {} — {threads} threads, median of {runs} runs after {warmup} warm-ups (ALPR: {} runs)",
        ort.as_ref()
            .and_then(|o| o["runtime"].as_str())
            .unwrap_or("ONNX Runtime (not available)"),
        (runs / 4).max(3)
    );
    println!(
        "{:<14} {:<26} {:>10} {:>10} {:>8}",
        "model", "input", "candle ms", "ORT ms", "ratio"
    );
    for (name, input, ms) in rows {
        let key = if name == "alpr pipeline" {
            "alpr"
        } else {
            name.as_str()
        };
        let ort_ms = ort.as_ref().and_then(|o| o[key].as_f64());
        match ort_ms {
            Some(o) => println!(
                "{name:<14} {input:<26} {ms:>10.1} {o:>10.1} {:>7.2}×",
                ms / o
            ),
            None => println!("{name:<14} {input:<26} {ms:>10.1} {:>10} {:>8}", "-", "-"),
        }
    }
    Ok(())
}
