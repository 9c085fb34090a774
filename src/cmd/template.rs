//! `jsna template DIR`: writes the built-in page template for a user to edit.

use crate::error::{Error, Result};
use crate::log::Log;
use crate::pipeline::plan::TEMPLATE_FILE;
use std::path::Path;

pub fn run(dir: &Path, log: &Log) -> Result<i32> {
    let file = dir.join(TEMPLATE_FILE);
    if file.exists() {
        return Err(Error::Config(format!(
            "{} already exists; jsna template does not overwrite it",
            file.display()
        )));
    }
    std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
    std::fs::write(&file, crate::render::html::TEMPLATE).map_err(|e| Error::io(&file, e))?;
    log.info(&format!(
        "wrote {}: edit it, then name its folder in the pipeline file: [output] templates = \"{}\"",
        file.display(),
        dir.display()
    ));
    Ok(0)
}
