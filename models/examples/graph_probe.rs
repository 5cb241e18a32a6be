//! Runs an ONNX file through the candle graph executor on a raw f32 input and compares with a
//! raw f32 reference output: `graph_probe MODEL.onnx IN.f32 N,C,H,W REF.f32`.
use std::path::Path;

use visionflow_models::{graph::OnnxGraph, onnx::OnnxModel};

fn read(p: &str) -> Vec<f32> {
    std::fs::read(p)
        .expect("file")
        .chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let model = OnnxModel::load(Path::new(&a[1]))?;
    let g = OnnxGraph::new(&model, &candle_core::Device::Cpu)?;
    let dims: Vec<usize> = a[3].split(',').map(|s| s.parse().expect("dim")).collect();
    let x = candle_core::Tensor::from_vec(read(&a[2]), dims, &candle_core::Device::Cpu)?;
    let t = std::time::Instant::now();
    let y = g.run(&x)?;
    println!("{:?} in {:?}", y.dims(), t.elapsed());
    let got = y.flatten_all()?.to_vec1::<f32>()?;
    let want = read(&a[4]);
    let max = got
        .iter()
        .zip(&want)
        .map(|(g, w)| (g - w).abs())
        .fold(0f32, f32::max);
    println!("len {} vs {}, max abs diff {max}", got.len(), want.len());
    Ok(())
}
