use crate::error::Result;
use crate::log::Log;
use crate::pipeline::{self, plan};
use std::path::Path;

pub fn run(pipeline_file: &Path, log: &Log) -> Result<i32> {
    let plan = plan::load(pipeline_file, None)?;
    let stage = log.stage("ingest", "ingest and validate");
    let data = pipeline::ingest_all(&plan, stage.progress())?;
    stage.finish();
    for i in &data.inputs {
        log.info(&format!(
            "{:<16} {:<48} read {:>9}  accepted {:>9}  quarantined {:>7}",
            i.source, i.path, i.rows_read, i.rows_accepted, i.rows_rejected
        ));
        if i.rows_outside_areas > 0 {
            let msg = format!(
                "  {} accepted rows name no area of this pipeline: {}",
                i.rows_outside_areas, i.outside_areas
            );
            log.info(&msg);
        }
        for note in &i.notes {
            log.info(&format!("  note: {note}"));
        }
        for t in &i.data_tests {
            let msg = format!(
                "  data test {} on '{}' ({}): {}, {} of {} rows failing",
                t.test, t.column, t.severity, t.status, t.failures, t.rows_tested
            );
            log.info(&msg);
        }
    }
    for (shown, p) in data.problems.iter().enumerate() {
        if shown == 20 {
            log.info(&format!(
                "… and {} more problems",
                data.problems.len() - shown
            ));
            break;
        }
        log.info(&p.to_string());
    }
    let failed = pipeline::failed_checks(&data.inputs);
    if failed.is_empty() {
        log.info("jsna: pipeline and inputs are valid");
        Ok(0)
    } else {
        for f in &failed {
            log.error(f);
        }
        Ok(1)
    }
}
