//! Means (Student's t interval) and medians (distribution-free interval from order statistics).

use super::{check_confidence, Estimate, StatsError};
use statrs::distribution::{Binomial, ContinuousCDF, DiscreteCDF, StudentsT};

fn finite(values: &[f64]) -> Result<(), StatsError> {
    match values.iter().find(|v| !v.is_finite()) {
        Some(v) => Err(StatsError::NotFinite(*v)),
        None => Ok(()),
    }
}

/// Mean with a Student's t interval; needs at least two values.
pub fn mean(values: &[f64], confidence: f64) -> Result<Estimate, StatsError> {
    check_confidence(confidence)?;
    finite(values)?;
    let n = values.len() as f64;
    if values.len() < 2 {
        return Err(StatsError::TooFewValues {
            needed: 2,
            got: values.len(),
        });
    }
    let m = values.iter().sum::<f64>() / n;
    let sd = (values.iter().map(|v| (v - m).powi(2)).sum::<f64>() / (n - 1.0)).sqrt();
    let t = StudentsT::new(0.0, 1.0, n - 1.0).expect("positive degrees of freedom");
    let half = t.inverse_cdf(1.0 - (1.0 - confidence) / 2.0) * sd / n.sqrt();
    Ok(Estimate {
        value: m,
        lower: m - half,
        upper: m + half,
    })
}

/// A median and, when the sample is large enough, its interval.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Median {
    pub value: f64,
    /// `None` when n is too small for any order statistic to reach the confidence level.
    pub interval: Option<(f64, f64)>,
}

/// Median with the distribution-free interval: the order statistics `x(k)` and `x(n−k+1)` for the
/// largest `k` with P(Binomial(n, ½) ≤ k−1) ≤ α/2.
pub fn median(values: &[f64], confidence: f64) -> Result<Median, StatsError> {
    check_confidence(confidence)?;
    finite(values)?;
    if values.is_empty() {
        return Err(StatsError::TooFewValues { needed: 1, got: 0 });
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let n = v.len();
    let value = if n % 2 == 1 {
        v[n / 2]
    } else {
        (v[n / 2 - 1] + v[n / 2]) / 2.0
    };
    let binomial = Binomial::new(0.5, n as u64).expect("valid binomial");
    let alpha = 1.0 - confidence;
    // The first k below n/2 with P(X ≤ k) > α/2, or n/2 if there is none. The CDF rises with
    // k, so a binary search finds it in log n evaluations instead of n/2.
    let (mut lo, mut hi) = (0usize, n / 2);
    while lo < hi {
        let mid = lo + (hi - lo) / 2;
        if binomial.cdf(mid as u64) <= alpha / 2.0 {
            lo = mid + 1;
        } else {
            hi = mid;
        }
    }
    let k = lo;
    // k is now the largest rank with P(X ≤ k−1) ≤ α/2.
    let interval = (k > 0).then(|| (v[k - 1], v[n - k]));
    Ok(Median { value, interval })
}
