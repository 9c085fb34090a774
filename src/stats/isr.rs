//! Indirect standardisation: observed over expected events.

use super::{check_confidence, poisson_count_limits, Estimate, StatsError};

/// Expected events: Σ over bands of the reference rate (`ref_count / ref_population`) × the
/// local population.
pub fn expected(bands: &[(f64, f64, f64)]) -> Result<f64, StatsError> {
    let mut e = 0.0;
    for &(population, ref_count, ref_population) in bands {
        if ref_population <= 0.0 {
            return Err(StatsError::NonPositiveDenominator(ref_population));
        }
        e += ref_count / ref_population * population;
    }
    Ok(e)
}

/// Indirectly standardised ratio `O / E × multiplier` (100 by convention), with the exact
/// (under 10) or Byar's limits of O divided by E.
pub fn isr_ratio(
    observed: f64,
    expected: f64,
    confidence: f64,
    multiplier: f64,
) -> Result<Estimate, StatsError> {
    check_confidence(confidence)?;
    super::check_counts(observed, expected)?;
    let (lo, hi) = poisson_count_limits(observed, confidence);
    Ok(Estimate {
        value: observed / expected * multiplier,
        lower: lo / expected * multiplier,
        upper: hi / expected * multiplier,
    })
}

/// Indirectly standardised rate: the ratio times the reference rate (`reference_rate` per person).
pub fn isr_rate(
    observed: f64,
    expected: f64,
    reference_rate: f64,
    confidence: f64,
    multiplier: f64,
) -> Result<Estimate, StatsError> {
    let r = isr_ratio(observed, expected, confidence, 1.0)?;
    let s = reference_rate * multiplier;
    Ok(Estimate {
        value: r.value * s,
        lower: r.lower * s,
        upper: r.upper * s,
    })
}
