use crate::error::Result;
use crate::log::Log;
use crate::pipeline::{self, plan};
use serde_json::json;
use std::path::Path;
use std::time::Instant;

pub fn run(
    pipeline_file: &Path,
    out: Option<&Path>,
    restricted: Option<&Path>,
    log: &Log,
) -> Result<i32> {
    let start = Instant::now();
    let mut plan = plan::load(pipeline_file, out)?;
    if let Some(dir) = restricted {
        plan.restricted_dir = Some(dir.to_path_buf());
    }
    let summary = pipeline::run(&plan, log)?;
    let seconds = start.elapsed().as_secs_f64();
    let fields = json!({
        "rows_read": summary.rows_read,
        "rows_quarantined": summary.rows_rejected,
        "indicator_rows": summary.indicator_rows,
        "suppressed_cells": summary.suppressed,
        "outputs": summary.outputs,
        "out_dir": summary.out_dir.display().to_string(),
        "seconds": (seconds * 1000.0).round() / 1000.0,
    });
    log.event(
        "info",
        "summary",
        &format!(
            "jsna: done in {:.1}s: {} rows read ({} quarantined), {} indicator rows ({} cells suppressed), {} outputs in {}",
            seconds,
            summary.rows_read,
            summary.rows_rejected,
            summary.indicator_rows,
            summary.suppressed,
            summary.outputs,
            summary.out_dir.display()
        ),
        fields,
    );
    Ok(0)
}
