//! Quantiles of areas (PHEindicatormethods `calculate_quantiles`): min-rank ties, optional
//! inversion so that the highest value is in quantile 1.

/// Assigns each value a quantile 1..=`n_quantiles`; missing values get `None`, and so does every
/// value when fewer values than quantiles are present.
pub fn quantiles(values: &[Option<f64>], n_quantiles: u32, invert: bool) -> Vec<Option<u32>> {
    let present: Vec<f64> = values
        .iter()
        .flatten()
        .copied()
        .filter(|v| v.is_finite())
        .collect();
    let num = present.len() as f64;
    if n_quantiles == 0 || present.len() < n_quantiles as usize {
        return vec![None; values.len()];
    }
    let max = present.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let adjust = |v: f64| if invert { max - v } else { v };
    let adjusted: Vec<f64> = present.iter().map(|&v| adjust(v)).collect();
    let nq = n_quantiles as f64;
    values
        .iter()
        .map(|v| {
            let v = (*v).filter(|x| x.is_finite())?;
            let a = adjust(v);
            let rank = 1.0 + adjusted.iter().filter(|&&o| o < a).count() as f64;
            let q = (nq + 1.0 - ((num + 1.0 - rank) / (num / nq)).ceil()).floor();
            Some(q.max(1.0) as u32)
        })
        .collect()
}
