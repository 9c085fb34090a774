//! One file per command; each returns the process exit code or an error.

pub mod calc;
pub mod list;
pub mod run;
pub mod sample;
pub mod validate;
pub mod verify;

/// Prints a progress line on stderr unless `--quiet`.
pub fn say(quiet: bool, msg: &str) {
    if !quiet {
        eprintln!("{msg}");
    }
}
