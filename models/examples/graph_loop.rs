//! Runs an ONNX graph through the candle graph executor in a loop on a synthetic input, for
//! profilers: `graph_loop MODEL.onnx N DIMS` (e.g. `data/models/ocr-det/source.onnx 20
//! 1,3,736,1152`). Prints the median and minimum milliseconds; with `VF_GRAPH_PROFILE` set,
//! the graph prints its time per operator (per run) and convolutions their geometry table
//! at the end.
use std::path::Path;

use visionflow_models::{graph::OnnxGraph, onnx::OnnxModel};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let g = OnnxGraph::new(
        &OnnxModel::load(Path::new(&a[1]))?,
        &candle_core::Device::Cpu,
    )?;
    let n: usize = a[2].parse()?;
    let dims: Vec<usize> = a[3].split(',').map(str::parse).collect::<Result<_, _>>()?;
    let len: usize = dims.iter().product();
    let v: Vec<f32> = (0..len).map(|i| (i % 251) as f32 / 125.0 - 1.0).collect();
    let x = candle_core::Tensor::from_vec(v, dims, &candle_core::Device::Cpu)?;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = std::time::Instant::now();
        std::hint::black_box(g.run(&x)?);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!("median {:.1} ms, min {:.1} ms over {n}", ms[n / 2], ms[0]);
    print!("{}", visionflow_models::kernels::profile::report(n));
    Ok(())
}
