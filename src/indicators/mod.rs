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
    /// Representation only: residents over the group's residents, the factor that turns the
    /// group's share of the records into the index (none when not known).
    pub scale: Option<f64>,
}

impl CountRow {
    /// The row of one cell of counts.
    fn from_cell(
        ((indicator, group, slice, area, period), (numerator, denominator)): (
            RowKey,
            (f64, Option<f64>),
        ),
    ) -> CountRow {
        CountRow {
            indicator,
            group,
            slice,
            area,
            period,
            numerator,
            denominator,
            median: None,
            scale: None,
        }
    }

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
    /// Series breaks by indicator: the first period of each new series, with the reason.
    pub breaks: BTreeMap<usize, Vec<(i32, String)>>,
    /// Caveats on single periods by indicator (a coverage gap): the period and the caveat.
    pub period_notes: BTreeMap<usize, Vec<(i32, String)>>,
    /// Total rows of published area tables that hold figures no local authority has:
    /// (the figures with no local authority, the sum of the areas).
    pub coverage: BTreeMap<RowKey, (f64, f64)>,
    /// Rows not available for a reason of their own (a successor of a former county whose
    /// figure the source gives in the county's row), and rows that hold such a county's figure:
    /// what their note says.
    pub notes: BTreeMap<RowKey, String>,
}

/// Figures of former counties split between successors (NTS's Cumbria), by (indicator, slice,
/// period, county name).
type Former = BTreeMap<(usize, Slice, i32, String), f64>;

/// The validated inputs the engine works from.
pub struct Inputs<'a> {
    pub areas: &'a [AreaInfo],
    /// Record features, as made by [`features`].
    pub records: Option<&'a DataFrame>,
    pub population: &'a DataFrame,
    /// Population by area, year, sex and age band, when the population file has them.
    pub structure: Option<&'a DataFrame>,
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
            let empty = DataFrame::empty_with_schema(&crate::ingest::records::canonical_schema());
            no_records = features(plan, empty, &[], &[])?;
            &no_records
        }
    };
    let periods = period_keys(records)?;
    // Records carry the position of their area in the lookup; this is its place in `areas`.
    let place_of: Vec<Option<usize>> = inputs
        .areas
        .iter()
        .map(|a| area_index.get(a.code.as_str()).copied())
        .collect();

    // Area-level cells, keyed (indicator, group, area, period) → (numerator, denominator).
    let mut cells: Cells = BTreeMap::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        if !counted_by_group(plan, ii) {
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
    // One pass over the records for the whole groups, then one for each breakdown in use:
    // every group's counts come from the same grouping.
    let mut passes: Vec<Option<usize>> = vec![None];
    for ind in plan
        .indicators
        .iter()
        .filter(|i| i.method == Method::Proportion)
    {
        for &b in &ind.breakdowns {
            if !passes.contains(&Some(b)) {
                passes.push(Some(b));
            }
        }
    }
    for pass in passes {
        // (group, indicator) pairs counted in this pass.
        let mut pairs = Vec::new();
        for (ii, ind) in plan.indicators.iter().enumerate() {
            let uses = pass.is_none_or(|b| ind.breakdowns.contains(&b));
            let counted = matches!(ind.method, Method::Proportion | Method::Rate);
            if counted && ind.from_records(plan) && uses {
                pairs.extend(ind.groups.iter().map(|&g| (g, ii)));
            }
        }
        pairs.sort_unstable();
        if !pairs.is_empty() {
            proportion_cells(records, &pairs, pass, &place_of, &mut cells)?;
        }
    }
    let mut residents = Residents::new(inputs);
    for (ii, ind) in plan.indicators.iter().enumerate() {
        match ind.method {
            Method::Rate if ind.from_records(plan) => {
                // The count is of records; the denominator is the group's residents.
                for &g in &ind.groups {
                    let pop = residents.of(plan, ii, Some(g))?;
                    for ((i, gg, _, a, p), cell) in cells.range_mut((ii, None, None, 0, i32::MIN)..)
                    {
                        if *i != ii {
                            break;
                        }
                        if *gg == Some(g) {
                            let year = ind
                                .population_year
                                .unwrap_or_else(|| period::population_year(plan.period, *p));
                            cell.1 = pop.get(&(areas[*a].code.clone(), year)).copied();
                        }
                    }
                }
            }
            Method::Representation => {
                representation_cells(records, plan, ii, &place_of, &mut cells)?
            }
            _ => {}
        }
    }
    let mut all_periods: std::collections::BTreeSet<i32> = periods.iter().copied().collect();
    // National tables' counts are at the total already: they are not summed up the geography.
    let mut national: Cells = BTreeMap::new();
    // Published area tables' figures with no local authority, keyed by their total row.
    let mut unallocated: BTreeMap<RowKey, f64> = BTreeMap::new();
    let mut former: Former = BTreeMap::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        let kind = plan.source_of(ind).kind;
        if !kind.is_published() {
            continue;
        }
        let Some(table) = inputs.published.get(&ind.source) else {
            continue;
        };
        let pop = match ind.method {
            Method::Rate => Some(residents.of(plan, ii, None)?),
            _ => None,
        };
        let table_periods = if kind.is_national() {
            published_cells(plan, ii, table, None, &area_index, Some(0), &mut national)?.0
        } else {
            let (periods, none, counties) =
                published_cells(plan, ii, table, pop.as_ref(), &area_index, None, &mut cells)?;
            unallocated.extend(none);
            former.extend(counties);
            periods
        };
        all_periods.extend(table_periods);
    }
    let mut rows = roll_up(&areas, cells);
    // Figures the source gives no local authority count in the total (its figure is the
    // source's), never in an area or region.
    for r in rows.iter_mut().filter(|r| r.area == 0) {
        if let Some(&u) = unallocated.get(&r.key()) {
            r.numerator += u;
        }
    }
    let notes = place_former(plan, &areas, &area_index, &former, &mut rows);
    rows.extend(national.into_iter().map(CountRow::from_cell));
    for r in rows.iter_mut() {
        if plan.indicators[r.indicator].method == Method::Representation {
            let year = period::population_year(plan.period, r.period);
            let group = residents.by_place(plan, &areas, r.indicator, r.group)?;
            let all = residents.by_place(plan, &areas, r.indicator, None)?;
            r.scale = match (group.get(&(r.area, year)), all.get(&(r.area, year))) {
                (Some(&g), Some(&t)) if g > 0.0 => Some(t / g),
                _ => None,
            };
        }
    }
    for (ii, ind) in plan.indicators.iter().enumerate() {
        if ind.method == Method::Median {
            rows.extend(medians(plan, ii, records, &areas, &place_of, &periods)?);
        }
    }
    let mut rows = rolling(plan, rows);
    // Breakdown rows at one level only, so no two-way table (areas × categories with both
    // margins) is published.
    let level = breakdown_level(plan);
    // A national table has the total alone, so its categories make no two-way table.
    rows.retain(|r| {
        r.slice.is_none()
            || areas[r.area].level == level
            || plan
                .source_of(&plan.indicators[r.indicator])
                .kind
                .is_national()
    });
    rows.sort_by_key(CountRow::key);
    let periods: Vec<i32> = all_periods.into_iter().collect();
    let (breaks, period_notes) = series_breaks(plan, inputs, &periods)?;
    let coverage = coverage(plan, &rows, &unallocated);
    Ok(Counts {
        areas,
        periods,
        rows,
        breaks,
        period_notes,
        coverage,
        notes,
    })
}

/// A former county's figure (NTS's Cumbria) goes to the region and total its successors are in;
/// the successors, which the source gives no figure of their own, are not available (NaN, with
/// the reason in the returned notes).
fn place_former(
    plan: &Plan,
    areas: &[OutArea],
    area_index: &BTreeMap<&str, usize>,
    former: &Former,
    rows: &mut [CountRow],
) -> BTreeMap<RowKey, String> {
    let mut notes: BTreeMap<RowKey, String> = BTreeMap::new();
    if former.is_empty() {
        return notes;
    }
    let index: std::collections::HashMap<RowKey, usize> =
        rows.iter().enumerate().map(|(i, r)| (r.key(), i)).collect();
    for ((ii, slice, p, county), &v) in former {
        let Some((_, _, successors)) = crate::ingest::lookup::split_county(county) else {
            continue;
        };
        let places: Vec<usize> = successors
            .iter()
            .filter_map(|c| area_index.get(c).copied())
            .collect();
        let names: Vec<&str> = places.iter().map(|&a| areas[a].name.as_str()).collect();
        let what = crate::ingest::published::counts_of(plan.source_of(&plan.indicators[*ii]).kind);
        let shown = if v.is_finite() {
            crate::ingest::published::grouped(v)
        } else {
            "a marker".to_string()
        };
        for &a in &places {
            if let Some(&i) = index.get(&(*ii, None, *slice, a, *p)) {
                rows[i].numerator = f64::NAN;
                notes.insert(
                    rows[i].key(),
                    format!(
                        "[x] not in the source: its figure is in the row for the former county {county} ({shown} {what}), which {} share",
                        names.join(" and ")
                    ),
                );
            }
        }
        let regions: std::collections::BTreeSet<Option<usize>> =
            places.iter().map(|&a| areas[a].region).collect();
        let mut parents = vec![0];
        if let [Some(r)] = regions.iter().copied().collect::<Vec<_>>()[..] {
            parents.push(r);
        }
        for parent in parents {
            if let Some(&i) = index.get(&(*ii, None, *slice, parent, *p)) {
                rows[i].numerator += v;
                if v == 0.0 {
                    continue;
                }
                let e = notes.entry(rows[i].key()).or_default();
                if !e.is_empty() {
                    e.push_str("; ");
                }
                e.push_str(&format!(
                    "Includes {shown} {what} in the source's row for the former county {county}, whose successors ({}) are shown as [x]",
                    names.join(" and ")
                ));
            }
        }
    }
    notes
}

/// For each total row that holds figures with no local authority: (those figures, the sum of
/// the areas). A rolling row sums its window's.
fn coverage(
    plan: &Plan,
    rows: &[CountRow],
    unallocated: &BTreeMap<RowKey, f64>,
) -> BTreeMap<RowKey, (f64, f64)> {
    let mut out = BTreeMap::new();
    if unallocated.is_empty() {
        return out;
    }
    for r in rows.iter().filter(|r| r.area == 0) {
        let n = plan.indicators[r.indicator].rolling.unwrap_or(1).max(1);
        let mut u = 0.0;
        for p in period::window(plan.period, r.period, n) {
            u += unallocated
                .get(&(r.indicator, r.group, r.slice, 0, p))
                .copied()
                .unwrap_or(0.0);
        }
        if u != 0.0 {
            out.insert(r.key(), (u, r.numerator - u));
        }
    }
    out
}

/// Each indicator's series breaks within the periods published (a break at the first period
/// splits nothing), and its caveats on single periods. A known break of one category (Section
/// 98 support) concerns an indicator only if its numerator counts rows of that category.
type ByIndicator = BTreeMap<usize, Vec<(i32, String)>>;
fn series_breaks(
    plan: &Plan,
    inputs: &Inputs,
    periods: &[i32],
) -> Result<(ByIndicator, ByIndicator)> {
    let (mut breaks, mut notes): (ByIndicator, ByIndicator) = Default::default();
    let first = periods.first().copied();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        let si = ind.source;
        for b in &plan.sources[si].breaks {
            let p = period::key_of(plan.period, b.date);
            if !periods.contains(&p) || (Some(p) == first && !b.one_period) {
                continue;
            }
            if let Some((column, value)) = &b.category {
                let Some(table) = inputs.published.get(&si) else {
                    continue;
                };
                if !table
                    .frame
                    .get_column_names()
                    .iter()
                    .any(|c| c.as_str() == column)
                {
                    continue;
                }
                let n = table
                    .frame
                    .clone()
                    .lazy()
                    .filter(col(column.as_str()).eq(lit(value.as_str())))
                    .filter(ind.numerator.clone())
                    .select([len()])
                    .collect()?;
                if n.column("len")?.u32()?.get(0).unwrap_or(0) == 0 {
                    continue;
                }
            }
            let e = if b.one_period {
                &mut notes
            } else {
                &mut breaks
            }
            .entry(ii)
            .or_default();
            if !e.iter().any(|(q, _)| *q == p) {
                e.push((p, b.reason.clone()));
            }
        }
    }
    for e in breaks.values_mut().chain(notes.values_mut()) {
        e.sort();
    }
    Ok((breaks, notes))
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

/// The column that is true for records in group `g`.
fn group_column(g: usize) -> String {
    format!("__g{g}")
}

/// The column that is true for records in indicator `ii`'s denominator.
fn denominator_column(ii: usize) -> String {
    format!("__d{ii}")
}

/// The column that is true for records in indicator `ii`'s numerator (and denominator); for a
/// median, the value.
fn numerator_column(ii: usize) -> String {
    format!("__n{ii}")
}

/// Reduces validated records to what the indicators are computed from: the area (`__area`, its
/// position in `area_codes`, the lookup's codes), the period,
/// whether each record is in each group and in each indicator's numerator and denominator, its
/// value for each median, its category of each breakdown in use, and the columns in `keep`.
///
/// Every condition is evaluated once per record, here, over the record columns as they were
/// read. The result is a few bytes a record (the flags are bits), so records can be reduced a
/// batch at a time as they are read and the record columns let go.
pub fn features(
    plan: &Plan,
    records: DataFrame,
    keep: &[&str],
    area_codes: &[String],
) -> Result<DataFrame> {
    let mut exprs = vec![
        col("__area"),
        period::key_expr(plan.period, "referral_date").alias("__period"),
    ];
    exprs.extend(keep.iter().map(|&k| col(k)));
    for (gi, g) in plan.groups.iter().enumerate() {
        exprs.push(
            g.filter
                .clone()
                .fill_null(lit(false))
                .alias(group_column(gi)),
        );
    }
    let mut used = Vec::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        let den = ind.denominator.clone().fill_null(lit(false));
        match ind.method {
            Method::Rate | Method::Count if !ind.from_records(plan) => continue,
            Method::Proportion | Method::Rate => {
                let num = den.clone().and(ind.numerator.clone().fill_null(lit(false)));
                exprs.push(num.alias(numerator_column(ii)));
            }
            Method::Representation | Method::Count => {}
            Method::Median => {
                let value = ind.numerator.clone().cast(DataType::Float64);
                exprs.push(value.alias(numerator_column(ii)));
            }
        }
        exprs.push(den.alias(denominator_column(ii)));
        for &b in &ind.breakdowns {
            if !used.contains(&b) {
                used.push(b);
            }
        }
    }
    for b in used {
        exprs.push(plan.breakdowns[b].index.clone().alias(category_column(b)));
    }
    let lookup = DataFrame::new(
        area_codes.len(),
        vec![
            Column::new("area_code".into(), area_codes),
            Column::new(
                "__area".into(),
                (0..area_codes.len() as u32).collect::<Vec<_>>(),
            ),
        ],
    )?;
    let lf = records.lazy().join(
        lookup.lazy(),
        [col("area_code")],
        [col("area_code")],
        JoinArgs {
            maintain_order: MaintainOrderJoin::Left,
            ..JoinArgs::new(JoinType::Left)
        },
    );
    // Common-subexpression elimination is off: in polars 0.55 it turns a condition that is a
    // constant (a group `filter = "TRUE"`) into a one-row column that the select then rejects.
    let flags = lf.get_current_optimizations() & !OptFlags::COMM_SUBEXPR_ELIM;
    Ok(lf.with_optimizations(flags).select(exprs).collect()?)
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

/// Counts of proportion indicators for each (group, indicator) in `pairs` (sorted) by area and period,
/// and by the category of breakdown `pass` when there is one.
///
/// Records are grouped by area, period, category and which groups they are in (few distinct
/// combinations, since most records are in few groups), with each indicator's counts summed
/// once; each group's counts are then the sums over the combinations it is part of.
fn proportion_cells(
    records: &DataFrame,
    pairs: &[(usize, usize)],
    pass: Option<usize>,
    place_of: &[Option<usize>],
    cells: &mut Cells,
) -> Result<()> {
    let mut groups: Vec<usize> = pairs.iter().map(|&(g, _)| g).collect();
    let mut indicators: Vec<usize> = pairs.iter().map(|&(_, ii)| ii).collect();
    groups.dedup();
    indicators.sort_unstable();
    indicators.dedup();
    let mut keys = vec![col("__area"), col("__period")];
    if let Some(b) = pass {
        keys.push(col(category_column(b)));
    }
    keys.extend(groups.iter().map(|&g| col(group_column(g))));
    let mut aggs = Vec::new();
    for &ii in &indicators {
        let count = |c: String| col(c.as_str()).cast(DataType::UInt32).sum().alias(c);
        aggs.push(count(numerator_column(ii)));
        aggs.push(count(denominator_column(ii)));
    }
    let grouped = records
        .clone()
        .lazy()
        .filter(any_horizontal(
            groups
                .iter()
                .map(|&g| col(group_column(g)))
                .collect::<Vec<_>>(),
        )?)
        .group_by(keys)
        .agg(aggs)
        .collect()?;
    let lookup = grouped.column("__area")?.u32()?.clone();
    let periods = grouped.column("__period")?.i32()?.clone();
    let slice_at = slices_of(&grouped, pass)?;
    let members = groups
        .iter()
        .map(|&g| Ok((g, grouped.column(&group_column(g))?.bool()?.clone())))
        .collect::<Result<Vec<_>>>()?;
    let counts = |c: String| -> Result<Vec<f64>> {
        let s = grouped.column(&c)?.cast(&DataType::Float64)?;
        Ok(s.f64()?.iter().map(|v| v.unwrap_or(0.0)).collect())
    };
    for &ii in &indicators {
        let (n, d) = (
            counts(numerator_column(ii))?,
            counts(denominator_column(ii))?,
        );
        for (g, member) in &members {
            if pairs.binary_search(&(*g, ii)).is_err() {
                continue;
            }
            for r in 0..grouped.height() {
                let (Some(l), Some(p), Some(true)) = (lookup.get(r), periods.get(r), member.get(r))
                else {
                    continue;
                };
                if let Some(a) = place_of.get(l as usize).copied().flatten() {
                    let cell = cells
                        .entry((ii, Some(*g), slice_at(r), a, p))
                        .or_insert((0.0, Some(0.0)));
                    cell.0 += n[r];
                    cell.1 = Some(cell.1.unwrap_or(0.0) + d[r]);
                }
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
    place_of: &[Option<usize>],
    periods: &[i32],
) -> Result<Vec<CountRow>> {
    let ind = &plan.indicators[ii];
    // Every area of the pipeline (by lookup position) with its own, its region's and the
    // total's positions in `areas`.
    let (mut lookup, mut places, mut regions) = (Vec::new(), Vec::new(), Vec::new());
    for (l, a) in place_of.iter().enumerate() {
        if let Some(a) = *a {
            lookup.push(l as u32);
            places.push(a as u32);
            regions.push(areas[a].region.unwrap_or(0) as u32);
        }
    }
    let map = DataFrame::new(
        lookup.len(),
        vec![
            Column::new("__area".into(), lookup),
            Column::new("__place".into(), places),
            Column::new("__region".into(), regions),
        ],
    )?;
    let mut rows = Vec::new();
    for &g in &ind.groups {
        // Values are counted first (area, period, category, value → how many), so each
        // level's medians come from a small frame instead of every record again.
        let mut keys = vec![
            col("__area"),
            col("__period"),
            col(numerator_column(ii)).alias("__v"),
        ];
        keys.extend(ind.breakdowns.iter().map(|&b| col(category_column(b))));
        let values = records
            .clone()
            .lazy()
            .filter(
                col(group_column(g))
                    .and(col(denominator_column(ii)))
                    .and(col(numerator_column(ii)).is_not_null()),
            )
            .group_by(keys)
            .agg([len().alias("__n")])
            .join(
                map.clone().lazy(),
                [col("__area")],
                [col("__area")],
                JoinArgs::new(JoinType::Inner),
            )
            .with_column(lit(0i64).cast(DataType::UInt32).alias("__total"))
            .collect()?;
        let mut found: BTreeMap<(Slice, usize, i32), Vec<f64>> = BTreeMap::new();
        let passes = std::iter::once(None).chain(ind.breakdowns.iter().map(|&b| Some(b)));
        for pass in passes {
            // Breakdown categories only at the level they are published at.
            let levels = match pass {
                None => &["__place", "__region", "__total"][..],
                Some(_) if breakdown_level(plan) == Level::Area => &["__place"][..],
                Some(_) => &["__total"][..],
            };
            for &level in levels {
                let mut keys = vec![col(level), col("__period")];
                if let Some(b) = pass {
                    keys.push(col(category_column(b)));
                }
                let by_value = || vec![col("__v")];
                let grouped = values
                    .clone()
                    .lazy()
                    .group_by(keys)
                    .agg([
                        col("__v").sort_by(by_value(), Default::default()),
                        col("__n").sort_by(by_value(), Default::default()),
                    ])
                    .collect()?;
                let (places, keys, lists, counts) = (
                    grouped.column(level)?.u32()?,
                    grouped.column("__period")?.i32()?,
                    grouped.column("__v")?.list()?,
                    grouped.column("__n")?.list()?,
                );
                let slice_at = slices_of(&grouped, pass)?;
                for r in 0..grouped.height() {
                    let (Some(a), Some(p), Some(v), Some(n)) = (
                        places.get(r),
                        keys.get(r),
                        lists.get_as_series(r),
                        counts.get_as_series(r),
                    ) else {
                        continue;
                    };
                    // Each value as many times as it was counted, in order.
                    let n = n.cast(&DataType::UInt64)?;
                    let mut sorted = Vec::new();
                    for (v, n) in v.f64()?.iter().zip(n.u64()?.iter()) {
                        if let (Some(v), Some(n)) = (v, n) {
                            sorted.extend(std::iter::repeat_n(v, n as usize));
                        }
                    }
                    found.insert((slice_at(r), a as usize, p), sorted);
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
                        scale: None,
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

/// A published table's count for each area and period (a stock on the period's last date, or
/// the flow over the period), and for each category of the indicator's breakdowns; over the
/// mid-year residents `pop` (by area code and year) for a rate, over nothing for a count.
/// A national table's counts go to the total (`national`), its only place. Returns the periods
/// the table covers.
#[allow(clippy::too_many_arguments)]
fn published_cells(
    plan: &Plan,
    ii: usize,
    table: &crate::ingest::published::PublishedTable,
    pop: Option<&BTreeMap<(String, i32), f64>>,
    area_index: &BTreeMap<&str, usize>,
    national: Option<usize>,
    cells: &mut Cells,
) -> Result<(Vec<i32>, BTreeMap<RowKey, f64>, Former)> {
    use crate::ingest::published::{Measure, FORMER, UNALLOCATED};
    let mut none: BTreeMap<RowKey, f64> = BTreeMap::new();
    let mut former: Former = BTreeMap::new();
    let ind = &plan.indicators[ii];
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
    // The places cells are made for: every area, or the total alone (place "").
    let (place, places): (Expr, Vec<(String, usize)>) = match national {
        Some(t) => (lit(""), vec![(String::new(), t)]),
        None => (
            col("area_code"),
            area_index
                .iter()
                .map(|(c, &a)| (c.to_string(), a))
                .collect(),
        ),
    };
    let rows = rows
        .filter(ind.numerator.clone())
        .with_column(place.alias("__place"));
    let mut passes = vec![None];
    passes.extend(ind.breakdowns.iter().map(|&b| Some(b)));
    for pass in passes {
        let mut keys = vec![col("__period"), col("__place")];
        let rows = match pass {
            Some(b) => {
                keys.push(col("__cat"));
                rows.clone()
                    .with_column(plan.breakdowns[b].index.clone().alias("__cat"))
            }
            None => rows.clone(),
        };
        // A value the publisher left out (a marker) makes its sum unknown: NaN, which every
        // sum above it carries too.
        let sums = rows
            .group_by(keys)
            .agg([when(col("value").is_null().any(true))
                .then(lit(f64::NAN))
                .otherwise(col("value").sum())
                .alias("people")])
            .collect()?;
        let mut found: BTreeMap<(String, i32, Option<u32>), f64> = BTreeMap::new();
        let (place, key, people) = (
            sums.column("__place")?.str()?,
            sums.column("__period")?.i32()?,
            sums.column("people")?.f64()?,
        );
        let cat = match pass {
            Some(_) => Some(sums.column("__cat")?.u32()?.clone()),
            None => None,
        };
        for r in 0..sums.height() {
            if let (Some(c), Some(k), Some(v)) = (place.get(r), key.get(r), people.get(r)) {
                let c2 = cat.as_ref().and_then(|cc| cc.get(r));
                found.insert((c.to_string(), k, c2), v);
            }
        }
        let categories: Vec<Option<u32>> = match pass {
            Some(b) => (0..plan.breakdowns[b].categories.len() as u32)
                .map(Some)
                .collect(),
            None => vec![None],
        };
        for (code, a) in &places {
            for &p in &periods {
                let year = ind
                    .population_year
                    .unwrap_or_else(|| period::population_year(plan.period, p));
                let denominator = pop.and_then(|pop| pop.get(&(code.clone(), year)).copied());
                for &c in &categories {
                    let people = found.get(&(code.clone(), p, c)).copied().unwrap_or(0.0);
                    let slice = pass.zip(c).map(|(b, c)| (b, c as usize));
                    cells.insert((ii, None, slice, *a, p), (people, denominator));
                }
            }
        }
        if national.is_none() {
            for (&(ref code, p, c), &v) in &found {
                let slice = pass.zip(c).map(|(b, c)| (b, c as usize));
                if code == UNALLOCATED && v != 0.0 {
                    none.insert((ii, None, slice, 0, p), v);
                } else if let Some(county) = code.strip_prefix(FORMER) {
                    former.insert((ii, slice, p, county.to_string()), v);
                }
            }
        }
    }
    Ok((periods, none, former))
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
        .map(CountRow::from_cell)
        .collect();
    rows.sort_by_key(CountRow::key);
    rows
}

/// Whether an indicator's counts come from records grouped by population group and summed up
/// the geography (proportions, and rates and representation indexes of records).
fn counted_by_group(plan: &Plan, ii: usize) -> bool {
    let ind = &plan.indicators[ii];
    match ind.method {
        Method::Proportion | Method::Representation => true,
        Method::Rate => ind.from_records(plan),
        Method::Median | Method::Count => false,
    }
}

/// Each group's count of the records meeting a representation indicator's `denominator` (its
/// numerator) over the count of all such records (its denominator), by area and period.
fn representation_cells(
    records: &DataFrame,
    plan: &Plan,
    ii: usize,
    place_of: &[Option<usize>],
    cells: &mut Cells,
) -> Result<()> {
    let ind = &plan.indicators[ii];
    let mut aggs = vec![len().cast(DataType::Float64).alias("__all")];
    aggs.extend(ind.groups.iter().map(|&g| {
        col(group_column(g))
            .cast(DataType::Float64)
            .sum()
            .alias(group_column(g))
    }));
    let grouped = records
        .clone()
        .lazy()
        .filter(col(denominator_column(ii)))
        .group_by([col("__area"), col("__period")])
        .agg(aggs)
        .collect()?;
    let (lookup, periods, all) = (
        grouped.column("__area")?.u32()?,
        grouped.column("__period")?.i32()?,
        grouped.column("__all")?.f64()?,
    );
    for &g in &ind.groups {
        let members = grouped.column(&group_column(g))?.f64()?;
        for r in 0..grouped.height() {
            let (Some(l), Some(p), Some(n), Some(d)) =
                (lookup.get(r), periods.get(r), members.get(r), all.get(r))
            else {
                continue;
            };
            if let Some(a) = place_of.get(l as usize).copied().flatten() {
                cells.insert((ii, Some(g), None, a, p), (n, Some(d)));
            }
        }
    }
    Ok(())
}

/// Residents by population condition, each selected once.
struct Residents<'a> {
    inputs: &'a Inputs<'a>,
    /// By the condition's text (`""`: every resident): (area code, year) → residents.
    by_code: BTreeMap<String, BTreeMap<(String, i32), f64>>,
    /// The same, summed to every place of the output (areas, regions, the total); a place with
    /// an area that has no estimate is left out.
    by_place: BTreeMap<String, BTreeMap<(usize, i32), f64>>,
}

impl<'a> Residents<'a> {
    fn new(inputs: &'a Inputs<'a>) -> Self {
        Residents {
            inputs,
            by_code: BTreeMap::new(),
            by_place: BTreeMap::new(),
        }
    }

    /// Residents counted by indicator `ii` for group `g` (`None`: every resident, unless the
    /// indicator names its own population), by area code and year.
    fn of(
        &mut self,
        plan: &Plan,
        ii: usize,
        g: Option<usize>,
    ) -> Result<BTreeMap<(String, i32), f64>> {
        let ind = &plan.indicators[ii];
        let condition = ind.population_of(plan, g);
        let key = condition.map(|c| c.sql.clone()).unwrap_or_default();
        if let Some(found) = self.by_code.get(&key) {
            return Ok(found.clone());
        }
        let map = match condition {
            None => {
                let p = self.inputs.population;
                let (pc, py, pv) = (
                    p.column("area_code")?.str()?,
                    p.column("year")?.i32()?,
                    p.column("population")?.f64()?,
                );
                let mut map = BTreeMap::new();
                for r in 0..p.height() {
                    if let (Some(c), Some(y), Some(v)) = (pc.get(r), py.get(r), pv.get(r)) {
                        map.insert((c.to_string(), y), v);
                    }
                }
                map
            }
            Some(c) => match self.inputs.structure {
                Some(s) => crate::ingest::population::select(s, c.filter.clone())?,
                None => {
                    return Err(crate::error::Error::Config(format!(
                        "indicator '{}' counts residents where {}, which needs a population file with `sex` and `age_band` columns; the population source has neither",
                        ind.id, c.sql
                    )))
                }
            },
        };
        self.by_code.insert(key, map.clone());
        Ok(map)
    }

    /// [`Residents::of`] for every place of the output, by place and year.
    fn by_place(
        &mut self,
        plan: &Plan,
        areas: &[OutArea],
        ii: usize,
        g: Option<usize>,
    ) -> Result<BTreeMap<(usize, i32), f64>> {
        let key = plan.indicators[ii]
            .population_of(plan, g)
            .map(|c| c.sql.clone())
            .unwrap_or_default();
        if let Some(found) = self.by_place.get(&key) {
            return Ok(found.clone());
        }
        let by_code = self.of(plan, ii, g)?;
        let years: std::collections::BTreeSet<i32> = by_code.keys().map(|k| k.1).collect();
        let mut map = BTreeMap::new();
        for &y in &years {
            // (sum, areas with an estimate, areas) per place.
            let mut sums = vec![(0.0, 0usize, 0usize); areas.len()];
            for (a, area) in areas.iter().enumerate() {
                if area.level != Level::Area {
                    continue;
                }
                let v = by_code.get(&(area.code.clone(), y)).copied();
                for place in [Some(a), area.region, Some(0)].into_iter().flatten() {
                    let e = &mut sums[place];
                    e.0 += v.unwrap_or(0.0);
                    e.1 += v.is_some() as usize;
                    e.2 += 1;
                }
            }
            for (place, (sum, with, all)) in sums.into_iter().enumerate() {
                if all > 0 && with == all {
                    map.insert((place, y), sum);
                }
            }
        }
        self.by_place.insert(key, map.clone());
        Ok(map)
    }
}

/// Replaces the rows of each rolling indicator with the sums of its counts over the periods
/// ending with each row's; a window with a period missing (the first periods of the data)
/// gives no row.
fn rolling(plan: &Plan, rows: Vec<CountRow>) -> Vec<CountRow> {
    if plan.indicators.iter().all(|i| i.rolling.is_none()) {
        return rows;
    }
    let single: BTreeMap<RowKey, (f64, Option<f64>)> = rows
        .iter()
        .filter(|r| plan.indicators[r.indicator].rolling.is_some())
        .map(|r| (r.key(), (r.numerator, r.denominator)))
        .collect();
    let mut out = Vec::with_capacity(rows.len());
    for r in rows {
        let Some(n) = plan.indicators[r.indicator].rolling else {
            out.push(r);
            continue;
        };
        let mut sum = Some((0.0, Some(0.0)));
        for p in period::window(plan.period, r.period, n) {
            sum = match (sum, single.get(&(r.indicator, r.group, r.slice, r.area, p))) {
                (Some((x, d)), Some(&(y, e))) => Some((x + y, d.zip(e).map(|(d, e)| d + e))),
                _ => None,
            };
        }
        if let Some((numerator, denominator)) = sum {
            out.push(CountRow {
                numerator,
                denominator,
                ..r
            });
        }
    }
    out
}
