//! Proportions with Wilson score intervals.

use super::{check_confidence, check_counts, z_two_sided, Estimate, StatsError};

/// Wilson score interval for `x` events out of `n`, multiplied by `multiplier` (100 for a percentage).
///
/// `(2x + z² ∓ z·√(z² + 4x(1 − x/n))) / (2(n + z²))`; 0/n has lower limit 0 and n/n upper limit 1.
pub fn wilson(x: f64, n: f64, confidence: f64, multiplier: f64) -> Result<Estimate, StatsError> {
    check_confidence(confidence)?;
    check_counts(x, n)?;
    if x > n {
        return Err(StatsError::NumeratorAboveDenominator { x, n });
    }
    let z = z_two_sided(confidence);
    let z2 = z * z;
    let spread = z * (z2 + 4.0 * x * (1.0 - x / n)).sqrt();
    let denom = 2.0 * (n + z2);
    let lower = if x == 0.0 {
        0.0
    } else {
        (2.0 * x + z2 - spread) / denom
    };
    let upper = if x == n {
        1.0
    } else {
        (2.0 * x + z2 + spread) / denom
    };
    Ok(Estimate {
        value: x / n * multiplier,
        lower: lower * multiplier,
        upper: upper * multiplier,
    })
}
