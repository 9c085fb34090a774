//! Statistical methods of UK public-health practice (PHEindicatormethods / Fingertips).
//!
//! Pure functions over numbers: no dataframes, no I/O. Every function takes a confidence level in
//! `[0.9, 1)` and returns a [`Estimate`] (value with lower and upper limits). The tests in this
//! module reproduce `tests/fixtures/reference/indicator_reference_values.csv`.

mod averages;
mod compare;
mod dist;
pub mod dsr;
pub mod funnel;
mod isr;
mod proportion;
pub mod quantile;
mod rate;
mod ratio;
pub mod trend;

pub use averages::{mean, median};
pub use compare::{compare_to_benchmark, compare_two_level, Comparison, Polarity};
pub use dist::{chi_square_quantile, z_two_sided};
pub use dsr::{dsr, dsr_from_sums, DsrBand, DsrSums, ESP2013};
pub use isr::{expected, isr_rate, isr_ratio};
pub use proportion::wilson;
pub use rate::{byar_limits, exact_poisson_limits, poisson_count_limits, rate, BYAR_FROM};
pub use ratio::{proportion_difference, proportion_ratio, rate_difference, rate_ratio};

/// The two confidence levels every published indicator carries.
pub const LEVELS: [f64; 2] = [0.95, 0.998];

/// A value with its confidence interval, all on the output scale (multiplier applied).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Estimate {
    pub value: f64,
    pub lower: f64,
    pub upper: f64,
}

/// Why a method could not produce an estimate from its inputs.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum StatsError {
    #[error("numerator {x} is greater than denominator {n}")]
    NumeratorAboveDenominator { x: f64, n: f64 },
    #[error("numerator {0} is negative")]
    NegativeNumerator(f64),
    #[error("denominator {0} must be greater than zero")]
    NonPositiveDenominator(f64),
    #[error("confidence {0} is outside [0.9, 1)")]
    Confidence(f64),
    #[error("value {0} is not a finite number")]
    NotFinite(f64),
    #[error("needs at least {needed} values, got {got}")]
    TooFewValues { needed: usize, got: usize },
}

pub(crate) fn check_confidence(confidence: f64) -> Result<(), StatsError> {
    if (0.9..1.0).contains(&confidence) {
        Ok(())
    } else {
        Err(StatsError::Confidence(confidence))
    }
}

pub(crate) fn check_counts(x: f64, n: f64) -> Result<(), StatsError> {
    if !x.is_finite() {
        return Err(StatsError::NotFinite(x));
    }
    if !n.is_finite() {
        return Err(StatsError::NotFinite(n));
    }
    if x < 0.0 {
        return Err(StatsError::NegativeNumerator(x));
    }
    if n <= 0.0 {
        return Err(StatsError::NonPositiveDenominator(n));
    }
    Ok(())
}

#[cfg(test)]
mod reference_tests;

#[cfg(test)]
mod method_tests;
