//! One 3×3 convolution (padding 1, bias, SiLU) of stride 1 or 2 timed through im2col +
//! `gemm`, the direct 3×3 kernel and (stride 1) Winograd F(2×2,3×3) / F(4×4,3×3), on
//! synthetic data, with each path's max abs difference from im2col + `gemm`. Prints
//! numbers; asserts nothing.
//!
//! `cargo run --release -p visionflow-models --example d3_probe -- C_IN C_OUT H W STRIDE`

use std::time::Instant;

use visionflow_models::kernels::{Act, ConvShape, conv_image, direct3x3};
use visionflow_models::winograd::{F2, F4};

/// One way to run the convolution into an output buffer.
type Conv<'a> = Box<dyn Fn(&mut [f32]) + 'a>;

fn main() {
    let args: Vec<usize> = std::env::args()
        .skip(1)
        .filter_map(|a| a.parse().ok())
        .collect();
    let [c, co, h, w, stride] = args[..] else {
        eprintln!("usage: d3_probe C_IN C_OUT H W STRIDE");
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
        stride,
        pad: 1,
    };
    let (ho, wo) = s.out_hw(h, w);
    let packed = direct3x3::pack(&wt, co, c);
    let u2 = F2.transform_filters(&wt, co, c);
    let u4 = F4.transform_filters(&wt, co, c);
    let mut want = vec![0f32; co * ho * wo];
    let mut out = vec![0f32; co * ho * wo];
    conv_image(&x, (h, w), &wt, &b, &s, Act::Silu, None, &mut want);
    let mut paths: Vec<(&str, Conv)> = vec![
        (
            "gemm",
            Box::new(|o: &mut [f32]| conv_image(&x, (h, w), &wt, &b, &s, Act::Silu, None, o)),
        ),
        (
            "direct3x3",
            Box::new(|o: &mut [f32]| {
                direct3x3::conv3x3_image(&x, (h, w), &packed, &b, &s, Act::Silu, None, o)
            }),
        ),
    ];
    if stride == 1 {
        paths.push((
            "F2",
            Box::new(|o: &mut [f32]| F2.conv3x3(&x, (c, h, w), &u2, co, 1, &b, Act::Silu, None, o)),
        ));
        paths.push((
            "F4",
            Box::new(|o: &mut [f32]| F4.conv3x3(&x, (c, h, w), &u4, co, 1, &b, Act::Silu, None, o)),
        ));
    }
    for (name, f) in &paths {
        out.fill(f32::NAN);
        f(&mut out);
        let d = want
            .iter()
            .zip(&out)
            .map(|(a, b)| (a - b).abs())
            .fold(0f32, f32::max);
        println!("{name}: max abs difference from gemm {d:e}");
    }
    let flops = s.flops(h, w);
    for round in 0..3 {
        let mut best = vec![f64::MAX; paths.len()];
        for _ in 0..10 {
            for (i, (_, f)) in paths.iter().enumerate() {
                let t = Instant::now();
                f(&mut out);
                best[i] = best[i].min(t.elapsed().as_secs_f64());
            }
        }
        let cells: Vec<String> = paths
            .iter()
            .zip(&best)
            .map(|((n, _), t)| format!("{n} {:.3} ms ({:.0} GFLOP/s)", t * 1e3, flops / t / 1e9))
            .collect();
        println!("round {round}: {}", cells.join(", "));
    }
}
