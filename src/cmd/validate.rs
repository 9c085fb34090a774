use crate::error::Result;
use crate::pipeline::{self, plan};
use std::path::Path;

pub fn run(pipeline_file: &Path, quiet: bool) -> Result<i32> {
    let plan = plan::load(pipeline_file, None)?;
    let data = pipeline::ingest_all(&plan)?;
    for i in &data.inputs {
        super::say(
            quiet,
            &format!(
                "{:<16} {:<48} read {:>9}  accepted {:>9}  quarantined {:>7}",
                i.source, i.path, i.rows_read, i.rows_accepted, i.rows_rejected
            ),
        );
        if i.rows_outside_areas > 0 {
            let msg = format!(
                "  {} accepted rows name no area of this pipeline: {}",
                i.rows_outside_areas, i.outside_areas
            );
            super::say(quiet, &msg);
        }
        for note in &i.notes {
            super::say(quiet, &format!("  note: {note}"));
        }
        for t in &i.data_tests {
            let msg = format!(
                "  data test {} on '{}' ({}): {}, {} of {} rows failing",
                t.test, t.column, t.severity, t.status, t.failures, t.rows_tested
            );
            super::say(quiet, &msg);
        }
    }
    for (shown, p) in data.problems.iter().enumerate() {
        if shown == 20 {
            super::say(
                quiet,
                &format!("… and {} more problems", data.problems.len() - shown),
            );
            break;
        }
        super::say(quiet, &p.to_string());
    }
    let failed = pipeline::failed_checks(&data.inputs);
    if failed.is_empty() {
        super::say(quiet, "jsna: pipeline and inputs are valid");
        Ok(0)
    } else {
        for f in &failed {
            eprintln!("error: {f}");
        }
        Ok(1)
    }
}
