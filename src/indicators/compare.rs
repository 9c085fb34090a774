//! What is derived from published values after disclosure control:
//! - benchmark comparisons (Fingertips rule: the benchmark inside the 95% interval is Similar),
//!   each area against its region and the total, each region against the total;
//! - the recent trend over the last five periods (chi-square for trend at 99.8%), from the
//!   published (rounded) counts.
//!
//! Suppressed values are never compared, and a suppressed point makes its trend incalculable.

use super::Level;
use crate::disclosure::{Annotations, Cell, DisclosedTable, PublishedRow};
use crate::pipeline::plan::Plan;
use crate::pipeline::spec::Method;
use crate::stats::trend::{recent_trend, Trend, TrendKind, TREND_POINTS};
use crate::stats::{compare_to_benchmark, Comparison};

pub fn attach(plan: &Plan, table: &mut DisclosedTable) {
    let periods = table.periods().to_vec();
    table.annotate(|table: &DisclosedTable, row: &PublishedRow| {
        let ind = &plan.indicators[row.indicator];
        let ci = row.value.value().and(row.ci95);
        let bench = |area: usize| {
            table
                .get((row.indicator, row.group, row.slice, area, row.period))
                .and_then(|b| b.value.value())
        };
        let area = &table.areas()[row.area];
        // A count is a size, not a level: a smaller area has fewer, so it is not compared.
        let counted = ind.method == Method::Count;
        let vs_total = match area.level {
            _ if counted => Comparison::NotCompared,
            Level::Total => Comparison::NotCompared,
            _ => compare_to_benchmark(ci, bench(0), ind.polarity),
        };
        let vs_region = match (area.level, area.region) {
            (Level::Area, Some(r)) if !counted => compare_to_benchmark(ci, bench(r), ind.polarity),
            _ => Comparison::NotCompared,
        };
        Annotations {
            vs_total,
            vs_region,
            trend: trend(plan, table, row, &periods),
            funnel: funnel(plan, table, row),
            at_threshold: match (ind.threshold, row.value) {
                (Some(t), Cell::Value(v)) => Some(v >= t),
                _ => None,
            },
        }
    });
}

/// Funnel-plot control limits at denominator `n` around `average` (both on the indicator's
/// scale): proportions from the normal approximation, rates from exact Poisson limits. None
/// for methods without a funnel plot.
pub fn funnel_limits(
    method: Method,
    multiplier: f64,
    average: f64,
    n: f64,
    confidence: f64,
) -> Option<(f64, f64)> {
    use crate::stats::funnel::{proportion_limits, rate_limits};
    let per_unit = average / multiplier;
    let l = match method {
        Method::Proportion => proportion_limits(per_unit, n, confidence).ok()?,
        Method::Rate => rate_limits(per_unit, n, confidence).ok()?,
        Method::Median | Method::Representation | Method::Count => return None,
    };
    Some((l.0 * multiplier, l.1 * multiplier))
}

/// Where an area's value falls against the funnel limits around the total's value at its
/// denominator (95% and 99.8%); None for other rows, suppressed values and methods without
/// a funnel.
fn funnel(
    plan: &Plan,
    table: &DisclosedTable,
    row: &PublishedRow,
) -> Option<crate::stats::funnel::Significance> {
    if table.areas()[row.area].level != Level::Area {
        return None;
    }
    let ind = &plan.indicators[row.indicator];
    let (v, n) = (row.value.value()?, row.denominator.value()?);
    let average = table
        .get((row.indicator, row.group, row.slice, 0, row.period))?
        .value
        .value()?;
    let at = |c| funnel_limits(ind.method, ind.multiplier, average, n, c);
    Some(crate::stats::funnel::significance(v, at(0.95)?, at(0.998)?))
}

/// The trend over the five periods ending with this row's, from published counts.
fn trend(plan: &Plan, table: &DisclosedTable, row: &PublishedRow, periods: &[i32]) -> Trend {
    let Some(end) = periods.iter().position(|&p| p == row.period) else {
        return Trend::CannotBeCalculated;
    };
    if end + 1 < TREND_POINTS {
        return Trend::CannotBeCalculated;
    }
    let mut points = Vec::with_capacity(TREND_POINTS);
    for &p in &periods[end + 1 - TREND_POINTS..=end] {
        let Some(r) = table.get((row.indicator, row.group, row.slice, row.area, p)) else {
            return Trend::CannotBeCalculated;
        };
        match (r.count, r.denominator, r.value) {
            (Cell::Value(x), Cell::Value(n), Cell::Value(_)) => points.push((x, n)),
            _ => return Trend::CannotBeCalculated,
        }
    }
    let ind = &plan.indicators[row.indicator];
    let kind = match ind.method {
        Method::Proportion => TrendKind::Proportion,
        Method::Rate => TrendKind::Rate,
        // A median's trend needs its values; a representation index moves with the population
        // share as well as the count.
        // A count has no denominator to test a trend in proportion to.
        Method::Median | Method::Representation | Method::Count => {
            return Trend::CannotBeCalculated
        }
    };
    recent_trend(&points, kind, ind.polarity)
}
