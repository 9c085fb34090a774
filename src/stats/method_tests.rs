//! Hand-checked values for methods the shared reference file does not cover, and properties
//! every interval must have.

use super::*;
use proptest::prelude::*;

fn near(a: f64, b: f64, tol: f64) {
    assert!((a - b).abs() <= tol, "{a} vs {b}");
}

#[test]
fn newcombe_difference_matches_the_published_example() {
    // Newcombe (1998), Statistics in Medicine 17:873, method 10: 56/70 − 48/80.
    let d = proportion_difference(56.0, 70.0, 48.0, 80.0, 0.95, 1.0).unwrap();
    near(d.value, 0.2, 1e-12);
    near(d.lower, 0.0524, 5e-5);
    near(d.upper, 0.3339, 5e-5);
}

#[test]
fn rate_and_proportion_ratios_use_log_scale_intervals() {
    let r = rate_ratio(20.0, 1000.0, 10.0, 1000.0, 0.95)
        .unwrap()
        .unwrap();
    let half = z_two_sided(0.95) * (0.15f64).sqrt();
    near(r.value, 2.0, 1e-12);
    near(r.lower, 2.0 * (-half).exp(), 1e-12);
    near(r.upper, 2.0 * half.exp(), 1e-12);
    assert!(rate_ratio(0.0, 1000.0, 10.0, 1000.0, 0.95)
        .unwrap()
        .is_none());
    let p = proportion_ratio(30.0, 100.0, 20.0, 100.0, 0.95)
        .unwrap()
        .unwrap();
    let se = (1.0 / 30.0 - 1.0 / 100.0 + 1.0 / 20.0 - 1.0 / 100.0f64).sqrt();
    near(p.lower, 1.5 * (-z_two_sided(0.95) * se).exp(), 1e-12);
}

#[test]
fn median_interval_uses_binomial_order_statistics() {
    let values: Vec<f64> = (1..=20).map(f64::from).collect();
    let m = median(&values, 0.95).unwrap();
    // n = 20: P(X ≤ 5) = 0.0207 ≤ 0.025 < P(X ≤ 6) = 0.0577, so x(6) and x(15).
    assert_eq!((m.value, m.interval), (10.5, Some((6.0, 15.0))));
    let two = median(&[3.0, 1.0], 0.95).unwrap();
    assert_eq!(
        (two.value, two.interval),
        (2.0, None),
        "two values cannot give a 95% interval"
    );
    let odd = median(&[5.0, 1.0, 9.0, 3.0, 7.0, 2.0, 8.0, 4.0, 6.0], 0.95).unwrap();
    assert_eq!(odd.value, 5.0);
}

#[test]
fn median_interval_ranks_match_a_scan_of_every_rank() {
    use statrs::distribution::{Binomial, DiscreteCDF};
    for confidence in [0.95, 0.998] {
        for n in 1..=400usize {
            let b = Binomial::new(0.5, n as u64).unwrap();
            let k = (0..n / 2)
                .find(|&k| b.cdf(k as u64) > (1.0 - confidence) / 2.0)
                .unwrap_or(n / 2);
            let values: Vec<f64> = (1..=n).map(|v| v as f64).collect();
            let m = median(&values, confidence).unwrap();
            let expected = (k > 0).then(|| (k as f64, (n - k + 1) as f64));
            assert_eq!(m.interval, expected, "n = {n}, {confidence}");
        }
    }
}

#[test]
fn trend_test_matches_a_hand_calculation() {
    // x = 10..50 of 100 each: p = 0.3, numerator 100, spread 1000, chi² = 100² / (0.21 × 1000).
    let points: Vec<(f64, f64)> = [10.0, 20.0, 30.0, 40.0, 50.0]
        .iter()
        .map(|&x| (x, 100.0))
        .collect();
    let (chi, dir) = trend::trend_statistic(&points, trend::TrendKind::Proportion).unwrap();
    near(chi, 10000.0 / 210.0, 1e-9);
    assert_eq!(dir, 1.0);
    assert_eq!(
        trend::recent_trend(&points, trend::TrendKind::Proportion, Polarity::HighIsGood).label(),
        "Increasing and getting better"
    );
    assert_eq!(
        trend::recent_trend(&points, trend::TrendKind::Proportion, Polarity::LowIsGood).label(),
        "Increasing and getting worse"
    );
    assert_eq!(
        trend::recent_trend(
            &points[..4],
            trend::TrendKind::Proportion,
            Polarity::HighIsGood
        )
        .label(),
        "Cannot be calculated"
    );
    let flat: Vec<(f64, f64)> = [30.0, 31.0, 29.0, 30.0, 31.0]
        .iter()
        .map(|&x| (x, 100.0))
        .collect();
    assert_eq!(
        trend::recent_trend(&flat, trend::TrendKind::Rate, Polarity::None).label(),
        "No significant change"
    );
}

#[test]
fn mean_and_median_reject_unusable_input() {
    assert!(matches!(
        mean(&[1.0], 0.95),
        Err(StatsError::TooFewValues { .. })
    ));
    assert!(matches!(
        median(&[], 0.95),
        Err(StatsError::TooFewValues { .. })
    ));
    assert!(matches!(
        mean(&[1.0, f64::NAN], 0.95),
        Err(StatsError::NotFinite(_))
    ));
}

proptest! {
    #[test]
    fn proportion_and_rate_intervals_hold_their_value_and_nest(x in 0u32..5000, extra in 0u32..100_000) {
        let (x, n) = (x as f64, (x + extra).max(1) as f64);
        for f in [wilson, rate] {
            let a = f(x, n, 0.95, 100.0).unwrap();
            let b = f(x, n, 0.998, 100.0).unwrap();
            prop_assert!(a.lower <= a.value + 1e-9 && a.value <= a.upper + 1e-9);
            prop_assert!(b.lower <= a.lower + 1e-9 && a.upper <= b.upper + 1e-9);
            prop_assert!(a.lower >= 0.0);
        }
    }

    #[test]
    fn ratio_and_difference_intervals_hold_their_value(x1 in 1u32..2000, n1 in 2000u32..5000, x2 in 1u32..2000, n2 in 2000u32..5000) {
        let (x1, n1, x2, n2) = (x1 as f64, n1 as f64, x2 as f64, n2 as f64);
        let r = proportion_ratio(x1, n1, x2, n2, 0.95).unwrap().unwrap();
        prop_assert!(r.lower <= r.value && r.value <= r.upper);
        let d = proportion_difference(x1, n1, x2, n2, 0.95, 1.0).unwrap();
        let d998 = proportion_difference(x1, n1, x2, n2, 0.998, 1.0).unwrap();
        prop_assert!(d.lower <= d.value && d.value <= d.upper);
        prop_assert!(d998.lower <= d.lower + 1e-12 && d.upper <= d998.upper + 1e-12);
    }
}

/// PHEindicatormethods' funnel rule for rates: the area's own interval against the average. For
/// a zero the upper limit is −ln(α/2) events (the chi-square with 2 degrees of freedom halved):
/// 3.689 at 95%, 6.908 at 99.8%, so a zero is Low only when more events than that are expected.
#[test]
fn a_rate_of_zero_is_low_only_where_a_zero_is_unlikely() {
    use super::funnel::{rate_significance, Significance::*};
    let n = 10_000.0;
    let at = |expected: f64| rate_significance(0.0, n, expected / n).unwrap();
    assert_eq!(at(0.5), NotSignificant);
    assert_eq!(at(3.6), NotSignificant);
    assert_eq!(at(3.7), Low025);
    assert_eq!(at(6.9), Low025);
    assert_eq!(at(6.95), Low001);
    // 151 observed against 106.44 expected is High (0.001) in the reference file's ratio rows;
    // the rate rule is the same test with expected = average × n.
    assert_eq!(
        rate_significance(151.0, n, 106.4429719 / n).unwrap(),
        High001
    );
    assert_eq!(
        rate_significance(8.0, n, 6.239860227 / n).unwrap(),
        NotSignificant
    );
    assert_eq!(rate_significance(30.0, n, 45.0 / n).unwrap(), Low025);
    assert!(rate_significance(1.0, 0.0, 0.1).is_err());
}
