//! Runs a loaded YOLO model's forward pass in a loop on a synthetic input, for profilers
//! (`perf record`): `yolo_loop MODEL_DIR N H W [masks]`, e.g. `data/models/vehicles 50 640
//! 640` (boxes only unless `masks`). Prints the median and minimum milliseconds and, with
//! `VF_GRAPH_PROFILE` set, the time per convolution geometry and stage.
use std::path::Path;

use visionflow_models::detector::YoloDetector;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let a: Vec<String> = std::env::args().collect();
    let det = YoloDetector::load(Path::new(&a[1]), &candle_core::Device::Cpu)?;
    let n: usize = a[2].parse()?;
    let (h, w): (usize, usize) = (a[3].parse()?, a[4].parse()?);
    let masks = a.get(5).is_some_and(|m| m == "masks");
    let v: Vec<f32> = (0..3 * h * w).map(|i| (i % 251) as f32 / 251.0).collect();
    let x = candle_core::Tensor::from_vec(v, (1, 3, h, w), &candle_core::Device::Cpu)?;
    let mut ms = Vec::with_capacity(n);
    for _ in 0..n {
        let t = std::time::Instant::now();
        let out = det.model().forward_opts(&x, masks)?;
        std::hint::black_box(out);
        ms.push(t.elapsed().as_secs_f64() * 1e3);
    }
    ms.sort_by(f64::total_cmp);
    println!("median {:.1} ms, min {:.1} ms over {n}", ms[n / 2], ms[0]);
    print!("{}", visionflow_models::kernels::profile::report(n));
    Ok(())
}
