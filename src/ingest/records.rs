//! Local service records: column checks, code lists, dates, cross-field rules, derived columns.

use super::{apply_rules, listing, not_in, open, parse_date, Loaded, Opened, Rule};
use crate::error::Result;
use crate::log::Progress;
use crate::pipeline::plan::Source;
use polars::prelude::*;

pub const DATE_COLUMNS: [&str; 3] = ["referral_date", "assessment_date", "decision_date"];

/// The record layout, in file order (documented in `sample_data/README.md`).
pub const LAYOUT: [&str; 30] = [
    "person_id",
    "area_code",
    "referral_date",
    "assessment_date",
    "decision_date",
    "age",
    "sex",
    "gender_identity",
    "sexual_orientation",
    "ethnicity",
    "immigration_status",
    "uasc",
    "nrm_referral",
    "need_mental_health",
    "need_ptsd",
    "need_physical_disability",
    "need_learning_disability",
    "need_long_term_illness",
    "need_pregnancy",
    "need_violence",
    "need_destitution",
    "interpreter_needed",
    "interpreter_provided",
    "language",
    "advocacy_offered",
    "outcome",
    "service_type",
    "referral_source",
    "placement_type",
    "pathway_plan",
];

/// Text columns kept as they are (after the code-list checks below).
pub const TEXT_COLUMNS: [&str; 11] = [
    "person_id",
    "area_code",
    "sex",
    "gender_identity",
    "sexual_orientation",
    "ethnicity",
    "immigration_status",
    "language",
    "outcome",
    "service_type",
    "referral_source",
];
pub const OPTIONAL_TEXT: [&str; 1] = ["placement_type"];

/// Yes/no flag columns (`Y`, `N` or empty): the layout's columns not listed as another type.
pub fn flag_columns() -> Vec<&'static str> {
    LAYOUT
        .iter()
        .copied()
        .filter(|c| {
            !TEXT_COLUMNS.contains(c)
                && !OPTIONAL_TEXT.contains(c)
                && !DATE_COLUMNS.contains(c)
                && *c != "age"
        })
        .collect()
}

/// Columns computed after validation, usable in group and indicator conditions.
pub const DERIVED: [&str; 2] = ["days_to_assessment", "days_to_decision"];

pub const SEX: [&str; 4] = ["F", "M", "X", "U"];
pub const GENDER_IDENTITY: [&str; 5] = ["1", "2", "U", "Z", "9"];
pub const SEXUAL_ORIENTATION: [&str; 7] = ["1", "2", "3", "4", "U", "Z", "9"];
pub const IMMIGRATION_STATUS: [&str; 9] = [
    "asylum_seeker",
    "refugee",
    "refused_asylum_seeker",
    "uasc",
    "nrpf",
    "resettled",
    "other_migrant",
    "not_subject",
    "not_known",
];
pub const OUTCOME: [&str; 4] = [
    "service_provided",
    "signposted",
    "no_further_action",
    "ineligible",
];
pub const ETHNICITY: [&str; 22] = [
    "W1", "W2", "W3", "W4", "W5", "M1", "M2", "M3", "M4", "A1", "A2", "A3", "A4", "A5", "B1", "B2",
    "B3", "O1", "O2", "U", "Z", "9",
];
pub const MAX_AGE: i64 = 120;
/// The oldest age a record flagged UASC can have: former UASC care leavers are supported to 25.
const MAX_UASC_AGE: i64 = 25;

/// The schema of validated records that group and indicator conditions are written against.
pub fn canonical_schema() -> Schema {
    let mut fields = Vec::new();
    let flags = flag_columns();
    for c in TEXT_COLUMNS
        .iter()
        .chain(flags.iter())
        .chain(OPTIONAL_TEXT.iter())
    {
        fields.push(Field::new((*c).into(), DataType::String));
    }
    for c in DATE_COLUMNS {
        fields.push(Field::new(c.into(), DataType::Date));
    }
    fields.push(Field::new("age".into(), DataType::Int64));
    for c in DERIVED {
        fields.push(Field::new(c.into(), DataType::Int64));
    }
    Schema::from_iter(fields)
}

fn required() -> Vec<&'static str> {
    LAYOUT
        .iter()
        .copied()
        .filter(|c| !OPTIONAL_TEXT.contains(c))
        .collect()
}

/// Records read from a Parquet file at a time: enough to keep both cores busy, few enough that
/// a batch's text columns stay small beside the reduced records. `JSNA_BATCH_ROWS` overrides it.
pub const BATCH_ROWS: usize = 1 << 19;

/// The batch size: `JSNA_BATCH_ROWS` if set, else [`BATCH_ROWS`].
fn batch_rows() -> Result<usize> {
    match std::env::var("JSNA_BATCH_ROWS") {
        Err(_) => Ok(BATCH_ROWS),
        Ok(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|&n| n > 0)
            .ok_or_else(|| {
                crate::error::Error::Usage(format!(
                    "JSNA_BATCH_ROWS must be a whole number of records above 0, not \"{v}\""
                ))
            }),
    }
}

/// Reads and validates a records file, and reduces the accepted records with `reduce`, which
/// gets each batch and the columns it must keep (the line number and any column a data test
/// reads). `area_codes` are the codes of the area lookup.
///
/// A Parquet file is read [`BATCH_ROWS`] records at a time, so the text of every record is never
/// held at once, and `progress` counts the records as they are done; other files are read whole.
pub fn load(
    source: &Source,
    area_codes: &[String],
    reduce: &dyn Fn(DataFrame, &[&str]) -> Result<DataFrame>,
    progress: &Progress,
) -> Result<Loaded> {
    let mut keep: Vec<&str> = vec![super::ROW];
    for t in &source.tests {
        if !keep.contains(&t.column.as_str()) {
            keep.push(t.column.as_str());
        }
    }
    let mut frames = Vec::new();
    let mut problems = Vec::new();
    let (rows_read, read_notes) = if super::is_parquet(&source.path) {
        let batch = batch_rows()?;
        let scan = super::scan_parquet_text(&source.path)?;
        let total = super::row_count(&scan, &source.path)?;
        progress.set_length(total as u64, "records");
        let (mut offset, mut rows_read) = (0, 0u64);
        loop {
            let raw = super::read_batch(&scan, &source.path, &source.columns, offset, batch)?;
            if offset == 0 {
                super::require_columns(&raw, &source.path, &required())?;
            }
            let n = raw.height();
            let (accepted, found) = check(source, raw, area_codes)?;
            problems.extend(found);
            frames.push(reduce(accepted, &keep)?);
            offset += n;
            rows_read += n as u64;
            progress.inc(n as u64);
            if n == 0 || offset >= total {
                break;
            }
        }
        (rows_read, Vec::new())
    } else {
        let Opened {
            frame,
            rows_read,
            problems: unreadable,
            notes,
        } = open(source, &required())?;
        let (accepted, found) = check(source, frame, area_codes)?;
        problems.extend(unreadable);
        problems.extend(found);
        frames.push(reduce(accepted, &keep)?);
        (rows_read, notes)
    };
    let mut frames = frames.into_iter();
    let mut frame = frames
        .next()
        .ok_or_else(|| crate::error::Error::Internal("no batch of records was read".into()))?;
    for f in frames {
        frame.vstack_mut_owned(f)?;
    }
    frame.rechunk_mut_par();
    let (frame, failed, tests) = super::data_tests::run(
        frame,
        &source.tests,
        area_codes,
        &source.id,
        &source.display_path,
    )?;
    problems.extend(failed);
    problems.sort();
    Ok(Loaded {
        frame,
        rows_read,
        problems,
        outside: Vec::new(),
        notes: read_notes,
        tests,
    })
}

/// Checks one batch of records read as text: returns the accepted records, typed and with the
/// derived columns, and a problem for every failed check.
fn check(
    source: &Source,
    raw: DataFrame,
    area_codes: &[String],
) -> Result<(DataFrame, Vec<super::Problem>)> {
    super::pii::guard(&raw, &source.path, &source.id, &source.allow_identifiers)?;
    let raw_names: Vec<String> = raw
        .get_column_names()
        .iter()
        .map(|n| n.to_string())
        .collect();
    let mut lf = raw.lazy();
    for c in OPTIONAL_TEXT {
        if !raw_names.iter().any(|n| n == c) {
            lf = lf.with_column(lit(NULL).cast(DataType::String).alias(c));
        }
    }
    let typed = lf.with_columns([
        parse_date("referral_date").alias("__referral"),
        parse_date("assessment_date").alias("__assessment"),
        parse_date("decision_date").alias("__decision"),
        col("age")
            .str()
            .strip_chars(lit(NULL))
            .cast(DataType::Int64)
            .alias("__age"),
    ]);

    let codes: Vec<&str> = area_codes.iter().map(|s| s.as_str()).collect();
    let mut rules = vec![
        Rule {
            column: "person_id",
            fails: col("person_id").is_null(),
            reason: "is missing (every record needs a pseudonymous person_id)".into(),
        },
        Rule {
            column: "area_code",
            fails: col("area_code").is_null(),
            reason: "is missing".into(),
        },
        Rule {
            column: "area_code",
            fails: not_in("area_code", &codes),
            reason: "is not an area in the area lookup".into(),
        },
        Rule {
            column: "referral_date",
            fails: col("referral_date").is_null(),
            reason: "is missing".into(),
        },
    ];
    let (earliest, latest) = source.date_window;
    let day = |d: chrono::NaiveDate| {
        (d - chrono::NaiveDate::from_ymd_opt(1970, 1, 1).unwrap_or_default()).num_days() as i32
    };
    for (c, typed_col) in DATE_COLUMNS
        .iter()
        .zip(["__referral", "__assessment", "__decision"])
    {
        // Compared as days since 1970: polars 0.55 compares a date with a date literal as
        // null for years far from now (0001, 9999), which would let them through.
        let days = col(typed_col).cast(DataType::Int32);
        // 01/04/23 would otherwise be read as the year 23, or not at all.
        let two_digit = col(*c)
            .str()
            .strip_chars(lit(NULL))
            .str()
            .contains(lit(r"^\d{1,2}[/.-]\d{1,2}[/.-]\d{2}$"), false)
            .fill_null(lit(false));
        rules.push(Rule {
            column: c,
            fails: two_digit.clone(),
            reason: "has a two-digit year; write the year in full (01/04/2023, not 01/04/23)"
                .into(),
        });
        rules.push(Rule {
            column: c,
            fails: col(*c)
                .is_not_null()
                .and(col(typed_col).is_null())
                .and(two_digit.clone().not()),
            reason: "is not a valid date (expected YYYY-MM-DD or DD/MM/YYYY)".into(),
        });
        rules.push(Rule {
            column: c,
            fails: two_digit
                .not()
                .and(days.clone().lt(lit(day(earliest))).or(days.gt(lit(day(latest)))))
                .fill_null(lit(false)),
            reason: format!(
                "is outside the plausible dates {earliest} to {latest} (set earliest_date or latest_date on the source to change them)"
            ),
        });
    }
    rules.extend([
        Rule {
            column: "assessment_date",
            fails: col("__assessment").lt(col("__referral")),
            reason: "is before the referral date".into(),
        },
        Rule {
            column: "decision_date",
            fails: col("__decision").lt(col("__assessment")),
            reason: "is before the assessment date".into(),
        },
        Rule {
            column: "age",
            fails: col("age").is_null(),
            reason: "is missing".into(),
        },
        Rule {
            column: "age",
            fails: col("age").is_not_null().and(col("__age").is_null()),
            reason: "is not a whole number".into(),
        },
        Rule {
            column: "age",
            fails: col("__age").lt(lit(0)).or(col("__age").gt(lit(MAX_AGE))),
            reason: format!("is outside 0 to {MAX_AGE}"),
        },
        // Cross-field: the UASC flag covers children and former UASC care leavers up to 25.
        Rule {
            column: "age",
            fails: col("uasc")
                .str()
                .strip_chars(lit(NULL))
                .eq(lit("Y"))
                .and(col("__age").gt(lit(MAX_UASC_AGE))),
            reason: format!(
                "is over {MAX_UASC_AGE} on a record flagged UASC (uasc = Y covers children and former UASC care leavers up to {MAX_UASC_AGE})"
            ),
        },
        Rule {
            column: "sex",
            fails: col("sex").is_null().or(not_in("sex", &SEX)),
            reason: format!("is not a sex code; expected one of: {}", listing(&SEX)),
        },
        code_rule("gender_identity", &GENDER_IDENTITY, "gender identity code"),
        code_rule(
            "sexual_orientation",
            &SEXUAL_ORIENTATION,
            "NHS sexual orientation code",
        ),
        code_rule("ethnicity", &ETHNICITY, "ethnicity code"),
        code_rule("outcome", &OUTCOME, "outcome"),
        Rule {
            column: "immigration_status",
            fails: col("immigration_status")
                .is_null()
                .or(not_in("immigration_status", &IMMIGRATION_STATUS)),
            reason: format!(
                "is not an immigration status; expected one of: {}",
                listing(&IMMIGRATION_STATUS)
            ),
        },
    ]);
    for c in flag_columns() {
        rules.push(code_rule(c, &["Y", "N"], "flag (Y or N)"));
    }
    let (accepted, problems) =
        apply_rules(typed.collect()?, &rules, &source.id, &source.display_path)?;

    let frame = accepted
        .lazy()
        .with_columns([
            col("__referral").alias("referral_date"),
            col("__assessment").alias("assessment_date"),
            col("__decision").alias("decision_date"),
            col("__age").alias("age"),
        ])
        .with_columns([
            (col("assessment_date") - col("referral_date"))
                .dt()
                .total_days(false)
                .cast(DataType::Int64)
                .alias("days_to_assessment"),
            (col("decision_date") - col("referral_date"))
                .dt()
                .total_days(false)
                .cast(DataType::Int64)
                .alias("days_to_decision"),
        ])
        .drop(cols(["__referral", "__assessment", "__decision", "__age"]))
        .collect()?;
    Ok((frame, problems))
}

fn code_rule(column: &'static str, allowed: &[&str], what: &str) -> Rule<'static> {
    Rule {
        column,
        fails: not_in(column, allowed),
        reason: format!(
            "is not a valid {what}; expected one of: {}",
            listing(allowed)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layout_column_has_exactly_one_type() {
        let schema = canonical_schema();
        for c in LAYOUT {
            assert!(
                schema.get(c).is_some(),
                "{c} missing from the canonical schema"
            );
        }
        assert_eq!(schema.len(), LAYOUT.len() + DERIVED.len());
        assert_eq!(flag_columns().len(), 14);
    }
}
