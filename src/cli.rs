//! Command-line interface (clap derive); one variant per command.

use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Needs-assessment pipeline for refugees and asylum seekers: indicators, equality gaps,
/// disclosure control and accessible reports.
///
/// Exit codes: 0 success, 1 data checks failed, 2 usage, configuration or file error.
#[derive(Debug, Parser)]
#[command(name = "jsna", version, about, long_about = None)]
pub struct Cli {
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: ingest, validate, compute indicators, apply disclosure control, publish.
    Run {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
        /// Output folder (default: the pipeline's `[output] dir`, else `reports/<name>`).
        #[arg(long)]
        out: Option<PathBuf>,
    },
    /// Check the pipeline file and its inputs without computing anything.
    Validate {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
    },
    /// List the sources, groups and indicators of a pipeline.
    List {
        /// The pipeline file (TOML).
        pipeline: PathBuf,
    },
    /// Generate deterministic synthetic sample data.
    SampleData {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of English local authorities (1 to 296).
        #[arg(long, default_value_t = 12)]
        areas: usize,
        /// Number of local service records.
        #[arg(long, default_value_t = 40_000)]
        records: usize,
        /// Number of quarters, ending 2024 Q1.
        #[arg(long, default_value_t = 12)]
        periods: usize,
        /// Random seed; the same seed gives the same files.
        #[arg(long, default_value_t = 20240331)]
        seed: u64,
    },
}
