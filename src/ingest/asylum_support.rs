//! Home Office Asy_D11: people on asylum support by local authority at quarter end.

use super::lookup::Resolver;
use super::{apply_rules, open, parse_date, Loaded, Opened, Rule};
use crate::error::Result;
use crate::pipeline::plan::Source;
use polars::prelude::*;

/// Reads Asy_D11. Rows whose `LAD Code` is not in `area_codes` are accepted but kept out of
/// area figures, and counted in `outside`.
pub fn load(source: &Source, area_codes: &[String], resolver: &Resolver) -> Result<Loaded> {
    let Opened {
        frame: raw,
        rows_read,
        problems: unreadable,
        notes: read_notes,
    } = open(source, &["Date", "LAD Code", "People"])?;
    let typed = raw
        .lazy()
        .with_columns([
            parse_date("Date").alias("date"),
            col("People")
                .str()
                .strip_chars(lit(NULL))
                .str()
                .replace_all(lit(","), lit(""), true)
                .cast(DataType::Float64)
                .alias("people"),
        ])
        .collect()?;
    let rules = [
        Rule {
            column: "Date",
            fails: col("date").is_null(),
            reason: "is not a valid date (expected YYYY-MM-DD or DD/MM/YYYY)".into(),
        },
        Rule {
            column: "People",
            fails: col("people").is_null().or(col("people").lt(lit(0.0))),
            reason: "is not a non-negative count".into(),
        },
        Rule {
            column: "LAD Code",
            fails: col("LAD Code").is_null(),
            reason: "is missing".into(),
        },
    ];
    let (accepted, mut problems) = apply_rules(typed, &rules, &source.id, &source.display_path)?;
    problems.extend(unreadable);
    problems.sort();
    // Resolve each distinct (code, name) pair once, then join the answer back to the rows.
    let has_name = accepted.get_column_index("Local Authority").is_some();
    let name_expr = if has_name {
        col("Local Authority").str().strip_chars(lit(NULL))
    } else {
        lit(NULL).cast(DataType::String)
    };
    let all = accepted
        .lazy()
        .select([
            col("LAD Code").str().strip_chars(lit(NULL)).alias("__code"),
            name_expr.alias("__name"),
            col("date"),
            col("people"),
        ])
        .collect()?;
    let pairs =
        all.select(["__code", "__name"])?
            .unique_stable(None, UniqueKeepStrategy::First, None)?;
    let (pc, pn) = (
        pairs.column("__code")?.str()?.clone(),
        pairs.column("__name")?.str()?.clone(),
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
    let codes = Series::new("codes".into(), area_codes);
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
        .with_column(
            col("area_code")
                .is_in(lit(codes).implode(false), false)
                .alias("__ours"),
        )
        .collect()?;
    let mut notes = read_notes;
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
    let remapped = all
        .clone()
        .lazy()
        .filter(
            col("__code")
                .neq(col("area_code"))
                .and(col("__corrected").not()),
        )
        .collect()?
        .height();
    if remapped > 0 {
        notes.push(format!("{remapped} rows use LAD codes of older vintages; they were mapped to April 2023 areas through the code history"));
    }
    let outside_rows = all
        .clone()
        .lazy()
        .filter(col("__ours").not())
        .group_by([col("area_code")])
        .agg([len().alias("rows")])
        .sort(["area_code"], Default::default())
        .collect()?;
    let (c, n) = (
        outside_rows.column("area_code")?.str()?,
        outside_rows.column("rows")?.cast(&DataType::UInt64)?,
    );
    let outside = (0..outside_rows.height())
        .map(|i| {
            (
                c.get(i).unwrap_or("").to_string(),
                n.u64().map(|v| v.get(i).unwrap_or(0)).unwrap_or(0),
            )
        })
        .collect();
    let frame = all
        .lazy()
        .filter(col("__ours"))
        .select([col("area_code"), col("date"), col("people")])
        .collect()?;
    Ok(Loaded {
        frame,
        rows_read,
        problems,
        outside,
        notes,
        tests: Vec::new(),
    })
}
