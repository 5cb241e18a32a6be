//! One stride-1 3×3 convolution (padding 1, bias, SiLU) timed three ways — direct (im2col +
//! `gemm`), Winograd F(2×2,3×3) and F(4×4,3×3) — on synthetic data, with each Winograd
//! variant's max abs difference from the direct path. Prints numbers; asserts nothing.
//!
//! `cargo run --release -p visionflow-models --example wino_probe -- C_IN C_OUT H W`
//! (e.g. `128 128 40 40`). `FusedConv::forward` makes the same comparison itself, per layer
//! and input size, the first time it runs one.

use std::time::Instant;

use visionflow_models::kernels::{Act, ConvShape, conv_image};
use visionflow_models::winograd::{F2, F4};

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [c, co, h, w] = args[..] else {
        eprintln!("usage: wino_probe C_IN C_OUT H W");
        std::process::exit(2);
    };
    let x: Vec<f32> = (0..c * h * w)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let wt: Vec<f32> = (0..co * c * 9)
        .map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5)
        .collect();
    let b = vec![0.1f32; co];
    let s = ConvShape {
        c_in: c,
        c_out: co,
        k: (3, 3),
        stride: 1,
        pad: 1,
    };
    let variants = [("F2", &F2), ("F4", &F4)];
    let u: Vec<Vec<f32>> = variants
        .iter()
        .map(|(_, v)| v.transform_filters(&wt, co, c))
        .collect();
    let mut want = vec![0f32; co * h * w];
    let mut out = vec![0f32; co * h * w];
    conv_image(&x, (h, w), &wt, &b, &s, Act::Silu, None, &mut want);
    for ((name, v), u) in variants.iter().zip(&u) {
        v.conv3x3(&x, (c, h, w), u, co, 1, &b, Act::Silu, None, &mut out);
        let d = want
            .iter()
            .zip(&out)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!("{name}: max abs difference from direct {d:e}");
    }
    let flops = s.flops(h, w);
    for round in 0..3 {
        // Best of 10, the three paths interleaved.
        let mut best = [f64::MAX; 3];
        for _ in 0..10 {
            let t = Instant::now();
            conv_image(&x, (h, w), &wt, &b, &s, Act::Silu, None, &mut out);
            best[0] = best[0].min(t.elapsed().as_secs_f64());
            for (i, ((_, v), u)) in variants.iter().zip(&u).enumerate() {
                let t = Instant::now();
                v.conv3x3(&x, (c, h, w), u, co, 1, &b, Act::Silu, None, &mut out);
                best[i + 1] = best[i + 1].min(t.elapsed().as_secs_f64());
            }
        }
        let cell = |t: f64| format!("{:.2} ms ({:.0} GFLOP/s eff.)", t * 1e3, flops / t / 1e9);
        println!(
            "round {round}: direct {}, F2 {}, F4 {}",
            cell(best[0]),
            cell(best[1]),
            cell(best[2])
        );
    }
}
