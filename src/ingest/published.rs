//! Published tables (Home Office, UKVI, DfE) read as published, each through a [`Layout`] that
//! maps it to one canonical table: `area_code` (area tables only), `date`, the table's
//! categories (text), `value` (a number, missing where the publisher put a marker) and `marker`
//! (why it is missing).
//!
//! What every layout gets: shorthand markers (`[c]`, `c`, `k`, `[x]`, `:`, `-`, `*`, …) read as
//! missing with the reason kept; labels that differ only in case or spacing between releases
//! unified; `Total` rows dropped deliberately, after checking that they equal the sum of their
//! detail rows, or kept and flagged; area codes of older vintages mapped through the code
//! history, wrong codes corrected by name, and tables that give names only resolved to codes.
//! Every row is accounted for: quarantined, or accepted (in an area, outside the pipeline's
//! areas, or a total row).

use super::lookup::Resolver;
use super::{apply_rules, map_distinct, open, parse_date, Loaded, Opened, Rule};
use crate::error::Result;
use crate::pipeline::plan::Source;
use crate::pipeline::spec::SourceKind;
use polars::prelude::*;
use std::collections::{BTreeMap, HashMap};

/// Where a table's rows are placed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Geography {
    /// A code column and (optionally present) a name column: Asy_D11, Res_D01.
    Code {
        code: &'static str,
        name: &'static str,
    },
    /// Names only, resolved to codes through the lookup: NTS.
    Name(&'static str),
    /// One national figure per row (no area): NRM, DfE national tables.
    National,
}

/// Where a table's dates come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Dating {
    /// An ISO or `DD/MM/YYYY` date column.
    Column(&'static str),
    /// A year column meaning the year ending 31 March (DfE `time_period`).
    YearEndingMarch(&'static str),
    /// No date in the table: the pipeline gives it (`period_end`).
    Declared,
}

/// Whether a figure is a count on a date (a stock) or over the period up to it (a flow).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Measure {
    /// People on a date (asylum support at the quarter end): a period takes its latest date.
    Stock,
    /// Events in the period (arrivals, transfers, referrals): a period sums its dates.
    Flow,
}

/// What happens to `Total` rows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Totals {
    /// Checked against the sum of their detail rows, then left out (counted, not lost).
    Drop,
    /// Kept, with `total = true` (DfE tables, whose totals are the denominators).
    Keep,
}

/// One category column: its canonical name, its published header, whether it must be there, and
/// whether total rows are checked along it.
#[derive(Debug, Clone, Copy)]
pub struct Dim {
    pub name: &'static str,
    pub column: &'static str,
    pub required: bool,
    pub checked: bool,
}

const fn dim(name: &'static str, column: &'static str) -> Dim {
    Dim {
        name,
        column,
        required: true,
        checked: true,
    }
}

const ASY_D11_DIMS: &[Dim] = &[
    dim("support_type", "Support Type"),
    dim("accommodation_type", "Accommodation Type"),
];
const RES_D01_DIMS: &[Dim] = &[dim("scheme", "Resettlement Scheme")];
const NTS_DIMS: &[Dim] = &[
    dim("region", "Region"),
    Dim {
        checked: false,
        ..dim("participates", "Able to participate in the NTS?")
    },
];
const NRM_DIMS: &[Dim] = &[
    dim("first_responder", "First responder"),
    dim("exploitation_type", "Exploitation type"),
    dim("age", "Age at exploitation"),
    dim("gender", "Gender"),
    dim("nationality", "Nationality"),
];
const DFE_DIMS: &[Dim] = &[
    Dim {
        required: false,
        ..dim("care_leaver_age", "care_leaver_age")
    },
    dim("cla_group", "cla_group"),
    dim("characteristic", "characteristic"),
    Dim {
        required: false,
        ..dim("measure", "measure")
    },
];

/// How one published table maps to its canonical table.
#[derive(Debug, Clone, Copy)]
pub struct Layout {
    pub dating: Dating,
    pub geography: Geography,
    /// The default count column (a source may name another with `value = "…"`).
    pub value: &'static str,
    pub dims: &'static [Dim],
    pub measure: Measure,
    pub totals: Totals,
    /// What one unit of `value` is, for the report (e.g. "people on asylum support").
    pub counts: &'static str,
    /// Changes of definition the publisher documents, oldest first.
    pub breaks: &'static [KnownBreak],
}

/// A change of definition in a published series: from the period holding `date` the figures
/// are not comparable with earlier ones. With a `category` (canonical column, value), only
/// indicators that count rows of that category are affected.
#[derive(Debug, Clone, Copy)]
pub struct KnownBreak {
    pub date: &'static str,
    pub category: Option<(&'static str, &'static str)>,
    pub reason: &'static str,
    /// A caveat on the one period holding `date` (a coverage gap), not a change of definition:
    /// noted, but the series is not split.
    pub one_period: bool,
}

/// DfE's documented caveats: the 2023 care-leaver figures exclude Barnsley (the 2023 release's
/// data guidance).
const DFE_BREAKS: &[KnownBreak] = &[KnownBreak {
    date: "2023-03-31",
    category: Some(("cla_group", "Care leavers group")),
    reason: "the DfE's 2023 care-leaver figures exclude Barnsley (the 2023 release's data guidance), so that year is not quite comparable with the others",
    one_period: true,
}];

/// Asy_D11's documented changes: its national placeholder rows (`N/A - Section 4 (pre-2018)`,
/// `N/A - Section 98 (pre-Dec 2022)`, `N/A - Subsistence Only (Dec 2023 - Sep 2024)`) mark when
/// a kind of support moved into or out of the local authority rows.
const ASY_D11_BREAKS: &[KnownBreak] = &[
    KnownBreak {
        date: "2018-03-31",
        category: Some(("support_type", "Section 4")),
        one_period: false,
        reason: "Section 4 support is given by local authority from 2018 Q1; before it, it was one national figure (the source's row 'N/A - Section 4 (pre-2018)'), in no area",
    },
    KnownBreak {
        date: "2022-12-31",
        category: Some(("support_type", "Section 98")),
        one_period: false,
        reason: "Section 98 support is given by local authority from 2022 Q4; before it, it was one national figure (the source's row 'N/A - Section 98 (pre-Dec 2022)'), in no area; area figures include it from this quarter",
    },
    KnownBreak {
        date: "2023-12-31",
        category: Some(("accommodation_type", "Subsistence Only")),
        one_period: false,
        reason: "from December 2023, subsistence-only Section 95 support is given as one national figure (the source's row 'N/A - Subsistence Only (Dec 2023 - Sep 2024)'), no longer by local authority; area figures leave it out from this quarter",
    },
];

/// The layout of each published kind; `None` for records and population.
pub fn layout(kind: SourceKind) -> Option<Layout> {
    Some(match kind {
        SourceKind::AsyD11 => Layout {
            dating: Dating::Column("Date"),
            geography: Geography::Code {
                code: "LAD Code",
                name: "Local Authority",
            },
            value: "People",
            dims: ASY_D11_DIMS,
            measure: Measure::Stock,
            totals: Totals::Drop,
            counts: "people on asylum support at the end of the period",
            breaks: ASY_D11_BREAKS,
        },
        SourceKind::ResD01 => Layout {
            dating: Dating::Column("Date"),
            geography: Geography::Code {
                code: "LAD Code",
                name: "Local Authority",
            },
            value: "Persons",
            dims: RES_D01_DIMS,
            measure: Measure::Flow,
            totals: Totals::Drop,
            counts: "resettlement arrivals in the period",
            breaks: &[],
        },
        SourceKind::Nts => Layout {
            dating: Dating::Column("Date"),
            geography: Geography::Name("Local Authority or HSCT (NI)"),
            value: "Transfers into Local Authority",
            dims: NTS_DIMS,
            measure: Measure::Flow,
            totals: Totals::Drop,
            counts: "children transferred in the period",
            breaks: &[],
        },
        SourceKind::Nrm => Layout {
            dating: Dating::Declared,
            geography: Geography::National,
            value: "People",
            dims: NRM_DIMS,
            measure: Measure::Flow,
            totals: Totals::Drop,
            counts: "referrals in the period",
            breaks: &[],
        },
        SourceKind::DfeUasc => Layout {
            dating: Dating::YearEndingMarch("time_period"),
            geography: Geography::National,
            value: "number",
            dims: DFE_DIMS,
            measure: Measure::Stock,
            totals: Totals::Keep,
            counts: "children on 31 March",
            breaks: DFE_BREAKS,
        },
        SourceKind::Records | SourceKind::Population => return None,
    })
}

/// What one unit of a published table's count is, for the report ("people on asylum support at
/// the end of the period"); "figures" for records and population.
pub fn counts_of(kind: SourceKind) -> &'static str {
    layout(kind).map_or("figures", |l| l.counts)
}

/// Shorthand markers that publishers put in number cells, with what each means. Matched after
/// trimming, case-insensitively.
pub const MARKERS: &[(&str, &str)] = &[
    ("[c]", "confidential: suppressed by the publisher"),
    ("c", "confidential: suppressed by the publisher"),
    ("[x]", "not available"),
    ("x", "not available"),
    ("[z]", "not applicable"),
    ("z", "not applicable"),
    ("[u]", "low reliability"),
    ("k", "rounds to zero but is not zero"),
    ("[k]", "rounds to zero but is not zero"),
    (":", "not available"),
    ("..", "not available"),
    ("-", "nil or not applicable (a dash)"),
    ("*", "suppressed: a small number"),
    ("na", "not available"),
];

/// The canonical table of one published source, ready for indicators.
pub struct PublishedTable {
    pub kind: SourceKind,
    pub measure: Measure,
    pub frame: DataFrame,
}

/// The canonical columns a condition on this kind of table may use (all text).
pub fn dim_names(kind: SourceKind) -> Vec<&'static str> {
    layout(kind)
        .map(|l| l.dims.iter().map(|d| d.name).collect())
        .unwrap_or_default()
}

/// The canonical table's columns a condition may use: the categories as text, `value`, `date`.
pub fn schema(kind: SourceKind) -> Schema {
    let mut fields: Vec<Field> = dim_names(kind)
        .into_iter()
        .map(|d| Field::new(d.into(), DataType::String))
        .collect();
    fields.push(Field::new("date".into(), DataType::Date));
    fields.push(Field::new("value".into(), DataType::Float64));
    fields.push(Field::new("total".into(), DataType::Boolean));
    Schema::from_iter(fields)
}

/// True for a label that means "all of this dimension" (`Total`, `*Total`, `*Total <region>`,
/// `… total`), or a numbered subtotal mixed with its details (DfE: `1. Total White`).
fn is_total_label(s: &str) -> bool {
    let l = s.trim().to_lowercase();
    l == "total" || l.starts_with("*total") || l.ends_with(" total") || numbered_subtotal(&l)
}

/// `<digits>[letter]. total…` with `total` a whole word, in lower case.
fn numbered_subtotal(l: &str) -> bool {
    let rest = l.trim_start_matches(|c: char| c.is_ascii_digit());
    if rest.len() == l.len() {
        return false;
    }
    let rest = match rest.strip_prefix(|c: char| c.is_ascii_lowercase()) {
        Some(r) if r.starts_with(". total") => r,
        _ => rest,
    };
    rest.strip_prefix(". total").is_some_and(|after| {
        !after
            .chars()
            .next()
            .is_some_and(|c| c.is_alphanumeric() || c == '_')
    })
}

/// A total row's value for one dimension: `None` for "all", else the value it is a total within
/// (`*Total East Midlands` is the East Midlands' total; a numbered subtotal is its own value).
fn total_scope(s: &str) -> Option<String> {
    let t = s.trim();
    let l = t.to_lowercase();
    if let Some(rest) = l.strip_prefix("*total") {
        let rest = t[t.len() - rest.len()..].trim();
        return (!rest.is_empty()).then(|| rest.to_string());
    }
    (l != "total" && !l.ends_with(" total")).then(|| t.to_string())
}

/// Reads a published table through its layout.
pub fn load(
    source: &Source,
    area_codes: &[String],
    resolver: &Resolver,
) -> Result<(Loaded, PublishedTable)> {
    let layout = layout(source.kind)
        .ok_or_else(|| crate::error::Error::Internal("no layout for this source kind".into()))?;
    let value_col = source.value.as_deref().unwrap_or(layout.value);
    let mut required: Vec<&str> = vec![value_col];
    match layout.dating {
        Dating::Column(c) | Dating::YearEndingMarch(c) => required.push(c),
        Dating::Declared => {}
    }
    match layout.geography {
        Geography::Code { code, .. } => required.push(code),
        Geography::Name(n) => required.push(n),
        Geography::National => {}
    }
    required.extend(layout.dims.iter().filter(|d| d.required).map(|d| d.column));
    let Opened {
        frame: raw,
        rows_read,
        problems: unreadable,
        mut notes,
    } = open(source, &required)?;
    let present: Vec<String> = raw
        .get_column_names()
        .iter()
        .map(|c| c.to_string())
        .collect();
    let has = |c: &str| present.iter().any(|p| p == c);
    let dims: Vec<Dim> = layout
        .dims
        .iter()
        .copied()
        .filter(|d| has(d.column))
        .collect();

    // Typed columns: the date, the number and the marker.
    let text = col(value_col).str().strip_chars(lit(NULL));
    let lowered = text.clone().str().to_lowercase();
    let markers = Series::new(
        "m".into(),
        MARKERS.iter().map(|(m, _)| *m).collect::<Vec<_>>(),
    );
    let mut marker = lit(NULL).cast(DataType::String);
    for (m, r) in MARKERS.iter().rev() {
        marker = when(lowered.clone().eq(lit(*m)))
            .then(lit(format!("{m}: {r}")))
            .otherwise(marker);
    }
    let marker = marker.alias("marker");
    let is_marker = lowered.is_in(lit(markers).implode(false), false);
    let number = super::number_expr(text.clone());
    let date_column = match layout.dating {
        Dating::Column(c) | Dating::YearEndingMarch(c) => c,
        Dating::Declared => "period_end",
    };
    let mut lf = raw.lazy();
    if layout.dating == Dating::Declared {
        // The pipeline's date, as a column, so that a bad one is reported like a bad cell.
        let end = source.period_end.clone().unwrap_or_default();
        lf = lf.with_column(lit(end).alias("period_end"));
    }
    let date = match layout.dating {
        Dating::YearEndingMarch(c) => {
            let year = col(c)
                .str()
                .strip_chars(lit(NULL))
                .cast(DataType::Int32)
                .cast(DataType::String);
            concat_str([year, lit("-03-31")], "", false)
                .str()
                .to_date(StrptimeOptions {
                    format: Some("%Y-%m-%d".into()),
                    strict: false,
                    exact: true,
                    cache: true,
                })
        }
        _ => parse_date(date_column),
    };
    let typed = lf
        .with_columns([
            date.alias("date"),
            when(is_marker.clone())
                .then(lit(NULL).cast(DataType::Float64))
                .otherwise(number)
                .alias("value"),
            marker,
            is_marker.alias("__is_marker"),
        ])
        .collect()?;
    let mut rules = vec![
        Rule {
            column: value_col,
            fails: col("__is_marker").not().and(
                col("value")
                    .is_null()
                    .or(col("value").lt(lit(0.0)))
                    .or(col("value").is_nan()),
            ),
            reason: format!(
                "is not a non-negative number or a shorthand marker ({})",
                MARKERS
                    .iter()
                    .map(|(m, _)| *m)
                    .filter(|m| *m != "na" && *m != "x" && *m != "z")
                    .collect::<Vec<_>>()
                    .join(" ")
            ),
        },
        Rule {
            column: value_col,
            fails: col("__is_marker").not().and(
                col("value")
                    .is_not_null()
                    .and(col("value").is_finite())
                    .and(col("value").neq(col("value").floor())),
            ),
            reason: "is not a whole number (the published tables count people)".into(),
        },
        Rule {
            column: date_column,
            fails: col("date").is_null(),
            reason: match layout.dating {
                Dating::Column(_) => "is not a valid date (expected YYYY-MM-DD or DD/MM/YYYY)",
                Dating::YearEndingMarch(_) => "is not a year",
                Dating::Declared => "is not a date YYYY-MM-DD (set in the pipeline file)",
            }
            .into(),
        },
    ];
    if let Geography::Code { code, .. } | Geography::Name(code) = layout.geography {
        rules.push(Rule {
            column: code,
            fails: col(code).str().strip_chars(lit(NULL)).is_null(),
            reason: "is missing".into(),
        });
    }
    let (accepted, mut problems) = apply_rules(typed, &rules, &source.id, &source.display_path)?;
    problems.extend(unreadable);
    problems.sort();

    let marked = accepted.column("__is_marker")?.bool()?.sum().unwrap_or(0);
    if marked > 0 {
        let counts = accepted
            .clone()
            .lazy()
            .filter(col("__is_marker"))
            .group_by([col("marker")])
            .agg([len().alias("n")])
            .sort(["marker"], Default::default())
            .collect()?;
        let (m, n) = (counts.column("marker")?.str()?, counts.column("n")?.u32()?);
        let list: Vec<String> = (0..counts.height())
            .map(|i| format!("{} × {}", n.get(i).unwrap_or(0), m.get(i).unwrap_or("")))
            .collect();
        notes.push(format!(
            "{marked} values in column '{value_col}' are shorthand markers, read as missing with the reason kept ({})",
            list.join("; ")
        ));
    }

    // Category labels: trimmed, and one spelling per label that differs only in case or spacing.
    let mut frame = accepted
        .lazy()
        .with_columns(
            dims.iter()
                .map(|d| {
                    col(d.column)
                        .str()
                        .strip_chars(lit(NULL))
                        .fill_null(lit(""))
                        .alias(d.name)
                })
                .collect::<Vec<_>>(),
        )
        .collect()?;
    for d in &dims {
        if let Some(note) = unify_labels(&mut frame, d)? {
            notes.push(note);
        }
    }

    // Total rows: flagged, checked against their detail rows, then dropped or kept.
    let name_col = match layout.geography {
        Geography::Name(n) => Some(n),
        _ => None,
    };
    // The distinct labels of each category column are few: test them in Rust, flag rows by them.
    let mut total_flag = lit(false);
    for d in dims.iter().map(|d| d.name).chain(name_col) {
        let distinct = frame.column(d)?.unique()?;
        let totals: Vec<&str> = distinct
            .str()?
            .iter()
            .flatten()
            .filter(|l| is_total_label(l))
            .collect();
        let totals = Series::new("totals".into(), totals);
        total_flag = total_flag.or(col(d).is_in(lit(totals).implode(false), false));
    }
    let frame = frame
        .lazy()
        .with_column(total_flag.fill_null(lit(false)).alias("total"))
        .collect()?;
    let totals = frame.column("total")?.bool()?.sum().unwrap_or(0) as u64;
    let mut outside: Vec<(String, u64)> = Vec::new();
    let frame = if totals > 0 {
        let checked: Vec<&str> = std::iter::once("date")
            .chain(name_col)
            .chain(dims.iter().filter(|d| d.checked).map(|d| d.name))
            .collect();
        match layout.totals {
            Totals::Drop => {
                notes.push(check_totals(&frame, &checked)?);
                outside.push(("Total rows (checked, then left out)".into(), totals));
                frame.lazy().filter(col("total").not()).collect()?
            }
            Totals::Keep => {
                notes.push(format!(
                    "{totals} total and subtotal rows are kept, flagged `total`, for use as denominators (not checked against their detail rows: the publisher rounds every figure on its own)"
                ));
                frame
            }
        }
    } else {
        frame
    };

    let keep: Vec<Expr> = std::iter::once(col("date"))
        .chain(dims.iter().map(|d| col(d.name)))
        .chain([col("value"), col("marker"), col("total")])
        .collect();
    let table = match layout.geography {
        Geography::National => frame.lazy().select(keep).collect()?,
        Geography::Code { code, name } => {
            let name = has(name).then_some(name);
            place(
                &frame,
                code,
                name,
                keep,
                area_codes,
                resolver,
                layout.counts,
                &mut notes,
                &mut outside,
            )?
        }
        Geography::Name(name) => place_by_name(
            &frame,
            name,
            keep,
            area_codes,
            resolver,
            &mut notes,
            &mut outside,
        )?,
    };
    Ok((
        Loaded {
            frame: table.clone(),
            rows_read,
            problems,
            outside,
            notes,
            tests: Vec::new(),
        },
        PublishedTable {
            kind: source.kind,
            measure: layout.measure,
            frame: table,
        },
    ))
}

/// Gives every label that differs from another only in case or spacing the most common spelling
/// (ties: the first in sort order), and says what changed.
fn unify_labels(frame: &mut DataFrame, d: &Dim) -> Result<Option<String>> {
    let counts = frame
        .clone()
        .lazy()
        .group_by([col(d.name)])
        .agg([len().alias("n")])
        .sort([d.name], Default::default())
        .collect()?;
    let (labels, n) = (counts.column(d.name)?.str()?, counts.column("n")?.u32()?);
    // (label, rows, the label in lower case with single spaces)
    let entries: Vec<(&str, u32, String)> = (0..counts.height())
        .filter_map(|i| {
            let (label, k) = (labels.get(i)?, n.get(i)?);
            let key = label.split_whitespace().collect::<Vec<_>>().join(" ");
            Some((label, k, key.to_lowercase()))
        })
        .collect();
    let mut best: BTreeMap<&str, (u32, &str)> = BTreeMap::new();
    for (label, k, key) in &entries {
        let e = best.entry(key.as_str()).or_insert((0, label));
        if *k > e.0 {
            *e = (*k, label);
        }
    }
    let (mut from, mut to, mut said) = (Vec::new(), Vec::new(), Vec::new());
    for (label, k, key) in &entries {
        let canonical = best[key.as_str()].1;
        if canonical != *label {
            from.push(label.to_string());
            to.push(canonical.to_string());
            said.push(format!("'{label}' ({k} rows) as '{canonical}'"));
        }
    }
    if from.is_empty() {
        return Ok(None);
    }
    let mut relabelled = col(d.name);
    for (f, t) in from.iter().zip(&to) {
        relabelled = when(col(d.name).eq(lit(f.as_str())))
            .then(lit(t.as_str()))
            .otherwise(relabelled);
    }
    let replaced = frame
        .clone()
        .lazy()
        .with_column(relabelled.alias(d.name))
        .collect()?;
    *frame = replaced;
    Ok(Some(format!(
        "column '{}': labels that differ only in case or spacing unified: {}",
        d.column,
        said.join(", ")
    )))
}

/// Checks each total row against the sum of the detail rows it covers (same values on its
/// non-total dimensions; `*Total X` covers X), and says how many agree.
fn check_totals(frame: &DataFrame, dims: &[&str]) -> Result<String> {
    let n = frame.height();
    let total = frame.column("total")?.bool()?;
    let value = frame.column("value")?.f64()?;
    let date = frame.column("date")?.cast(&DataType::String)?;
    let mut cols: Vec<StringChunked> = vec![date.str()?.clone()];
    for d in &dims[1..] {
        cols.push(frame.column(d)?.str()?.clone());
    }
    let key = |i: usize| -> Vec<Option<String>> {
        cols.iter()
            .map(|c| total_scope(c.get(i).unwrap_or("")))
            .collect()
    };
    // Detail rows: full keys with values (a marker makes a key unknown).
    let details: Vec<(Vec<String>, Option<f64>)> = (0..n)
        .filter(|&i| total.get(i) != Some(true))
        .map(|i| {
            (
                cols.iter()
                    .map(|c| c.get(i).unwrap_or("").trim().to_string())
                    .collect(),
                value.get(i),
            )
        })
        .collect();
    let mut sums: HashMap<Vec<bool>, HashMap<Vec<String>, Option<f64>>> = HashMap::new();
    let (mut agree, mut differ, mut unknown) = (0u64, Vec::new(), 0u64);
    for i in (0..n).filter(|&i| total.get(i) == Some(true)) {
        let k = key(i);
        let pattern: Vec<bool> = k.iter().map(Option::is_some).collect();
        let by_key = sums.entry(pattern.clone()).or_insert_with(|| {
            let mut m: HashMap<Vec<String>, Option<f64>> = HashMap::new();
            for (dk, v) in &details {
                let sub: Vec<String> = dk
                    .iter()
                    .zip(&pattern)
                    .filter(|(_, keep)| **keep)
                    .map(|(s, _)| s.clone())
                    .collect();
                let e = m.entry(sub).or_insert(Some(0.0));
                *e = match (*e, v) {
                    (Some(a), Some(b)) => Some(a + b),
                    _ => None,
                };
            }
            m
        });
        let sub: Vec<String> = k.iter().flatten().cloned().collect();
        let sum = by_key.get(&sub).copied().unwrap_or(Some(0.0));
        match (sum, value.get(i)) {
            (Some(s), Some(t)) if (s - t).abs() < 1e-9 => agree += 1,
            (Some(s), Some(t)) => differ.push((sub.join(" / "), t, s)),
            _ => unknown += 1,
        }
    }
    let checked = agree + differ.len() as u64;
    let mut note = format!(
        "{} total rows found; {agree} of {checked} checked equal the sum of their detail rows",
        agree + differ.len() as u64 + unknown
    );
    if unknown > 0 {
        note.push_str(&format!(
            " ({unknown} could not be checked: a marker on the total or a detail row)"
        ));
    }
    if !differ.is_empty() {
        let examples: Vec<String> = differ
            .iter()
            .take(3)
            .map(|(k, t, s)| format!("{k}: total {t}, details sum to {s}"))
            .collect();
        note.push_str(&format!(
            "; {} differ, e.g. {}",
            differ.len(),
            examples.join("; ")
        ));
    }
    Ok(note)
}

/// Places rows by (code, name): older codes through the code history, a name that belongs to
/// another area over a wrong code. Rows outside the pipeline's areas are counted by code.
#[allow(clippy::too_many_arguments)]
fn place(
    frame: &DataFrame,
    code: &str,
    name: Option<&str>,
    keep: Vec<Expr>,
    area_codes: &[String],
    resolver: &Resolver,
    counts: &str,
    notes: &mut Vec<String>,
    outside: &mut Vec<(String, u64)>,
) -> Result<DataFrame> {
    let name_expr = match name {
        Some(n) => col(n).str().strip_chars(lit(NULL)),
        None => lit(NULL).cast(DataType::String),
    };
    let all = frame
        .clone()
        .lazy()
        .with_columns([
            col(code).str().strip_chars(lit(NULL)).alias("__code"),
            name_expr.alias("__name"),
        ])
        .collect()?;
    // Resolve each distinct (code, name) pair once, then join the answer back to the rows.
    let pairs =
        all.select(["__code", "__name"])?
            .unique_stable(None, UniqueKeepStrategy::First, None)?;
    let (pc, pn) = (
        pairs.column("__code")?.str()?,
        pairs.column("__name")?.str()?,
    );
    let mut mapped = Vec::with_capacity(pairs.height());
    let mut corrected = Vec::with_capacity(pairs.height());
    for i in 0..pairs.height() {
        let (code, by_name) = resolver.resolve(pc.get(i).unwrap_or(""), pn.get(i));
        mapped.push(code);
        corrected.push(by_name);
    }
    let mapping = DataFrame::new(
        pairs.height(),
        vec![
            pairs.column("__code")?.clone(),
            pairs.column("__name")?.clone(),
            Column::new("area_code".into(), mapped),
            Column::new("__corrected".into(), corrected),
        ],
    )?;
    let all = all
        .lazy()
        .join(
            mapping.lazy(),
            [col("__code"), col("__name")],
            [col("__code"), col("__name")],
            JoinArgs {
                nulls_equal: true,
                ..JoinArgs::new(JoinType::Left)
            },
        )
        .collect()?;
    let fixes = all
        .clone()
        .lazy()
        .filter(col("__corrected"))
        .group_by([col("__code"), col("__name"), col("area_code")])
        .agg([len().alias("rows")])
        .sort(["__code", "__name"], Default::default())
        .collect()?;
    if fixes.height() > 0 {
        let n: u64 = fixes
            .column("rows")?
            .cast(&DataType::UInt64)?
            .u64()?
            .sum()
            .unwrap_or(0);
        let (fc, fnm, fa) = (
            fixes.column("__code")?.str()?,
            fixes.column("__name")?.str()?,
            fixes.column("area_code")?.str()?,
        );
        let examples: Vec<String> = (0..fixes.height().min(5))
            .map(|i| {
                format!(
                    "{} \"{}\" → {}",
                    fc.get(i).unwrap_or(""),
                    fnm.get(i).unwrap_or(""),
                    fa.get(i).unwrap_or("")
                )
            })
            .collect();
        notes.push(format!(
            "{n} rows carry a LAD code that belongs to another area than their Local Authority name; they were placed by name (e.g. {})",
            examples.join("; ")
        ));
    }
    let older: Vec<&str> = resolver
        .history
        .iter()
        .filter(|(old, new)| old != new)
        .map(|(old, _)| old.as_str())
        .collect();
    let older = Series::new("older".into(), older);
    let remapped = all
        .clone()
        .lazy()
        .filter(
            col("__code")
                .is_in(lit(older).implode(false), false)
                .and(col("__corrected").not()),
        )
        .collect()?
        .height();
    if remapped > 0 {
        notes.push(format!("{remapped} rows use LAD codes of older vintages; they were mapped to April 2023 areas through the code history"));
    }
    let districts: Vec<&str> = resolver
        .parent
        .iter()
        .filter(|(lad, area)| lad != area)
        .map(|(lad, _)| lad.as_str())
        .collect();
    if !districts.is_empty() {
        let districts = Series::new("districts".into(), districts);
        let summed = all
            .clone()
            .lazy()
            .filter(col("__code").is_in(lit(districts).implode(false), false))
            .collect()?
            .height();
        if summed > 0 {
            notes.push(format!(
                "{summed} rows for districts were summed to their upper-tier authority"
            ));
        }
    }
    // Rows whose code is no GSS code at all ('Unknown', 'N/A - Section 98 (pre-Dec 2022)')
    // belong to no local authority anywhere: they are kept for the total.
    let all = all
        .lazy()
        .with_column(
            col("area_code")
                .str()
                .contains(lit(GSS_CODE), false)
                .not()
                .fill_null(lit(true))
                .alias("__unallocated"),
        )
        .collect()?;
    if let Some(note) = unallocated_note(&all, counts)? {
        notes.push(note);
    }
    let all = all
        .lazy()
        .with_column(
            when(col("__unallocated"))
                .then(lit(UNALLOCATED))
                .otherwise(lit(NULL).cast(DataType::String))
                .alias("__special"),
        )
        .collect()?;
    split_outside(all, keep, area_codes, outside)
}

/// Places rows that give an area's name only, resolving each distinct name once.
fn place_by_name(
    frame: &DataFrame,
    name: &str,
    keep: Vec<Expr>,
    area_codes: &[String],
    resolver: &Resolver,
    notes: &mut Vec<String>,
    outside: &mut Vec<(String, u64)>,
) -> Result<DataFrame> {
    let all = frame
        .clone()
        .lazy()
        .with_column(col(name).str().strip_chars(lit(NULL)).alias("__name"))
        .collect()?;
    let (mut resolved, mut unresolved) = (0, 0);
    let all = map_distinct(all, "__name", "area_code", |n| {
        let code = resolver.by_name(n);
        match code {
            Some(_) => resolved += 1,
            None => unresolved += 1,
        }
        code.map(str::to_string)
    })?;
    notes.push(format!(
        "{resolved} area names resolved to codes through the lookup and code history{}",
        if unresolved == 0 {
            String::new()
        } else {
            format!(
                "; {unresolved} names are not areas of this pipeline (e.g. upper-tier counties, other nations) and are counted apart"
            )
        }
    ));
    // A former county split between successors that are areas here (Cumbria): its rows are
    // kept, apart, for the region and total; the successors are not available for its periods.
    let mut former = Vec::new();
    let all = map_distinct(all, "__name", "__special", |n| {
        let (county, _, successors) = super::lookup::split_county(n)?;
        if resolver.by_name(n).is_some()
            || !successors.iter().any(|s| area_codes.iter().any(|a| a == s))
        {
            return None;
        }
        if !former.contains(county) {
            former.push(*county);
        }
        Some(format!("{FORMER}{county}"))
    })?;
    if !former.is_empty() {
        notes.push(format!(
            "rows for {} (former counties, each split between unitary authorities) are kept apart: their figures count in the region and the total, and the successor authorities are shown as [x] (not available) for those periods, since the source gives them no figure of their own",
            former.join(" and ")
        ));
    }
    let all = all
        .lazy()
        .with_column(col("area_code").fill_null(col("__name")))
        .collect()?;
    split_outside(all, keep, area_codes, outside)
}

/// The `area_code` of rows that give no local authority at all (`Unknown`, `N/A`, national
/// placeholder rows such as `N/A - Section 98 (pre-Dec 2022)`): they count in the pipeline's
/// total, never in an area or region.
pub const UNALLOCATED: &str = "*unallocated*";

/// A whole number with thousands separators (`1,335`).
pub fn grouped(v: f64) -> String {
    let digits = format!("{:.0}", v.abs());
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// The `area_code` prefix of rows for a former county split between successors (NTS's
/// `Cumbria`): `*former*Cumbria`. Their figures count in the region and total; the successors
/// are not available for those periods.
pub const FORMER: &str = "*former*";

/// A GSS code: a letter for the nation and eight digits (`E06000010`).
const GSS_CODE: &str = r"^[EWSNK][0-9]{8}$";

/// Says how much of a code table's figures have no local authority: rows, the sum, and the
/// period where the share is largest, against everything the source lists for that date.
fn unallocated_note(all: &DataFrame, counts: &str) -> Result<Option<String>> {
    let by_date = all
        .clone()
        .lazy()
        .group_by([col("date")])
        .agg([
            col("value").filter(col("__unallocated")).sum().alias("u"),
            col("value").sum().alias("all"),
            col("__unallocated").sum().alias("rows"),
        ])
        .filter(col("rows").gt(lit(0)))
        .sort(["date"], Default::default())
        .collect()?;
    if by_date.height() == 0 {
        return Ok(None);
    }
    let date = by_date.column("date")?.cast(&DataType::String)?;
    let date = date.str()?;
    let (u, a) = (by_date.column("u")?.f64()?, by_date.column("all")?.f64()?);
    let rows: u64 = by_date
        .column("rows")?
        .cast(&DataType::UInt64)?
        .u64()?
        .sum()
        .unwrap_or(0);
    let share = |i: usize| {
        let (x, y) = (u.get(i).unwrap_or(0.0), a.get(i).unwrap_or(0.0));
        if y > 0.0 {
            x / y
        } else {
            0.0
        }
    };
    let most = (0..by_date.height())
        .max_by(|&i, &j| share(i).total_cmp(&share(j)).then(j.cmp(&i)))
        .unwrap_or(0);
    let last = by_date.height() - 1;
    let say = |i: usize| {
        format!(
            "{}, {} of {} ({:.1}%)",
            date.get(i).unwrap_or(""),
            grouped(u.get(i).unwrap_or(0.0)),
            grouped(a.get(i).unwrap_or(0.0)),
            100.0 * share(i)
        )
    };
    Ok(Some(format!(
        "{rows} {} on {} {} no local authority ('Unknown', 'N/A' or a national placeholder row); their {counts} count in the pipeline's total only, in no area or region. Of everything the source lists for the date: latest {}; largest share {}",
        if rows == 1 { "row" } else { "rows" },
        by_date.height(),
        if by_date.height() == 1 { "date gives" } else { "dates give" },
        say(last),
        say(most)
    )))
}

/// Keeps rows in the pipeline's areas and counts the others by code (or name). Rows that give
/// no local authority at all are kept too, as [`UNALLOCATED`], for the total.
fn split_outside(
    all: DataFrame,
    keep: Vec<Expr>,
    area_codes: &[String],
    outside: &mut Vec<(String, u64)>,
) -> Result<DataFrame> {
    let code = "area_code";
    let codes = Series::new("codes".into(), area_codes);
    let all = all
        .lazy()
        .with_column(
            col(code)
                .is_in(lit(codes).implode(false), false)
                .alias("__ours"),
        )
        .collect()?;
    let all = if all.get_column_names().iter().any(|c| *c == "__special") {
        all.lazy()
            .with_columns([
                col("__ours")
                    .or(col("__special").is_not_null())
                    .alias("__kept"),
                when(col("__special").is_not_null())
                    .then(col("__special"))
                    .otherwise(col(code))
                    .alias("__placed"),
            ])
            .collect()?
    } else {
        all.lazy()
            .with_columns([col("__ours").alias("__kept"), col(code).alias("__placed")])
            .collect()?
    };
    let rows = all
        .clone()
        .lazy()
        .filter(col("__ours").not())
        .group_by([col(code)])
        .agg([len().alias("rows")])
        .sort([code], Default::default())
        .collect()?;
    let (c, n) = (rows.column(code)?.str()?, rows.column("rows")?.u32()?);
    outside.extend((0..rows.height()).map(|i| {
        (
            c.get(i).unwrap_or("").to_string(),
            n.get(i).unwrap_or(0) as u64,
        )
    }));
    Ok(all
        .lazy()
        .filter(col("__kept"))
        .select(
            std::iter::once(col("__placed").alias(code))
                .chain(keep)
                .collect::<Vec<_>>(),
        )
        .collect()?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn whole_numbers_are_grouped_in_thousands() {
        assert_eq!(grouped(0.0), "0");
        assert_eq!(grouped(999.0), "999");
        assert_eq!(grouped(1335.0), "1,335");
        assert_eq!(grouped(101517.0), "101,517");
        assert_eq!(grouped(1234567.0), "1,234,567");
        assert_eq!(grouped(-1000.0), "-1,000");
    }

    #[test]
    fn total_labels_and_their_scope() {
        assert!(is_total_label("Total"));
        assert!(is_total_label("*Total"));
        assert!(is_total_label("*Total East Midlands"));
        assert!(is_total_label("Local Authority total"));
        assert!(!is_total_label("Totally Fictional"));
        assert!(is_total_label("1. Total White"));
        assert!(is_total_label("3a. Total Asian"));
        assert!(!is_total_label("1. Totally"));
        assert!(!is_total_label("N1. Abuse or neglect"));
        assert_eq!(total_scope("1. Total White"), Some("1. Total White".into()));
        assert_eq!(
            total_scope("*Total East Midlands"),
            Some("East Midlands".into())
        );
        assert_eq!(total_scope("*Total"), None);
        assert_eq!(total_scope("Total"), None);
        assert_eq!(total_scope("Kent"), Some("Kent".into()));
    }

    #[test]
    fn totals_are_checked_against_their_detail_rows() {
        let df = df!(
            "date" => ["2023-09-30"; 6],
            "region" => ["East", "East", "*Total East", "West", "*Total West", "*Total"],
            "la" => ["A", "B", "*Total", "C", "*Total", "*Total"],
            "value" => [Some(1.0), Some(2.0), Some(3.0), Some(5.0), Some(6.0), Some(8.0)],
            "total" => [false, false, true, false, true, true],
        )
        .unwrap();
        let note = check_totals(&df, &["date", "region", "la"]).unwrap();
        assert!(note.contains("2 of 3 checked equal"), "{note}");
        assert!(note.contains("West: total 6, details sum to 5"), "{note}");
    }
}
