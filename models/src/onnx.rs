//! Reading ONNX files: just the parts weight import needs.
//!
//! The messages below are the subset of `onnx.proto` (onnx/onnx, `onnx/onnx.proto`, IR v8)
//! that carries weights and metadata, decoded with `prost`; unknown fields are skipped.
//! Tensors come from graph initializers (Ultralytics exports) and from `Constant` nodes
//! (PaddleOCR exports keep their weights that way).

use std::{collections::BTreeMap, path::Path};

use crate::ModelError;

/// `ModelProto` (fields 7 and 14).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ModelProto {
    /// The graph.
    #[prost(message, optional, tag = "7")]
    pub graph: Option<GraphProto>,
    /// Free-form metadata (`names`, `imgsz`, `stride`, `task`, `character` …).
    #[prost(message, repeated, tag = "14")]
    pub metadata_props: Vec<StringStringEntryProto>,
}

/// `StringStringEntryProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct StringStringEntryProto {
    /// Key.
    #[prost(string, tag = "1")]
    pub key: String,
    /// Value.
    #[prost(string, tag = "2")]
    pub value: String,
}

/// `GraphProto` (nodes, initializers, inputs, outputs).
#[derive(Clone, PartialEq, prost::Message)]
pub struct GraphProto {
    /// Nodes in topological order.
    #[prost(message, repeated, tag = "1")]
    pub node: Vec<NodeProto>,
    /// Weights.
    #[prost(message, repeated, tag = "5")]
    pub initializer: Vec<TensorProto>,
    /// Graph inputs.
    #[prost(message, repeated, tag = "11")]
    pub input: Vec<ValueInfoProto>,
    /// Graph outputs.
    #[prost(message, repeated, tag = "12")]
    pub output: Vec<ValueInfoProto>,
}

/// `ValueInfoProto` (name only).
#[derive(Clone, PartialEq, prost::Message)]
pub struct ValueInfoProto {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
}

/// `NodeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct NodeProto {
    /// Input names.
    #[prost(string, repeated, tag = "1")]
    pub input: Vec<String>,
    /// Output names.
    #[prost(string, repeated, tag = "2")]
    pub output: Vec<String>,
    /// Node name.
    #[prost(string, tag = "3")]
    pub name: String,
    /// Operator (`Conv`, `Constant` …).
    #[prost(string, tag = "4")]
    pub op_type: String,
    /// Attributes.
    #[prost(message, repeated, tag = "5")]
    pub attribute: Vec<AttributeProto>,
}

/// `AttributeProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct AttributeProto {
    /// Name.
    #[prost(string, tag = "1")]
    pub name: String,
    /// FLOAT.
    #[prost(float, tag = "2")]
    pub f: f32,
    /// INT.
    #[prost(int64, tag = "3")]
    pub i: i64,
    /// STRING.
    #[prost(bytes = "vec", tag = "4")]
    pub s: Vec<u8>,
    /// TENSOR.
    #[prost(message, optional, tag = "5")]
    pub t: Option<TensorProto>,
    /// FLOATS.
    #[prost(float, repeated, tag = "7")]
    pub floats: Vec<f32>,
    /// INTS.
    #[prost(int64, repeated, tag = "8")]
    pub ints: Vec<i64>,
}

/// `TensorProto`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct TensorProto {
    /// Shape.
    #[prost(int64, repeated, tag = "1")]
    pub dims: Vec<i64>,
    /// Element type (1 FLOAT, 6 INT32, 7 INT64, 10 FLOAT16, 11 DOUBLE …).
    #[prost(int32, tag = "2")]
    pub data_type: i32,
    /// FLOAT data when not raw.
    #[prost(float, repeated, tag = "4")]
    pub float_data: Vec<f32>,
    /// INT32 (and FLOAT16 bits) data when not raw.
    #[prost(int32, repeated, tag = "5")]
    pub int32_data: Vec<i32>,
    /// INT64 data when not raw.
    #[prost(int64, repeated, tag = "7")]
    pub int64_data: Vec<i64>,
    /// Name.
    #[prost(string, tag = "8")]
    pub name: String,
    /// Little-endian raw bytes.
    #[prost(bytes = "vec", tag = "9")]
    pub raw_data: Vec<u8>,
    /// DOUBLE data when not raw.
    #[prost(double, repeated, tag = "10")]
    pub double_data: Vec<f64>,
}

/// A weight as f32, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct Weight {
    /// Shape.
    pub dims: Vec<usize>,
    /// Values.
    pub data: Vec<f32>,
    /// For INT32/INT64 tensors (shapes, axes, indices): the exact integers.
    pub ints: Option<Vec<i64>>,
}

impl TensorProto {
    /// The tensor converted to f32 (FLOAT, FLOAT16, DOUBLE, INT32, INT64).
    ///
    /// # Errors
    /// [`ModelError::Onnx`] for other element types or a data length that does not match
    /// the shape.
    pub fn to_f32(&self) -> Result<Weight, ModelError> {
        let dims: Vec<usize> = self
            .dims
            .iter()
            .map(|&d| usize::try_from(d).map_err(|_| bad(&self.name, "negative dimension")))
            .collect::<Result<_, _>>()?;
        let n: usize = dims.iter().product();
        let raw = &self.raw_data;
        let data: Vec<f32> = match self.data_type {
            1 if !raw.is_empty() => raw
                .chunks_exact(4)
                .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
                .collect(),
            1 => self.float_data.clone(),
            10 if !raw.is_empty() => raw
                .chunks_exact(2)
                .map(|c| half::f16::from_le_bytes([c[0], c[1]]).to_f32())
                .collect(),
            10 => self
                .int32_data
                .iter()
                .map(|&b| half::f16::from_bits(b as u16).to_f32())
                .collect(),
            11 if !raw.is_empty() => raw
                .chunks_exact(8)
                .map(|c| {
                    f64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
            11 => self.double_data.iter().map(|&d| d as f32).collect(),
            6 if !raw.is_empty() => raw
                .chunks_exact(4)
                .map(|c| i32::from_le_bytes([c[0], c[1], c[2], c[3]]) as f32)
                .collect(),
            6 => self.int32_data.iter().map(|&v| v as f32).collect(),
            7 if !raw.is_empty() => raw
                .chunks_exact(8)
                .map(|c| {
                    i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]) as f32
                })
                .collect(),
            7 => self.int64_data.iter().map(|&v| v as f32).collect(),
            t => return Err(bad(&self.name, &format!("unsupported element type {t}"))),
        };
        if data.len() != n {
            return Err(bad(
                &self.name,
                &format!("{} values for shape {dims:?}", data.len()),
            ));
        }
        let ints = match self.data_type {
            6 if !raw.is_empty() => Some(
                raw.chunks_exact(4)
                    .map(|c| i64::from(i32::from_le_bytes([c[0], c[1], c[2], c[3]])))
                    .collect(),
            ),
            6 => Some(self.int32_data.iter().map(|&v| i64::from(v)).collect()),
            7 if !raw.is_empty() => Some(
                raw.chunks_exact(8)
                    .map(|c| i64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]]))
                    .collect(),
            ),
            7 => Some(self.int64_data.clone()),
            _ => None,
        };
        Ok(Weight { dims, data, ints })
    }
}

fn bad(name: &str, why: &str) -> ModelError {
    ModelError::Onnx(format!("tensor {name:?}: {why}"))
}

/// A loaded ONNX model: its weights by name, its metadata and its operator list.
#[derive(Debug)]
pub struct OnnxModel {
    /// Initializers and `Constant` outputs, converted to f32.
    pub weights: BTreeMap<String, Weight>,
    /// Metadata properties.
    pub metadata: BTreeMap<String, String>,
    /// The graph's nodes (for structure inference).
    pub nodes: Vec<NodeProto>,
    /// Graph input names (may include initializers in older IR versions).
    pub inputs: Vec<String>,
    /// Graph output names.
    pub outputs: Vec<String>,
}

impl OnnxModel {
    /// Reads an ONNX file.
    ///
    /// # Errors
    /// [`ModelError::Io`] when the file cannot be read, [`ModelError::Onnx`] when it is not
    /// an ONNX model.
    pub fn load(path: &Path) -> Result<Self, ModelError> {
        let bytes =
            std::fs::read(path).map_err(|e| ModelError::Io(path.display().to_string(), e))?;
        Self::from_bytes(&bytes).map_err(|e| ModelError::Onnx(format!("{}: {e}", path.display())))
    }

    /// Decodes an ONNX model from bytes.
    ///
    /// # Errors
    /// [`ModelError::Onnx`] when the bytes are not an ONNX model with a graph.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ModelError> {
        let model = <ModelProto as prost::Message>::decode(bytes)
            .map_err(|e| ModelError::Onnx(format!("not an ONNX model ({e})")))?;
        let graph = model
            .graph
            .ok_or_else(|| ModelError::Onnx("the model has no graph".into()))?;
        if graph.node.is_empty() {
            return Err(ModelError::Onnx("the model's graph has no nodes".into()));
        }
        let mut weights = BTreeMap::new();
        for t in &graph.initializer {
            weights.insert(t.name.clone(), t.to_f32()?);
        }
        for node in &graph.node {
            if node.op_type == "Constant"
                && let (Some(out), Some(t)) = (
                    node.output.first(),
                    node.attribute
                        .iter()
                        .find(|a| a.name == "value")
                        .and_then(|a| a.t.as_ref()),
                )
                && let Ok(w) = t.to_f32()
            {
                weights.insert(out.clone(), w);
            }
        }
        let metadata = model
            .metadata_props
            .into_iter()
            .map(|p| (p.key, p.value))
            .collect();
        Ok(Self {
            weights,
            metadata,
            inputs: graph.input.iter().map(|i| i.name.clone()).collect(),
            outputs: graph.output.iter().map(|o| o.name.clone()).collect(),
            nodes: graph.node,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message as _;

    #[test]
    fn decodes_initializers_constants_and_metadata() {
        let model = ModelProto {
            graph: Some(GraphProto {
                node: vec![NodeProto {
                    output: vec!["c0".into()],
                    op_type: "Constant".into(),
                    attribute: vec![AttributeProto {
                        name: "value".into(),
                        t: Some(TensorProto {
                            dims: vec![2],
                            data_type: 10,
                            raw_data: [half::f16::from_f32(1.5), half::f16::from_f32(-2.0)]
                                .iter()
                                .flat_map(|h| h.to_le_bytes())
                                .collect(),
                            ..Default::default()
                        }),
                        ..Default::default()
                    }],
                    ..Default::default()
                }],
                initializer: vec![TensorProto {
                    name: "w".into(),
                    dims: vec![1, 2],
                    data_type: 1,
                    float_data: vec![0.25, 4.0],
                    ..Default::default()
                }],
                ..Default::default()
            }),
            metadata_props: vec![StringStringEntryProto {
                key: "task".into(),
                value: "detect".into(),
            }],
        };
        let m = OnnxModel::from_bytes(&model.encode_to_vec()).expect("decodes");
        assert_eq!(m.weights["w"].data, vec![0.25, 4.0]);
        assert_eq!(m.weights["c0"].data, vec![1.5, -2.0]);
        assert_eq!(m.metadata["task"], "detect");
    }

    #[test]
    fn refuses_files_that_are_not_onnx() {
        assert!(OnnxModel::from_bytes(b"\xff\xd8\xff\xe0 a jpeg").is_err());
        assert!(OnnxModel::from_bytes(b"").is_err());
    }
}
