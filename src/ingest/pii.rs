//! The anonymisation guard: refuse record-level columns that look like direct identifiers.
//!
//! Checked on every column of a records source, used or not: NHS numbers (10 digits passing
//! the Modulus 11 check), full UK postcodes, email addresses and UK phone numbers by content;
//! names and exact dates of birth by column name. A column may be allowed only with a reason in
//! `[sources.<id>.allow_identifiers]`. Errors say the column, the kind and how many values
//! matched, and never show a value.

use super::ROW;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::collections::BTreeMap;
use std::path::Path;

/// One column that looks like a direct identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Finding {
    pub column: String,
    pub kind: &'static str,
    /// Distinct values that match, and distinct values in the column.
    pub matches: u64,
    pub values: u64,
}

const POSTCODE: &str = r"(?i)^\s*[A-Z]{1,2}[0-9][A-Z0-9]?\s?[0-9][A-Z]{2}\s*$";
const EMAIL: &str = r"^\s*[^@\s]+@[^@\s]+\.[A-Za-z]{2,}\s*$";
const PHONE: &str = r"^\s*(\+44\s?|0)(\d[\s-]?){9,10}\s*$";
const NHS_SHAPE: &str = r"^\s*\d{3}[\s-]?\d{3}[\s-]?\d{4}\s*$";
const DATE_SHAPE: &str = r"^\s*\d{1,4}[-/.]\d{1,2}[-/.]\d{1,4}\s*$";

const NAME_COLUMNS: [&str; 16] = [
    "name",
    "firstname",
    "forename",
    "forenames",
    "surname",
    "lastname",
    "familyname",
    "fullname",
    "givenname",
    "middlename",
    "patientname",
    "clientname",
    "personname",
    "childname",
    "mothersname",
    "fathersname",
];

fn squash(column: &str) -> String {
    column
        .to_lowercase()
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect()
}

/// The NHS number check digit rule: weights 10..2 on the first nine digits, 11 − (sum mod 11).
pub fn nhs_number_valid(text: &str) -> bool {
    let digits: Vec<u32> = text.chars().filter_map(|c| c.to_digit(10)).collect();
    if digits.len() != 10 || text.chars().any(|c| c.is_ascii_alphabetic()) {
        return false;
    }
    let sum: u32 = digits[..9]
        .iter()
        .enumerate()
        .map(|(i, d)| d * (10 - i as u32))
        .sum();
    match 11 - sum % 11 {
        11 => digits[9] == 0,
        10 => false,
        check => digits[9] == check,
    }
}

fn count(df: &DataFrame, column: &str, pattern: &str) -> Result<u64> {
    let n = df
        .clone()
        .lazy()
        .select([col(column)
            .str()
            .contains(lit(pattern), false)
            .fill_null(lit(false))
            .cast(DataType::UInt64)
            .sum()])
        .collect()?;
    Ok(n.column(column)?.u64()?.get(0).unwrap_or(0))
}

/// Identifiers inside longer text ("moved to SW1A 1AA in May"): word-bounded, anywhere in a cell.
const POSTCODE_IN: &str = r"(?i)\b[A-Z]{1,2}[0-9][A-Z0-9]?\s?[0-9][A-Z]{2}\b";
const EMAIL_IN: &str = r"[^@\s]+@[^@\s]+\.[A-Za-z]{2,}";
const NHS_IN: &str = r"\b\d{3}[\s-]?\d{3}[\s-]?\d{4}\b";

/// A kind of identifier inside text: its name, its pattern and a check on each match.
type TextKind = (&'static str, &'static str, fn(&str) -> bool);

/// One kind of identifier found inside free text, with the first row (file line) that has it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TextFinding {
    pub column: String,
    pub kind: &'static str,
    pub rows: u64,
    pub first_row: u64,
}

/// Finds postcodes, e-mail addresses and NHS numbers (Modulus 11) anywhere inside the cells of
/// `df`'s text columns, naming the column and the first row; values are never returned.
pub fn scan_free_text(df: &DataFrame) -> Result<Vec<TextFinding>> {
    let kinds: [TextKind; 3] = [
        ("a full UK postcode inside text", POSTCODE_IN, |_| true),
        ("an email address inside text", EMAIL_IN, |_| true),
        (
            "an NHS number (passing the Modulus 11 check) inside text",
            NHS_IN,
            nhs_number_valid,
        ),
    ];
    let mut found = Vec::new();
    for name in df.get_column_names() {
        let name = name.as_str();
        if name == ROW || df.column(name)?.dtype() != &DataType::String {
            continue;
        }
        // Distinct values first: most columns hold a few codes.
        let series = df.column(name)?.drop_nulls().unique()?;
        let distinct = DataFrame::new(series.len(), vec![series])?;
        for (kind, pattern, valid) in kinds {
            let candidates = distinct
                .clone()
                .lazy()
                .filter(
                    col(name)
                        .str()
                        .contains(lit(pattern), false)
                        .fill_null(lit(false)),
                )
                .collect()?;
            if candidates.height() == 0 {
                continue;
            }
            let re = regex::Regex::new(pattern).map_err(|e| Error::Internal(e.to_string()))?;
            let hits: Vec<&str> = candidates
                .column(name)?
                .str()?
                .iter()
                .flatten()
                .filter(|t| re.find_iter(t).any(|m| valid(m.as_str())))
                .collect();
            if hits.is_empty() {
                continue;
            }
            let list = Series::new("hits".into(), hits);
            let rows = df
                .clone()
                .lazy()
                .filter(col(name).is_in(lit(list).implode(false), false))
                .select([
                    col(ROW).cast(DataType::UInt64).min().alias("first"),
                    len().cast(DataType::UInt64).alias("n"),
                ])
                .collect()?;
            found.push(TextFinding {
                column: name.to_string(),
                kind,
                rows: rows.column("n")?.u64()?.get(0).unwrap_or(0),
                first_row: rows.column("first")?.u64()?.get(0).unwrap_or(0),
            });
        }
    }
    Ok(found)
}

/// Finds the columns of `df` (all text) that look like direct identifiers.
pub fn scan(df: &DataFrame) -> Result<Vec<Finding>> {
    let mut found = Vec::new();
    for name in df.get_column_names() {
        let name = name.as_str();
        if name == ROW {
            continue;
        }
        // Distinct values: most columns hold a few codes, so this is cheap where it can be.
        let series = df.column(name)?.drop_nulls().unique()?;
        let distinct = DataFrame::new(series.len(), vec![series.clone()])?;
        let df = &distinct;
        let values = series.len() as u64;
        if values == 0 {
            continue;
        }
        let squashed = squash(name);
        let mut push = |kind: &'static str, matches: u64| {
            if matches > 0 {
                found.push(Finding {
                    column: name.to_string(),
                    kind,
                    matches,
                    values,
                });
            }
        };
        if NAME_COLUMNS.contains(&squashed.as_str()) {
            push("names", values);
        }
        if squashed.contains("dob")
            || squashed.contains("dateofbirth")
            || squashed.contains("birthdate")
        {
            push("exact dates of birth", count(df, name, DATE_SHAPE)?);
        }
        push("full UK postcodes", count(df, name, POSTCODE)?);
        push("email addresses", count(df, name, EMAIL)?);
        push("UK phone numbers", count(df, name, PHONE)?);
        if count(df, name, NHS_SHAPE)? > 0 {
            let candidates = df
                .clone()
                .lazy()
                .select([col(name)])
                .filter(col(name).str().contains(lit(NHS_SHAPE), false))
                .collect()?;
            let valid = candidates
                .column(name)?
                .str()?
                .iter()
                .flatten()
                .filter(|v| nhs_number_valid(v))
                .count() as u64;
            push("NHS numbers (passing the Modulus 11 check)", valid);
        }
    }
    Ok(found)
}

/// Refuses the file when a column that is not allowed looks like a direct identifier.
pub fn guard(
    df: &DataFrame,
    path: &Path,
    source: &str,
    allowed: &BTreeMap<String, String>,
) -> Result<()> {
    let findings: Vec<Finding> = scan(df)?
        .into_iter()
        .filter(|f| !allowed.contains_key(&f.column))
        .collect();
    // Columns already refused whole are not searched again inside their text.
    let in_text: Vec<TextFinding> = scan_free_text(df)?
        .into_iter()
        .filter(|f| !allowed.contains_key(&f.column))
        .filter(|f| !findings.iter().any(|w| w.column == f.column))
        .collect();
    if findings.is_empty() && in_text.is_empty() {
        return Ok(());
    }
    let mut list: Vec<String> = findings
        .iter()
        .map(|f| {
            format!(
                "column \"{}\" holds {} ({} of {} distinct values match)",
                f.column, f.kind, f.matches, f.values
            )
        })
        .collect();
    list.extend(in_text.iter().map(|f| {
        format!(
            "column \"{}\" holds {} in {} row(s), first on line {}",
            f.column, f.kind, f.rows, f.first_row
        )
    }));
    Err(Error::ChecksFailed(format!(
        "{}: refusing to ingest direct identifiers: {}. Values are not shown. Remove these columns from the extract, or, if a column is not what it looks like, list it under [sources.{source}.allow_identifiers] with a reason",
        path.display(),
        list.join("; ")
    )))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nhs_numbers_follow_the_modulus_11_rule() {
        // 943 476 5919 is the NHS Digital example of a valid number.
        assert!(nhs_number_valid("9434765919"));
        assert!(nhs_number_valid("943 476 5919"));
        assert!(!nhs_number_valid("9434765918"), "wrong check digit");
        assert!(!nhs_number_valid("943476591"), "nine digits");
        assert!(!nhs_number_valid("P943476591"));
    }

    #[test]
    fn identifier_columns_are_found_and_pseudonyms_are_not() {
        let df = DataFrame::new(
            3,
            vec![
                Column::new(
                    "person_id".into(),
                    ["P00A1B2C3D4E5", "P00A1B2C3D4E6", "P00A1B2C3D4E7"],
                ),
                Column::new("nhs".into(), ["9434765919", "123", "943 476 5919"]),
                Column::new("pc".into(), ["SW1A 1AA", "M1", "ls1 4dy"]),
                Column::new("contact".into(), ["a@b.org", "", "07700 900123"]),
                Column::new("Surname".into(), ["x", "y", "z"]),
                Column::new("DOB".into(), ["01/02/1990", "", ""]),
                Column::new("age".into(), ["34", "7", "90"]),
            ],
        )
        .unwrap();
        let f = scan(&df).unwrap();
        let kinds: Vec<(&str, &str, u64)> = f
            .iter()
            .map(|f| (f.column.as_str(), f.kind, f.matches))
            .collect();
        assert_eq!(
            kinds,
            [
                ("nhs", "NHS numbers (passing the Modulus 11 check)", 2),
                ("pc", "full UK postcodes", 2),
                ("contact", "email addresses", 1),
                ("contact", "UK phone numbers", 1),
                ("Surname", "names", 3),
                ("DOB", "exact dates of birth", 1),
            ]
        );
    }

    #[test]
    fn identifiers_inside_free_text_are_found_with_their_first_row() {
        let df = DataFrame::new(
            4,
            vec![
                Column::new(ROW.into(), [2u32, 3, 4, 5]),
                Column::new(
                    "notes".into(),
                    [
                        "moved to SW1A 1AA in May",
                        "no change",
                        "email her at a.b@example.org today",
                        "NHS 943 476 5919 on file",
                    ],
                ),
                // Codes, counts and an invalid NHS-shaped number are not identifiers.
                Column::new(
                    "other".into(),
                    ["E06000010 area", "ref 943 476 5918", "code W1", "ok"],
                ),
            ],
        )
        .unwrap();
        let f = scan_free_text(&df).unwrap();
        let got: Vec<(&str, u64, u64)> = f
            .iter()
            .map(|f| (f.column.as_str(), f.rows, f.first_row))
            .collect();
        assert_eq!(got, [("notes", 1, 2), ("notes", 1, 4), ("notes", 1, 5)]);
        let e = guard(&df, Path::new("r.csv"), "records", &BTreeMap::new()).unwrap_err();
        let text = e.to_string();
        assert!(text.contains("first on line 2"), "{text}");
        assert!(
            !text.contains("SW1A") && !text.contains("example.org"),
            "{text}"
        );
    }
}
