//! Funnel plots: control limits around an average and the significance label of each point.

use super::{
    check_confidence, exact_poisson_limits, poisson_count_limits, z_two_sided, StatsError,
};
use serde::Serialize;

/// Limits for a proportion at denominator `n` around `average` (a share in [0, 1]): the inverted
/// Wilson score, `average ± z √(average (1 − average) / n)`, clamped to [0, 1].
pub fn proportion_limits(average: f64, n: f64, confidence: f64) -> Result<(f64, f64), StatsError> {
    check_confidence(confidence)?;
    if n <= 0.0 {
        return Err(StatsError::NonPositiveDenominator(n));
    }
    let half = z_two_sided(confidence) * (average * (1.0 - average) / n).sqrt();
    Ok(((average - half).max(0.0), (average + half).min(1.0)))
}

/// Limits for a rate at denominator `n` around `average` (events per person): exact Poisson
/// limits of the expected count `average × n`, over `n`.
pub fn rate_limits(average: f64, n: f64, confidence: f64) -> Result<(f64, f64), StatsError> {
    check_confidence(confidence)?;
    if n <= 0.0 {
        return Err(StatsError::NonPositiveDenominator(n));
    }
    let (lo, hi) = exact_poisson_limits(average * n, confidence);
    Ok((lo / n, hi / n))
}

/// Limits for an observed/expected ratio around 1 at `expected` events.
pub fn ratio_limits(expected: f64, confidence: f64) -> Result<(f64, f64), StatsError> {
    rate_limits(1.0, expected, confidence)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Significance {
    High001,
    High025,
    NotSignificant,
    Low025,
    Low001,
}

impl Significance {
    pub fn label(self) -> &'static str {
        match self {
            Significance::High001 => "High (0.001)",
            Significance::High025 => "High (0.025)",
            Significance::NotSignificant => "Not significant",
            Significance::Low025 => "Low (0.025)",
            Significance::Low001 => "Low (0.001)",
        }
    }
}

/// Where `value` falls against the 95% and 99.8% limits (on a limit counts as inside).
pub fn significance(value: f64, limits95: (f64, f64), limits998: (f64, f64)) -> Significance {
    if value > limits998.1 {
        Significance::High001
    } else if value > limits95.1 {
        Significance::High025
    } else if value < limits998.0 {
        Significance::Low001
    } else if value < limits95.0 {
        Significance::Low025
    } else {
        Significance::NotSignificant
    }
}

/// Significance of a crude rate by the PHEindicatormethods / PHStatsMethods funnel rule
/// (`assign_funnel_significance`, statistic "rate"): the area's own count interval (exact
/// Poisson below 10 events, Byar from 10) at 95% and 99.8%, divided by its denominator, against
/// the average events per person. High when the average lies below the interval, Low when above.
/// A zero is Low only when the average predicts more events than a zero could be chance for.
pub fn rate_significance(observed: f64, n: f64, average: f64) -> Result<Significance, StatsError> {
    super::check_counts(observed, n)?;
    let ci = |c: f64| {
        let (lo, hi) = poisson_count_limits(observed, c);
        (lo / n, hi / n)
    };
    let (a, b) = (ci(0.95), ci(0.998));
    Ok(if average < b.0 {
        Significance::High001
    } else if average < a.0 {
        Significance::High025
    } else if average > b.1 {
        Significance::Low001
    } else if average > a.1 {
        Significance::Low025
    } else {
        Significance::NotSignificant
    })
}

/// Significance of an observed/expected ratio: its own 95% and 99.8% intervals against 1.
pub fn ratio_significance(observed: f64, expected: f64) -> Result<Significance, StatsError> {
    super::check_counts(observed, expected)?;
    let ci = |c: f64| {
        let (lo, hi) = poisson_count_limits(observed, c);
        (lo / expected, hi / expected)
    };
    let (a, b) = (ci(0.95), ci(0.998));
    Ok(if b.0 > 1.0 {
        Significance::High001
    } else if a.0 > 1.0 {
        Significance::High025
    } else if b.1 < 1.0 {
        Significance::Low001
    } else if a.1 < 1.0 {
        Significance::Low025
    } else {
        Significance::NotSignificant
    })
}
