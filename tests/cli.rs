//! Integration tests: run the real `jsna` binary in a temporary copy of the example pipeline.

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::{Path, PathBuf};

mod util;
use util::{exits, ok, root, stderr, tree, Edit, Work};

fn csv_rows(text: &str) -> Vec<BTreeMap<String, String>> {
    let mut r = csv::Reader::from_reader(text.as_bytes());
    let headers = r.headers().unwrap().clone();
    r.records()
        .map(|rec| {
            headers
                .iter()
                .zip(rec.unwrap().iter())
                .map(|(h, v)| (h.to_string(), v.to_string()))
                .collect()
        })
        .collect()
}

/// The manifest's entry for one input source.
fn input(manifest: serde_json::Value, source: &str) -> serde_json::Value {
    manifest["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["source"] == source)
        .unwrap_or_else(|| panic!("no input {source}"))
        .clone()
}

fn manifest(w: &Work, dir: &str) -> serde_json::Value {
    serde_json::from_str(&w.read(&format!("{dir}/manifest.json"))).unwrap()
}

/// The manifest of the quality folder beside a report: inputs with their exact row counts.
fn quality_manifest(w: &Work, dir: &str) -> serde_json::Value {
    serde_json::from_str(&w.read(&format!("{dir}-quality/manifest.json"))).unwrap()
}

#[test]
fn example_run_writes_the_documented_outputs() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    for f in [
        "indicators.csv",
        "indicators.parquet",
        "index.html",
        "manifest.json",
        "quality/summary.csv",
        "quality/disclosure.csv",
        "charts/assessed_within_28_days.svg",
        "charts/assessed_within_28_days.png",
    ] {
        assert!(w.path("reports/example").join(f).is_file(), "missing {f}");
    }
    for f in ["quarantine.csv", "summary.csv", "manifest.json"] {
        assert!(
            w.path("reports/example-quality").join(f).is_file(),
            "missing {f}"
        );
    }
    assert!(!w.path("reports/example/quality/quarantine.csv").exists());
    let png = fs::read(w.path("reports/example/charts/assessed_within_28_days.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");

    let csv = w.read("reports/example/indicators.csv");
    let header = csv.lines().next().unwrap();
    assert_eq!(header, "IndicatorID,IndicatorName,AreaCode,AreaName,AreaType,ParentCode,Sex,Age,CategoryType,Category,Timeperiod,TimeperiodSortable,Value,LowerCI95.0limit,UpperCI95.0limit,LowerCI99.8limit,UpperCI99.8limit,Count,Denominator,Valuenote,RecentTrend,ComparedtoEnglandvalueorpercentiles,ComparedtoRegionvalueorpercentiles,PopulationGroup,FunnelSignificance,ComparedtoThreshold");
    let rows = csv_rows(&csv);
    // Every group, the reference groups included, has real values with both intervals.
    for group in [
        "UASC and former UASC care leavers",
        "Women and girls seeking asylum or with refugee status",
        "LGBT refugees and asylum seekers",
        "Older refugees and asylum seekers (60+)",
        "Potential victims of trafficking",
        "All service users",
        "Not subject to immigration control",
    ] {
        let with_values = rows
            .iter()
            .filter(|r| r["Category"] == group && r["Value"].parse::<f64>().is_ok())
            .count();
        assert!(with_values > 0, "no published value for {group}");
        let r = rows
            .iter()
            .find(|r| r["Category"] == group && r["Value"].parse::<f64>().is_ok())
            .unwrap();
        let num = |k: &str| r[k].parse::<f64>().unwrap();
        assert!(
            num("LowerCI99.8limit") <= num("LowerCI95.0limit")
                && num("LowerCI95.0limit") <= num("Value")
        );
        assert!(
            num("Value") <= num("UpperCI95.0limit")
                && num("UpperCI95.0limit") <= num("UpperCI99.8limit")
        );
    }
    assert!(rows
        .iter()
        .any(|r| r["IndicatorID"] == "asylum_support_rate" && r["Value"].parse::<f64>().is_ok()));
}

#[test]
fn no_published_count_is_between_one_and_seven_and_counts_are_rounded() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let mut suppressed = 0;
    for r in &rows {
        if r["Valuenote"].contains("exempt from disclosure control") {
            // Published tables are shown as published (the default); only they are exempt.
            assert!(
                ["asylum_support", "resettlement", "nrm"]
                    .iter()
                    .any(|s| r["IndicatorID"].contains(s)),
                "{r:?}"
            );
            continue;
        }
        for col in ["Count", "Denominator"] {
            match r[col].parse::<f64>() {
                // Rates are over residents (public estimates), not counted people.
                Ok(v) if r["IndicatorName"].contains("per 1") && col == "Denominator" => {
                    assert!(v > 0.0)
                }
                Ok(v) => {
                    assert!(v == 0.0 || v > 7.0, "{col} {v} published in {r:?}");
                    assert_eq!(v % 5.0, 0.0, "{col} {v} not rounded to 5");
                }
                Err(_) => {
                    assert!(
                        ["[c]", "[x]", "[z]"].contains(&r[col].as_str()),
                        "{col} holds {:?}",
                        r[col]
                    );
                    suppressed += (r[col] == "[c]") as usize;
                }
            }
        }
        if r["Count"] == "[c]" {
            assert_eq!(r["Value"], "[c]");
            assert_eq!(r["LowerCI95.0limit"], "[c]");
            assert_eq!(r["ComparedtoEnglandvalueorpercentiles"], "Not compared");
        }
    }
    assert!(
        suppressed > 0,
        "the sample has small numbers; some cells must be suppressed"
    );
    let html = w.read("reports/example/index.html");
    assert!(html.contains("[c]"));
}

/// Which breakdown category a row is (`Sex=Female`, `Age=0-17 yrs`, `Ethnic group…=White`), or
/// empty for the whole group.
fn slice(r: &BTreeMap<String, String>) -> String {
    if r["Sex"] != "Persons" {
        format!("Sex={}", r["Sex"])
    } else if r["Age"] != "All ages" {
        format!("Age={}", r["Age"])
    } else if !["", "Population group"].contains(&r["CategoryType"].as_str()) {
        format!("{}={}", r["CategoryType"], r["Category"])
    } else {
        String::new()
    }
}

/// Rows of whole groups only (no breakdown category).
fn whole(rows: &[BTreeMap<String, String>]) -> Vec<BTreeMap<String, String>> {
    rows.iter()
        .filter(|r| slice(r).is_empty())
        .cloned()
        .collect()
}

/// An attacker's view of one published count: its published figure, or `None` for `[c]`.
type Published = BTreeMap<(String, String, String, String), Option<f64>>;

/// What an attacker who has read the pipeline file knows: which counts are the same count, the
/// hierarchy (ParentCode) and that the four sexual orientation categories split the group.
fn attacker_view(rows: &[BTreeMap<String, String>]) -> (Published, Vec<(String, String)>) {
    let mut cells: Published = BTreeMap::new();
    let mut parents = BTreeMap::new();
    let everyone = [
        "mental_health_need",
        "sexual_orientation_recorded",
        "sexual_orientation_declined",
        "sexual_orientation_not_known",
        "sexual_orientation_not_asked",
        "immigration_status_recorded",
        "ethnicity_recorded",
    ];
    for r in rows {
        let id = r["IndicatorID"].as_str();
        if ["asylum_support_rate", "resettlement_rate", "nrm_referrals"].contains(&id) {
            continue; // published Home Office counts
        }
        parents.insert(r["AreaCode"].clone(), r["ParentCode"].clone());
        let mut put = |def: &str, text: &str| {
            let v = if text == "[c]" {
                None
            } else {
                Some(text.parse::<f64>().unwrap())
            };
            let key = (
                def.to_string(),
                format!("{}|{}", r["PopulationGroup"], slice(r)),
                r["AreaCode"].clone(),
                r["Timeperiod"].clone(),
            );
            if let Some(old) = cells.insert(key.clone(), v) {
                assert_eq!(old, v, "{key:?} is published differently in two places");
            }
        };
        let count_def = if id == "median_days_to_assessment" {
            "assessed"
        } else {
            id
        };
        put(count_def, &r["Count"]);
        let den_def = match id {
            "median_days_to_assessment" => continue,
            "assessed_within_28_days" => "assessed",
            id if everyone.contains(&id) => "everyone",
            id => id,
        };
        let den_def = if den_def == id {
            format!("{id}#den")
        } else {
            den_def.to_string()
        };
        put(&den_def, &r["Denominator"]);
    }
    (cells, parents.into_iter().collect())
}

#[test]
fn no_suppressed_count_can_be_narrowed_by_an_attacker_solving_the_published_totals() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    attack(&csv_rows(&w.read("reports/example/indicators.csv")));
}

#[test]
fn breakdowns_published_for_the_total_are_protected_too() {
    let w = Work::new();
    let pipeline = w
        .read("pipelines/example.toml")
        .edit("rounding = 5", "rounding = 5\nbreakdown_level = \"total\"");
    w.write("pipelines/example.toml", &pipeline);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let sliced: Vec<_> = rows.iter().filter(|r| !slice(r).is_empty()).collect();
    assert!(!sliced.is_empty());
    assert!(
        sliced.iter().all(|r| r["AreaType"] == "England"),
        "breakdowns at one level only"
    );
    attack(&rows);
}

/// Solves, for every suppressed count, the smallest and largest value the published figures
/// allow (a linear programme over every equation an attacker knows), and fails if any range is
/// 7 or narrower.
fn attack(rows: &[BTreeMap<String, String>]) {
    use microlp::{ComparisonOp, OptimizationDirection, Problem};
    let (cells, parents) = attacker_view(rows);
    let keys: Vec<_> = cells.keys().cloned().collect();
    let index: BTreeMap<_, usize> = keys.iter().cloned().zip(0..).collect();
    // Equations `total - Σ parts = 0` and inequalities `count - denominator <= 0`.
    let mut equations: Vec<Vec<(usize, f64)>> = Vec::new();
    let mut within: Vec<(usize, usize)> = Vec::new();
    // (definition, group, area, period) → breakdown → its categories' counts.
    let mut breakdowns: BTreeMap<_, BTreeMap<String, Vec<usize>>> = BTreeMap::new();
    for (j, (def, cat, area, period)) in keys.iter().enumerate() {
        let (group, slice) = cat.split_once('|').unwrap();
        if let Some((family, _)) = slice.split_once('=') {
            breakdowns
                .entry((def.clone(), group.to_string(), area.clone(), period.clone()))
                .or_default()
                .entry(family.to_string())
                .or_default()
                .push(j);
        }
    }
    for (i, (def, cat, area, period)) in keys.iter().enumerate() {
        let children: Vec<usize> = parents
            .iter()
            .filter(|(_, p)| p == area)
            .filter_map(|(c, _)| index.get(&(def.clone(), cat.clone(), c.clone(), period.clone())))
            .copied()
            .collect();
        if !children.is_empty() {
            let mut eq = vec![(i, 1.0)];
            eq.extend(children.iter().map(|&c| (c, -1.0)));
            equations.push(eq);
        }
        if def == "everyone" && cat.ends_with('|') {
            let mut eq = vec![(i, 1.0)];
            for so in ["recorded", "declined", "not_known", "not_asked"] {
                let k = (
                    format!("sexual_orientation_{so}"),
                    cat.clone(),
                    area.clone(),
                    period.clone(),
                );
                eq.push((index[&k], -1.0));
            }
            equations.push(eq);
        }
        // A breakdown's categories add up to the whole group (every record is in one).
        if let Some(group) = cat.strip_suffix('|') {
            let at = (def.clone(), group.to_string(), area.clone(), period.clone());
            for parts in breakdowns.get(&at).into_iter().flat_map(|f| f.values()) {
                let mut eq = vec![(i, 1.0)];
                eq.extend(parts.iter().map(|&j| (j, -1.0)));
                equations.push(eq);
            }
        }
        let den = match def.as_str() {
            "assessed_within_28_days" => Some("assessed".to_string()),
            d if d.starts_with("sexual_orientation")
                || d.ends_with("_recorded")
                || d == "mental_health_need" =>
            {
                Some("everyone".to_string())
            }
            d if d.contains('#') || d == "assessed" || d == "everyone" => None,
            d => Some(format!("{d}#den")),
        };
        if let Some(den) = den {
            let k = (den, cat.clone(), area.clone(), period.clone());
            within.push((i, index[&k]));
        }
    }
    // The range each published figure was rounded from; a [c] is any count of 0 or more.
    let bounds: Vec<(f64, f64)> = keys
        .iter()
        .map(|k| match cells[k] {
            Some(0.0) => (0.0, 0.0),
            Some(v) => (v - 2.0, v + 2.0),
            None => (0.0, f64::INFINITY),
        })
        .collect();
    // Solve each connected part of the system on its own.
    let mut root: Vec<usize> = (0..keys.len()).collect();
    fn find(root: &mut [usize], mut x: usize) -> usize {
        while root[x] != x {
            root[x] = root[root[x]];
            x = root[x];
        }
        x
    }
    let links = equations
        .iter()
        .map(|eq| eq.iter().map(|&(v, _)| v).collect::<Vec<_>>())
        .chain(within.iter().map(|&(c, d)| vec![c, d]));
    for vars in links {
        for w in vars.windows(2) {
            let (a, b) = (find(&mut root, w[0]), find(&mut root, w[1]));
            root[a] = b;
        }
    }
    let part: Vec<usize> = (0..keys.len()).map(|i| find(&mut root, i)).collect();
    let solve = |target: usize, direction| -> Option<f64> {
        let mut lp = Problem::new(direction);
        let mut vars = BTreeMap::new();
        for i in (0..keys.len()).filter(|&i| part[i] == part[target]) {
            vars.insert(
                i,
                lp.add_var(if i == target { 1.0 } else { 0.0 }, bounds[i]),
            );
        }
        for eq in equations.iter().filter(|eq| part[eq[0].0] == part[target]) {
            let terms: Vec<_> = eq.iter().map(|&(v, c)| (vars[&v], c)).collect();
            lp.add_constraint(&terms[..], ComparisonOp::Eq, 0.0);
        }
        for &(c, d) in within.iter().filter(|w| part[w.0] == part[target]) {
            lp.add_constraint(
                &[(vars[&c], 1.0), (vars[&d], -1.0)][..],
                ComparisonOp::Le,
                0.0,
            );
        }
        match lp.solve() {
            Ok(s) => Some(
                s.solution()
                    .expect("a solved problem has a solution")
                    .objective(),
            ),
            Err(microlp::Error::Unbounded) => None,
            Err(e) => panic!("the published figures are inconsistent: {e:?}"),
        }
    };
    let suppressed: Vec<usize> = (0..keys.len())
        .filter(|&i| cells[&keys[i]].is_none())
        .collect();
    assert!(suppressed.len() > 100, "the sample has many small numbers");
    let mut narrow = Vec::new();
    let sizes: BTreeMap<usize, usize> = part.iter().fold(BTreeMap::new(), |mut m, &p| {
        *m.entry(p).or_default() += 1;
        m
    });
    eprintln!(
        "{} suppressed counts in {} parts, largest {}",
        suppressed.len(),
        sizes.len(),
        sizes.values().max().unwrap()
    );
    for &i in &suppressed {
        let low = solve(i, OptimizationDirection::Minimize).unwrap();
        if let Some(high) = solve(i, OptimizationDirection::Maximize) {
            if high - low <= 7.0 {
                narrow.push(format!("{:?} in [{low}, {high}]", keys[i]));
            }
        }
    }
    assert!(
        narrow.is_empty(),
        "{} of {} suppressed counts can be narrowed to a range of 7 or less, e.g. {:?}",
        narrow.len(),
        suppressed.len(),
        &narrow[..narrow.len().min(5)]
    );
}

#[test]
fn manifest_records_inputs_outputs_and_row_accounting() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let m = manifest(&w, "reports/example");
    assert_eq!(m["program"]["version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(m["pipeline"]["sha256"].as_str().unwrap().len(), 64);
    // The published manifest's row counts are protected; the exact ones are in the quality
    // folder's manifest.
    let q = quality_manifest(&w, "reports/example");
    assert_eq!(q["pipeline"]["sha256"], m["pipeline"]["sha256"]);
    for i in m["inputs"].as_array().unwrap() {
        let n = i["rows_rejected"].as_str().unwrap();
        if i["kind"] != "records" {
            // Rows of reference and published tables are not people: shown exactly.
            assert_eq!(n.parse::<u64>().ok(), Some(0), "{i}");
            continue;
        }
        assert!(n == "[c]" || n.parse::<u64>().unwrap() % 5 == 0, "{i}");
    }
    let inputs = q["inputs"].as_array().unwrap();
    assert_eq!(inputs.len(), 6);
    for i in inputs {
        let (read, acc, rej) = (
            i["rows_read"].as_u64().unwrap(),
            i["rows_accepted"].as_u64().unwrap(),
            i["rows_rejected"].as_u64().unwrap(),
        );
        assert_eq!(read, acc + rej, "{i}");
        assert_eq!(i["sha256"].as_str().unwrap().len(), 64);
    }
    let records = inputs.iter().find(|i| i["source"] == "records").unwrap();
    assert_eq!(records["rows_read"], 40000);
    let quarantined = csv_rows(&w.read("reports/example-quality/quarantine.csv"));
    let distinct: std::collections::BTreeSet<&str> =
        quarantined.iter().map(|r| r["row"].as_str()).collect();
    assert_eq!(
        distinct.len() as u64,
        records["rows_rejected"].as_u64().unwrap()
    );
    assert!(
        !distinct.is_empty(),
        "the sample data carries deliberate faults"
    );
    // Every output is listed with its hash, and the hashes are right.
    let outputs = m["outputs"].as_array().unwrap();
    assert!(outputs.len() >= 9);
    for o in outputs {
        let bytes = fs::read(w.path("reports/example").join(o["path"].as_str().unwrap())).unwrap();
        use sha2::Digest;
        let hex: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        assert_eq!(o["sha256"].as_str().unwrap(), hex);
    }
}

#[test]
fn identical_inputs_give_byte_identical_outputs_whatever_the_thread_count() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "a"]));
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "b"]));
    ok(&w.jsna_env(
        &["run", "pipelines/example.toml", "--out", "c"],
        &[("RAYON_NUM_THREADS", "1"), ("POLARS_MAX_THREADS", "1")],
    ));
    let (a, b, c) = (tree(&w.path("a")), tree(&w.path("b")), tree(&w.path("c")));
    assert_eq!(a.keys().collect::<Vec<_>>(), b.keys().collect::<Vec<_>>());
    for (name, bytes) in &a {
        if name == "manifest.json" {
            continue;
        }
        assert!(bytes == &b[name], "{name} differs between two runs");
        assert!(bytes == &c[name], "{name} differs with one thread");
    }
    let strip = |dir: &str| {
        let mut m = manifest(&w, dir);
        m.as_object_mut().unwrap().remove("not_reproducible");
        m
    };
    assert_eq!(strip("a"), strip("b"));
    assert_eq!(strip("a"), strip("c"));
}

#[test]
fn source_date_epoch_makes_the_manifest_byte_identical_too() {
    let w = Work::new();
    ok(&w.jsna_env(
        &["run", "pipelines/example.toml", "--out", "a"],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    ));
    ok(&w.jsna_env(
        &["run", "pipelines/example.toml", "--out", "b"],
        &[("SOURCE_DATE_EPOCH", "1700000000")],
    ));
    let m = w.read("a/manifest.json");
    assert!(m.contains("\"generated_at\": \"2023-11-14T22:13:20Z\""));
    // Stage timings and memory differ from run to run; everything else is identical.
    let strip = |dir: &str| {
        let mut v = manifest(&w, dir);
        let varying = v["not_reproducible"].as_object_mut().unwrap();
        varying.remove("stage_seconds");
        let memory = varying.remove("peak_memory_mib_after_stage").unwrap();
        assert!(memory["render"].as_u64().unwrap() > 0, "{memory}");
        v
    };
    assert_eq!(strip("a"), strip("b"));
}

#[test]
fn a_broken_pipeline_file_names_the_line_and_lists_valid_keys() {
    let w = Work::new();
    let text = w.read("pipelines/example.toml").edit(
        "period = \"financial_year\"",
        "period = \"financial_year\"\ncolour = \"blue\"",
    );
    w.write("pipelines/broken.toml", &text);
    let o = w.jsna(&["run", "pipelines/broken.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("pipelines/broken.toml:7:1"), "{err}");
    assert!(err.contains("unknown field `colour`"), "{err}");
    assert!(
        err.contains("expected one of") && err.contains("`indicators`"),
        "{err}"
    );
    assert!(err.contains("^^^"), "{err}");

    let syntax = w
        .read("pipelines/example.toml")
        .edit("name = \"example\"", "name = \"example");
    w.write("pipelines/syntax.toml", &syntax);
    let o = w.jsna(&["validate", "pipelines/syntax.toml"]);
    exits(&o, 2, &["pipelines/syntax.toml:4:"]);
}

#[test]
fn every_semantic_problem_is_reported_at_once_with_its_line() {
    let w = Work::new();
    let text = w
        .read("pipelines/example.toml")
        .edit("filter = \"uasc = 'Y'\"", "filter = \"uasc_flag = 'Y'\"")
        .edit(
            "method = \"proportion\"\ndenominator = \"interpreter_needed = 'Y'\"",
            "method = \"wilsn\"\ndenominator = \"interpreter_needed = 'Y'\"",
        )
        .edit("groups = [\"uasc\"]", "groups = [\"usac\"]");
    w.write("pipelines/bad.toml", &text);
    let o = w.jsna(&["validate", "pipelines/bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(
        err.contains("unknown variant `wilsn`, expected one of `proportion`, `rate`, `median`"),
        "{err}"
    );

    let text = w
        .read("pipelines/example.toml")
        .edit("filter = \"uasc = 'Y'\"", "filter = \"uasc_flag = 'Y'\"")
        .edit("groups = [\"uasc\"]", "groups = [\"usac\"]");
    w.write("pipelines/bad.toml", &text);
    let err = stderr(&w.jsna(&["validate", "pipelines/bad.toml"]));
    let line = 1 + text
        .lines()
        .position(|l| l == "filter = \"uasc_flag = 'Y'\"")
        .unwrap();
    assert!(
        err.contains(&format!(
            "pipelines/bad.toml:{line}:10: filter 'uasc_flag = 'Y''"
        )),
        "{err}"
    );
    assert!(
        err.contains("unknown group 'usac'; expected one of: uasc, women"),
        "{err}"
    );
}

#[test]
fn a_missing_input_file_exits_2_naming_it_and_leaves_the_old_report_alone() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let before = tree(&w.path("reports/example"));
    fs::remove_file(w.path("sample_data/population.csv")).unwrap();
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(&o, 2, &["sample_data/population.csv"]);
    assert_eq!(
        before,
        tree(&w.path("reports/example")),
        "a failed run changed the published report"
    );
    let mut leftovers: Vec<_> = fs::read_dir(w.path("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    leftovers.sort();
    assert_eq!(
        leftovers,
        ["example", "example-quality"],
        "staging folders left behind"
    );
}

#[test]
fn validate_passes_the_example_and_fails_a_source_with_too_many_bad_rows() {
    let w = Work::new();
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    ok(&o);
    assert!(stderr(&o).contains("quarantined"), "{}", stderr(&o));
    // Break the referral date of one row in ten.
    let text = w.read("sample_data/records.csv");
    let broken: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| {
            if i > 0 && i % 10 == 0 {
                l.replacen(",20", ",31/02/20", 1)
            } else {
                l.to_string()
            }
        })
        .collect();
    w.write("sample_data/records.csv", &(broken.join("\n") + "\n"));
    checks_fail(
        &w,
        &[
            "more than the 5% allowed",
            "column \"referral_date\": \"31/02/20",
        ],
    );
}

/// `jsna validate` exits 1 saying each of `says` on stderr, and `jsna run` exits 1 too.
fn checks_fail(w: &Work, says: &[&str]) {
    exits(&w.jsna(&["validate", "pipelines/example.toml"]), 1, says);
    assert_eq!(
        w.jsna(&["run", "pipelines/example.toml"]).status.code(),
        Some(1)
    );
}

#[test]
fn list_shows_sources_groups_and_indicators() {
    let w = Work::new();
    let o = w.jsna(&["list", "pipelines/example.toml"]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout);
    for s in [
        "records",
        "asylum_support",
        "women",
        "trafficking",
        "(reference)",
        "assessed_within_28_days",
        "groups: uasc",
    ] {
        assert!(out.contains(s), "missing {s} in\n{out}");
    }
}

#[test]
fn sample_data_is_deterministic_and_matches_the_committed_files() {
    let w = Work::new();
    ok(&w.jsna(&["sample-data", "--out", "gen1"]));
    ok(&w.jsna_env(
        &["sample-data", "--out", "gen2"],
        &[("RAYON_NUM_THREADS", "1")],
    ));
    let (a, b) = (tree(&w.path("gen1")), tree(&w.path("gen2")));
    assert_eq!(a, b);
    let committed = tree(&root().join("sample_data"));
    for (name, bytes) in &a {
        assert!(
            committed.get(name) == Some(bytes),
            "sample_data/{name} differs from `jsna sample-data` output; regenerate it"
        );
    }
    let o = w.jsna(&["sample-data", "--out", "x", "--areas", "0"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--areas must be between 1 and 318"));
}

#[test]
fn text_from_input_data_is_escaped_in_the_report() {
    let w = Work::new();
    let lookup = w
        .read("sample_data/area_lookup.csv")
        .edit("Birmingham", "<script>alert(1)</script>Birmingham");
    w.write("sample_data/area_lookup.csv", &lookup);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let html = w.read("reports/example/index.html");
    assert!(!html.contains("<script>"), "raw script tag in the report");
    // Every page and chart file. On an area page the name is also drawn inside the inline SVG
    // charts (trend legend, chart titles), escaped by the SVG writer.
    for (name, bytes) in tree(&w.path("reports/example")) {
        if name.ends_with(".html") || name.ends_with(".svg") {
            let text = String::from_utf8_lossy(&bytes);
            assert!(!text.contains("<script>"), "raw script tag in {name}");
        }
    }
    let page = w.read("reports/example/areas/E08000025.html");
    assert!(
        page.contains("&lt;script&gt;alert(1)&lt;/script&gt;Birmingham"),
        "escaped in its charts"
    );
    assert!(html.contains("&lt;script&gt;alert(1)&lt;&#x2f;script&gt;Birmingham"));
}

fn value(
    rows: &[BTreeMap<String, String>],
    ind: &str,
    group_prefix: &str,
    area_type: &str,
    period: &str,
    col: &str,
) -> f64 {
    let r = rows
        .iter()
        .find(|r| {
            r["IndicatorID"] == ind
                && r["Category"].starts_with(group_prefix)
                && r["AreaType"] == area_type
                && r["Timeperiod"] == period
        })
        .unwrap_or_else(|| panic!("no row {ind} {group_prefix} {area_type} {period}"));
    r[col]
        .parse()
        .unwrap_or_else(|_| panic!("{col} of {ind} {group_prefix} is {:?}", r[col]))
}

#[test]
fn the_inequalities_built_into_the_sample_are_found_and_a_group_without_one_is_similar() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = whole(&csv_rows(&w.read("reports/example/indicators.csv")));
    let latest = "2023/24";
    let reference = |ind: &str| value(&rows, ind, "Not subject", "England", latest, "Value");
    // Significantly below the reference group: its value is above the group's upper 95% limit.
    for (ind, group) in [
        ("assessed_within_28_days", "Women"),
        ("interpreter_provided", "Potential victims"),
        ("service_after_assessment", "Older"),
    ] {
        let upper = value(&rows, ind, group, "England", latest, "UpperCI95.0limit");
        assert!(
            upper < reference(ind),
            "{group} {ind}: upper {upper} not below {}",
            reference(ind)
        );
    }
    let lower = value(
        &rows,
        "mental_health_need",
        "LGBT",
        "England",
        latest,
        "LowerCI95.0limit",
    );
    assert!(lower > reference("mental_health_need"));
    // The area-specific findings, in every period.
    for area in ["Manchester", "Nottingham", "Portsmouth"] {
        for r in rows.iter().filter(|r| {
            r["IndicatorID"] == "assessed_within_28_days"
                && r["Category"].starts_with("Women")
                && r["AreaName"] == area
        }) {
            assert_eq!(
                r["ComparedtoEnglandvalueorpercentiles"], "Worse",
                "{area} {}",
                r["Timeperiod"]
            );
        }
    }
    // Secondary suppression may hide an area in some years (Leeds shares its region with one
    // small area in the sample): every year that is published must show the gap.
    for area in ["Leeds", "Newham"] {
        let published: Vec<&BTreeMap<String, String>> = rows
            .iter()
            .filter(|r| {
                r["IndicatorID"] == "pathway_plan" && r["AreaName"] == area && r["Value"] != "[c]"
            })
            .collect();
        assert!(!published.is_empty(), "{area}: every year suppressed");
        for r in published {
            assert_eq!(
                r["ComparedtoEnglandvalueorpercentiles"], "Worse",
                "{area} {}",
                r["Timeperiod"]
            );
        }
    }
    // UASC have no built-in access gap: the reference value lies inside their interval.
    for ind in [
        "assessed_within_28_days",
        "interpreter_provided",
        "service_after_assessment",
    ] {
        let lo = value(&rows, ind, "UASC", "England", latest, "LowerCI95.0limit");
        let hi = value(&rows, ind, "UASC", "England", latest, "UpperCI95.0limit");
        assert!(
            lo <= reference(ind) && reference(ind) <= hi,
            "UASC {ind}: {lo}..{hi} vs {}",
            reference(ind)
        );
    }
    // Median days to assessment: women wait longer in the three slow areas.
    for area in ["Manchester", "Nottingham", "Portsmouth"] {
        let r = rows
            .iter()
            .find(|r| {
                r["IndicatorID"] == "median_days_to_assessment"
                    && r["Category"].starts_with("Women")
                    && r["AreaName"] == area
                    && r["Timeperiod"] == latest
            })
            .unwrap();
        assert_eq!(
            r["ComparedtoEnglandvalueorpercentiles"], "Worse",
            "{area}: {r:?}"
        );
        assert!(
            r["Value"].parse::<f64>().unwrap() >= 28.0,
            "{area} median {}",
            r["Value"]
        );
        assert_eq!(r["Denominator"], "[z]");
    }
    for r in rows
        .iter()
        .filter(|r| r["IndicatorID"] == "median_days_to_assessment")
    {
        if let Ok(n) = r["Count"].parse::<f64>() {
            assert!(n == 0.0 || n > 7.0, "a median of {n} values is published");
        } else {
            assert_eq!(r["Value"], "[c]");
        }
    }
    // gaps.csv: the built-in gaps are beyond 99.8%; a group without one is Similar.
    let gaps = csv_rows(&w.read("reports/example/gaps.csv"));
    let gap = |ind: &str, group: &str| {
        gaps.iter()
            .find(|g| {
                g["IndicatorID"] == ind
                    && g["Group"].starts_with(group)
                    && g["ReferenceGroup"].starts_with("Not subject")
                    && g["AreaType"] == "England"
                    && g["Timeperiod"] == latest
            })
            .unwrap_or_else(|| panic!("no gap {ind} {group}"))
            .clone()
    };
    for (ind, group) in [
        ("assessed_within_28_days", "Women"),
        ("interpreter_provided", "Potential victims"),
        ("service_after_assessment", "Older"),
    ] {
        let g = gap(ind, group);
        assert_eq!(
            (
                g["Significance"].as_str(),
                g["ComparedtoReference"].as_str()
            ),
            ("Lower (99.8%)", "Worst"),
            "{ind} {group}"
        );
    }
    assert_eq!(
        gap("mental_health_need", "LGBT")["Significance"],
        "Higher (99.8%)"
    );
    for ind in [
        "assessed_within_28_days",
        "interpreter_provided",
        "service_after_assessment",
    ] {
        assert_eq!(
            gap(ind, "UASC")["ComparedtoReference"],
            "Similar",
            "UASC {ind}"
        );
    }
    for g in &gaps {
        if g["GroupValue"] == "[c]" || g["ReferenceValue"] == "[c]" {
            assert_eq!(
                g["Difference"], "[c]",
                "a gap on a suppressed figure is suppressed"
            );
        }
    }
    let html = w.read("reports/example/index.html");
    assert!(html.contains(
        "Women and girls seeking asylum or with refugee status, 2023&#x2f;24: referrals assessed within 28 days"
    ));
    assert!(html.contains("against 80.3% for not subject to immigration control (9.6 percentage points lower): worse, significant at 99.8% confidence"));
    // A chapter: a section per declared group that is not a reference, and monitoring apart.
    for id in ["uasc", "women", "lgbt", "older", "trafficking"] {
        assert!(html.contains(&format!("<h2 id=\"group-{id}\">")), "{id}");
    }
    assert!(!html.contains("id=\"group-not_subject\""));
    assert!(html.contains("<h2 id=\"domain-monitoring_completeness\">"));
    // findings.csv holds every statement, strongest first in each area; the summary shows the top.
    let findings = csv_rows(&w.read("reports/example/findings.csv"));
    let total: Vec<_> = findings
        .iter()
        .filter(|r| r["AreaCode"] == "E92000001")
        .collect();
    assert_eq!(total[0]["Rank"], "1");
    assert_eq!(total[0]["Strength"], "Significant at 99.8%");
    let strength = |r: &BTreeMap<String, String>| match r["Strength"].as_str() {
        "Significant at 99.8%" => 0,
        "Significant at 95%" => 1,
        "Not a significant difference; rank or threshold" => 2,
        _ => 3,
    };
    assert!(total.windows(2).all(|p| strength(p[0]) <= strength(p[1])));
    let first = total[0]["Finding"].replace('/', "&#x2f;");
    assert!(html.contains(&format!("<li>{first}</li>")), "{first}");
    // The area with the highest asylum support rate is stated as highest, with the ratio.
    let hull = w.read("reports/example/areas/E06000010.html");
    assert!(hull.contains("the highest of 12 areas; 1.4 times All sample areas"));
}

#[test]
fn an_indicator_added_by_toml_alone_is_computed_and_reported() {
    let w = Work::new();
    // The worked example of pipelines/README.md, verbatim.
    let readme = fs::read_to_string(root().join("pipelines/README.md")).unwrap();
    let start = readme
        .find("```toml\n[[indicators]]\nid = \"advocacy_offered\"")
        .expect("worked example in pipelines/README.md");
    let block = &readme[start + 8..];
    let block = &block[..block.find("```").unwrap()];
    let text = w
        .read("pipelines/example.toml")
        .edit("[disclosure]", &format!("{block}\n[disclosure]"));
    w.write("pipelines/extended.toml", &text);
    ok(&w.jsna(&["run", "pipelines/extended.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let added: Vec<_> = rows
        .iter()
        .filter(|r| r["IndicatorID"] == "advocacy_offered")
        .collect();
    assert!(added.len() > 100);
    assert!(added
        .iter()
        .any(|r| r["Category"] == "Potential victims of trafficking"
            && r["Value"].parse::<f64>().is_ok()));
    assert!(w
        .path("reports/example/charts/advocacy_offered.png")
        .is_file());
    assert!(w
        .read("reports/example/index.html")
        .contains("id=\"advocacy_offered\""));
}

// ---- jsna calc -------------------------------------------------------------------------------

fn calc_rows(w: &Work, args: &[&str]) -> Vec<BTreeMap<String, String>> {
    ok(&w.jsna(args));
    let out = args
        .iter()
        .position(|a| *a == "--output")
        .map(|i| args[i + 1])
        .unwrap();
    csv_rows(&w.read(out))
}

fn near(got: &str, want: f64) {
    let g: f64 = got
        .parse()
        .unwrap_or_else(|_| panic!("{got:?} is not a number"));
    assert!(
        (g - want).abs() <= 1e-6 * want.abs().max(1e-9),
        "got {g}, want {want}"
    );
}

const ESP_BANDS: [&str; 19] = [
    "0-4", "5-9", "10-14", "15-19", "20-24", "25-29", "30-34", "35-39", "40-44", "45-49", "50-54",
    "55-59", "60-64", "65-69", "70-74", "75-79", "80-84", "85-89", "90+",
];
const POPS: [u32; 19] = [
    5000, 5200, 5400, 5600, 6000, 6200, 6400, 6600, 6800, 7000, 7000, 6800, 6400, 6000, 5400, 4600,
    3400, 2000, 1200,
];
const COUNTS: [u32; 19] = [
    1, 0, 0, 1, 2, 2, 3, 3, 4, 5, 6, 8, 10, 12, 15, 18, 20, 22, 25,
];

#[test]
fn calc_reproduces_the_reference_values_for_every_method() {
    let w = Work::new();
    w.write(
        "p.csv",
        "area,numerator,denominator\nA,5,100\nB,0,100\nC,100,100\nD,1045,5000\n",
    );
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "proportion",
            "--input",
            "p.csv",
            "--output",
            "p.out.csv",
        ],
    );
    near(&rows[0]["lower95_0cl"], 0.02154367915);
    near(&rows[0]["upper99_8cl"], 0.1645885228);
    assert_eq!(rows[1]["lower95_0cl"], "0.0");
    near(&rows[2]["upper95_0cl"], 1.0);
    near(&rows[3]["lower99_8cl"], 0.191793818);
    assert_eq!(rows[3]["statistic"], "proportion of 1");
    assert_eq!(rows[3]["row"], "5", "row numbers count the header as row 1");

    w.write(
        "r.csv",
        "g,numerator,denominator\na,0,100000\nb,1,50000\nb,2,50000\nc,9,100000\nd,1045,100000\n",
    );
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "rate",
            "--input",
            "r.csv",
            "--output",
            "r.out.csv",
            "--group-by",
            "g",
        ],
    );
    assert_eq!(
        rows.iter().map(|r| r["g"].as_str()).collect::<Vec<_>>(),
        ["a", "b", "c", "d"]
    );
    near(&rows[0]["upper95_0cl"], 3.688879454);
    near(&rows[1]["lower95_0cl"], 0.6186721229);
    near(&rows[2]["upper99_8cl"], 22.65737331);
    near(&rows[3]["lower95_0cl"], 982.5932018);
    assert_eq!(
        (rows[2]["method"].as_str(), rows[3]["method"].as_str()),
        ("Exact", "Byars")
    );

    let mut dsr = String::from("area,age_band,numerator,denominator,freq\n");
    for i in 0..19 {
        dsr.push_str(&format!("A,{},{},{},1\n", ESP_BANDS[i], COUNTS[i], POPS[i]));
        // Area B: the same events, but in bands 60+ some people had two events each.
        let two = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2][i];
        dsr.push_str(&format!(
            "B,{},{},{},1\n",
            ESP_BANDS[i],
            COUNTS[i] - 2 * two,
            POPS[i]
        ));
        if two > 0 {
            dsr.push_str(&format!("B,{},{},{},2\n", ESP_BANDS[i], two, POPS[i]));
        }
        let small = [0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2, 3, 4][i];
        dsr.push_str(&format!("C,{},{},{},1\n", ESP_BANDS[i], small, POPS[i]));
    }
    w.write("d.csv", &dsr);
    // Without --frequency, B's second rows for a band are repeats (refused: NA with
    // --on-error na); with it they are its frequency distribution (below).
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "dsr",
            "--input",
            "d.csv",
            "--output",
            "d.out.csv",
            "--group-by",
            "area",
            "--on-error",
            "na",
        ],
    );
    near(&rows[0]["value"], 136.8663043);
    near(&rows[0]["lower95_0cl"], 116.1702038);
    near(&rows[0]["upper99_8cl"], 174.3341916);
    assert_eq!(
        rows[1]["value"], "",
        "a band given twice without --frequency"
    );
    assert_eq!(rows[2]["value"], "", "a DSR of 9 events is not published");
    let o = w.jsna(&[
        "calc",
        "dsr",
        "--input",
        "d.csv",
        "--output",
        "d.out.csv",
        "--group-by",
        "area",
        "--on-error",
        "na",
    ]);
    assert!(
        stderr(&o).contains("note: 1 group(s) have fewer than 10 events"),
        "{}",
        stderr(&o)
    );
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "dsr",
            "--input",
            "d.csv",
            "--output",
            "d2.out.csv",
            "--group-by",
            "area",
            "--frequency",
            "freq",
        ],
    );
    near(&rows[1]["value"], 136.8663043);
    near(&rows[1]["lower95_0cl"], 115.0150084);
    near(&rows[1]["upper95_0cl"], 161.4686261);

    w.write("i.csv", "g,numerator,denominator,ref_numerator,ref_denominator\na,5,2000,100,100000\na,12,1500,300,60000\na,30,1000,900,30000\nb,1,2000,100,100000\nb,2,1500,300,60000\nb,1,1000,900,30000\n");
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "isr",
            "--input",
            "i.csv",
            "--output",
            "i.out.csv",
            "--group-by",
            "g",
        ],
    );
    near(&rows[0]["value"], 118.9873418);
    near(&rows[0]["lower99_8cl"], 72.40041837);
    near(&rows[1]["upper95_0cl"], 25.9280726);
    near(&rows[0]["denominator"], 39.5);
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "israte",
            "--input",
            "i.csv",
            "--output",
            "ir.out.csv",
            "--group-by",
            "g",
        ],
    );
    // The reference rate is 1300 / 190000 per person; the ratio scales it.
    near(
        &rows[0]["value"],
        47.0 / 39.5 * 1300.0 / 190000.0 * 100000.0,
    );

    w.write("m.csv", "g,value\na,30\na,40\na,50\na,60\n");
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "mean",
            "--input",
            "m.csv",
            "--output",
            "m.out.csv",
            "--group-by",
            "g",
        ],
    );
    near(&rows[0]["lower95_0cl"], 24.45739743);
    near(&rows[0]["lower99_8cl"], -20.93451959);
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "median",
            "--input",
            "m.csv",
            "--output",
            "md.out.csv",
        ],
    );
    near(&rows[0]["value"], 45.0);
    assert_eq!(
        rows[0]["lower95_0cl"], "",
        "four values are too few for a 95% median interval"
    );
}

#[test]
fn calc_reports_bad_rows_by_number_or_writes_na_when_asked() {
    let w = Work::new();
    w.write(
        "bad.csv",
        "area,numerator,denominator\nA,5,100\nB,7,x\nC,12,10\nD,-1,10\nE,3,0\n",
    );
    let o = w.jsna(&[
        "calc",
        "proportion",
        "--input",
        "bad.csv",
        "--output",
        "out.csv",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    for want in [
        "bad.csv:3: column \"denominator\": \"x\" is missing or not a number",
        "bad.csv:4: column \"numerator\": \"12\" is greater than the denominator",
        "bad.csv:5: column \"numerator\": \"-1\" must not be negative",
        "bad.csv:6: column \"denominator\": \"0\" must be greater than zero",
    ] {
        assert!(err.contains(want), "missing {want:?} in\n{err}");
    }
    assert!(
        !w.path("out.csv").exists(),
        "nothing is written when rows are bad"
    );
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "proportion",
            "--input",
            "bad.csv",
            "--output",
            "out.csv",
            "--on-error",
            "na",
        ],
    );
    assert_eq!(rows.len(), 5);
    near(&rows[0]["value"], 0.05);
    assert!(rows[1..]
        .iter()
        .all(|r| r["value"].is_empty() && r["numerator"].is_empty()));
}

#[test]
fn calc_writes_parquet_and_names_columns_by_confidence_level() {
    use polars::prelude::*;
    let w = Work::new();
    w.write(
        "g.csv",
        "g,numerator,denominator\na,5,100\na,x,100\nb,5,100\n",
    );
    ok(&w.jsna(&[
        "calc",
        "rate",
        "--input",
        "g.csv",
        "--output",
        "g.out.parquet",
        "--group-by",
        "g",
        "--on-error",
        "na",
        "--confidence",
        "0.9,0.99",
        "--multiplier",
        "1000",
    ]));
    let file = fs::File::open(w.path("g.out.parquet")).unwrap();
    let df = ParquetReader::new(file).finish().unwrap();
    let names: Vec<String> = df
        .get_column_names()
        .iter()
        .map(|s| s.to_string())
        .collect();
    assert_eq!(
        names,
        [
            "g",
            "numerator",
            "denominator",
            "value",
            "lower90_0cl",
            "upper90_0cl",
            "lower99_0cl",
            "upper99_0cl",
            "statistic",
            "method"
        ]
    );
    // A group holding a bad row is NA as a whole; other groups are unaffected.
    let values: Vec<Option<f64>> = df.column("value").unwrap().f64().unwrap().iter().collect();
    assert_eq!(values, [None, Some(50.0)]);
    assert_eq!(
        df.column("statistic").unwrap().str().unwrap().get(1),
        Some("rate per 1000")
    );
}

#[test]
fn calc_dsr_joins_the_standard_by_band_label_and_rejects_unknown_bands() {
    let w = Work::new();
    // Rows in reverse order: the standard is matched by label, never by position.
    let mut dsr = String::from("age_band,numerator,denominator\n");
    for i in (0..19).rev() {
        dsr.push_str(&format!("{},{},{}\n", ESP_BANDS[i], COUNTS[i], POPS[i]));
    }
    w.write("d.csv", &dsr);
    let rows = calc_rows(
        &w,
        &["calc", "dsr", "--input", "d.csv", "--output", "d.out.csv"],
    );
    near(&rows[0]["value"], 136.8663043);
    // A user standard: equal weights for three bands.
    w.write("s.csv", "band,population\nyoung,1\nmid,1\nold,1\n");
    w.write(
        "d3.csv",
        "age_band,numerator,denominator\nyoung,10,1000\nmid,20,1000\nold,30,1000\n",
    );
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "dsr",
            "--input",
            "d3.csv",
            "--output",
            "d3.out.csv",
            "--standard",
            "s.csv",
            "--multiplier",
            "1000",
        ],
    );
    near(&rows[0]["value"], 20.0);
    w.write(
        "d4.csv",
        "age_band,numerator,denominator\nyoung,10,1000\nancient,20,1000\n",
    );
    let o = w.jsna(&[
        "calc",
        "dsr",
        "--input",
        "d4.csv",
        "--output",
        "d4.out.csv",
        "--standard",
        "s.csv",
    ]);
    exits(&o, 1, &["d4.csv:3: column \"age_band\": \"ancient\" is not a band of the standard population; expected one of: young, mid, old"]);
}

#[test]
fn calc_usage_errors_exit_2_with_a_clear_message() {
    let w = Work::new();
    w.write("p.csv", "numerator,denominator\n1,2\n");
    let o = w.jsna(&[
        "calc",
        "proportion",
        "--input",
        "p.csv",
        "--output",
        "p.xlsx",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("must end in .csv or .parquet"));
    let o = w.jsna(&[
        "calc",
        "proportion",
        "--input",
        "p.csv",
        "--output",
        "p.out.csv",
        "--numerator",
        "events",
    ]);
    exits(&o, 2, &["missing column(s) \"events\""]);
    let o = w.jsna(&[
        "calc",
        "proportion",
        "--input",
        "p.csv",
        "--output",
        "p.out.csv",
        "--confidence",
        "0.5",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let o = w.jsna(&["calc", "wilsn", "--input", "p.csv", "--output", "p.out.csv"]);
    exits(
        &o,
        2,
        &["possible values: proportion, rate, dsr, isr, israte, mean, median"],
    );
    let o = w.jsna(&[
        "calc",
        "rate",
        "--input",
        "nope.csv",
        "--output",
        "p.out.csv",
    ]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("nope.csv"));
}

#[test]
fn published_rows_outside_the_pipelines_areas_are_counted_not_dropped() {
    let w = Work::new();
    let mut support = w.read("sample_data/asylum_support_by_la.csv");
    support.push_str("2024-03-31,2024,1,Section 95,N/A - Subsistence Only (Dec 2023 - Sep 2024),N/A - Subsistence Only (Dec 2023 - Sep 2024),N/A - Subsistence Only (Dec 2023 - Sep 2024),Subsistence Only,2843\n");
    support.push_str("2024-03-31,2024,1,Section 95,Scotland,Glasgow City,S12000049,Dispersal Accommodation,4000\n");
    w.write("sample_data/asylum_support_by_la.csv", &support);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let m = quality_manifest(&w, "reports/example");
    let s = input(m, "asylum_support");
    assert_eq!(s["rows_read"], 722);
    assert_eq!(s["rows_accepted"], 722);
    assert_eq!(s["rows_outside_areas"], 2);
    assert!(s["outside_areas"]
        .as_str()
        .unwrap()
        .contains("S12000049 (1)"));
    let summary = w.read("reports/example/quality/summary.csv");
    assert!(summary.contains("rows_outside_areas"), "{summary}");
    assert!(w
        .read("reports/example/index.html")
        .contains("2 accepted rows name no area of this pipeline"));
    // The total is the source's: the areas plus the national placeholder row, which has no
    // local authority; Glasgow is another nation's area and is in neither. Figures of published
    // tables are shown as published, so the sums are exact.
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let total = rows
        .iter()
        .find(|r| {
            r["IndicatorID"] == "asylum_support_rate"
                && r["AreaType"] == "England"
                && r["Timeperiod"] == "2023/24"
        })
        .unwrap();
    let areas: f64 = rows
        .iter()
        .filter(|r| {
            r["IndicatorID"] == "asylum_support_rate"
                && r["AreaType"] == "Local authority"
                && r["Timeperiod"] == "2023/24"
        })
        .map(|r| r["Count"].parse::<f64>().unwrap())
        .sum();
    let t: f64 = total["Count"].parse().unwrap();
    assert_eq!(t, areas + 2843.0, "total {t} vs sum of areas {areas}");
    let g = |v: f64| {
        let s = format!("{v:.0}");
        let mut out = String::new();
        for (i, c) in s.chars().enumerate() {
            if i > 0 && (s.len() - i) % 3 == 0 {
                out.push(',');
            }
            out.push(c);
        }
        out
    };
    let note = format!(
        "Includes 2,843 people on asylum support at the end of the period that the source gives no local authority ('Unknown', 'N/A' or a national placeholder row; some may be outside All sample areas); the local authorities sum to {} of the {}",
        g(areas),
        g(t)
    );
    assert!(total["Valuenote"].contains(&note), "{}", total["Valuenote"]);
    // Regions are sums of their areas only.
    let regions: f64 = rows
        .iter()
        .filter(|r| {
            r["IndicatorID"] == "asylum_support_rate"
                && r["AreaType"] == "Region"
                && r["Timeperiod"] == "2023/24"
        })
        .map(|r| r["Count"].parse::<f64>().unwrap())
        .sum();
    assert_eq!(regions, areas);
    // The data-quality section and the caveats say so.
    let html = w
        .read("reports/example/index.html")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/");
    assert!(
        html.contains("1 row on 1 date gives no local authority ('Unknown', 'N/A' or a national placeholder row)"),
        "data-quality note"
    );
    assert!(html.contains(&format!(
        "Of the people on asylum support at the end of the period counted in All sample areas, 2,843 of {}",
        g(t)
    )));
}

#[test]
fn ragged_and_broken_records_are_quarantined_with_their_line_and_the_rest_is_kept() {
    let w = Work::new();
    let text = w.read("sample_data/records.csv");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    lines[10].push_str(",extra,fields");
    lines[20] = "P0001,E08000025,2023-01-01".to_string();
    w.write("sample_data/records.csv", &(lines.join("\n") + "\n"));
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains("records.csv:11: the record has 32 fields; the header has 30"),
        "{err}"
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let m = quality_manifest(&w, "reports/example");
    let r = input(m, "records");
    assert_eq!(r["rows_read"], 40000, "every record is counted");
    assert_eq!(
        r["rows_read"].as_u64().unwrap(),
        r["rows_accepted"].as_u64().unwrap() + r["rows_rejected"].as_u64().unwrap()
    );
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(
        q.contains(
            "records,../sample_data/records.csv,11,(whole row),,has 32 fields; the header has 30"
        ),
        "{q}"
    );
    assert!(
        q.contains("records,../sample_data/records.csv,21,"),
        "the short row is quarantined too"
    );
}

#[test]
fn a_table_saved_from_excel_with_titles_notes_and_windows_1252_is_read_as_published() {
    let w = Work::new();
    let support = w.read("sample_data/asylum_support_by_la.csv");
    let mut lines: Vec<String> = support.lines().map(String::from).collect();
    let data_rows = lines.len() - 1;
    // A bad count on data row 5 (line 6 of the original, line 9 once 3 title lines sit above it).
    let mut fields: Vec<String> = lines[5].split(',').map(String::from).collect();
    *fields.last_mut().unwrap() = "12x".into();
    lines[5] = fields.join(",");
    // An area name with a character Excel writes as one Windows-1252 byte (0xE9 for 'é').
    lines[1] = lines[1].edit("Birmingham", "Birmingham (Région)");
    let mut text = String::from("Asylum seekers in receipt of support by local authority,,,,\n");
    text.push_str("Source: Home Office,,,,\n\n");
    text.push_str(&lines.join("\r\n"));
    text.push_str("\r\n,,,,,,,,\r\nEnd of table,,,,,,,,\r\n");
    let bytes: Vec<u8> = text
        .chars()
        .map(|c| if c == 'é' { 0xE9 } else { c as u8 })
        .collect();
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the file is not UTF-8"
    );
    fs::write(w.path("sample_data/asylum_support_by_la.csv"), bytes).unwrap();

    let o = w.jsna(&["run", "pipelines/example.toml"]);
    ok(&o);
    let s = input(quality_manifest(&w, "reports/example"), "asylum_support");
    assert_eq!(
        s["rows_read"], data_rows as u64,
        "titles and notes are not rows"
    );
    assert_eq!(s["rows_rejected"], 1);
    let notes = s["notes"].to_string();
    assert!(notes.contains("read as Windows-1252"), "{notes}");
    assert!(notes.contains("the header is on line 4"), "{notes}");
    assert!(notes.contains("2 trailing note row(s)"), "{notes}");
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(
        q.contains("asylum_support,../sample_data/asylum_support_by_la.csv,9,People,12x,"),
        "the row number is the line in the file as published: {q}"
    );
}

#[test]
fn declared_data_tests_quarantine_warn_and_fail_as_their_severity_says() {
    let w = Work::new();
    let text = w.read("sample_data/records.csv");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    // Line 5 of the file: age 115 (valid for the record checks, which allow 0 to 120).
    let mut f: Vec<String> = lines[4].split(',').map(String::from).collect();
    f[5] = "115".into();
    lines[4] = f.join(",");
    w.write("sample_data/records.csv", &(lines.join("\n") + "\n"));
    // Independently: how many lines repeat an earlier person_id.
    let mut seen = std::collections::HashSet::new();
    let repeats = lines[1..]
        .iter()
        .filter(|l| !seen.insert(l.split(',').next().unwrap().to_string()))
        .count();
    let pipeline = w.read("pipelines/example.toml").edit(
        "[sources.population]",
        r#"tests = [
  { column = "age", test = "range", min = 0, max = 110, tolerance = 0.01 },
  { column = "person_id", test = "unique", severity = "warn" },
  { column = "area_code", test = "relationships", to = "areas" },
]

[sources.population]"#,
    );
    w.write("pipelines/example.toml", &pipeline);
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    ok(&o);
    let out = String::from_utf8_lossy(&o.stdout).to_string() + &stderr(&o);
    assert!(
        out.contains("data test range 0 to 110 on 'age' (error): warn, 1 of"),
        "{out}"
    );
    assert!(
        out.contains(&format!(
            "data test unique on 'person_id' (warn): {}, {repeats} of",
            if repeats == 0 { "pass" } else { "warn" }
        )),
        "{out}"
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(
        q.contains("records,../sample_data/records.csv,5,age,115,failed data test range 0 to 110"),
        "{q}"
    );
    let summary = w.read("reports/example/quality/summary.csv");
    assert!(
        summary.contains(r#"data_test_warn,age,"range 0 to 110 (error, tolerance 1%)"#),
        "{summary}"
    );
    assert!(
        summary.contains(r#"data_test_pass,area_code,"relationships to areas"#),
        "{summary}"
    );
    let r = input(quality_manifest(&w, "reports/example"), "records");
    assert_eq!(r["rows_read"], 40000);
    assert_eq!(
        r["rows_read"].as_u64().unwrap(),
        r["rows_accepted"].as_u64().unwrap() + r["rows_rejected"].as_u64().unwrap()
    );
    assert_eq!(r["data_tests"][0]["failures"], 1);

    // Without a tolerance the same failure fails validation and the run (exit 1).
    let strict = pipeline.edit(", tolerance = 0.01", "");
    w.write("pipelines/example.toml", &strict);
    checks_fail(
        &w,
        &["data test range 0 to 110 on column 'age' failed on 1 of"],
    );

    // A test on a column that does not exist is a pipeline error with its line.
    w.write(
        "pipelines/example.toml",
        &pipeline.edit(r#"{ column = "age","#, r#"{ column = "agee","#),
    );
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("no column 'agee' to test"), "{err}");
    assert!(err.contains("example.toml:"), "{err}");
}

#[test]
fn a_published_workbook_is_read_from_its_data_sheet_with_titles_above_the_header() {
    use rust_xlsxwriter::{ExcelDateTime, Format, Workbook};
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "from_csv"]));
    let support = w.read("sample_data/asylum_support_by_la.csv");
    let mut book = Workbook::new();
    book.add_worksheet()
        .set_name("Cover")
        .unwrap()
        .write_string(0, 0, "Asylum seekers in receipt of support")
        .unwrap();
    let sheet = book.add_worksheet().set_name("Data_Asy_D11").unwrap();
    sheet
        .write_string(0, 0, "Table Asy_D11: by local authority")
        .unwrap();
    sheet.write_string(1, 0, "Source: Home Office").unwrap();
    let date = Format::new().set_num_format("yyyy-mm-dd");
    let mut bad_row = 0;
    let records: Vec<csv::StringRecord> = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(support.as_bytes())
        .records()
        .map(|r| r.unwrap())
        .collect();
    for (i, record) in records.iter().enumerate() {
        let row = 3 + i as u32; // the header on sheet row 4
        for (c, field) in record.iter().enumerate() {
            let c = c as u16;
            match (i, c) {
                (0, _) => sheet.write_string(row, c, field),
                (_, 0) => sheet.write_datetime_with_format(
                    row,
                    c,
                    ExcelDateTime::parse_from_str(field).unwrap(),
                    &date,
                ),
                (10, 8) => {
                    bad_row = row + 1;
                    sheet.write_string(row, c, "12x")
                }
                (_, 1 | 2 | 8) => sheet.write_number(row, c, field.parse::<f64>().unwrap()),
                _ => sheet.write_string(row, c, field),
            }
            .unwrap();
        }
    }
    book.add_worksheet()
        .set_name("Notes")
        .unwrap()
        .write_string(0, 0, "Note 1")
        .unwrap();
    book.save(w.path("sample_data/support.xlsx")).unwrap();
    let pipeline = w.read("pipelines/example.toml").edit(
        r#"path = "../sample_data/asylum_support_by_la.csv""#,
        r#"path = "../sample_data/support.xlsx"
sheet = "data_*""#,
    );
    w.write("pipelines/example.toml", &pipeline);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let s = input(quality_manifest(&w, "reports/example"), "asylum_support");
    assert_eq!(s["rows_read"], (support.lines().count() - 1) as u64);
    assert_eq!(s["rows_rejected"], 1);
    let notes = s["notes"].to_string();
    assert!(notes.contains("read from sheet 'Data_Asy_D11'"), "{notes}");
    assert!(notes.contains("the header is on line 4"), "{notes}");
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(
        q.contains(&format!(
            "asylum_support,../sample_data/support.xlsx,{bad_row},People,12x,"
        )),
        "the row is the sheet's row: {q}"
    );
    // Apart from that one row, the figures are those from the CSV.
    let rate = |dir: &str| -> Vec<(String, String, String)> {
        csv_rows(&w.read(&format!("{dir}/indicators.csv")))
            .into_iter()
            .filter(|r| r["IndicatorID"] == "asylum_support_rate")
            .map(|r| {
                (
                    r["AreaCode"].clone(),
                    r["Timeperiod"].clone(),
                    r["Count"].clone(),
                )
            })
            .collect()
    };
    let (xlsx, csv) = (rate("reports/example"), rate("from_csv"));
    assert_eq!(xlsx.len(), csv.len());
    let differ = xlsx.iter().zip(&csv).filter(|(a, b)| a != b).count();
    assert!(
        differ <= 3,
        "{differ} rows differ: only the quarantined row's area, region and total may"
    );

    // Several sheets and no `sheet`: an error listing them, exit 2.
    w.write(
        "pipelines/example.toml",
        &pipeline.edit("sheet = \"data_*\"\n", ""),
    );
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    assert_eq!(o.status.code(), Some(2));
    let err = stderr(&o);
    assert!(err.contains("support.xlsx"), "{err}");
    assert!(err.contains("Cover, Data_Asy_D11, Notes"), "{err}");
}

#[test]
fn a_record_flagged_uasc_over_25_is_quarantined_by_the_cross_field_check() {
    let w = Work::new();
    let text = w.read("sample_data/records.csv");
    let mut lines: Vec<String> = text.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let (age, uasc) = (
        header.iter().position(|h| *h == "age").unwrap(),
        header.iter().position(|h| *h == "uasc").unwrap(),
    );
    let line = (1..lines.len())
        .find(|&i| lines[i].split(',').nth(uasc) == Some("Y"))
        .unwrap();
    let mut f: Vec<String> = lines[line].split(',').map(String::from).collect();
    f[age] = "40".into();
    lines[line] = f.join(",");
    w.write("sample_data/records.csv", &(lines.join("\n") + "\n"));
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    ok(&o);
    let err = stderr(&o);
    assert!(
        err.contains(&format!(
            "records.csv:{}: column \"age\": \"40\" is over 25 on a record flagged UASC",
            line + 1
        )),
        "{err}"
    );
}

// ---- real published data (../shared/real_data) ------------------------------------------------

/// The shared real-data pack beside the checkout (or `JSNA_REAL_DATA`). The tests that need it
/// are `#[ignore]`d, so a checkout without it reports them as ignored instead of passing them;
/// `.ci/run` runs them (`cargo test -- --ignored`) where the pack is present.
fn real_data() -> PathBuf {
    let p = std::env::var_os("JSNA_REAL_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|| root().join("../shared/real_data"));
    assert!(
        p.join("home_office/local_authority_support.csv").is_file(),
        "the real-data pack is not at {} (set JSNA_REAL_DATA)",
        p.display()
    );
    p.canonicalize().unwrap()
}

/// How the pages write a value: one decimal place, or two significant figures under 1.
fn for_reading(v: f64) -> String {
    if v != 0.0 && v.abs() < 1.0 {
        let mut decimals = 1;
        while v.abs() * 10f64.powi(decimals) < 10.0 {
            decimals += 1;
        }
        format!("{v:.*}", decimals as usize)
    } else {
        format!("{v:.1}")
    }
}

fn round5(x: f64) -> f64 {
    (x / 5.0).round() * 5.0
}

#[test]
#[ignore = "needs the real-data pack (../shared/real_data or JSNA_REAL_DATA); cargo test -- --ignored"]
fn the_real_asy_d11_table_loads_with_its_published_totals_intact() {
    let data = real_data();
    let w = Work::new().with_pipeline("home_office.toml");
    ok(&w.jsna_env(
        &["run", "pipelines/home_office.toml"],
        &[("JSNA_REAL_DATA", data.to_str().unwrap())],
    ));

    // Independent sums from the published file.
    let file = fs::read_to_string(data.join("home_office/local_authority_support.csv")).unwrap();
    let published = csv_rows(&file);
    let people = |f: &dyn Fn(&BTreeMap<String, String>) -> bool| -> f64 {
        published
            .iter()
            .filter(|r| f(r))
            .map(|r| r["People"].parse::<f64>().unwrap())
            .sum()
    };
    let all_q3 = people(&|r| r["Date"] == "2024-09-30");
    assert_eq!(all_q3, 109_024.0, "the data pack's documented check value");
    assert_eq!(
        people(&|r| r["Date"] == "2024-09-30" && r["LAD Code"].starts_with('E')),
        94_117.0
    );
    let ew_q3 = people(&|r| {
        r["Date"] == "2024-09-30"
            && (r["LAD Code"].starts_with("E0") || r["LAD Code"].starts_with("W0"))
    });
    let hull_named = people(&|r| {
        r["Date"] == "2022-12-31" && r["Local Authority"] == "Kingston upon Hull, City of"
    });
    let hull_coded = people(&|r| r["Date"] == "2022-12-31" && r["LAD Code"] == "E06000010");
    assert!(
        hull_coded > 4.0 * hull_named,
        "the source really carries Hull's code on other authorities"
    );

    let rows = csv_rows(&w.read("reports/home_office/indicators.csv"));
    let count = |code: &str, period: &str| -> f64 {
        rows.iter()
            .find(|r| {
                r["IndicatorID"] == "asylum_support_rate"
                    && r["AreaCode"] == code
                    && r["Timeperiod"] == period
            })
            .unwrap_or_else(|| panic!("no row {code} {period}"))["Count"]
            .parse()
            .unwrap()
    };
    // The total is the source's for England and Wales: its areas, plus the rows that give no
    // local authority at all (a code that is no GSS code: 'N/A', national placeholder rows).
    let no_la = |r: &BTreeMap<String, String>| {
        let c = r["LAD Code"].as_str();
        !(c.len() == 9 && c[1..].bytes().all(|b| b.is_ascii_digit()))
    };
    let none_q3 = people(&|r| r["Date"] == "2024-09-30" && no_la(r));
    assert_eq!(
        none_q3, 2_843.0,
        "the pack's documented national placeholder row"
    );
    assert_eq!(
        count("K04000001", "2024 Q3"),
        ew_q3 + none_q3,
        "England and Wales total for 2024 Q3"
    );
    // Before 2022 Q4, Section 98 support sat in a national row: 2022 Q3's total holds it.
    let ew = |date: &str| {
        people(&|r| {
            r["Date"] == date
                && (r["LAD Code"].starts_with("E0") || r["LAD Code"].starts_with("W0"))
        })
    };
    let none_2022q3 = people(&|r| r["Date"] == "2022-09-30" && no_la(r));
    assert_eq!(
        ew("2022-09-30"),
        56_600.0,
        "the step the issue describes starts here"
    );
    assert_eq!(
        count("K04000001", "2022 Q3"),
        ew("2022-09-30") + none_2022q3
    );
    assert_eq!(
        count("E06000010", "2022 Q4"),
        hull_named,
        "rows with a wrong code are placed by name"
    );
    assert_eq!(
        rows.iter()
            .filter(|r| r["IndicatorID"] == "asylum_support_rate"
                && r["AreaType"] == "Local authority"
                && r["Timeperiod"] == "2024 Q3")
            .count(),
        318
    );

    // A condition on the table's own columns: Section 95 only.
    let s95 = people(&|r| {
        r["Date"] == "2024-09-30"
            && r["Support Type"] == "Section 95"
            && (r["LAD Code"].starts_with("E0") || r["LAD Code"].starts_with("W0"))
    });
    let row = |id: &str, code: &str, period: &str| -> BTreeMap<String, String> {
        rows.iter()
            .find(|r| r["IndicatorID"] == id && r["AreaCode"] == code && r["Timeperiod"] == period)
            .unwrap_or_else(|| panic!("no row {id} {code} {period}"))
            .clone()
    };
    let s95_none =
        people(&|r| r["Date"] == "2024-09-30" && r["Support Type"] == "Section 95" && no_la(r));
    assert_eq!(
        row("section_95_rate", "K04000001", "2024 Q3")["Count"],
        (s95 + s95_none).to_string()
    );

    // Res_D01 is a flow: each quarter's arrivals, summed over the areas of England and Wales.
    let resettlement = csv_rows(
        &fs::read_to_string(data.join("home_office/local_authority_resettlement.csv")).unwrap(),
    );
    let persons = |f: &dyn Fn(&BTreeMap<String, String>) -> bool| -> f64 {
        resettlement
            .iter()
            .filter(|r| f(r))
            .map(|r| r["Persons"].parse::<f64>().unwrap())
            .sum()
    };
    assert_eq!(
        persons(&|r| r["Year"] == "2023"),
        4_321.0,
        "the data pack's documented 2023 total"
    );
    for (y, q) in [
        (2021, 3),
        (2023, 1),
        (2023, 2),
        (2023, 3),
        (2023, 4),
        (2024, 3),
    ] {
        let quarter = |r: &BTreeMap<String, String>| {
            r["Year"] == y.to_string() && r["Quarter"] == q.to_string()
        };
        let ew = persons(&|r| {
            quarter(r) && (r["LAD Code"].starts_with("E0") || r["LAD Code"].starts_with("W0"))
        });
        let unknown = persons(&|r| quarter(r) && r["LAD Code"] == "Unknown");
        let total = row("resettlement_rate", "K04000001", &format!("{y} Q{q}"));
        assert_eq!(total["Count"], (ew + unknown).to_string(), "{y} Q{q}");
        if unknown > 0.0 {
            assert!(
                total["Valuenote"].contains(&format!("the local authorities sum to {ew:.0} of")),
                "{y} Q{q}: {}",
                total["Valuenote"]
            );
        }
    }
    // The issue's figures: 110 placed in England and Wales in 2024 Q3, 1,335 with no local
    // authority, 1,491 in the whole source; 430 placed in 2021 Q3.
    let q3_2024 = row("resettlement_rate", "K04000001", "2024 Q3");
    assert_eq!(
        persons(&|r| r["Year"] == "2024" && r["Quarter"] == "3"),
        1_491.0
    );
    assert!(q3_2024["Valuenote"].contains("Includes 1,335 resettlement arrivals in the period that the source gives no local authority"));
    assert!(q3_2024["Valuenote"].contains("the local authorities sum to 110 of the 1,445"));
    assert!(
        row("resettlement_rate", "K04000001", "2021 Q3")["Valuenote"]
            .contains("the local authorities sum to 430 of")
    );
    // Areas and regions hold none of it: the regions sum to the areas.
    let regions: f64 = rows
        .iter()
        .filter(|r| {
            r["IndicatorID"] == "resettlement_rate"
                && r["AreaType"] == "Region"
                && r["Timeperiod"] == "2024 Q3"
        })
        .map(|r| r["Count"].parse::<f64>().unwrap())
        .sum();
    assert_eq!(regions, 110.0);
    // Published figures are shown as published: Hull's arrivals in every quarter the source
    // has them equal the source's, small ones included (9 was rounded to 10 before).
    let quarters: BTreeSet<(String, String)> = resettlement
        .iter()
        .filter(|r| r["LAD Code"] == "E06000010")
        .map(|r| (r["Year"].clone(), r["Quarter"].clone()))
        .collect();
    let mut small = 0;
    for (y, q) in &quarters {
        let hull =
            persons(&|r| r["Year"] == *y && r["Quarter"] == *q && r["LAD Code"] == "E06000010");
        let shown = row("resettlement_rate", "E06000010", &format!("{y} Q{q}"));
        assert_eq!(shown["Count"], (hull + 0.0).to_string(), "Hull {y} Q{q}");
        assert!(shown["Valuenote"].contains("exempt from disclosure control"));
        small += (hull > 0.0 && hull < 10.0) as usize;
    }
    assert!(small > 0, "the source has small figures for Hull");
    assert!(
        !rows
            .iter()
            .any(|r| r["IndicatorID"] == "resettlement_rate" && r["Timeperiod"] == "2020 Q2"),
        "no table, no period: resettlement was paused in 2020 Q2"
    );
    let m = quality_manifest(&w, "reports/home_office");
    let r = input(m.clone(), "resettlement");
    assert_eq!(r["rows_read"], 2_790);
    assert_eq!(r["rows_accepted"], 2_790);
    assert!(r["outside_areas"]
        .as_str()
        .unwrap()
        .contains("Unknown (56)"));

    // Series breaks: Section 98 joins the local authority rows at 2022 Q4. The source's own
    // placeholder row shows it: a national Section 98 figure up to 2022 Q3, none after.
    let placeholder = |date: &str| {
        people(&|r| r["Date"] == date && r["LAD Code"].starts_with("N/A - Section 98"))
    };
    assert!(placeholder("2022-09-30") > 30_000.0 && placeholder("2022-12-31") == 0.0);
    let hillingdon = |id: &str, period: &str| row(id, "E09000017", period);
    assert!(hillingdon("asylum_support_rate", "2022 Q4")["Valuenote"]
        .contains("Series break: Section 98 support is given by local authority from 2022 Q4"));
    assert!(!hillingdon("asylum_support_rate", "2022 Q3")["Valuenote"].contains("Series break"));
    assert!(
        !hillingdon("section_95_rate", "2022 Q4")["Valuenote"].contains("Section 98"),
        "a Section 95 indicator counts no Section 98 rows"
    );
    // No trend across it: the five quarters ending 2022 Q4 to 2023 Q3 span it; 2022 Q3's do not.
    for q in ["2022 Q4", "2023 Q1", "2023 Q2", "2023 Q3"] {
        assert_eq!(
            hillingdon("asylum_support_rate", q)["RecentTrend"],
            "Cannot be calculated",
            "{q}"
        );
    }
    assert_ne!(
        hillingdon("asylum_support_rate", "2022 Q3")["RecentTrend"],
        "Cannot be calculated"
    );
    let html = w.read("reports/home_office/index.html");
    assert!(html.contains("<h2 id=\"caveats\">Caveats</h2>"));
    // The funnel verdict and the comparison with the total agree on every rate row (PHE's rule:
    // the area's own interval against the average), and a zero expected to be under 1 is not Low.
    for r in rows.iter().filter(|r| r["AreaType"] == "Local authority") {
        let (f, c) = (
            &r["FunnelSignificance"],
            &r["ComparedtoEnglandvalueorpercentiles"],
        );
        let agree = match c.as_str() {
            "Higher" => f.starts_with("High"),
            "Lower" => f.starts_with("Low"),
            "Similar" => f == "Not significant",
            _ => f == "Not compared",
        };
        assert!(
            agree,
            "{} {} {}: {c} but {f}",
            r["IndicatorID"], r["AreaCode"], r["Timeperiod"]
        );
    }

    // Every row is accounted for: areas, plus rows that name no England or Wales area.
    let s = input(m, "asylum_support");
    assert_eq!(s["rows_read"], 21_743);
    assert_eq!(s["rows_read"], s["rows_accepted"]);
    assert!(s["outside_areas"]
        .as_str()
        .unwrap()
        .contains("N/A - Subsistence Only (Dec 2023 - Sep 2024) (4)"));
    let o = w.jsna_env(
        &["validate", "pipelines/home_office.toml"],
        &[("JSNA_REAL_DATA", data.to_str().unwrap())],
    );
    ok(&o);
    assert!(
        stderr(&o).contains("accepted rows name no area of this pipeline: N/A (92)"),
        "{}",
        stderr(&o)
    );
    let notes = s["notes"].to_string();
    assert!(
        notes.contains("35 rows carry a LAD code that belongs to another area"),
        "{notes}"
    );
    assert!(
        notes.contains("mapped to April 2023 areas through the code history"),
        "{notes}"
    );
}

#[test]
#[ignore = "needs the real-data pack (../shared/real_data or JSNA_REAL_DATA); cargo test -- --ignored"]
fn the_real_nts_nrm_and_dfe_tables_load_with_their_totals_checked() {
    let data = real_data();
    let w = Work::new().with_pipeline("upper_tier.toml");
    let env = [("JSNA_REAL_DATA", data.to_str().unwrap())];
    ok(&w.jsna_env(&["run", "pipelines/upper_tier.toml"], &env));

    // NTS names only; its `*Total` rows are checked and left out. Independent sums:
    let nts = csv_rows(&fs::read_to_string(data.join("home_office/nts.csv")).unwrap());
    let q3: Vec<_> = nts.iter().filter(|r| r["Date"] == "2023-09-30").collect();
    fn transfers(r: &BTreeMap<String, String>) -> f64 {
        r["Transfers into Local Authority"].parse().unwrap()
    }
    let national = q3
        .iter()
        .find(|r| r["Region"] == "*Total")
        .map(|r| transfers(r))
        .unwrap();
    let details: Vec<_> = q3
        .iter()
        .filter(|r| !r["Region"].starts_with('*'))
        .collect();
    assert_eq!(national, 881.0, "the data pack's documented national total");
    assert_eq!(details.iter().map(|r| transfers(r)).sum::<f64>(), national);
    // England and Wales: every row outside Scotland and Northern Ireland, the two former
    // counties that no April 2023 authority is (Cumbria, Northamptonshire) included.
    let placed: f64 = details
        .iter()
        .filter(|r| !["Scotland", "Northern Ireland"].contains(&r["Region"].as_str()))
        .map(|r| transfers(r))
        .sum();
    assert_eq!(
        placed, 832.0,
        "England and Wales in 2023 Q3, as the issue counted it"
    );
    let kent = details
        .iter()
        .find(|r| r["Local Authority or HSCT (NI)"] == "Kent")
        .map(|r| {
            r["Transfers out of Local Authority"]
                .parse::<f64>()
                .unwrap()
        })
        .unwrap();
    assert_eq!(kent, 843.0);
    let rows = csv_rows(&w.read("reports/upper_tier/indicators.csv"));
    let count = |id: &str, code: &str| -> String {
        rows.iter()
            .find(|r| {
                r["IndicatorID"] == id && r["AreaCode"] == code && r["Timeperiod"] == "2023 Q3"
            })
            .unwrap_or_else(|| panic!("no row for {code}"))["Count"]
            .clone()
    };
    assert_eq!(
        count("nts_transfers_in_rate", "K04000001"),
        placed.to_string()
    );
    assert_eq!(
        count("nts_transfers_out_rate", "E10000016"),
        kent.to_string(),
        "Kent, a county, found by name"
    );
    // A dozen upper-tier authorities by hand from the files: NTS transfers per 10,000 children,
    // children (ages 0 to 17, mid-2022) summed from the ONS age file over each authority's
    // districts (the lookup), the transfers from the NTS rows of the same name.
    let lookup = csv_rows(&fs::read_to_string(data.join("ons/lad_lookup.csv")).unwrap());
    let ages = csv_rows(&fs::read_to_string(data.join("ons/lad_population_age_sex.csv")).unwrap());
    let utla_of: BTreeMap<&str, &str> = lookup
        .iter()
        .map(|r| (r["lad_code"].as_str(), r["utla_code"].as_str()))
        .collect();
    let mut children: BTreeMap<&str, f64> = BTreeMap::new();
    for r in &ages {
        if r["year"] == "2022" && ["0-4", "5-9", "10-14", "15-17"].contains(&r["age_band"].as_str())
        {
            if let Some(u) = utla_of.get(r["area_code"].as_str()) {
                *children.entry(u).or_default() += r["population"].parse::<f64>().unwrap();
            }
        }
    }
    let mut checked = 0;
    for (name, code) in [
        ("Kent", "E10000016"),
        ("Hillingdon", "E09000017"),
        ("Croydon", "E09000008"),
        ("Surrey", "E10000030"),
        ("Essex", "E10000012"),
        ("Hampshire", "E10000014"),
        ("Birmingham", "E08000025"),
        ("Manchester", "E08000003"),
        ("Leeds", "E08000035"),
        ("Norfolk", "E10000020"),
        ("Lancashire", "E10000017"),
        ("Cardiff", "W06000015"),
    ] {
        let nts_row = details
            .iter()
            .find(|r| r["Local Authority or HSCT (NI)"] == name)
            .unwrap_or_else(|| panic!("{name} in NTS"));
        for (column, id) in [
            ("Transfers into Local Authority", "nts_transfers_in_rate"),
            ("Transfers out of Local Authority", "nts_transfers_out_rate"),
        ] {
            let x: f64 = nts_row[column].parse().unwrap();
            let n = children[code];
            let shown = rows
                .iter()
                .find(|r| {
                    r["IndicatorID"] == id && r["AreaCode"] == code && r["Timeperiod"] == "2023 Q3"
                })
                .unwrap_or_else(|| panic!("{id} {code}"));
            assert_eq!(shown["Count"], x.to_string(), "{name} {id}");
            assert_eq!(shown["Denominator"], n.to_string(), "{name} {id}: children");
            let v: f64 = shown["Value"].parse().unwrap();
            assert!(
                (v - x / n * 10_000.0).abs() < 1e-6 * (1.0 + v),
                "{name} {id}: {v}"
            );
            assert_eq!(
                shown["ComparedtoThreshold"],
                if x / n * 10_000.0 >= 10.0 {
                    "At or above threshold"
                } else {
                    "Below threshold"
                }
            );
            checked += 1;
        }
    }
    assert_eq!(checked, 24);
    // Kent, over the 0.1% rule by its own transfers out in 2023 Q3.
    let kent_rate = kent / children["E10000016"] * 10_000.0;
    assert!(kent_rate > 10.0);
    // Its page states it with NTS's own latest period (the pipeline's latest is 2024 Q3), in the
    // key messages and on the spine chart.
    let page = w
        .read("reports/upper_tier/areas/E10000016.html")
        .replace("&#x27;", "'")
        .replace("&#x2f;", "/");
    assert!(page.contains(&format!(
        "Unaccompanied children transferred out under the National Transfer Scheme per 10,000 children, 2023 Q3: Kent {kent_rate:.1} per 10,000 children"
    )));
    assert!(page.contains("at or above the planning threshold of 10.0 per 10,000 children"));
    assert!(page.contains(
        "<th scope=\"row\">Unaccompanied children transferred out under the National Transfer Scheme per 10,000 children, 2023 Q3</th>"
    ));
    // National context from the DfE, England: the published totals, as published.
    let dfe = |file: &str| csv_rows(&fs::read_to_string(data.join("dfe").join(file)).unwrap());
    // The DfE files open with a byte-order mark, which may or may not be in the first key.
    let year = |r: &BTreeMap<String, String>| -> String {
        r.iter()
            .find(|(k, _)| k.ends_with("time_period"))
            .map(|(_, v)| v.trim().to_string())
            .unwrap()
    };
    let cla = dfe("national_cla_on_31_march_who_were_unaccompanied_asylum_seeking_children.csv");
    let total_2024 = cla
        .iter()
        .find(|r| {
            year(r) == "2024" && r["cla_group"] == "Age group" && r["characteristic"] == "Total"
        })
        .map(|r| r["number"].clone())
        .unwrap();
    assert_eq!(total_2024, "7380");
    let shown = rows
        .iter()
        .find(|r| r["IndicatorID"] == "dfe_uasc_looked_after" && r["Timeperiod"] == "2024 Q1")
        .unwrap();
    assert_eq!(shown["Count"], total_2024);
    let leavers = dfe("national_care_leavers_who_were_uasc.csv");
    let leavers_2024: f64 = leavers
        .iter()
        .filter(|r| {
            year(r) == "2024"
                && r["characteristic"] == "Total"
                && ["17 years", "18 years", "19 to 21 years"]
                    .contains(&r["care_leaver_age"].as_str())
        })
        .map(|r| r["number"].parse::<f64>().unwrap())
        .sum();
    assert_eq!(
        rows.iter()
            .find(|r| r["IndicatorID"] == "dfe_uasc_care_leavers" && r["Timeperiod"] == "2024 Q1")
            .unwrap()["Count"],
        leavers_2024.to_string()
    );
    // The DfE's own caveat on 2023 (Barnsley left out) is noted on that year only.
    for r in rows
        .iter()
        .filter(|r| r["IndicatorID"] == "dfe_uasc_care_leavers")
    {
        assert_eq!(
            r["Valuenote"].contains("exclude Barnsley"),
            r["Timeperiod"] == "2023 Q1",
            "{}",
            r["Timeperiod"]
        );
    }

    // Former counties: their figures are in the region and the total over the whole series, and
    // their successors are [x] with the reason, never 0.
    let ew_rows: Vec<_> = nts
        .iter()
        .filter(|r| !r["Region"].starts_with('*'))
        .filter(|r| !["Scotland", "Northern Ireland"].contains(&r["Region"].as_str()))
        .collect();
    for (column, id) in [
        ("Transfers into Local Authority", "nts_transfers_in_rate"),
        ("Transfers out of Local Authority", "nts_transfers_out_rate"),
    ] {
        let source: f64 = ew_rows
            .iter()
            .map(|r| r[column].parse::<f64>().unwrap())
            .sum();
        let shown: f64 = rows
            .iter()
            .filter(|r| r["IndicatorID"] == id && r["AreaCode"] == "K04000001")
            .map(|r| r["Count"].parse::<f64>().unwrap())
            .sum();
        assert_eq!(shown, source, "{id}: England and Wales over the series");
        let former: f64 = ew_rows
            .iter()
            .filter(|r| {
                ["Cumbria", "Northamptonshire"]
                    .contains(&r["Local Authority or HSCT (NI)"].as_str())
            })
            .map(|r| r[column].parse::<f64>().unwrap())
            .sum();
        assert!(former > 0.0, "{id}: the issue's 62 in and 12 out");
    }
    for code in ["E06000061", "E06000062", "E06000063", "E06000064"] {
        let successor: Vec<_> = rows
            .iter()
            .filter(|r| r["IndicatorID"] == "nts_transfers_in_rate" && r["AreaCode"] == code)
            .collect();
        assert_eq!(successor.len(), 29, "{code}: every quarter");
        for r in successor {
            assert_eq!(r["Count"], "[x]", "{code} {}", r["Timeperiod"]);
            assert!(r["Valuenote"].contains("its figure is in the row for the former county"));
        }
    }
    let cumbria_q3 = transfers(
        details
            .iter()
            .find(|r| r["Local Authority or HSCT (NI)"] == "Cumbria")
            .unwrap(),
    );
    assert!(rows
        .iter()
        .find(|r| r["IndicatorID"] == "nts_transfers_in_rate"
            && r["AreaCode"] == "E06000063"
            && r["Timeperiod"] == "2023 Q3")
        .unwrap()["Valuenote"]
        .contains(&format!("former county Cumbria ({cumbria_q3} children")));

    let m = quality_manifest(&w, "reports/upper_tier");
    let n = input(m.clone(), "nts");
    assert_eq!(n["rows_read"], 12_538);
    assert_eq!(n["rows_accepted"], 12_538);
    let outside = n["outside_areas"].as_str().unwrap();
    assert!(
        outside.contains("Total rows (checked, then left out) (377)"),
        "{outside}"
    );
    assert!(outside.contains("Cumbria (29)"), "{outside}");
    assert!(n["notes"]
        .to_string()
        .contains("377 of 377 checked equal the sum of their detail rows"));

    // NRM: national, fully crossed with totals at every level; 1,017 referrals in all.
    let nrm = input(m.clone(), "nrm");
    assert_eq!(nrm["rows_read"], 12_880);
    assert_eq!(nrm["rows_accepted"], 12_880);
    assert!(
        nrm["notes"]
            .to_string()
            .contains("6496 of 6496 checked equal"),
        "{}",
        nrm["notes"]
    );

    // DfE: `c` read as missing with the reason kept; `Care Leavers group` spelled one way.
    let cla = input(m.clone(), "dfe_looked_after");
    assert_eq!(cla["rows_accepted"], 230);
    assert!(cla["notes"]
        .to_string()
        .contains("30 values in column 'number' are shorthand markers"));
    let leavers = input(m, "dfe_care_leavers");
    assert!(leavers["notes"]
        .to_string()
        .contains("'Care Leavers group' (30 rows) as 'Care leavers group'"));
}

#[test]
fn shorthand_markers_in_a_published_table_are_missing_with_the_reason_kept() {
    let w = Work::new();
    let support = w.read("sample_data/asylum_support_by_la.csv");
    let mut lines: Vec<String> = support.lines().map(String::from).collect();
    // A Birmingham row on 31 March 2022 (the stock 2021/22 reads) becomes `[c]`; the last
    // row (Peterborough, 2024) gets `:`.
    let b = lines
        .iter()
        .position(|l| l.starts_with("2022-03-31") && l.contains("E08000025"))
        .unwrap();
    lines[b] = lines[b]
        .rsplit_once(',')
        .map(|(a, _)| format!("{a},[c]"))
        .unwrap();
    let last = lines.len() - 1;
    lines[last] = lines[last]
        .rsplit_once(',')
        .map(|(a, _)| format!("{a},:"))
        .unwrap();
    w.write(
        "sample_data/asylum_support_by_la.csv",
        &(lines.join("\n") + "\n"),
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let s = input(quality_manifest(&w, "reports/example"), "asylum_support");
    assert_eq!(s["rows_rejected"], 0, "a marker is not an error");
    assert!(
        s["notes"]
            .to_string()
            .contains("2 values in column 'People' are shorthand markers"),
        "{}",
        s["notes"]
    );
    assert!(
        s["notes"].to_string().contains("[c]: confidential"),
        "{}",
        s["notes"]
    );
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let at = |code: &str| {
        rows.iter()
            .find(|r| {
                r["IndicatorID"] == "asylum_support_rate"
                    && r["AreaCode"] == code
                    && r["Timeperiod"] == "2021/22"
            })
            .unwrap()
            .clone()
    };
    for code in ["E08000025", "E12000005", "E92000001"] {
        let r = at(code);
        assert_eq!(r["Value"], "[x]", "{code}: {r:?}");
        assert!(r["Valuenote"].contains("shorthand marker"), "{code}: {r:?}");
    }
    let other = at("E06000023");
    assert!(
        other["Value"].parse::<f64>().is_ok(),
        "Bristol is unaffected: {other:?}"
    );
}

#[test]
fn published_sources_are_declared_with_their_own_keys_and_checked_conditions() {
    let w = Work::new();
    let base = w.read("pipelines/example.toml");
    let end = "period_end = \"2024-03-31\"\n";
    assert!(base.contains(end));
    w.write("pipelines/example.toml", &base.edit(end, ""));
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    exits(&o, 2, &["period_end = \"2023-12-31\""]);

    let acrs = "\n[[indicators]]\nid = \"acrs\"\nname = \"ACRS arrivals\"\nsource = \"resettlement\"\nmethod = \"rate\"\nnumerator = \"schem LIKE 'Resettlement - ACRS%'\"\nmultiplier = 10000\npolarity = \"neither\"\n";
    w.write("pipelines/example.toml", &format!("{base}{acrs}"));
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    exits(&o, 2, &["a 'res_d01' table's columns are: scheme"]);

    w.write(
        "pipelines/example.toml",
        &format!("{base}{}", acrs.edit("schem LIKE", "scheme LIKE")),
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let m = quality_manifest(&w, "reports/example");
    let n = input(m.clone(), "nrm");
    assert_eq!(n["rows_read"], n["rows_accepted"]);
    let file = csv_rows(&w.read("sample_data/resettlement_by_la.csv"));
    let acrs: f64 = file
        .iter()
        .filter(|r| r["Resettlement Scheme"].starts_with("Resettlement - ACRS"))
        .filter(|r| r["Date"].as_str() >= "2022-04-01" && r["Date"].as_str() <= "2023-03-31")
        .map(|r| r["Persons"].parse::<f64>().unwrap())
        .sum();
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let total = rows
        .iter()
        .find(|r| {
            r["IndicatorID"] == "acrs" && r["AreaType"] == "England" && r["Timeperiod"] == "2022/23"
        })
        .unwrap();
    assert_eq!(
        total["Count"],
        round5(acrs).to_string(),
        "a flow sums its quarters"
    );
}

/// The national NRM table's count, by exploitation type and by age at exploitation, against
/// sums of the published file made here: the total only, rounded, with Byar's interval.
#[test]
fn a_national_table_is_counted_at_the_total_by_its_own_breakdowns() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let file = csv_rows(&w.read("sample_data/nrm_referrals.csv"));
    let mut want: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in &file {
        let people: f64 = r["People"].parse().unwrap();
        let e = r["Exploitation type"].clone();
        let a = r["Age at exploitation"].clone();
        *want.entry((String::new(), String::new())).or_default() += people;
        *want.entry(("Exploitation type".into(), e)).or_default() += people;
        *want.entry(("Age".into(), a)).or_default() += people;
    }
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let nrm: Vec<_> = rows
        .iter()
        .filter(|r| r["IndicatorID"] == "nrm_referrals")
        .collect();
    // The whole, five exploitation types and three ages, for the one period the table covers.
    assert_eq!(nrm.len(), 9, "{nrm:?}");
    for r in &nrm {
        assert_eq!(
            r["AreaCode"], "E92000001",
            "a national table has no area rows"
        );
        assert_eq!(r["Timeperiod"], "2023/24");
        assert_eq!(r["Denominator"], "[z]");
        assert_eq!(r["ComparedtoEnglandvalueorpercentiles"], "Not compared");
        assert_eq!(r["RecentTrend"], "Cannot be calculated");
        let key = if r["CategoryType"] == "Exploitation type" {
            ("Exploitation type".to_string(), r["Category"].clone())
        } else if r["Age"] != "All ages" {
            ("Age".to_string(), r["Age"].clone())
        } else {
            (String::new(), String::new())
        };
        // A published table's figures are shown as published, unrounded.
        let count = want[&key];
        assert!(
            count > 7.0,
            "the sample's counts are all above the threshold"
        );
        assert_eq!(r["Count"], count.to_string(), "{key:?}");
        assert!(
            r["Valuenote"].contains("exempt from disclosure control"),
            "{r:?}"
        );
        assert_eq!(r["Value"].parse::<f64>().unwrap(), count);
        let (lo, hi) = byar(count, 0.95);
        let got_lo: f64 = r["LowerCI95.0limit"].parse().unwrap();
        let got_hi: f64 = r["UpperCI95.0limit"].parse().unwrap();
        assert!(
            (got_lo - lo).abs() < 1e-5 && (got_hi - hi).abs() < 1e-5,
            "{key:?}: {got_lo} {got_hi} against {lo} {hi}"
        );
    }
    // The rule applies to published tables too when the analyst asks for it.
    let strict = w
        .read("pipelines/example.toml")
        .edit("rounding = 5\n", "rounding = 5\nexempt_published = false\n");
    w.write("pipelines/strict.toml", &strict);
    ok(&w.jsna(&["run", "pipelines/strict.toml", "--out", "reports/strict"]));
    let whole = csv_rows(&w.read("reports/strict/indicators.csv"))
        .into_iter()
        .find(|r| {
            r["IndicatorID"] == "nrm_referrals"
                && r["Category"].is_empty()
                && r["Age"] == "All ages"
        })
        .unwrap();
    let total = want[&(String::new(), String::new())];
    assert_eq!(whole["Count"], round5(total).to_string());
    // On the overview, not on the area pages.
    assert!(w
        .read("reports/example/index.html")
        .contains("Potential victims of trafficking referred to the NRM"));
    assert!(!w
        .read("reports/example/areas/E08000025.html")
        .contains("referred to the NRM"));

    // A breakdown over record columns cannot split the table; a count is of published tables.
    let base = w.read("pipelines/example.toml");
    let bad = base.edit(
        "breakdowns = [\"exploitation_type\", \"age_at_exploitation\"]",
        "breakdowns = [\"sex\"]",
    );
    w.write("pipelines/bad.toml", &bad);
    exits(
        &w.jsna(&["validate", "pipelines/bad.toml"]),
        2,
        &[
            "breakdown 'sex' cannot split a 'nrm' table",
            "its columns: first_responder, exploitation_type",
        ],
    );
    let bad = base.edit(
        "method = \"proportion\"\nnumerator = \"need_mental_health = 'Y'\"",
        "method = \"count\"\nnumerator = \"need_mental_health = 'Y'\"",
    );
    assert_ne!(bad, base);
    w.write("pipelines/bad.toml", &bad);
    exits(
        &w.jsna(&["validate", "pipelines/bad.toml"]),
        2,
        &["method 'count' is not available for a 'records' source"],
    );
}

#[test]
fn sample_data_writes_a_pipeline_that_runs_on_it_at_any_scale() {
    let w = Work::new();
    let o = w.jsna(&[
        "sample-data",
        "--out",
        "big",
        "--records",
        "3000",
        "--areas",
        "300",
        "--periods",
        "4",
    ]);
    ok(&o);
    assert!(
        stderr(&o).contains("run it with: jsna run big/pipeline.toml"),
        "{}",
        stderr(&o)
    );
    ok(&w.jsna(&["run", "big/pipeline.toml"]));
    let rows = csv_rows(&w.read("big/report/indicators.csv"));
    let areas: std::collections::BTreeSet<&str> = rows
        .iter()
        .filter(|r| r["AreaType"] == "Local authority")
        .map(|r| r["AreaCode"].as_str())
        .collect();
    assert_eq!(areas.len(), 300, "296 English districts, then 4 Welsh");
    assert!(areas.contains("W06000001"));
    let m = manifest(&w, "big/report");
    assert_eq!(input(m, "records")["path"], "records.parquet");
}

#[test]
fn parquet_records_read_in_batches_give_the_same_report_as_one_batch_and_as_csv() {
    let w = Work::new();
    ok(&w.jsna(&[
        "sample-data",
        "--out",
        "d",
        "--records",
        "3000",
        "--areas",
        "20",
        "--periods",
        "4",
    ]));
    // Names starting with '-' are in the quality folder beside the report (`<out>-quality`).
    let outputs = [
        "indicators.csv",
        "gaps.csv",
        "-quality/quarantine.csv",
        "-quality/summary.csv",
        "quality/disclosure.csv",
        "jsna-indicators.xlsx",
    ];
    let run = |pipeline: &str, out: &str, batch: Option<&str>| {
        let args = ["run", pipeline, "--out", out];
        ok(&match batch {
            Some(b) => w.jsna_env(&args, &[("JSNA_BATCH_ROWS", b)]),
            None => w.jsna(&args),
        });
        outputs.map(|f| match f.strip_prefix('-') {
            Some(q) => fs::read(w.path(&format!("{out}-{q}"))).unwrap(),
            None => fs::read(w.path(out).join(f)).unwrap(),
        })
    };
    // Data tests run on every record, whatever the batches: `unique` across batches too. The
    // last record gets the first one's person_id, 2,999 records (and many batches) later; 2
    // of the 3,000 records are quarantined by the built-in checks, so 2,998 are tested.
    {
        use polars::prelude::*;
        let path = w.path("d/records.parquet");
        let mut df = ParquetReader::new(fs::File::open(&path).unwrap())
            .finish()
            .unwrap();
        let ids = df.column("person_id").unwrap().str().unwrap().clone();
        let first = ids.get(0).unwrap().to_string();
        let last = df.height() - 1;
        let changed: Vec<String> = ids
            .iter()
            .enumerate()
            .map(|(i, v)| {
                if i == last {
                    first.clone()
                } else {
                    v.unwrap().to_string()
                }
            })
            .collect();
        df.replace("person_id", Column::new("person_id".into(), changed))
            .unwrap();
        ParquetWriter::new(fs::File::create(&path).unwrap())
            .finish(&mut df)
            .unwrap();
    }
    let tested = w.read("d/pipeline.toml").edit(
        "path = \"records.parquet\"",
        "path = \"records.parquet\"\ntests = [{ column = \"person_id\", test = \"unique\", severity = \"warn\" }, { column = \"language\", test = \"not_null\", severity = \"warn\" }]",
    );
    w.write("d/pipeline.toml", &tested);
    let whole = run("d/pipeline.toml", "whole", None);
    let summary = String::from_utf8(whole[3].clone()).unwrap();
    assert!(
        summary.contains(
            "data_test_warn,person_id,\"unique (warn, tolerance 0%), 2998 rows tested\",1"
        ),
        "{summary}"
    );
    assert!(summary.contains("not_null"), "{summary}");
    let quarantine = String::from_utf8(whole[2].clone()).unwrap();
    assert!(
        quarantine.lines().count() > 1,
        "the sample has bad records to quarantine"
    );
    // 3,000 records in batches of 250 and of 7 (the last one short).
    for batch in ["250", "7"] {
        let batched = run("d/pipeline.toml", &format!("b{batch}"), Some(batch));
        for (f, (a, b)) in outputs.iter().zip(whole.iter().zip(&batched)) {
            assert!(a == b, "{f} differs with batches of {batch}");
        }
    }
    // The same records from the CSV file give the same figures.
    let csv = w
        .read("d/pipeline.toml")
        .edit("records.parquet", "records.csv");
    w.write("d/csv.toml", &csv);
    let from_csv = run("d/csv.toml", "csv", None);
    assert!(whole[0] == from_csv[0], "indicators.csv from CSV records");
    let o = w.jsna_env(
        &["run", "d/pipeline.toml", "--out", "x"],
        &[("JSNA_BATCH_ROWS", "0")],
    );
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stderr(&o).contains("JSNA_BATCH_ROWS must be a whole number"));
}

#[test]
fn paths_in_a_pipeline_expand_environment_variables_with_defaults() {
    let w = Work::new();
    let text = w.read("pipelines/example.toml").edit(
        "path = \"../sample_data/population.csv\"",
        "path = \"${JSNA_TEST_DATA:-../sample_data}/population.csv\"",
    );
    w.write("pipelines/env.toml", &text);
    ok(&w.jsna(&["validate", "pipelines/env.toml"]));
    let o = w.jsna_env(
        &["validate", "pipelines/env.toml"],
        &[("JSNA_TEST_DATA", "/nowhere")],
    );
    exits(&o, 2, &["/nowhere/population.csv"]);
    let text = w.read("pipelines/example.toml").edit(
        "path = \"../sample_data/population.csv\"",
        "path = \"${JSNA_UNSET_VARIABLE}/population.csv\"",
    );
    w.write("pipelines/env2.toml", &text);
    let o = w.jsna(&["validate", "pipelines/env2.toml"]);
    exits(
        &o,
        2,
        &["environment variable JSNA_UNSET_VARIABLE is not set"],
    );
}

#[test]
fn groups_that_split_another_group_never_leave_one_suppressed_count_in_the_sum() {
    let w = Work::new();
    let pipeline = w.read("pipelines/example.toml").replacen(
        "[[indicators]]",
        r#"[groups.male]
label = "Male service users"
filter = "sex = 'M'"

[groups.not_male]
label = "Service users not recorded as male"
filter = "sex <> 'M'"

[[indicators]]"#,
        1,
    );
    w.write("pipelines/example.toml", &pipeline);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = whole(&csv_rows(&w.read("reports/example/indicators.csv")));
    let mut cells: BTreeMap<(String, String, String, String), String> = BTreeMap::new();
    for r in &rows {
        for col in ["Count", "Denominator"] {
            cells.insert(
                (
                    format!("{}:{col}", r["IndicatorID"]),
                    r["AreaCode"].clone(),
                    r["Timeperiod"].clone(),
                    r["Category"].clone(),
                ),
                r[col].clone(),
            );
        }
    }
    let mut checked = 0;
    for ((def, area, period, cat), all) in &cells {
        if cat != "All service users" {
            continue;
        }
        let get = |c: &str| cells.get(&(def.clone(), area.clone(), period.clone(), c.to_string()));
        let (Some(male), Some(rest)) = (
            get("Male service users"),
            get("Service users not recorded as male"),
        ) else {
            continue;
        };
        let hidden = [all, male, rest]
            .iter()
            .filter(|v| v.as_str() == "[c]")
            .count();
        assert!(
            hidden != 1,
            "{def} {area} {period}: all {all}, male {male}, not male {rest}"
        );
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
}

#[test]
fn zeros_can_be_suppressed_and_published_national_tables_exempted() {
    let w = Work::new();
    let pipeline = w.read("pipelines/example.toml").edit(
        "rounding = 5",
        "rounding = 5\nsuppress_zeros = true\nexempt_published = true",
    );
    w.write("pipelines/example.toml", &pipeline);
    ok(&w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--restricted",
        "restricted",
    ]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let restricted = csv_rows(&w.read("restricted/indicators_restricted.csv"));
    let key = |r: &BTreeMap<String, String>| {
        (
            r["IndicatorID"].clone(),
            format!("{}|{}", r["Category"], slice(r)),
            r["AreaCode"].clone(),
            r["Timeperiod"].clone(),
        )
    };
    let truth: BTreeMap<_, _> = restricted
        .iter()
        .map(|r| (key(r), r["Count"].clone()))
        .collect();
    let mut zeros_hidden = 0;
    for r in &rows {
        let count = &r["Count"];
        if r["IndicatorID"] == "asylum_support_rate" {
            assert_eq!(count, &truth[&key(r)], "exempt: published as it is");
            assert!(
                r["Valuenote"].contains("exempt from disclosure control"),
                "{r:?}"
            );
        } else {
            assert_ne!(count, "0", "a zero is published in {r:?}");
            zeros_hidden += (truth[&key(r)] == "0") as usize;
        }
    }
    assert!(zeros_hidden > 0, "the sample has zero counts to hide");
    assert!(rows
        .iter()
        .any(|r| r["IndicatorID"] == "asylum_support_rate"
            && r["Count"].parse::<u64>().unwrap() % 5 != 0));
}

#[test]
fn unsuppressed_figures_go_only_to_a_named_restricted_folder_marked_on_every_row() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "public_a"]));
    ok(&w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--out",
        "public_b",
        "--restricted",
        "restricted",
    ]));
    let (a, b) = (tree(&w.path("public_a")), tree(&w.path("public_b")));
    for (name, bytes) in &a {
        if name != "manifest.json" {
            assert!(
                bytes == &b[name],
                "{name}: asking for a restricted output changed the published one"
            );
        }
    }
    assert!(
        !b.keys().any(|k| k.contains("restricted")),
        "nothing restricted in the published folder"
    );
    let rows = csv_rows(&w.read("restricted/indicators_restricted.csv"));
    assert!(rows
        .iter()
        .all(|r| r["Restricted"] == "RESTRICTED: unsuppressed figures, not for publication"));
    let small = rows
        .iter()
        .filter(|r| {
            r["Count"]
                .parse::<f64>()
                .is_ok_and(|c| (1.0..=7.0).contains(&c))
        })
        .count();
    assert!(
        small > 0,
        "the restricted table holds the small counts the published one suppresses"
    );
    // The restricted count, rounded, is what was published.
    let public = csv_rows(&w.read("public_b/indicators.csv"));
    for (r, p) in rows.iter().zip(&public).take(500) {
        if let (Ok(x), Ok(y)) = (r["Count"].parse::<f64>(), p["Count"].parse::<f64>()) {
            assert_eq!(round5(x), y);
        }
    }
    assert!(w.read("restricted/manifest.json").contains("RESTRICTED"));
    let o = w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--out",
        "public_c",
        "--restricted",
        "public_c/inner",
    ]);
    exits(&o, 2, &["is, holds or lies inside the restricted folder"]);
}

#[test]
fn records_holding_nhs_numbers_or_postcodes_are_refused_without_showing_values() {
    let w = Work::new();
    let text = w.read("sample_data/records.csv");
    let nhs = ["9434765919", "4010232137", "9876543210", "1234567881"];
    let with_ids: Vec<String> = text
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},nhs_no,home_postcode"),
            i => format!(
                "{l},{},{}",
                nhs[i % 4],
                if i % 2 == 0 { "SW1A 1AA" } else { "M1" }
            ),
        })
        .collect();
    w.write("sample_data/records.csv", &(with_ids.join("\n") + "\n"));
    for cmd in ["validate", "run"] {
        let o = w.jsna(&[cmd, "pipelines/example.toml"]);
        assert_eq!(o.status.code(), Some(1), "{cmd}: {}", stderr(&o));
        let err = stderr(&o);
        assert!(
            err.contains("refusing to ingest direct identifiers"),
            "{err}"
        );
        assert!(
            err.contains("column \"nhs_no\" holds NHS numbers (passing the Modulus 11 check)"),
            "{err}"
        );
        assert!(
            err.contains(
                "column \"home_postcode\" holds full UK postcodes (1 of 2 distinct values match)"
            ),
            "{err}"
        );
        assert!(
            !err.contains("9434765919") && !err.contains("SW1A"),
            "values must not be shown: {err}"
        );
    }
    assert!(
        !w.path("reports/example").exists(),
        "nothing is published from a refused file"
    );
    // Allowed with a reason, the run goes ahead.
    let text = w.read("pipelines/example.toml").edit(
        "path = \"../sample_data/records.csv\"",
        "path = \"../sample_data/records.csv\"\nallow_identifiers = { nhs_no = \"test fixture\", home_postcode = \"test fixture\" }",
    );
    w.write("pipelines/allowed.toml", &text);
    ok(&w.jsna(&["run", "pipelines/allowed.toml"]));
}

#[test]
fn spreadsheets_follow_the_analysis_function_layout_and_neutralise_formulas() {
    use calamine::{open_workbook_auto, Data, Reader};
    let w = Work::new();
    let lookup = w
        .read("sample_data/area_lookup.csv")
        .edit("Birmingham", "=HYPERLINK(\"http://x\")");
    w.write("sample_data/area_lookup.csv", &lookup);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    for file in ["jsna-indicators.xlsx", "jsna-indicators.ods"] {
        let mut book = open_workbook_auto(w.path("reports/example").join(file))
            .unwrap_or_else(|e| panic!("{file}: {e}"));
        let names = book.sheet_names().to_vec();
        assert_eq!(&names[..3], ["Cover", "Contents", "Notes"], "{file}");
        assert_eq!(names[3], "1_assessed_within_28_days");
        assert!(names.last().unwrap().ends_with("equality_gaps"));
        assert!(names.iter().all(|n| n.chars().count() <= 31));
        // Contents lists every other sheet.
        let contents = book.worksheet_range("Contents").unwrap();
        let listed: Vec<String> = contents.rows().skip(3).map(|r| r[0].to_string()).collect();
        assert_eq!(listed, names[2..].to_vec(), "{file}");
        let t = book.worksheet_range(&names[3]).unwrap();
        let rows: Vec<&[Data]> = t.rows().collect();
        assert!(
            matches!(rows[0][0], Data::String(ref s) if s.starts_with("Table 1: Referrals assessed within 28 days")),
            "{file}: title in A1"
        );
        let header: Vec<String> = rows[3].iter().map(|c| c.to_string()).collect();
        assert_eq!(header[12], "Value");
        let data = &rows[4..];
        assert!(
            data.iter().any(|r| matches!(r[12], Data::Float(_))),
            "{file}: values are numbers"
        );
        assert!(
            data.iter().any(|r| r[12] == Data::String("[c]".into())),
            "{file}: markers are text"
        );
        assert!(
            data.iter()
                .all(|r| !matches!(r[12], Data::String(ref s) if s.parse::<f64>().is_ok())),
            "{file}: no number stored as text"
        );
        // Area names from input data cannot become formulas.
        let areas: Vec<String> = data.iter().map(|r| r[3].to_string()).collect();
        assert!(
            areas.iter().any(|a| a == "'=HYPERLINK(\"http://x\")"),
            "{file}: {:?}",
            &areas[..3]
        );
        assert!(!areas.iter().any(|a| a.starts_with('=')));
    }
    for csv_file in ["indicators.csv", "gaps.csv"] {
        let rows = csv_rows(&w.read(&format!("reports/example/{csv_file}")));
        assert!(
            rows.iter()
                .any(|r| r["AreaName"] == "'=HYPERLINK(\"http://x\")"),
            "{csv_file}"
        );
        assert!(
            !rows.iter().any(|r| r["AreaName"].starts_with('=')),
            "{csv_file}"
        );
    }
}

#[test]
fn every_area_has_its_own_page_linked_from_the_overview() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let index = w.read("reports/example/index.html");
    let codes: Vec<String> = csv_rows(&w.read("sample_data/area_lookup.csv"))
        .iter()
        .map(|r| r["lad_code"].clone())
        .collect();
    assert_eq!(codes.len(), 12);
    for code in &codes {
        assert!(
            index.contains(&format!("href=\"areas/{code}.html\"")),
            "overview links {code}"
        );
        let page = w.read(&format!("reports/example/areas/{code}.html"));
        assert!(page.contains("href=\"../index.html\""), "{code} links back");
    }
    let manchester = w.read("reports/example/areas/E08000003.html");
    assert!(manchester.contains("<h1>Manchester: "));
    assert!(manchester.contains(
        "Women and girls seeking asylum or with refugee status: referrals assessed within 28 days"
    ));
    assert!(
        manchester.contains("worse, significant at 99.8% confidence"),
        "Manchester's built-in finding"
    );
    assert!(
        !manchester.contains(": by area,"),
        "the table of all areas is on the overview only"
    );
}

#[test]
fn verify_detects_a_changed_byte_in_any_output_and_a_changed_input() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let o = w.jsna(&[
        "verify",
        "reports/example",
        "--pipeline",
        "pipelines/example.toml",
    ]);
    ok(&o);
    assert!(stderr(&o).contains("everything matches"), "{}", stderr(&o));
    // Flip one byte in every output in turn.
    let outputs = tree(&w.path("reports/example"));
    for (name, bytes) in &outputs {
        if name == "manifest.json" {
            continue;
        }
        let path = w.path("reports/example").join(name);
        let mut changed = bytes.clone();
        let at = changed.len() / 2;
        changed[at] ^= 0x01;
        fs::write(&path, &changed).unwrap();
        let o = w.jsna(&["verify", "reports/example"]);
        assert_eq!(
            o.status.code(),
            Some(1),
            "a changed byte in {name} went unnoticed"
        );
        assert!(
            stderr(&o).contains(&format!("{name}: contents differ")),
            "{}",
            stderr(&o)
        );
        fs::write(&path, bytes).unwrap();
    }
    w.write("reports/example/extra.txt", "x");
    let o = w.jsna(&["verify", "reports/example"]);
    assert_eq!(o.status.code(), Some(1));
    assert!(stderr(&o).contains("extra.txt: not listed in the manifest"));
    fs::remove_file(w.path("reports/example/extra.txt")).unwrap();
    // A changed input is found, and the re-run no longer reproduces the report.
    let records = w.read("sample_data/records.csv").replacen(",M,", ",F,", 1);
    w.write("sample_data/records.csv", &records);
    let o = w.jsna(&[
        "verify",
        "reports/example",
        "--pipeline",
        "pipelines/example.toml",
    ]);
    assert_eq!(o.status.code(), Some(1));
    let err = stderr(&o);
    assert!(
        err.contains("input ../sample_data/records.csv: contents differ"),
        "{err}"
    );
    assert!(
        err.contains("a fresh run gives different contents"),
        "{err}"
    );
}

#[test]
fn breakdowns_split_each_group_and_match_counts_made_from_the_records() {
    let w = Work::new();
    let pipeline = w
        .read("pipelines/example.toml")
        .edit("rounding = 5", "rounding = 5\nbreakdown_level = \"total\"")
        .edit(
            "numerator = \"need_mental_health = 'Y'\"",
            "numerator = \"need_mental_health = 'Y'\"\nbreakdowns = [\"ethnic_group\", \"immigration_status\", \"language\"]",
        )
        + r#"
[breakdowns.language]
label = "Main language"
categories = [
  { label = "English", filter = "language = 'English'" },
  { label = "Arabic or Dari", filter = "language IN ('Arabic', 'Dari')" },
]
remainder = "Another language"
"#;
    w.write("pipelines/example.toml", &pipeline);
    ok(&w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--restricted",
        "restricted",
    ]));
    let rows = csv_rows(&w.read("restricted/indicators_restricted.csv"));
    let pick = |category_type: &str| -> BTreeMap<String, (f64, f64)> {
        rows.iter()
            .filter(|r| {
                r["IndicatorID"] == "mental_health_need"
                    && r["PopulationGroup"] == "All service users"
                    && r["AreaType"] == "England"
                    && r["Timeperiod"] == "2023/24"
                    && r["CategoryType"] == category_type
            })
            .map(|r| {
                (
                    r["Category"].clone(),
                    (
                        r["Count"].parse().unwrap(),
                        r["Denominator"].parse().unwrap(),
                    ),
                )
            })
            .collect()
    };
    // Independently: the accepted records of 2023/24, by the first letter of the ethnicity code.
    let quarantined: BTreeSet<usize> = csv_rows(&w.read("reports/example-quality/quarantine.csv"))
        .iter()
        .filter(|r| r["source"] == "records")
        .map(|r| r["row"].parse().unwrap())
        .collect();
    let records = csv_rows(&w.read("sample_data/records.csv"));
    let mut expected: BTreeMap<&str, (f64, f64)> = BTreeMap::new();
    let mut language: BTreeMap<&str, f64> = BTreeMap::new();
    for (i, r) in records.iter().enumerate() {
        if quarantined.contains(&(i + 2)) {
            continue; // row 1 is the header
        }
        let date = &r["referral_date"];
        let (year, month): (i32, u32) = if date.contains('/') {
            (date[6..10].parse().unwrap(), date[3..5].parse().unwrap())
        } else {
            (date[0..4].parse().unwrap(), date[5..7].parse().unwrap())
        };
        let fy = if month < 4 { year - 1 } else { year };
        if fy != 2023 {
            continue;
        }
        let category = match r["ethnicity"].chars().next() {
            Some('A') => "Asian or Asian British",
            Some('B') => "Black, Black British, Caribbean or African",
            Some('M') => "Mixed or Multiple ethnic groups",
            Some('W') => "White",
            Some('O') => "Other ethnic group",
            Some('U') => "Ethnicity not known",
            Some('Z') => "Ethnicity declined",
            Some('9') => "Ethnicity not asked",
            _ => "Ethnicity missing",
        };
        let e = expected.entry(category).or_default();
        e.0 += (r["need_mental_health"] == "Y") as u8 as f64;
        e.1 += 1.0;
        let lang = match r["language"].as_str() {
            "English" => "English",
            "Arabic" | "Dari" => "Arabic or Dari",
            _ => "Another language",
        };
        *language.entry(lang).or_default() += 1.0;
    }
    let found = pick("Ethnic group (5 groups)");
    assert_eq!(found.len(), 9, "{found:?}");
    for (category, (count, den)) in &found {
        let want = expected
            .get(category.as_str())
            .copied()
            .unwrap_or((0.0, 0.0));
        assert_eq!((*count, *den), want, "{category}");
    }
    let found = pick("Main language");
    assert_eq!(found.len(), 3);
    for (category, (_, den)) in &found {
        assert_eq!(*den, language[category.as_str()], "{category}");
    }
    // Every breakdown adds up to the whole group.
    let whole = rows
        .iter()
        .find(|r| {
            r["IndicatorID"] == "mental_health_need"
                && r["PopulationGroup"] == "All service users"
                && r["AreaType"] == "England"
                && r["Timeperiod"] == "2023/24"
                && r["CategoryType"] == "Population group"
        })
        .unwrap();
    let total: f64 = whole["Denominator"].parse().unwrap();
    for kind in [
        "Ethnic group (5 groups)",
        "Immigration status",
        "Main language",
    ] {
        let sum: f64 = pick(kind).values().map(|x| x.1).sum();
        assert_eq!(sum, total, "{kind}");
    }
    // Published: at the total level only, with the group in its own column.
    let public = csv_rows(&w.read("reports/example/indicators.csv"));
    assert!(public
        .iter()
        .filter(|r| r["CategoryType"] == "Main language")
        .all(|r| r["AreaType"] == "England" && !r["PopulationGroup"].is_empty()));
    let html = w.read("reports/example/index.html");
    assert!(html.contains("by main language"));

    // A breakdown that does not exist, or on a published table, is a pipeline error.
    let bad = pipeline.edit(
        "breakdowns = [\"ethnic_group\", \"immigration_status\", \"language\"]",
        "breakdowns = [\"ethnic_groups\"]",
    );
    w.write("pipelines/example.toml", &bad);
    exits(
        &w.jsna(&["validate", "pipelines/example.toml"]),
        2,
        &["unknown breakdown 'ethnic_groups'", "ethnic_group"],
    );
}

/// `--log-format json` writes one JSON object per stderr line: each stage's start and end (with
/// the seconds the manifest records), then a summary whose counts match the report; `--quiet`
/// leaves nothing on success and only the error, as JSON, on failure.
#[test]
fn json_log_names_every_stage_and_the_summary_and_quiet_leaves_only_errors() {
    let w = Work::new();
    let o = w.jsna(&["--log-format", "json", "run", "pipelines/example.toml"]);
    ok(&o);
    let lines: Vec<serde_json::Value> = stderr(&o)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON: {l}: {e}")))
        .collect();
    for l in &lines {
        for key in ["time", "elapsed_s", "level", "event"] {
            assert!(l.get(key).is_some(), "{key} missing from {l}");
        }
    }
    let events = |kind: &str| -> Vec<&serde_json::Value> {
        lines.iter().filter(|l| l["event"] == kind).collect()
    };
    let stages = ["ingest", "indicators", "disclosure", "render"];
    let started: Vec<&str> = events("stage_start")
        .iter()
        .map(|l| l["stage"].as_str().unwrap())
        .collect();
    assert_eq!(started, stages);
    let manifest = manifest(&w, "reports/example");
    let timing = &manifest["not_reproducible"]["stage_seconds"];
    for end in events("stage_end") {
        let stage = end["stage"].as_str().unwrap();
        let logged = end["seconds"].as_f64().unwrap();
        let recorded = timing[stage].as_f64().unwrap();
        assert!(
            (logged - recorded).abs() < 0.002,
            "{stage}: {logged} vs {recorded}"
        );
    }
    assert_eq!(events("stage_end").len(), stages.len());
    let summary = events("summary");
    assert_eq!(summary.len(), 1);
    let s = summary[0];
    let read: u64 = quality_manifest(&w, "reports/example")["inputs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["rows_read"].as_u64().unwrap())
        .sum();
    assert_eq!(s["rows_read"].as_u64(), Some(read));
    let csv = w.read("reports/example/indicators.csv");
    assert_eq!(
        s["indicator_rows"].as_u64(),
        Some(csv.lines().count() as u64 - 1)
    );
    assert_eq!(
        s["outputs"].as_u64(),
        Some(manifest["outputs"].as_array().unwrap().len() as u64 + 1)
    );
    assert!(s["suppressed_cells"].as_u64().unwrap() > 0);

    let o = w.jsna(&[
        "--quiet",
        "--log-format",
        "json",
        "run",
        "pipelines/example.toml",
    ]);
    ok(&o);
    assert_eq!(stderr(&o), "");
    let o = w.jsna(&[
        "-q",
        "--log-format",
        "json",
        "run",
        "pipelines/missing.toml",
    ]);
    assert_eq!(o.status.code(), Some(2));
    let err: serde_json::Value = serde_json::from_str(stderr(&o).trim()).unwrap();
    assert_eq!(err["level"], "error");
    assert_eq!(err["exit_code"], 2);
    assert!(err["message"].as_str().unwrap().contains("missing.toml"));
    let o = w.jsna(&["--quiet", "run", "pipelines/example.toml"]);
    ok(&o);
    assert_eq!(stderr(&o), "");
}

/// `jsna template` writes the built-in template; an edited copy named in `[output] templates`
/// shapes every page, still escapes what it prints, is recorded in the manifest, and a change
/// to it is caught by `jsna verify`. A broken template stops the run before any data is read,
/// naming its line.
#[test]
fn a_user_template_shapes_every_page_and_is_checked_escaped_and_verified() {
    let w = Work::new();
    ok(&w.jsna(&["template", "pipelines/tpl"]));
    let builtin = w.read("pipelines/tpl/report.html");
    assert!(builtin.contains("{{ title }}"));
    exits(
        &w.jsna(&["template", "pipelines/tpl"]),
        2,
        &["already exists"],
    );
    let edited = builtin.replacen(
        "<main",
        "<p class=\"banner\">Anytown Council draft: {{ title }}</p><main",
        1,
    );
    assert_ne!(edited, builtin, "the template has a <main> element to mark");
    w.write("pipelines/tpl/report.html", &edited);
    let pipeline = w.read("pipelines/example.toml").replacen(
        "title = \"Refugees",
        "title = \"<script>alert(1)</script> Refugees",
        1,
    ) + "\n[output]\ntemplates = \"tpl\"\n";
    w.write("pipelines/t.toml", &pipeline);
    ok(&w.jsna(&["run", "pipelines/t.toml", "--out", "reports/t"]));
    let pages: Vec<String> = tree(&w.path("reports/t"))
        .into_iter()
        .filter(|(name, _)| name.ends_with(".html"))
        .map(|(_, bytes)| String::from_utf8(bytes).unwrap())
        .collect();
    assert!(pages.len() > 10);
    for page in &pages {
        assert!(page.contains("Anytown Council draft: &lt;script&gt;alert(1)&lt;"));
        assert!(!page.contains("<script>alert"));
    }
    let m = manifest(&w, "reports/t");
    assert_eq!(m["pipeline"]["template"]["path"], "tpl/report.html");
    assert_eq!(
        m["pipeline"]["template"]["sha256"].as_str().unwrap().len(),
        64
    );
    let verify = ["verify", "reports/t", "--pipeline", "pipelines/t.toml"];
    ok(&w.jsna(&verify));
    w.write(
        "pipelines/tpl/report.html",
        &edited.replacen("draft", "final", 1),
    );
    exits(
        &w.jsna(&verify),
        1,
        &[
            "tpl/report.html: the page template differs",
            "index.html: a fresh run gives different contents",
        ],
    );
    w.write(
        "pipelines/tpl/report.html",
        "<p>{{ title }}</p>\n{% if overview %}\n<p>never closed</p>\n",
    );
    let o = w.jsna(&["run", "pipelines/t.toml", "--out", "reports/t2"]);
    exits(&o, 2, &["tpl/report.html is not a valid template", "line "]);
    assert!(!w.path("reports/t2").exists());
    w.write("pipelines/t.toml", &pipeline.edit("\"tpl\"", "\"missing\""));
    let o = w.jsna(&["run", "pipelines/t.toml", "--out", "reports/t2"]);
    exits(&o, 2, &["cannot read missing/report.html", "jsna template"]);
}

/// Compares `actual` with the snapshot `tests/snapshots/{name}`; `UPDATE_SNAPSHOTS=1` rewrites
/// it instead. A mismatch names the first line that differs.
fn snapshot(name: &str, actual: &str) {
    let path = root().join("tests/snapshots").join(name);
    if std::env::var_os("UPDATE_SNAPSHOTS").is_some() {
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, actual).unwrap();
        return;
    }
    let expected = fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}; make it with UPDATE_SNAPSHOTS=1", path.display()));
    if expected == actual {
        return;
    }
    let (line, (want, got)) = expected
        .lines()
        .chain(std::iter::repeat("<end of file>"))
        .zip(actual.lines().chain(std::iter::repeat("<end of file>")))
        .enumerate()
        .find(|(_, (a, b))| a != b)
        .unwrap_or((0, ("", "")));
    panic!(
        "{name} differs from its snapshot at line {}:\n  snapshot: {want}\n  now:      {got}\nIf the change is intended, run UPDATE_SNAPSHOTS=1 cargo test and review the diff.",
        line + 1
    );
}

/// Every sheet of a workbook: its name and size, then the cells of its first `rows` rows, one
/// per line as `A1 = value` (numbers as numbers, text quoted).
fn cell_dump(path: &Path, rows: usize) -> String {
    use calamine::{open_workbook_auto, Data, Reader};
    let mut book = open_workbook_auto(path).unwrap();
    let mut out = String::new();
    for name in book.sheet_names() {
        let range = book.worksheet_range(&name).unwrap();
        let (height, width) = range.get_size();
        out.push_str(&format!("== {name}: {height} rows × {width} columns\n"));
        for (r, row) in range.rows().take(rows).enumerate() {
            for (c, cell) in row.iter().enumerate() {
                let text = match cell {
                    Data::Empty => continue,
                    Data::String(s) => format!("{s:?}"),
                    Data::Float(f) => format!("{f}"),
                    Data::Int(i) => format!("{i}"),
                    other => format!("{other:?}"),
                };
                let column = if c < 26 {
                    ((b'A' + c as u8) as char).to_string()
                } else {
                    format!(
                        "{}{}",
                        (b'A' + (c / 26 - 1) as u8) as char,
                        (b'A' + (c % 26) as u8) as char
                    )
                };
                out.push_str(&format!("{column}{} = {text}\n", r + 1));
            }
        }
    }
    out
}

/// Snapshots of the example report: one SVG chart, one area page, and the cells of the
/// workbook (every sheet's size and first rows; the ODS must hold the same cells).
#[test]
fn example_chart_area_page_and_workbook_cells_match_their_snapshots() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let report = w.path("reports/example");
    snapshot(
        "assessed_within_28_days.svg",
        &w.read("reports/example/charts/assessed_within_28_days.svg"),
    );
    snapshot(
        "area_E06000010.html",
        &w.read("reports/example/areas/E06000010.html"),
    );
    let xlsx = cell_dump(&report.join("jsna-indicators.xlsx"), 12);
    let ods = cell_dump(&report.join("jsna-indicators.ods"), 12);
    assert_eq!(xlsx, ods, "the XLSX and ODS workbooks hold different cells");
    snapshot("workbook_cells.txt", &xlsx);
}

/// The figure under the `<h3>` or `<h4>` heading that contains every one of `title_has`: its
/// title (HTML as written), alt text, and table rows (cell texts).
fn figure(html: &str, title_has: &[&str]) -> (String, String, Vec<Vec<String>>) {
    let headings = html
        .match_indices("<h3")
        .chain(html.match_indices("<h4"))
        .map(|(i, _)| i);
    let mut starts: Vec<usize> = headings.collect();
    starts.sort_unstable();
    let start = starts
        .into_iter()
        .find(|&i| {
            let title = &html[i..i + html[i..].find("</h").unwrap()];
            title_has.iter().all(|t| title.contains(t))
        })
        .unwrap_or_else(|| panic!("no figure titled with {title_has:?}"));
    let section = &html[start..];
    let open_end = section.find('>').unwrap() + 1;
    let title = section[open_end..section.find("</h").unwrap()].to_string();
    let alt_at = section.find("aria-label=\"").unwrap() + 12;
    let alt = section[alt_at..alt_at + section[alt_at..].find('"').unwrap()].to_string();
    let body = &section[section.find("<tbody>").unwrap()..section.find("</tbody>").unwrap()];
    let rows = body
        .split("<tr>")
        .skip(1)
        .map(|row| {
            row.split(['<', '>'])
                .collect::<Vec<_>>()
                .windows(2)
                .filter(|w| w[0].starts_with("th") || w[0].starts_with("td"))
                .map(|w| w[1].to_string())
                .collect()
        })
        .collect();
    (title, alt, rows)
}

/// The overview's trend and funnel charts: written as PNG and SVG, described in alt text, and
/// backed by a table whose numbers are those of indicators.csv. The funnel's verdicts match
/// limits computed here from the England value (p ± z √(p(1 − p)/n)). An area page's trend
/// shows the area and England in every period.
#[test]
fn trend_and_funnel_charts_show_the_published_numbers_and_their_verdicts() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let index = w.read("reports/example/index.html");
    for stem in ["assessed_within_28_days", "asylum_support_rate"] {
        for kind in ["trend", "funnel"] {
            let png =
                fs::read(w.path(&format!("reports/example/charts/{stem}_{kind}.png"))).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "{stem}_{kind}.png");
            let svg = w.read(&format!("reports/example/charts/{stem}_{kind}.svg"));
            assert!(
                svg.contains("<svg") && svg.contains("<text"),
                "{stem}_{kind}.svg"
            );
        }
    }
    assert!(
        !w.path("reports/example/charts/median_days_to_assessment_funnel.png")
            .exists(),
        "medians have no funnel plot"
    );

    let (title, alt, table) = figure(
        &index,
        &["Referrals assessed within 28 days", "areas against"],
    );
    let latest = "2023/24";
    let group = rows
        .iter()
        .map(|r| r["PopulationGroup"].as_str())
        .find(|g| !g.is_empty() && title.contains(&format!(", {g}, ")))
        .expect("the funnel names its group")
        .to_string();
    let find = |area: &str| {
        rows.iter()
            .find(|r| {
                r["IndicatorID"] == "assessed_within_28_days"
                    && r["AreaName"] == area
                    && r["Timeperiod"] == latest
                    && r["PopulationGroup"] == group
                    && r["Category"] == group
                    && r["Sex"] == "Persons"
                    && r["Age"] == "All ages"
            })
            .unwrap_or_else(|| panic!("{area}: no row for {group}"))
    };
    let england: f64 = find("All sample areas")["Value"].parse().unwrap();
    let p = england / 100.0;
    let mut counts: BTreeMap<String, usize> = BTreeMap::new();
    assert_eq!(table.len(), 12, "one row per area");
    for cells in &table {
        let r = find(&cells[0]);
        if cells[3] == "not shown" {
            assert!(r["Value"].starts_with('['), "{cells:?}");
            continue;
        }
        let (v, n): (f64, f64) = (
            r["Value"].parse().unwrap(),
            r["Denominator"].parse().unwrap(),
        );
        assert_eq!(cells[1], format!("{v:.1}"));
        assert_eq!(cells[2], r["Denominator"]);
        let half = |z: f64| 100.0 * z * (p * (1.0 - p) / n).sqrt();
        let expected = if v > england + half(3.090232) {
            "above the 99.8% limit"
        } else if v > england + half(1.959964) {
            "above the 95% limit"
        } else if v < england - half(3.090232) {
            "below the 99.8% limit"
        } else if v < england - half(1.959964) {
            "below the 95% limit"
        } else {
            "within the limits"
        };
        assert_eq!(
            cells[3], expected,
            "{}: {v} of {n} against {england}",
            cells[0]
        );
        *counts.entry(expected.to_string()).or_default() += 1;
    }
    for (verdict, n) in &counts {
        assert!(alt.contains(&format!("{n} {verdict}")), "{alt}");
    }
    assert!(
        alt.starts_with("Funnel plot: ") && alt.contains(&format!("{england:.1}%")),
        "{alt}"
    );

    // The overview's trend: one row per period, England's values from indicators.csv.
    let (_, alt, table) = figure(&index, &["Referrals assessed within 28 days", "trend"]);
    assert_eq!(table.len(), 3);
    for cells in &table {
        let r = rows
            .iter()
            .find(|r| {
                r["IndicatorID"] == "assessed_within_28_days"
                    && r["AreaCode"] == "E92000001"
                    && r["Timeperiod"] == cells[0].replace("&#x2f;", "/")
                    && r["PopulationGroup"] == group
                    && r["Category"] == group
                    && r["Sex"] == "Persons"
                    && r["Age"] == "All ages"
            })
            .unwrap();
        let v: f64 = r["Value"].parse().unwrap();
        assert_eq!(cells[1], format!("{v:.1}"));
    }
    assert!(alt.starts_with("Line chart: "), "{alt}");

    // An area page's trend follows a population group: the group in the area, the reference
    // group in the area and the group in England, each with value and interval per period.
    let page = w.read("reports/example/areas/E06000010.html");
    let (_, alt, table) = figure(&page, &["Referrals assessed within 28 days", "trend"]);
    assert_eq!(table.len(), 3);
    assert!(table.iter().all(|r| r.len() == 7), "{table:?}");
    assert!(
        alt.contains("UASC and former UASC care leavers, Kingston upon Hull")
            && alt.contains("Not subject to immigration control, Kingston upon Hull"),
        "{alt}"
    );
    assert!(
        alt.contains("Kingston upon Hull") && alt.contains("All sample areas"),
        "{alt}"
    );
    assert!(
        !page.contains("_funnel"),
        "funnel plots are on the overview only"
    );
}

/// Each spine row's values against indicators.csv: the area, England, the lowest and highest
/// area and the verdict, for `group` (or the whole population).
fn spine_rows_match(rows: &[BTreeMap<String, String>], table: &[Vec<String>], group: Option<&str>) {
    let names: BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r["IndicatorName"].as_str(), r["IndicatorID"].as_str()))
        .collect();
    for cells in table {
        let id = names[cells[0].as_str()];
        let latest: Vec<&BTreeMap<String, String>> = rows
            .iter()
            .filter(|r| {
                r["IndicatorID"] == id
                    && r["Timeperiod"] == "2023/24"
                    && r["PopulationGroup"] == group.unwrap_or("")
                    && r["Category"] == group.unwrap_or("")
                    && r["Sex"] == "Persons"
                    && r["Age"] == "All ages"
            })
            .collect();
        let at = |code: &str| latest.iter().find(|r| r["AreaCode"] == code).unwrap();
        let shown = |r: &BTreeMap<String, String>| match r["Value"].parse::<f64>() {
            Ok(v) => for_reading(v),
            Err(_) => r["Value"].clone(),
        };
        let area = at("E06000010");
        assert_eq!(cells[1], shown(area), "{id}");
        assert_eq!(cells[3], shown(at("E92000001")), "{id}");
        let values: Vec<f64> = latest
            .iter()
            .filter(|r| r["AreaType"] == "Local authority")
            .filter_map(|r| r["Value"].parse().ok())
            .collect();
        let lo = values.iter().copied().fold(f64::INFINITY, f64::min);
        let hi = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
        assert_eq!(cells[4], for_reading(lo), "{id}");
        assert_eq!(cells[7], for_reading(hi), "{id}");
        assert_eq!(
            cells[8], area["ComparedtoEnglandvalueorpercentiles"],
            "{id}"
        );
    }
}

/// An area page's spine chart: per indicator, the area's value and verdict against England as
/// in indicators.csv, and the lowest and highest of every area's published value.
#[test]
fn the_spine_chart_places_each_area_on_the_range_of_all_areas() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let page = w.read("reports/example/areas/E06000010.html");
    // Who lives here: the published tables' rates; each group's section: the group's indicators.
    let mut checked = 0;
    for (title_has, group, n) in [
        (vec!["Kingston upon Hull, City of against"], None, Some(2)),
        (
            vec!["Women and girls seeking asylum or with refugee status: Kingston upon Hull"],
            Some("Women and girls seeking asylum or with refugee status"),
            None,
        ),
    ] {
        let (title, alt, table) = figure(&page, &title_has);
        assert!(
            title.contains("against All sample areas and every area"),
            "{title}"
        );
        assert!(alt.starts_with("Spine chart: "), "{alt}");
        if let Some(n) = n {
            assert_eq!(table.len(), n, "one row per indicator");
        } else {
            assert!(table.len() > 5, "{table:?}");
        }
        checked += table.len();
        spine_rows_match(&rows, &table, group);
    }
    assert!(checked > 7);
    assert!(
        !w.read("reports/example/index.html")
            .contains("id=\"spine\""),
        "the overview is the benchmark: no spine chart"
    );
}

/// Indicators that share a `domain` get a heat map by group on every page: each cell is the
/// value in indicators.csv (one decimal), `[z]` where the indicator is not computed for the group.
#[test]
fn a_domain_heat_map_shows_each_indicator_by_group_as_published() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let png =
        fs::read(w.path("reports/example/charts/heatmap_monitoring_completeness.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");
    for (page, code) in [
        ("reports/example/index.html", "E92000001"),
        ("reports/example/areas/E08000003.html", "E08000003"),
    ] {
        let html = w.read(page);
        assert!(html.contains("<h2 id=\"domain-monitoring_completeness\">"));
        let at = html
            .find("id=\"domain-monitoring_completeness-heatmap\"")
            .expect("a heat map");
        let (title, alt, table) = figure(&html, &["Monitoring completeness by group"]);
        assert!(alt.starts_with("Heat map: "), "{alt}");
        assert!(title.contains("2023&#x2f;24"), "{title}");
        assert_eq!(table.len(), 6, "six indicators share the domain");
        let header_at = html[at..].find("<thead>").unwrap() + at;
        let header = &html[header_at..header_at + html[header_at..].find("</thead>").unwrap()];
        let groups: Vec<&str> = header
            .split("<th scope=\"col\">")
            .skip(2)
            .map(|h| h.split('<').next().unwrap())
            .collect();
        assert_eq!(groups.len(), 7, "{header}");
        let mut zs = 0;
        for cells in &table {
            let name = &cells[0];
            for (group, cell) in groups.iter().zip(&cells[1..]) {
                let published = rows.iter().find(|r| {
                    &r["IndicatorName"] == name
                        && r["AreaCode"] == code
                        && r["Timeperiod"] == "2023/24"
                        && r["PopulationGroup"] == *group
                        && r["Category"] == *group
                        && r["Sex"] == "Persons"
                        && r["Age"] == "All ages"
                });
                match published {
                    None => {
                        assert_eq!(cell, "[z]", "{name}, {group}");
                        zs += 1;
                    }
                    Some(r) => match r["Value"].parse::<f64>() {
                        Ok(v) => assert_eq!(cell, &format!("{v:.1}"), "{name}, {group}"),
                        Err(_) => assert_eq!(cell, &r["Value"], "{name}, {group}"),
                    },
                }
            }
        }
        assert_eq!(
            zs, 6,
            "immigration status is recorded for all service users only"
        );
    }
}

/// Population pyramids: each page's table holds the population file's latest year summed by sex
/// and age band, rounded to the nearest 5 like every published count, and each band's share; a
/// population file without sex and age band gives no pyramid.
#[test]
fn population_pyramids_show_the_rounded_estimates_by_sex_and_age() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let population = csv_rows(&w.read("sample_data/population.csv"));
    let latest = population
        .iter()
        .map(|r| r["year"].parse::<i32>().unwrap())
        .max()
        .unwrap();
    let page = w.read("reports/example/areas/E08000003.html");
    assert!(
        page.contains("<h3 id=\"population\">"),
        "a population figure"
    );
    let (title, alt, table) = figure(&page, &["Residents by age and sex"]);
    assert!(title.contains(&format!("Manchester, {latest}")), "{title}");
    assert!(alt.starts_with("Population pyramid: "), "{alt}");
    let mut expected: BTreeMap<(String, String), f64> = BTreeMap::new();
    for r in population
        .iter()
        .filter(|r| r["area_code"] == "E08000003" && r["year"] == latest.to_string())
    {
        *expected
            .entry((r["age_band"].clone(), r["sex"].clone()))
            .or_default() += r["population"].parse::<f64>().unwrap();
    }
    let rounded = |v: f64| format!("{}", (v / 5.0).round() * 5.0);
    let total: f64 = expected.values().map(|&v| (v / 5.0).round() * 5.0).sum();
    assert_eq!(table.len(), expected.len() / 2, "one row per age band");
    assert_eq!(table[0][0], "0-4", "youngest first");
    for cells in &table {
        let males = expected[&(cells[0].clone(), "Male".to_string())];
        let females = expected[&(cells[0].clone(), "Female".to_string())];
        assert_eq!(cells[1], rounded(males), "{}", cells[0]);
        assert_eq!(cells[2], rounded(females), "{}", cells[0]);
        let share = |v: f64| format!("{}%", for_reading(100.0 * (v / 5.0).round() * 5.0 / total));
        assert_eq!(cells[3], share(males), "{}", cells[0]);
        assert_eq!(cells[4], share(females), "{}", cells[0]);
        assert_eq!(cells.len(), 7, "with the benchmark's shares");
    }
    let png = fs::read(w.path("reports/example/charts/population_pyramid.png")).unwrap();
    assert_eq!(&png[..4], b"\x89PNG");

    // Without sex and age band, no pyramid.
    let mut totals: BTreeMap<(String, String, String), f64> = BTreeMap::new();
    for r in &population {
        *totals
            .entry((
                r["area_code"].clone(),
                r["area_name"].clone(),
                r["year"].clone(),
            ))
            .or_default() += r["population"].parse::<f64>().unwrap();
    }
    let mut csv = String::from("area_code,area_name,year,population\n");
    for ((code, name, year), n) in &totals {
        csv.push_str(&format!("{code},\"{name}\",{year},{n}\n"));
    }
    w.write("sample_data/population.csv", &csv);
    // Residents by age or sex (a `population` condition) need the two columns: a clear error.
    let o = w.jsna(&["run", "pipelines/example.toml", "--out", "reports/flat"]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("indicator 'uasc_children_rate' counts residents where age_max <= 17, which needs a population file with `sex` and `age_band` columns"),
        "{}",
        stderr(&o)
    );
    let pipeline: String = w
        .read("pipelines/example.toml")
        .lines()
        .filter(|l| !l.starts_with("population = "))
        .map(|l| format!("{l}\n"))
        .collect();
    w.write("pipelines/example.toml", &pipeline);
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "reports/flat"]));
    assert!(!w
        .read("reports/flat/index.html")
        .contains("id=\"population\""));
    assert!(!w
        .path("reports/flat/charts/population_pyramid.png")
        .exists());
}

/// `near` for a figure written to 6 decimal places.
fn near6(got: &str, want: f64) {
    let g: f64 = got
        .parse()
        .unwrap_or_else(|_| panic!("{got:?} is not a number"));
    assert!(
        (g - want).abs() <= 5e-7 + 1e-9 * want.abs(),
        "got {g}, want {want}"
    );
}

/// z for a two-sided interval, as published to 9 decimal places.
fn z_of(confidence: f64) -> f64 {
    if confidence == 0.95 {
        1.959963985
    } else {
        3.090232306
    }
}

/// Byar's interval of a count (used from 10 events), written out here from the formula.
fn byar(x: f64, confidence: f64) -> (f64, f64) {
    let z = z_of(confidence);
    let lo = x * (1.0 - 1.0 / (9.0 * x) - z / (3.0 * x.sqrt())).powi(3);
    let y = x + 1.0;
    let hi = y * (1.0 - 1.0 / (9.0 * y) + z / (3.0 * y.sqrt())).powi(3);
    (lo, hi)
}

/// The Wilson score interval of x in n, written out here from the formula.
fn wilson_by_hand(x: f64, n: f64, confidence: f64) -> (f64, f64) {
    let z = z_of(confidence);
    let p = x / n;
    let centre = p + z * z / (2.0 * n);
    let half = z * (p * (1.0 - p) / n + z * z / (4.0 * n * n)).sqrt();
    let den = 1.0 + z * z / n;
    ((centre - half) / den, (centre + half) / den)
}

/// Rates of records over residents, the representation index and the threshold flag, against
/// counts made here from records.csv and population.csv (unrounded, from a restricted run);
/// the rate gap and the funnel column against the published figures.
#[test]
fn rates_of_records_and_representation_match_an_independent_count() {
    let w = Work::new();
    ok(&w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--restricted",
        "restricted",
    ]));
    let restricted = csv_rows(&w.read("restricted/indicators_restricted.csv"));
    // Records as accepted: the quarantined lines (numbered from the header's line 1) left out.
    let quarantined: std::collections::BTreeSet<usize> =
        csv_rows(&w.read("reports/example-quality/quarantine.csv"))
            .iter()
            .filter(|r| r["source"] == "records")
            .map(|r| r["row"].parse().unwrap())
            .collect();
    let records: Vec<_> = csv_rows(&w.read("sample_data/records.csv"))
        .into_iter()
        .enumerate()
        .filter(|(i, _)| !quarantined.contains(&(i + 2)))
        .map(|(_, r)| r)
        .collect();
    let population = csv_rows(&w.read("sample_data/population.csv"));
    let refugee = [
        "asylum_seeker",
        "refugee",
        "refused_asylum_seeker",
        "uasc",
        "nrpf",
        "resettled",
    ];
    let in_2023_24 = |r: &BTreeMap<String, String>| {
        ("2023-04-01".."2024-04-01").contains(&r["referral_date"].as_str())
    };
    let age = |r: &BTreeMap<String, String>| r["age"].parse::<i32>().ok();
    let women = |r: &BTreeMap<String, String>| {
        r["sex"] == "F" && refugee.contains(&r["immigration_status"].as_str())
    };
    let older = |r: &BTreeMap<String, String>| {
        age(r).is_some_and(|a| a >= 60)
            && refugee[..5]
                .iter()
                .chain(["resettled"].iter())
                .any(|s| *s == r["immigration_status"])
    };
    let uasc_child =
        |r: &BTreeMap<String, String>| r["uasc"] == "Y" && age(r).is_some_and(|a| a < 18);
    let birmingham = "E08000025";
    let here = |r: &&BTreeMap<String, String>| r["area_code"] == birmingham && in_2023_24(r);
    let count = |f: &dyn Fn(&BTreeMap<String, String>) -> bool| {
        records.iter().filter(here).filter(|r| f(r)).count() as f64
    };
    let residents = |f: &dyn Fn(&str, &str) -> bool| -> f64 {
        population
            .iter()
            .filter(|r| r["area_code"] == birmingham && r["year"] == "2023")
            .filter(|r| f(&r["sex"], &r["age_band"]))
            .map(|r| r["population"].parse::<f64>().unwrap())
            .sum()
    };
    let row = |id: &str, group: &str| {
        restricted
            .iter()
            .find(|r| {
                r["IndicatorID"] == id
                    && r["AreaCode"] == birmingham
                    && r["Timeperiod"] == "2023/24"
                    && r["PopulationGroup"] == group
                    && r["Category"] == group
            })
            .unwrap_or_else(|| panic!("no row for {id} {group}"))
            .clone()
    };
    let women_label = "Women and girls seeking asylum or with refugee status";
    let older_label = "Older refugees and asylum seekers (60+)";

    // Referrals of refugee women per 1,000 female residents, with Byar's interval.
    let (x, pop) = (count(&women), residents(&|sex, _| sex == "Female"));
    assert!(x >= 10.0, "{x}");
    let r = row("referral_rate", women_label);
    near6(&r["Count"], x);
    near6(&r["Denominator"], pop);
    near6(&r["Value"], x / pop * 1000.0);
    let (lo, hi) = byar(x, 0.95);
    near6(&r["LowerCI95.0limit"], lo / pop * 1000.0);
    near6(&r["UpperCI95.0limit"], hi / pop * 1000.0);
    let (lo, hi) = byar(x, 0.998);
    near6(&r["LowerCI99.8limit"], lo / pop * 1000.0);
    near6(&r["UpperCI99.8limit"], hi / pop * 1000.0);

    // Representation of older refugees: their share of all referrals over the share of
    // residents aged 60 and over.
    let (x, n) = (count(&older), count(&|_| true));
    let share = residents(&|_, band| {
        band.split(['-', '+'])
            .next()
            .unwrap()
            .parse::<i32>()
            .unwrap()
            >= 60
    }) / residents(&|_, _| true);
    let r = row("representation_index", older_label);
    near6(&r["Count"], x);
    near6(&r["Denominator"], n);
    near6(&r["Value"], x / n / share);
    for (conf, lo, hi) in [
        (0.95, "LowerCI95.0limit", "UpperCI95.0limit"),
        (0.998, "LowerCI99.8limit", "UpperCI99.8limit"),
    ] {
        let (a, b) = wilson_by_hand(x, n, conf);
        near6(&r[lo], a / share);
        near6(&r[hi], b / share);
    }

    // UASC children per 10,000 children, flagged against the 0.1% threshold.
    let children = residents(&|_, band| ["0-4", "5-9", "10-14", "15-17"].contains(&band));
    let x = count(&uasc_child);
    let r = row("uasc_children_rate", "UASC and former UASC care leavers");
    near6(&r["Value"], x / children * 10_000.0);
    let flag = if x / children * 10_000.0 >= 10.0 {
        "At or above threshold"
    } else {
        "Below threshold"
    };
    assert_eq!(r["ComparedtoThreshold"], flag);
    // The threshold flag is on every row of the indicators with a threshold, and on no other.
    // Asylum support has the dispersal "cluster limit" of 1 in 200 residents (50 per 10,000).
    let published = csv_rows(&w.read("reports/example/indicators.csv"));
    let mut at_cluster_limit = 0;
    for p in &published {
        let has = p["ComparedtoThreshold"] != "Not compared";
        let numeric = p["Value"].parse::<f64>().is_ok();
        let id = p["IndicatorID"].as_str();
        assert_eq!(
            has,
            ["uasc_children_rate", "asylum_support_rate"].contains(&id) && numeric,
            "{p:?}"
        );
        if id == "asylum_support_rate" && numeric {
            let v: f64 = p["Value"].parse().unwrap();
            let flag = if v >= 50.0 {
                "At or above threshold"
            } else {
                "Below threshold"
            };
            assert_eq!(p["ComparedtoThreshold"], flag, "{p:?}");
            at_cluster_limit += usize::from(v >= 50.0);
        }
    }
    assert!(
        at_cluster_limit > 0,
        "Hull's sample support rate passes 1 in 200"
    );

    // The gap between two rates: the ratio with its log-scale interval, from published counts.
    let gaps = csv_rows(&w.read("reports/example/gaps.csv"));
    let published_row = |group: &str| {
        published
            .iter()
            .find(|r| {
                r["IndicatorID"] == "referral_rate"
                    && r["AreaCode"] == "E92000001"
                    && r["Timeperiod"] == "2023/24"
                    && r["Category"] == group
            })
            .unwrap()
    };
    let (g, reference) = (
        published_row(women_label),
        published_row("All service users"),
    );
    let num = |r: &BTreeMap<String, String>, c: &str| r[c].parse::<f64>().unwrap();
    let (x1, n1, x2, n2) = (
        num(g, "Count"),
        num(g, "Denominator"),
        num(reference, "Count"),
        num(reference, "Denominator"),
    );
    let gap = gaps
        .iter()
        .find(|r| {
            r["IndicatorID"] == "referral_rate"
                && r["AreaCode"] == "E92000001"
                && r["Timeperiod"] == "2023/24"
                && r["Group"] == women_label
                && r["ReferenceGroup"] == "All service users"
        })
        .expect("a gap row for a rate of records");
    let ratio = (x1 / n1) / (x2 / n2);
    let se = (1.0 / x1 + 1.0 / x2).sqrt();
    near6(&gap["Ratio"], ratio);
    near6(
        &gap["RatioLowerCI95.0limit"],
        (ratio.ln() - 1.959963985 * se).exp(),
    );
    near6(
        &gap["RatioUpperCI95.0limit"],
        (ratio.ln() + 1.959963985 * se).exp(),
    );
    near6(&gap["Difference"], (x1 / n1 - x2 / n2) * 1000.0);
    let half = 1.959963985 * (x1 / (n1 * n1) + x2 / (n2 * n2)).sqrt() * 1000.0;
    near6(
        &gap["DifferenceLowerCI95.0limit"],
        (x1 / n1 - x2 / n2) * 1000.0 - half,
    );

    // The funnel column of a proportion: each area against the normal-approximation limits
    // around England's value at its own denominator.
    let mut checked = 0;
    for p in published.iter().filter(|r| {
        r["IndicatorID"] == "interpreter_provided"
            && r["Category"] == "All service users"
            && r["Sex"] == "Persons"
            && r["Age"] == "All ages"
    }) {
        let england = published
            .iter()
            .find(|e| {
                e["IndicatorID"] == p["IndicatorID"]
                    && e["AreaCode"] == "E92000001"
                    && e["Timeperiod"] == p["Timeperiod"]
                    && e["Category"] == p["Category"]
                    && e["Sex"] == "Persons"
                    && e["Age"] == "All ages"
            })
            .unwrap();
        if p["AreaType"] != "Local authority" {
            assert_eq!(p["FunnelSignificance"], "Not compared");
            continue;
        }
        let (Ok(v), Ok(n)) = (p["Value"].parse::<f64>(), p["Denominator"].parse::<f64>()) else {
            assert_eq!(p["FunnelSignificance"], "Not compared");
            continue;
        };
        let avg = num(england, "Value") / 100.0;
        let limits = |z: f64| {
            let h = z * (avg * (1.0 - avg) / n).sqrt();
            ((avg - h).max(0.0) * 100.0, (avg + h).min(1.0) * 100.0)
        };
        let (l95, l998) = (limits(1.959963985), limits(3.090232306));
        let want = if v > l998.1 {
            "High (0.001)"
        } else if v > l95.1 {
            "High (0.025)"
        } else if v < l998.0 {
            "Low (0.001)"
        } else if v < l95.0 {
            "Low (0.025)"
        } else {
            "Not significant"
        };
        assert_eq!(p["FunnelSignificance"], want, "{p:?}");
        checked += 1;
    }
    assert!(checked >= 20, "{checked}");
}

/// Population conditions, representation and thresholds are checked before any data is read.
#[test]
fn misused_population_keys_are_reported_with_their_lines() {
    let w = Work::new();
    let text = w
        .read("pipelines/example.toml")
        .edit("population = \"sex = 'Female'\"", "population = \"gender = 'Female'\"")
        .edit(
            "method = \"representation\"\n",
            "method = \"representation\"\nnumerator = \"age > 1\"\n",
        )
        .edit(
            "id = \"referral_rate\"\n",
            "id = \"referral_rate\"\nbreakdowns = [\"sex\"]\n",
        )
        .edit(
            "numerator = \"interpreter_provided = 'Y'\"\n",
            "numerator = \"interpreter_provided = 'Y'\"\npopulation = \"sex = 'Male'\"\nthreshold = 50\n",
        );
    w.write("pipelines/bad.toml", &text);
    let o = w.jsna(&["validate", "pipelines/bad.toml"]);
    let err = stderr(&o);
    assert_eq!(o.status.code(), Some(2), "{err}");
    for says in [
        "population 'gender = 'Female'' is not a valid condition over the population columns (sex, age_band, age_min, age_max)",
        "is a representation index, which takes no numerator",
        "indicator 'referral_rate': a 'rate' indicator has no breakdowns yet",
        "indicator 'interpreter_provided': `population` is for 'rate' and 'representation' indicators",
        "indicator 'interpreter_provided': `threshold` is for 'rate' indicators",
    ] {
        assert!(err.contains(says), "missing {says:?} in:\n{err}");
    }
    assert!(err.contains("pipelines/bad.toml:"), "{err}");
}

/// A rolling indicator sums its counts over the periods ending with each row's, is labelled
/// with its window, and cannot be differenced against the single periods to reveal a
/// suppressed count.
#[test]
fn rolling_sums_cover_their_window_and_keep_single_periods_protected() {
    let w = Work::new();
    let rolling = "[[indicators]]\nid = \"interpreter_provided_3y\"\nname = \"Interpreter provided when needed, 3 years\"\nsource = \"records\"\nmethod = \"proportion\"\nnumerator = \"interpreter_provided = 'Y'\"\ndenominator = \"interpreter_needed = 'Y'\"\nrolling = 3\npolarity = \"high_is_good\"\n\n[disclosure]";
    let text = w
        .read("pipelines/example.toml")
        .edit("[disclosure]", rolling);
    w.write("pipelines/example.toml", &text);
    ok(&w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--restricted",
        "restricted",
    ]));
    let published = csv_rows(&w.read("reports/example/indicators.csv"));
    let restricted = csv_rows(&w.read("restricted/indicators_restricted.csv"));
    let key = |r: &BTreeMap<String, String>| {
        (
            r["AreaCode"].clone(),
            r["Category"].clone(),
            r["Sex"].clone(),
            r["Age"].clone(),
        )
    };
    let window = ["2021/22", "2022/23", "2023/24"];
    let single = |rows: &[BTreeMap<String, String>]| -> BTreeMap<_, BTreeMap<String, String>> {
        rows.iter()
            .filter(|r| r["IndicatorID"] == "interpreter_provided")
            .map(|r| ((key(r), r["Timeperiod"].clone()), r.clone()))
            .collect()
    };
    let (truth, shown) = (single(&restricted), single(&published));
    let mut checked = 0;
    for r in restricted
        .iter()
        .filter(|r| r["IndicatorID"] == "interpreter_provided_3y")
    {
        // The sample covers three financial years: one window, labelled Fingertips' way.
        assert_eq!(r["Timeperiod"], "2021/22 - 23/24");
        assert_eq!(r["TimeperiodSortable"], "20230000");
        for col in ["Count", "Denominator"] {
            let sum: f64 = window
                .iter()
                .map(|p| truth[&(key(r), p.to_string())][col].parse::<f64>().unwrap())
                .sum();
            near(&r[col], sum);
        }
        checked += 1;
    }
    assert!(checked > 100, "{checked}");
    let mut suppressed = 0;
    for r in published
        .iter()
        .filter(|r| r["IndicatorID"] == "interpreter_provided_3y")
    {
        let singles: Vec<&str> = window
            .iter()
            .map(|p| shown[&(key(r), p.to_string())]["Count"].as_str())
            .collect();
        if r["Count"] == "[c]" {
            suppressed += 1;
            continue;
        }
        // A published window with exactly one period hidden would give that period away.
        assert_ne!(
            singles.iter().filter(|c| **c == "[c]").count(),
            1,
            "{r:?} {singles:?}"
        );
        // Published values come from the published (rounded) window counts.
        if let (Ok(x), Ok(n)) = (r["Count"].parse::<f64>(), r["Denominator"].parse::<f64>()) {
            if n > 0.0 {
                let (lo, hi) = wilson_by_hand(x, n, 0.95);
                near6(&r["Value"], x / n * 100.0);
                near6(&r["LowerCI95.0limit"], lo * 100.0);
                near6(&r["UpperCI95.0limit"], hi * 100.0);
            }
        }
    }
    assert!(suppressed > 0, "the sample has small rolling counts too");

    // Only sums make sense rolled: a median cannot be.
    let text = w.read("pipelines/example.toml").edit(
        "value = \"days_to_assessment\"",
        "value = \"days_to_assessment\"\nrolling = 3",
    );
    w.write("pipelines/bad.toml", &text);
    let o = w.jsna(&["validate", "pipelines/bad.toml"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(
        stderr(&o).contains("`rolling` sums counts over periods, so it is for 'proportion', 'rate' and 'count' indicators, not 'median'"),
        "{}",
        stderr(&o)
    );
}

#[test]
fn a_declared_series_break_is_noted_marked_and_listed_in_the_caveats() {
    let w = Work::new();
    let text = w.read("pipelines/example.toml").edit(
        "path = \"../sample_data/records.csv\"",
        "path = \"../sample_data/records.csv\"\nbreaks = [{ date = \"2022-04-01\", reason = \"the service moved to a new case system\" }]",
    );
    w.write("pipelines/example.toml", &text);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let records_rows = |period: &str| -> Vec<&BTreeMap<String, String>> {
        rows.iter()
            .filter(|r| r["IndicatorID"] == "assessed_within_28_days" && r["Timeperiod"] == period)
            .collect()
    };
    assert!(!records_rows("2022/23").is_empty());
    for r in records_rows("2022/23") {
        assert!(
            r["Valuenote"].contains(
                "Series break: the service moved to a new case system. Figures before 2022/23 are not comparable"
            ),
            "{}",
            r["Valuenote"]
        );
    }
    for p in ["2021/22", "2023/24"] {
        assert!(records_rows(p)
            .iter()
            .all(|r| !r["Valuenote"].contains("Series break")));
    }
    // A published table's indicators are not from the records source: they carry their own
    // layout's known breaks (Asy_D11: Section 98 by local authority from 2022 Q4), not this one.
    for r in rows
        .iter()
        .filter(|r| r["IndicatorID"] == "asylum_support_rate")
    {
        assert!(!r["Valuenote"].contains("new case system"));
        assert_eq!(
            r["Valuenote"].contains("Series break: Section 98 support is given by local authority"),
            r["Timeperiod"] == "2022/23",
            "{:?}",
            r
        );
    }
    let html = w.read("reports/example/index.html").replace("&#x2f;", "/");
    assert!(html.contains("<h2 id=\"caveats\">Caveats</h2>"));
    assert!(html.contains("Series break at 2022/23: the service moved to a new case system."));
    assert!(
        w.read("reports/example/charts/assessed_within_28_days_trend.svg")
            .contains("Series break"),
        "the trend chart draws the rule"
    );
    assert!(
        html.contains("2022/23 (series break)"),
        "the chart's table names it"
    );

    // Declared breaks are checked when the pipeline loads.
    let bad = text.replace("date = \"2022-04-01\"", "date = \"April 2022\"");
    w.write("pipelines/example.toml", &bad);
    exits(
        &w.jsna(&["validate", "pipelines/example.toml"]),
        2,
        &[
            "a series break's `date` must be a date YYYY-MM-DD",
            "'April 2022'",
        ],
    );
    let bad = text.replace("the service moved to a new case system", " ");
    w.write("pipelines/example.toml", &bad);
    exits(
        &w.jsna(&["validate", "pipelines/example.toml"]),
        2,
        &["a series break needs its `reason`"],
    );
}

#[test]
fn a_missing_real_data_pack_names_the_variable_that_points_to_it() {
    let w = Work::new().with_pipeline("home_office.toml");
    let empty = w.path("no_pack_here");
    fs::create_dir_all(&empty).unwrap();
    let o = w.jsna_env(
        &["validate", "pipelines/home_office.toml"],
        &[("JSNA_REAL_DATA", empty.to_str().unwrap())],
    );
    exits(
        &o,
        2,
        &[
            "home_office.toml:11:",
            "input file not found",
            "ons/lad_lookup.csv",
            "set JSNA_REAL_DATA to the folder that holds it",
        ],
    );
}

#[test]
fn a_second_population_source_and_population_year_are_checked() {
    let w = Work::new();
    // Two sources with sex and age band: which gives the structure is ambiguous, so refused.
    let two = w.read("pipelines/example.toml").edit(
        "[sources.asylum_support]",
        "[sources.population_again]\nkind = \"population\"\npath = \"../sample_data/population.csv\"\n\n[sources.asylum_support]",
    );
    w.write("pipelines/example.toml", &two);
    exits(
        &w.jsna(&["run", "pipelines/example.toml"]),
        2,
        &["two population sources have sex and age_band columns"],
    );
    // population_year is for rates, and must be a year.
    let text = w.read("pipelines/example.toml").replace(
        "[sources.population_again]\nkind = \"population\"\npath = \"../sample_data/population.csv\"\n\n",
        "",
    );
    let proportion = text.edit(
        "id = \"assessed_within_28_days\"",
        "id = \"assessed_within_28_days\"\npopulation_year = 2022",
    );
    w.write("pipelines/example.toml", &proportion);
    exits(
        &w.jsna(&["validate", "pipelines/example.toml"]),
        2,
        &["`population_year` fixes the residents of a 'rate' indicator"],
    );
    // On a rate, every period takes the residents of that one year.
    let rate = text.edit(
        "id = \"referral_rate\"",
        "id = \"referral_rate\"\npopulation_year = 2022",
    );
    w.write("pipelines/example.toml", &rate);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let denominators: BTreeSet<(String, String)> = rows
        .iter()
        .filter(|r| {
            r["IndicatorID"] == "referral_rate"
                && r["AreaType"] == "England"
                && r["PopulationGroup"]
                    == rows
                        .iter()
                        .find(|q| q["IndicatorID"] == "referral_rate")
                        .unwrap()["PopulationGroup"]
        })
        .map(|r| (r["Timeperiod"].clone(), r["Denominator"].clone()))
        .collect();
    let distinct: BTreeSet<&String> = denominators.iter().map(|(_, d)| d).collect();
    assert!(denominators.len() > 1, "{denominators:?}");
    assert_eq!(
        distinct.len(),
        1,
        "one year's residents for every period: {denominators:?}"
    );
    assert!(
        distinct
            .iter()
            .all(|d| d.parse::<f64>().is_ok_and(|d| d > 0.0)),
        "{distinct:?}"
    );
    assert!(w
        .read("reports/example/index.html")
        .contains("at mid-2022 (the same year for every period"));
}

#[test]
fn medians_are_published_only_from_a_published_count_that_hides_their_values() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let medians: Vec<_> = rows
        .iter()
        .filter(|r| r["IndicatorID"] == "median_days_to_assessment")
        .collect();
    let (mut shown, mut hidden) = (0, 0);
    for r in &medians {
        match r["Value"].as_str() {
            "[c]" => {
                hidden += 1;
                assert_eq!(
                    r["Valuenote"],
                    "[c] suppressed to protect confidentiality (disclosure control)"
                );
                // Hidden by the count's own rule, or by the median rule on a published count.
                assert!(r["Count"] == "[c]" || r["Count"].parse::<f64>().unwrap() < 20.0);
            }
            "[x]" => assert_eq!(r["Count"], "0"),
            v => {
                shown += 1;
                let v: f64 = v.parse().unwrap();
                assert_eq!(
                    v,
                    v.round(),
                    "a whole number: a half would tell an even count"
                );
                assert!(r["Count"].parse::<f64>().unwrap() >= 20.0, "{r:?}");
                for c in [
                    "LowerCI95.0limit",
                    "UpperCI95.0limit",
                    "LowerCI99.8limit",
                    "UpperCI99.8limit",
                ] {
                    let b: f64 = r[c].parse().unwrap_or_else(|_| panic!("{c} shown: {r:?}"));
                    assert_eq!(b, b.round());
                }
            }
        }
    }
    assert!(
        shown > 100 && hidden > 100,
        "shown {shown}, hidden {hidden}"
    );

    // The minimum must leave every published median 10 values or more.
    let text = w
        .read("pipelines/example.toml")
        .edit("rounding = 5", "rounding = 5\nmedian_min_values = 8");
    w.write("pipelines/example.toml", &text);
    exits(
        &w.jsna(&["validate", "pipelines/example.toml"]),
        2,
        &["median_min_values must be at least 12", "got 8"],
    );
}

#[test]
fn key_messages_say_where_an_area_stands_with_its_rank_and_ratio() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let rows = csv_rows(&w.read("reports/example/indicators.csv"));
    let id = "asylum_support_rate";
    let latest = rows
        .iter()
        .filter(|r| r["IndicatorID"] == id)
        .map(|r| r["Timeperiod"].clone())
        .max()
        .unwrap();
    let mut areas: Vec<(f64, String, String)> = rows
        .iter()
        .filter(|r| {
            r["IndicatorID"] == id
                && r["AreaType"] == "Local authority"
                && r["Timeperiod"] == latest
        })
        .map(|r| {
            (
                r["Value"].parse().unwrap(),
                r["AreaCode"].clone(),
                r["AreaName"].clone(),
            )
        })
        .collect();
    areas.sort_by(|a, b| b.0.total_cmp(&a.0));
    let total: f64 = rows
        .iter()
        .find(|r| r["IndicatorID"] == id && r["AreaType"] == "England" && r["Timeperiod"] == latest)
        .unwrap()["Value"]
        .parse()
        .unwrap();
    let page = |code: &str| {
        w.read(&format!("reports/example/areas/{code}.html"))
            .replace("&#x2f;", "/")
            .replace("&#x27;", "'")
    };
    let (top, second) = (&areas[0], &areas[1]);
    let n = areas.len();
    assert!(page(&top.1).contains(&format!(
        "People on asylum support per 10,000 residents, {latest}: {} {:.1} per 10,000 residents, the highest of {n} areas; {:.1} times All sample areas",
        top.2,
        top.0,
        top.0 / total
    )));
    assert!(page(&second.1).contains(&format!("the 2nd highest of {n} areas")));
    let bottom = &areas[n - 1];
    assert!(page(&bottom.1).contains("the lowest of"));
    let overview = w.read("reports/example/index.html").replace("&#x2f;", "/");
    assert!(overview.contains(&format!(
        "People on asylum support per 10,000 residents, {latest} (All sample areas: {total:.1} per 10,000 residents), {n} areas: highest {}",
        top.2
    )));
}

#[test]
fn the_analysts_words_reach_their_sections_safely() {
    let w = Work::new();
    let text = w.read("pipelines/example.toml").edit(
        "[narrative]",
        "[narrative.areas.E06000010]\nsummary = \"Hull's **own** summary <script>alert(1)</script> [x](javascript:alert(2))\"\nimplications = \"Hull should act.\"\n\n[narrative]",
    );
    w.write("pipelines/example.toml", &text);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let overview = w.read("reports/example/index.html");
    assert!(overview.contains("<h2 id=\"summary\">Summary</h2>"));
    assert!(overview.contains("<strong>synthetic</strong>"));
    assert!(overview.contains("<h2 id=\"implications\">Implications for commissioning</h2>"));
    assert!(overview.contains("<a href=\"#implications\">Implications for commissioning</a>"));
    assert!(
        overview.contains("The sample&#x27;s records are generated at random")
            || overview.contains("The sample's records are generated at random")
    );
    assert!(!overview.contains("Hull's **own**") && !overview.contains("Hull&#x27;s <strong>own"));
    let hull = w.read("reports/example/areas/E06000010.html");
    assert!(
        hull.contains("<strong>own</strong>"),
        "the area's own summary"
    );
    assert!(hull.contains("Hull should act."));
    assert!(!hull.contains("<script>alert"), "raw HTML is shown as text");
    assert!(hull.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!hull.contains("javascript:"), "unsafe links are dropped");
    assert!(
        !hull.contains("Name what commissioners should do"),
        "not the overview's"
    );
    let other = w.read("reports/example/areas/E08000025.html");
    assert!(
        !other.contains("<h2 id=\"summary\">Summary</h2>\n<div class=\"narrative\">"),
        "no analyst's summary where none is given"
    );
    assert!(
        other.contains("Groups overlap: one person can be in several groups."),
        "caveats on every page"
    );

    let bad = text.replace("[narrative.areas.E06000010]", "[narrative.areas.E99999999]");
    w.write("pipelines/example.toml", &bad);
    exits(
        &w.jsna(&["validate", "pipelines/example.toml"]),
        2,
        &["[narrative.areas] names E99999999 that is no area of this pipeline"],
    );
}

#[test]
fn a_condition_over_other_rows_is_refused_at_load_not_evaluated_per_batch() {
    let w = Work::new();
    let text = w.read("pipelines/example.toml").edit(
        "filter = \"nrm_referral = 'Y'\"",
        "filter = \"COUNT(*) OVER (PARTITION BY person_id) > 1\"",
    );
    w.write("pipelines/example.toml", &text);
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    exits(
        &o,
        2,
        &[
            "pipelines/example.toml:78:",
            "uses the aggregate or window function COUNT, which depends on other rows",
            "^^^",
        ],
    );
    assert!(!w.path("reports/example").exists());
}

#[test]
fn calc_takes_commas_only_as_thousands_separators() {
    let w = Work::new();
    w.write(
        "p.csv",
        "area,numerator,denominator\nA,\"1,234\",\"5,000\"\nB,\"1,5\",100\nC,\"12,34\",100\n",
    );
    let o = w.jsna(&[
        "calc",
        "proportion",
        "--input",
        "p.csv",
        "--output",
        "o.csv",
    ]);
    exits(
        &o,
        1,
        &[
            "p.csv:3: column \"numerator\": \"1,5\" is missing or not a number",
            "p.csv:4: column \"numerator\": \"12,34\" is missing or not a number",
        ],
    );
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "proportion",
            "--input",
            "p.csv",
            "--output",
            "o.csv",
            "--on-error",
            "na",
        ],
    );
    assert_eq!(rows[0]["numerator"], "1234.0");
    assert_eq!(rows[0]["denominator"], "5000.0");
    assert_eq!(rows[1]["value"], "", "1,5 is not read as 15");
}

#[test]
fn calc_gives_the_mean_of_one_value_without_an_interval() {
    let w = Work::new();
    w.write("m.csv", "g,value\na,5\nb,2\nb,4\n");
    let rows = calc_rows(
        &w,
        &[
            "calc",
            "mean",
            "--input",
            "m.csv",
            "--output",
            "m.out.csv",
            "--group-by",
            "g",
        ],
    );
    assert_eq!(rows[0]["value"], "5.0", "PHE's phe_mean gives the value");
    assert_eq!(rows[0]["lower95_0cl"], "", "and no interval from one value");
    // Two values 2 and 4: mean 3, sd √2, t(0.975, 1) = 12.7062047: 3 ± 12.7062047.
    near(&rows[1]["lower95_0cl"], 3.0 - 12.706_204_736_174_7);
    near(&rows[1]["upper95_0cl"], 3.0 + 12.706_204_736_174_7);
}

#[test]
fn calc_dsr_refuses_a_band_given_twice_in_a_group() {
    let w = Work::new();
    w.write(
        "d.csv",
        "area,age_band,numerator,denominator\nA,0-4,5,1000\nA,5-9,3,1000\nA,0-4,5,1000\nB,0-4,1,500\n",
    );
    let o = w.jsna(&[
        "calc",
        "dsr",
        "--input",
        "d.csv",
        "--output",
        "d.out.csv",
        "--group-by",
        "area",
    ]);
    exits(
        &o,
        1,
        &["d.csv:4: column \"age_band\": \"0-4\" repeats the age band of row 2 in the same group"],
    );
    assert!(!w.path("d.out.csv").exists());
}
