//! Vision tests on real weights and real images: candle against ONNX Runtime fixtures
//! (`tests/fixtures/reference`, made by `scripts/reference/yolo_reference.py`) and the CLI's
//! handling of bad input.
//!
//! Weights come from `visionflow models fetch` and images from `scripts/fetch-samples.sh`
//! (both run by `scripts/test.sh`): `VF_MODELS_DIR` (default `data/models`) and
//! `VF_SAMPLES_DIR` (default `data/samples`). With `VF_REQUIRE_MODELS=1` (set by
//! `scripts/test.sh`) missing data fails the tests instead of skipping them.

mod cli;
mod ocr;
mod parity;

use std::path::PathBuf;

/// The `visionflow` binary with its models directory set.
pub fn visionflow(models: &std::path::Path) -> std::process::Command {
    let mut c = std::process::Command::new(env!("CARGO_BIN_EXE_visionflow"));
    c.env("VISIONFLOW_MODELS__DIR", models);
    c
}

/// Runs `visionflow ARGS… IMAGE`, asserts it succeeded and parses its one JSON line.
pub fn run_json(
    models: &std::path::Path,
    args: &[&str],
    image: &std::path::Path,
) -> serde_json::Value {
    let out = visionflow(models)
        .args(args)
        .arg(image)
        .output()
        .expect("runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("one JSON line")
}

/// A JSON `[x1, y1, x2, y2]` as floats.
pub fn bbox(v: &serde_json::Value) -> [f32; 4] {
    let b: Vec<f32> = v
        .as_array()
        .expect("bbox array")
        .iter()
        .map(|x| x.as_f64().expect("number") as f32)
        .collect();
    [b[0], b[1], b[2], b[3]]
}

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn dir_from(var: &str, default: &str) -> PathBuf {
    std::env::var_os(var)
        .map(PathBuf::from)
        .unwrap_or_else(|| repo().join(default))
}

/// The models and samples directories, or `None` (test skipped) when they are absent and
/// not required.
pub fn data() -> Option<(PathBuf, PathBuf)> {
    let models = dir_from("VF_MODELS_DIR", "data/models");
    let samples = dir_from("VF_SAMPLES_DIR", "data/samples");
    let ok = models.join("vehicles/model.json").is_file() && samples.join("bus.jpg").is_file();
    if !ok {
        assert!(
            std::env::var_os("VF_REQUIRE_MODELS").is_none(),
            "VF_REQUIRE_MODELS is set but {} or {} lacks the models or samples",
            models.display(),
            samples.display()
        );
        eprintln!("skipping: no models/samples (scripts/test.sh fetches them)");
        return None;
    }
    Some((models, samples))
}
