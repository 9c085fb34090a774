//! The indicator engine: counts per indicator × group × area × period, rolled up to region and
//! the total. Statistics are applied later (after disclosure) to these additive counts.
//!
//! In: validated frames and the plan. Out: [`Counts`], unsuppressed, which only the disclosure
//! stage reads.

pub mod compare;
pub mod gaps;
pub mod period;

use crate::error::Result;
use crate::ingest::lookup::AreaInfo;
use crate::pipeline::plan::Plan;
use crate::pipeline::spec::Method;
use polars::prelude::*;
use std::collections::BTreeMap;

/// A breakdown category: (index in `Plan::breakdowns`, category index). `None` is the whole
/// group.
pub type Slice = Option<(usize, usize)>;

/// (indicator, group, breakdown category, area, period): the identity of a row, in output order.
pub type RowKey = (usize, Option<usize>, Slice, usize, i32);

/// Row identity → (numerator, denominator).
type Cells = BTreeMap<RowKey, (f64, Option<f64>)>;

/// The geography levels of the output, in Fingertips' terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Level {
    Total,
    Region,
    Area,
}

#[derive(Debug, Clone)]
pub struct OutArea {
    pub code: String,
    pub name: String,
    pub level: Level,
    pub parent_code: String,
    /// Index of the parent region in `Counts::areas` (areas only).
    pub region: Option<usize>,
}

impl OutArea {
    pub fn area_type(&self) -> &'static str {
        match self.level {
            Level::Total => "England",
            Level::Region => "Region",
            Level::Area => "Local authority",
        }
    }
}

/// Unsuppressed counts for one indicator × group × area × period.
#[derive(Debug, Clone, PartialEq)]
pub struct CountRow {
    pub indicator: usize,
    pub group: Option<usize>,
    /// The breakdown category, or `None` for the whole group.
    pub slice: Slice,
    pub area: usize,
    pub period: i32,
    pub numerator: f64,
    /// `None` when no denominator exists (e.g. no population estimate, or a median).
    pub denominator: Option<f64>,
    /// Medians only: the median of the `numerator` values and its intervals (none when n is 0).
    pub median: Option<MedianStat>,
}

impl CountRow {
    pub fn key(&self) -> RowKey {
        (
            self.indicator,
            self.group,
            self.slice,
            self.area,
            self.period,
        )
    }
}

/// A median with its 95% and 99.8% intervals (an interval is none when n is too small).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct MedianStat {
    pub value: f64,
    pub ci95: Option<(f64, f64)>,
    pub ci998: Option<(f64, f64)>,
}

#[derive(Debug, Clone)]
pub struct Counts {
    /// Total first, then regions by code, then areas by code.
    pub areas: Vec<OutArea>,
    pub periods: Vec<i32>,
    pub rows: Vec<CountRow>,
}

/// The validated inputs the engine works from.
pub struct Inputs<'a> {
    pub areas: &'a [AreaInfo],
    pub records: Option<&'a DataFrame>,
    pub population: &'a DataFrame,
    /// Published tables by source index in the plan.
    pub published: &'a BTreeMap<usize, crate::ingest::published::PublishedTable>,
}

fn out_areas(plan: &Plan, areas: &[AreaInfo]) -> Vec<OutArea> {
    let regions: BTreeMap<&str, &str> = areas
        .iter()
        .map(|a| (a.region_code.as_str(), a.region_name.as_str()))
        .collect();
    let mut out = vec![OutArea {
        code: plan.total_code.clone(),
        name: plan.total_name.clone(),
        level: Level::Total,
        parent_code: String::new(),
        region: None,
    }];
    for (code, name) in &regions {
        out.push(OutArea {
            code: code.to_string(),
            name: name.to_string(),
            level: Level::Region,
            parent_code: plan.total_code.clone(),
            region: None,
        });
    }
    for a in areas {
        let region = out
            .iter()
            .position(|o| o.level == Level::Region && o.code == a.region_code);
        out.push(OutArea {
            code: a.code.clone(),
            name: a.name.clone(),
            level: Level::Area,
            parent_code: a.region_code.clone(),
            region,
        });
    }
    out
}

/// Computes every indicator's counts.
pub fn compute(plan: &Plan, inputs: &Inputs) -> Result<Counts> {
    let areas = out_areas(plan, inputs.areas);
    let area_index: BTreeMap<&str, usize> = areas
        .iter()
        .enumerate()
        .filter(|(_, a)| a.level == Level::Area)
        .map(|(i, a)| (a.code.as_str(), i))
        .collect();
    let no_records;
    let records = match inputs.records {
        Some(r) => r,
        None => {
            no_records = DataFrame::empty_with_schema(&crate::ingest::records::canonical_schema());
            &no_records
        }
    };
    let records = records
        .clone()
        .lazy()
        .with_column(period::key_expr(plan.period, "referral_date").alias("__period"))
        .collect()?;
    let periods = period_keys(&records)?;

    // Area-level cells, keyed (indicator, group, area, period) → (numerator, denominator).
    let mut cells: Cells = BTreeMap::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        if ind.method != Method::Proportion {
            continue;
        }
        for &g in &ind.groups {
            for slice in slices(plan, ii) {
                for &a in area_index.values() {
                    for &p in &periods {
                        cells.insert((ii, Some(g), slice, a, p), (0.0, Some(0.0)));
                    }
                }
            }
        }
    }
    for gi in 0..plan.groups.len() {
        let members: Vec<usize> = plan
            .indicators
            .iter()
            .enumerate()
            .filter(|(_, i)| i.groups.contains(&gi) && i.method == Method::Proportion)
            .map(|(i, _)| i)
            .collect();
        if members.is_empty() {
            continue;
        }
        // The whole group, then each breakdown some member uses, by its category.
        let mut passes: Vec<Option<usize>> = vec![None];
        for &ii in &members {
            for &b in &plan.indicators[ii].breakdowns {
                if !passes.contains(&Some(b)) {
                    passes.push(Some(b));
                }
            }
        }
        for pass in passes {
            let users: Vec<usize> = members
                .iter()
                .copied()
                .filter(|&ii| pass.is_none_or(|b| plan.indicators[ii].breakdowns.contains(&b)))
                .collect();
            proportion_cells(plan, &records, gi, &users, pass, &area_index, &mut cells)?;
        }
    }
    let mut all_periods: std::collections::BTreeSet<i32> = periods.iter().copied().collect();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        if ind.method == Method::Rate && plan.source_of(ind).kind.has_areas() {
            if let Some(table) = inputs.published.get(&ind.source) {
                let table_periods =
                    published_rate(plan, ii, table, inputs.population, &area_index, &mut cells)?;
                all_periods.extend(table_periods);
            }
        }
    }
    let mut rows = roll_up(&areas, cells);
    for (ii, ind) in plan.indicators.iter().enumerate() {
        if ind.method == Method::Median {
            rows.extend(medians(plan, ii, &records, &areas, &area_index, &periods)?);
        }
    }
    // Breakdown rows at one level only, so no two-way table (areas × categories with both
    // margins) is published.
    let level = breakdown_level(plan);
    rows.retain(|r| r.slice.is_none() || areas[r.area].level == level);
    rows.sort_by_key(CountRow::key);
    Ok(Counts {
        areas,
        periods: all_periods.into_iter().collect(),
        rows,
    })
}

/// The one level breakdown rows are published at.
fn breakdown_level(plan: &Plan) -> Level {
    match plan.disclosure.breakdown_level {
        crate::pipeline::spec::BreakdownLevel::Area => Level::Area,
        crate::pipeline::spec::BreakdownLevel::Total => Level::Total,
    }
}

/// The column holding each record's category of breakdown `b`.
fn category_column(b: usize) -> String {
    format!("__cat{b}")
}

/// Each row's slice in a frame grouped by breakdown `pass` (by its category column), or `None`
/// for every row when there is no breakdown.
fn slices_of(grouped: &DataFrame, pass: Option<usize>) -> Result<impl Fn(usize) -> Slice> {
    let cats = match pass {
        Some(b) => Some(grouped.column(&category_column(b))?.u32()?.clone()),
        None => None,
    };
    Ok(move |r: usize| match (pass, &cats) {
        (Some(b), Some(c)) => c.get(r).map(|c| (b, c as usize)),
        _ => None,
    })
}

/// The slices an indicator is computed for: the whole group, then every breakdown category.
fn slices(plan: &Plan, ii: usize) -> Vec<Slice> {
    let mut out = vec![None];
    for &b in &plan.indicators[ii].breakdowns {
        for c in 0..plan.breakdowns[b].categories.len() {
            out.push(Some((b, c)));
        }
    }
    out
}

/// Counts of proportion indicators `members` for group `gi` by area and period, and by the
/// category of breakdown `pass` when there is one.
fn proportion_cells(
    plan: &Plan,
    records: &DataFrame,
    gi: usize,
    members: &[usize],
    pass: Option<usize>,
    area_index: &BTreeMap<&str, usize>,
    cells: &mut Cells,
) -> Result<()> {
    let mut aggs = Vec::new();
    for &ii in members {
        let ind = &plan.indicators[ii];
        let den = ind.denominator.clone().fill_null(lit(false));
        let num = den.clone().and(ind.numerator.clone().fill_null(lit(false)));
        aggs.push(num.cast(DataType::Int64).sum().alias(format!("n{ii}")));
        aggs.push(den.cast(DataType::Int64).sum().alias(format!("d{ii}")));
    }
    let mut keys = vec![col("area_code"), col("__period")];
    if let Some(b) = pass {
        keys.push(plan.breakdowns[b].index.clone().alias(category_column(b)));
    }
    let grouped = records
        .clone()
        .lazy()
        .filter(plan.groups[gi].filter.clone().fill_null(lit(false)))
        .group_by(keys)
        .agg(aggs)
        .collect()?;
    let codes = grouped.column("area_code")?.str()?.clone();
    let periods = grouped.column("__period")?.i32()?.clone();
    let slice_at = slices_of(&grouped, pass)?;
    for &ii in members {
        let n = grouped
            .column(&format!("n{ii}"))?
            .cast(&DataType::Float64)?;
        let d = grouped
            .column(&format!("d{ii}"))?
            .cast(&DataType::Float64)?;
        let (n, d) = (n.f64()?, d.f64()?);
        for r in 0..grouped.height() {
            let (Some(code), Some(p)) = (codes.get(r), periods.get(r)) else {
                continue;
            };
            if let Some(&a) = area_index.get(code) {
                cells.insert(
                    (ii, Some(gi), slice_at(r), a, p),
                    (n.get(r).unwrap_or(0.0), Some(d.get(r).unwrap_or(0.0))),
                );
            }
        }
    }
    Ok(())
}

/// Medians are not additive: each area, region and the total is computed from its own values.
fn medians(
    plan: &Plan,
    ii: usize,
    records: &DataFrame,
    areas: &[OutArea],
    area_index: &BTreeMap<&str, usize>,
    periods: &[i32],
) -> Result<Vec<CountRow>> {
    let ind = &plan.indicators[ii];
    // Every area code with its region's and the total's positions in `areas`.
    let codes: Vec<&str> = area_index.keys().copied().collect();
    let regions: Vec<u32> = area_index
        .values()
        .map(|&a| areas[a].region.unwrap_or(0) as u32)
        .collect();
    let places: Vec<u32> = area_index.values().map(|&a| a as u32).collect();
    let map = DataFrame::new(
        codes.len(),
        vec![
            Column::new("area_code".into(), codes),
            Column::new("__area".into(), places),
            Column::new("__region".into(), regions),
        ],
    )?;
    let mut rows = Vec::new();
    for &g in &ind.groups {
        let mut select = vec![
            col("area_code"),
            col("__period"),
            ind.numerator.clone().cast(DataType::Float64).alias("__v"),
        ];
        for &b in &ind.breakdowns {
            select.push(plan.breakdowns[b].index.clone().alias(category_column(b)));
        }
        let values = records
            .clone()
            .lazy()
            .filter(
                plan.groups[g]
                    .filter
                    .clone()
                    .fill_null(lit(false))
                    .and(ind.denominator.clone().fill_null(lit(false))),
            )
            .select(select)
            .filter(col("__v").is_not_null())
            .join(
                map.clone().lazy(),
                [col("area_code")],
                [col("area_code")],
                JoinArgs::new(JoinType::Inner),
            )
            .with_column(lit(0i64).cast(DataType::UInt32).alias("__total"))
            .collect()?;
        let mut found: BTreeMap<(Slice, usize, i32), Vec<f64>> = BTreeMap::new();
        let passes = std::iter::once(None).chain(ind.breakdowns.iter().map(|&b| Some(b)));
        for pass in passes {
            // Breakdown categories only at the level they are published at.
            let levels = match pass {
                None => &["__area", "__region", "__total"][..],
                Some(_) if breakdown_level(plan) == Level::Area => &["__area"][..],
                Some(_) => &["__total"][..],
            };
            for &level in levels {
                let mut keys = vec![col(level), col("__period")];
                if let Some(b) = pass {
                    keys.push(col(category_column(b)));
                }
                let grouped = values
                    .clone()
                    .lazy()
                    .group_by(keys)
                    .agg([col("__v").sort(Default::default())])
                    .collect()?;
                let (places, keys, lists) = (
                    grouped.column(level)?.u32()?,
                    grouped.column("__period")?.i32()?,
                    grouped.column("__v")?.list()?,
                );
                let slice_at = slices_of(&grouped, pass)?;
                for r in 0..grouped.height() {
                    if let (Some(a), Some(p), Some(s)) =
                        (places.get(r), keys.get(r), lists.get_as_series(r))
                    {
                        found.insert(
                            (slice_at(r), a as usize, p),
                            s.f64()?.iter().flatten().collect(),
                        );
                    }
                }
            }
        }
        for slice in slices(plan, ii) {
            for a in 0..areas.len() {
                for &p in periods {
                    let v = found.remove(&(slice, a, p)).unwrap_or_default();
                    let stat = |c| crate::stats::median(&v, c).ok();
                    let median = match (stat(0.95), stat(0.998)) {
                        (Some(m95), Some(m998)) => Some(MedianStat {
                            value: m95.value,
                            ci95: m95.interval,
                            ci998: m998.interval,
                        }),
                        _ => None,
                    };
                    rows.push(CountRow {
                        indicator: ii,
                        group: Some(g),
                        slice,
                        area: a,
                        period: p,
                        numerator: v.len() as f64,
                        denominator: None,
                        median,
                    });
                }
            }
        }
    }
    Ok(rows)
}

/// The distinct period keys of a frame's `__period` column, in order.
fn period_keys(df: &DataFrame) -> Result<Vec<i32>> {
    let s = df
        .column("__period")?
        .unique_stable()?
        .sort(Default::default())?;
    Ok(s.i32()?.iter().flatten().collect())
}

/// People on asylum support at the last quarter end of each period, over the mid-year population.
/// Returns the periods the table covers.
fn published_rate(
    plan: &Plan,
    ii: usize,
    table: &crate::ingest::published::PublishedTable,
    population: &DataFrame,
    area_index: &BTreeMap<&str, usize>,
    cells: &mut Cells,
) -> Result<Vec<i32>> {
    use crate::ingest::published::Measure;
    let with_period = table
        .frame
        .clone()
        .lazy()
        .with_column(period::key_expr(plan.period, "date").alias("__period"));
    let periods = period_keys(&with_period.clone().collect()?)?;
    // A stock is read on the period's last date in the table (taken before the indicator's
    // condition, so a category absent on that date counts 0); a flow sums the whole period.
    let rows = match table.measure {
        Measure::Stock => {
            let latest_in_period = col("date").max().over([col("__period")])?;
            with_period.filter(col("date").eq(latest_in_period))
        }
        Measure::Flow => with_period,
    };
    // A value the publisher left out (a marker) makes its area's sum unknown: NaN, which every
    // sum above it carries too.
    let latest = rows
        .filter(plan.indicators[ii].numerator.clone())
        .group_by([col("area_code"), col("__period")])
        .agg([when(col("value").is_null().any(true))
            .then(lit(f64::NAN))
            .otherwise(col("value").sum())
            .alias("people")])
        .collect()?;
    let mut stock: BTreeMap<(String, i32), f64> = BTreeMap::new();
    let (codes, keys, people) = (
        latest.column("area_code")?.str()?,
        latest.column("__period")?.i32()?,
        latest.column("people")?.f64()?,
    );
    for r in 0..latest.height() {
        if let (Some(c), Some(k), Some(v)) = (codes.get(r), keys.get(r), people.get(r)) {
            stock.insert((c.to_string(), k), v);
        }
    }
    let mut pop: BTreeMap<(String, i32), f64> = BTreeMap::new();
    let (pc, py, pv) = (
        population.column("area_code")?.str()?,
        population.column("year")?.i32()?,
        population.column("population")?.f64()?,
    );
    for r in 0..population.height() {
        if let (Some(c), Some(y), Some(v)) = (pc.get(r), py.get(r), pv.get(r)) {
            pop.insert((c.to_string(), y), v);
        }
    }
    for (&code, &a) in area_index {
        for &p in &periods {
            let people = stock.get(&(code.to_string(), p)).copied().unwrap_or(0.0);
            let denominator = pop
                .get(&(code.to_string(), period::population_year(plan.period, p)))
                .copied();
            cells.insert((ii, None, None, a, p), (people, denominator));
        }
    }
    Ok(periods)
}

/// Adds region and total rows by summing area cells (a missing denominator makes the sum missing).
fn roll_up(areas: &[OutArea], cells: Cells) -> Vec<CountRow> {
    let mut sums: Cells = BTreeMap::new();
    for (&(i, g, s, a, p), &(n, d)) in &cells {
        let parents = [areas[a].region, Some(0)];
        for parent in parents.into_iter().flatten() {
            let e = sums.entry((i, g, s, parent, p)).or_insert((0.0, Some(0.0)));
            e.0 += n;
            e.1 = match (e.1, d) {
                (Some(x), Some(y)) => Some(x + y),
                _ => None,
            };
        }
    }
    let mut rows: Vec<CountRow> = cells
        .into_iter()
        .chain(sums)
        .map(
            |((indicator, group, slice, area, period), (numerator, denominator))| CountRow {
                indicator,
                group,
                slice,
                area,
                period,
                numerator,
                denominator,
                median: None,
            },
        )
        .collect();
    rows.sort_by_key(CountRow::key);
    rows
}
