//! Findings: the statements a page opens with, ranked by strength.
//!
//! This is the compare stage's last step: it reads only the disclosed table and the gaps
//! computed from it, so every statement is made from published values and none can narrow a
//! suppressed figure. It decides what each page says (rank, ratio, significance, threshold,
//! trend); render only lays the statements out, and `findings.csv` publishes every one.

use crate::disclosure::{DisclosedTable, PublishedRow};
use crate::indicators::gaps::Gap;
use crate::indicators::{period, Level};
use crate::pipeline::plan::Plan;
use crate::pipeline::spec::Method;
use crate::stats::{compare_to_benchmark, Comparison};

/// The equality gaps by (indicator, group, reference, area, period), built once per run: a page
/// looks up a few dozen of them, and a national run has hundreds of thousands.
pub struct GapIndex<'a> {
    gaps: &'a [Gap],
    index: rustc_hash::FxHashMap<(usize, usize, usize, usize, i32), usize>,
}

impl<'a> GapIndex<'a> {
    pub fn new(gaps: &'a [Gap]) -> GapIndex<'a> {
        let mut index =
            rustc_hash::FxHashMap::with_capacity_and_hasher(gaps.len(), Default::default());
        for (i, x) in gaps.iter().enumerate() {
            // The first gap with a key wins, as a search in order would find.
            index
                .entry((x.indicator, x.group, x.reference, x.area, x.period))
                .or_insert(i);
        }
        GapIndex { gaps, index }
    }

    pub fn get(&self, key: (usize, usize, usize, usize, i32)) -> Option<&'a Gap> {
        self.index.get(&key).map(|&i| &self.gaps[i])
    }
}

/// How sure a finding is: the first sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Strength {
    /// Significant at 99.8% confidence.
    At998,
    /// Significant at 95% confidence.
    At95,
    /// A rank, threshold or trend with no significant difference from the benchmark.
    Notable,
    /// Compared, and no significant difference.
    NotSignificant,
}

impl Strength {
    pub fn label(self) -> &'static str {
        match self {
            Strength::At998 => "Significant at 99.8%",
            Strength::At95 => "Significant at 95%",
            Strength::Notable => "Not a significant difference; rank or threshold",
            Strength::NotSignificant => "Not a significant difference",
        }
    }
}

/// Which way a finding points, where the indicator has a polarity: worse sorts first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Direction {
    Worse,
    Neither,
    Better,
}

impl Direction {
    fn of(c: Comparison) -> Direction {
        match c {
            Comparison::Worse | Comparison::Worst => Direction::Worse,
            Comparison::Better | Comparison::Best => Direction::Better,
            _ => Direction::Neither,
        }
    }

    pub fn label(self) -> &'static str {
        match self {
            Direction::Worse => "Worse",
            Direction::Neither => "",
            Direction::Better => "Better",
        }
    }
}

/// One statement about one indicator in one area.
#[derive(Debug, Clone)]
pub struct Finding {
    pub indicator: usize,
    /// The population group it is about; `None` for the whole population (a published table).
    pub group: Option<usize>,
    /// The reference group it compares with, if it compares groups.
    pub reference: Option<usize>,
    pub period: i32,
    pub strength: Strength,
    pub direction: Direction,
    /// The size of the difference: |ln(value ÷ benchmark)|, larger first.
    pub effect: f64,
    pub text: String,
}

impl Finding {
    /// Whether it belongs in a list of findings rather than of comparisons with no difference.
    pub fn notable(&self) -> bool {
        self.strength < Strength::NotSignificant
    }
}

/// Every finding for `area` (0 is the total: the overview), strongest first: 99.8% before 95%,
/// worse before better, larger effect first; ties in the order of the pipeline file.
pub fn for_area(plan: &Plan, table: &DisclosedTable, gaps: &GapIndex, area: usize) -> Vec<Finding> {
    let mut out = Vec::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        let national = plan.source_of(ind).kind.is_national();
        if national {
            continue;
        }
        let u = unit(plan, ii);
        let found = if area == 0 {
            extremes(plan, table, ii, &u)
        } else {
            standing(plan, table, ii, area, &u)
        };
        out.extend(found);
        let Some(p) = latest_of(plan, table, ii, area) else {
            continue;
        };
        for &g in &ind.groups {
            if plan.groups[g].reference {
                continue;
            }
            for &r in ind.groups.iter().filter(|&&r| plan.groups[r].reference) {
                let f = if ind.method == Method::Median {
                    median_finding(plan, table, ii, g, r, area, p, &u)
                } else {
                    gaps.get((ii, g, r, area, p))
                        .and_then(|gap| gap_finding(plan, gap, &u))
                };
                out.extend(f);
            }
        }
    }
    out.sort_by(|a, b| {
        (a.strength, a.direction)
            .cmp(&(b.strength, b.direction))
            .then(b.effect.total_cmp(&a.effect))
            .then((a.indicator, a.group, a.reference).cmp(&(b.indicator, b.group, b.reference)))
    });
    out
}

/// The comparison a page shows for group `g` of indicator `ii` against reference `r`: the
/// gap's (the interval of the difference), or for a median the Fingertips rule (the reference's
/// median against the group's 95% interval).
pub fn verdict(
    plan: &Plan,
    table: &DisclosedTable,
    gaps: &GapIndex,
    key: (usize, usize, usize, usize, i32),
) -> Comparison {
    let (ii, g, r, _, _) = key;
    if g == r {
        return Comparison::NotCompared;
    }
    if plan.indicators[ii].method == Method::Median {
        return median_compared(plan, table, key).0;
    }
    gaps.get(key)
        .map_or(Comparison::NotCompared, |x| x.compared)
}

fn median_compared(
    plan: &Plan,
    table: &DisclosedTable,
    (ii, g, r, area, p): (usize, usize, usize, usize, i32),
) -> (Comparison, Option<(f64, f64)>) {
    let (Some(row), Some(rf)) = (
        table.get((ii, Some(g), None, area, p)),
        table.get((ii, Some(r), None, area, p)),
    ) else {
        return (Comparison::NotCompared, None);
    };
    let (v, rv) = (row.value.value(), rf.value.value());
    let c = compare_to_benchmark(v.and(row.ci95), rv, plan.indicators[ii].polarity);
    (c, v.zip(rv))
}

#[allow(clippy::too_many_arguments)]
fn median_finding(
    plan: &Plan,
    table: &DisclosedTable,
    ii: usize,
    g: usize,
    r: usize,
    area: usize,
    p: i32,
    u: &str,
) -> Option<Finding> {
    let (compared, values) = median_compared(plan, table, (ii, g, r, area, p));
    let (v, rv) = values?;
    let (strength, verdict) = match compared {
        Comparison::Worse | Comparison::Better | Comparison::Higher | Comparison::Lower => (
            Strength::At95,
            format!(
                "{}: the reference median is outside the group's 95% interval",
                compared.label().to_lowercase()
            ),
        ),
        Comparison::Similar => (
            Strength::NotSignificant,
            "not a significant difference".into(),
        ),
        _ => return None,
    };
    let ind = &plan.indicators[ii];
    Some(Finding {
        indicator: ii,
        group: Some(g),
        reference: Some(r),
        period: p,
        strength,
        direction: Direction::of(compared),
        effect: log_ratio(v, rv),
        text: format!(
            "{}, {}: {} {} against {} for {}: {verdict}.",
            plan.groups[g].label,
            period::label(plan.period, p),
            ind.name.to_lowercase(),
            with_unit(v, u),
            with_unit(rv, u),
            plan.groups[r].label.to_lowercase(),
        ),
    })
}

/// A plain-language sentence about one equality gap, or none when it cannot be published.
fn gap_finding(plan: &Plan, gap: &Gap, unit: &str) -> Option<Finding> {
    let ind = &plan.indicators[gap.indicator];
    let (value, ref_value, diff) = (
        gap.group_value.value()?,
        gap.reference_value.value()?,
        gap.difference?,
    );
    let size = match unit {
        "%" => format!("{} percentage points", fmt1(diff.value.abs())),
        u => format!("{} {u}", fmt1(diff.value.abs())),
    };
    let direction = if diff.value < 0.0 { "lower" } else { "higher" };
    let (strength, verdict) = match gap.compared {
        Comparison::Worst => (
            Strength::At998,
            "worse, significant at 99.8% confidence".to_string(),
        ),
        Comparison::Best => (
            Strength::At998,
            "better, significant at 99.8% confidence".to_string(),
        ),
        Comparison::Worse => (
            Strength::At95,
            "worse, significant at 95% confidence".to_string(),
        ),
        Comparison::Better => (
            Strength::At95,
            "better, significant at 95% confidence".to_string(),
        ),
        Comparison::Higher | Comparison::Lower => (
            if gap.significance.contains("99.8") {
                Strength::At998
            } else {
                Strength::At95
            },
            format!(
                "{}, significant at {} confidence",
                gap.compared.label().to_lowercase(),
                if gap.significance.contains("99.8") {
                    "99.8%"
                } else {
                    "95%"
                }
            ),
        ),
        Comparison::Similar => (
            Strength::NotSignificant,
            "not a significant difference".to_string(),
        ),
        Comparison::NotCompared => return None,
    };
    Some(Finding {
        indicator: gap.indicator,
        group: Some(gap.group),
        reference: Some(gap.reference),
        period: gap.period,
        strength,
        direction: Direction::of(gap.compared),
        effect: gap
            .ratio
            .map_or_else(|| log_ratio(value, ref_value), |r| r.value.ln().abs()),
        text: format!(
            "{}, {}: {} {} against {} for {} ({size} {direction}): {verdict}.",
            plan.groups[gap.group].label,
            period::label(plan.period, gap.period),
            ind.name.to_lowercase(),
            with_unit(value, unit),
            with_unit(ref_value, unit),
            plan.groups[gap.reference].label.to_lowercase(),
        ),
    })
}

/// |ln(a ÷ b)|, or 0 where either is not positive.
fn log_ratio(a: f64, b: f64) -> f64 {
    if a > 0.0 && b > 0.0 {
        (a / b).ln().abs()
    } else {
        0.0
    }
}

/// The latest period in which any group (or the indicator's only series) of indicator `ii` has
/// a published value in `area`: each indicator at its own latest period.
pub fn latest_of(plan: &Plan, table: &DisclosedTable, ii: usize, area: usize) -> Option<i32> {
    let groups = &plan.indicators[ii].groups;
    let shown = |g: Option<usize>, p: i32| {
        table
            .get((ii, g, None, area, p))
            .is_some_and(|r| r.value.value().is_some())
    };
    table.periods().iter().rev().copied().find(|&p| {
        if groups.is_empty() {
            shown(None, p)
        } else {
            groups.iter().any(|&g| shown(Some(g), p))
        }
    })
}

/// Every value in words with one decimal place, or two significant figures under 1 (`0.018`),
/// so that a small rate never reads `0.0`.
pub fn fmt1(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 && v.is_finite() {
        let decimals = (1 - v.abs().log10().floor() as i32).clamp(1, 6) as usize;
        format!("{v:.decimals$}")
    } else {
        format!("{v:.1}")
    }
}

/// A value with its unit: `70.7%`, or `12.3 per 10,000 residents`.
pub fn with_unit(v: f64, unit: &str) -> String {
    if unit == "%" {
        format!("{}%", fmt1(v))
    } else if unit.is_empty() {
        fmt1(v)
    } else {
        format!("{} {unit}", fmt1(v))
    }
}

/// The unit an indicator's values are in, for labels and sentences.
pub fn unit(plan: &Plan, ind: usize) -> String {
    let i = &plan.indicators[ind];
    if let Some(u) = &i.unit {
        return u.clone();
    }
    let number = crate::render::tables::number;
    match (i.method, i.multiplier) {
        (Method::Proportion, 100.0) => "%".into(),
        (Method::Proportion, m) => format!("per {}", number(m)),
        (Method::Rate, m) => format!("per {} residents", crate::ingest::published::grouped(m)),
        (Method::Median, _) => String::new(),
        (Method::Representation, 1.0) => "(1 = in proportion)".into(),
        (Method::Representation, m) => format!("({} = in proportion)", number(m)),
        // What the table counts, e.g. "referrals in the period".
        (Method::Count, _) => crate::ingest::published::layout(plan.source_of(i).kind)
            .map(|l| l.counts.to_string())
            .unwrap_or_default(),
    }
}

/// "the highest", "the 2nd highest", …, "the lowest" of `m`.
pub fn rank_phrase(rank: usize, m: usize) -> String {
    let ordinal = |n: usize| {
        let suffix = match (n % 10, n % 100) {
            (_, 11..=13) => "th",
            (1, _) => "st",
            (2, _) => "nd",
            (3, _) => "rd",
            _ => "th",
        };
        format!("{n}{suffix}")
    };
    match rank {
        1 => "the highest".into(),
        r if r == m => "the lowest".into(),
        r if r > m / 2 => format!("the {} lowest", ordinal(m + 1 - r)),
        r => format!("the {} highest", ordinal(r)),
    }
}

/// Whether areas are ranked on an indicator: a rate or proportion of the whole population (a
/// published table's), not of groups.
pub fn ranked(plan: &Plan, ii: usize) -> bool {
    let ind = &plan.indicators[ii];
    ind.groups.is_empty() && matches!(ind.method, Method::Rate | Method::Proportion)
}

/// Every area's published value at period `p`, with its name: highest first, ties by name.
fn area_values(table: &DisclosedTable, ii: usize, p: i32) -> Vec<(f64, &str)> {
    let mut shown: Vec<(f64, &str)> = table
        .areas()
        .iter()
        .enumerate()
        .filter(|(_, a)| a.level == Level::Area)
        .filter_map(|(a, info)| {
            Some((
                table.get((ii, None, None, a, p))?.value.value()?,
                info.name.as_str(),
            ))
        })
        .collect();
    shown.sort_by(|a, b| b.0.total_cmp(&a.0).then(a.1.cmp(b.1)));
    shown
}

/// A ratio to the benchmark in words: one decimal (`5.1`), whole from 10 up (`144`).
fn ratio_text(ratio: f64) -> String {
    if ratio >= 10.0 {
        format!("{ratio:.0}")
    } else {
        format!("{ratio:.1}")
    }
}

/// An indicator's own latest period with a published value for `area` (a table that ends
/// earlier, such as NTS, keeps its own).
pub fn own_latest(
    table: &DisclosedTable,
    ii: usize,
    group: Option<usize>,
    area: usize,
) -> Option<i32> {
    table.periods().iter().rev().copied().find(|&p| {
        table
            .get((ii, group, None, area, p))
            .is_some_and(|r| r.value.value().is_some())
    })
}

/// How strong a whole-population finding is: from the row's comparison with the benchmark, or
/// notable when it is a rank at either end or crosses a threshold.
fn standing_strength(row: &PublishedRow, at_end: bool) -> Strength {
    match row.vs_total {
        Comparison::Best | Comparison::Worst => Strength::At998,
        Comparison::Better | Comparison::Worse | Comparison::Higher | Comparison::Lower => {
            Strength::At95
        }
        _ if at_end || row.at_threshold == Some(true) => Strength::Notable,
        _ => Strength::NotSignificant,
    }
}

/// The overview's finding for a whole-population indicator: the highest and the lowest area at
/// the indicator's own latest period, with the ratio to the benchmark.
fn extremes(plan: &Plan, table: &DisclosedTable, ii: usize, unit: &str) -> Option<Finding> {
    let ind = &plan.indicators[ii];
    if !ranked(plan, ii) {
        return None;
    }
    let p = own_latest(table, ii, None, 0)?;
    let shown = area_values(table, ii, p);
    if shown.len() < 2 {
        return None;
    }
    let total = table
        .get((ii, None, None, 0, p))
        .and_then(|t| t.value.value());
    let total_name = &table.areas()[0].name;
    let times = |v: f64| match total.filter(|t| *t > 0.0) {
        Some(t) => format!(", {} times {total_name}", ratio_text(v / t)),
        None => String::new(),
    };
    let (hi, lo) = (shown[0], shown[shown.len() - 1]);
    let benchmark = total.map_or(String::new(), |t| {
        format!(" ({total_name}: {})", with_unit(t, unit))
    });
    let at_top: Vec<&str> = shown.iter().filter(|x| x.0 == hi.0).map(|x| x.1).collect();
    let at_bottom = shown.iter().filter(|x| x.0 == lo.0).count();
    let highest = if at_top.len() == 1 {
        format!(
            "highest {} ({}{})",
            hi.1,
            with_unit(hi.0, unit),
            times(hi.0)
        )
    } else {
        format!(
            "highest {} areas ({}{})",
            at_top.len(),
            with_unit(hi.0, unit),
            times(hi.0)
        )
    };
    let lowest = match (lo.0 == 0.0, at_bottom) {
        (true, n) if n > 1 => format!("{n} areas had none"),
        (true, _) => format!("lowest {}, which had none", lo.1),
        (false, 1) => format!("lowest {} ({})", lo.1, with_unit(lo.0, unit)),
        (false, n) => format!("lowest {n} areas ({})", with_unit(lo.0, unit)),
    };
    // As strong as the highest area's own comparison with the benchmark.
    let top_row = table
        .areas()
        .iter()
        .position(|a| a.level == Level::Area && a.name == hi.1)
        .and_then(|a| table.get((ii, None, None, a, p)));
    Some(Finding {
        indicator: ii,
        group: None,
        reference: None,
        period: p,
        strength: top_row.map_or(Strength::Notable, |r| standing_strength(r, true)),
        direction: top_row.map_or(Direction::Neither, |r| Direction::of(r.vs_total)),
        effect: total.map_or(0.0, |t| log_ratio(hi.0, t)),
        text: format!(
            "{}, {}{benchmark}, {} areas: {highest}; {lowest}.",
            ind.name,
            period::label(plan.period, p),
            shown.len()
        ),
    })
}

/// Where an area stands on an indicator of the whole population (a published table's rate), at
/// the indicator's own latest period: value, rank among the areas with a published value, ratio
/// to the benchmark, the comparison, a threshold crossed and a significant trend.
fn standing(
    plan: &Plan,
    table: &DisclosedTable,
    ii: usize,
    area: usize,
    unit: &str,
) -> Option<Finding> {
    let ind = &plan.indicators[ii];
    if !ranked(plan, ii) {
        return None;
    }
    let p = own_latest(table, ii, None, area)?;
    let row = table.get((ii, None, None, area, p))?;
    let v = row.value.value()?;
    let values: Vec<f64> = area_values(table, ii, p).into_iter().map(|x| x.0).collect();
    let m = values.len();
    let first = values.iter().position(|&x| x == v)? + 1;
    let tied = values.iter().filter(|&&x| x == v).count();
    let last = first + tied - 1;
    let (what, place) = match (v == 0.0, tied) {
        (true, _) => (
            "had none".to_string(),
            format!("as in {tied} of the {m} areas"),
        ),
        (false, 1) => (
            with_unit(v, unit),
            format!("{} of {m} areas", rank_phrase(first, m)),
        ),
        (false, _) if last == m => (
            with_unit(v, unit),
            format!("the lowest of {m} areas, with {} others", tied - 1),
        ),
        (false, _) => (
            with_unit(v, unit),
            format!(
                "{} of {m} areas, with {} others",
                rank_phrase(first, m),
                tied - 1
            ),
        ),
    };
    let name = &table.areas()[area].name;
    let mut s = format!(
        "{}, {}: {name} {what}, {place}",
        ind.name,
        period::label(plan.period, p),
    );
    let total = table
        .get((ii, None, None, 0, p))
        .and_then(|t| t.value.value())
        .filter(|t| *t > 0.0);
    if let Some(t) = total {
        let total_name = &table.areas()[0].name;
        let ratio = v / t;
        let verdict = match row.vs_total {
            Comparison::Higher | Comparison::Worse | Comparison::Better | Comparison::Lower => {
                format!(", significantly {}", row.vs_total.label().to_lowercase())
            }
            Comparison::Best | Comparison::Worst => format!(
                ", significantly {} (99.8%)",
                if row.vs_total == Comparison::Best {
                    "better"
                } else {
                    "worse"
                }
            ),
            Comparison::Similar => ", not significantly different".into(),
            _ => String::new(),
        };
        if v == 0.0 {
            s.push_str(&format!(" ({total_name}: {}){verdict}", with_unit(t, unit)));
        } else if (0.95..1.05).contains(&ratio) {
            s.push_str(&format!(
                "; close to {total_name} ({}){verdict}",
                with_unit(t, unit)
            ));
        } else {
            s.push_str(&format!(
                "; {} times {total_name} ({}){verdict}",
                ratio_text(ratio),
                with_unit(t, unit)
            ));
        }
    }
    if row.at_threshold == Some(true) {
        if let Some(th) = ind.threshold {
            s.push_str(&format!(
                "; at or above the planning threshold of {}",
                with_unit(th, unit)
            ));
        }
    }
    {
        use crate::stats::trend::Trend::*;
        match row.trend {
            Increasing | IncreasingGettingBetter | IncreasingGettingWorse => {
                s.push_str("; rising significantly over the last five periods")
            }
            Decreasing | DecreasingGettingBetter | DecreasingGettingWorse => {
                s.push_str("; falling significantly over the last five periods")
            }
            _ => {}
        }
    }
    s.push('.');
    Some(Finding {
        indicator: ii,
        group: None,
        reference: None,
        period: p,
        strength: standing_strength(row, first == 1 || last == m),
        direction: Direction::of(row.vs_total),
        effect: total.map_or(0.0, |t| log_ratio(v, t)),
        text: s,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ranks_read_as_words() {
        assert_eq!(rank_phrase(1, 318), "the highest");
        assert_eq!(rank_phrase(2, 318), "the 2nd highest");
        assert_eq!(rank_phrase(23, 318), "the 23rd highest");
        assert_eq!(rank_phrase(318, 318), "the lowest");
        assert_eq!(rank_phrase(317, 318), "the 2nd lowest");
        assert_eq!(rank_phrase(308, 318), "the 11th lowest");
        assert_eq!(fmt1(0.0181), "0.018");
        assert_eq!(fmt1(0.5), "0.50");
        assert_eq!(fmt1(82.63), "82.6");
        assert_eq!(fmt1(0.0), "0.0");
    }

    #[test]
    fn stronger_and_worse_findings_sort_first() {
        assert!(Strength::At998 < Strength::At95);
        assert!(Strength::At95 < Strength::Notable);
        assert!(Strength::Notable < Strength::NotSignificant);
        assert!(Direction::Worse < Direction::Neither);
        assert!(Direction::Neither < Direction::Better);
        assert_eq!(log_ratio(2.0, 1.0), log_ratio(1.0, 2.0));
        assert_eq!(log_ratio(0.0, 1.0), 0.0);
    }
}
