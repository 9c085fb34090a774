//! Criterion benchmarks of the statistics kernels and the disclosure rule.
//! Run: `cargo bench --bench stats` (results in target/criterion).

use criterion::{criterion_group, criterion_main, Criterion};
use jsna::disclosure::protect;
use jsna::disclosure::secondary::System;
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
        suppress_zeros: false,
        exempt_published: false,
        breakdown_level: jsna::pipeline::spec::BreakdownLevel::Area,
        median_min: 20,
    };
    c.bench_function("disclosure primary rule, 1M cells", |b| {
        b.iter(|| {
            for x in 0..1_000_000u32 {
                black_box(protect(black_box(x as f64), rule));
            }
        })
    });
}

/// A national-sized hierarchy: `tables` tables of 300 areas in 9 regions and a total, with
/// counts from a fixed pseudo-random sequence (about one area in six is 1 to 7).
fn national(tables: usize) -> System {
    let mut s = System::new(7.0, 5.0);
    let mut seed = 20240331u64;
    let mut next = || {
        seed = seed
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (seed >> 33) as f64 / (1u64 << 31) as f64
    };
    for _ in 0..tables {
        let mut regions = Vec::new();
        for _ in 0..9 {
            let areas: Vec<usize> = (0..33)
                .map(|_| {
                    let v = if next() < 0.17 {
                        1.0 + (next() * 7.0).floor()
                    } else {
                        (next() * 200.0).floor()
                    };
                    s.add_var(v, v > 0.0 && v <= 7.0)
                })
                .collect();
            let sum: f64 = areas.iter().map(|&a| s.values[a]).sum();
            let r = s.add_var(sum, sum > 0.0 && sum <= 7.0);
            s.add_equation(r, areas);
            regions.push(r);
        }
        let sum: f64 = regions.iter().map(|&r| s.values[r]).sum();
        let t = s.add_var(sum, false);
        s.add_equation(t, regions);
    }
    s
}

fn secondary(c: &mut Criterion) {
    let mut group = c.benchmark_group("secondary suppression");
    group.sample_size(10);
    group.bench_function("1,000 tables of 300 areas, 9 regions and a total", |b| {
        b.iter_batched(
            || national(1000),
            |mut s| black_box(s.protect()),
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

criterion_group!(benches, kernels, secondary);
criterion_main!(benches);
