//! The published indicator table in Fingertips long format (CSV with shorthand markers, Parquet
//! with typed columns and nulls), built only from a [`DisclosedTable`].

use super::neutralise;
use crate::disclosure::{Cell, DisclosedTable, PublishedRow};
use crate::error::Result;
use crate::indicators::period;
use crate::pipeline::plan::Plan;
use polars::prelude::*;

pub const COLUMNS: [&str; 24] = [
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
];

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
pub struct Labels {
    pub id: String,
    pub name: String,
    pub code: String,
    pub area: String,
    pub area_type: &'static str,
    pub parent: String,
    pub sex: String,
    pub age: String,
    pub category_type: String,
    pub category: String,
    pub period: String,
    pub sortable: i64,
    /// The population group's label (also in `Category` unless a breakdown uses it).
    pub group: String,
}

/// A row's labels. A breakdown category goes in `Sex`, `Age` or `CategoryType`/`Category`, as
/// the breakdown says; otherwise `Category` holds the population group.
pub fn labels(plan: &Plan, table: &DisclosedTable, r: &PublishedRow) -> Labels {
    use crate::pipeline::spec::BreakdownColumn;
    let ind = &plan.indicators[r.indicator];
    let area = &table.areas()[r.area];
    let group = r
        .group
        .map(|g| neutralise(&plan.groups[g].label))
        .unwrap_or_default();
    let (mut category_type, mut category) = match r.group {
        Some(_) => ("Population group".to_string(), group.clone()),
        None => (String::new(), String::new()),
    };
    let (mut sex, mut age) = ("Persons".to_string(), "All ages".to_string());
    if let Some((b, c)) = r.slice {
        let breakdown = &plan.breakdowns[b];
        let label = neutralise(&breakdown.categories[c]);
        match breakdown.column {
            BreakdownColumn::Sex => sex = label,
            BreakdownColumn::Age => age = label,
            BreakdownColumn::Category => {
                category_type = neutralise(&breakdown.label);
                category = label;
            }
        }
    }
    // Text that came from input files or the pipeline cannot start a spreadsheet formula.
    Labels {
        id: neutralise(&ind.id),
        name: neutralise(&ind.name),
        code: neutralise(&area.code),
        area: neutralise(&area.name),
        area_type: area.area_type(),
        parent: neutralise(&area.parent_code),
        sex,
        age,
        category_type,
        category,
        period: period::label(plan.period, r.period),
        sortable: period::sortable(plan.period, r.period),
        group,
    }
}

/// The indicator table as CSV bytes.
pub fn indicators_csv(plan: &Plan, table: &DisclosedTable) -> Result<Vec<u8>> {
    indicator_rows_csv(plan, table, None)
}

/// Every row of a restricted file carries this in its first column.
pub const RESTRICTED_MARK: &str = "RESTRICTED: unsuppressed figures, not for publication";

/// The unsuppressed indicator table, for a restricted folder: every row is marked.
pub fn restricted_csv(plan: &Plan, table: &crate::disclosure::RestrictedTable) -> Result<Vec<u8>> {
    indicator_rows_csv(plan, table.unprotected(), Some(RESTRICTED_MARK))
}

fn indicator_rows_csv(plan: &Plan, table: &DisclosedTable, mark: Option<&str>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| crate::error::Error::Internal(e.to_string());
    let mut header: Vec<&str> = mark.map(|_| "Restricted").into_iter().collect();
    header.extend(COLUMNS);
    w.write_record(&header).map_err(err)?;
    for r in table.rows() {
        let l = labels(plan, table, r);
        let mut record: Vec<String> = mark.map(str::to_string).into_iter().collect();
        record.extend([
            l.id,
            l.name,
            l.code,
            l.area,
            l.area_type.to_string(),
            l.parent,
            l.sex,
            l.age,
            l.category_type,
            l.category,
            l.period,
            l.sortable.to_string(),
            cell_text(r.value),
            limit_text(r.value, r.ci95, true),
            limit_text(r.value, r.ci95, false),
            limit_text(r.value, r.ci998, true),
            limit_text(r.value, r.ci998, false),
            cell_text(r.count),
            cell_text(r.denominator),
            r.note.clone(),
            r.trend.label().into(),
            r.vs_total.label().into(),
            r.vs_region.label().into(),
            l.group,
        ]);
        w.write_record(&record).map_err(err)?;
    }
    w.into_inner()
        .map_err(|e| crate::error::Error::Internal(e.to_string()))
}

/// The indicator table as a typed frame (suppressed and missing numbers are null).
pub fn indicators_frame(plan: &Plan, table: &DisclosedTable) -> Result<DataFrame> {
    let rows = table.rows();
    let ls: Vec<Labels> = rows.iter().map(|r| labels(plan, table, r)).collect();
    let text = |name: &str, f: &dyn Fn(usize) -> String| {
        Column::new(name.into(), (0..rows.len()).map(f).collect::<Vec<String>>())
    };
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
        text("IndicatorID", &|i| ls[i].id.clone()),
        text("IndicatorName", &|i| ls[i].name.clone()),
        text("AreaCode", &|i| ls[i].code.clone()),
        text("AreaName", &|i| ls[i].area.clone()),
        text("AreaType", &|i| ls[i].area_type.to_string()),
        text("ParentCode", &|i| ls[i].parent.clone()),
        text("Sex", &|i| ls[i].sex.clone()),
        text("Age", &|i| ls[i].age.clone()),
        text("CategoryType", &|i| ls[i].category_type.clone()),
        text("Category", &|i| ls[i].category.clone()),
        text("Timeperiod", &|i| ls[i].period.clone()),
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
        text("Valuenote", &|i| rows[i].note.clone()),
        text("RecentTrend", &|i| rows[i].trend.label().into()),
        text("ComparedtoEnglandvalueorpercentiles", &|i| {
            rows[i].vs_total.label().into()
        }),
        text("ComparedtoRegionvalueorpercentiles", &|i| {
            rows[i].vs_region.label().into()
        }),
        text("PopulationGroup", &|i| ls[i].group.clone()),
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
