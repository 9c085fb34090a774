//! Home Office Asy_D11: people on asylum support by local authority at quarter end.

use super::{apply_rules, open, parse_date, Loaded, Rule};
use crate::error::Result;
use crate::pipeline::plan::Source;
use polars::prelude::*;

pub fn load(source: &Source) -> Result<Loaded> {
    let (raw, rows_read) = open(
        &source.path,
        &source.columns,
        &["Date", "LAD Code", "People"],
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
    let (accepted, problems) = apply_rules(typed, &rules, &source.id, &source.display_path)?;
    let frame = accepted
        .lazy()
        .select([
            col("LAD Code")
                .str()
                .strip_chars(lit(NULL))
                .alias("area_code"),
            col("date"),
            col("people"),
        ])
        .collect()?;
    Ok(Loaded {
        frame,
        rows_read,
        problems,
    })
}
