//! Importing a user's Ultralytics YOLOv8/YOLO11 detect or segment ONNX export into what the
//! candle code loads: `model.safetensors` (f32 weights under their checkpoint names) and
//! `model.json` ([`ModelInfo`]: task, classes, input size, structure facts, source sha256).

use std::{
    collections::{BTreeSet, HashMap},
    path::Path,
};

use candle_core::{Device, Tensor};
use serde::{Deserialize, Serialize};

use crate::{
    ModelError,
    onnx::OnnxModel,
    yolo::{YoloConfig, YoloVersion},
};

/// The sidecar of an imported model (`model.json`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ModelInfo {
    /// Always `visionflow/yolo` for YOLO models.
    pub format: String,
    /// Model name (directory name).
    pub name: String,
    /// `detect` or `segment`.
    pub task: String,
    /// Class names by index.
    pub names: Vec<String>,
    /// Network input height and width, pixels.
    pub imgsz: [usize; 2],
    /// Largest stride.
    pub stride: usize,
    /// Structure facts for [`crate::yolo::Yolo::load`].
    pub yolo: YoloConfig,
    /// Lower-case hex sha256 of the ONNX file it came from.
    pub source_sha256: String,
}

/// File names inside a model directory.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// Sidecar file name.
pub const INFO_FILE: &str = "model.json";

/// Reads an Ultralytics export and describes it.
///
/// # Errors
/// [`ModelError::Unsupported`] when the file is ONNX but not a YOLOv8/YOLO11 detect or
/// segment export (e.g. an OCR model, a pose model); [`ModelError::Onnx`] when it is not ONNX.
pub fn inspect_yolo(onnx: &OnnxModel, name: &str, sha256: &str) -> Result<ModelInfo, ModelError> {
    let has = |k: &str| onnx.weights.contains_key(k);
    let (version, head) = if has("model.23.dfl.conv.weight")
        && has("model.10.m.0.attn.qkv.conv.weight")
    {
        (YoloVersion::V11, 23)
    } else if has("model.22.dfl.conv.weight") && has("model.9.cv1.conv.weight") {
        (YoloVersion::V8, 22)
    } else {
        return Err(ModelError::Unsupported(
            "not an Ultralytics YOLOv8/YOLO11 detect or segment export (no `model.N` head with DFL)".into(),
        ));
    };
    let segment = has(&format!("model.{head}.proto.cv1.conv.weight"));
    let task = onnx.metadata.get("task").cloned().unwrap_or_else(|| {
        if segment {
            "segment".into()
        } else {
            "detect".into()
        }
    });
    if task != "detect" && task != "segment" {
        return Err(ModelError::Unsupported(format!(
            "task {task:?} (only detect and segment)"
        )));
    }
    let cls_out = onnx
        .weights
        .get(&format!("model.{head}.cv3.0.2.weight"))
        .ok_or_else(|| ModelError::Unsupported("class branch missing".into()))?;
    let num_classes = cls_out.dims[0];
    let mut names = onnx
        .metadata
        .get("names")
        .map(|s| parse_names(s))
        .unwrap_or_default();
    if names.len() != num_classes {
        names = (0..num_classes).map(|i| format!("class{i}")).collect();
    }
    let imgsz = onnx
        .metadata
        .get("imgsz")
        .and_then(|s| {
            let v: Vec<usize> = s
                .trim_matches(['[', ']'])
                .split(',')
                .filter_map(|p| p.trim().parse().ok())
                .collect();
            match v.as_slice() {
                [h, w] => Some([*h, *w]),
                [s] => Some([*s, *s]),
                _ => None,
            }
        })
        .unwrap_or([640, 640]);
    if imgsz.iter().any(|&v| v == 0 || v % 32 != 0 || v > 4096) {
        return Err(ModelError::Unsupported(format!("input size {imgsz:?}")));
    }
    let residual = residual_paths(onnx, head);
    let linear = linear_convs(onnx);
    Ok(ModelInfo {
        format: "visionflow/yolo".into(),
        name: name.to_owned(),
        task,
        names,
        imgsz,
        stride: onnx
            .metadata
            .get("stride")
            .and_then(|s| s.parse().ok())
            .unwrap_or(32),
        yolo: YoloConfig {
            version,
            num_classes,
            segment,
            residual,
            linear,
        },
        source_sha256: sha256.to_owned(),
    })
}

/// Module paths of the blocks followed by an `Add` of their input, from node names such as
/// `/model.6/m.0/m/m.1/Add` → `model.6.m.0.m.1` (the `m` hop is a `Sequential`'s name).
fn residual_paths(onnx: &OnnxModel, head: usize) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for node in onnx.nodes.iter().filter(|n| n.op_type == "Add") {
        let Some(path) = node.name.strip_prefix('/') else {
            continue;
        };
        let Some((path, _)) = path.rsplit_once('/') else {
            continue;
        };
        let segs: Vec<&str> = path.split('/').collect();
        if segs
            .first()
            .and_then(|s| s.strip_prefix("model."))
            .and_then(|n| n.parse::<usize>().ok())
            .is_none_or(|n| n >= head)
        {
            continue;
        }
        let kept: Vec<&str> = segs
            .iter()
            .enumerate()
            .filter(|(i, s)| {
                segs.get(i + 1)
                    .is_none_or(|next| !next.starts_with(&format!("{s}.")))
            })
            .map(|(_, s)| *s)
            .collect();
        out.insert(kept.join("."));
    }
    out
}

/// Module paths (`model.9.cv1`) of `Conv` blocks whose conv output feeds no `Sigmoid`, i.e.
/// that have no SiLU after them.
fn linear_convs(onnx: &OnnxModel) -> BTreeSet<String> {
    let sigmoid_inputs: BTreeSet<&str> = onnx
        .nodes
        .iter()
        .filter(|n| n.op_type == "Sigmoid")
        .flat_map(|n| n.input.iter().map(String::as_str))
        .collect();
    onnx.nodes
        .iter()
        .filter(|n| n.op_type == "Conv")
        .filter_map(|n| {
            let path = n.input.get(1)?.strip_suffix(".conv.weight")?;
            let out = n.output.first()?;
            (!sigmoid_inputs.contains(out.as_str())).then(|| path.to_owned())
        })
        .collect()
}

/// Parses Ultralytics' `names` metadata, a Python dict literal: `{0: 'bus', 1: "it's"}`.
pub fn parse_names(s: &str) -> Vec<String> {
    let mut out: Vec<(usize, String)> = Vec::new();
    let body = s.trim().trim_start_matches('{').trim_end_matches('}');
    let mut rest = body;
    while let Some(colon) = rest.find(':') {
        let Ok(idx) = rest[..colon]
            .trim()
            .trim_start_matches(',')
            .trim()
            .parse::<usize>()
        else {
            break;
        };
        let after = rest[colon + 1..].trim_start();
        let Some(quote) = after.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            break;
        };
        let Some(end) = after[1..].find(quote) else {
            break;
        };
        out.push((idx, after[1..1 + end].to_owned()));
        rest = &after[1 + end + 1..];
    }
    out.sort_by_key(|(i, _)| *i);
    out.into_iter().map(|(_, n)| n).collect()
}

/// Imports an ONNX export into `dir` (`model.safetensors` + `model.json`).
///
/// # Errors
/// As [`inspect_yolo`], plus I/O errors writing the files.
pub fn import_yolo(
    onnx: &OnnxModel,
    name: &str,
    sha256: &str,
    dir: &Path,
) -> Result<ModelInfo, ModelError> {
    let info = inspect_yolo(onnx, name, sha256)?;
    std::fs::create_dir_all(dir).map_err(|e| ModelError::Io(dir.display().to_string(), e))?;
    let mut tensors = HashMap::new();
    for (k, w) in &onnx.weights {
        if k.starts_with("model.") {
            tensors.insert(
                k.clone(),
                Tensor::from_vec(w.data.clone(), w.dims.clone(), &Device::Cpu)?,
            );
        }
    }
    let weights = dir.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&tensors, &weights)?;
    let json = serde_json::to_string_pretty(&info)?;
    std::fs::write(dir.join(INFO_FILE), json)
        .map_err(|e| ModelError::Io(dir.display().to_string(), e))?;
    Ok(info)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_parse_from_python_dicts() {
        assert_eq!(
            parse_names("{0: 'bick', 1: 'bus', 2: 'car'}"),
            vec!["bick", "bus", "car"]
        );
        assert_eq!(
            parse_names("{1: \"it's\", 0: 'a: b'}"),
            vec!["a: b", "it's"]
        );
        assert!(parse_names("garbage").is_empty());
    }
}
