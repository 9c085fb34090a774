use crate::error::Result;
use crate::pipeline::{self, plan};
use std::path::Path;
use std::time::Instant;

pub fn run(
    pipeline_file: &Path,
    out: Option<&Path>,
    restricted: Option<&Path>,
    quiet: bool,
) -> Result<i32> {
    let start = Instant::now();
    let mut plan = plan::load(pipeline_file, out)?;
    if let Some(dir) = restricted {
        plan.restricted_dir = Some(dir.to_path_buf());
    }
    let summary = pipeline::run(&plan, &|stage| {
        super::say(quiet, &format!("jsna: {stage}…"))
    })?;
    super::say(
        quiet,
        &format!(
            "jsna: done in {:.1}s: {} rows read ({} quarantined), {} indicator rows ({} cells suppressed), {} outputs in {}",
            start.elapsed().as_secs_f64(),
            summary.rows_read,
            summary.rows_rejected,
            summary.indicator_rows,
            summary.suppressed,
            summary.outputs,
            summary.out_dir.display()
        ),
    );
    Ok(0)
}
