use crate::error::Result;
use crate::log::Log;
use crate::sample::{self, Options};
use std::path::Path;

pub fn run(out: &Path, opts: Options, log: &Log) -> Result<i32> {
    let written = sample::generate(out, &opts)?;
    for w in &written {
        let line = if w.path.extension().is_some_and(|e| e == "toml") {
            format!(
                "wrote {} (run it with: jsna run {})",
                w.path.display(),
                w.path.display()
            )
        } else {
            format!("wrote {} ({} rows)", w.path.display(), w.rows)
        };
        log.info(&line);
    }
    Ok(0)
}
