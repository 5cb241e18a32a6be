//! VisionFlow's vision models, in candle.
//!
//! Model code only — no tokio, axum or sea-orm — so the server runs it on dedicated
//! inference threads:
//! - [`onnx`]: reading weights and metadata from ONNX files (prost);
//! - [`import`]: Ultralytics exports → `model.safetensors` + `model.json`;
//! - [`yolo`]: YOLOv8 / YOLO11 networks, detect and segment heads;
//! - [`preprocess`]: letterbox; [`postprocess`]: confidence filter, NMS, masks;
//! - [`detector`]: all of it behind one `detect` call;
//! - [`Manifest`]: the default models and the wheels their weights come from.

pub mod alpr;
pub mod detector;
pub mod graph;
pub mod import;
pub mod kernels;
pub mod ocr;
pub mod onnx;
pub mod ops;
pub mod postprocess;
pub mod preprocess;
pub mod winograd;
pub mod yolo;

use serde::Deserialize;

/// What a model does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Task {
    /// Boxes (YOLO detect head).
    Detect,
    /// Boxes and instance masks (YOLO segment head).
    Segment,
    /// Text-region probability map (DBNet).
    TextDetect,
    /// Text-line recognition (SVTR + CTC).
    TextRecognize,
}

/// One default model and the source of its weights.
#[derive(Debug, Clone, Deserialize)]
pub struct ModelSource {
    /// Name the server and CLI use (`vehicles`, `people`, `ocr-det`, `ocr-rec`).
    pub name: String,
    /// What it does.
    pub task: Task,
    /// PyPI requirement whose wheel carries the weights (`name==version`).
    pub package: String,
    /// Path of the ONNX file inside the wheel.
    pub file: String,
    /// Lower-case hex SHA-256 of that file.
    pub sha256: String,
}

/// The default models (`models/manifest.json`).
#[derive(Debug, Clone, Deserialize)]
pub struct Manifest {
    /// The models.
    pub models: Vec<ModelSource>,
}

/// Errors of this crate.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A JSON file (manifest, sidecar) does not parse.
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The file is not a usable ONNX model.
    #[error("{0}")]
    Onnx(String),
    /// The model is ONNX but not of a supported kind.
    #[error("unsupported model: {0}")]
    Unsupported(String),
    /// Tensor computation failed (usually weights that do not fit the structure).
    #[error("tensor error: {0}")]
    Candle(#[from] candle_core::Error),
    /// The caller's input does not fit (an empty or out-of-bounds region).
    #[error("bad input: {0}")]
    Input(String),
}

impl Manifest {
    /// The manifest compiled into this crate.
    ///
    /// # Errors
    /// [`ModelError::Manifest`] if the embedded file is malformed (a test prevents it).
    pub fn builtin() -> Result<Self, ModelError> {
        Ok(serde_json::from_str(include_str!("../manifest.json"))?)
    }

    /// A model by name.
    pub fn get(&self, name: &str) -> Option<&ModelSource> {
        self.models.iter().find(|m| m.name == name)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtin_manifest_names_the_default_models() {
        let m = Manifest::builtin().expect("parses");
        for name in ["vehicles", "people", "ocr-det", "ocr-rec"] {
            let src = m.get(name).expect(name);
            assert_eq!(src.sha256.len(), 64);
            assert!(src.sha256.bytes().all(|b| b.is_ascii_hexdigit()));
            assert!(src.package.contains("=="));
        }
        assert_eq!(m.get("vehicles").map(|s| s.task), Some(Task::Segment));
    }
}
