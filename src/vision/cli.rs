//! The vision subcommands: `models fetch|import|list` and `detect`.
//!
//! `detect --json` prints one JSON object per image and line (an interface other tools
//! parse): `{"image", "model", "inference_ms", "detections": [{"class", "class_id",
//! "confidence", "bbox": [x1, y1, x2, y2]}]}` with bbox in source pixels clipped to the
//! image; segment models add `mask_area` (source pixels) per detection.

use std::{
    path::{Path, PathBuf},
    time::Instant,
};

use anyhow::Context as _;
use candle_core::Device;
use serde_json::json;
use visionflow_models::{
    Manifest,
    alpr::Alpr,
    detector::YoloDetector,
    ocr::OcrParams,
    postprocess::{DetectParams, Mask},
};

use super::{
    fetch, images,
    registry::{ModelRegistry, load_ocr},
};

/// Which device runs the models.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum DeviceChoice {
    /// The CPU.
    Cpu,
    /// The first CUDA GPU (needs a build with `--features cuda`).
    Cuda,
}

impl DeviceChoice {
    /// The candle device.
    ///
    /// # Errors
    /// CUDA was asked for but is not compiled in or not available.
    pub fn device(self) -> anyhow::Result<Device> {
        match self {
            Self::Cpu => Ok(Device::Cpu),
            Self::Cuda => Device::new_cuda(0).context(
                "CUDA is not available (build with `--features cuda` on a machine with a GPU)",
            ),
        }
    }
}

/// `visionflow models fetch`.
///
/// # Errors
/// See [`fetch::fetch_all`].
pub fn models_fetch(models_dir: &Path) -> anyhow::Result<()> {
    let manifest = Manifest::builtin()?;
    let report = fetch::fetch_all(models_dir, &manifest, true)?;
    for (name, outcome) in report {
        let what = match outcome {
            fetch::Outcome::Present => "already installed",
            fetch::Outcome::Installed => "installed",
        };
        println!("{name}: {what}");
    }
    println!("models in {}", models_dir.display());
    Ok(())
}

/// `visionflow models import FILE [--name NAME]`.
///
/// # Errors
/// The file is not a supported model (the message names it).
pub fn models_import(models_dir: &Path, file: &Path, name: Option<&str>) -> anyhow::Result<()> {
    let info = ModelRegistry::new(models_dir).import(file, name)?;
    println!(
        "imported {} ({} {:?}, {} classes: {}) into {}",
        info.name,
        info.task,
        info.yolo.version,
        info.names.len(),
        info.names.join(", "),
        models_dir.join(&info.name).display()
    );
    Ok(())
}

/// `visionflow models list`.
pub fn models_list(models_dir: &Path) {
    let models = ModelRegistry::new(models_dir).list();
    if models.is_empty() {
        println!(
            "no models in {} (run `visionflow models fetch`)",
            models_dir.display()
        );
        return;
    }
    println!(
        "{:<12} {:<8} {:<6} {:<8} classes",
        "name", "task", "arch", "candle"
    );
    for m in models {
        match &m.info {
            Some(i) => println!(
                "{:<12} {:<8} {:<6} {:<8} {}",
                m.name,
                i.task,
                format!("{:?}", i.yolo.version).to_lowercase(),
                "yes",
                i.names.join(", ")
            ),
            None => println!(
                "{:<12} {:<8} {:<6} {:<8} -",
                m.name, "ocr", "ppocr", "graph"
            ),
        }
    }
}

/// Options of `visionflow detect`.
#[derive(Debug, Clone)]
pub struct DetectArgs {
    /// Model name or path.
    pub model: String,
    /// Confidence threshold.
    pub conf: f32,
    /// NMS IoU threshold.
    pub iou: f32,
    /// JSON lines instead of text.
    pub json: bool,
    /// Where to write mask PNGs.
    pub save_masks: Option<PathBuf>,
    /// Device.
    pub device: DeviceChoice,
    /// Images.
    pub images: Vec<PathBuf>,
}

/// `visionflow detect`: returns whether every image was processed.
///
/// # Errors
/// The model cannot be loaded (per-image failures are reported and counted instead).
pub fn detect(models_dir: &Path, args: &DetectArgs) -> anyhow::Result<bool> {
    anyhow::ensure!(
        (0.0..=1.0).contains(&args.conf) && (0.0..=1.0).contains(&args.iou),
        "--conf and --iou must be between 0 and 1"
    );
    let registry = ModelRegistry::new(models_dir);
    let dir = registry.resolve(&args.model)?;
    let device = args.device.device()?;
    let detector = YoloDetector::load(&dir, &device)
        .with_context(|| format!("cannot load model {}", dir.display()))?;
    let info = detector.info().clone();
    let params = DetectParams {
        conf: args.conf,
        iou: args.iou,
        ..DetectParams::default()
    };
    if let Some(d) = &args.save_masks {
        std::fs::create_dir_all(d).with_context(|| format!("cannot create {}", d.display()))?;
    }
    each_image(&args.images, |path, img| {
        let start = Instant::now();
        let instances = detector.detect(&img.data, img.width, img.height, &params)?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        let mut dets = Vec::new();
        for (i, inst) in instances.iter().enumerate() {
            let d = &inst.detection;
            let class = info.names.get(d.class_id).cloned().unwrap_or_default();
            let mut o = json!({
                "class": class,
                "class_id": d.class_id,
                "confidence": round(d.confidence, 4),
                "bbox": d.bbox.iter().map(|v| round(*v, 1)).collect::<Vec<_>>(),
            });
            if let Some(mask) = &inst.mask {
                o["mask_area"] = json!(mask.area());
                if let Some(dir) = &args.save_masks {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let file = dir.join(format!("{stem}_{i}_{class}.png"));
                    save_mask(mask, &file)?;
                }
            }
            dets.push(o);
        }
        if args.json {
            println!(
                "{}",
                json!({
                    "image": path.display().to_string(),
                    "model": info.name,
                    "inference_ms": round(ms as f32, 2),
                    "detections": dets,
                })
            );
        } else {
            println!("{} ({} ms, {}):", path.display(), ms.round(), info.name);
            for d in &dets {
                println!(
                    "  {:<10} {:.3}  [{}]{}",
                    d["class"].as_str().unwrap_or_default(),
                    d["confidence"].as_f64().unwrap_or_default(),
                    d["bbox"]
                        .as_array()
                        .map(|b| b
                            .iter()
                            .map(|v| v.to_string())
                            .collect::<Vec<_>>()
                            .join(", "))
                        .unwrap_or_default(),
                    d.get("mask_area")
                        .map(|a| format!("  mask {a} px"))
                        .unwrap_or_default()
                );
            }
        }
        Ok(())
    })
}

fn quad_json(q: &[[f32; 2]; 4]) -> serde_json::Value {
    json!(
        q.iter()
            .map(|p| [round(p[0], 1), round(p[1], 1)])
            .collect::<Vec<_>>()
    )
}

/// `visionflow ocr`: returns whether every image was processed.
///
/// # Errors
/// The models cannot be loaded.
pub fn ocr(
    models_dir: &Path,
    device: DeviceChoice,
    json_out: bool,
    images_in: &[PathBuf],
) -> anyhow::Result<bool> {
    let engine = load_ocr(models_dir, &device.device()?)?;
    each_image(images_in, |path, img| {
        let start = Instant::now();
        let lines = engine.read(&img.data, img.width, img.height, &OcrParams::default())?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if json_out {
            let lines: Vec<_> = lines
                .iter()
                .map(|l| json!({"text": l.text, "confidence": round(l.confidence, 4), "box": quad_json(&l.quad)}))
                .collect();
            println!(
                "{}",
                json!({"image": path.display().to_string(), "inference_ms": round(ms as f32, 2), "lines": lines})
            );
        } else {
            println!("{} ({} ms):", path.display(), ms.round());
            for l in &lines {
                println!("  {:<24} {:.3}", l.text, l.confidence);
            }
        }
        Ok(())
    })
}

/// `visionflow alpr`: returns whether every image was processed.
///
/// # Errors
/// The models cannot be loaded.
pub fn alpr(
    models_dir: &Path,
    device: DeviceChoice,
    json_out: bool,
    images_in: &[PathBuf],
) -> anyhow::Result<bool> {
    let device = device.device()?;
    let registry = ModelRegistry::new(models_dir);
    let vehicles = YoloDetector::load(&registry.resolve("vehicles")?, &device)?;
    let pipeline = Alpr::new(vehicles, load_ocr(models_dir, &device)?);
    each_image(images_in, |path, img| {
        let start = Instant::now();
        let plates = pipeline.read(&img.data, img.width, img.height)?;
        let ms = start.elapsed().as_secs_f64() * 1000.0;
        if json_out {
            let plates: Vec<_> = plates
                .iter()
                .map(|p| {
                    json!({
                        "text": p.text,
                        "raw_text": p.raw_text,
                        "confidence": round(p.confidence, 4),
                        "bbox": p.bbox.iter().map(|v| round(*v, 1)).collect::<Vec<_>>(),
                        "vehicle": p.vehicle.as_ref().map(|v| json!({
                            "class": v.class,
                            "confidence": round(v.confidence, 4),
                            "bbox": v.bbox.iter().map(|x| round(*x, 1)).collect::<Vec<_>>(),
                        })),
                    })
                })
                .collect();
            println!(
                "{}",
                json!({"image": path.display().to_string(), "plates": plates, "inference_ms": round(ms as f32, 2)})
            );
        } else {
            println!("{} ({} ms):", path.display(), ms.round());
            for p in &plates {
                println!(
                    "  {:<12} {:.3}  in {}",
                    p.text,
                    p.confidence,
                    p.vehicle
                        .as_ref()
                        .map_or("the image".to_owned(), |v| format!("a {}", v.class))
                );
            }
        }
        Ok(())
    })
}

/// Decodes each image and hands it to `f`; a file that is not a usable image is reported
/// (naming it) and skipped. Returns whether every image was processed.
fn each_image(
    paths: &[PathBuf],
    mut f: impl FnMut(&Path, &images::RgbImage) -> anyhow::Result<()>,
) -> anyhow::Result<bool> {
    let mut all_ok = true;
    for path in paths {
        match images::open(path) {
            Ok(img) => f(path, &img)?,
            Err(e) => {
                eprintln!("visionflow: {}: {e}", path.display());
                all_ok = false;
            }
        }
    }
    Ok(all_ok)
}

fn round(v: f32, digits: i32) -> f64 {
    let p = 10f64.powi(digits);
    (f64::from(v) * p).round() / p
}

fn save_mask(mask: &Mask, file: &Path) -> anyhow::Result<()> {
    let data: Vec<u8> = mask
        .data
        .iter()
        .map(|&v| if v != 0 { 255 } else { 0 })
        .collect();
    let img = image::GrayImage::from_raw(mask.width as u32, mask.height as u32, data)
        .context("mask buffer has the wrong size")?;
    img.save(file)
        .with_context(|| format!("cannot write {}", file.display()))
}
