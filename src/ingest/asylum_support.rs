//! Home Office Asy_D11: people on asylum support by local authority at quarter end.

use super::{apply_rules, open, parse_date, Loaded, Rule};
use crate::error::Result;
use crate::pipeline::plan::Source;
use polars::prelude::*;

/// Reads Asy_D11. Rows whose `LAD Code` is not in `area_codes` are accepted but kept out of
/// area figures, and counted in `outside`.
pub fn load(source: &Source, area_codes: &[String]) -> Result<Loaded> {
    let (raw, rows_read, unreadable) = open(
        &source.path,
        &source.columns,
        &["Date", "LAD Code", "People"],
        &source.id,
        &source.display_path,
    )?;
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
    let codes = Series::new("codes".into(), area_codes);
    let all = accepted
        .lazy()
        .select([
            col("LAD Code")
                .str()
                .strip_chars(lit(NULL))
                .alias("area_code"),
            col("date"),
            col("people"),
        ])
        .with_column(
            col("area_code")
                .is_in(lit(codes).implode(false), false)
                .alias("__ours"),
        )
        .collect()?;
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
    })
}
