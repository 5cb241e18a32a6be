//! `visionflow bench`: candle against ONNX Runtime on this machine, in one run.
//!
//! For each default model: the median time of one forward pass on the same input size in
//! candle (in process) and in ONNX Runtime (`scripts/bench_ort.py`, Python onnxruntime on
//! the same ONNX files), then the whole ALPR pipeline on `rear_car.png` (vehicles, then OCR
//! of each vehicle crop). Prints a table with the candle/ORT ratios and, per model, the
//! convolution GFLOP of one pass (counted by [`kernels::profile`]) and the GFLOP/s that
//! makes beside the machine's fp32 peak. The YOLO models also run on the rectangular
//! letterbox the server uses (bus.jpg: 480×640), candle only (the ONNX graph is fixed at
//! 640×640). With `VF_GRAPH_PROFILE` set, each model's convolutions are listed by time.

use std::{path::Path, process::Command, time::Instant};

use anyhow::Context as _;
use candle_core::{Device, Tensor};
use visionflow_models::{
    alpr::Alpr,
    detector::YoloDetector,
    graph::OnnxGraph,
    kernels::{self, profile},
    onnx::OnnxModel,
};

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
    Ok(median(t))
}

/// The median of `t` (milliseconds).
fn median(mut t: Vec<f64>) -> f64 {
    t.sort_by(f64::total_cmp);
    t.get(t.len() / 2).copied().unwrap_or(f64::NAN)
}

/// Convolution GFLOP of one call of `f` (counted by the kernels' profile), and, when
/// `VF_GRAPH_PROFILE` is set, the per-geometry table of that call printed under `name`.
fn conv_gflop(name: &str, f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<f64> {
    let listing = profile::enabled();
    profile::take();
    profile::set_enabled(true);
    let r = f();
    profile::set_enabled(listing);
    r?;
    let mut table = profile::take();
    let total: f64 = table.iter().map(|(_, e)| e.flops).sum::<f64>() / 1e9;
    if listing {
        table.sort_by(|a, b| b.1.secs.total_cmp(&a.1.secs));
        let secs: f64 = table
            .iter()
            .filter(|(k, _)| k.starts_with("conv"))
            .map(|(_, e)| e.secs)
            .sum();
        eprintln!(
            "{name}: {total:.2} GFLOP in {:.1} ms of convolutions",
            secs * 1e3
        );
        for (k, e) in table.iter().take(15) {
            eprintln!(
                "  {k:<36} ×{:<3} {:>7.2} ms {:>6.3} GFLOP {:>6.1} GFLOP/s",
                e.calls,
                e.secs * 1e3,
                e.flops / 1e9,
                e.flops / 1e9 / e.secs.max(1e-9)
            );
        }
    }
    Ok(total)
}

/// One timed case: a label, its input, the pass, its convolution GFLOP.
struct Case<'a> {
    label: String,
    input: String,
    pass: Box<dyn Fn() -> anyhow::Result<()> + 'a>,
    gflop: Option<f64>,
    /// Key of the ONNX Runtime side's answer, when it has one.
    ort_key: Option<&'static str>,
}

/// Runs the benchmark and prints the table.
///
/// The candle cases and the ONNX Runtime script run in `rounds` alternating rounds (this
/// machine's speed drifts by ±20 % over minutes); each number is the median over the
/// rounds of the round's median, and the ratio column gives the range of the rounds' ratios.
///
/// # Errors
/// Missing models or samples.
pub fn run(
    models_dir: &Path,
    samples_dir: &Path,
    runs: usize,
    warmup: usize,
    rounds: usize,
) -> anyhow::Result<()> {
    let device = Device::Cpu;
    let threads = std::thread::available_parallelism().map_or(1, |p| p.get());
    let registry = ModelRegistry::new(models_dir);
    let rounds = rounds.max(1);
    let bus =
        images::open(&samples_dir.join("bus.jpg")).context("bus.jpg (scripts/fetch-samples.py)")?;
    let car = images::open(&samples_dir.join("rear_car.png"))
        .context("rear_car.png (scripts/fetch-samples.py)")?;
    let dets = [
        (
            "vehicles",
            YoloDetector::load(&registry.resolve("vehicles")?, &device)?,
        ),
        (
            "people",
            YoloDetector::load(&registry.resolve("people")?, &device)?,
        ),
    ];
    let alpr = Alpr::new(
        YoloDetector::load(&registry.resolve("vehicles")?, &device)?,
        load_ocr(models_dir, &device)?,
    );
    let mut notes: Vec<String> = Vec::new(); // Winograd and batch lines
    let mut cases: Vec<Case> = Vec::new();
    for (name, det) in &dets {
        let [sh, sw] = det.info().imgsz;
        let (rw, rh) = det.input_size(bus.width, bus.height);
        for (label, w, h) in [
            ((*name).to_owned(), sw, sh),
            (format!("{name} rect"), rw, rh),
        ] {
            let (input, _) =
                visionflow_models::preprocess::letterbox(&bus.data, bus.width, bus.height, w, h);
            let x = Tensor::from_vec(input, (1, 3, h, w), &device)?;
            let gflop = conv_gflop(&label, || {
                det.model().forward(&x)?;
                Ok(())
            })?;
            if (w, h) == (sw, sh) {
                notes.push(winograd_line(&label, det, &x, runs, warmup)?);
            } else {
                // Two frames as one batch (what batching camera frames would buy).
                let x2 = Tensor::cat(&[&x, &x], 0)?;
                let ms2 = median_ms(runs.div_ceil(2), warmup.min(1), || {
                    det.model().forward(&x2)?;
                    Ok(())
                })?;
                let ms1 = median_ms(runs.div_ceil(2), warmup.min(1), || {
                    det.model().forward(&x)?;
                    Ok(())
                })?;
                notes.push(format!(
                    "{label} {w}×{h}: batch of 2 {ms2:.1} ms = {:.1} ms per frame, batch of 1 {ms1:.1} ms",
                    ms2 / 2.0
                ));
            }
            let square = (w, h) == (sw, sh);
            cases.push(Case {
                label,
                input: format!("1×3×{h}×{w}"),
                pass: Box::new(move || {
                    det.model().forward(&x)?;
                    Ok(())
                }),
                gflop: Some(gflop),
                ort_key: square.then_some(*name),
            });
        }
    }
    for (name, shape) in [
        ("ocr-det", [1usize, 3, 736, 1152]),
        ("ocr-rec", [1, 3, 48, 320]),
    ] {
        let onnx = OnnxModel::load(&models_dir.join(name).join(super::registry::SOURCE_FILE))?;
        let g = OnnxGraph::new(&onnx, &device)?;
        let x = Tensor::randn(0f32, 1.0, shape.to_vec(), &device)?;
        let gflop = conv_gflop(name, || {
            g.run(&x)?;
            Ok(())
        })?;
        cases.push(Case {
            label: name.into(),
            input: format!("{}×{}×{}×{}", shape[0], shape[1], shape[2], shape[3]),
            pass: Box::new(move || {
                g.run(&x)?;
                Ok(())
            }),
            gflop: Some(gflop),
            ort_key: Some(name),
        });
    }
    cases.push(Case {
        label: "alpr pipeline".into(),
        input: format!("rear_car.png {}×{}", car.width, car.height),
        pass: Box::new(|| {
            alpr.read(&car.data, car.width, car.height)?;
            Ok(())
        }),
        gflop: None,
        ort_key: Some("alpr"),
    });
    let alpr_runs = (runs / 4).max(3);

    // Alternating rounds: every candle case, then the ONNX Runtime script.
    let mut candle: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut ort: Vec<Vec<f64>> = vec![Vec::new(); cases.len()];
    let mut runtime = None;
    for _ in 0..rounds {
        for (case, times) in cases.iter().zip(&mut candle) {
            let n = if case.gflop.is_some() {
                runs
            } else {
                alpr_runs
            };
            times.push(median_ms(n, warmup, &case.pass)?);
        }
        let Some(answer) = ort_round(models_dir, samples_dir, runs, warmup, threads) else {
            continue;
        };
        runtime = answer["runtime"].as_str().map(str::to_owned);
        for (case, times) in cases.iter().zip(&mut ort) {
            if let Some(ms) = case.ort_key.and_then(|k| answer[k].as_f64()) {
                times.push(ms);
            }
        }
    }
    println!(
        "candle 0.11 vs {} — {threads} threads, {rounds} alternating rounds of the median of {runs} runs after {warmup} warm-ups (ALPR: {alpr_runs} runs); median over rounds",
        runtime.as_deref().unwrap_or("ONNX Runtime (not available)"),
    );
    println!(
        "{:<15} {:<24} {:>9} {:>8} {:>7} {:>13} {:>7} {:>8} {:>6}",
        "model",
        "input",
        "candle ms",
        "ORT ms",
        "ratio",
        "rounds' range",
        "GFLOP",
        "GFLOP/s",
        "peak"
    );
    // Measured here, after the runs: the machine kind changes between hosts.
    let peak_gflops = kernels::peak_gflops(threads);
    for ((case, c), o) in cases.iter().zip(candle).zip(ort) {
        let ms = median(c.clone());
        let (om, ratio, range) = if o.len() == c.len() {
            let ratios: Vec<f64> = c.iter().zip(&o).map(|(c, o)| c / o).collect();
            let lo = ratios.iter().copied().fold(f64::INFINITY, f64::min);
            let hi = ratios.iter().copied().fold(0f64, f64::max);
            let om = median(o);
            (
                format!("{om:.1}"),
                format!("{:.2}×", ms / om),
                format!("{lo:.2}–{hi:.2}×"),
            )
        } else {
            ("-".into(), "-".into(), "-".into())
        };
        let (g, rate, peak) = match case.gflop {
            Some(g) => (
                format!("{g:.2}"),
                format!("{:.1}", g / (ms / 1e3)),
                format!("{:.0} %", 100.0 * g / (ms / 1e3) / peak_gflops),
            ),
            None => ("-".into(), "-".into(), "-".into()),
        };
        println!(
            "{:<15} {:<24} {ms:>9.1} {om:>8} {ratio:>7} {range:>13} {g:>7} {rate:>8} {peak:>6}",
            case.label, case.input
        );
    }
    println!(
        "peak: {peak_gflops:.0} GFLOP/s fp32 on {threads} threads (measured: a register-only 16-lane FMA loop per thread); GFLOP counts dense convolutions only"
    );
    for line in notes {
        println!("{line}");
    }
    Ok(())
}

/// Winograd against the direct path on the same input, runs interleaved so a slow phase
/// of the machine hits both alike, with the largest difference of the outputs.
fn winograd_line(
    label: &str,
    det: &YoloDetector,
    x: &Tensor,
    runs: usize,
    warmup: usize,
) -> anyhow::Result<String> {
    let out = |on: bool| -> anyhow::Result<Vec<f32>> {
        kernels::set_winograd(on);
        let p = det.model().forward(x)?.preds;
        Ok(p.flatten_all()?.to_vec1::<f32>()?)
    };
    let (wino, direct) = (out(true)?, out(false)?);
    let diff = direct
        .iter()
        .zip(&wino)
        .map(|(a, b)| (a - b).abs())
        .fold(0f32, f32::max);
    let mut times = (Vec::with_capacity(runs), Vec::with_capacity(runs));
    for i in 0..warmup + runs {
        for on in [false, true] {
            kernels::set_winograd(on);
            let s = Instant::now();
            det.model().forward(x)?;
            let ms = s.elapsed().as_secs_f64() * 1000.0;
            if i >= warmup {
                if on { &mut times.1 } else { &mut times.0 }.push(ms);
            }
        }
    }
    kernels::set_winograd(true);
    let (direct_ms, wino_ms) = (median(times.0), median(times.1));
    let [h, w] = x.dims()[2..] else {
        anyhow::bail!("input is not NCHW")
    };
    Ok(format!(
        "{label} {w}×{h}: direct {direct_ms:.1} ms, Winograd {wino_ms:.1} ms (interleaved runs); max |Δ| of the outputs {diff:.2e} (boxes in input pixels, scores 0–1)"
    ))
}

/// One run of `scripts/bench_ort.py` (its JSON answer), or `None` with the reason on stderr.
fn ort_round(
    models_dir: &Path,
    samples_dir: &Path,
    runs: usize,
    warmup: usize,
    threads: usize,
) -> Option<serde_json::Value> {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/bench_ort.py");
    let ort = Command::new(std::env::var("VISIONFLOW_PYTHON").unwrap_or_else(|_| "python3".into()))
        .arg(&script)
        .arg(models_dir)
        .arg(samples_dir)
        .arg(runs.to_string())
        .arg(warmup.to_string())
        .arg(threads.to_string())
        .output();
    match ort {
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
    }
}
