//! `jsna verify DIR [--pipeline FILE]`: checks a report folder against its manifest, and, given
//! the pipeline, that the inputs are unchanged and a fresh run reproduces every output.

use crate::error::{Error, Result};
use crate::ingest::fingerprint;
use crate::log::Log;
use crate::pipeline::{self, plan};
use serde_json::json;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

fn read_manifest(dir: &Path) -> Result<serde_json::Value> {
    let path = dir.join("manifest.json");
    let text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
    serde_json::from_str(&text)
        .map_err(|e| Error::data(&path, format!("is not a jsna manifest: {e}")))
}

/// The manifest's outputs: relative path → SHA-256.
fn output_hashes(manifest: &serde_json::Value) -> BTreeMap<String, String> {
    manifest["outputs"]
        .as_array()
        .into_iter()
        .flatten()
        .map(|o| {
            (
                o["path"].as_str().unwrap_or("").to_string(),
                o["sha256"].as_str().unwrap_or("").to_string(),
            )
        })
        .collect()
}

/// Every file under `dir` except the manifest, relative path → absolute path.
fn files(dir: &Path) -> Result<BTreeMap<String, PathBuf>> {
    let mut out = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).map_err(|e| Error::io(&d, e))? {
            let p = entry.map_err(|e| Error::io(&d, e))?.path();
            if p.is_dir() {
                stack.push(p);
            } else if let Ok(rel) = p.strip_prefix(dir) {
                let rel = rel.to_string_lossy().replace('\\', "/");
                if rel != "manifest.json" {
                    out.insert(rel, p);
                }
            }
        }
    }
    Ok(out)
}

/// Compares the files of `dir` with the manifest's output list; returns the differences.
fn check_outputs(dir: &Path, manifest: &serde_json::Value) -> Result<Vec<String>> {
    let mut problems = Vec::new();
    if !manifest["outputs"].is_array() {
        return Err(Error::data(
            &dir.join("manifest.json"),
            "has no outputs list",
        ));
    }
    let listed = output_hashes(manifest);
    let present = files(dir)?;
    for (rel, sha) in &listed {
        match present.get(rel) {
            None => problems.push(format!("{rel}: listed in the manifest but missing")),
            Some(p) if &fingerprint(p)?.1 != sha => problems.push(format!(
                "{rel}: contents differ from the manifest (SHA-256 changed)"
            )),
            Some(_) => {}
        }
    }
    for rel in present.keys().filter(|r| !listed.contains_key(*r)) {
        problems.push(format!("{rel}: not listed in the manifest"));
    }
    Ok(problems)
}

pub fn run(dir: &Path, pipeline_file: Option<&Path>, log: &Log) -> Result<i32> {
    let manifest = read_manifest(dir)?;
    let mut problems = check_outputs(dir, &manifest)?;
    let n = manifest["outputs"].as_array().map_or(0, Vec::len);
    log.info(&format!(
        "jsna verify: {n} outputs checked against {}",
        dir.join("manifest.json").display()
    ));
    if let Some(pipeline_file) = pipeline_file {
        let plan = plan::load(pipeline_file, None)?;
        if manifest["pipeline"]["sha256"].as_str() != Some(plan.pipeline_sha256.as_str()) {
            problems.push(format!(
                "{}: the pipeline file differs from the one that made this report",
                pipeline_file.display()
            ));
        }
        let template = &manifest["pipeline"]["template"];
        if template["sha256"].as_str() != plan.template.as_ref().map(|t| t.sha256.as_str()) {
            problems.push(format!(
                "{}: the page template differs from the one that made this report",
                template["path"]
                    .as_str()
                    .or(plan.template.as_ref().map(|t| t.display.as_str()))
                    .unwrap_or("[output] templates")
            ));
        }
        let base = pipeline_file
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        for input in manifest["inputs"].as_array().into_iter().flatten() {
            let shown = input["path"].as_str().unwrap_or("");
            let path = base.join(plan::expand_env(shown).unwrap_or_else(|_| shown.to_string()));
            match fingerprint(&path) {
                Ok((_, sha)) if Some(sha.as_str()) == input["sha256"].as_str() => {}
                Ok(_) => problems.push(format!(
                    "input {shown}: contents differ from the run that made this report"
                )),
                Err(_) => problems.push(format!("input {shown}: cannot be read")),
            }
        }
        // Re-run into a scratch folder beside the report and compare every output.
        let scratch = dir.with_file_name(format!(
            ".{}.verify-{}",
            dir.file_name()
                .map(|f| f.to_string_lossy().to_string())
                .unwrap_or_default(),
            std::process::id()
        ));
        let mut fresh = plan.clone();
        let mut quality_name = scratch.as_os_str().to_owned();
        quality_name.push("-quality");
        let scratch_quality = std::path::PathBuf::from(quality_name);
        fresh.quality_dir = Some((scratch_quality.clone(), plan.quality_folder_shown()));
        fresh.out_dir = scratch.clone();
        fresh.restricted_dir = None;
        log.info("jsna verify: re-running the pipeline…");
        let result = pipeline::run(&fresh, &Log::silent()).and_then(|_| {
            let rerun = read_manifest(&scratch)?;
            let again = output_hashes(&rerun);
            for o in manifest["outputs"].as_array().into_iter().flatten() {
                let rel = o["path"].as_str().unwrap_or("");
                if again.get(rel).map(String::as_str) != o["sha256"].as_str() {
                    problems.push(format!("{rel}: a fresh run gives different contents"));
                }
            }
            Ok(())
        });
        for dir in [&scratch, &scratch_quality] {
            if crate::publish::written_by_jsna(dir) {
                let _ = std::fs::remove_dir_all(dir);
            }
        }
        result?;
    }
    if problems.is_empty() {
        log.info("jsna verify: everything matches");
        Ok(0)
    } else {
        for p in &problems {
            log.event("error", "difference", &format!("differs: {p}"), json!({}));
        }
        let n = problems.len();
        let fields = json!({ "differences": n });
        log.event(
            "error",
            "verify_failed",
            &format!("jsna verify: {n} difference(s)"),
            fields,
        );
        Ok(1)
    }
}
