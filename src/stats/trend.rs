//! Fingertips recent trend: chi-square test for linear trend over the last five points, at 99.8%.

use super::{chi_square_quantile, Polarity};
use serde::Serialize;

/// How many of the most recent points the test uses.
pub const TREND_POINTS: usize = 5;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TrendKind {
    /// Counts out of denominators (binomial variance).
    Proportion,
    /// Counts over populations (Poisson variance).
    Rate,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Trend {
    CannotBeCalculated,
    NoSignificantChange,
    Increasing,
    Decreasing,
    IncreasingGettingBetter,
    IncreasingGettingWorse,
    DecreasingGettingBetter,
    DecreasingGettingWorse,
}

impl Trend {
    pub fn label(self) -> &'static str {
        match self {
            Trend::CannotBeCalculated => "Cannot be calculated",
            Trend::NoSignificantChange => "No significant change",
            Trend::Increasing => "Increasing",
            Trend::Decreasing => "Decreasing",
            Trend::IncreasingGettingBetter => "Increasing and getting better",
            Trend::IncreasingGettingWorse => "Increasing and getting worse",
            Trend::DecreasingGettingBetter => "Decreasing and getting better",
            Trend::DecreasingGettingWorse => "Decreasing and getting worse",
        }
    }
}

/// The chi-square statistic for linear trend over `(count, denominator)` points in time order,
/// with scores 1, 2, …; and the sign of the slope. `None` when it cannot be computed.
pub fn trend_statistic(points: &[(f64, f64)], kind: TrendKind) -> Option<(f64, f64)> {
    if points
        .iter()
        .any(|&(x, n)| !(x.is_finite() && n.is_finite()) || x < 0.0 || n <= 0.0)
    {
        return None;
    }
    let total_x: f64 = points.iter().map(|p| p.0).sum();
    let total_n: f64 = points.iter().map(|p| p.1).sum();
    let p = total_x / total_n;
    let t = |i: usize| (i + 1) as f64;
    let numerator: f64 = points
        .iter()
        .enumerate()
        .map(|(i, &(x, n))| t(i) * (x - n * p))
        .sum();
    let (st, st2): (f64, f64) = points
        .iter()
        .enumerate()
        .fold((0.0, 0.0), |(a, b), (i, &(_, n))| {
            (a + n * t(i), b + n * t(i) * t(i))
        });
    let spread = st2 - st * st / total_n;
    let variance = match kind {
        TrendKind::Proportion => p * (1.0 - p) * spread,
        TrendKind::Rate => p * spread,
    };
    if variance <= 0.0 {
        return None;
    }
    Some((numerator * numerator / variance, numerator.signum()))
}

/// The Fingertips trend label for the last five points.
pub fn recent_trend(points: &[(f64, f64)], kind: TrendKind, polarity: Polarity) -> Trend {
    if points.len() < TREND_POINTS {
        return Trend::CannotBeCalculated;
    }
    let last = &points[points.len() - TREND_POINTS..];
    let Some((chi, direction)) = trend_statistic(last, kind) else {
        return Trend::CannotBeCalculated;
    };
    if chi < chi_square_quantile(0.998, 1.0) || direction == 0.0 {
        return Trend::NoSignificantChange;
    }
    let up = direction > 0.0;
    match (polarity, up) {
        (Polarity::HighIsGood, true) => Trend::IncreasingGettingBetter,
        (Polarity::HighIsGood, false) => Trend::DecreasingGettingWorse,
        (Polarity::LowIsGood, true) => Trend::IncreasingGettingWorse,
        (Polarity::LowIsGood, false) => Trend::DecreasingGettingBetter,
        (_, true) => Trend::Increasing,
        (_, false) => Trend::Decreasing,
    }
}
