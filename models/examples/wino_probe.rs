use std::time::Instant;
use visionflow_models::kernels::{Act, ConvShape, conv_image};
use visionflow_models::winograd::{F2, F4};

fn main() {
    let args: Vec<usize> = std::env::args().skip(1).map(|a| a.parse().unwrap()).collect();
    let (c, co, h, w) = (args[0], args[1], args[2], args[3]);
    let x: Vec<f32> = (0..c * h * w).map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5).collect();
    let wt: Vec<f32> = (0..co * c * 9).map(|i| ((i * 104729) % 1000) as f32 / 1000.0 - 0.5).collect();
    let b = vec![0.1f32; co];
    let u2 = F2.transform_filters(&wt, co, c); let u4 = F4.transform_filters(&wt, co, c); let mut want = vec![0f32; co*h*w];
    let s = ConvShape { c_in: c, c_out: co, k: (3, 3), stride: 1, pad: 1 };
    let mut out = vec![0f32; co * h * w];
    let flops = s.flops(h, w);
    conv_image(&x, (h, w), &wt, &b, &s, Act::Silu, None, &mut want);
    for (name, v, u) in [("F2", &F2, &u2), ("F4", &F4, &u4)] {
        v.conv3x3(&x, (c, h, w), u, co, 1, &b, Act::Silu, None, &mut out);
        let d = want.iter().zip(&out).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
        println!("{name} max abs diff {d:e}");
    }
    for round in 0..3 {
        let mut best = (f64::MAX, f64::MAX, f64::MAX);
        for _ in 0..10 {
            let t = Instant::now();
            conv_image(&x, (h, w), &wt, &b, &s, Act::Silu, None, &mut out);
            best.0 = best.0.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            F2.conv3x3(&x, (c, h, w), &u2, co, 1, &b, Act::Silu, None, &mut out);
            best.1 = best.1.min(t.elapsed().as_secs_f64());
            let t = Instant::now();
            F4.conv3x3(&x, (c, h, w), &u4, co, 1, &b, Act::Silu, None, &mut out);
            best.2 = best.2.min(t.elapsed().as_secs_f64());
        }
        println!("round {round}: direct {:.2} ms ({:.0} GFLOP/s), F2 {:.2} ms ({:.0} eff), F4 {:.2} ms ({:.0} eff)", best.0 * 1e3, flops / best.0 / 1e9, best.1 * 1e3, flops / best.1 / 1e9, best.2 * 1e3, flops / best.2 / 1e9);
    }
}
