//! Benchmark comparison by the Fingertips rule: is the benchmark inside the area's interval?

use serde::{Deserialize, Serialize};

/// How an indicator's direction is read, in Fingertips' terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Polarity {
    /// Higher values are better (RAG, high is good): Better / Similar / Worse.
    HighIsGood,
    /// Lower values are better (RAG, low is good): Better / Similar / Worse.
    LowIsGood,
    /// No judgement of good or bad (Fingertips "BOB"): Higher / Similar / Lower.
    Neither,
    /// Not compared at all.
    None,
}

/// The outcome of comparing an area's value with a benchmark.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Comparison {
    /// Better at 99.8% (two-level comparison only).
    Best,
    Better,
    Similar,
    Worse,
    /// Worse at 99.8% (two-level comparison only).
    Worst,
    Higher,
    Lower,
    NotCompared,
}

impl Comparison {
    /// The label Fingertips prints.
    pub fn label(self) -> &'static str {
        match self {
            Comparison::Best => "Best",
            Comparison::Better => "Better",
            Comparison::Similar => "Similar",
            Comparison::Worse => "Worse",
            Comparison::Worst => "Worst",
            Comparison::Higher => "Higher",
            Comparison::Lower => "Lower",
            Comparison::NotCompared => "Not compared",
        }
    }

    /// The Fingertips colour for the label.
    pub fn colour(self) -> &'static str {
        match self {
            Comparison::Best => "#3C8A2E",
            Comparison::Better => "#92D050",
            Comparison::Similar => "#FFC000",
            Comparison::Worse => "#C00000",
            Comparison::Worst => "#7A0000",
            Comparison::Higher => "#C2CCFF",
            Comparison::Lower => "#5555E6",
            Comparison::NotCompared => "#C9C9C9",
        }
    }
}

/// Compares a benchmark value with an area's interval `(lower, upper)`.
///
/// Missing limits or benchmark give `NotCompared`; the benchmark inside the interval (limits
/// included) gives `Similar`; otherwise the polarity decides the label.
pub fn compare_to_benchmark(
    interval: Option<(f64, f64)>,
    benchmark: Option<f64>,
    polarity: Polarity,
) -> Comparison {
    let (Some((lower, upper)), Some(bench)) = (interval, benchmark) else {
        return Comparison::NotCompared;
    };
    if polarity == Polarity::None || !(lower.is_finite() && upper.is_finite() && bench.is_finite())
    {
        return Comparison::NotCompared;
    }
    let higher = if lower > bench {
        true
    } else if upper < bench {
        false
    } else {
        return Comparison::Similar;
    };
    match (polarity, higher) {
        (Polarity::HighIsGood, true) | (Polarity::LowIsGood, false) => Comparison::Better,
        (Polarity::HighIsGood, false) | (Polarity::LowIsGood, true) => Comparison::Worse,
        (_, true) => Comparison::Higher,
        (_, false) => Comparison::Lower,
    }
}

/// Two-level comparison: outside the 99.8% interval gives Best/Worst (Higher/Lower without a
/// direction), outside only the 95% interval Better/Worse, inside the 95% interval Similar.
pub fn compare_two_level(
    ci95: Option<(f64, f64)>,
    ci998: Option<(f64, f64)>,
    benchmark: Option<f64>,
    polarity: Polarity,
) -> Comparison {
    let first = compare_to_benchmark(ci95, benchmark, polarity);
    if matches!(first, Comparison::Similar | Comparison::NotCompared) {
        return first;
    }
    match (first, compare_to_benchmark(ci998, benchmark, polarity)) {
        (Comparison::Better, Comparison::Better) => Comparison::Best,
        (Comparison::Worse, Comparison::Worse) => Comparison::Worst,
        (label, _) => label,
    }
}
