use crate::error::Result;
use crate::sample::{self, Options};
use std::path::Path;

pub fn run(out: &Path, opts: Options, quiet: bool) -> Result<i32> {
    let written = sample::generate(out, &opts)?;
    for w in &written {
        super::say(
            quiet,
            &format!("wrote {} ({} rows)", w.path.display(), w.rows),
        );
    }
    Ok(0)
}
