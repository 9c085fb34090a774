//! Data-quality counts as published: rows read, accepted, quarantined and outside the areas, data
//! test failures and problems by reason. Counts of service records are protected by the
//! pipeline's disclosure rule like any other count (a handful of quarantined records is a count of
//! people too); rows of the area lookup, the population file and published tables are not people
//! and are shown exactly. The exact counts and the record-level quarantine stay in the quality
//! folder, which is not for publication.
//!
//! Only [`QualityReport::disclose`] builds a [`QualityReport`], so a renderer cannot be handed
//! unprotected quality counts.

use super::{protect, Cell};
use crate::ingest::{InputSummary, Problem};
use crate::pipeline::plan::DisclosureRule;
use serde::Serialize;

/// One input as the published report describes it.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedInput {
    pub source: String,
    pub kind: String,
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
    pub rows_read: String,
    pub rows_accepted: String,
    pub rows_rejected: String,
    pub rows_outside_areas: String,
    /// Whether any accepted row names no area of this pipeline (its count may be suppressed).
    pub any_outside_areas: bool,
    /// The codes of those rows, each with its protected count.
    pub outside_areas: String,
    pub notes: Vec<String>,
    pub data_tests: Vec<PublishedTest>,
}

/// A data test's outcome with its counts protected.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedTest {
    pub column: String,
    pub test: String,
    pub severity: &'static str,
    pub tolerance: f64,
    pub rows_tested: String,
    pub failures: String,
    pub status: &'static str,
}

/// Problems found, by source, column and reason, with the protected number of rows.
#[derive(Debug, Clone, Serialize)]
pub struct PublishedProblem {
    pub source: String,
    pub column: String,
    pub reason: String,
    pub rows: String,
}

/// Everything the published report says about data quality.
#[derive(Debug, Clone)]
pub struct QualityReport {
    inputs: Vec<PublishedInput>,
    problems: Vec<PublishedProblem>,
    quarantined: String,
    any_problems: bool,
    folder: String,
}

/// A count as text under the rule: `[c]` when suppressed, otherwise the rounded number.
pub fn shown(n: u64, rule: DisclosureRule) -> String {
    match protect(n as f64, rule) {
        Cell::Value(v) => format!("{v}"),
        c => c.marker().to_string(),
    }
}

impl QualityReport {
    /// Protects every count in the inputs' summaries and the problems found.
    /// `folder` is the quality folder, as the report names it.
    pub fn disclose(
        inputs: &[InputSummary],
        problems: &[Problem],
        rule: DisclosureRule,
        folder: &str,
    ) -> Self {
        // Rows of records are people; rows of reference and published tables are not.
        let people = |kind: &str| kind == "records";
        let published = inputs
            .iter()
            .map(|i| {
                (
                    i,
                    if people(&i.kind) {
                        rule
                    } else {
                        DisclosureRule::NONE
                    },
                )
            })
            .map(|(i, rule)| PublishedInput {
                source: i.source.clone(),
                kind: i.kind.clone(),
                path: i.path.clone(),
                bytes: i.bytes,
                sha256: i.sha256.clone(),
                rows_read: shown(i.rows_read, rule),
                // read = accepted + quarantined: a suppressed quarantine count would be
                // narrowed by the other two, so the accepted count is suppressed with it.
                rows_accepted: if shown(i.rows_rejected, rule) == "[c]" {
                    "[c]".into()
                } else {
                    shown(i.rows_accepted, rule)
                },
                rows_rejected: shown(i.rows_rejected, rule),
                rows_outside_areas: shown(i.rows_outside_areas, rule),
                any_outside_areas: i.rows_outside_areas > 0,
                outside_areas: i
                    .outside
                    .iter()
                    .map(|(code, n)| format!("{code} ({})", shown(*n, rule)))
                    .collect::<Vec<_>>()
                    .join("; "),
                notes: i.notes.clone(),
                data_tests: i
                    .data_tests
                    .iter()
                    .map(|t| PublishedTest {
                        column: t.column.clone(),
                        test: t.test.clone(),
                        severity: t.severity,
                        tolerance: t.tolerance,
                        rows_tested: shown(t.rows_tested, rule),
                        failures: shown(t.failures, rule),
                        status: t.status,
                    })
                    .collect(),
            })
            .collect();
        let mut counts: std::collections::BTreeMap<(&str, &str, &str), u64> = Default::default();
        for p in problems {
            *counts.entry((&p.source, &p.column, &p.reason)).or_default() += 1;
        }
        let rule_of = |source: &str| match inputs.iter().find(|i| i.source == source) {
            Some(i) if !people(&i.kind) => DisclosureRule::NONE,
            _ => rule,
        };
        let mut problems: Vec<(PublishedProblem, u64)> = counts
            .into_iter()
            .map(|((source, column, reason), n)| {
                let p = PublishedProblem {
                    source: source.to_string(),
                    column: column.to_string(),
                    reason: reason.to_string(),
                    rows: shown(n, rule_of(source)),
                };
                (p, n)
            })
            .collect();
        // The problems of a source add up to (about) its quarantined rows: one suppressed count
        // alone among them could be worked out from the others, so the smallest other is
        // suppressed with it.
        let sources: std::collections::BTreeSet<String> =
            problems.iter().map(|(p, _)| p.source.clone()).collect();
        for source in sources {
            let of = |p: &PublishedProblem| p.source == source;
            let hidden = problems
                .iter()
                .filter(|(p, _)| of(p) && p.rows == "[c]")
                .count();
            if hidden != 1 {
                continue;
            }
            let complement = problems
                .iter_mut()
                .filter(|(p, n)| of(p) && p.rows != "[c]" && *n > 0)
                .min_by_key(|(_, n)| *n);
            if let Some((p, _)) = complement {
                p.rows = "[c]".into();
            }
        }
        let problems = problems.into_iter().map(|(p, _)| p).collect();
        let quarantined: u64 = inputs.iter().map(|i| i.rows_rejected).sum();
        let records_quarantined: u64 = inputs
            .iter()
            .filter(|i| people(&i.kind))
            .map(|i| i.rows_rejected)
            .sum();
        let total_rule = if records_quarantined > 0 {
            rule
        } else {
            DisclosureRule::NONE
        };
        QualityReport {
            inputs: published,
            problems,
            quarantined: shown(quarantined, total_rule),
            any_problems: quarantined > 0,
            folder: folder.to_string(),
        }
    }

    pub fn inputs(&self) -> &[PublishedInput] {
        &self.inputs
    }
    pub fn problems(&self) -> &[PublishedProblem] {
        &self.problems
    }
    /// Rows quarantined across every source, protected.
    pub fn quarantined(&self) -> &str {
        &self.quarantined
    }
    pub fn any_problems(&self) -> bool {
        self.any_problems
    }
    /// The folder (outside the report) that holds the record-level quarantine.
    pub fn folder(&self) -> &str {
        &self.folder
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quality_counts_follow_the_rule() {
        let rule = DisclosureRule {
            threshold: 7,
            rounding: 5,
            ..DisclosureRule::NONE
        };
        assert_eq!(shown(0, rule), "0");
        assert_eq!(shown(3, rule), "[c]");
        assert_eq!(shown(7, rule), "[c]");
        assert_eq!(shown(8, rule), "10");
        assert_eq!(shown(2_998, rule), "3000");
        let problem = |row| Problem {
            source: "records".into(),
            file: "r.csv".into(),
            row,
            column: "age".into(),
            value: "999".into(),
            reason: "outside 0 to 120".into(),
        };
        let input = InputSummary {
            source: "records".into(),
            kind: "records".into(),
            path: "r.csv".into(),
            bytes: 10,
            sha256: String::new(),
            rows_read: 3_000,
            rows_accepted: 2_997,
            rows_rejected: 3,
            rows_outside_areas: 2,
            outside_areas: "W06000001 (2)".into(),
            outside: vec![("W06000001".into(), 2)],
            notes: vec![],
            data_tests: vec![],
        };
        let mut table = input.clone();
        table.source = "support".into();
        table.kind = "asy_d11".into();
        let mut table_problem = problem(3);
        table_problem.source = "support".into();
        let q = QualityReport::disclose(
            &[input, table],
            &[problem(5), problem(9), problem(12), table_problem],
            rule,
            "q",
        );
        assert_eq!(q.quarantined(), "[c]");
        assert_eq!(q.problems()[0].rows, "[c]");
        // Quarantined rows suppressed: accepted rows too (read = accepted + quarantined).
        assert_eq!(q.inputs()[0].rows_accepted, "[c]");
        let i = &q.inputs()[0];
        assert_eq!(
            (i.rows_read.as_str(), i.rows_accepted.as_str()),
            ("3000", "[c]")
        );
        assert_eq!(i.outside_areas, "W06000001 ([c])");
        // Rows of a published table are not people: exact.
        let t = &q.inputs()[1];
        assert_eq!(
            (t.rows_read.as_str(), t.rows_rejected.as_str()),
            ("3000", "3")
        );
        assert_eq!(q.problems()[1].rows, "1");
        // Nothing record-level: the values and row numbers are not in the published form.
        let text = format!("{q:?}");
        assert!(!text.contains("999") && !text.contains("r.csv:5"));
    }

    #[test]
    fn a_single_suppressed_problem_count_gets_a_complement() {
        let rule = DisclosureRule {
            threshold: 7,
            rounding: 5,
            ..DisclosureRule::NONE
        };
        let problem = |row, column: &str| Problem {
            source: "records".into(),
            file: "r.csv".into(),
            row,
            column: column.into(),
            value: String::new(),
            reason: "bad".into(),
        };
        let mut problems: Vec<Problem> = (0..20).map(|r| problem(r, "age")).collect();
        problems.extend((100..103).map(|r| problem(r, "sex")));
        problems.extend((200..240).map(|r| problem(r, "uasc")));
        let input = InputSummary {
            source: "records".into(),
            kind: "records".into(),
            path: "r.csv".into(),
            bytes: 10,
            sha256: String::new(),
            rows_read: 3_000,
            rows_accepted: 2_937,
            rows_rejected: 63,
            rows_outside_areas: 0,
            outside_areas: String::new(),
            outside: vec![],
            notes: vec![],
            data_tests: vec![],
        };
        let q = QualityReport::disclose(&[input], &problems, rule, "q");
        let rows: Vec<(&str, &str)> = q
            .problems()
            .iter()
            .map(|p| (p.column.as_str(), p.rows.as_str()))
            .collect();
        // sex (3) is suppressed; the smallest other, age (20), is suppressed with it.
        assert_eq!(rows, [("age", "[c]"), ("sex", "[c]"), ("uasc", "40")]);
        assert_eq!(q.inputs()[0].rows_accepted, "2935");
    }
}
