//! Periods: quarters (`2024 Q1`), financial years (`2023/24`) and calendar years (`2024`).

use crate::pipeline::spec::PeriodKind;
use polars::prelude::*;

/// An integer key for the period containing the date in `column`:
/// quarter `YYYYQ` (20241), financial year of its April start (2023), calendar year (2024).
pub fn key_expr(kind: PeriodKind, column: &str) -> Expr {
    let year = col(column).dt().year().cast(DataType::Int32);
    let month = col(column).dt().month().cast(DataType::Int32);
    match kind {
        PeriodKind::Quarter => year * lit(10) + (month - lit(1)) / lit(3) + lit(1),
        PeriodKind::FinancialYear => year - when(month.lt(lit(4))).then(lit(1)).otherwise(lit(0)),
        PeriodKind::CalendarYear => year,
    }
}

/// The key of the period holding `date` (as [`key_expr`] computes it in a frame).
pub fn key_of(kind: PeriodKind, date: chrono::NaiveDate) -> i32 {
    use chrono::Datelike;
    let (year, month) = (date.year(), date.month() as i32);
    match kind {
        PeriodKind::Quarter => year * 10 + (month - 1) / 3 + 1,
        PeriodKind::FinancialYear => year - i32::from(month < 4),
        PeriodKind::CalendarYear => year,
    }
}

/// The Fingertips time-period label.
pub fn label(kind: PeriodKind, key: i32) -> String {
    match kind {
        PeriodKind::Quarter => format!("{} Q{}", key / 10, key % 10),
        PeriodKind::FinancialYear => format!("{}/{:02}", key, (key + 1) % 100),
        PeriodKind::CalendarYear => key.to_string(),
    }
}

/// A sortable integer: `YYYYQQ00` for quarters, `YYYY0000` for years.
pub fn sortable(kind: PeriodKind, key: i32) -> i64 {
    match kind {
        PeriodKind::Quarter => (key / 10) as i64 * 10_000 + (key % 10) as i64 * 100,
        _ => key as i64 * 10_000,
    }
}

/// The period before `key`.
pub fn previous(kind: PeriodKind, key: i32) -> i32 {
    match kind {
        PeriodKind::Quarter if key % 10 == 1 => (key / 10 - 1) * 10 + 4,
        _ => key - 1,
    }
}

/// The `n` periods ending with `end`, oldest first.
pub fn window(kind: PeriodKind, end: i32, n: u32) -> Vec<i32> {
    let mut keys = vec![end];
    for _ in 1..n {
        let before = previous(kind, *keys.last().unwrap_or(&end));
        keys.push(before);
    }
    keys.reverse();
    keys
}

/// The label of `n` periods ending with `end`, in Fingertips' style: `2021/22 - 23/24`,
/// `2022 - 24`, `2023 Q2 - 2024 Q1`; a single period's own label when `n` is 1.
pub fn rolling_label(kind: PeriodKind, end: i32, n: u32) -> String {
    let start = window(kind, end, n)[0];
    if n <= 1 {
        return label(kind, end);
    }
    match kind {
        PeriodKind::Quarter => format!("{} - {}", label(kind, start), label(kind, end)),
        PeriodKind::FinancialYear => format!(
            "{} - {:02}/{:02}",
            label(kind, start),
            end % 100,
            (end + 1) % 100
        ),
        PeriodKind::CalendarYear => format!("{start} - {:02}", end % 100),
    }
}

/// The mid-year population estimate that serves as the period's denominator.
pub fn population_year(kind: PeriodKind, key: i32) -> i32 {
    match kind {
        PeriodKind::Quarter => key / 10,
        _ => key,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn labels_follow_fingertips_conventions() {
        assert_eq!(label(PeriodKind::Quarter, 20243), "2024 Q3");
        assert_eq!(label(PeriodKind::FinancialYear, 2023), "2023/24");
        assert_eq!(label(PeriodKind::FinancialYear, 1999), "1999/00");
        assert_eq!(label(PeriodKind::CalendarYear, 2024), "2024");
        assert_eq!(sortable(PeriodKind::Quarter, 20243), 20240300);
        assert!(
            sortable(PeriodKind::FinancialYear, 2022) < sortable(PeriodKind::FinancialYear, 2023)
        );
    }

    #[test]
    fn rolling_windows_and_their_labels() {
        assert_eq!(
            window(PeriodKind::Quarter, 20242, 3),
            vec![20234, 20241, 20242]
        );
        assert_eq!(
            window(PeriodKind::FinancialYear, 2023, 3),
            vec![2021, 2022, 2023]
        );
        assert_eq!(
            rolling_label(PeriodKind::FinancialYear, 2023, 3),
            "2021/22 - 23/24"
        );
        assert_eq!(
            rolling_label(PeriodKind::FinancialYear, 2000, 2),
            "1999/00 - 00/01"
        );
        assert_eq!(
            rolling_label(PeriodKind::CalendarYear, 2024, 3),
            "2022 - 24"
        );
        assert_eq!(
            rolling_label(PeriodKind::Quarter, 20241, 4),
            "2023 Q2 - 2024 Q1"
        );
        assert_eq!(rolling_label(PeriodKind::CalendarYear, 2024, 1), "2024");
    }

    /// `key_of` (a date in Rust) and `key_expr` (a date column) are the same mapping.
    #[test]
    fn the_rust_and_the_frame_period_keys_agree() {
        let dates: Vec<chrono::NaiveDate> = [
            (2022, 1, 1),
            (2022, 3, 31),
            (2022, 4, 1),
            (2022, 9, 30),
            (2022, 12, 31),
            (2023, 6, 15),
        ]
        .iter()
        .map(|&(y, m, d)| chrono::NaiveDate::from_ymd_opt(y, m, d).unwrap())
        .collect();
        let frame = df!("date" => dates.clone()).unwrap();
        for kind in [
            PeriodKind::Quarter,
            PeriodKind::FinancialYear,
            PeriodKind::CalendarYear,
        ] {
            let keys = frame
                .clone()
                .lazy()
                .select([key_expr(kind, "date").alias("k")])
                .collect()
                .unwrap();
            let keys: Vec<Option<i32>> = keys.column("k").unwrap().i32().unwrap().iter().collect();
            for (d, k) in dates.iter().zip(keys) {
                assert_eq!(Some(key_of(kind, *d)), k, "{kind:?} {d}");
            }
        }
    }
}
