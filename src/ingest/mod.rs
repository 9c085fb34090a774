//! Ingest: read each source as published, check it, and account for every row.
//!
//! In: the plan's sources. Out: typed frames of accepted rows, a quarantine table (source, file,
//! row, column, value, reason) and per-source row accounting, where rows read = accepted +
//! quarantined always holds. A file that cannot be read at all is an error naming the file.

mod csv_quirks;
pub mod data_tests;
pub mod lookup;
pub mod pii;
pub mod population;
pub mod published;
pub mod records;
pub mod spreadsheet;

use crate::error::{Error, Result};
use crate::publish::hex;
use polars::prelude::*;
use sha2::{Digest, Sha256};
use std::path::Path;

/// The column holding each row's number in its file (the header is row 1).
pub const ROW: &str = "__row";

/// What the manifest and the data-quality report say about one input.
#[derive(Debug, Clone, serde::Serialize)]
pub struct InputSummary {
    pub source: String,
    pub kind: String,
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub rows_read: u64,
    pub rows_accepted: u64,
    pub rows_rejected: u64,
    /// Accepted rows that name no area of this pipeline, so are not used for area figures.
    pub rows_outside_areas: u64,
    /// The codes of those rows, with their row counts.
    pub outside_areas: String,
    /// The same, as (code, rows), for the published form (see `disclosure::quality`).
    #[serde(skip)]
    pub outside: Vec<(String, u64)>,
    /// What the reader changed or inferred, in plain words.
    pub notes: Vec<String>,
    /// What each declared data test found.
    pub data_tests: Vec<data_tests::TestOutcome>,
}

/// A source after checking: its accepted rows (typed), how many rows were read, what was wrong.
pub struct Loaded {
    pub frame: DataFrame,
    pub rows_read: u64,
    pub problems: Vec<Problem>,
    /// Accepted rows that are not areas of this pipeline (national placeholder rows, other
    /// nations, codes outside the lookup): code → rows. They are kept out of area figures.
    pub outside: Vec<(String, u64)>,
    /// What the reader changed or inferred, in plain words (shown in the data-quality report).
    pub notes: Vec<String>,
    /// What each declared data test found (records only).
    pub tests: Vec<data_tests::TestOutcome>,
}

/// One quarantined problem. A row with several problems appears once per problem.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Problem {
    pub source: String,
    pub file: String,
    pub row: u64,
    pub column: String,
    pub value: String,
    pub reason: String,
}

/// The column name used for problems with a whole record (wrong number of fields, bad quoting).
pub const WHOLE_ROW: &str = "(whole row)";

impl std::fmt::Display for Problem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        if self.column == WHOLE_ROW {
            write!(f, "{}:{}: the record {}", self.file, self.row, self.reason)
        } else {
            write!(
                f,
                "{}:{}: column \"{}\": \"{}\" {}",
                self.file, self.row, self.column, self.value, self.reason
            )
        }
    }
}

/// A validation rule: rows where `fails` is true are quarantined with `reason`.
pub struct Rule<'a> {
    pub column: &'a str,
    pub fails: Expr,
    pub reason: String,
}

/// Hashes a file and returns (bytes, sha256).
pub fn fingerprint(path: &Path) -> Result<(u64, String)> {
    // Streamed, so a national extract is never held in memory just to be hashed.
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut hasher = Sha256::new();
    let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(path, e))?;
    Ok((bytes, hex(&hasher.finalize())))
}

fn polars_data_error(path: &Path, e: PolarsError) -> Error {
    let msg = e.to_string();
    let first = msg.lines().next().unwrap_or(&msg).to_string();
    Error::data(path, format!("cannot be read as a table: {first}"))
}

/// A record that could not be read as a row of the table: its line and why.
pub type Unreadable = (u64, String);

/// A table read from a file: its rows (all text), the records that were not rows, and notes on
/// what the reader had to do (a title above the header, a legacy encoding, trailing notes).
pub struct Table {
    pub frame: DataFrame,
    pub unreadable: Vec<Unreadable>,
    pub notes: Vec<String>,
}

/// Reads a CSV, TSV or Parquet file with every column as text, adding the row number column.
/// `renames` maps canonical names to the names in the file. CSV records that cannot be rows
/// (wrong number of fields, broken quoting) come back separately with their line numbers.
pub fn read_text_table(path: &Path, renames: &[(String, String)]) -> Result<Table> {
    read_sheet_table(path, renames, None)
}

/// Like [`read_text_table`], also reading spreadsheets (`.xlsx`, `.xls`, `.ods`): `sheet` picks
/// the sheet by name or a pattern with `*`.
pub fn read_sheet_table(
    path: &Path,
    renames: &[(String, String)],
    sheet: Option<&str>,
) -> Result<Table> {
    if !path.exists() {
        return Err(Error::io(
            path,
            std::io::Error::new(std::io::ErrorKind::NotFound, "input file not found"),
        ));
    }
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let lf = match ext.as_str() {
        ext if PARQUET.contains(&ext) => scan_parquet_text(path)?,
        ext if spreadsheet::EXTENSIONS.contains(&ext) => {
            let (csv, note) = spreadsheet::to_csv(path, sheet)?;
            let table = read_text_table(&csv, renames);
            let _ = std::fs::remove_file(&csv);
            // Errors name the spreadsheet, not the temporary CSV.
            let mut table = table.map_err(|e| e.with_file(path))?;
            table.notes.insert(0, note);
            return Ok(table);
        }
        "csv" | "tsv" | "txt" => {
            if std::fs::metadata(path)
                .map(|m| m.len() == 0)
                .unwrap_or(false)
            {
                return Err(Error::data(
                    path,
                    "the file is empty (expected a header row)",
                ));
            }
            let sep = if ext == "tsv" { b'\t' } else { b',' };
            let prepared = csv_quirks::prepare(path, sep)?;
            let first_row = 2 + prepared.title_lines as IdxSize;
            let source = prepared.path();
            let lf = LazyCsvReader::new(
                PlRefPath::try_from_path(source).map_err(|e| polars_data_error(path, e))?,
            )
            .with_infer_schema_length(Some(0))
            .with_separator(sep)
            .with_encoding(CsvEncoding::LossyUtf8)
            .with_row_index(Some(RowIndex {
                name: ROW.into(),
                offset: first_row,
            }))
            .finish()
            .map_err(|e| polars_data_error(path, e))?;
            let (df, unreadable) = match lf.collect() {
                Ok(df) => (df, Vec::new()),
                // polars refuses files with ragged rows or broken quoting: read them record by
                // record instead, keeping every good row and the line of every bad one.
                Err(_) => {
                    let (df, unreadable) =
                        read_csv_records(source, sep, prepared.title_lines as u64)?;
                    (df, unreadable)
                }
            };
            let (df, trailing) = csv_quirks::drop_trailing_notes(df)?;
            let mut notes = prepared.notes.clone();
            if trailing > 0 {
                notes.push(format!(
                    "{trailing} trailing note row(s) such as 'End of table' are not data and were not read"
                ));
            }
            return Ok(Table {
                frame: tidy_names(df, path, renames)?,
                unreadable,
                notes,
            });
        }
        other => {
            return Err(Error::data(
                path,
                format!("unsupported file type '.{other}'; expected one of: csv, tsv, parquet, xlsx, xlsm, xls, ods"),
            ));
        }
    };
    let df = lf.collect().map_err(|e| polars_data_error(path, e))?;
    Ok(Table {
        frame: tidy_names(df, path, renames)?,
        unreadable: Vec::new(),
        notes: Vec::new(),
    })
}

/// File extensions read as Parquet.
pub const PARQUET: [&str; 2] = ["parquet", "pq"];

/// Whether `path` is read as Parquet (and so can be read a batch of rows at a time).
pub fn is_parquet(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| PARQUET.contains(&e.to_ascii_lowercase().as_str()))
}

/// A Parquet file as a lazy table of text columns with the line-number column (data rows
/// numbered from 2, as if the file were a CSV with a header).
pub fn scan_parquet_text(path: &Path) -> Result<LazyFrame> {
    let pl_path = PlRefPath::try_from_path(path).map_err(|e| polars_data_error(path, e))?;
    let args = ScanArgsParquet {
        row_index: Some(RowIndex {
            name: ROW.into(),
            offset: 2,
        }),
        ..Default::default()
    };
    let lf = LazyFrame::scan_parquet(pl_path, args).map_err(|e| polars_data_error(path, e))?;
    let schema = lf
        .clone()
        .collect_schema()
        .map_err(|e| polars_data_error(path, e))?;
    let casts: Vec<Expr> = schema
        .iter_names()
        .filter(|n| n.as_str() != ROW)
        .map(|n| col(n.clone()).cast(DataType::String))
        .collect();
    Ok(lf.with_columns(casts))
}

/// The number of rows of a table scanned from `path`.
pub fn row_count(lf: &LazyFrame, path: &Path) -> Result<usize> {
    lf.clone()
        .select([len().alias("n")])
        .collect()
        .and_then(|df| Ok(df.column("n")?.get(0)?.extract::<usize>().unwrap_or(0)))
        .map_err(|e| polars_data_error(path, e))
}

/// Rows `offset..offset + count` of a table scanned from `path` (by [`scan_parquet_text`]),
/// with the header tidied and renames applied.
pub fn read_batch(
    lf: &LazyFrame,
    path: &Path,
    renames: &[(String, String)],
    offset: usize,
    count: usize,
) -> Result<DataFrame> {
    let df = lf
        .clone()
        .slice(offset as i64, count as IdxSize)
        .collect()
        .map_err(|e| polars_data_error(path, e))?;
    tidy_names(df, path, renames)
}

/// Strips byte-order marks and spaces from the header and applies the renames.
fn tidy_names(mut df: DataFrame, path: &Path, renames: &[(String, String)]) -> Result<DataFrame> {
    // Excel's UTF-8 export puts a byte-order mark before the first header.
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    for name in &names {
        let clean = name.trim_start_matches('\u{feff}').trim();
        if clean != name {
            df.rename(name, clean.into())
                .map_err(|e| polars_data_error(path, e))?;
        }
    }
    for (canonical, in_file) in renames {
        if df.get_column_index(in_file).is_some() && canonical != in_file {
            df.rename(in_file, canonical.as_str().into())
                .map_err(|e| polars_data_error(path, e))?;
        }
    }
    Ok(df)
}

/// Reads a CSV file with the `csv` crate, one record at a time: records with the wrong number of
/// fields or broken quoting are returned as unreadable, with their line numbers.
fn read_csv_records(
    path: &Path,
    sep: u8,
    line_offset: u64,
) -> Result<(DataFrame, Vec<Unreadable>)> {
    let mut reader = csv::ReaderBuilder::new()
        .delimiter(sep)
        .flexible(true)
        .from_path(path)
        .map_err(|e| Error::data(path, format!("cannot be read: {e}")))?;
    let header: Vec<String> = reader
        .byte_headers()
        .map_err(|e| Error::data(path, format!("cannot read the header row: {e}")))?
        .iter()
        .map(|h| String::from_utf8_lossy(h).to_string())
        .collect();
    let mut columns: Vec<Vec<Option<String>>> = vec![Vec::new(); header.len()];
    let mut lines: Vec<u64> = Vec::new();
    let mut unreadable = Vec::new();
    let mut record = csv::ByteRecord::new();
    loop {
        let line = reader.position().line() + 1;
        match reader.read_byte_record(&mut record) {
            Ok(false) => break,
            Ok(true) if record.len() != header.len() => {
                let line = record.position().map_or(line, |p| p.line());
                unreadable.push((
                    line,
                    format!(
                        "has {} fields; the header has {}",
                        record.len(),
                        header.len()
                    ),
                ));
            }
            Ok(true) => {
                lines.push(record.position().map_or(line, |p| p.line()));
                for (c, field) in columns.iter_mut().zip(record.iter()) {
                    c.push((!field.is_empty()).then(|| String::from_utf8_lossy(field).to_string()));
                }
            }
            Err(e) => {
                let line = e.position().map_or(line, |p| p.line());
                unreadable.push((line, format!("cannot be read as a CSV record: {e}")));
                if matches!(e.kind(), csv::ErrorKind::Io(_)) {
                    break;
                }
            }
        }
    }
    let lines: Vec<u64> = lines.iter().map(|l| l + line_offset).collect();
    for u in &mut unreadable {
        u.0 += line_offset;
    }
    let height = lines.len();
    let mut cols = vec![Column::new(
        ROW.into(),
        lines
            .iter()
            .map(|&l| l as IdxSize)
            .collect::<Vec<IdxSize>>(),
    )];
    for (name, values) in header.iter().zip(columns) {
        cols.push(Column::new(name.as_str().into(), values));
    }
    let df = DataFrame::new(height, cols).map_err(|e| polars_data_error(path, e))?;
    Ok((df, unreadable))
}

/// Reads a small reference table (a lookup, a standard population) where every record must be
/// readable: the first unreadable record is an error naming its line.
pub fn read_strict(path: &Path) -> Result<DataFrame> {
    let table = read_text_table(path, &[])?;
    match table.unreadable.first() {
        Some((row, reason)) => Err(Error::Data {
            location: crate::error::Location {
                file: path.to_path_buf(),
                row: Some(*row),
                column: None,
            },
            message: format!("the record {reason}"),
        }),
        None => Ok(table.frame),
    }
}

/// A source opened for checking: its readable rows, how many records it has (readable or not),
/// a problem for each unreadable record, and the reader's notes.
pub struct Opened {
    pub frame: DataFrame,
    pub rows_read: u64,
    pub problems: Vec<Problem>,
    pub notes: Vec<String>,
}

/// Reads a source (its file, sheet and renames) as text and checks its required columns.
pub fn open(source: &crate::pipeline::plan::Source, required: &[&str]) -> Result<Opened> {
    let table = read_sheet_table(&source.path, &source.columns, source.sheet.as_deref())?;
    require_columns(&table.frame, &source.path, required)?;
    Ok(Opened {
        rows_read: (table.frame.height() + table.unreadable.len()) as u64,
        problems: unreadable_problems(&table.unreadable, &source.id, &source.display_path),
        frame: table.frame,
        notes: table.notes,
    })
}

/// Problems for records that could not be read as rows.
pub fn unreadable_problems(unreadable: &[Unreadable], source: &str, display: &str) -> Vec<Problem> {
    unreadable
        .iter()
        .map(|(row, reason)| Problem {
            source: source.to_string(),
            file: display.to_string(),
            row: *row,
            column: WHOLE_ROW.to_string(),
            value: String::new(),
            reason: reason.clone(),
        })
        .collect()
}

/// A list for an error message: at most 30 items of at most 40 characters each, so a damaged
/// header (a whole file read as one line) is never printed whole.
pub fn excerpt_list(items: &[String]) -> String {
    let mut shown: Vec<String> = items.iter().take(30).map(|s| excerpt(s, 40)).collect();
    if items.len() > 30 {
        shown.push(format!("… and {} more", items.len() - 30));
    }
    shown.join(", ")
}

/// At most `max` characters of `s`, with `…` when cut.
pub fn excerpt(s: &str, max: usize) -> String {
    match s.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &s[..i]),
        None => s.to_string(),
    }
}

/// Fails with a clear message when required columns are missing.
pub fn require_columns(df: &DataFrame, path: &Path, required: &[&str]) -> Result<()> {
    let have: Vec<String> = df
        .get_column_names()
        .iter()
        .filter(|n| n.as_str() != ROW)
        .map(|s| s.to_string())
        .collect();
    let missing: Vec<&str> = required
        .iter()
        .copied()
        .filter(|c| !have.iter().any(|h| h == c))
        .collect();
    if missing.is_empty() {
        return Ok(());
    }
    Err(Error::data(
        path,
        format!(
            "missing column(s) {}; the file has: {} (map other names with [sources.<id>.columns])",
            missing
                .iter()
                .map(|m| format!("\"{m}\""))
                .collect::<Vec<_>>()
                .join(", "),
            excerpt_list(&have)
        ),
    ))
}

/// Applies `rules` to `df` (which already holds any typed columns the rules use). Returns the
/// accepted rows and the problems found.
pub fn apply_rules(
    df: DataFrame,
    rules: &[Rule<'_>],
    source: &str,
    file: &str,
) -> Result<(DataFrame, Vec<Problem>)> {
    if rules.is_empty() {
        return Ok((df, Vec::new()));
    }
    let original: Vec<Expr> = df
        .get_column_names()
        .iter()
        .map(|n| col((*n).clone()))
        .collect();
    let flags: Vec<Expr> = rules
        .iter()
        .enumerate()
        .map(|(i, r)| {
            r.fails
                .clone()
                .fill_null(lit(false))
                .alias(format!("__fail{i}"))
        })
        .collect();
    let flagged = df.lazy().with_columns(flags).collect()?;
    let any_fail = any_horizontal(
        (0..rules.len())
            .map(|i| col(format!("__fail{i}")))
            .collect::<Vec<_>>(),
    )?;
    let failing = flagged.clone().lazy().filter(any_fail.clone()).collect()?;
    let mut problems = Vec::new();
    if failing.height() > 0 {
        let rows = failing.column(ROW)?.cast(&DataType::UInt64)?;
        let rows = rows.u64()?;
        for (i, rule) in rules.iter().enumerate() {
            let hit = failing.column(&format!("__fail{i}"))?.bool()?.clone();
            let values = failing.column(rule.column)?.cast(&DataType::String)?;
            let values = values.str()?;
            for (k, h) in hit.iter().enumerate() {
                if h == Some(true) {
                    problems.push(Problem {
                        source: source.to_string(),
                        file: file.to_string(),
                        row: rows.get(k).unwrap_or(0),
                        column: rule.column.to_string(),
                        value: values.get(k).unwrap_or("").to_string(),
                        reason: rule.reason.clone(),
                    });
                }
            }
        }
    }
    let accepted = flagged
        .lazy()
        .filter(any_fail.not())
        .select(original)
        .collect()?;
    problems.sort();
    Ok((accepted, problems))
}

/// Parses ISO (`YYYY-MM-DD`) or UK (`DD/MM/YYYY`) dates; anything else becomes null.
pub fn parse_date(column: &str) -> Expr {
    let opts = |f: &str| StrptimeOptions {
        format: Some(f.into()),
        strict: false,
        exact: true,
        cache: true,
    };
    let text = col(column).str().strip_chars(lit(NULL));
    coalesce(&[
        text.clone().str().to_date(opts("%Y-%m-%d")),
        text.str().to_date(opts("%d/%m/%Y")),
    ])
}

/// Maps each distinct value of the text column `column` once through `f` and joins the answers
/// back as the text column `out` (null where `f` gives none): for lookups that are Rust, not
/// expressions (code history, area names), run per distinct value instead of per row.
/// A number from text: commas are taken as thousands separators only where they group digits in
/// threes (`1,234,567.5`); any other comma (`1,5`) leaves the text as it is, so it is not a
/// number and is reported, never read as 15.
pub fn number_expr(text: Expr) -> Expr {
    let grouped = text
        .clone()
        .str()
        .contains(lit(r"^[+-]?[0-9]{1,3}(,[0-9]{3})+(\.[0-9]*)?$"), false)
        .fill_null(lit(false));
    when(grouped)
        .then(text.clone().str().replace_all(lit(","), lit(""), true))
        .otherwise(text)
        .cast(DataType::Float64)
}

pub fn map_distinct(
    frame: DataFrame,
    column: &str,
    out: &str,
    mut f: impl FnMut(&str) -> Option<String>,
) -> Result<DataFrame> {
    let distinct = frame.column(column)?.unique_stable()?;
    let from: Vec<Option<&str>> = distinct.str()?.iter().collect();
    let to: Vec<Option<String>> = from.iter().map(|v| v.and_then(&mut f)).collect();
    let mapping = DataFrame::new(
        from.len(),
        vec![
            Column::new(column.into(), from),
            Column::new(out.into(), to),
        ],
    )?;
    Ok(frame
        .lazy()
        .join(
            mapping.lazy(),
            [col(column)],
            [col(column)],
            JoinArgs::new(JoinType::Left),
        )
        .collect()?)
}

/// True where the text column holds a value that is not one of `allowed` (null passes).
pub fn not_in(column: &str, allowed: &[&str]) -> Expr {
    let list = Series::new("allowed".into(), allowed);
    col(column)
        .is_not_null()
        .and(col(column).is_in(lit(list).implode(false), false).not())
}

/// Like [`not_in`], after trimming spaces from the value.
pub fn not_in_trimmed(column: &str, allowed: &[&str]) -> Expr {
    let list = Series::new("allowed".into(), allowed);
    let v = col(column).str().strip_chars(lit(NULL));
    v.clone()
        .is_not_null()
        .and(v.is_in(lit(list).implode(false), false).not())
}

pub fn listing(allowed: &[&str]) -> String {
    allowed.join(", ")
}
