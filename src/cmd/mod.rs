//! One file per command; each returns the process exit code or an error.

pub mod calc;
pub mod list;
pub mod run;
pub mod sample;
pub mod template;
pub mod validate;
pub mod verify;
