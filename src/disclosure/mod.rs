//! Disclosure control: the only way to a [`DisclosedTable`], the only type the renderers accept.
//!
//! In: unsuppressed [`Counts`]. Out: published cells under the rule (default NHS England
//! sub-national: 0 stays 0, 1–7 suppressed as `[c]`, the rest rounded to the nearest 5). Values
//! and intervals are computed from the rounded counts; a value whose count or denominator is
//! suppressed is suppressed too, and so is anything derived from it (comparisons, charts, text).

pub mod quality;
pub mod secondary;

pub use crate::indicators::RowKey;
use crate::indicators::{CountRow, Counts, OutArea};
use crate::pipeline::plan::{DisclosureRule, Plan};
use crate::pipeline::spec::Method;
use crate::stats::trend::Trend;
use crate::stats::{self, Comparison, Estimate};
use rustc_hash::FxHashMap as HashMap;

/// A published count: a number, or a shorthand marker with no number behind it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Cell {
    Value(f64),
    /// `[c]`: suppressed to protect confidentiality.
    Suppressed,
    /// `[x]`: not available.
    NotAvailable,
    /// `[z]`: not applicable (e.g. the denominator of a median).
    NotApplicable,
}

impl Cell {
    pub fn value(self) -> Option<f64> {
        match self {
            Cell::Value(v) => Some(v),
            _ => None,
        }
    }
    pub fn marker(self) -> &'static str {
        match self {
            Cell::Value(_) => "",
            Cell::Suppressed => "[c]",
            Cell::NotAvailable => "[x]",
            Cell::NotApplicable => "[z]",
        }
    }
}

/// One published indicator row. Fields are readable by everyone; only this module builds one.
#[derive(Debug, Clone)]
pub struct PublishedRow {
    pub indicator: usize,
    pub group: Option<usize>,
    /// The breakdown category, or `None` for the whole group.
    pub slice: crate::indicators::Slice,
    pub area: usize,
    pub period: i32,
    pub count: Cell,
    pub denominator: Cell,
    /// The value (`Cell::Value`) or why there is none.
    pub value: Cell,
    pub ci95: Option<(f64, f64)>,
    pub ci998: Option<(f64, f64)>,
    pub note: String,
    pub vs_total: Comparison,
    pub vs_region: Comparison,
    pub trend: Trend,
    /// Area rows of proportions and rates: where the value falls in the funnel plot of every
    /// area around the total's value.
    pub funnel: Option<stats::funnel::Significance>,
    /// Indicators with a threshold: whether the value is at or above it.
    pub at_threshold: Option<bool>,
}

impl PublishedRow {
    pub fn key(&self) -> RowKey {
        (
            self.indicator,
            self.group,
            self.slice,
            self.area,
            self.period,
        )
    }

    /// A row with its count and denominator and nothing derived yet.
    fn empty(r: &CountRow, count: Cell, denominator: Cell) -> PublishedRow {
        PublishedRow {
            indicator: r.indicator,
            group: r.group,
            slice: r.slice,
            area: r.area,
            period: r.period,
            count,
            denominator,
            value: Cell::NotAvailable,
            ci95: None,
            ci998: None,
            note: String::new(),
            vs_total: Comparison::NotCompared,
            vs_region: Comparison::NotCompared,
            trend: Trend::CannotBeCalculated,
            funnel: None,
            at_threshold: None,
        }
    }
}

/// What is derived from published values after disclosure: comparisons and the recent trend.
#[derive(Debug, Clone)]
pub struct Annotations {
    pub vs_total: Comparison,
    pub vs_region: Comparison,
    pub trend: Trend,
    pub funnel: Option<stats::funnel::Significance>,
    pub at_threshold: Option<bool>,
    /// Added to the row's note (series breaks); empty for none.
    pub context: String,
}

/// How many cells each rule suppressed in one table (never the values).
#[derive(Debug, Clone, Default, serde::Serialize)]
pub struct Audit {
    pub table: String,
    pub cells: u64,
    pub suppressed_primary: u64,
    pub suppressed_secondary: u64,
    pub rounded: u64,
}

/// Indicator rows that have been through disclosure control.
#[derive(Debug, Clone)]
pub struct DisclosedTable {
    rows: Vec<PublishedRow>,
    index: HashMap<RowKey, usize>,
    areas: Vec<OutArea>,
    periods: Vec<i32>,
    rule: DisclosureRule,
    audit: Vec<Audit>,
    /// Suppressed counts the secondary rule could not protect further (expected empty).
    unprotected: usize,
    /// Why protection cannot be guaranteed (cells it could not protect, a search that ran out
    /// of steps); the run fails when there are any.
    failures: Vec<String>,
    /// Built by [`restricted`]: unsuppressed, for a restricted folder only. Every published
    /// writer refuses such a table.
    restricted: bool,
    /// Series breaks by indicator: the first period of each new series, with the reason.
    breaks: std::collections::BTreeMap<usize, Vec<(i32, String)>>,
    /// Caveats on single periods by indicator (a coverage gap).
    period_notes: std::collections::BTreeMap<usize, Vec<(i32, String)>>,
    /// Total rows holding figures with no local authority: (those figures, the areas' sum).
    /// Exact: shown only where the indicator is exempt ([`exempt`]).
    coverage: std::collections::BTreeMap<RowKey, (f64, f64)>,
}

impl DisclosedTable {
    pub fn rows(&self) -> &[PublishedRow] {
        &self.rows
    }
    /// The row for one indicator, group, area and period.
    pub fn get(&self, key: RowKey) -> Option<&PublishedRow> {
        self.index.get(&key).map(|&i| &self.rows[i])
    }
    pub fn areas(&self) -> &[OutArea] {
        &self.areas
    }
    pub fn periods(&self) -> &[i32] {
        &self.periods
    }
    /// For a total row of a published area table: the figures the source gives no local
    /// authority and the sum of the local authorities, when there are any such figures.
    /// Unprotected: for exempt indicators, or for statistics shown as a verdict only.
    pub fn coverage(&self, key: RowKey) -> Option<(f64, f64)> {
        self.coverage.get(&key).copied()
    }
    /// The caveats of one indicator on single periods (a coverage gap), by period.
    pub fn period_notes(&self, indicator: usize) -> &[(i32, String)] {
        self.period_notes.get(&indicator).map_or(&[], Vec::as_slice)
    }
    /// The series breaks of one indicator: the first period of each new series and why.
    pub fn breaks(&self, indicator: usize) -> &[(i32, String)] {
        self.breaks.get(&indicator).map_or(&[], Vec::as_slice)
    }
    pub fn rule(&self) -> DisclosureRule {
        self.rule
    }
    pub fn audit(&self) -> &[Audit] {
        &self.audit
    }
    /// Cells suppressed by either rule, across every table.
    pub fn suppressed(&self) -> u64 {
        self.audit
            .iter()
            .map(|a| a.suppressed_primary + a.suppressed_secondary)
            .sum()
    }
    pub fn unprotected(&self) -> usize {
        self.unprotected
    }
    /// Whether this table is the unsuppressed one for a restricted folder.
    pub fn is_restricted(&self) -> bool {
        self.restricted
    }
    /// Why protection cannot be guaranteed, if it cannot: the run must not publish then.
    pub fn failures(&self) -> &[String] {
        &self.failures
    }
    /// Attaches comparisons and trends, which are computed from published values only.
    pub fn annotate(&mut self, f: impl Fn(&DisclosedTable, &PublishedRow) -> Annotations) {
        let labels: Vec<_> = self.rows.iter().map(|r| f(self, r)).collect();
        for (row, a) in self.rows.iter_mut().zip(labels) {
            row.vs_total = a.vs_total;
            row.vs_region = a.vs_region;
            row.trend = a.trend;
            row.funnel = a.funnel;
            row.at_threshold = a.at_threshold;
            if !a.context.is_empty() {
                row.note = if row.note.is_empty() {
                    a.context
                } else {
                    format!("{}; {}", row.note, a.context)
                };
            }
        }
    }
}

/// Applies the primary rule to one count.
pub fn protect(count: f64, rule: DisclosureRule) -> Cell {
    if count == 0.0 && rule.suppress_zeros {
        Cell::Suppressed
    } else if count == 0.0 {
        Cell::Value(0.0)
    } else if count <= rule.threshold as f64 {
        Cell::Suppressed
    } else {
        let base = rule.rounding as f64;
        Cell::Value((count / base).round() * base)
    }
}

/// Unsuppressed indicator rows, for a restricted folder only. Nothing that publishes accepts
/// this type; the restricted writer marks every row it writes.
#[derive(Debug, Clone)]
pub struct RestrictedTable(DisclosedTable);

impl RestrictedTable {
    /// The unprotected rows, in the same shape as published ones. There is no way from here to
    /// a [`DisclosedTable`], so no published writer can be handed these rows.
    pub fn rows(&self) -> &[PublishedRow] {
        self.0.rows()
    }
    pub fn areas(&self) -> &[OutArea] {
        self.0.areas()
    }
    /// Attaches comparisons and trends, as for the published table.
    pub fn compare(&mut self, plan: &Plan) {
        crate::indicators::compare::attach(plan, &mut self.0);
    }
}

/// Computes every indicator row without disclosure control, for a restricted output.
pub fn restricted(plan: &Plan, counts: &Counts) -> RestrictedTable {
    let mut table = build(plan, counts.clone(), DisclosureRule::NONE);
    table.restricted = true;
    for row in &mut table.rows {
        if row.note.starts_with("Computed from counts rounded") {
            row.note = "RESTRICTED: unsuppressed and unrounded".into();
        }
    }
    RestrictedTable(table)
}

/// Runs disclosure control over every indicator row.
pub fn disclose(plan: &Plan, counts: Counts) -> DisclosedTable {
    build(plan, counts, plan.disclosure)
}

fn build(plan: &Plan, counts: Counts, rule: DisclosureRule) -> DisclosedTable {
    let mut audit: Vec<Audit> = plan
        .indicators
        .iter()
        .map(|i| Audit {
            table: format!("indicators:{}", i.id),
            ..Default::default()
        })
        .collect();
    let mut rows = counts
        .rows
        .iter()
        .map(|r| {
            let ind = &plan.indicators[r.indicator];
            let a = &mut audit[r.indicator];
            let exempt = exempt(plan, rule, r.indicator);
            let row_rule = if exempt { DisclosureRule::NONE } else { rule };
            let mut row = publish_row(r, ind.method, ind.multiplier, row_rule);
            if exempt
                && (row.note.starts_with("Computed from counts rounded")
                    || row.note.starts_with("Count with"))
            {
                row.note =
                    "A published figure, shown as published (exempt from disclosure control)"
                        .into();
            }
            if let Some(said) = counts.notes.get(&r.key()) {
                if said.starts_with("[x]") && exempt {
                    row.note = said.clone();
                } else if said.starts_with("[x]") {
                    row.note = "[x] not in the source: its figure is in the row for a former county that it shares with another authority".into();
                } else if exempt {
                    row.note = format!("{}; {said}", row.note);
                } else {
                    row.note = format!("{}; Includes figures in the source's rows for former counties, whose successors are shown as [x]", row.note);
                }
            }
            if let Some(&(none, areas)) = counts.coverage.get(&r.key()) {
                let said = coverage_note(plan, r.indicator, none, areas, exempt);
                row.note = if row.note.is_empty() {
                    said
                } else {
                    format!("{}; {said}", row.note)
                };
            }
            a.cells += 1;
            for c in [
                row.count,
                if matches!(ind.method, Method::Proportion | Method::Representation) {
                    row.denominator
                } else {
                    Cell::NotAvailable
                },
            ] {
                match c {
                    Cell::Suppressed => a.suppressed_primary += 1,
                    Cell::Value(v) if v > 0.0 => a.rounded += 1,
                    _ => {}
                }
            }
            row
        })
        .collect::<Vec<PublishedRow>>();
    let mut unprotected = 0;
    let mut failures = Vec::new();
    if rule.threshold > 0 {
        let (mut system, vars) = secondary::link(plan, &counts, &rows, rule);
        let outcome = system.protect();
        unprotected = outcome.unprotected.len();
        if system.search_exhausted() {
            failures.push("the search for counts that add up to other published counts ran out of steps, so some of the relations an attacker could use may not have been checked. Publish fewer groups, breakdowns or indicators from the same counts".to_string());
        }
        if !outcome.unprotected.is_empty() {
            let bad: std::collections::HashSet<usize> =
                outcome.unprotected.iter().copied().collect();
            let cells: Vec<String> = rows
                .iter()
                .zip(&vars)
                .filter(|(_, v)| {
                    v.is_some_and(|v| {
                        bad.contains(&v.count) || v.denominator.is_some_and(|d| bad.contains(&d))
                    })
                })
                .map(|(r, _)| describe(plan, &counts, r))
                .collect();
            let shown = cells
                .iter()
                .take(20)
                .cloned()
                .collect::<Vec<_>>()
                .join("; ");
            let more = cells.len().saturating_sub(20);
            failures.push(format!(
                "{} suppressed count(s) could not be protected by further suppression (every related cell is already suppressed or zero), so they could be worked out from published figures: {shown}{}. Set [disclosure] breakdown_level = \"total\", or drop the breakdown or group that makes them",
                outcome.unprotected.len(),
                if more > 0 { format!(" and {more} more rows") } else { String::new() }
            ));
        }
        for ((row, v), r) in rows.iter_mut().zip(&vars).zip(&counts.rows) {
            let Some(v) = v else { continue };
            let count = system.suppressed[v.count] && row.count != Cell::Suppressed;
            let den = v.denominator.is_some_and(|d| system.suppressed[d])
                && row.denominator != Cell::Suppressed;
            if count || den {
                audit[r.indicator].suppressed_secondary += count as u64 + den as u64;
                hide_secondary(row, den);
            }
        }
    }
    let index = rows.iter().enumerate().map(|(i, r)| (r.key(), i)).collect();
    DisclosedTable {
        rows,
        index,
        areas: counts.areas,
        periods: counts.periods,
        rule,
        audit,
        unprotected,
        failures,
        restricted: false,
        breaks: counts.breaks,
        period_notes: counts.period_notes,
        coverage: counts.coverage,
    }
}

/// The note of a total row that holds figures the source gives no local authority: how many,
/// and what the areas sum to. Exact when published tables are shown as published; otherwise
/// only that there are some, since the figures would undo the rounding of the areas.
fn coverage_note(plan: &Plan, indicator: usize, none: f64, areas: f64, exact: bool) -> String {
    let what =
        crate::ingest::published::counts_of(plan.source_of(&plan.indicators[indicator]).kind);
    if !none.is_finite() {
        return "Includes figures the source gives no local authority".into();
    }
    if exact {
        let g = crate::ingest::published::grouped;
        format!(
            "Includes {} {what} that the source gives no local authority ('Unknown', 'N/A' or a national placeholder row; some may be outside {}); the local authorities sum to {} of the {}",
            g(none),
            plan.total_name,
            g(areas),
            g(none + areas)
        )
    } else {
        format!(
            "Includes {what} that the source gives no local authority ('Unknown', 'N/A' or a national placeholder row), so it is more than the sum of the local authorities"
        )
    }
}

/// One row in words, for an error: indicator, group, category, area and period.
fn describe(plan: &Plan, counts: &Counts, r: &PublishedRow) -> String {
    let group = r
        .group
        .and_then(|g| plan.groups.get(g))
        .map_or("all", |g| g.id.as_str());
    format!(
        "{} / {} / {} / {}",
        plan.indicators[r.indicator].id,
        group,
        counts.areas[r.area].code,
        crate::indicators::period::label(plan.period, r.period)
    )
}

/// Whether an indicator's counts are exempt: they come from a published national table and the
/// pipeline says such tables are exempt.
pub fn exempt(plan: &Plan, rule: DisclosureRule, indicator: usize) -> bool {
    rule.exempt_published
        && plan
            .source_of(&plan.indicators[indicator])
            .kind
            .is_published()
}

/// The one note of every suppressed row, whichever rule hid it: a note that named the rule would
/// tell a reader that a primary cell is from 1 to the threshold and a secondary one possibly more.
pub const SUPPRESSED_NOTE: &str = "[c] suppressed to protect confidentiality (disclosure control)";

/// Suppresses a row whose count (or denominator) is a complementary cell.
fn hide_secondary(row: &mut PublishedRow, denominator: bool) {
    if row.count != Cell::Value(0.0) {
        row.count = Cell::Suppressed;
    }
    if denominator {
        row.denominator = Cell::Suppressed;
    }
    row.value = Cell::Suppressed;
    row.ci95 = None;
    row.ci998 = None;
    row.note = SUPPRESSED_NOTE.into();
}

fn publish_row(
    r: &CountRow,
    method: Method,
    multiplier: f64,
    rule: DisclosureRule,
) -> PublishedRow {
    if method == Method::Median {
        return publish_median(r, rule);
    }
    if !r.numerator.is_finite() {
        // A published table left out a figure this sum needs (a shorthand marker).
        let mut row = PublishedRow::empty(r, Cell::NotAvailable, Cell::NotAvailable);
        row.note = "[x] not available: the source table has a shorthand marker ([c], [x], …) in place of a figure this total needs".into();
        return row;
    }
    let count = protect(r.numerator, rule);
    if method == Method::Count {
        return publish_count(r, count, rule);
    }
    // A proportion's denominator counts people, so it is protected too; a population is not.
    let denominator = match (method, r.denominator) {
        (_, None) => Cell::NotAvailable,
        (Method::Proportion | Method::Representation, Some(d)) => protect(d, rule),
        (_, Some(d)) => Cell::Value(d),
    };
    let mut row = PublishedRow::empty(r, count, denominator);
    match (count, denominator) {
        (Cell::Suppressed, _) | (_, Cell::Suppressed) => {
            // A zero count stays zero (it says nothing of its denominator); any other count
            // over a suppressed denominator is suppressed with it.
            if count != Cell::Value(0.0) {
                row.count = Cell::Suppressed;
            }
            row.value = Cell::Suppressed;
            row.note = SUPPRESSED_NOTE.into();
        }
        (_, Cell::NotAvailable) => row.note = "[x] no denominator for this area and period".into(),
        (Cell::Value(_), Cell::Value(d)) if d <= 0.0 => {
            row.note = "[x] no records in the denominator".into()
        }
        (Cell::Value(_), Cell::Value(_))
            if method == Method::Representation && r.scale.is_none() =>
        {
            row.note = "[x] no residents in the group's population for this area and period".into()
        }
        (Cell::Value(x), Cell::Value(n)) => {
            let estimate = |conf| match method {
                Method::Rate => stats::rate(x, n, conf, multiplier),
                // The group's share of the records over its (known) share of the residents.
                Method::Representation => stats::wilson(x, n, conf, 1.0).map(|e| {
                    let k = r.scale.unwrap_or(f64::NAN) * multiplier;
                    Estimate {
                        value: e.value * k,
                        lower: e.lower * k,
                        upper: e.upper * k,
                    }
                }),
                _ => stats::wilson(x, n, conf, multiplier),
            };
            match (estimate(0.95), estimate(0.998)) {
                (Ok(a), Ok(b)) => {
                    row.value = Cell::Value(a.value);
                    row.ci95 = Some(limits(a));
                    row.ci998 = Some(limits(b));
                    row.note = format!(
                        "Computed from counts rounded to the nearest {}",
                        rule.rounding
                    );
                }
                (Err(e), _) | (_, Err(e)) => row.note = format!("[x] {e}"),
            }
        }
        (Cell::NotAvailable | Cell::NotApplicable, _) | (_, Cell::NotApplicable) => {
            row.note = "[x] not available".into()
        }
    }
    row
}

/// A count: the value is the (rounded) count, with a Poisson interval around it.
fn publish_count(r: &CountRow, count: Cell, rule: DisclosureRule) -> PublishedRow {
    let mut row = PublishedRow::empty(r, count, Cell::NotApplicable);
    match count {
        Cell::Suppressed => {
            row.value = Cell::Suppressed;
            row.note = SUPPRESSED_NOTE.into();
        }
        Cell::Value(x) => match (
            stats::rate(x, 1.0, 0.95, 1.0),
            stats::rate(x, 1.0, 0.998, 1.0),
        ) {
            (Ok(a), Ok(b)) => {
                row.value = Cell::Value(a.value);
                row.ci95 = Some(limits(a));
                row.ci998 = Some(limits(b));
                row.note = match rule.rounding {
                    0 | 1 => "Count with a Poisson interval".into(),
                    n => format!("Count rounded to the nearest {n}, with a Poisson interval"),
                };
            }
            (Err(e), _) | (_, Err(e)) => row.note = format!("[x] {e}"),
        },
        _ => row.note = "[x] not available".into(),
    }
    row
}

/// A median: the number of values is protected like a count, and a suppressed count suppresses
/// the median and its intervals. The median itself is not rounded.
/// A median: published only where the published (rounded) count of values reaches
/// `median_min`, so that whether it is shown says nothing the count does not; rounded to a whole
/// number, so that a half does not tell an even count; and with intervals that then always exist
/// and are never the smallest and largest values. Under the minimum it is `[c]` with the one
/// suppression note.
fn publish_median(r: &CountRow, rule: DisclosureRule) -> PublishedRow {
    let count = protect(r.numerator, rule);
    let mut row = PublishedRow::empty(r, count, Cell::NotApplicable);
    let protected = rule.threshold > 0;
    match (count, r.median) {
        (Cell::Suppressed, _) => {
            row.value = Cell::Suppressed;
            row.note = SUPPRESSED_NOTE.into();
        }
        (Cell::Value(c), Some(_)) if protected && c < rule.median_min as f64 => {
            row.value = Cell::Suppressed;
            row.note = SUPPRESSED_NOTE.into();
        }
        (Cell::Value(_), Some(m)) => {
            let round = |v: f64| if protected { v.round() } else { v };
            row.value = Cell::Value(round(m.value));
            row.ci95 = m.ci95.map(|(a, b)| (round(a), round(b)));
            row.ci998 = m.ci998.map(|(a, b)| (round(a), round(b)));
            row.note = if protected {
                format!("Median with a distribution-free interval, rounded to a whole number; the count of values is rounded to the nearest {}", rule.rounding)
            } else {
                "Median with a distribution-free interval".into()
            };
        }
        _ => row.note = "[x] no values".into(),
    }
    row
}

fn limits(e: Estimate) -> (f64, f64) {
    (e.lower, e.upper)
}

#[cfg(test)]
mod tests {
    use super::*;

    const RULE: DisclosureRule = DisclosureRule {
        threshold: 7,
        rounding: 5,
        suppress_zeros: false,
        exempt_published: false,
        breakdown_level: crate::pipeline::spec::BreakdownLevel::Area,
        median_min: 20,
    };

    #[test]
    fn primary_rule_keeps_zero_suppresses_small_and_rounds_the_rest() {
        assert_eq!(protect(0.0, RULE), Cell::Value(0.0));
        for x in 1..=7 {
            assert_eq!(protect(x as f64, RULE), Cell::Suppressed, "count {x}");
        }
        assert_eq!(protect(8.0, RULE), Cell::Value(10.0));
        assert_eq!(protect(12.0, RULE), Cell::Value(10.0));
        assert_eq!(protect(13.0, RULE), Cell::Value(15.0));
        assert_eq!(protect(1045.0, RULE), Cell::Value(1045.0));
    }

    #[test]
    fn no_published_count_is_in_the_suppression_range_and_protection_is_idempotent() {
        for x in 0..2000u64 {
            let once = protect(x as f64, RULE);
            if let Cell::Value(v) = once {
                assert!(
                    v == 0.0 || v > RULE.threshold as f64,
                    "{x} published as {v}"
                );
                assert_eq!(protect(v, RULE), once, "protecting {v} again changed it");
            }
        }
    }

    #[test]
    fn a_small_denominator_suppresses_the_value() {
        let r = CountRow {
            indicator: 0,
            group: None,
            slice: None,
            area: 0,
            period: 2023,
            numerator: 0.0,
            denominator: Some(3.0),
            median: None,
            scale: None,
        };
        let row = publish_row(&r, Method::Proportion, 100.0, RULE);
        assert_eq!(row.value, Cell::Suppressed);
        assert_eq!(row.denominator, Cell::Suppressed);
        assert_eq!(row.count, Cell::Value(0.0), "zero stays zero");
        let one = CountRow {
            numerator: 1.0,
            ..r.clone()
        };
        let row = publish_row(&one, Method::Proportion, 100.0, RULE);
        assert_eq!(row.count, Cell::Suppressed);
        assert!(row.ci95.is_none() && row.ci998.is_none());
    }

    #[test]
    fn values_come_from_rounded_counts() {
        let r = CountRow {
            indicator: 0,
            group: None,
            slice: None,
            area: 0,
            period: 2023,
            numerator: 12.0,
            denominator: Some(48.0),
            median: None,
            scale: None,
        };
        let row = publish_row(&r, Method::Proportion, 100.0, RULE);
        assert_eq!(row.count, Cell::Value(10.0));
        assert_eq!(row.denominator, Cell::Value(50.0));
        assert_eq!(row.value, Cell::Value(20.0));
    }
}
