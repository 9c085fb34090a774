//! The published indicator table in Fingertips long format (CSV with shorthand markers, Parquet
//! with typed columns and nulls), built only from a [`DisclosedTable`].

use super::neutralise;
use crate::disclosure::{Cell, DisclosedTable, PublishedRow};
use crate::error::Result;
use crate::indicators::period;
use crate::pipeline::plan::Plan;
use polars::prelude::*;

pub const COLUMNS: [&str; 26] = [
    "IndicatorID",
    "IndicatorName",
    "AreaCode",
    "AreaName",
    "AreaType",
    "ParentCode",
    "Sex",
    "Age",
    "CategoryType",
    "Category",
    "Timeperiod",
    "TimeperiodSortable",
    "Value",
    "LowerCI95.0limit",
    "UpperCI95.0limit",
    "LowerCI99.8limit",
    "UpperCI99.8limit",
    "Count",
    "Denominator",
    "Valuenote",
    "RecentTrend",
    "ComparedtoEnglandvalueorpercentiles",
    "ComparedtoRegionvalueorpercentiles",
    "PopulationGroup",
    "FunnelSignificance",
    "ComparedtoThreshold",
];

/// Where an area's value falls in the funnel plot of every area, in PHEindicatormethods'
/// words, or `Not compared`.
pub fn funnel_label(r: &PublishedRow) -> &'static str {
    r.funnel.map_or("Not compared", |s| s.label())
}

/// The value against the indicator's threshold, or `Not compared`.
pub fn threshold_label(r: &PublishedRow) -> &'static str {
    match r.at_threshold {
        Some(true) => "At or above threshold",
        Some(false) => "Below threshold",
        None => "Not compared",
    }
}

/// Formats a number for CSV: whole numbers without decimals, others to 6 decimal places.
pub fn number(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        format!("{v:.0}")
    } else {
        let s = format!("{v:.6}");
        s.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

fn cell_text(c: Cell) -> String {
    match c {
        Cell::Value(v) => number(v),
        other => other.marker().to_string(),
    }
}

fn limit_text(value: Cell, ci: Option<(f64, f64)>, lower: bool) -> String {
    match (value, ci) {
        (Cell::Value(_), Some((lo, hi))) => number(if lower { lo } else { hi }),
        (Cell::Value(_), None) => "[x]".to_string(),
        (other, _) => other.marker().to_string(),
    }
}

/// Text fields of one row, shared by the CSV, Parquet and spreadsheet writers.
pub struct Labels<'a> {
    pub id: &'a str,
    pub name: &'a str,
    pub code: &'a str,
    pub area: &'a str,
    pub area_type: &'static str,
    pub parent: &'a str,
    pub sex: &'a str,
    pub age: &'a str,
    pub category_type: &'a str,
    pub category: &'a str,
    pub period: &'a str,
    pub sortable: i64,
    /// The population group's label (also in `Category` unless a breakdown uses it).
    pub group: &'a str,
}

/// Every label a row can carry, made once: rows borrow theirs instead of building strings.
/// Text that came from input files or the pipeline is neutralised so that it cannot start a
/// spreadsheet formula.
pub struct Labeller<'a> {
    plan: &'a Plan,
    out_areas: &'a [crate::indicators::OutArea],
    /// Id and name of each indicator.
    indicators: Vec<(String, String)>,
    /// Code, name and parent code of each area.
    areas: Vec<[String; 3]>,
    groups: Vec<String>,
    /// Label and category labels of each breakdown.
    breakdowns: Vec<(String, Vec<String>)>,
    /// Label and sortable key of each period, by period key.
    periods: rustc_hash::FxHashMap<i32, (String, i64)>,
    /// Labels of rolling periods: (periods summed, last period) → `2021/22 - 23/24`.
    rolling: rustc_hash::FxHashMap<(u32, i32), String>,
}

impl<'a> Labeller<'a> {
    /// Labels for `rows` over `areas` (a published or a restricted table's).
    pub fn new(
        plan: &'a Plan,
        rows: &'a [crate::disclosure::PublishedRow],
        areas: &'a [crate::indicators::OutArea],
    ) -> Labeller<'a> {
        let n = |s: &str| neutralise(s);
        Labeller {
            plan,
            out_areas: areas,
            indicators: plan
                .indicators
                .iter()
                .map(|i| (n(&i.id), n(&i.name)))
                .collect(),
            areas: areas
                .iter()
                .map(|a| [n(&a.code), n(&a.name), n(&a.parent_code)])
                .collect(),
            groups: plan.groups.iter().map(|g| n(&g.label)).collect(),
            breakdowns: plan
                .breakdowns
                .iter()
                .map(|b| (n(&b.label), b.categories.iter().map(|c| n(c)).collect()))
                .collect(),
            // Each distinct period of the rows labelled once.
            periods: rows
                .iter()
                .map(|r| r.period)
                .collect::<std::collections::BTreeSet<i32>>()
                .into_iter()
                .map(|p| {
                    (
                        p,
                        (
                            period::label(plan.period, p),
                            period::sortable(plan.period, p),
                        ),
                    )
                })
                .collect(),
            rolling: plan
                .indicators
                .iter()
                .filter_map(|i| i.rolling)
                .flat_map(|n| rows.iter().map(move |r| (n, r.period)))
                .map(|(n, p)| ((n, p), period::rolling_label(plan.period, p, n)))
                .collect(),
        }
    }

    /// A row's labels. A breakdown category goes in `Sex`, `Age` or `CategoryType`/`Category`,
    /// as the breakdown says; otherwise `Category` holds the population group.
    pub fn labels(&self, r: &PublishedRow) -> Labels<'_> {
        use crate::pipeline::spec::BreakdownColumn;
        let (id, name) = &self.indicators[r.indicator];
        let [code, area, parent] = &self.areas[r.area];
        let group = r.group.map_or("", |g| self.groups[g].as_str());
        let (mut category_type, mut category) = match r.group {
            Some(_) => ("Population group", group),
            None => ("", ""),
        };
        let (mut sex, mut age) = ("Persons", "All ages");
        if let Some((b, c)) = r.slice {
            let (label, categories) = &self.breakdowns[b];
            let value = categories[c].as_str();
            match self.plan.breakdowns[b].column {
                BreakdownColumn::Sex => sex = value,
                BreakdownColumn::Age => age = value,
                BreakdownColumn::Category => {
                    category_type = label;
                    category = value;
                }
            }
        }
        let (mut period, sortable) = {
            let (l, s) = &self.periods[&r.period];
            (l.as_str(), s)
        };
        if let Some(n) = self.plan.indicators[r.indicator].rolling {
            period = &self.rolling[&(n, r.period)];
        }
        Labels {
            id,
            name,
            code,
            area,
            area_type: self.out_areas[r.area].area_type(),
            parent,
            sex,
            age,
            category_type,
            category,
            period,
            sortable: *sortable,
            group,
        }
    }
}

/// The indicator table as CSV bytes.
pub fn indicators_csv(plan: &Plan, table: &DisclosedTable) -> Result<Vec<u8>> {
    indicator_rows_csv(plan, table.rows(), table.areas(), None)
}

/// Every row of a restricted file carries this in its first column.
pub const RESTRICTED_MARK: &str = "RESTRICTED: unsuppressed figures, not for publication";

/// The unsuppressed indicator table, for a restricted folder: every row is marked.
pub fn restricted_csv(plan: &Plan, table: &crate::disclosure::RestrictedTable) -> Result<Vec<u8>> {
    indicator_rows_csv(plan, table.rows(), table.areas(), Some(RESTRICTED_MARK))
}

fn indicator_rows_csv(
    plan: &Plan,
    rows: &[crate::disclosure::PublishedRow],
    areas: &[crate::indicators::OutArea],
    mark: Option<&str>,
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| crate::error::Error::Internal(e.to_string());
    let mut header: Vec<&str> = mark.map(|_| "Restricted").into_iter().collect();
    header.extend(COLUMNS);
    w.write_record(&header).map_err(err)?;
    let labeller = Labeller::new(plan, rows, areas);
    for r in rows {
        let l = labeller.labels(r);
        let mut record: Vec<std::borrow::Cow<str>> = mark.map(Into::into).into_iter().collect();
        record.extend([
            l.id.into(),
            l.name.into(),
            l.code.into(),
            l.area.into(),
            l.area_type.into(),
            l.parent.into(),
            l.sex.into(),
            l.age.into(),
            l.category_type.into(),
            l.category.into(),
            l.period.into(),
            l.sortable.to_string().into(),
            cell_text(r.value).into(),
            limit_text(r.value, r.ci95, true).into(),
            limit_text(r.value, r.ci95, false).into(),
            limit_text(r.value, r.ci998, true).into(),
            limit_text(r.value, r.ci998, false).into(),
            cell_text(r.count).into(),
            cell_text(r.denominator).into(),
            r.note.as_str().into(),
            r.trend.label().into(),
            r.vs_total.label().into(),
            r.vs_region.label().into(),
            l.group.into(),
            funnel_label(r).into(),
            threshold_label(r).into(),
        ]);
        w.write_record(record.iter().map(|f| f.as_bytes()))
            .map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::Error::Internal(e.to_string()))
}

/// The indicator table as a typed frame (suppressed and missing numbers are null).
pub fn indicators_frame(plan: &Plan, table: &DisclosedTable) -> Result<DataFrame> {
    let rows = table.rows();
    let labeller = Labeller::new(plan, rows, table.areas());
    let ls: Vec<Labels> = rows.iter().map(|r| labeller.labels(r)).collect();
    fn text<'b>(name: &str, n: usize, f: &dyn Fn(usize) -> &'b str) -> Column {
        Column::new(name.into(), (0..n).map(f).collect::<Vec<&str>>())
    }
    let n = rows.len();
    let num = |name: &str, f: &dyn Fn(&PublishedRow) -> Option<f64>| {
        Column::new(
            name.into(),
            rows.iter().map(f).collect::<Vec<Option<f64>>>(),
        )
    };
    let lim = |ci: Option<(f64, f64)>, v: Cell, lower: bool| {
        v.value()
            .and(ci)
            .map(|(lo, hi)| if lower { lo } else { hi })
    };
    let columns = vec![
        text("IndicatorID", n, &|i| ls[i].id),
        text("IndicatorName", n, &|i| ls[i].name),
        text("AreaCode", n, &|i| ls[i].code),
        text("AreaName", n, &|i| ls[i].area),
        text("AreaType", n, &|i| ls[i].area_type),
        text("ParentCode", n, &|i| ls[i].parent),
        text("Sex", n, &|i| ls[i].sex),
        text("Age", n, &|i| ls[i].age),
        text("CategoryType", n, &|i| ls[i].category_type),
        text("Category", n, &|i| ls[i].category),
        text("Timeperiod", n, &|i| ls[i].period),
        Column::new(
            "TimeperiodSortable".into(),
            ls.iter().map(|l| l.sortable).collect::<Vec<i64>>(),
        ),
        num("Value", &|r| r.value.value()),
        num("LowerCI95.0limit", &|r| lim(r.ci95, r.value, true)),
        num("UpperCI95.0limit", &|r| lim(r.ci95, r.value, false)),
        num("LowerCI99.8limit", &|r| lim(r.ci998, r.value, true)),
        num("UpperCI99.8limit", &|r| lim(r.ci998, r.value, false)),
        num("Count", &|r| r.count.value()),
        num("Denominator", &|r| r.denominator.value()),
        text("Valuenote", n, &|i| &rows[i].note),
        text("RecentTrend", n, &|i| rows[i].trend.label()),
        text("ComparedtoEnglandvalueorpercentiles", n, &|i| {
            rows[i].vs_total.label()
        }),
        text("ComparedtoRegionvalueorpercentiles", n, &|i| {
            rows[i].vs_region.label()
        }),
        text("PopulationGroup", n, &|i| ls[i].group),
        text("FunnelSignificance", n, &|i| funnel_label(&rows[i])),
        text("ComparedtoThreshold", n, &|i| threshold_label(&rows[i])),
    ];
    Ok(DataFrame::new(rows.len(), columns)?)
}

/// The frame as Parquet bytes (uncompressed statistics off, for byte-stable output).
pub fn parquet_bytes(df: &mut DataFrame) -> Result<Vec<u8>> {
    let mut buf = Vec::new();
    ParquetWriter::new(&mut buf)
        .with_compression(ParquetCompression::Zstd(None))
        .set_parallel(false)
        .finish(df)?;
    Ok(buf)
}

pub const GAP_COLUMNS: [&str; 24] = [
    "IndicatorID",
    "IndicatorName",
    "AreaCode",
    "AreaName",
    "AreaType",
    "Timeperiod",
    "TimeperiodSortable",
    "Group",
    "ReferenceGroup",
    "GroupValue",
    "ReferenceValue",
    "Difference",
    "DifferenceLowerCI95.0limit",
    "DifferenceUpperCI95.0limit",
    "DifferenceLowerCI99.8limit",
    "DifferenceUpperCI99.8limit",
    "Ratio",
    "RatioLowerCI95.0limit",
    "RatioUpperCI95.0limit",
    "RatioLowerCI99.8limit",
    "RatioUpperCI99.8limit",
    "Significance",
    "ComparedtoReference",
    "Note",
];

/// The equality gaps as CSV bytes (the same rows as the spreadsheet's gaps sheet).
pub fn gaps_csv(
    plan: &Plan,
    table: &DisclosedTable,
    gaps: &[crate::indicators::gaps::Gap],
) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| crate::error::Error::Internal(e.to_string());
    w.write_record(GAP_COLUMNS).map_err(err)?;
    for g in gaps {
        let record: Vec<String> = super::sheets::gap_row(plan, table, g)
            .iter()
            .map(super::sheets::Value::as_text)
            .collect();
        w.write_record(&record).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::Error::Internal(e.to_string()))
}
