//! Criterion benchmarks of the statistics kernels and the disclosure rule.
//! Run: `cargo bench --bench stats` (results in target/criterion).

use criterion::{criterion_group, criterion_main, Criterion};
use jsna::disclosure::protect;
use jsna::pipeline::plan::DisclosureRule;
use jsna::stats;
use std::hint::black_box;

fn kernels(c: &mut Criterion) {
    c.bench_function("wilson 95+99.8, 1000 intervals", |b| {
        b.iter(|| {
            for x in 0..1000u32 {
                let x = x as f64;
                black_box(stats::wilson(black_box(x), 1000.0, 0.95, 100.0).unwrap());
                black_box(stats::wilson(black_box(x), 1000.0, 0.998, 100.0).unwrap());
            }
        })
    });
    c.bench_function("rate exact (<10), 1000 intervals", |b| {
        b.iter(|| {
            for i in 0..1000u32 {
                black_box(
                    stats::rate(black_box((i % 10) as f64), 100000.0, 0.95, 100000.0).unwrap(),
                );
            }
        })
    });
    c.bench_function("rate Byar (>=10), 1000 intervals", |b| {
        b.iter(|| {
            for i in 0..1000u32 {
                black_box(
                    stats::rate(black_box((10 + i) as f64), 100000.0, 0.95, 100000.0).unwrap(),
                );
            }
        })
    });
    let bands: Vec<stats::DsrBand> = stats::ESP2013
        .iter()
        .enumerate()
        .map(|(i, (_, w))| stats::DsrBand::independent((i * 3) as f64, 5000.0, *w))
        .collect();
    c.bench_function("dsr 19 bands", |b| {
        b.iter(|| black_box(stats::dsr(black_box(&bands), 0.95, 100000.0).unwrap()))
    });
    let rule = DisclosureRule {
        threshold: 7,
        rounding: 5,
    };
    c.bench_function("disclosure primary rule, 1M cells", |b| {
        b.iter(|| {
            for x in 0..1_000_000u32 {
                black_box(protect(black_box(x as f64), rule));
            }
        })
    });
}

criterion_group!(benches, kernels);
criterion_main!(benches);
