//! The direct convolution kernel on the geometries that dominate the vehicles model outside
//! Winograd (pointwise, stride-2 3×3, the 3-channel stem), each with and without the fused
//! SiLU epilogue, and the SiLU slice kernel alone. Prints numbers; asserts nothing.
//!
//! `cargo run --release -p visionflow-models --example pw_probe`

use std::time::Instant;

use visionflow_models::kernels::{Act, ConvShape, conv_image, silu_bias};

fn main() {
    let mut v: Vec<f32> = (0..1_600_000)
        .map(|i| (i % 2000) as f32 / 100.0 - 10.0)
        .collect();
    let mut best = f64::MAX;
    for _ in 0..20 {
        let t = Instant::now();
        silu_bias(&mut v, 0.1);
        best = best.min(t.elapsed().as_secs_f64());
        v.iter_mut().for_each(|x| *x = x.clamp(-10.0, 10.0));
    }
    println!(
        "silu_bias over 1.6 M values: {:.2} ms ({:.2} ns per value, one thread)",
        best * 1e3,
        best * 1e9 / 1.6e6
    );
    for (c, co, h, w, k, st) in [
        (48usize, 64usize, 160usize, 160usize, 1usize, 1usize),
        (384, 256, 20, 20, 1, 1),
        (64, 64, 80, 80, 1, 1),
        (64, 64, 160, 160, 3, 2),
        (3, 16, 640, 640, 3, 2),
        (240, 240, 12, 80, 1, 1),
        (480, 480, 3, 80, 1, 1),
    ] {
        let x: Vec<f32> = (0..c * h * w)
            .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let wt: Vec<f32> = (0..co * c * k * k)
            .map(|i| ((i * 104_729) % 1000) as f32 / 1000.0 - 0.5)
            .collect();
        let b = vec![0.1f32; co];
        let s = ConvShape {
            c_in: c,
            c_out: co,
            k: (k, k),
            stride: st,
            pad: k / 2,
        };
        let (ho, wo) = s.out_hw(h, w);
        let mut out = vec![0f32; co * ho * wo];
        for act in [Act::Linear, Act::Silu] {
            let mut best = f64::MAX;
            for _ in 0..20 {
                let t = Instant::now();
                conv_image(&x, (h, w), &wt, &b, &s, act, None, &mut out);
                best = best.min(t.elapsed().as_secs_f64());
            }
            println!(
                "{c}->{co} {k}x{k} s{st} @{h}x{w} {act:?}: {:.2} ms, {:.0} GFLOP/s",
                best * 1e3,
                s.flops(h, w) / best / 1e9
            );
        }
    }
}
