//! Render: published tables, charts and the HTML report, all from a [`DisclosedTable`].

pub mod charts;
pub mod html;
pub mod population;
pub mod sheets;
pub mod tables;

use crate::disclosure::quality::QualityReport;
use crate::disclosure::DisclosedTable;
use crate::error::{Error, Result};
use crate::ingest::{InputSummary, Problem};
use crate::log::Progress;
use crate::pipeline::plan::Plan;
use crate::publish::{OutputEntry, Staging};
use rayon::prelude::*;

/// Writes every output of the report folder into `staging`.
pub fn write_all(
    plan: &Plan,
    table: &DisclosedTable,
    quality: &QualityReport,
    staging: &mut Staging,
    progress: &Progress,
    pyramids: Option<&population::Pyramids>,
) -> Result<()> {
    if table.is_restricted() || !table.failures().is_empty() {
        return Err(Error::Internal(
            "refusing to publish a table that has not passed disclosure control".into(),
        ));
    }
    // The tables, the two workbooks and the pages are independent: built side by side, then
    // written in a fixed order.
    let areas: Vec<usize> = (0..table.areas().len())
        .filter(|&a| table.areas()[a].level == crate::indicators::Level::Area)
        .collect();
    // Files: four tables, two workbooks, the overview, the area pages; then the charts.
    progress.set_length(7 + areas.len() as u64, "files");
    let gaps = crate::indicators::gaps::compute(plan, table);
    let book = sheets::workbook(plan, table, &gaps);
    let gap_index = crate::findings::GapIndex::new(&gaps);
    // Every area's findings, once: for its page and for findings.csv.
    let found: Vec<Vec<crate::findings::Finding>> = (0..table.areas().len())
        .into_par_iter()
        .map(|a| crate::findings::for_area(plan, table, &gap_index, a))
        .collect();
    // Each file is written and hashed by the thread that made it; the manifest sorts them.
    let shared: &Staging = staging;
    let files = || {
        rayon::join(
            || -> Result<Vec<OutputEntry>> {
                let mut frame = tables::indicators_frame(plan, table)?;
                let csv = tables::indicators_csv(plan, table)?;
                let parquet = tables::parquet_bytes(&mut frame)?;
                drop(frame);
                let gaps_csv = tables::gaps_csv(plan, table, &gaps)?;
                let findings = findings_csv(plan, table, &found)?;
                let entries = vec![
                    shared.put("indicators.csv", &csv)?,
                    shared.put("indicators.parquet", &parquet)?,
                    shared.put("gaps.csv", &gaps_csv)?,
                    shared.put("findings.csv", &findings)?,
                ];
                progress.inc(4);
                Ok(entries)
            },
            || {
                rayon::join(
                    || -> Result<OutputEntry> {
                        let entry = shared.put("jsna-indicators.xlsx", &sheets::xlsx(&book)?)?;
                        progress.inc(1);
                        Ok(entry)
                    },
                    || -> Result<OutputEntry> {
                        let entry = shared.put("jsna-indicators.ods", &sheets::ods(&book)?)?;
                        progress.inc(1);
                        Ok(entry)
                    },
                )
            },
        )
    };
    // The overview's charts are drawn beside the area pages.
    let pages = || -> Result<Vec<OutputEntry>> {
        let (html, charts) = html::page(plan, table, quality, &gap_index, &found[0], pyramids, 0)?;
        let mut entries = vec![shared.put("index.html", xml_clean(&html).as_bytes())?];
        drop(html);
        progress.inc(1);
        progress.add_length(charts.len() as u64);
        let (pages, pngs) = rayon::join(
            || {
                // One page per area, built in parallel.
                areas
                    .par_iter()
                    .map(|&a| {
                        let (page, _) =
                            html::page(plan, table, quality, &gap_index, &found[a], pyramids, a)?;
                        let name = html::area_page_name(&table.areas()[a].code);
                        let page = xml_clean(&page);
                        let entry = shared.put(&format!("areas/{name}"), page.as_bytes())?;
                        progress.inc(1);
                        Ok(entry)
                    })
                    .collect::<Result<Vec<_>>>()
            },
            || {
                charts
                    .par_iter()
                    .map(|c| -> Result<[OutputEntry; 2]> {
                        let rel = format!("charts/{}.png", c.file_stem);
                        charts::png(&c.chart, &shared.path(&rel)?)?;
                        let svg = format!("charts/{}.svg", c.file_stem);
                        let clean = xml_clean(&c.svg);
                        let entries = [shared.hash(&rel)?, shared.put(&svg, clean.as_bytes())?];
                        progress.inc(1);
                        Ok(entries)
                    })
                    .collect::<Result<Vec<_>>>()
            },
        );
        entries.extend(pages?);
        entries.extend(pngs?.into_iter().flatten());
        Ok(entries)
    };
    let ((tables_out, (xlsx, ods)), pages) = rayon::join(files, pages);
    staging.add(tables_out?);
    staging.add([xlsx?, ods?]);
    staging.add(pages?);
    staging.write("quality/summary.csv", &published_summary_csv(quality)?)?;
    staging.write("quality/disclosure.csv", &disclosure_csv(table)?)?;
    Ok(())
}

/// Every statement the pages make (`crate::findings`), one row per area and finding, strongest
/// first within each area: the table behind every page's findings.
fn findings_csv(
    plan: &Plan,
    table: &DisclosedTable,
    found: &[Vec<crate::findings::Finding>],
) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for (area, found) in table.areas().iter().zip(found) {
        for (rank, f) in found.iter().enumerate() {
            let group = |g: Option<usize>| g.map_or(String::new(), |g| plan.groups[g].id.clone());
            rows.push(vec![
                neutralise(&area.code),
                neutralise(&area.name),
                (rank + 1).to_string(),
                plan.indicators[f.indicator].id.clone(),
                group(f.group),
                group(f.reference),
                crate::indicators::period::label(plan.period, f.period),
                f.strength.label().to_string(),
                f.direction.label().to_string(),
                neutralise(&f.text),
            ]);
        }
    }
    csv_bytes(
        &[
            "AreaCode",
            "AreaName",
            "Rank",
            "IndicatorID",
            "Group",
            "ReferenceGroup",
            "Period",
            "Strength",
            "Direction",
            "Finding",
        ],
        rows.into_iter(),
    )
}

fn csv_bytes(header: &[&str], rows: impl Iterator<Item = Vec<String>>) -> Result<Vec<u8>> {
    let mut w = csv::Writer::from_writer(Vec::new());
    let err = |e: csv::Error| Error::Internal(e.to_string());
    w.write_record(header).map_err(err)?;
    for r in rows {
        w.write_record(&r).map_err(err)?;
    }
    w.into_inner().map_err(|e| Error::Internal(e.to_string()))
}

/// The record-level quarantine: for the quality folder only, never the report.
pub fn quarantine_csv(problems: &[Problem]) -> Result<Vec<u8>> {
    csv_bytes(
        &["source", "file", "row", "column", "value", "reason"],
        problems.iter().map(|p| {
            vec![
                p.source.clone(),
                p.file.clone(),
                p.row.to_string(),
                p.column.clone(),
                neutralise(&p.value),
                p.reason.clone(),
            ]
        }),
    )
}

/// The data-quality summary with its counts protected, for the published report.
fn published_summary_csv(quality: &QualityReport) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for i in quality.inputs() {
        let mut row = |measure: &str, column: &str, check: String, n: &str| {
            rows.push(vec![
                i.source.clone(),
                i.path.clone(),
                measure.to_string(),
                column.to_string(),
                check,
                n.to_string(),
            ])
        };
        row("rows_read", "", String::new(), &i.rows_read);
        row("rows_accepted", "", String::new(), &i.rows_accepted);
        row("rows_quarantined", "", String::new(), &i.rows_rejected);
        for note in &i.notes {
            row("note", "", note.clone(), "");
        }
        if i.any_outside_areas {
            let check = format!(
                "accepted, but not an area of this pipeline: {}",
                i.outside_areas
            );
            row("rows_outside_areas", "", check, &i.rows_outside_areas);
        }
        for t in &i.data_tests {
            let check = format!(
                "{} ({}, tolerance {}%), {} rows tested",
                t.test,
                t.severity,
                100.0 * t.tolerance,
                t.rows_tested
            );
            row(
                &format!("data_test_{}", t.status),
                &t.column,
                check,
                &t.failures,
            );
        }
        for p in quality.problems().iter().filter(|p| p.source == i.source) {
            row("failures", &p.column, p.reason.clone(), &p.rows);
        }
    }
    csv_bytes(
        &["source", "file", "measure", "column", "check", "rows"],
        rows.into_iter(),
    )
}

/// The data-quality summary with exact counts: for the quality folder only.
pub fn summary_csv(inputs: &[InputSummary], problems: &[Problem]) -> Result<Vec<u8>> {
    let mut rows = Vec::new();
    for i in inputs {
        // source, file, measure, column, check, rows
        let mut row = |measure: String, column: &str, check: String, n: String| {
            rows.push(vec![
                i.source.clone(),
                i.path.clone(),
                measure,
                column.to_string(),
                check,
                n,
            ])
        };
        row(
            "rows_read".into(),
            "",
            String::new(),
            i.rows_read.to_string(),
        );
        row(
            "rows_accepted".into(),
            "",
            String::new(),
            i.rows_accepted.to_string(),
        );
        row(
            "rows_quarantined".into(),
            "",
            String::new(),
            i.rows_rejected.to_string(),
        );
        for note in &i.notes {
            row("note".into(), "", note.clone(), String::new());
        }
        if i.rows_outside_areas > 0 {
            row(
                "rows_outside_areas".into(),
                "",
                format!(
                    "accepted, but not an area of this pipeline: {}",
                    i.outside_areas
                ),
                i.rows_outside_areas.to_string(),
            );
        }
        for t in &i.data_tests {
            row(
                format!("data_test_{}", t.status),
                &t.column,
                format!(
                    "{} ({}, tolerance {}%), {} rows tested",
                    t.test,
                    t.severity,
                    100.0 * t.tolerance,
                    t.rows_tested
                ),
                t.failures.to_string(),
            );
        }
        let mut per: std::collections::BTreeMap<(&str, &str), u64> = Default::default();
        for p in problems.iter().filter(|p| p.source == i.source) {
            *per.entry((p.column.as_str(), p.reason.as_str()))
                .or_default() += 1;
        }
        for ((column, reason), n) in per {
            row("failures".into(), column, reason.to_string(), n.to_string());
        }
    }
    csv_bytes(
        &["source", "file", "measure", "column", "check", "rows"],
        rows.into_iter(),
    )
}

fn disclosure_csv(table: &DisclosedTable) -> Result<Vec<u8>> {
    csv_bytes(
        &[
            "table",
            "cells",
            "suppressed_primary",
            "suppressed_secondary",
            "rounded",
        ],
        table.audit().iter().map(|a| {
            vec![
                a.table.clone(),
                a.cells.to_string(),
                a.suppressed_primary.to_string(),
                a.suppressed_secondary.to_string(),
                a.rounded.to_string(),
            ]
        }),
    )
}

/// Characters XML 1.0 cannot hold: controls other than tab and line ends, and U+FFFE/U+FFFF.
pub fn xml_forbidden(c: char) -> bool {
    ((c as u32) < 0x20 && !matches!(c, '\t' | '\n' | '\r')) || matches!(c, '\u{FFFE}' | '\u{FFFF}')
}

/// A page or SVG with every character XML 1.0 cannot hold replaced by U+FFFD, so a stray
/// control character in an area name or label cannot make a file unreadable.
pub fn xml_clean(text: &str) -> std::borrow::Cow<'_, str> {
    // One regex pass (the regex crate is fast even in a debug build): pages run to megabytes,
    // and almost none holds such a character.
    static FORBIDDEN: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(r"[\x00-\x08\x0B\x0C\x0E-\x1F\x{FFFE}\x{FFFF}]").ok()
    });
    match &*FORBIDDEN {
        Some(re) => re.replace_all(text, "\u{FFFD}"),
        // The pattern is fixed and valid; were it not, fall back to a scan of every character.
        None => text
            .chars()
            .map(|c| if xml_forbidden(c) { '\u{FFFD}' } else { c })
            .collect::<String>()
            .into(),
    }
}

/// Stops spreadsheet programs from reading text from input data as a formula.
pub fn neutralise(s: &str) -> String {
    neutralised(s).into_owned()
}

/// [`neutralise`], borrowing the text when it needs no change.
pub fn neutralised(s: &str) -> std::borrow::Cow<'_, str> {
    if s.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{s}").into()
    } else {
        s.into()
    }
}
