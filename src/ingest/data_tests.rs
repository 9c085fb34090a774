//! Declared data tests on a records source, in dbt's words: `not_null`, `unique`,
//! `accepted_values`, `range` and `relationships`, each with a severity and a tolerance.
//!
//! Rows failing an `error` test are quarantined with the test as the reason; rows failing a
//! `warn` test are kept and counted. An `error` test fails the run (exit 1) when more than its
//! tolerance of rows fail it. Every test is counted in the data-quality summary and the manifest.

use super::{Problem, ROW};
use crate::error::Result;
use crate::pipeline::plan::DataTest;
use crate::pipeline::spec::{DataTestKind, Severity};
use polars::prelude::*;

/// What one data test found.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct TestOutcome {
    pub column: String,
    pub test: String,
    pub severity: &'static str,
    pub tolerance: f64,
    pub rows_tested: u64,
    pub failures: u64,
    /// `pass`, `warn` (failures kept or within the tolerance) or `fail`.
    pub status: &'static str,
}

/// The expression that is true on rows failing the test (null counts as passing, except for
/// `not_null`). `unique` needs the `__first{i}` column added by [`run`].
fn fails(test: &DataTest, i: usize, area_codes: &[String]) -> Expr {
    let c = || col(test.column.as_str());
    let text = || c().cast(DataType::String);
    let outside = |allowed: Vec<String>| {
        let list = Series::new("allowed".into(), allowed);
        text()
            .is_not_null()
            .and(text().is_in(lit(list).implode(false), false).not())
    };
    match test.kind {
        DataTestKind::NotNull => c().is_null(),
        DataTestKind::Unique => c()
            .is_not_null()
            .and(col(ROW).neq(col(format!("__first{i}")))),
        DataTestKind::AcceptedValues => outside(test.values.clone()),
        DataTestKind::Relationships => outside(area_codes.to_vec()),
        DataTestKind::Range => {
            let v = c().cast(DataType::Float64);
            let low = test.min.map(|m| v.clone().lt(lit(m))).unwrap_or(lit(false));
            let high = test.max.map(|m| v.clone().gt(lit(m))).unwrap_or(lit(false));
            v.is_not_null().and(low.or(high))
        }
    }
}

/// Runs the tests over accepted rows. Returns the rows kept, a problem per failing row of an
/// `error` test, and what each test found.
pub fn run(
    frame: DataFrame,
    tests: &[DataTest],
    area_codes: &[String],
    source: &str,
    file: &str,
) -> Result<(DataFrame, Vec<Problem>, Vec<TestOutcome>)> {
    if tests.is_empty() {
        return Ok((frame, Vec::new(), Vec::new()));
    }
    let original: Vec<Expr> = frame
        .get_column_names()
        .iter()
        .map(|n| col((*n).clone()))
        .collect();
    let rows_tested = frame.height() as u64;
    // `unique`: the first line of each value, so later lines with it fail.
    let mut lf = frame.lazy();
    for (i, t) in tests.iter().enumerate() {
        if t.kind == DataTestKind::Unique {
            let first = lf
                .clone()
                .group_by([col(t.column.as_str())])
                .agg([col(ROW).min().alias(format!("__first{i}"))]);
            lf = lf.join(
                first,
                [col(t.column.as_str())],
                [col(t.column.as_str())],
                JoinArgs::new(JoinType::Left),
            );
        }
    }
    let flagged = lf
        .with_columns(
            tests
                .iter()
                .enumerate()
                .map(|(i, t)| {
                    fails(t, i, area_codes)
                        .fill_null(lit(false))
                        .alias(format!("__test{i}"))
                })
                .collect::<Vec<_>>(),
        )
        .sort([ROW], Default::default())
        .collect()?;
    let mut problems = Vec::new();
    let mut outcomes = Vec::new();
    let mut quarantine = lit(false);
    for (i, t) in tests.iter().enumerate() {
        let flag = format!("__test{i}");
        let failing = flagged
            .clone()
            .lazy()
            .filter(col(flag.as_str()))
            .select([
                col(ROW).cast(DataType::UInt64),
                col(t.column.as_str()).cast(DataType::String),
            ])
            .collect()?;
        let failures = failing.height() as u64;
        let share = if rows_tested == 0 {
            0.0
        } else {
            failures as f64 / rows_tested as f64
        };
        let status = match (failures, t.severity) {
            (0, _) => "pass",
            (_, Severity::Warn) => "warn",
            (_, Severity::Error) if share <= t.tolerance => "warn",
            _ => "fail",
        };
        if t.severity == Severity::Error && failures > 0 {
            quarantine = quarantine.or(col(flag.as_str()));
            let rows = failing.column(ROW)?.u64()?.clone();
            let values = failing.column(&t.column)?.str()?.clone();
            for (row, value) in rows.iter().zip(values.iter()) {
                problems.push(Problem {
                    source: source.to_string(),
                    file: file.to_string(),
                    row: row.unwrap_or(0),
                    column: t.column.clone(),
                    value: value.unwrap_or("").to_string(),
                    reason: format!("failed data test {}", t.describe()),
                });
            }
        }
        outcomes.push(TestOutcome {
            column: t.column.clone(),
            test: t.describe(),
            severity: match t.severity {
                Severity::Error => "error",
                Severity::Warn => "warn",
            },
            tolerance: t.tolerance,
            rows_tested,
            failures,
            status,
        });
    }
    let kept = flagged
        .lazy()
        .filter(quarantine.not())
        .select(original)
        .collect()?;
    Ok((kept, problems, outcomes))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test(column: &str, kind: DataTestKind) -> DataTest {
        DataTest {
            column: column.into(),
            kind,
            values: Vec::new(),
            min: None,
            max: None,
            severity: Severity::Error,
            tolerance: 0.0,
        }
    }

    fn frame() -> DataFrame {
        df![
            ROW => [2u32, 3, 4, 5, 6],
            "person_id" => [Some("a"), Some("b"), Some("a"), None, Some("c")],
            "age" => [Some(30i64), Some(130), Some(8), Some(40), None],
            "area_code" => ["E1", "E1", "E2", "X9", "E2"],
        ]
        .unwrap()
    }

    #[test]
    fn each_test_finds_exactly_its_failing_rows() {
        let mut range = test("age", DataTestKind::Range);
        range.min = Some(0.0);
        range.max = Some(120.0);
        let mut accepted = test("person_id", DataTestKind::AcceptedValues);
        accepted.values = vec!["a".into(), "b".into()];
        let tests = [
            test("person_id", DataTestKind::NotNull),
            test("person_id", DataTestKind::Unique),
            range,
            accepted,
            test("area_code", DataTestKind::Relationships),
        ];
        let codes = vec!["E1".to_string(), "E2".to_string()];
        let (kept, problems, outcomes) = run(frame(), &tests, &codes, "records", "r.csv").unwrap();
        let failures: Vec<u64> = outcomes.iter().map(|o| o.failures).collect();
        assert_eq!(failures, vec![1, 1, 1, 1, 1]);
        let rows: Vec<(u64, &str)> = problems
            .iter()
            .map(|p| (p.row, p.column.as_str()))
            .collect();
        assert!(rows.contains(&(5, "person_id")), "null id on line 5");
        assert!(rows.contains(&(4, "person_id")), "second 'a' on line 4");
        assert!(rows.contains(&(3, "age")), "age 130 on line 3");
        assert!(
            rows.contains(&(6, "person_id")),
            "'c' not accepted on line 6"
        );
        assert!(rows.contains(&(5, "area_code")), "X9 not an area on line 5");
        assert_eq!(kept.height(), 1, "only line 2 passes every test");
        assert!(outcomes.iter().all(|o| o.status == "fail"));
    }

    #[test]
    fn warn_keeps_rows_and_tolerance_turns_a_failure_into_a_warning() {
        let mut warn = test("person_id", DataTestKind::Unique);
        warn.severity = Severity::Warn;
        let (kept, problems, outcomes) = run(frame(), &[warn], &[], "records", "r.csv").unwrap();
        assert_eq!(kept.height(), 5);
        assert!(problems.is_empty());
        assert_eq!(outcomes[0].status, "warn");
        let mut tolerant = test("person_id", DataTestKind::NotNull);
        tolerant.tolerance = 0.2;
        let (kept, problems, outcomes) =
            run(frame(), &[tolerant], &[], "records", "r.csv").unwrap();
        assert_eq!(
            (kept.height(), problems.len()),
            (4, 1),
            "quarantined, not fatal"
        );
        assert_eq!(outcomes[0].status, "warn");
    }
}
