//! Render: published tables, charts and the HTML report, all from a [`DisclosedTable`].

pub mod charts;
pub mod html;
pub mod population;
pub mod sheets;
pub mod tables;

use crate::disclosure::DisclosedTable;
use crate::error::{Error, Result};
use crate::ingest::{InputSummary, Problem};
use crate::log::Progress;
use crate::pipeline::plan::Plan;
use crate::publish::Staging;
use rayon::prelude::*;

/// Writes every output of the report folder into `staging`.
pub fn write_all(
    plan: &Plan,
    table: &DisclosedTable,
    inputs: &[InputSummary],
    problems: &[Problem],
    staging: &mut Staging,
    progress: &Progress,
    pyramids: Option<&population::Pyramids>,
) -> Result<()> {
    // The tables, the two workbooks and the pages are independent: built side by side, then
    // written in a fixed order.
    let areas: Vec<usize> = (0..table.areas().len())
        .filter(|&a| table.areas()[a].level == crate::indicators::Level::Area)
        .collect();
    // Files: three tables, two workbooks, the overview, the area pages; then the charts.
    progress.set_length(6 + areas.len() as u64, "files");
    let gaps = crate::indicators::gaps::compute(plan, table);
    let book = sheets::workbook(plan, table, &gaps);
    let gap_index = html::GapIndex::new(&gaps);
    let files = || {
        rayon::join(
            || -> Result<_> {
                let mut frame = tables::indicators_frame(plan, table)?;
                Ok((
                    tables::indicators_csv(plan, table)?,
                    tables::parquet_bytes(&mut frame)?,
                    tables::gaps_csv(plan, table, &gaps)?,
                ))
            },
            || rayon::join(|| sheets::xlsx(&book), || sheets::ods(&book)),
        )
    };
    // The overview's PNG charts are drawn straight into the staging folder, beside the pages.
    let shared: &Staging = staging;
    let pages = || -> Result<_> {
        let (html, charts) = html::page(plan, table, inputs, problems, &gap_index, pyramids, 0)?;
        progress.inc(1);
        progress.add_length(charts.len() as u64);
        let (pages, pngs) = rayon::join(
            || {
                // One page per area, built in parallel and written in area order.
                areas
                    .par_iter()
                    .map(|&a| {
                        let page =
                            html::page(plan, table, inputs, problems, &gap_index, pyramids, a);
                        progress.inc(1);
                        page.map(|(page, _)| {
                            let name = html::area_page_name(&table.areas()[a].code);
                            (format!("areas/{name}"), page)
                        })
                    })
                    .collect::<Result<Vec<_>>>()
            },
            || {
                charts
                    .par_iter()
                    .map(|c| {
                        let rel = format!("charts/{}.png", c.file_stem);
                        charts::png(&c.chart, &shared.path(&rel)?)?;
                        progress.inc(1);
                        Ok(rel)
                    })
                    .collect::<Result<Vec<_>>>()
            },
        );
        Ok((html, charts, pages?, pngs?))
    };
    let ((tables_out, (xlsx, ods)), pages) = rayon::join(files, pages);
    let (csv, parquet, gaps_csv) = tables_out?;
    staging.write("indicators.csv", &csv)?;
    staging.write("indicators.parquet", &parquet)?;
    staging.write("gaps.csv", &gaps_csv)?;
    staging.write("jsna-indicators.xlsx", &xlsx?)?;
    staging.write("jsna-indicators.ods", &ods?)?;
    progress.inc(5);
    let (html, charts, pages, pngs) = pages?;
    for (file, page) in pages {
        staging.write(&file, page.as_bytes())?;
    }
    staging.write("index.html", html.as_bytes())?;
    for (c, rel) in charts.iter().zip(&pngs) {
        staging.record(rel)?;
        staging.write(&format!("charts/{}.svg", c.file_stem), c.svg.as_bytes())?;
    }
    staging.write("quality/quarantine.csv", &quarantine_csv(problems)?)?;
    staging.write("quality/summary.csv", &summary_csv(inputs, problems)?)?;
    staging.write("quality/disclosure.csv", &disclosure_csv(table)?)?;
    Ok(())
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

fn quarantine_csv(problems: &[Problem]) -> Result<Vec<u8>> {
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

fn summary_csv(inputs: &[InputSummary], problems: &[Problem]) -> Result<Vec<u8>> {
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
