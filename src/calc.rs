//! `jsna calc`: the statistical methods over an analyst's own table, like PHEindicatormethods.
//!
//! In: a CSV, TSV or Parquet file. polars does the per-group sums; the pure functions in
//! [`crate::stats`] turn each group's sums into a value and intervals. Out: one row per group
//! (or per input row for proportions and rates without `--group-by`) with the group columns,
//! `numerator, denominator, value, lower95_0cl, upper95_0cl, lower99_8cl, upper99_8cl,
//! statistic, method`. Bad rows are reported by row number, or give NA with `--on-error na`.

use crate::error::{Error, Result};
use crate::ingest::{self, Problem, Rule, ROW};
use crate::stats::{self, dsr, Estimate, StatsError};
use polars::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum CalcMethod {
    /// Proportion with Wilson score interval.
    Proportion,
    /// Crude rate with exact Poisson (under 10) or Byar's interval.
    Rate,
    /// Directly standardised rate (Dobson), ESP2013 or a standard you give.
    Dsr,
    /// Indirectly standardised ratio (observed / expected).
    Isr,
    /// Indirectly standardised rate (ratio × reference rate).
    Israte,
    /// Mean with Student's t interval.
    Mean,
    /// Median with a distribution-free interval.
    Median,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum OnError {
    /// Report every bad row and write nothing (exit 1).
    Fail,
    /// Write NA for bad rows (or for groups holding one) and carry on.
    Na,
}

#[derive(Debug, Clone)]
pub struct CalcOptions {
    pub method: CalcMethod,
    pub input: PathBuf,
    pub output: PathBuf,
    pub numerator: String,
    pub denominator: String,
    pub group_by: Vec<String>,
    pub confidence: Vec<f64>,
    pub multiplier: Option<f64>,
    pub on_error: OnError,
    pub age_band: String,
    pub standard: Option<PathBuf>,
    pub frequency: Option<String>,
    pub ref_numerator: String,
    pub ref_denominator: String,
    pub value: String,
}

/// What `run` did, for the command to report.
pub struct CalcSummary {
    pub rows_in: usize,
    pub rows_out: usize,
    pub problems: Vec<Problem>,
    /// Notes about results that are NA for a statistical reason (not a bad row).
    pub notes: Vec<String>,
}

impl CalcMethod {
    fn default_multiplier(self) -> f64 {
        match self {
            CalcMethod::Proportion => 1.0,
            CalcMethod::Isr => 100.0,
            CalcMethod::Mean | CalcMethod::Median => 1.0,
            _ => 100_000.0,
        }
    }

    fn statistic(self, m: f64) -> String {
        let m_text = crate::render::tables::number(m);
        match self {
            CalcMethod::Proportion if m == 100.0 => "percentage".into(),
            CalcMethod::Proportion => format!("proportion of {m_text}"),
            CalcMethod::Rate => format!("rate per {m_text}"),
            CalcMethod::Dsr => format!("dsr per {m_text}"),
            CalcMethod::Isr => format!("indirectly standardised ratio x {m_text}"),
            CalcMethod::Israte => format!("indirectly standardised rate per {m_text}"),
            CalcMethod::Mean => "mean".into(),
            CalcMethod::Median => "median".into(),
        }
    }

    /// Whether, without `--group-by`, each input row is its own result.
    fn per_row(self) -> bool {
        matches!(self, CalcMethod::Proportion | CalcMethod::Rate)
    }
}

/// Column names for one confidence level: 0.95 → `lower95_0cl`, 0.998 → `lower99_8cl`.
pub fn limit_names(confidence: f64) -> (String, String) {
    let tag = format!("{:.1}", confidence * 100.0).replace('.', "_");
    (format!("lower{tag}cl"), format!("upper{tag}cl"))
}

fn num(c: &str) -> Expr {
    crate::ingest::number_expr(col(c).str().strip_chars(lit(NULL)))
}

fn numeric_rules(columns: &[&'static str]) -> Vec<Rule<'static>> {
    columns
        .iter()
        .map(|&c| Rule {
            column: c,
            fails: col(c)
                .is_null()
                .or(num(c).is_null())
                .or(num(c).is_nan())
                .or(num(c).is_infinite()),
            reason: "is missing or not a number".into(),
        })
        .collect()
}

/// Leaks a column name so it can live in a [`Rule`]; calc runs once per process.
fn name(s: &str) -> &'static str {
    Box::leak(s.to_string().into_boxed_str())
}

/// Runs the calculation and writes the output file.
pub fn run(opts: &CalcOptions) -> Result<CalcSummary> {
    for &c in &opts.confidence {
        if !(0.9..1.0).contains(&c) {
            return Err(Error::Usage(format!(
                "--confidence {c} is outside [0.9, 1)"
            )));
        }
    }
    let multiplier = opts.multiplier.unwrap_or(opts.method.default_multiplier());
    if !(multiplier.is_finite() && multiplier > 0.0) {
        return Err(Error::Usage(format!(
            "--multiplier must be a positive number, got {multiplier}"
        )));
    }
    let ext = extension(&opts.output)?;
    if crate::publish::resolved(&opts.output) == crate::publish::resolved(&opts.input) {
        return Err(Error::Usage(format!(
            "--output {} is the input file: jsna calc never overwrites its input",
            opts.output.display()
        )));
    }
    let table = ingest::read_text_table(&opts.input, &[])?;
    let (raw, unreadable) = (table.frame, table.unreadable);
    let rows_in = raw.height() + unreadable.len();
    let standard = match (opts.method, &opts.standard) {
        (CalcMethod::Dsr, Some(path)) => read_standard(path)?,
        _ => esp2013(),
    };
    let bands: Vec<String> = standard
        .column("__band")?
        .str()?
        .iter()
        .flatten()
        .map(String::from)
        .collect();
    let (needed, rules) = method_columns(opts, &bands)?;
    let mut required: Vec<&str> = opts.group_by.iter().map(String::as_str).collect();
    required.extend(needed.iter().copied());
    ingest::require_columns(&raw, &opts.input, &required)?;

    let display = opts.input.display().to_string();
    let (_, mut problems) = ingest::apply_rules(raw.clone(), &rules, "input", &display)?;
    problems.extend(ingest::unreadable_problems(&unreadable, "input", &display));
    if opts.method == CalcMethod::Dsr && opts.frequency.is_none() {
        problems.extend(repeated_bands(&raw, opts, &display)?);
    }
    problems.sort();
    if !problems.is_empty() && opts.on_error == OnError::Fail {
        return Ok(CalcSummary {
            rows_in,
            rows_out: 0,
            problems,
            notes: Vec::new(),
        });
    }
    let bad_rows: BTreeSet<u64> = problems.iter().map(|p| p.row).collect();
    let bad = Series::new("bad".into(), bad_rows.iter().copied().collect::<Vec<u64>>());
    let frame = raw
        .lazy()
        .with_column(
            col(ROW)
                .cast(DataType::UInt64)
                .is_in(lit(bad).implode(false), false)
                .alias("__bad"),
        )
        .collect()?;

    // Σw is the whole standard: a band with no rows in a group counts as zero events.
    let standard_total: f64 = standard.column("__w")?.f64()?.sum().unwrap_or(0.0);
    let mut out = compute(opts, frame, multiplier, standard, standard_total)?;
    write_output(&mut out, &opts.output, ext)?;
    let mut notes = Vec::new();
    if opts.method == CalcMethod::Dsr {
        let values = out.column("value")?.f64()?.clone();
        let counts = out.column("numerator")?.f64()?.clone();
        let small = (0..out.height())
            .filter(|&i| {
                values.get(i).is_none() && counts.get(i).is_some_and(|x| x < dsr::DSR_MIN_COUNT)
            })
            .count();
        if small > 0 {
            notes.push(format!("{small} group(s) have fewer than 10 events: their DSR value and intervals are NA (too unreliable to publish)"));
        }
    }
    Ok(CalcSummary {
        rows_in,
        rows_out: out.height(),
        problems,
        notes,
    })
}

fn extension(path: &Path) -> Result<&'static str> {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("csv") => Ok("csv"),
        Some("parquet") | Some("pq") => Ok("parquet"),
        _ => Err(Error::Usage(format!(
            "--output {}: the file name must end in .csv or .parquet",
            path.display()
        ))),
    }
}

/// The numeric columns the method reads and the row checks that apply to them.
fn method_columns(
    o: &CalcOptions,
    bands: &[String],
) -> Result<(Vec<&'static str>, Vec<Rule<'static>>)> {
    let (x, n) = (name(&o.numerator), name(&o.denominator));
    let positive = |c: &'static str| Rule {
        column: c,
        fails: num(c).lt_eq(lit(0.0)),
        reason: "must be greater than zero".into(),
    };
    let non_negative = |c: &'static str| Rule {
        column: c,
        fails: num(c).lt(lit(0.0)),
        reason: "must not be negative".into(),
    };
    Ok(match o.method {
        CalcMethod::Proportion => {
            let mut rules = numeric_rules(&[x, n]);
            rules.extend([non_negative(x), positive(n)]);
            rules.push(Rule {
                column: x,
                fails: num(x).gt(num(n)),
                reason: format!("is greater than the denominator ({n})"),
            });
            (vec![x, n], rules)
        }
        CalcMethod::Rate => {
            let mut rules = numeric_rules(&[x, n]);
            rules.extend([non_negative(x), positive(n)]);
            (vec![x, n], rules)
        }
        CalcMethod::Dsr => {
            let band = name(&o.age_band);
            // A missing count is 0 (PHEindicatormethods); a missing population is an error.
            let mut rules = numeric_rules(&[n]);
            rules.push(Rule {
                column: x,
                fails: col(x).is_not_null().and(num(x).is_null()),
                reason: "is not a number".into(),
            });
            rules.extend([non_negative(x), positive(n)]);
            rules.push(Rule {
                column: band,
                fails: col(band).is_null(),
                reason: "is missing".into(),
            });
            let allowed: Vec<&str> = bands.iter().map(String::as_str).collect();
            rules.push(Rule {
                column: band,
                fails: ingest::not_in_trimmed(band, &allowed),
                reason: format!(
                    "is not a band of the standard population; expected one of: {}",
                    allowed.join(", ")
                ),
            });
            let mut cols = vec![x, n, band];
            if let Some(f) = &o.frequency {
                let f = name(f);
                rules.extend(numeric_rules(&[f]));
                rules.push(non_negative(f));
                cols.push(f);
            }
            (cols, rules)
        }
        CalcMethod::Isr | CalcMethod::Israte => {
            let (rx, rn) = (name(&o.ref_numerator), name(&o.ref_denominator));
            let mut rules = numeric_rules(&[x, n, rx, rn]);
            rules.extend([non_negative(x), positive(n), non_negative(rx), positive(rn)]);
            (vec![x, n, rx, rn], rules)
        }
        CalcMethod::Mean | CalcMethod::Median => {
            let v = name(&o.value);
            (vec![v], numeric_rules(&[v]))
        }
    })
}

/// DSR rows that give an age band again within a group (without `--frequency`, where rows of
/// one band are a frequency distribution): summed, the band would be weighted twice, so each
/// repeat is a problem naming the row that gave the band first.
fn repeated_bands(raw: &DataFrame, o: &CalcOptions, file: &str) -> Result<Vec<Problem>> {
    let text = |c: &str| -> Result<Vec<Option<String>>> {
        Ok(raw
            .column(c)?
            .cast(&DataType::String)?
            .str()?
            .iter()
            .map(|v| v.map(|s| s.trim().to_string()))
            .collect())
    };
    let band = text(&o.age_band)?;
    let groups: Vec<Vec<Option<String>>> =
        o.group_by.iter().map(|g| text(g)).collect::<Result<_>>()?;
    let rows: Vec<Option<u64>> = raw
        .column(ROW)?
        .cast(&DataType::UInt64)?
        .u64()?
        .iter()
        .collect();
    let mut first: std::collections::HashMap<(Vec<Option<String>>, String), u64> =
        std::collections::HashMap::new();
    let mut out = Vec::new();
    for i in 0..raw.height() {
        let Some(b) = band[i].clone() else { continue };
        let key: Vec<Option<String>> = groups.iter().map(|g| g[i].clone()).collect();
        let row = rows[i].unwrap_or(0);
        match first.get(&(key.clone(), b.clone())) {
            Some(&at) => out.push(Problem {
                source: "input".into(),
                file: file.to_string(),
                row,
                column: o.age_band.clone(),
                value: b.clone(),
                reason: format!(
                    "repeats the age band of row {at} in the same group (summed, the band would be weighted twice): give each band once, or use --frequency for the rows of a frequency distribution"
                ),
            }),
            None => {
                first.insert((key, b), row);
            }
        }
    }
    Ok(out)
}

/// A user standard population: CSV or Parquet with columns `band` and `population`.
fn read_standard(path: &Path) -> Result<DataFrame> {
    let df = ingest::read_strict(path)?;
    ingest::require_columns(&df, path, &["band", "population"])?;
    let (_, problems) = ingest::apply_rules(
        df.clone(),
        &numeric_rules(&["population"]),
        "standard",
        &path.display().to_string(),
    )?;
    if let Some(p) = problems.first() {
        return Err(Error::Data {
            location: crate::error::Location {
                file: path.to_path_buf(),
                row: Some(p.row),
                column: Some(p.column.clone()),
            },
            message: format!("\"{}\" {}", p.value, p.reason),
        });
    }
    Ok(df
        .lazy()
        .select([
            col("band").str().strip_chars(lit(NULL)).alias("__band"),
            num("population").alias("__w"),
        ])
        .collect()?)
}

fn esp2013() -> DataFrame {
    let bands: Vec<&str> = dsr::ESP2013.iter().map(|(b, _)| *b).collect();
    let weights: Vec<f64> = dsr::ESP2013.iter().map(|(_, w)| *w).collect();
    DataFrame::new(
        bands.len(),
        vec![
            Column::new("__band".into(), bands),
            Column::new("__w".into(), weights),
        ],
    )
    .expect("ESP2013 frame")
}

/// Aggregates (or, per row, passes through) the sums each method needs, then applies the stats.
fn compute(
    o: &CalcOptions,
    frame: DataFrame,
    m: f64,
    standard: DataFrame,
    standard_total: f64,
) -> Result<DataFrame> {
    let grouped = !o.group_by.is_empty() || !o.method.per_row();
    let keys: Vec<Expr> = o.group_by.iter().map(|g| col(g.as_str())).collect();
    let agg = |e: Expr| if grouped { e.sum() } else { e };
    let good = |e: Expr| when(col("__bad")).then(lit(0.0)).otherwise(e);
    let (x, n) = (o.numerator.as_str(), o.denominator.as_str());
    let mut lf = frame.lazy();
    let exprs: Vec<Expr> = match o.method {
        CalcMethod::Proportion | CalcMethod::Rate => {
            vec![agg(good(num(x))).alias("a"), agg(good(num(n))).alias("b")]
        }
        CalcMethod::Dsr => {
            lf = lf
                .with_column(
                    col(o.age_band.as_str())
                        .str()
                        .strip_chars(lit(NULL))
                        .alias("__band"),
                )
                .join(
                    standard.lazy(),
                    [col("__band")],
                    [col("__band")],
                    JoinArgs::new(JoinType::Left),
                );
            let f = o.frequency.as_deref().map(num).unwrap_or(lit(1.0));
            let count = num(x).fill_null(lit(0.0));
            let (events, squared) = (count.clone() * f.clone(), count * f.clone() * f);
            let pop = num(n);
            vec![
                agg(good(events.clone())).alias("a"),
                agg(good(pop.clone())).alias("b"),
                agg(good(col("__w") * events / pop.clone())).alias("wr"),
                agg(good(
                    col("__w") * col("__w") * squared / (pop.clone() * pop),
                ))
                .alias("wv"),
            ]
        }
        CalcMethod::Isr | CalcMethod::Israte => {
            let (rx, rn) = (o.ref_numerator.as_str(), o.ref_denominator.as_str());
            vec![
                agg(good(num(x))).alias("a"),
                agg(good(num(rx) / num(rn) * num(n))).alias("b"),
                agg(good(num(rx))).alias("rx"),
                agg(good(num(rn))).alias("rn"),
            ]
        }
        CalcMethod::Mean | CalcMethod::Median => {
            let v = num(o.value.as_str());
            vec![v
                .clone()
                .filter(col("__bad").not())
                .sort(Default::default())
                .alias("values")]
        }
    };
    let any_bad = if grouped {
        col("__bad").any(true)
    } else {
        col("__bad")
    };
    let mut all = exprs;
    all.push(any_bad.alias("__anybad"));
    let sums = if grouped {
        let g = if keys.is_empty() {
            lf.with_column(lit(0).alias("__all"))
                .group_by([col("__all")])
        } else {
            lf.group_by(keys.clone())
        };
        let sort_by: Vec<PlSmallStr> = o.group_by.iter().map(|s| s.as_str().into()).collect();
        let out = g.agg(all);
        if sort_by.is_empty() {
            out
        } else {
            out.sort(
                sort_by,
                SortMultipleOptions::default().with_nulls_last(false),
            )
        }
    } else {
        let mut sel: Vec<Expr> = vec![col(ROW)];
        sel.extend(all);
        lf.select(sel).sort([ROW], Default::default())
    };
    let sums = sums.collect()?;
    finish(o, sums, m, standard_total)
}

/// Turns the aggregated sums into the output table.
fn finish(o: &CalcOptions, sums: DataFrame, m: f64, standard_total: f64) -> Result<DataFrame> {
    let h = sums.height();
    let f64col = |c: &str| -> Result<Vec<Option<f64>>> {
        Ok(sums
            .column(c)?
            .cast(&DataType::Float64)?
            .f64()?
            .iter()
            .collect())
    };
    let bad: Vec<bool> = sums
        .column("__anybad")?
        .bool()?
        .iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let levels = &o.confidence;
    let mut values: Vec<Option<f64>> = vec![None; h];
    let mut limits: Vec<Vec<(Option<f64>, Option<f64>)>> =
        vec![vec![(None, None); h]; levels.len()];
    let mut method_label: Vec<String> = vec![String::new(); h];
    let (numerator, denominator): (Vec<Option<f64>>, Vec<Option<f64>>);

    // Stores a value and, where there is one, its interval at level `li`.
    let mut put = |i: usize, li: usize, r: Option<(f64, Option<(f64, f64)>)>| {
        if let Some((v, ci)) = r {
            if li == 0 {
                values[i] = Some(v);
            }
            limits[li][i] = ci.map_or((None, None), |(lo, hi)| (Some(lo), Some(hi)));
        }
    };
    match o.method {
        CalcMethod::Mean | CalcMethod::Median => {
            let lists = sums.column("values")?.list()?.clone();
            let mut sum_v = vec![None; h];
            let mut count_v = vec![None; h];
            for i in 0..h {
                let v: Vec<f64> = lists
                    .get_as_series(i)
                    .and_then(|s| s.f64().ok().map(|c| c.iter().flatten().collect()))
                    .unwrap_or_default();
                sum_v[i] = Some(v.iter().sum());
                count_v[i] = Some(v.len() as f64);
                method_label[i] = if o.method == CalcMethod::Mean {
                    "Student's t-distribution".into()
                } else {
                    "Binomial order statistics".into()
                };
                if bad[i] {
                    continue;
                }
                for (li, &c) in levels.iter().enumerate() {
                    let r = if o.method == CalcMethod::Mean && v.len() == 1 {
                        // As PHEindicatormethods' phe_mean: the value, with no interval (a
                        // t interval needs two values).
                        Some((v[0], None))
                    } else if o.method == CalcMethod::Mean {
                        estimate(stats::mean(&v, c).map(Some))
                    } else {
                        // The median is published even when n is too small for an interval.
                        stats::median(&v, c).ok().map(|m| (m.value, m.interval))
                    };
                    put(i, li, r);
                }
            }
            if o.method == CalcMethod::Median {
                sum_v = vec![None; h];
            }
            (numerator, denominator) = (sum_v, count_v);
        }
        _ => {
            let (a, b) = (f64col("a")?, f64col("b")?);
            let extra = |c: &str| {
                if sums.get_column_index(c).is_some() {
                    f64col(c)
                } else {
                    Ok(vec![None; h])
                }
            };
            let (wr, wv, rx, rn) = (extra("wr")?, extra("wv")?, extra("rx")?, extra("rn")?);
            for i in 0..h {
                let (Some(x), Some(n)) = (a[i], b[i]) else {
                    continue;
                };
                method_label[i] = match o.method {
                    CalcMethod::Proportion => "Wilson".into(),
                    CalcMethod::Dsr => "Dobson".into(),
                    _ if x < stats::BYAR_FROM => "Exact".into(),
                    _ => "Byars".into(),
                };
                if bad[i] {
                    continue;
                }
                for (li, &c) in levels.iter().enumerate() {
                    let e = match o.method {
                        CalcMethod::Proportion => stats::wilson(x, n, c, m).map(Some),
                        CalcMethod::Rate => stats::rate(x, n, c, m).map(Some),
                        CalcMethod::Dsr => stats::dsr_from_sums(
                            stats::DsrSums {
                                total: x,
                                weights: standard_total,
                                weighted_rate: wr[i].unwrap_or(0.0),
                                weighted_variance: wv[i].unwrap_or(0.0),
                            },
                            c,
                            m,
                        ),
                        CalcMethod::Isr => stats::isr_ratio(x, n, c, m).map(Some),
                        CalcMethod::Israte => {
                            let reference = rx[i].unwrap_or(0.0) / rn[i].unwrap_or(1.0);
                            stats::isr_rate(x, n, reference, c, m).map(Some)
                        }
                        CalcMethod::Mean | CalcMethod::Median => unreachable!("handled above"),
                    };
                    put(i, li, estimate(e));
                }
            }
            (numerator, denominator) = (a, b);
        }
    }

    // A bad row, or a group holding one, is NA throughout.
    let blank = |v: Vec<Option<f64>>| {
        v.into_iter()
            .zip(&bad)
            .map(|(x, &b)| if b { None } else { x })
            .collect::<Vec<_>>()
    };
    let (numerator, denominator) = (blank(numerator), blank(denominator));
    let mut columns: Vec<Column> = Vec::new();
    for g in &o.group_by {
        columns.push(sums.column(g)?.clone());
    }
    if o.group_by.is_empty() && sums.get_column_index(ROW).is_some() {
        columns.push(
            sums.column(ROW)?
                .cast(&DataType::UInt64)?
                .with_name("row".into()),
        );
    }
    columns.push(Column::new("numerator".into(), numerator));
    columns.push(Column::new("denominator".into(), denominator));
    columns.push(Column::new("value".into(), values));
    for (li, &c) in levels.iter().enumerate() {
        let (lo, hi) = limit_names(c);
        columns.push(Column::new(
            lo.into(),
            limits[li].iter().map(|l| l.0).collect::<Vec<_>>(),
        ));
        columns.push(Column::new(
            hi.into(),
            limits[li].iter().map(|l| l.1).collect::<Vec<_>>(),
        ));
    }
    columns.push(Column::new(
        "statistic".into(),
        vec![o.method.statistic(m); h],
    ));
    columns.push(Column::new("method".into(), method_label));
    Ok(DataFrame::new(h, columns)?)
}

fn estimate(
    e: std::result::Result<Option<Estimate>, StatsError>,
) -> Option<(f64, Option<(f64, f64)>)> {
    e.ok()
        .flatten()
        .map(|e| (e.value, Some((e.lower, e.upper))))
}

fn write_output(df: &mut DataFrame, path: &Path, ext: &str) -> Result<()> {
    if let Some(dir) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    }
    let tmp = path.with_extension(format!("{ext}.tmp-{}", std::process::id()));
    let file = std::fs::File::create(&tmp).map_err(|e| Error::io(&tmp, e))?;
    let written = match ext {
        "csv" => CsvWriter::new(std::io::BufWriter::new(file)).finish(df),
        _ => ParquetWriter::new(file)
            .with_compression(ParquetCompression::Zstd(None))
            .finish(df)
            .map(|_| ()),
    };
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(Error::io(path, std::io::Error::other(e.to_string())));
    }
    std::fs::rename(&tmp, path).map_err(|e| Error::io(path, e))
}
