//! A run never destroys data, never publishes record-level values, and refuses hostile input with
//! a clear message (issue 22). Every test runs the real binary.

mod util;

use std::fs;
use util::{exits, ok, stderr, tree, Work};

/// Every input file's bytes, to compare before and after a refused run.
fn inputs(w: &Work) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut all = tree(&w.path("sample_data"));
    all.insert(
        "pipeline".into(),
        fs::read(w.path("pipelines/example.toml")).unwrap(),
    );
    all
}

#[test]
fn an_output_folder_that_holds_or_is_an_input_is_refused_and_nothing_is_lost() {
    let w = Work::new();
    let before = inputs(&w);
    let cases: [&[&str]; 6] = [
        &["run", "pipelines/example.toml", "--out", "sample_data"],
        &[
            "run",
            "pipelines/example.toml",
            "--out",
            "sample_data/population.csv",
        ],
        &[
            "run",
            "pipelines/example.toml",
            "--out",
            "sample_data/population.csv/x",
        ],
        &["run", "pipelines/example.toml", "--out", "pipelines"],
        &["run", "pipelines/example.toml", "--out", "."],
        &["run", "pipelines/example.toml", "--out", "/"],
    ];
    for args in cases {
        let o = w.jsna(args);
        exits(&o, 2, &["refusing to write the output folder"]);
    }
    let o = w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--restricted",
        "sample_data",
    ]);
    exits(
        &o,
        2,
        &[
            "refusing to write the restricted folder",
            "contains the input",
        ],
    );
    let o = w.jsna(&[
        "run",
        "pipelines/example.toml",
        "--out",
        "reports/r",
        "--restricted",
        "reports/r/secret",
    ]);
    exits(&o, 2, &["refusing to write"]);
    w.edit_pipeline(&[(
        "[sources.records]",
        "[output]\ndir = \"\"\n\n[sources.records]",
    )]);
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(
        &o,
        2,
        &[
            "refusing to write the output folder",
            "pipeline file's folder",
        ],
    );
    let mut after = inputs(&w);
    after.insert("pipeline".into(), before["pipeline"].clone());
    assert_eq!(before, after, "an input changed");
    // Nothing hidden was left beside the inputs either.
    let names: Vec<String> = fs::read_dir(w.path("."))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    assert!(names.iter().all(|n| !n.starts_with('.')), "{names:?}");
}

#[test]
fn only_a_folder_jsna_wrote_is_replaced_and_killed_runs_are_tidied() {
    let w = Work::new();
    // A folder of someone else's work at the target is left alone.
    w.write("reports/mine/notes.txt", "my notes");
    let o = w.jsna(&["run", "pipelines/example.toml", "--out", "reports/mine"]);
    exits(&o, 2, &["was not written by jsna"]);
    assert_eq!(w.read("reports/mine/notes.txt"), "my notes");

    // A report jsna wrote is replaced; a staging folder of a dead process and a report moved
    // aside by a killed swap are recognised and dealt with, with a message.
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "reports/r"]));
    let first = w.read("reports/r/manifest.json");
    fs::rename(
        w.path("reports/r"),
        w.path("reports/.r.jsna-old-4000000000-1"),
    )
    .unwrap();
    fs::create_dir_all(w.path("reports/.r.jsna-stage-4000000001-2")).unwrap();
    w.write("reports/.r.jsna-stage-4000000001-2/.jsna-staging", "");
    w.write("reports/.r.jsna-stage-4000000001-2/index.html", "half");
    let o = w.jsna(&["run", "pipelines/example.toml", "--out", "reports/r"]);
    ok(&o);
    let err = stderr(&o);
    assert!(err.contains("put back the previous report"), "{err}");
    assert!(
        err.contains("left by an earlier run that was killed"),
        "{err}"
    );
    let names: Vec<String> = fs::read_dir(w.path("reports"))
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().to_string())
        .collect();
    let mut sorted: Vec<&str> = names.iter().map(String::as_str).collect();
    sorted.sort();
    assert_eq!(sorted, ["mine", "r", "r-quality"], "{names:?}");
    // The new report has the same outputs as the first (same inputs).
    let outputs =
        |m: &str| serde_json::from_str::<serde_json::Value>(m).unwrap()["outputs"].clone();
    assert_eq!(outputs(&first), outputs(&w.read("reports/r/manifest.json")));
}

#[test]
fn sigterm_during_a_run_removes_its_staging_folder_and_leaves_the_old_report() {
    let w = Work::new();
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "reports/r"]));
    let before = tree(&w.path("reports/r"));
    let mut child = std::process::Command::new(util::BIN)
        .args(["run", "pipelines/example.toml", "--out", "reports/r"])
        .current_dir(w.path("."))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let staged = || {
        fs::read_dir(w.path("reports")).unwrap().any(|e| {
            let n = e.unwrap().file_name().to_string_lossy().to_string();
            n.starts_with(".r.jsna-stage-")
        })
    };
    let start = std::time::Instant::now();
    while !staged() {
        assert!(
            child.try_wait().unwrap().is_none(),
            "the run ended before it staged a report"
        );
        assert!(
            start.elapsed().as_secs() < 120,
            "no staging folder appeared"
        );
        std::thread::sleep(std::time::Duration::from_millis(2));
    }
    let status = std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(128 + 15), "{}", stderr(&out));
    assert!(stderr(&out).contains("interrupted"), "{}", stderr(&out));
    assert!(!staged(), "the staging folder was left behind");
    assert_eq!(before, tree(&w.path("reports/r")), "the old report changed");
}

#[test]
fn record_level_values_stay_out_of_the_report_and_quality_counts_are_protected() {
    let w = Work::new();
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    ok(&o);
    let report = tree(&w.path("reports/example"));
    assert!(
        !report.keys().any(|k| k.contains("quarantine")),
        "{:?}",
        report.keys()
    );
    let quarantine = w.read("reports/example-quality/quarantine.csv");
    assert!(quarantine.lines().count() > 1, "the sample has bad records");
    // No row number of a quarantined record appears in the published summary, and every
    // count there is 0, [c] or a multiple of 5.
    let summary = w.read("reports/example/quality/summary.csv");
    let mut r = csv::Reader::from_reader(summary.as_bytes());
    let mut counts = 0;
    for row in r.records() {
        let row = row.unwrap();
        let n = &row[5];
        if n.is_empty() || &row[0] != "records" {
            continue;
        }
        counts += 1;
        assert!(
            n == "[c]" || n.parse::<u64>().is_ok_and(|v| v % 5 == 0),
            "unprotected count {n} in {row:?}"
        );
    }
    assert!(counts > 5);
    // The exact counts are in the quality folder, which says it is not for publication.
    let exact: serde_json::Value =
        serde_json::from_str(&w.read("reports/example-quality/manifest.json")).unwrap();
    assert!(exact["not_for_publication"].is_string());
    let read = exact["inputs"][1]["rows_read"].as_u64().unwrap();
    let accepted = exact["inputs"][1]["rows_accepted"].as_u64().unwrap();
    let rejected = exact["inputs"][1]["rows_rejected"].as_u64().unwrap();
    assert_eq!(read, accepted + rejected);
    assert!(quarantine.lines().count() as u64 > rejected);
    // The published manifest carries the protected counts only.
    let published: serde_json::Value =
        serde_json::from_str(&w.read("reports/example/manifest.json")).unwrap();
    let shown = published["inputs"][1]["rows_rejected"].as_str().unwrap();
    assert!(
        shown == "[c]" || shown.parse::<u64>().unwrap() % 5 == 0,
        "{shown}"
    );
    let page = w.read("reports/example/index.html");
    assert!(page.contains("not for publication"));
    // Every suppressed value carries one note, whichever rule hid it: a note naming the rule
    // would tell a reader that a primary cell is from 1 to 7 and a secondary one maybe more.
    let indicators = w.read("reports/example/indicators.csv");
    let mut r = csv::Reader::from_reader(indicators.as_bytes());
    let h = r.headers().unwrap().clone();
    let (value, note) = (
        h.iter().position(|c| c == "Value").unwrap(),
        h.iter().position(|c| c == "Valuenote").unwrap(),
    );
    let notes: std::collections::BTreeSet<String> = r
        .records()
        .map(|row| row.unwrap())
        .filter(|row| &row[value] == "[c]")
        .map(|row| row[note].to_string())
        .collect();
    assert_eq!(
        notes.into_iter().collect::<Vec<_>>(),
        ["[c] suppressed to protect confidentiality (disclosure control)"]
    );
}

#[test]
fn protection_cannot_be_switched_off_without_a_reason() {
    let w = Work::new();
    let example = w.read("pipelines/example.toml");
    assert!(example.contains("[disclosure]\nthreshold = 7\n"));
    let with = |block: &str| {
        w.write(
            "pipelines/example.toml",
            &example.replacen("[disclosure]\nthreshold = 7\n", block, 1),
        );
        w.jsna(&["run", "pipelines/example.toml"])
    };
    exits(
        &with("[disclosure]\nthreshold = 0\n"),
        2,
        &[
            "threshold = 0 turns off suppression",
            "no_suppression_reason",
        ],
    );
    exits(
        &with("[disclosure]\nthreshold = 0\nno_suppression_reason = \"  \"\n"),
        2,
        &["must say why"],
    );
    exits(
        &with("[disclosure]\nthreshold = 7\nno_suppression_reason = \"why not\"\n"),
        2,
        &["only for threshold = 0"],
    );
    let o = with("[disclosure]\nthreshold = 0\nno_suppression_reason = \"internal audit copy for the Caldicott guardian\"\n");
    ok(&o);
    let page = w.read("reports/example/index.html");
    assert!(page.contains("disclosure control is turned off"));
    assert!(page.contains("internal audit copy for the Caldicott guardian"));
    let m: serde_json::Value =
        serde_json::from_str(&w.read("reports/example/manifest.json")).unwrap();
    assert_eq!(
        m["parameters"]["disclosure"]["no_suppression_reason"],
        "internal audit copy for the Caldicott guardian"
    );
}

#[test]
fn ids_and_identifier_exemptions_are_checked_when_the_pipeline_loads() {
    let w = Work::new();
    let example = w.read("pipelines/example.toml");
    let first_id = example
        .lines()
        .find(|l| l.starts_with("id = \""))
        .expect("the example has indicators")
        .to_string();
    for (bad, says) in [
        ("id = \"../../../escaped\"", "may hold only letters"),
        ("id = \"\"", "is empty"),
        ("id = \"x_trend\"", "share a chart file name"),
    ] {
        w.write(
            "pipelines/example.toml",
            &example.replacen(&first_id, bad, 1),
        );
        let o = w.jsna(&["run", "pipelines/example.toml"]);
        exits(&o, 2, &[says]);
        assert!(!w.path("escaped").exists() && !w.path("../escaped").exists());
    }
    w.write(
        "pipelines/example.toml",
        &example.replacen(
            "[sources.records]\nkind = \"records\"",
            "[sources.records]\nkind = \"records\"\nallow_identifiers = { nhs_no = \"\" }",
            1,
        ),
    );
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    exits(
        &o,
        2,
        &["allow_identifiers needs a reason for column 'nhs_no'"],
    );
}

#[test]
fn hostile_records_are_refused_or_quarantined_with_their_reason() {
    let w = Work::new();
    let records = w.read("sample_data/records.csv");
    let mut lines: Vec<String> = records.lines().map(String::from).collect();
    let header: Vec<&str> = lines[0].split(',').collect();
    let referral = header.iter().position(|c| *c == "referral_date").unwrap();
    let edit = |line: &str, col: usize, value: &str| {
        let mut f: Vec<String> = line.split(',').map(String::from).collect();
        f[col] = value.to_string();
        f.join(",")
    };
    lines[1] = edit(&lines[1], referral, "01/04/23");
    lines[2] = edit(&lines[2], referral, "0001-01-01");
    lines[3] = edit(&lines[3], referral, "9999-12-31");
    w.write("sample_data/records.csv", &(lines.join("\n") + "\n"));
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(
        q.contains("2,referral_date,01/04/23,\"has a two-digit year"),
        "{q}"
    );
    assert!(
        q.contains("3,referral_date,0001-01-01,is outside the plausible dates"),
        "{q}"
    );
    assert!(
        q.contains("4,referral_date,9999-12-31,is outside the plausible dates"),
        "{q}"
    );
    // No period was made from them.
    let indicators = w.read("reports/example/indicators.csv");
    let mut r = csv::Reader::from_reader(indicators.as_bytes());
    let column = r
        .headers()
        .unwrap()
        .iter()
        .position(|h| h == "Timeperiod")
        .unwrap();
    let periods: std::collections::BTreeSet<String> = r
        .records()
        .map(|row| row.unwrap()[column].to_string())
        .collect();
    assert!(periods.iter().all(|p| p.starts_with("202")), "{periods:?}");

    // A postcode inside free text refuses the file, naming the column and line, not the value.
    let with_notes: Vec<String> = records
        .lines()
        .enumerate()
        .map(|(i, l)| match i {
            0 => format!("{l},notes"),
            5 => format!("{l},moved to SW1A 1AA in May"),
            _ => format!("{l},"),
        })
        .collect();
    w.write("sample_data/records.csv", &(with_notes.join("\n") + "\n"));
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(
        &o,
        1,
        &[
            "column \"notes\" holds a full UK postcode inside text",
            "first on line 6",
        ],
    );
    assert!(!stderr(&o).contains("SW1A"));

    // Two columns of one name: which to use would be a guess.
    let doubled: Vec<String> = records
        .lines()
        .map(|l| {
            let first = l.split(',').nth(1).unwrap().to_string();
            format!(
                "{l},{}",
                if l.starts_with("person_id") {
                    "area_code".into()
                } else {
                    first
                }
            )
        })
        .collect();
    w.write("sample_data/records.csv", &(doubled.join("\n") + "\n"));
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(&o, 2, &["column \"area_code\" appears twice"]);

    // Classic Mac line ends are read as line ends, in linear time.
    w.write("sample_data/records.csv", &records.replace('\n', "\r"));
    let o = w.jsna(&["run", "pipelines/example.toml", "--out", "reports/cr"]);
    ok(&o);
    w.write("sample_data/records.csv", &records);
    ok(&w.jsna(&["run", "pipelines/example.toml", "--out", "reports/lf"]));
    assert_eq!(
        w.read("reports/cr/indicators.csv"),
        w.read("reports/lf/indicators.csv")
    );
}

#[test]
fn hostile_reference_files_are_refused_with_a_clear_message() {
    let w = Work::new();
    // total_code naming an area would merge it with the total.
    w.edit_pipeline(&[("total_code = \"E92000001\"", "total_code = \"E08000025\"")]);
    exits(
        &w.jsna(&["run", "pipelines/example.toml"]),
        2,
        &["total_code \"E08000025\" is also the code of Birmingham"],
    );
    w.edit_pipeline(&[("total_code = \"E08000025\"", "total_code = \"E92000001\"")]);
    // A population file with a header and no rows.
    let population = w.read("sample_data/population.csv");
    w.write(
        "sample_data/population.csv",
        &(population.lines().next().unwrap().to_string() + "\n"),
    );
    exits(
        &w.jsna(&["run", "pipelines/example.toml"]),
        2,
        &["population file has no usable rows"],
    );
    // A repeated population row would count its residents twice.
    let second = population.lines().nth(1).unwrap();
    w.write(
        "sample_data/population.csv",
        &format!("{population}{second}\n"),
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(
        q.contains("repeats an earlier row's area, year, sex and age band"),
        "{q}"
    );
    w.write("sample_data/population.csv", &population);
    // Records with a header and nothing else, and a compressed file named .csv.
    let records = w.read("sample_data/records.csv");
    w.write(
        "sample_data/records.csv",
        &(records.lines().next().unwrap().to_string() + "\n"),
    );
    exits(
        &w.jsna(&["run", "pipelines/example.toml"]),
        2,
        &["has a header and no records"],
    );
    fs::write(w.path("sample_data/records.csv"), b"\x1f\x8b\x08\x00rest").unwrap();
    exits(
        &w.jsna(&["run", "pipelines/example.toml"]),
        2,
        &["is not a text table: it is a gzip-compressed file"],
    );
    w.write("sample_data/records.csv", &records);
    // A fractional count of people in a published table is quarantined.
    let support = w.read("sample_data/asylum_support_by_la.csv");
    let mut lines: Vec<String> = support.lines().map(String::from).collect();
    let (head, _) = lines[1].rsplit_once(',').unwrap();
    lines[1] = format!("{head},2.5");
    w.write(
        "sample_data/asylum_support_by_la.csv",
        &(lines.join("\n") + "\n"),
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    let q = w.read("reports/example-quality/quarantine.csv");
    assert!(q.contains("People,2.5,is not a whole number"), "{q}");
}

#[test]
fn a_sheet_with_a_stray_cell_at_the_far_corner_is_refused_not_allocated() {
    let w = Work::new();
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.write_string(0, 0, "Date").unwrap();
    sheet.write_string(1_048_575, 16_383, "x").unwrap();
    book.save(w.path("sample_data/big.xlsx")).unwrap();
    w.edit_pipeline(&[(
        "path = \"../sample_data/asylum_support_by_la.csv\"",
        "path = \"../sample_data/big.xlsx\"",
    )]);
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(&o, 2, &["big.xlsx", "more than the 20000000 cells"]);
}

#[test]
fn characters_xml_cannot_hold_never_reach_a_page_chart_or_workbook() {
    let w = Work::new();
    let lookup = w.read("sample_data/area_lookup.csv");
    w.write(
        "sample_data/area_lookup.csv",
        &lookup.replace(",Birmingham,", ",Birming\u{FFFF}ham\u{1},"),
    );
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    for (name, bytes) in tree(&w.path("reports/example")) {
        if !(name.ends_with(".html") || name.ends_with(".svg")) {
            continue;
        }
        let text = String::from_utf8(bytes).unwrap();
        assert!(
            !text
                .chars()
                .any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}' | '\u{1}')),
            "{name}"
        );
    }
    // The workbooks: every XML part inside them.
    for book in ["jsna-indicators.xlsx", "jsna-indicators.ods"] {
        let file = fs::File::open(w.path(&format!("reports/example/{book}"))).unwrap();
        let mut zip = zip::ZipArchive::new(file).unwrap();
        for i in 0..zip.len() {
            let mut part = zip.by_index(i).unwrap();
            let mut text = String::new();
            if std::io::Read::read_to_string(&mut part, &mut text).is_ok() {
                assert!(
                    !text
                        .chars()
                        .any(|c| matches!(c, '\u{FFFE}' | '\u{FFFF}' | '\u{1}')),
                    "{book}: {}",
                    part.name()
                );
            }
        }
    }
}

#[test]
fn other_commands_never_overwrite_someone_elses_files() {
    let w = Work::new();
    w.write("mine/records.csv", "person_id\nreal\n");
    let o = w.jsna(&[
        "sample-data",
        "--out",
        "mine",
        "--records",
        "10",
        "--areas",
        "2",
    ]);
    exits(
        &o,
        2,
        &["refusing to write sample data into mine", "records.csv"],
    );
    assert_eq!(w.read("mine/records.csv"), "person_id\nreal\n");
    // A folder the generator wrote may be written again.
    ok(&w.jsna(&[
        "sample-data",
        "--out",
        "gen",
        "--records",
        "10",
        "--areas",
        "2",
    ]));
    ok(&w.jsna(&[
        "sample-data",
        "--out",
        "gen",
        "--records",
        "10",
        "--areas",
        "2",
    ]));

    w.write("t.csv", "numerator,denominator\n3,10\n");
    let o = w.jsna(&[
        "calc",
        "proportion",
        "--input",
        "t.csv",
        "--output",
        "./t.csv",
    ]);
    exits(&o, 2, &["is the input file"]);
    assert_eq!(w.read("t.csv"), "numerator,denominator\n3,10\n");
}

#[test]
fn an_error_in_a_huge_line_quotes_only_a_short_excerpt() {
    let w = Work::new();
    let example = w.read("pipelines/example.toml");
    w.write(
        "pipelines/example.toml",
        &format!("name = \"x\"\na = {}\n", "[".repeat(100_000)),
    );
    let o = w.jsna(&["validate", "pipelines/example.toml"]);
    exits(&o, 2, &["pipelines/example.toml:2:"]);
    assert!(stderr(&o).len() < 1_000, "{} bytes", stderr(&o).len());
    // Missing columns in a file whose header is one huge line are listed briefly too.
    w.write("pipelines/example.toml", &example);
    let header: Vec<String> = (0..5_000).map(|i| format!("column_{i}")).collect();
    w.write("sample_data/records.csv", &(header.join(",") + "\n1\n"));
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(&o, 2, &["missing column(s)", "… and 4970 more"]);
    assert!(stderr(&o).len() < 4_000, "{} bytes", stderr(&o).len());
}

#[test]
fn a_reader_that_stops_early_is_not_a_panic() {
    let w = Work::new();
    let mut child = std::process::Command::new(util::BIN)
        .args(["list", "pipelines/example.toml"])
        .current_dir(w.path("."))
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Close the reading end before jsna writes, as `jsna list | head -0` would.
    drop(child.stdout.take());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "{}", stderr(&out));
    assert!(!stderr(&out).contains("panicked"), "{}", stderr(&out));
}

#[test]
fn a_field_longer_than_a_mebibyte_is_refused_naming_its_line() {
    let w = Work::new();
    let records = w.read("sample_data/records.csv");
    let mut lines: Vec<String> = records.lines().map(String::from).collect();
    lines[2].push_str(&"x".repeat(1_100_000));
    w.write("sample_data/records.csv", &(lines.join("\n") + "\n"));
    let o = w.jsna(&["run", "pipelines/example.toml"]);
    exits(&o, 2, &["records.csv", "line 3 is longer than 1 MiB"]);
    assert!(stderr(&o).len() < 1_000);
}

#[test]
fn the_quality_folder_can_be_named_and_the_report_names_it() {
    let w = Work::new();
    w.edit_pipeline(&[(
        "[sources.records]",
        "[output]\nquality_dir = \"../restricted/quality\"\n\n[sources.records]",
    )]);
    ok(&w.jsna(&["run", "pipelines/example.toml"]));
    assert!(w.path("restricted/quality/quarantine.csv").is_file());
    assert!(!w.path("reports/example-quality").exists());
    let page = w.read("reports/example/index.html");
    assert!(
        page.contains("..&#x2f;restricted&#x2f;quality"),
        "the report names the folder"
    );
    // Inside the report it is refused.
    w.edit_pipeline(&[("../restricted/quality", "../reports/example/quality")]);
    exits(
        &w.jsna(&["run", "pipelines/example.toml"]),
        2,
        &["refusing to write the output folder"],
    );
}
