//! ONS mid-year population estimates: `area_code, year, sex, age_band, population`.

use super::{apply_rules, map_distinct, open, Loaded, Opened, Rule};
use crate::error::Result;
use crate::pipeline::plan::Source;
use polars::prelude::*;

/// Reads the estimates and sums them to the pipeline's areas (districts of older vintages and
/// districts of an upper-tier authority map through `resolver`). When the file has `sex` and
/// `age_band` columns, also returns the population by area, year, sex and age band (for the
/// population pyramids).
pub fn load(
    source: &Source,
    resolver: &super::lookup::Resolver,
) -> Result<(Loaded, Option<DataFrame>)> {
    let Opened {
        frame: raw,
        rows_read,
        problems: unreadable,
        notes: read_notes,
    } = open(source, &["area_code", "year", "population"])?;
    let typed = raw
        .lazy()
        .with_columns([
            col("year")
                .str()
                .strip_chars(lit(NULL))
                .cast(DataType::Int32)
                .alias("__year"),
            col("population")
                .str()
                .strip_chars(lit(NULL))
                .cast(DataType::Float64)
                .alias("__pop"),
        ])
        .collect()?;
    let rules = [
        Rule {
            column: "area_code",
            fails: col("area_code").is_null(),
            reason: "is missing".into(),
        },
        Rule {
            column: "year",
            fails: col("__year").is_null(),
            reason: "is not a year".into(),
        },
        Rule {
            column: "population",
            fails: col("__pop")
                .is_null()
                .or(col("__pop").lt(lit(0.0)))
                .or(col("__pop").is_nan()),
            reason: "is not a non-negative number".into(),
        },
    ];
    let (accepted, mut problems) = apply_rules(typed, &rules, &source.id, &source.display_path)?;
    problems.extend(unreadable);
    problems.sort();
    let mapped = map_distinct(accepted, "area_code", "__area", |c| {
        Some(resolver.area_of(c.trim()))
    })?;
    let has = |name: &str| mapped.get_column_names().iter().any(|c| c.as_str() == name);
    let structure = if has("sex") && has("age_band") {
        Some(
            mapped
                .clone()
                .lazy()
                .filter(col("__area").is_not_null())
                .group_by([
                    col("__area").alias("area_code"),
                    col("__year").alias("year"),
                    col("sex").str().strip_chars(lit(NULL)),
                    col("age_band").str().strip_chars(lit(NULL)),
                ])
                .agg([col("__pop").sum().alias("population")])
                .sort(["area_code", "year", "sex", "age_band"], Default::default())
                .collect()?,
        )
    } else {
        None
    };
    let totals = mapped
        .lazy()
        .group_by([
            col("__area").alias("area_code"),
            col("__year").alias("year"),
        ])
        .agg([col("__pop").sum().alias("population")])
        .sort(["area_code", "year"], Default::default())
        .collect()?;
    let loaded = Loaded {
        frame: totals,
        rows_read,
        problems,
        outside: Vec::new(),
        notes: read_notes,
        tests: Vec::new(),
    };
    Ok((loaded, structure))
}
