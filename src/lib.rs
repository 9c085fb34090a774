//! # jsna
//!
//! A batch pipeline that turns anonymised migration statistics and local social-care records into
//! the evidence a council needs for its Joint Strategic Needs Assessment on refugees and asylum
//! seekers: indicators per population group with 95% and 99.8% intervals, comparisons, disclosure
//! control, and accessible reports.
//!
//! The run is one chain (see [`pipeline::run`]):
//! ingest → validate → indicators → disclosure → render → publish.
//!
//! The statistics are plain functions:
//!
//! ```
//! let e = jsna::stats::wilson(5.0, 100.0, 0.95, 100.0).unwrap();
//! assert!((e.lower - 2.154367915).abs() < 1e-6);
//! ```

pub mod calc;
pub mod cli;
pub mod cmd;
pub mod disclosure;
pub mod error;
pub mod findings;
pub mod indicators;
pub mod ingest;
pub mod log;
pub mod markdown;
pub mod pipeline;
pub mod publish;
pub mod render;
pub mod sample;
pub mod stats;

#[cfg(test)]
mod fuzz_tests;
