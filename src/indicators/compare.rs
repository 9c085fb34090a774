//! Benchmark comparisons on published values: each area against its region and the total,
//! each region against the total (Fingertips rule: the benchmark inside the 95% interval is
//! Similar). Suppressed values are never compared.

use super::Level;
use crate::disclosure::{DisclosedTable, PublishedRow};
use crate::pipeline::plan::Plan;
use crate::stats::{compare_to_benchmark, Comparison};

pub fn attach(plan: &Plan, table: &mut DisclosedTable) {
    table.set_comparisons(|table: &DisclosedTable, row: &PublishedRow| {
        let polarity = plan.indicators[row.indicator].polarity;
        let ci = row.value.value().and(row.ci95);
        let bench = |area: usize| {
            table
                .get((row.indicator, row.group, area, row.period))
                .and_then(|b| b.value.value())
        };
        let area = &table.areas()[row.area];
        let vs_total = match area.level {
            Level::Total => Comparison::NotCompared,
            _ => compare_to_benchmark(ci, bench(0), polarity),
        };
        let vs_region = match (area.level, area.region) {
            (Level::Area, Some(r)) => compare_to_benchmark(ci, bench(r), polarity),
            _ => Comparison::NotCompared,
        };
        (vs_total, vs_region)
    });
}
