//! Installed models: `<models_dir>/<name>/` holding `source.onnx` (the file the weights came
//! from) and, once imported for candle, `model.safetensors` + `model.json`.

use std::path::{Path, PathBuf};

use anyhow::Context as _;
use candle_core::Device;
use sha2::{Digest as _, Sha256};
use visionflow_models::{
    ModelError,
    import::{self, INFO_FILE, ModelInfo},
    ocr::OcrEngine,
    onnx::OnnxModel,
};

/// The ONNX file kept beside the imported weights.
pub const SOURCE_FILE: &str = "source.onnx";

/// One installed model.
#[derive(Debug, Clone)]
pub struct InstalledModel {
    /// Directory name.
    pub name: String,
    /// The directory.
    pub dir: PathBuf,
    /// The candle sidecar, when imported.
    pub info: Option<ModelInfo>,
    /// Whether `source.onnx` is present.
    pub has_source: bool,
}

/// The models under one directory.
#[derive(Debug, Clone)]
pub struct ModelRegistry {
    dir: PathBuf,
}

/// Lower-case hex sha256 of a file.
///
/// # Errors
/// I/O errors.
pub fn sha256_file(path: &Path) -> std::io::Result<String> {
    use std::io::Read as _;
    let mut hasher = Sha256::new();
    let mut f = std::fs::File::open(path)?;
    let mut buf = vec![0u8; 1 << 20];
    loop {
        let n = f.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

impl ModelRegistry {
    /// A registry over `dir` (created on first import).
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Self { dir: dir.into() }
    }

    /// The directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Installed models, by name.
    pub fn list(&self) -> Vec<InstalledModel> {
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return Vec::new();
        };
        let mut out: Vec<InstalledModel> = entries
            .filter_map(Result::ok)
            .filter(|e| e.path().is_dir())
            .filter_map(|e| {
                let name = e.file_name().to_string_lossy().into_owned();
                if name.starts_with('.') {
                    return None;
                }
                let dir = e.path();
                let info = std::fs::read(dir.join(INFO_FILE))
                    .ok()
                    .and_then(|b| serde_json::from_slice::<ModelInfo>(&b).ok());
                let has_source = dir.join(SOURCE_FILE).is_file();
                (info.is_some() || has_source).then_some(InstalledModel {
                    name,
                    dir,
                    info,
                    has_source,
                })
            })
            .collect();
        out.sort_by(|a, b| a.name.cmp(&b.name));
        out
    }

    /// Imports a user's Ultralytics YOLOv8/YOLO11 detect or segment ONNX export as `name`
    /// (default: the file stem).
    ///
    /// # Errors
    /// The file cannot be read, is not ONNX, or is not a supported YOLO export; the message
    /// names the file.
    pub fn import(&self, onnx_path: &Path, name: Option<&str>) -> anyhow::Result<ModelInfo> {
        let name = match name {
            Some(n) => n.to_owned(),
            None => onnx_path
                .file_stem()
                .map(|s| s.to_string_lossy().into_owned())
                .context("the model file has no name")?,
        };
        anyhow::ensure!(
            !name.is_empty()
                && name.len() <= 64
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
                && !name.starts_with('.'),
            "invalid model name {name:?}: use letters, digits, '-', '_' or '.'"
        );
        let sha = sha256_file(onnx_path)
            .with_context(|| format!("cannot read {}", onnx_path.display()))?;
        let onnx = OnnxModel::load(onnx_path)
            .with_context(|| format!("{} is not a usable ONNX model", onnx_path.display()))?;
        let target = self.dir.join(&name);
        let info = import::import_yolo(&onnx, &name, &sha, &target).map_err(|e| match e {
            ModelError::Unsupported(why) => {
                anyhow::anyhow!("{}: unsupported model: {why}", onnx_path.display())
            }
            other => anyhow::anyhow!("{}: {other}", onnx_path.display()),
        })?;
        if onnx_path != target.join(SOURCE_FILE) {
            std::fs::copy(onnx_path, target.join(SOURCE_FILE)).with_context(|| {
                format!("cannot copy {} into the registry", onnx_path.display())
            })?;
        }
        Ok(info)
    }

    /// Finds a model by name, or by path (a model directory or an `.onnx` export, imported
    /// on the fly under `.imported/<sha256>`).
    ///
    /// # Errors
    /// Unknown name, unreadable path, or a file that is not a supported model.
    pub fn resolve(&self, name_or_path: &str) -> anyhow::Result<PathBuf> {
        let by_name = self.dir.join(name_or_path);
        if !name_or_path.contains('/') && by_name.join(INFO_FILE).is_file() {
            return Ok(by_name);
        }
        let path = Path::new(name_or_path);
        if path.is_dir() && path.join(INFO_FILE).is_file() {
            return Ok(path.to_path_buf());
        }
        if path.is_file() {
            let sha =
                sha256_file(path).with_context(|| format!("cannot read {}", path.display()))?;
            let cached = self.dir.join(".imported").join(&sha);
            if !cached.join(INFO_FILE).is_file() {
                let onnx = OnnxModel::load(path)
                    .with_context(|| format!("{} is not a usable ONNX model", path.display()))?;
                import::import_yolo(&onnx, &sha[..12], &sha, &cached)
                    .map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
            }
            return Ok(cached);
        }
        let known: Vec<String> = self
            .list()
            .into_iter()
            .filter(|m| m.info.is_some())
            .map(|m| m.name)
            .collect();
        anyhow::bail!(
            "no model {name_or_path:?} in {} (installed: {}); run `visionflow models fetch` or pass a path",
            self.dir.display(),
            if known.is_empty() {
                "none".to_owned()
            } else {
                known.join(", ")
            }
        )
    }
}

/// Loads the OCR networks installed as `ocr-det` and `ocr-rec`.
///
/// # Errors
/// Missing models (with the command that installs them) or unusable files.
pub fn load_ocr(models_dir: &Path, device: &Device) -> anyhow::Result<OcrEngine> {
    let det = models_dir.join("ocr-det").join(SOURCE_FILE);
    let rec = models_dir.join("ocr-rec").join(SOURCE_FILE);
    for f in [&det, &rec] {
        anyhow::ensure!(
            f.is_file(),
            "{} is missing; run `visionflow models fetch`",
            f.display()
        );
    }
    OcrEngine::load(&det, &rec, device).map_err(|e| anyhow::anyhow!("{e}"))
}
