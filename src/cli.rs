//! Command-line interface (clap derive); one variant per command.

use crate::log::LogFormat;
use clap::{Parser, Subcommand};
use std::path::PathBuf;

/// Needs-assessment pipeline for refugees and asylum seekers: indicators, equality gaps,
/// disclosure control and accessible reports.
///
/// Exit codes: 0 success, 1 data checks failed, 2 usage, configuration or file error.
#[derive(Debug, Parser)]
#[command(
    name = "jsna",
    version,
    about,
    long_about = None,
    after_help = "Exit codes: 0 success, 1 data checks failed, 2 usage, configuration or file error.\nDocs: README.md, pipelines/README.md, docs/methods.md."
)]
pub struct Cli {
    /// Print nothing but errors.
    #[arg(long, short, global = true)]
    pub quiet: bool,
    /// How to write messages on stderr: `text`, or `json` for one JSON object per line.
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    pub log_format: LogFormat,
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
        /// Also write unsuppressed figures to this restricted folder (never publish it).
        #[arg(long)]
        restricted: Option<PathBuf>,
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
    /// Check a report folder against its manifest; with --pipeline, also check the inputs and
    /// re-run the pipeline to confirm every output is reproduced byte for byte.
    Verify {
        /// The report folder (holding manifest.json).
        dir: PathBuf,
        /// The pipeline file that made it.
        #[arg(long)]
        pipeline: Option<PathBuf>,
    },
    /// Compute a statistic over your own table (CSV or Parquet), like PHEindicatormethods.
    ///
    /// Writes the group columns, numerator, denominator, value, lower95_0cl, upper95_0cl,
    /// lower99_8cl, upper99_8cl, statistic and method. See docs/methods.md.
    Calc(Box<CalcArgs>),
    /// Write the built-in page template to DIR/report.html, to edit and name in the pipeline's
    /// `[output] templates`.
    Template {
        /// Folder to write into (created if missing).
        dir: PathBuf,
    },
    /// Generate deterministic synthetic sample data.
    SampleData {
        /// Folder to write into (created if missing).
        #[arg(long)]
        out: PathBuf,
        /// Number of local authorities, England then Wales (1 to 318).
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

#[derive(Debug, clap::Args)]
pub struct CalcArgs {
    /// The method.
    #[arg(value_enum)]
    pub method: crate::calc::CalcMethod,
    /// Input table: .csv, .tsv, .parquet, or a spreadsheet with one sheet (.xlsx, .xls, .ods).
    #[arg(long)]
    pub input: PathBuf,
    /// Output table: .csv or .parquet.
    #[arg(long)]
    pub output: PathBuf,
    /// Column of counts (events, numerators, observed).
    #[arg(long, default_value = "numerator")]
    pub numerator: String,
    /// Column of denominators (totals, populations).
    #[arg(long, default_value = "denominator")]
    pub denominator: String,
    /// Columns to aggregate by, comma-separated. Without it, proportion and rate give one row per
    /// input row and the other methods treat the whole table as one group.
    #[arg(long, value_delimiter = ',')]
    pub group_by: Vec<String>,
    /// Confidence levels, comma-separated, each in [0.9, 1).
    #[arg(long, value_delimiter = ',', default_value = "0.95,0.998")]
    pub confidence: Vec<f64>,
    /// Multiplier (default: proportion 1, rate/dsr/israte 100000, isr 100).
    #[arg(long)]
    pub multiplier: Option<f64>,
    /// What to do with bad rows: fail (report them, exit 1) or na (write NA for them).
    #[arg(long, value_enum, default_value = "fail")]
    pub on_error: crate::calc::OnError,
    /// dsr: the age-band column, holding the standard's band labels (ESP2013: 0-4 … 90+).
    #[arg(long, default_value = "age_band")]
    pub age_band: String,
    /// dsr: a standard population table with columns band, population (default ESP2013).
    #[arg(long)]
    pub standard: Option<PathBuf>,
    /// dsr: events are not independent; this column gives each row's events per person, and
    /// the numerator counts people.
    #[arg(long)]
    pub frequency: Option<String>,
    /// isr/israte: reference events per band.
    #[arg(long, default_value = "ref_numerator")]
    pub ref_numerator: String,
    /// isr/israte: reference population per band.
    #[arg(long, default_value = "ref_denominator")]
    pub ref_denominator: String,
    /// mean/median: the column of values.
    #[arg(long, default_value = "value")]
    pub value: String,
}
