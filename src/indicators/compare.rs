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
        let vs_total = match area.level {
            Level::Total => Comparison::NotCompared,
            _ => compare_to_benchmark(ci, bench(0), ind.polarity),
        };
        let vs_region = match (area.level, area.region) {
            (Level::Area, Some(r)) => compare_to_benchmark(ci, bench(r), ind.polarity),
            _ => Comparison::NotCompared,
        };
        Annotations {
            vs_total,
            vs_region,
            trend: trend(plan, table, row, &periods),
        }
    });
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
        Method::Median => return Trend::CannotBeCalculated,
    };
    recent_trend(&points, kind, ind.polarity)
}
