//! Directly standardised rates (Dobson's method), with the European Standard Population 2013.

use super::{byar_limits, check_confidence, Estimate, StatsError};

/// The European Standard Population 2013: 19 five-year bands, `0-4` to `90+`, summing to 100,000.
pub const ESP2013: [(&str, f64); 19] = [
    ("0-4", 5000.0),
    ("5-9", 5500.0),
    ("10-14", 5500.0),
    ("15-19", 5500.0),
    ("20-24", 6000.0),
    ("25-29", 6000.0),
    ("30-34", 6500.0),
    ("35-39", 7000.0),
    ("40-44", 7000.0),
    ("45-49", 7000.0),
    ("50-54", 7000.0),
    ("55-59", 6500.0),
    ("60-64", 6000.0),
    ("65-69", 5500.0),
    ("70-74", 5000.0),
    ("75-79", 4000.0),
    ("80-84", 2500.0),
    ("85-89", 1500.0),
    ("90+", 1000.0),
];

/// The standard weight of an ESP2013 band label, if it is one.
pub fn esp2013_weight(band: &str) -> Option<f64> {
    ESP2013
        .iter()
        .find(|(b, _)| *b == band.trim())
        .map(|(_, w)| *w)
}

/// DSR needs at least this many events; below it value and interval are not published.
pub const DSR_MIN_COUNT: f64 = 10.0;

/// One age band of a DSR.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DsrBand {
    /// Events in the band (a missing count is 0).
    pub count: f64,
    pub population: f64,
    /// The standard population weight of the band.
    pub standard: f64,
    /// Σ f² over people in the band, where f is each person's number of events. Equal to `count`
    /// when events are independent (each person has one); larger when people have several.
    pub count_squared: f64,
}

impl DsrBand {
    /// A band of independent events.
    pub fn independent(count: f64, population: f64, standard: f64) -> DsrBand {
        DsrBand {
            count,
            population,
            standard,
            count_squared: count,
        }
    }
}

/// Dobson's DSR. `Ok(None)` when the total count is under 10 (value and interval not published).
pub fn dsr(
    bands: &[DsrBand],
    confidence: f64,
    multiplier: f64,
) -> Result<Option<Estimate>, StatsError> {
    check_confidence(confidence)?;
    let mut total = 0.0;
    let mut weights = 0.0;
    let mut rate = 0.0;
    let mut variance = 0.0;
    for b in bands {
        for v in [b.count, b.population, b.standard, b.count_squared] {
            if !v.is_finite() {
                return Err(StatsError::NotFinite(v));
            }
        }
        if b.count < 0.0 {
            return Err(StatsError::NegativeNumerator(b.count));
        }
        if b.population <= 0.0 {
            return Err(StatsError::NonPositiveDenominator(b.population));
        }
        total += b.count;
        weights += b.standard;
        rate += b.standard * b.count / b.population;
        variance += b.standard * b.standard * b.count_squared / (b.population * b.population);
    }
    dsr_from_sums(
        DsrSums {
            total,
            weights,
            weighted_rate: rate,
            weighted_variance: variance,
        },
        confidence,
        multiplier,
    )
}

/// The sums a DSR needs, so that a dataframe engine can aggregate them band by band.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct DsrSums {
    /// Σ events.
    pub total: f64,
    /// Σ w (standard weights).
    pub weights: f64,
    /// Σ w · count / population.
    pub weighted_rate: f64,
    /// Σ w² · count_squared / population².
    pub weighted_variance: f64,
}

/// Dobson's DSR from pre-aggregated sums. `Ok(None)` when the total count is under 10.
pub fn dsr_from_sums(
    s: DsrSums,
    confidence: f64,
    multiplier: f64,
) -> Result<Option<Estimate>, StatsError> {
    check_confidence(confidence)?;
    if s.weights <= 0.0 {
        return Err(StatsError::NonPositiveDenominator(s.weights));
    }
    if s.total < DSR_MIN_COUNT {
        return Ok(None);
    }
    let value = s.weighted_rate / s.weights;
    let variance = s.weighted_variance / (s.weights * s.weights);
    let (lo, hi) = byar_limits(s.total, confidence);
    let scale = (variance / s.total).sqrt();
    Ok(Some(Estimate {
        value: value * multiplier,
        lower: (value + scale * (lo - s.total)) * multiplier,
        upper: (value + scale * (hi - s.total)) * multiplier,
    }))
}
