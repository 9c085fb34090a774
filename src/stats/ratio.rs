//! Equality-gap measures: ratios of two rates or proportions (log-scale intervals) and the
//! difference of two proportions (Newcombe's hybrid Wilson interval).

use super::{check_confidence, check_counts, wilson, z_two_sided, Estimate, StatsError};

fn log_ratio(ratio: f64, se: f64, confidence: f64) -> Estimate {
    let z = z_two_sided(confidence);
    Estimate {
        value: ratio,
        lower: (ratio.ln() - z * se).exp(),
        upper: (ratio.ln() + z * se).exp(),
    }
}

/// Ratio of two crude rates `(x1/n1) / (x2/n2)`; SE(log) = √(1/x1 + 1/x2). `Ok(None)` when a count is 0.
pub fn rate_ratio(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
    confidence: f64,
) -> Result<Option<Estimate>, StatsError> {
    check_confidence(confidence)?;
    check_counts(x1, n1)?;
    check_counts(x2, n2)?;
    if x1 == 0.0 || x2 == 0.0 {
        return Ok(None);
    }
    Ok(Some(log_ratio(
        (x1 / n1) / (x2 / n2),
        (1.0 / x1 + 1.0 / x2).sqrt(),
        confidence,
    )))
}

/// Ratio of two proportions; SE(log) = √(1/x1 − 1/n1 + 1/x2 − 1/n2). `Ok(None)` when a count is 0.
pub fn proportion_ratio(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
    confidence: f64,
) -> Result<Option<Estimate>, StatsError> {
    check_confidence(confidence)?;
    for (x, n) in [(x1, n1), (x2, n2)] {
        check_counts(x, n)?;
        if x > n {
            return Err(StatsError::NumeratorAboveDenominator { x, n });
        }
    }
    if x1 == 0.0 || x2 == 0.0 {
        return Ok(None);
    }
    let se = (1.0 / x1 - 1.0 / n1 + 1.0 / x2 - 1.0 / n2).max(0.0).sqrt();
    Ok(Some(log_ratio((x1 / n1) / (x2 / n2), se, confidence)))
}

/// Difference `p1 − p2` with Newcombe's hybrid score interval (method 10), times `multiplier`.
pub fn proportion_difference(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
    confidence: f64,
    multiplier: f64,
) -> Result<Estimate, StatsError> {
    let a = wilson(x1, n1, confidence, 1.0)?;
    let b = wilson(x2, n2, confidence, 1.0)?;
    let d = a.value - b.value;
    let lower = d - ((a.value - a.lower).powi(2) + (b.upper - b.value).powi(2)).sqrt();
    let upper = d + ((a.upper - a.value).powi(2) + (b.value - b.lower).powi(2)).sqrt();
    Ok(Estimate {
        value: d * multiplier,
        lower: lower * multiplier,
        upper: upper * multiplier,
    })
}

/// Difference of two crude rates `x1/n1 − x2/n2`, times `multiplier`, with the normal
/// (Wald) interval: SE = √(x1/n1² + x2/n2²).
pub fn rate_difference(
    x1: f64,
    n1: f64,
    x2: f64,
    n2: f64,
    confidence: f64,
    multiplier: f64,
) -> Result<Estimate, StatsError> {
    check_confidence(confidence)?;
    check_counts(x1, n1)?;
    check_counts(x2, n2)?;
    let d = x1 / n1 - x2 / n2;
    let half = z_two_sided(confidence) * (x1 / (n1 * n1) + x2 / (n2 * n2)).sqrt();
    Ok(Estimate {
        value: d * multiplier,
        lower: (d - half) * multiplier,
        upper: (d + half) * multiplier,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_difference_by_hand() {
        // 30 in 10,000 against 50 in 25,000, per 1,000: 3 − 2 = 1;
        // SE = √(30/10⁸ + 50/6.25×10⁸) = 6.164414e-4 per person; × 1.959964 × 1,000 = 1.208203.
        let e = rate_difference(30.0, 10_000.0, 50.0, 25_000.0, 0.95, 1000.0).unwrap();
        assert!((e.value - 1.0).abs() < 1e-12);
        assert!((e.lower - (1.0 - 1.208203)).abs() < 1e-5, "{}", e.lower);
        assert!((e.upper - (1.0 + 1.208203)).abs() < 1e-5, "{}", e.upper);
        assert!(rate_difference(1.0, 0.0, 1.0, 1.0, 0.95, 1.0).is_err());
    }
}
