//! `jsna sample-data`: a deterministic generator of realistic synthetic inputs at any scale.
//!
//! Writes local service records (CSV and Parquet), population denominators, the area lookup and
//! migration statistics in the published layouts. The same options and seed always give the same
//! bytes, whatever the thread count: every row draws from its own seeded stream.

mod areas;
pub mod published;
pub mod records;
mod rng;

use crate::error::{Error, Result};
use chrono::NaiveDate;
use polars::prelude::*;
use rayon::prelude::*;
use std::fs::File;
use std::io::BufWriter;
use std::path::{Path, PathBuf};

pub use areas::{area_count, DEFAULT_AREAS};

/// A calendar quarter (`q` in 1..=4).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Quarter {
    pub year: i32,
    pub q: u32,
}

impl Quarter {
    pub fn start(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year, 3 * self.q - 2, 1).expect("valid quarter")
    }
    pub fn end(self) -> NaiveDate {
        let next = if self.q == 4 {
            Quarter {
                year: self.year + 1,
                q: 1,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q + 1,
            }
        };
        next.start().pred_opt().expect("valid date")
    }
    pub fn prev(self) -> Quarter {
        if self.q == 1 {
            Quarter {
                year: self.year - 1,
                q: 4,
            }
        } else {
            Quarter {
                year: self.year,
                q: self.q - 1,
            }
        }
    }
}

/// What to generate.
#[derive(Debug, Clone)]
pub struct Options {
    pub areas: usize,
    pub records: usize,
    /// Number of quarters, ending with the last quarter of financial year 2023/24 (2024 Q1).
    pub periods: usize,
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            areas: 12,
            records: 40_000,
            periods: 12,
            seed: 20240331,
        }
    }
}

/// One file the generator wrote.
#[derive(Debug, Clone)]
pub struct Written {
    pub path: PathBuf,
    pub rows: usize,
}

const LAST_QUARTER: Quarter = Quarter { year: 2024, q: 1 };
const CHUNK: usize = 200_000;

pub fn quarters(periods: usize) -> Vec<Quarter> {
    let mut qs = vec![LAST_QUARTER];
    while qs.len() < periods {
        let first = qs[0].prev();
        qs.insert(0, first);
    }
    qs
}

/// The files the generator writes.
const FILES: [&str; 9] = [
    "records.csv",
    "records.parquet",
    "population.csv",
    "area_lookup.csv",
    "asylum_support_by_la.csv",
    "resettlement_by_la.csv",
    "nts_transfers.csv",
    "nrm_referrals.csv",
    "pipeline.toml",
];

/// Refuses to overwrite files of the generator's names in a folder it did not write (its
/// `pipeline.toml` starts with the generator's mark): they may be someone's real data.
fn refuse_foreign_files(out: &Path) -> Result<()> {
    let ours = std::fs::read_to_string(out.join("pipeline.toml"))
        .is_ok_and(|t| t.starts_with("# Written by `jsna sample-data`"));
    let clashes: Vec<&str> = FILES
        .iter()
        .copied()
        .filter(|f| out.join(f).exists())
        .collect();
    if ours || clashes.is_empty() {
        return Ok(());
    }
    Err(Error::Usage(format!(
        "refusing to write sample data into {}: it already holds {} and was not written by jsna sample-data (no pipeline.toml of its own). Choose a new or empty folder",
        out.display(),
        clashes.join(", ")
    )))
}

/// Generates every sample file into `out`.
pub fn generate(out: &Path, opts: &Options) -> Result<Vec<Written>> {
    let max_areas = area_count();
    if opts.areas == 0 || opts.areas > max_areas {
        return Err(Error::Usage(format!(
            "--areas must be between 1 and {max_areas} (local authority districts of England and Wales), got {}",
            opts.areas
        )));
    }
    if opts.periods == 0 || opts.periods > 80 {
        return Err(Error::Usage(format!(
            "--periods must be between 1 and 80 quarters, got {}",
            opts.periods
        )));
    }
    refuse_foreign_files(out)?;
    std::fs::create_dir_all(out).map_err(|e| Error::io(out, e))?;
    let areas = areas::select_areas(opts.areas);
    let qs = quarters(opts.periods);
    let mut written = Vec::new();

    written.extend(write_records(out, &areas, &qs, opts)?);
    let years: Vec<i32> = (qs[0].year - 1..=LAST_QUARTER.year).collect();
    let tables = [
        ("population.csv", published::population(&areas, &years)),
        ("area_lookup.csv", published::lookup(&areas)),
        (
            "asylum_support_by_la.csv",
            published::asylum_support(&areas, &qs, opts.seed),
        ),
        (
            "resettlement_by_la.csv",
            published::resettlement(&areas, &qs, opts.seed),
        ),
        ("nts_transfers.csv", published::nts(&areas, &qs, opts.seed)),
        ("nrm_referrals.csv", published::nrm(&areas, opts.seed)),
    ];
    for (name, (header, rows)) in tables {
        let path = out.join(name);
        write_text_csv(&path, &header, &rows)?;
        written.push(Written {
            path,
            rows: rows.len(),
        });
    }
    let path = out.join("pipeline.toml");
    std::fs::write(&path, pipeline_toml()).map_err(|e| Error::io(&path, e))?;
    written.push(Written { path, rows: 0 });
    Ok(written)
}

/// The example pipeline, pointed at the files beside it (records from Parquet, the faster
/// format at scale), writing its report to `report/` in the same folder.
fn pipeline_toml() -> String {
    let example = include_str!("../../pipelines/example.toml");
    let body = example
        .lines()
        .skip_while(|l| l.starts_with('#'))
        .filter(|l| !l.starts_with("# The sample covers"))
        .collect::<Vec<_>>()
        .join("\n")
        .replace("\"../sample_data/records.csv\"", "\"records.parquet\"")
        .replace("\"../sample_data/", "\"")
        .replace("name = \"example\"", "name = \"sample\"");
    format!(
        "# Written by `jsna sample-data`: the example pipeline (pipelines/example.toml) over the\n\
         # files in this folder. Run it with `jsna run pipeline.toml`; the report goes to report/.\n\
         {}\n\n[output]\ndir = \"report\"\n",
        body.trim_end()
    )
}

fn write_text_csv(path: &Path, header: &[&str], rows: &[Vec<String>]) -> Result<()> {
    let file = File::create(path).map_err(|e| Error::io(path, e))?;
    let mut w = csv::Writer::from_writer(BufWriter::new(file));
    let io = |e: csv::Error| Error::io(path, std::io::Error::other(e));
    w.write_record(header).map_err(io)?;
    for row in rows {
        w.write_record(row).map_err(io)?;
    }
    w.flush().map_err(|e| Error::io(path, e))
}

fn write_records(
    out: &Path,
    areas: &[areas::Area],
    qs: &[Quarter],
    opts: &Options,
) -> Result<Vec<Written>> {
    let start = qs[0].start();
    let end = qs[qs.len() - 1].end();
    let ctx = records::RecordContext {
        areas,
        area_weights: areas.iter().map(|a| a.population_in(2022)).collect(),
        start,
        days: (end - start).num_days() + 1,
        seed: opts.seed,
    };
    let csv_path = out.join("records.csv");
    let pq_path = out.join("records.parquet");
    let schema = Schema::from_iter(
        records::COLUMNS
            .iter()
            .map(|c| Field::new((*c).into(), DataType::String)),
    );
    let csv_file = BufWriter::new(File::create(&csv_path).map_err(|e| Error::io(&csv_path, e))?);
    let pq_file = File::create(&pq_path).map_err(|e| Error::io(&pq_path, e))?;
    let mut csv_writer = CsvWriter::new(csv_file)
        .n_threads(1)
        .batched(&schema)
        .map_err(polars_err(csv_path.clone()))?;
    let mut pq_writer = ParquetWriter::new(pq_file)
        .with_compression(ParquetCompression::Zstd(None))
        .set_parallel(false)
        .batched(&schema)
        .map_err(polars_err(pq_path.clone()))?;

    let mut row = 0usize;
    while row < opts.records {
        let n = CHUNK.min(opts.records - row);
        let recs: Vec<records::Record> = (row..row + n)
            .into_par_iter()
            .map(|i| records::record(&ctx, i as u64))
            .collect();
        let columns: Vec<Column> = (0..records::COLUMNS.len())
            .map(|j| {
                let values: Vec<Option<&str>> = recs
                    .iter()
                    .map(|r| Some(r[j].as_str()).filter(|s| !s.is_empty()))
                    .collect();
                Column::new(records::COLUMNS[j].into(), values)
            })
            .collect();
        let df = DataFrame::new(n, columns).map_err(polars_err(csv_path.clone()))?;
        csv_writer
            .write_batch(&df)
            .map_err(polars_err(csv_path.clone()))?;
        pq_writer
            .write_batch(&df)
            .map_err(polars_err(pq_path.clone()))?;
        row += n;
    }
    csv_writer.finish().map_err(polars_err(csv_path.clone()))?;
    pq_writer.finish().map_err(polars_err(pq_path.clone()))?;
    Ok(vec![
        Written {
            path: csv_path,
            rows: opts.records,
        },
        Written {
            path: pq_path,
            rows: opts.records,
        },
    ])
}

fn polars_err(path: PathBuf) -> impl Fn(PolarsError) -> Error {
    move |e| Error::io(&path, std::io::Error::other(e.to_string()))
}
