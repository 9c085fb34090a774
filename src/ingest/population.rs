//! ONS mid-year population estimates: `area_code, year, sex, age_band, population`.

use super::{apply_rules, map_distinct, open, Loaded, Opened, Rule};
use crate::error::Result;
use crate::pipeline::plan::Source;
use polars::prelude::*;

/// The largest population one row may hold.
const MAX_POPULATION: f64 = 100_000_000.0;

/// Adds `__repeat`: true on a row whose area, year and (when present) sex and age band repeat an
/// earlier row's, as written.
fn mark_repeats(frame: DataFrame) -> Result<DataFrame> {
    let keys: Vec<&str> = ["area_code", "year", "sex", "age_band"]
        .into_iter()
        .filter(|k| frame.get_column_names().iter().any(|c| c.as_str() == *k))
        .collect();
    let columns: Vec<Column> = keys
        .iter()
        .map(|k| frame.column(k).and_then(|c| c.cast(&DataType::String)))
        .collect::<std::result::Result<_, _>>()?;
    let texts: Vec<&StringChunked> = columns
        .iter()
        .map(|c| c.str())
        .collect::<std::result::Result<_, _>>()?;
    let mut seen = std::collections::HashSet::new();
    let repeat: Vec<bool> = (0..frame.height())
        .map(|i| {
            let key: Vec<Option<String>> = texts
                .iter()
                .map(|t| t.get(i).map(|v| v.trim().to_string()))
                .collect();
            !seen.insert(key)
        })
        .collect();
    let mut frame = frame;
    frame.with_column(Column::new("__repeat".into(), repeat))?;
    Ok(frame)
}

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
    let typed = mark_repeats(typed)?;
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
        Rule {
            column: "population",
            fails: col("__pop").gt(lit(MAX_POPULATION)),
            reason: format!("is more than {MAX_POPULATION} (more than the UK's population)"),
        },
        Rule {
            column: "area_code",
            fails: col("__repeat"),
            reason:
                "repeats an earlier row's area, year, sex and age band (it would be counted twice)"
                    .into(),
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
                    sex_expr(),
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

/// `sex` as `Female` or `Male` whatever the file wrote (`F`, `female`, …); other values as
/// they are, trimmed.
fn sex_expr() -> Expr {
    let trimmed = col("sex").str().strip_chars(lit(NULL));
    let first = trimmed
        .clone()
        .str()
        .to_lowercase()
        .str()
        .slice(lit(0), lit(1));
    when(first.clone().eq(lit("f")))
        .then(lit("Female"))
        .when(first.eq(lit("m")))
        .then(lit("Male"))
        .otherwise(trimmed)
        .alias("sex")
}

/// The columns a `population` condition may use: those of the population file by sex and age
/// band, with `age_min` and `age_max` read from the band (`15-17` is 15 and 17; `90+` is 90 and
/// missing).
pub fn condition_schema() -> Schema {
    Schema::from_iter([
        Field::new("area_code".into(), DataType::String),
        Field::new("year".into(), DataType::Int32),
        Field::new("sex".into(), DataType::String),
        Field::new("age_band".into(), DataType::String),
        Field::new("age_min".into(), DataType::Int32),
        Field::new("age_max".into(), DataType::Int32),
        Field::new("population".into(), DataType::Float64),
    ])
}

/// Residents meeting `filter` by (area code, year), from the population by sex and age band.
/// An area and year with no resident meeting it is 0.
pub fn select(
    structure: &DataFrame,
    filter: Expr,
) -> Result<std::collections::BTreeMap<(String, i32), f64>> {
    // Few distinct bands: each is read once, here.
    let bands: Vec<String> = structure
        .column("age_band")?
        .str()?
        .unique()?
        .iter()
        .flatten()
        .map(str::to_string)
        .collect();
    let (lo, hi): (Vec<Option<i32>>, Vec<Option<i32>>) =
        bands.iter().map(|b| age_limits(b)).unzip();
    let limits = DataFrame::new(
        bands.len(),
        vec![
            Column::new("age_band".into(), &bands),
            Column::new("age_min".into(), lo),
            Column::new("age_max".into(), hi),
        ],
    )?;
    let frame = structure.clone().lazy().join(
        limits.lazy(),
        [col("age_band")],
        [col("age_band")],
        JoinArgs::new(JoinType::Left),
    );
    let keys = [col("area_code"), col("year")];
    let all = frame
        .clone()
        .group_by(keys.clone())
        .agg([len().alias("__rows")]);
    let chosen = frame
        .filter(filter.fill_null(lit(false)))
        .group_by(keys.clone())
        .agg([col("population").sum()]);
    let out = all
        .join(chosen, keys.clone(), keys, JoinArgs::new(JoinType::Left))
        .collect()?;
    let (codes, years, people) = (
        out.column("area_code")?.str()?,
        out.column("year")?.i32()?,
        out.column("population")?.f64()?,
    );
    let mut map = std::collections::BTreeMap::new();
    for r in 0..out.height() {
        if let (Some(c), Some(y)) = (codes.get(r), years.get(r)) {
            map.insert((c.to_string(), y), people.get(r).unwrap_or(0.0));
        }
    }
    Ok(map)
}

/// The first and last age of a band: `15-17` (or `15 to 17`) is (15, 17), `90+` is (90, none),
/// `Under 1` is (0, 0); anything else is (none, none).
pub fn age_limits(band: &str) -> (Option<i32>, Option<i32>) {
    let b = band.trim().to_ascii_lowercase();
    let num = |t: &str| t.trim().parse::<i32>().ok();
    if let Some(rest) = b.strip_prefix("under") {
        return (Some(0), num(rest).map(|n| n - 1));
    }
    if let Some(first) = b.strip_suffix('+') {
        return (num(first), None);
    }
    for sep in ["-", " to "] {
        if let Some((a, z)) = b.split_once(sep) {
            return (num(a), num(z));
        }
    }
    (num(&b), num(&b))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_limits_of_bands() {
        assert_eq!(age_limits("15-17"), (Some(15), Some(17)));
        assert_eq!(age_limits(" 0 - 4 "), (Some(0), Some(4)));
        assert_eq!(age_limits("90+"), (Some(90), None));
        assert_eq!(age_limits("20 to 24"), (Some(20), Some(24)));
        assert_eq!(age_limits("Under 1"), (Some(0), Some(0)));
        assert_eq!(age_limits("42"), (Some(42), Some(42)));
        assert_eq!(age_limits("All ages"), (None, None));
    }

    #[test]
    fn select_counts_the_residents_a_condition_names() {
        let df = df!(
            "area_code" => ["A", "A", "A", "B"],
            "year" => [2024, 2024, 2024, 2024],
            "sex" => ["Female", "Male", "Female", "Male"],
            "age_band" => ["0-4", "15-17", "60-64", "20-24"],
            "population" => [10.0, 20.0, 30.0, 40.0],
        )
        .unwrap();
        let children = select(&df, col("age_max").lt_eq(lit(17))).unwrap();
        assert_eq!(children[&("A".to_string(), 2024)], 30.0);
        // B has no child: 0, not missing.
        assert_eq!(children[&("B".to_string(), 2024)], 0.0);
        let older_women = select(
            &df,
            col("sex")
                .eq(lit("Female"))
                .and(col("age_min").gt_eq(lit(60))),
        )
        .unwrap();
        assert_eq!(older_women[&("A".to_string(), 2024)], 30.0);
    }
}
