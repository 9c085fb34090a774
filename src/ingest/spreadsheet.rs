//! Spreadsheets as published (`.xlsx`, `.xlsm`, `.xls`, `.ods`): one sheet, chosen by name or a
//! pattern, is written out as CSV text so it goes through the same reader as a CSV file (title
//! rows above the header, trailing notes). Line numbers are the sheet's own row numbers.

use crate::error::{Error, Result};
use calamine::{open_workbook_auto, Data, Reader, Sheets};
use std::path::{Path, PathBuf};

/// File extensions read as spreadsheets.
pub const EXTENSIONS: [&str; 4] = ["xlsx", "xlsm", "xls", "ods"];

/// Whether `pattern` (with `*` for any run of characters) matches `name`, ignoring case.
fn matches(pattern: &str, name: &str) -> bool {
    let (p, n) = (pattern.to_lowercase(), name.to_lowercase());
    let parts: Vec<&str> = p.split('*').collect();
    if parts.len() == 1 {
        return p == n;
    }
    let mut rest = n.as_str();
    for (i, part) in parts.iter().enumerate() {
        if i == 0 {
            match rest.strip_prefix(part) {
                Some(r) => rest = r,
                None => return false,
            }
        } else if i == parts.len() - 1 {
            return rest.ends_with(part);
        } else {
            match rest.find(part) {
                Some(k) => rest = &rest[k + part.len()..],
                None => return false,
            }
        }
    }
    true
}

/// Picks the sheet: by name or pattern when given (the first match in workbook order), else the
/// only sheet. Several sheets and no `sheet` is an error listing them.
fn choose(path: &Path, names: &[String], sheet: Option<&str>) -> Result<String> {
    let listing = || names.join(", ");
    match sheet {
        Some(want) => names
            .iter()
            .find(|n| matches(want, n))
            .cloned()
            .ok_or_else(|| {
                Error::data(
                    path,
                    format!("no sheet matches '{want}'; the sheets are: {}", listing()),
                )
            }),
        None if names.len() == 1 => Ok(names[0].clone()),
        None => Err(Error::data(
            path,
            format!(
                "the workbook has {} sheets; name one with `sheet = \"...\"` in the source (a `*` matches any text): {}",
                names.len(),
                listing()
            ),
        )),
    }
}

/// A cell as text: whole numbers without a decimal point, dates as `YYYY-MM-DD`.
fn text(cell: &Data) -> String {
    match cell {
        Data::Empty => String::new(),
        Data::String(s) => s.clone(),
        Data::Int(i) => i.to_string(),
        Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => format!("{}", *f as i64),
        Data::Float(f) => f.to_string(),
        Data::Bool(b) => if *b { "TRUE" } else { "FALSE" }.into(),
        Data::DateTime(d) => {
            let (y, m, day, h, min, s, _) = d.to_ymd_hms_milli();
            if (h, min, s) == (0, 0, 0) {
                format!("{y:04}-{m:02}-{day:02}")
            } else {
                format!("{y:04}-{m:02}-{day:02} {h:02}:{min:02}:{s:02}")
            }
        }
        Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
        Data::Error(e) => format!("#{e:?}"),
    }
}

/// The most cells a sheet's used range may span (rows × columns, empty cells included): a sheet
/// is read whole, so one stray cell at `XFD1048576` must be refused, not allocated.
pub const MAX_SHEET_CELLS: u64 = 20_000_000;

/// Refuses an XLSX sheet whose used range spans more than [`MAX_SHEET_CELLS`], by a first pass
/// over its cells that allocates nothing per cell.
fn check_extent<RS: std::io::Read + std::io::Seek>(
    path: &Path,
    book: &mut calamine::Xlsx<RS>,
    name: &str,
) -> Result<()> {
    let bad =
        |e: calamine::XlsxError| Error::data(path, format!("sheet '{name}' cannot be read: {e}"));
    let mut cells = book.worksheet_cells_reader(name).map_err(bad)?;
    let (mut top, mut left, mut bottom, mut right) = (u32::MAX, u32::MAX, 0u32, 0u32);
    while let Some(cell) = cells.next_cell().map_err(bad)? {
        let (r, c) = cell.get_position();
        if r >= 1_048_576 || c >= 16_384 {
            return Err(Error::data(
                path,
                format!(
                    "sheet '{name}' has a cell at row {}, column {}, outside the 1,048,576 rows and 16,384 columns a sheet can have: the file is damaged or was not written by a spreadsheet program",
                    u64::from(r) + 1,
                    u64::from(c) + 1
                ),
            ));
        }
        (top, left) = (top.min(r), left.min(c));
        (bottom, right) = (bottom.max(r), right.max(c));
        let span = (u64::from(bottom) + 1).saturating_sub(u64::from(top))
            * (u64::from(right) + 1).saturating_sub(u64::from(left));
        if span > MAX_SHEET_CELLS {
            return Err(Error::data(
                path,
                format!(
                    "sheet '{name}' has a cell at row {}, column {} ({} rows by {} columns from its first cell), more than the {} cells jsna reads from one sheet; delete the stray cells or save the table on its own",
                    u64::from(r) + 1,
                    u64::from(c) + 1,
                    u64::from(bottom) + 1 - u64::from(top),
                    u64::from(right) + 1 - u64::from(left),
                    MAX_SHEET_CELLS
                ),
            ));
        }
    }
    Ok(())
}

/// Writes the chosen sheet as a CSV file in the temp folder; returns its path and a note.
pub fn to_csv(path: &Path, sheet: Option<&str>) -> Result<(PathBuf, String)> {
    let mut book = open_workbook_auto(path)
        .map_err(|e| Error::data(path, format!("cannot be read as a spreadsheet: {e}")))?;
    let name = choose(path, &book.sheet_names(), sheet)?;
    if let Sheets::Xlsx(xlsx) = &mut book {
        check_extent(path, xlsx, &name)?;
    }
    let range = book
        .worksheet_range(&name)
        .map_err(|e| Error::data(path, format!("sheet '{name}' cannot be read: {e}")))?;
    let (first_row, first_col) = range.start().unwrap_or((0, 0));
    let out = super::csv_quirks::temp_csv("sheet");
    let io = |e: std::io::Error| Error::io(&out, e);
    let mut w = csv::WriterBuilder::new()
        .flexible(true)
        .from_path(&out)
        .map_err(|e| Error::data(&out, e.to_string()))?;
    // Blank lines for the rows above the used range, so line numbers are sheet rows.
    for _ in 0..first_row {
        w.write_record([""])
            .map_err(|e| Error::data(&out, e.to_string()))?;
    }
    for row in range.rows() {
        let mut fields: Vec<String> = vec![String::new(); first_col as usize];
        fields.extend(row.iter().map(text));
        w.write_record(&fields)
            .map_err(|e| Error::data(&out, e.to_string()))?;
    }
    w.flush().map_err(io)?;
    Ok((out, format!("read from sheet '{name}'")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_patterns_match_by_star_and_ignore_case() {
        assert!(matches("Data_Asy_D11", "data_asy_d11"));
        assert!(matches("Data_*", "Data_Asy_D11"));
        assert!(matches("*D11", "Data_Asy_D11"));
        assert!(matches("Data*D11", "Data_Asy_D11"));
        assert!(!matches("Notes*", "Data_Asy_D11"));
        assert!(!matches("Data", "Data_Asy_D11"));
    }

    #[test]
    fn several_sheets_and_no_choice_is_an_error_listing_them() {
        let names = vec!["Cover".to_string(), "Data".to_string()];
        let e = choose(Path::new("t.xlsx"), &names, None).unwrap_err();
        assert!(e.to_string().contains("Cover, Data"), "{e}");
        assert_eq!(
            choose(Path::new("t.xlsx"), &names, Some("dat*")).unwrap(),
            "Data"
        );
    }
}
