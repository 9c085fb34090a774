//! Property tests over the readers and the pipeline loader: whatever bytes they are given, they
//! return a value or an error, and never panic (issue 22). Kept small so CI runs them in seconds.

use proptest::prelude::*;
use std::path::Path;

/// Bytes that make text files hard to read: separators, quotes, line ends of every kind, a BOM,
/// Windows-1252 and invalid UTF-8 bytes, control characters and plain letters and digits.
fn hostile_bytes(max: usize) -> impl Strategy<Value = Vec<u8>> {
    let byte = prop_oneof![
        Just(b','),
        Just(b'"'),
        Just(b'\n'),
        Just(b'\r'),
        Just(b'\t'),
        Just(0u8),
        Just(0xEFu8),
        Just(0xBBu8),
        Just(0xBFu8),
        Just(0xA3u8),
        Just(0xFFu8),
        b'0'..=b'9',
        b'a'..=b'z',
        any::<u8>(),
    ];
    proptest::collection::vec(byte, 0..max)
}

/// The example pipeline with a span replaced by hostile text.
fn mutated_pipeline() -> impl Strategy<Value = String> {
    let example = include_str!("../pipelines/example.toml");
    let pieces = prop_oneof![
        Just(String::new()),
        Just("\"".to_string()),
        Just("[[".to_string()),
        Just("]]\n".to_string()),
        Just("= ".to_string()),
        Just("id = \"../../x\"\n".to_string()),
        Just("threshold = -1\n".to_string()),
        Just("rolling = 99999999999999999999\n".to_string()),
        Just("\u{FFFF}\u{0}".to_string()),
        Just("[groups.x]\nfilter = \"(((\"\n".to_string()),
        "[ -~\n]{0,40}",
    ];
    (0..example.len(), 0usize..200, pieces).prop_map(move |(at, cut, piece)| {
        let mut at = at;
        while !example.is_char_boundary(at) {
            at -= 1;
        }
        let mut end = (at + cut).min(example.len());
        while !example.is_char_boundary(end) {
            end -= 1;
        }
        format!("{}{}{}", &example[..at], piece, &example[end..])
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, ..ProptestConfig::default() })]

    #[test]
    fn the_csv_reader_never_panics(bytes in hostile_bytes(600)) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, &bytes).unwrap();
        let _ = crate::ingest::read_text_table(&path, &[]);
    }

    #[test]
    fn the_spreadsheet_reader_never_panics(bytes in hostile_bytes(400), zip_header in any::<bool>()) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.xlsx");
        let mut data = if zip_header { b"PK\x03\x04".to_vec() } else { Vec::new() };
        data.extend(bytes);
        std::fs::write(&path, &data).unwrap();
        let _ = crate::ingest::spreadsheet::to_csv(&path, None);
    }

    #[test]
    fn the_pipeline_loader_never_panics(text in mutated_pipeline()) {
        // Inside a copy of the repository's layout, so relative paths resolve as in the example.
        let dir = tempfile::tempdir().unwrap();
        let pipelines = dir.path().join("pipelines");
        std::fs::create_dir_all(&pipelines).unwrap();
        let file = pipelines.join("example.toml");
        std::fs::write(&file, text.as_bytes()).unwrap();
        let _ = crate::pipeline::plan::load(&file, Some(Path::new("out")));
    }
}
