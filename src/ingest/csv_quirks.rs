//! Quirks of CSV files exported from published spreadsheets: Windows-1252 bytes, title lines
//! above the header, and trailing notes such as `End of table`. Each is handled and reported,
//! never silently.

use super::ROW;
use crate::error::{Error, Result};
use polars::prelude::*;
use std::path::{Path, PathBuf};

/// A CSV file ready for the reader: the original, or a cleaned copy in the temp folder.
pub struct Prepared {
    original: PathBuf,
    copy: Option<PathBuf>,
    /// Lines above the header that were not read (titles, notes).
    pub title_lines: usize,
    pub notes: Vec<String>,
}

impl Prepared {
    pub fn path(&self) -> &Path {
        self.copy.as_deref().unwrap_or(&self.original)
    }
}

impl Drop for Prepared {
    fn drop(&mut self) {
        if let Some(copy) = &self.copy {
            let _ = std::fs::remove_file(copy);
        }
    }
}

/// A new file name in the temp folder, unique within this process and across processes.
pub fn temp_csv(kind: &str) -> PathBuf {
    static FILES: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let n = FILES.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    std::env::temp_dir().join(format!("jsna-{kind}-{}-{n}.csv", std::process::id()))
}

/// How many fields of a line are not empty (quotes ignored; good enough to spot titles).
fn filled_fields(line: &str, sep: u8) -> usize {
    line.split(sep as char)
        .filter(|f| !f.trim().trim_matches('"').trim().is_empty())
        .count()
}

/// The longest line (so the largest field) a text table may have.
pub const MAX_LINE_BYTES: usize = 1 << 20;

/// Whether the whole file is valid UTF-8, read in blocks so a large file is never held in memory.
/// The same pass refuses a line longer than [`MAX_LINE_BYTES`] (CR or LF ends a line).
fn is_utf8(path: &Path) -> Result<bool> {
    use std::io::Read;
    let mut file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut block = vec![0u8; 1 << 20];
    let mut carry: Vec<u8> = Vec::new();
    let mut valid = true;
    let (mut line, mut run, mut prev) = (1u64, 0usize, 0u8);
    loop {
        let n = file.read(&mut block).map_err(|e| Error::io(path, e))?;
        if n == 0 {
            return Ok(valid && carry.is_empty());
        }
        for &b in &block[..n] {
            match b {
                // CRLF, LF and CR alone each end one line.
                b'\n' if prev == b'\r' => run = 0,
                b'\n' | b'\r' => {
                    line += 1;
                    run = 0;
                }
                _ => {
                    run += 1;
                    if run > MAX_LINE_BYTES {
                        return Err(Error::data(
                            path,
                            format!(
                                "line {line} is longer than {} MiB: a field that large is not a table cell (the file may be damaged)",
                                MAX_LINE_BYTES >> 20
                            ),
                        ));
                    }
                }
            }
            prev = b;
        }
        if !valid {
            continue;
        }
        carry.extend_from_slice(&block[..n]);
        match std::str::from_utf8(&carry) {
            Ok(_) => carry.clear(),
            // A character cut by the block boundary: keep its first bytes for the next block.
            Err(e) if e.error_len().is_none() => {
                let tail = carry.split_off(e.valid_up_to());
                carry = tail;
            }
            // Not UTF-8; keep reading only to check line lengths.
            Err(_) => {
                valid = false;
                carry.clear();
            }
        }
    }
}

/// How much of a file is read to find its header.
const HEAD_BYTES: usize = 64 * 1024;

/// The most columns a header may have.
pub const MAX_COLUMNS: usize = 16_384;

/// Refuses a header with more than [`MAX_COLUMNS`] columns or with a column name twice (which
/// column would be used would be a guess).
fn check_header(path: &Path, header: &str, sep: u8) -> Result<()> {
    let names: Vec<&str> = header
        .split(sep as char)
        .map(|f| f.trim().trim_matches('"').trim())
        .collect();
    if names.len() > MAX_COLUMNS {
        return Err(Error::data(
            path,
            format!(
                "the header has {} columns, more than the {MAX_COLUMNS} jsna reads",
                names.len()
            ),
        ));
    }
    let mut seen = std::collections::HashMap::new();
    for (i, n) in names.iter().enumerate().filter(|(_, n)| !n.is_empty()) {
        if let Some(first) = seen.insert(*n, i) {
            return Err(Error::data(
                path,
                format!(
                    "column \"{}\" appears twice in the header (columns {} and {}); remove or rename one, so it is clear which to use",
                    super::excerpt(n, 40),
                    first + 1,
                    i + 1
                ),
            ));
        }
    }
    Ok(())
}

/// Refuses a file that is not text: a compressed, zipped, Parquet or PDF file by its first bytes,
/// or NUL bytes in the first line of a file without a UTF-16 byte-order mark.
fn refuse_binary(path: &Path, head: &[u8]) -> Result<()> {
    let kinds: [(&[u8], &str); 5] = [
        (b"\x1f\x8b", "a gzip-compressed file; decompress it first"),
        (
            b"PK\x03\x04",
            "a zip archive (or a spreadsheet saved with another extension)",
        ),
        (b"PAR1", "a Parquet file; give it the extension .parquet"),
        (b"%PDF", "a PDF document"),
        (b"BZh", "a bzip2-compressed file; decompress it first"),
    ];
    for (magic, what) in kinds {
        if head.starts_with(magic) {
            return Err(Error::data(
                path,
                format!("is not a text table: it is {what}"),
            ));
        }
    }
    let utf16 = head.starts_with(b"\xff\xfe") || head.starts_with(b"\xfe\xff");
    let first_line = head.split(|&b| b == b'\n').next().unwrap_or(&[]);
    if !utf16 && first_line.contains(&0) {
        return Err(Error::data(
            path,
            "is not a text table: its first line holds NUL bytes (a binary file?)",
        ));
    }
    Ok(())
}

/// The first lines of the file (at most 64 KiB), decoded for the title search.
fn head(path: &Path) -> Result<Vec<u8>> {
    use std::io::Read;
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut bytes = Vec::new();
    file.take(HEAD_BYTES as u64)
        .read_to_end(&mut bytes)
        .map_err(|e| Error::io(path, e))?;
    Ok(bytes)
}

/// Decodes the file (UTF-8, else Windows-1252) and finds the header: leading lines with at most
/// one filled field are titles or notes, as in the raw Home Office tables. A cleaned copy is
/// written only when the file needs one (a legacy encoding or lines above the header).
pub fn prepare(path: &Path, sep: u8) -> Result<Prepared> {
    let utf8 = is_utf8(path)?;
    let mut notes = Vec::new();
    if !utf8 {
        notes.push(
            "the file is not UTF-8; it was read as Windows-1252 (Excel's default CSV encoding)"
                .into(),
        );
    }
    let head = head(path)?;
    refuse_binary(path, &head)?;
    // Classic Mac line ends (CR only): read as line ends, through a converted copy.
    let cr_only = !head.contains(&b'\n') && head.contains(&b'\r');
    if cr_only {
        notes.push(
            "the file ends its lines with CR alone (classic Mac); they were read as line ends"
                .into(),
        );
    }
    if !head.contains(&b'\n') && !cr_only && head.len() == HEAD_BYTES {
        return Err(Error::data(
            path,
            format!(
                "the first line is longer than {} KiB: this is not a table with a header line",
                HEAD_BYTES / 1024
            ),
        ));
    }
    let head_text = if utf8 {
        String::from_utf8_lossy(&head).into_owned()
    } else {
        encoding_rs::WINDOWS_1252.decode(&head).0.into_owned()
    };
    let head_text = if cr_only {
        head_text.replace('\r', "\n")
    } else {
        head_text
    };
    let body = head_text.strip_prefix('\u{feff}').unwrap_or(&head_text);
    let mut title_lines = 0;
    let mut found_header = false;
    for line in body.split_inclusive('\n').take(50) {
        if !line.ends_with('\n') {
            break;
        }
        if filled_fields(line.trim_end_matches(['\r', '\n']), sep) > 1 {
            found_header = true;
            break;
        }
        title_lines += 1;
    }
    let header = body
        .split_inclusive('\n')
        .nth(if found_header { title_lines } else { 0 })
        .unwrap_or("")
        .trim_end_matches(['\r', '\n']);
    check_header(path, header, sep)?;
    if title_lines > 0 && found_header {
        notes.push(format!(
            "the header is on line {}: {} title line(s) above it were not read as data",
            title_lines + 1,
            title_lines
        ));
    } else {
        title_lines = 0;
    }
    let mut prepared = Prepared {
        original: path.to_path_buf(),
        copy: None,
        title_lines,
        notes,
    };
    if !utf8 || title_lines > 0 || cr_only {
        let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
        let text = if utf8 {
            String::from_utf8_lossy(&bytes).into_owned()
        } else {
            encoding_rs::WINDOWS_1252.decode(&bytes).0.into_owned()
        };
        let text = if cr_only {
            text.replace("\r\n", "\n").replace('\r', "\n")
        } else {
            text
        };
        let text = text.strip_prefix('\u{feff}').unwrap_or(&text);
        // Skip the title lines by counting lines, not bytes: the decoded head and the decoded
        // file agree line by line.
        let skip: usize = text
            .split_inclusive('\n')
            .take(title_lines)
            .map(str::len)
            .sum();
        let copy = temp_csv("copy");
        std::fs::write(&copy, &text.as_bytes()[skip..]).map_err(|e| Error::io(&copy, e))?;
        prepared.copy = Some(copy);
    }
    Ok(prepared)
}

/// Drops trailing rows that are notes, not data: a first field starting with "End of table",
/// or rows with every field empty, at the end of the table. Returns how many were dropped.
pub fn drop_trailing_notes(df: DataFrame) -> Result<(DataFrame, usize)> {
    let Some(first) = df
        .get_column_names()
        .into_iter()
        .find(|n| n.as_str() != ROW)
        .cloned()
    else {
        return Ok((df, 0));
    };
    let data: Vec<PlSmallStr> = df
        .get_column_names()
        .into_iter()
        .filter(|n| n.as_str() != ROW)
        .cloned()
        .collect();
    let note = col(first.clone())
        .str()
        .strip_chars(lit(NULL))
        .str()
        .to_lowercase()
        .str()
        .starts_with(lit("end of table"))
        .fill_null(lit(false));
    let empty = all_horizontal(
        data.iter()
            .map(|c| col(c.clone()).is_null())
            .collect::<Vec<_>>(),
    )?;
    let flags = df
        .clone()
        .lazy()
        .select([note.or(empty).alias("__note")])
        .collect()?;
    let flags: Vec<bool> = flags
        .column("__note")?
        .bool()?
        .iter()
        .map(|b| b.unwrap_or(false))
        .collect();
    let trailing = flags.iter().rev().take_while(|&&b| b).count();
    if trailing == 0 {
        return Ok((df, 0));
    }
    Ok((df.head(Some(df.height() - trailing)), trailing))
}

#[cfg(test)]
mod tests {
    use super::super::read_text_table;

    #[test]
    fn windows_1252_bytes_are_decoded_not_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        // "Ynys Môn" and "£5" as Excel writes them in Windows-1252.
        std::fs::write(&path, b"area,cost\nYnys M\xf4n,\xa35\n").unwrap();
        let table = read_text_table(&path, &[]).unwrap();
        let area = table.frame.column("area").unwrap().str().unwrap().get(0);
        let cost = table.frame.column("cost").unwrap().str().unwrap().get(0);
        assert_eq!(area, Some("Ynys Môn"));
        assert_eq!(cost, Some("£5"));
        assert_eq!(table.notes.len(), 1, "{:?}", table.notes);
    }

    #[test]
    fn a_utf8_character_split_across_read_blocks_is_still_utf8() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        let mut text = String::from("a,b\n");
        while text.len() < (1 << 20) - 1 {
            text.push_str("x,y\n");
        }
        text.truncate((1 << 20) - 1);
        text.push_str("é,ô\n");
        std::fs::write(&path, &text).unwrap();
        assert!(super::is_utf8(&path).unwrap());
    }

    #[test]
    fn a_single_column_file_is_not_mistaken_for_titles() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.csv");
        std::fs::write(&path, "code\nE1\nE2\n").unwrap();
        let table = read_text_table(&path, &[]).unwrap();
        assert_eq!(table.frame.height(), 2);
        assert!(table.notes.is_empty());
    }
}
