//! Equality gaps: each population group against each reference group, for every proportion
//! and every rate of records, each area and period, from published (rounded) counts only. A
//! proportions' difference uses Newcombe's hybrid Wilson interval, a rates' difference the
//! normal interval; ratios use log-scale intervals. A gap whose group or
//! reference figure is suppressed is itself suppressed.

use crate::disclosure::{Cell, DisclosedTable, PublishedRow};
use crate::pipeline::plan::Plan;
use crate::pipeline::spec::Method;
use crate::stats::{
    compare_two_level, proportion_difference, proportion_ratio, rate_difference, rate_ratio,
    Comparison, Estimate, Polarity, StatsError,
};

/// A value with its 95% and 99.8% intervals.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Measure {
    pub value: f64,
    pub ci95: (f64, f64),
    pub ci998: (f64, f64),
}

#[derive(Debug, Clone)]
pub struct Gap {
    pub indicator: usize,
    pub group: usize,
    pub reference: usize,
    pub area: usize,
    pub period: i32,
    pub group_value: Cell,
    pub reference_value: Cell,
    /// Difference (group − reference) on the indicator's scale, with 95% and 99.8% intervals.
    pub difference: Option<Measure>,
    /// Ratio (group ÷ reference), with 95% and 99.8% intervals; none when a count is 0.
    pub ratio: Option<Measure>,
    pub significance: &'static str,
    pub compared: Comparison,
    pub note: String,
}

fn counts(r: &PublishedRow) -> Option<(f64, f64)> {
    match (r.count, r.denominator, r.value) {
        (Cell::Value(x), Cell::Value(n), Cell::Value(_)) if n > 0.0 => Some((x, n)),
        _ => None,
    }
}

/// Where zero falls against the difference's intervals.
fn significance(d95: (f64, f64), d998: (f64, f64)) -> &'static str {
    if d998.0 > 0.0 {
        "Higher (99.8%)"
    } else if d95.0 > 0.0 {
        "Higher (95%)"
    } else if d998.1 < 0.0 {
        "Lower (99.8%)"
    } else if d95.1 < 0.0 {
        "Lower (95%)"
    } else {
        "Not significant"
    }
}

/// Every gap of every proportion indicator.
pub fn compute(plan: &Plan, table: &DisclosedTable) -> Vec<Gap> {
    let mut gaps = Vec::new();
    for row in table.rows() {
        let ind = &plan.indicators[row.indicator];
        // Gaps are between whole groups; breakdown rows are compared with the total only.
        let (Some(g), None) = (row.group, row.slice) else {
            continue;
        };
        let compared = match ind.method {
            Method::Proportion => true,
            Method::Rate => ind.from_records(plan),
            Method::Median | Method::Representation | Method::Count => false,
        };
        if !compared || plan.groups[g].reference {
            continue;
        }
        for &r in ind.groups.iter().filter(|&&r| plan.groups[r].reference) {
            let Some(reference) = table.get((row.indicator, Some(r), None, row.area, row.period))
            else {
                continue;
            };
            let mut found = gap(
                ind.method,
                ind.multiplier,
                ind.polarity,
                row,
                reference,
                g,
                r,
            );
            found.note = format!(
                "Computed from counts rounded to the nearest {}; {}",
                plan.disclosure.rounding, found.note
            );
            gaps.push(found);
        }
    }
    gaps
}

fn gap(
    method: Method,
    m: f64,
    polarity: Polarity,
    row: &PublishedRow,
    reference: &PublishedRow,
    g: usize,
    r: usize,
) -> Gap {
    let mut out = Gap {
        indicator: row.indicator,
        group: g,
        reference: r,
        area: row.area,
        period: row.period,
        group_value: row.value,
        reference_value: reference.value,
        difference: None,
        ratio: None,
        significance: "",
        compared: Comparison::NotCompared,
        note: String::new(),
    };
    let (Some((x1, n1)), Some((x2, n2))) = (counts(row), counts(reference)) else {
        let suppressed = [row.value, reference.value].contains(&Cell::Suppressed);
        out.note = if suppressed {
            "[c] a figure it depends on is suppressed"
        } else {
            "[x] a figure it depends on is not available"
        }
        .into();
        return out;
    };
    type Measured = Result<Estimate, StatsError>;
    let diff = |c| -> Option<Estimate> {
        let d: Measured = match method {
            Method::Rate => rate_difference(x1, n1, x2, n2, c, m),
            _ => proportion_difference(x1, n1, x2, n2, c, m),
        };
        d.ok()
    };
    if let (Some(a), Some(b)) = (diff(0.95), diff(0.998)) {
        out.difference = Some(Measure {
            value: a.value,
            ci95: (a.lower, a.upper),
            ci998: (b.lower, b.upper),
        });
        out.significance = significance((a.lower, a.upper), (b.lower, b.upper));
        out.compared = compare_two_level(
            Some((a.lower, a.upper)),
            Some((b.lower, b.upper)),
            Some(0.0),
            polarity,
        );
    }
    let ratio = |c| match method {
        Method::Rate => rate_ratio(x1, n1, x2, n2, c).ok().flatten(),
        _ => proportion_ratio(x1, n1, x2, n2, c).ok().flatten(),
    };
    if let (Some(a), Some(b)) = (ratio(0.95), ratio(0.998)) {
        out.ratio = Some(Measure {
            value: a.value,
            ci95: (a.lower, a.upper),
            ci998: (b.lower, b.upper),
        });
    }
    out.note = "the groups may overlap".into();
    out
}
