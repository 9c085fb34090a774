//! Crude rates: exact Poisson limits below 10 events, Byar's approximation from 10.

use super::{
    check_confidence, check_counts, chi_square_quantile, z_two_sided, Estimate, StatsError,
};

/// Counts below this use exact Poisson limits; from here Byar's approximation (PHEindicatormethods).
pub const BYAR_FROM: f64 = 10.0;

/// Exact Poisson limits for an observed count: `χ²(α/2, 2x)/2` and `χ²(1−α/2, 2x+2)/2`.
pub fn exact_poisson_limits(x: f64, confidence: f64) -> (f64, f64) {
    let alpha = 1.0 - confidence;
    let lower = if x == 0.0 {
        0.0
    } else {
        chi_square_quantile(alpha / 2.0, 2.0 * x) / 2.0
    };
    let upper = chi_square_quantile(1.0 - alpha / 2.0, 2.0 * x + 2.0) / 2.0;
    (lower, upper)
}

/// Byar's approximation to the Poisson limits of a count.
pub fn byar_limits(x: f64, confidence: f64) -> (f64, f64) {
    let z = z_two_sided(confidence);
    let lower = if x == 0.0 {
        0.0
    } else {
        x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * x.sqrt())).powi(3)
    };
    let x1 = x + 1.0;
    let upper = x1 * (1.0 - 1.0 / (9.0 * x1) + z / (3.0 * x1.sqrt())).powi(3);
    (lower, upper)
}

/// Limits of a Poisson count by the PHEindicatormethods rule (exact below 10, Byar from 10).
pub fn poisson_count_limits(x: f64, confidence: f64) -> (f64, f64) {
    if x < BYAR_FROM {
        exact_poisson_limits(x, confidence)
    } else {
        byar_limits(x, confidence)
    }
}

/// Crude rate `x / n × multiplier` with Poisson limits.
pub fn rate(x: f64, n: f64, confidence: f64, multiplier: f64) -> Result<Estimate, StatsError> {
    check_confidence(confidence)?;
    check_counts(x, n)?;
    let (lo, hi) = poisson_count_limits(x, confidence);
    let scale = multiplier / n;
    Ok(Estimate {
        value: x * scale,
        lower: lo * scale,
        upper: hi * scale,
    })
}
