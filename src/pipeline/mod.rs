//! The whole run in one place: ingest → validate → indicators → disclosure → render → publish.

pub mod breakdowns;
pub mod plan;
pub mod spec;

use crate::disclosure::quality::{PublishedInput, QualityReport};
use crate::disclosure::{self, DisclosedTable};
use crate::error::{Error, Result};
use crate::indicators::{self, compare};
use crate::ingest::{self, InputSummary, Problem};
use crate::log::{Log, Progress};
use crate::publish::{self, Staging};
use crate::render;
use plan::Plan;
use serde_json::json;
use spec::SourceKind;
use std::path::PathBuf;

/// A source may lose at most this share of its rows to quarantine before the run fails.
pub const MAX_REJECTED_SHARE: f64 = 0.05;

/// Everything ingest produced.
pub struct Ingested {
    pub areas: Vec<ingest::lookup::AreaInfo>,
    pub records: Option<polars::prelude::DataFrame>,
    pub population: polars::prelude::DataFrame,
    /// Population by area, year, sex and age band, when the population file has them.
    pub structure: Option<polars::prelude::DataFrame>,
    /// Published tables by source index in the plan.
    pub published: std::collections::BTreeMap<usize, ingest::published::PublishedTable>,
    pub inputs: Vec<InputSummary>,
    pub problems: Vec<Problem>,
}

/// What `run` reports back.
pub struct RunSummary {
    pub out_dir: PathBuf,
    pub rows_read: u64,
    pub rows_rejected: u64,
    pub indicator_rows: usize,
    pub suppressed: u64,
    pub outputs: usize,
}

fn summary(source: &plan::Source, kind: &str, loaded: &ingest::Loaded) -> Result<InputSummary> {
    let (rows_read, problems) = (loaded.rows_read, &loaded.problems);
    let (bytes, sha256) = ingest::fingerprint(&source.path)?;
    let mut rows: Vec<u64> = problems.iter().map(|p| p.row).collect();
    rows.dedup();
    let rejected = rows.len() as u64;
    Ok(InputSummary {
        source: source.id.clone(),
        kind: kind.to_string(),
        path: source.display_path.clone(),
        bytes,
        sha256,
        rows_read,
        rows_accepted: rows_read - rejected,
        rows_rejected: rejected,
        rows_outside_areas: loaded.outside.iter().map(|(_, n)| n).sum(),
        outside: loaded.outside.clone(),
        notes: loaded.notes.clone(),
        data_tests: loaded.tests.clone(),
        outside_areas: loaded
            .outside
            .iter()
            .map(|(code, n)| format!("{code} ({n})"))
            .collect::<Vec<_>>()
            .join("; "),
    })
}

/// Reads and checks every input. Fails when a source loses more than [`MAX_REJECTED_SHARE`].
pub fn ingest_all(plan: &Plan, progress: &Progress) -> Result<Ingested> {
    let lookup = ingest::lookup::load(&plan.lookup, plan.upper_tier)?;
    if lookup.areas.is_empty() {
        return Err(Error::data(
            &plan.lookup,
            "the area lookup has no areas: every figure would be empty",
        ));
    }
    let unknown: Vec<&str> = plan
        .narrative
        .areas
        .keys()
        .filter(|c| !lookup.areas.iter().any(|a| &a.code == *c))
        .map(String::as_str)
        .collect();
    if !unknown.is_empty() {
        return Err(Error::Config(format!(
            "{}: [narrative.areas] names {} that {} no area of this pipeline (area pages are named by the codes in the lookup{})",
            plan.pipeline_path.display(),
            unknown.join(", "),
            if unknown.len() == 1 { "is" } else { "are" },
            if plan.upper_tier { ", upper-tier authorities here" } else { "" }
        )));
    }
    if let Some(a) = lookup
        .areas
        .iter()
        .find(|a| a.code == plan.total_code || a.region_code == plan.total_code)
    {
        return Err(Error::Usage(format!(
            "[areas] total_code \"{}\" is also the code of {} in {}: the total would be merged with it. Choose another total_code (E92000001 is England, K04000001 England and Wales)",
            plan.total_code,
            if a.code == plan.total_code { &a.name } else { &a.region_name },
            plan.lookup_display
        )));
    }
    let lookup_rows = lookup.rows;
    let (lookup_bytes, lookup_sha) = ingest::fingerprint(&plan.lookup)?;
    let mut inputs = vec![InputSummary {
        source: "areas".into(),
        kind: "area_lookup".into(),
        path: plan.lookup_display.clone(),
        bytes: lookup_bytes,
        sha256: lookup_sha,
        rows_read: lookup_rows,
        rows_accepted: lookup_rows,
        rows_rejected: 0,
        rows_outside_areas: 0,
        outside_areas: String::new(),
        outside: Vec::new(),
        notes: Vec::new(),
        data_tests: Vec::new(),
    }];
    let codes: Vec<String> = lookup.areas.iter().map(|a| a.code.clone()).collect();
    let resolver = ingest::lookup::Resolver::new(
        &lookup,
        plan.code_history.as_ref().map(|(p, _)| p.as_path()),
    )?;
    let mut problems = Vec::new();
    let (mut records, mut population, mut structure) = (None, None, None);
    let mut published = std::collections::BTreeMap::new();
    for (si, source) in plan.sources.iter().enumerate() {
        match source.kind {
            SourceKind::Records => {
                let reduce = |batch, keep: &[&str]| indicators::features(plan, batch, keep, &codes);
                let r = ingest::records::load(source, &codes, &reduce, progress)?;
                if r.rows_read == 0 {
                    return Err(Error::data(
                        &source.path,
                        "the records file has a header and no records: every figure would be empty",
                    ));
                }
                inputs.push(summary(source, "records", &r)?);
                problems.extend(r.problems);
                records = Some(r.frame);
            }
            SourceKind::Population => {
                let (p, by_age) = ingest::population::load(source, &resolver)?;
                if p.frame.height() == 0 {
                    return Err(Error::data(
                        &source.path,
                        format!(
                            "the population file has no usable rows ({} read): every rate would be [x]",
                            p.rows_read
                        ),
                    ));
                }
                // Two population sources: the one with sex and age band gives the structure
                // (and age-and-sex denominators), the other the all-ages estimates.
                // The first population source always sets `population`; `structure` then says
                // whether it had sex and age band.
                let second = population.is_some();
                match (by_age, second) {
                    (Some(_), true) if structure.is_some() => {
                        return Err(Error::data(
                            &source.path,
                            "two population sources have sex and age_band columns; keep one (the other should give all ages)",
                        ))
                    }
                    (Some(s), true) => structure = Some(s),
                    (Some(s), false) => {
                        structure = Some(s);
                        population = Some(p.frame.clone());
                    }
                    (None, true) if structure.is_some() => population = Some(p.frame.clone()),
                    (None, true) => {
                        return Err(Error::data(
                            &source.path,
                            "two population sources have no sex and age_band columns; a second population source is for estimates by sex and age band",
                        ))
                    }
                    (None, false) => population = Some(p.frame.clone()),
                }
                inputs.push(summary(source, "population", &p)?);
                problems.extend(p.problems);
            }
            kind => {
                let (s, table) = ingest::published::load(source, &codes, &resolver)?;
                inputs.push(summary(source, plan::kind_name(kind), &s)?);
                problems.extend(s.problems);
                published.insert(si, table);
            }
        }
    }
    let missing = |what: &str| Error::Internal(format!("no {what} source after compile"));
    Ok(Ingested {
        areas: lookup.areas,
        records,
        population: population.ok_or_else(|| missing("population"))?,
        structure,
        published,
        inputs,
        problems,
    })
}

/// Sources that lost more rows to quarantine than the tolerance allows.
pub fn failed_checks(inputs: &[InputSummary]) -> Vec<String> {
    let tests = inputs.iter().flat_map(|i| {
        i.data_tests.iter().filter(|t| t.status == "fail").map(move |t| {
            format!(
                "source '{}' ({}): data test {} on column '{}' failed on {} of {} rows, more than the {}% allowed",
                i.source, i.path, t.test, t.column, t.failures, t.rows_tested, 100.0 * t.tolerance
            )
        })
    });
    let shares = inputs
        .iter()
        .filter(|i| i.rows_read > 0 && i.rows_rejected as f64 / i.rows_read as f64 > MAX_REJECTED_SHARE)
        .map(|i| {
            format!(
                "source '{}' ({}): {} of {} rows quarantined ({:.1}%), more than the {:.0}% allowed",
                i.source, i.path, i.rows_rejected, i.rows_read,
                100.0 * i.rows_rejected as f64 / i.rows_read as f64, 100.0 * MAX_REJECTED_SHARE
            )
        });
    shares.chain(tests).collect()
}

/// How long a stage took, and the process's peak memory when it ended.
pub struct Lap {
    pub stage: &'static str,
    pub seconds: f64,
    pub peak_mib: Option<u64>,
}

/// The process's peak resident memory so far in MiB (`VmHWM`), where the system reports it.
pub fn peak_memory_mib() -> Option<u64> {
    let status = std::fs::read_to_string("/proc/self/status").ok()?;
    let line = status.lines().find(|l| l.starts_with("VmHWM:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib / 1024)
}

/// Runs the whole pipeline and publishes the report folder, telling `log` each stage.
/// Refuses output folders that could destroy inputs or other work (see [`publish::check_targets`]).
pub fn check_outputs(plan: &Plan) -> Result<()> {
    let quality = plan.quality_folder();
    let mut targets = vec![
        publish::Target {
            what: "output folder",
            path: &plan.out_dir,
        },
        publish::Target {
            what: "quality folder",
            path: &quality,
        },
    ];
    if let Some(dir) = &plan.restricted_dir {
        targets.push(publish::Target {
            what: "restricted folder",
            path: dir,
        });
    }
    publish::check_targets(&plan.pipeline_path, &plan.input_paths(), &targets)
}

/// Writes the record-level quarantine and the exact data-quality counts to the quality folder,
/// which is kept apart from the report and is not for publication.
fn write_quality(plan: &Plan, data: &Ingested, log: &Log) -> Result<()> {
    let mut staging = Staging::new(&plan.quality_folder())?;
    for note in staging.notes() {
        log.warn(&format!("jsna: {note}"));
    }
    staging.write("quarantine.csv", &render::quarantine_csv(&data.problems)?)?;
    staging.write(
        "summary.csv",
        &render::summary_csv(&data.inputs, &data.problems)?,
    )?;
    let manifest = json!({
        "not_for_publication": "Record-level values (quarantined rows) and exact counts of rows. Keep with the restricted data; never publish.",
        "program": { "name": "jsna", "version": env!("CARGO_PKG_VERSION") },
        "pipeline": { "name": plan.name, "sha256": plan.pipeline_sha256 },
        "inputs": data.inputs,
        "outputs": staging.outputs(),
    });
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    staging.commit(&bytes)?;
    Ok(())
}

pub fn run(plan: &Plan, log: &Log) -> Result<RunSummary> {
    check_outputs(plan)?;
    let mut timings: Vec<Lap> = Vec::new();
    let lap = |stage: crate::log::Stage, name: &'static str, timings: &mut Vec<Lap>| {
        let (seconds, peak_mib) = stage.finish();
        timings.push(Lap {
            stage: name,
            seconds,
            peak_mib,
        });
    };

    let stage = log.stage("ingest", "ingest and validate");
    let data = ingest_all(plan, stage.progress())?;
    let failed = failed_checks(&data.inputs);
    if !failed.is_empty() {
        return Err(Error::ChecksFailed(failed.join("\n")));
    }
    lap(stage, "ingest", &mut timings);

    let stage = log.stage("indicators", "indicators");
    let counts = indicators::compute(
        plan,
        &indicators::Inputs {
            areas: &data.areas,
            records: data.records.as_ref(),
            population: &data.population,
            structure: data.structure.as_ref(),
            published: &data.published,
        },
    )?;
    lap(stage, "indicators", &mut timings);

    if let Some(dir) = &plan.restricted_dir {
        log.info("jsna: restricted output…");
        write_restricted(plan, &counts, dir)?;
    }
    let stage = log.stage("disclosure", "disclosure control");
    let mut table: DisclosedTable = disclosure::disclose(plan, counts);
    compare::attach(plan, &mut table);
    if !table.failures().is_empty() {
        return Err(Error::ChecksFailed(format!(
            "disclosure control cannot protect this release, so nothing was published:\n{}",
            table.failures().join("\n")
        )));
    }
    lap(stage, "disclosure", &mut timings);

    let stage = log.stage("render", "render and publish");
    let pyramids = match &data.structure {
        Some(s) => render::population::Pyramids::build(s, table.areas(), plan.disclosure)?,
        None => None,
    };
    let quality = QualityReport::disclose(
        &data.inputs,
        &data.problems,
        plan.disclosure,
        &plan.quality_folder_shown(),
    );
    let mut staging = Staging::new(&plan.out_dir)?;
    for note in staging.notes() {
        log.warn(&format!("jsna: {note}"));
    }
    render::write_all(
        plan,
        &table,
        &quality,
        &mut staging,
        stage.progress(),
        pyramids.as_ref(),
    )?;
    lap(stage, "render", &mut timings);

    let outputs = staging.outputs();
    let manifest = manifest(plan, quality.inputs(), &outputs, &timings);
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    write_quality(plan, &data, log)?;
    let out_dir = staging.commit(&bytes)?;
    Ok(RunSummary {
        out_dir,
        rows_read: data.inputs.iter().map(|i| i.rows_read).sum(),
        rows_rejected: data.inputs.iter().map(|i| i.rows_rejected).sum(),
        indicator_rows: table.rows().len(),
        suppressed: table.suppressed(),
        outputs: outputs.len() + 1,
    })
}

/// Writes the unsuppressed table to the restricted folder, which must not be, or be inside, the
/// published folder.
fn write_restricted(plan: &Plan, counts: &indicators::Counts, dir: &std::path::Path) -> Result<()> {
    let mut table = disclosure::restricted(plan, counts);
    table.compare(plan);
    let mut staging = Staging::new(dir)?;
    staging.write(
        "indicators_restricted.csv",
        &render::tables::restricted_csv(plan, &table)?,
    )?;
    let manifest = json!({
        "restricted": render::tables::RESTRICTED_MARK,
        "program": { "name": "jsna", "version": env!("CARGO_PKG_VERSION") },
        "pipeline": { "name": plan.name, "sha256": plan.pipeline_sha256 },
        "outputs": staging.outputs(),
    });
    let bytes = serde_json::to_vec_pretty(&manifest).map_err(|e| Error::Internal(e.to_string()))?;
    staging.commit(&bytes)?;
    Ok(())
}

fn manifest(
    plan: &Plan,
    inputs: &[PublishedInput],
    outputs: &[publish::OutputEntry],
    timings: &[Lap],
) -> serde_json::Value {
    let mut pipeline = json!({
        "file": plan.pipeline_path.file_name().map(|f| f.to_string_lossy().to_string()),
        "name": plan.name,
        "sha256": plan.pipeline_sha256,
    });
    if let Some(t) = &plan.template {
        pipeline["template"] = json!({ "path": t.display, "sha256": t.sha256 });
    }
    json!({
        "manifest_version": 1,
        "program": { "name": "jsna", "version": env!("CARGO_PKG_VERSION") },
        "pipeline": pipeline,
        "parameters": {
            "period": format!("{:?}", plan.period),
            "disclosure": { "threshold": plan.disclosure.threshold, "rounding": plan.disclosure.rounding, "no_suppression_reason": plan.no_suppression_reason },
            "allow_identifiers": plan.sources.iter().filter(|s| !s.allow_identifiers.is_empty()).map(|s| (s.id.clone(), json!(s.allow_identifiers))).collect::<serde_json::Map<_, _>>(),
            "max_rejected_share": MAX_REJECTED_SHARE,
            "groups": plan.groups.iter().map(|g| json!({"id": g.id, "label": g.label, "filter": g.sql, "reference": g.reference})).collect::<Vec<_>>(),
            "indicators": plan.indicators.iter().map(|i| json!({
                "id": i.id, "name": i.name, "method": plan::method_name(i.method), "numerator": i.numerator_sql,
                "denominator": i.denominator_sql, "multiplier": i.multiplier, "polarity": i.polarity,
            })).collect::<Vec<_>>(),
        },
        "inputs": inputs,
        "outputs": outputs,
        "not_reproducible": {
            "note": "This block alone changes between identical runs; it is not part of any output hash. Set SOURCE_DATE_EPOCH to fix generated_at.",
            "generated_at": publish::generated_at(),
            "stage_seconds": timings.iter().map(|l| (l.stage.to_string(), json!((l.seconds * 1000.0).round() / 1000.0))).collect::<serde_json::Map<_, _>>(),
            "peak_memory_mib_after_stage": timings.iter().filter_map(|l| Some((l.stage.to_string(), json!(l.peak_mib?)))).collect::<serde_json::Map<_, _>>(),
        },
    })
}
