//! What is derived from published values after disclosure control:
//! - benchmark comparisons (Fingertips rule: the benchmark inside the 95% interval is Similar),
//!   each area against its region and the total, each region against the total;
//! - the recent trend over the last five periods (chi-square for trend at 99.8%), from the
//!   published (rounded) counts.
//!
//! Suppressed values are never compared, and a suppressed point makes its trend incalculable.

use super::{period, Level};
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
            context: break_note(plan, table, row),
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

/// Where an area's value falls in the funnel plot around the total's value (95% and 99.8%):
/// proportions against the limits at its denominator, rates by the area's own exact or Byar
/// interval against the average (the PHEindicatormethods rule, so a zero is never Low where a
/// zero is likely by chance). None for other rows, suppressed values and methods without a
/// funnel.
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
    if ind.method == Method::Rate {
        // PHEindicatormethods' rule for rates: the area's own count interval against the average.
        let x = row.count.value()?;
        return crate::stats::funnel::rate_significance(x, n, average / ind.multiplier).ok();
    }
    let at = |c| funnel_limits(ind.method, ind.multiplier, average, n, c);
    Some(crate::stats::funnel::significance(v, at(0.95)?, at(0.998)?))
}

/// What a row's note says of a series break: at the first period of a new series, or in a
/// rolling window that spans one. Empty when there is none.
fn break_note(plan: &Plan, table: &DisclosedTable, row: &PublishedRow) -> String {
    let (breaks, notes) = (
        table.breaks(row.indicator),
        table.period_notes(row.indicator),
    );
    if breaks.is_empty() && notes.is_empty() {
        return String::new();
    }
    let ind = &plan.indicators[row.indicator];
    let window = period::window(plan.period, row.period, ind.rolling.unwrap_or(1).max(1));
    let mut said = Vec::new();
    for (p, reason) in breaks {
        if *p == row.period && window.len() == 1 {
            said.push(format!(
                "Series break: {reason}. Figures before {} are not comparable with this one",
                period::label(plan.period, *p)
            ));
        } else if window.first().is_some_and(|f| f < p) && *p <= row.period {
            said.push(format!(
                "This window spans a series break at {}: {reason}",
                period::label(plan.period, *p)
            ));
        }
    }
    for (p, note) in notes {
        if window.contains(p) {
            said.push(format!(
                "Note on {}: {note}",
                period::label(plan.period, *p)
            ));
        }
    }
    said.join("; ")
}

/// The trend over the five periods ending with this row's, from published counts. A window that
/// spans a series break has no trend.
fn trend(plan: &Plan, table: &DisclosedTable, row: &PublishedRow, periods: &[i32]) -> Trend {
    let Some(end) = periods.iter().position(|&p| p == row.period) else {
        return Trend::CannotBeCalculated;
    };
    if end + 1 < TREND_POINTS {
        return Trend::CannotBeCalculated;
    }
    let start = periods[end + 1 - TREND_POINTS];
    if table
        .breaks(row.indicator)
        .iter()
        .any(|(p, _)| start < *p && *p <= row.period)
    {
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
