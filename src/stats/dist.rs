//! Quantile functions, delegated to statrs (accurate to well beyond 1e-10 in the range we use).

use statrs::distribution::{ChiSquared, ContinuousCDF, Normal};

/// The two-sided standard normal critical value for `confidence` (1.959964 at 95%).
pub fn z_two_sided(confidence: f64) -> f64 {
    let normal = Normal::new(0.0, 1.0).expect("standard normal is valid");
    normal.inverse_cdf(confidence + (1.0 - confidence) / 2.0)
}

/// The `p` quantile of the chi-square distribution with `df` degrees of freedom (`df` > 0).
pub fn chi_square_quantile(p: f64, df: f64) -> f64 {
    let chi = ChiSquared::new(df).expect("degrees of freedom are positive");
    chi.inverse_cdf(p)
}
