//! Spreadsheets to the Government Analysis Function guidance: `jsna-indicators.xlsx` and
//! `jsna-indicators.ods` with a cover sheet, contents, notes, then one table per sheet. No merged
//! cells; numbers are stored as numbers and shorthand markers (`[c]`, `[x]`, `[z]`) as text;
//! text that came from input data is neutralised so no cell is read as a formula. Both files
//! are byte-identical from run to run (fixed timestamps inside).

use super::neutralise;
use super::tables::{number, COLUMNS};
use crate::disclosure::{Cell, DisclosedTable};
use crate::error::{Error, Result};
use crate::indicators::gaps::Gap;
use crate::indicators::period;
use crate::pipeline::plan::Plan;
use std::io::Write;

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Text(String),
    Number(f64),
    /// A column header or sheet title (bold).
    Heading(String),
    Empty,
}

#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub rows: Vec<Vec<Value>>,
}

fn text(s: impl Into<String>) -> Value {
    Value::Text(neutralise(&s.into()))
}

fn cell(c: Cell) -> Value {
    match c {
        Cell::Value(v) => Value::Number(v),
        other => Value::Text(other.marker().to_string()),
    }
}

fn limit(value: Cell, ci: Option<(f64, f64)>, lower: bool) -> Value {
    match (value, ci) {
        (Cell::Value(_), Some((lo, hi))) => Value::Number(if lower { lo } else { hi }),
        (Cell::Value(_), None) => Value::Text("[x]".into()),
        (other, _) => Value::Text(other.marker().to_string()),
    }
}

impl Value {
    /// The value as CSV text: numbers as in `tables::number`, text as it is.
    pub fn as_text(&self) -> String {
        match self {
            Value::Text(t) | Value::Heading(t) => t.clone(),
            Value::Number(n) => number(*n),
            Value::Empty => String::new(),
        }
    }
}

/// One equality-gap row, in the order of `tables::GAP_COLUMNS`.
pub fn gap_row(plan: &Plan, table: &DisclosedTable, g: &Gap) -> Vec<Value> {
    let area = &table.areas()[g.area];
    let suppressed = g.group_value == Cell::Suppressed || g.reference_value == Cell::Suppressed;
    let blank = || Value::Text(if suppressed { "[c]" } else { "[x]" }.into());
    let measure = |m: Option<crate::indicators::gaps::Measure>| -> Vec<Value> {
        match m {
            Some(m) => [m.value, m.ci95.0, m.ci95.1, m.ci998.0, m.ci998.1]
                .map(Value::Number)
                .to_vec(),
            None => (0..5).map(|_| blank()).collect(),
        }
    };
    let ind = &plan.indicators[g.indicator];
    let mut row = vec![
        text(&ind.id),
        text(&ind.name),
        text(&area.code),
        text(&area.name),
        text(area.area_type()),
        text(period::label(plan.period, g.period)),
        Value::Number(period::sortable(plan.period, g.period) as f64),
        text(&plan.groups[g.group].label),
        text(&plan.groups[g.reference].label),
        cell(g.group_value),
        cell(g.reference_value),
    ];
    row.extend(measure(g.difference));
    row.extend(measure(g.ratio));
    row.extend([
        text(g.significance),
        text(g.compared.label()),
        text(&g.note),
    ]);
    row
}

/// Sheet names: at most 31 characters, none of `[]:*?/\`, unique.
fn sheet_name(n: usize, id: &str) -> String {
    let clean: String = id.chars().filter(|c| !"[]:*?/\\".contains(*c)).collect();
    let name = format!("{n}_{clean}");
    name.chars().take(31).collect()
}

/// The workbook: cover, contents, notes, one sheet per indicator, and the equality gaps.
pub fn workbook(plan: &Plan, table: &DisclosedTable, gaps: &[Gap]) -> Vec<Sheet> {
    let periods: Vec<String> = table
        .periods()
        .iter()
        .map(|&p| period::label(plan.period, p))
        .collect();
    let mut tables = Vec::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        let mut rows = vec![
            vec![Value::Heading(format!("Table {}: {}", ii + 1, ind.name))],
            vec![text(format!("This worksheet contains one table. {}", ind.definition))],
            vec![text("Shorthand: [c] suppressed to protect confidentiality, [x] not available, [z] not applicable. See the Notes sheet.")],
            COLUMNS.iter().map(|c| Value::Heading(c.to_string())).collect(),
        ];
        for r in table.rows().iter().filter(|r| r.indicator == ii) {
            let l = super::tables::labels(plan, table, r);
            rows.push(vec![
                text(l.id),
                text(l.name),
                text(l.code),
                text(l.area),
                text(l.area_type),
                text(l.parent),
                text(l.sex),
                text(l.age),
                text(l.category_type),
                text(l.category),
                text(l.period),
                Value::Number(l.sortable as f64),
                cell(r.value),
                limit(r.value, r.ci95, true),
                limit(r.value, r.ci95, false),
                limit(r.value, r.ci998, true),
                limit(r.value, r.ci998, false),
                cell(r.count),
                cell(r.denominator),
                text(&r.note),
                text(r.trend.label()),
                text(r.vs_total.label()),
                text(r.vs_region.label()),
                text(l.group),
            ]);
        }
        tables.push(Sheet {
            name: sheet_name(ii + 1, &ind.id),
            rows,
        });
    }
    let mut gap_rows = vec![
        vec![Value::Heading(format!("Table {}: Equality gaps", plan.indicators.len() + 1))],
        vec![text("This worksheet contains one table: each population group against each reference group, from published counts.")],
        super::tables::GAP_COLUMNS.iter().map(|c| Value::Heading(c.to_string())).collect(),
    ];
    for g in gaps {
        gap_rows.push(gap_row(plan, table, g));
    }
    tables.push(Sheet {
        name: sheet_name(plan.indicators.len() + 1, "equality_gaps"),
        rows: gap_rows,
    });

    let cover = Sheet {
        name: "Cover".into(),
        rows: vec![
            vec![Value::Heading(plan.title.clone())],
            vec![text("This workbook holds the published indicators of a Joint Strategic Needs Assessment chapter on refugees and asylum seekers, one table per worksheet.")],
            vec![text(format!("Periods covered: {}.", periods.join(", ")))],
            vec![text(format!(
                "Disclosure control: counts from 1 to {} are suppressed and shown as [c]; other counts are rounded to the nearest {}. Values and intervals are calculated from the rounded counts.",
                plan.disclosure.threshold, plan.disclosure.rounding
            ))],
            vec![text(format!("Produced by jsna {} from pipeline {} (SHA-256 {}).", env!("CARGO_PKG_VERSION"), plan.name, plan.pipeline_sha256))],
        ],
    };
    let mut contents = vec![
        vec![Value::Heading("Contents".into())],
        vec![text(
            "This worksheet contains one table listing the worksheets of this workbook.",
        )],
        vec![
            Value::Heading("Sheet name".into()),
            Value::Heading("Table title".into()),
        ],
        vec![
            text("Notes"),
            text("Notes and shorthand used in the tables"),
        ],
    ];
    for t in &tables {
        let title = match &t.rows[0][0] {
            Value::Heading(h) => h.clone(),
            _ => String::new(),
        };
        contents.push(vec![text(&t.name), text(title)]);
    }
    let notes = Sheet {
        name: "Notes".into(),
        rows: vec![
            vec![Value::Heading("Notes".into())],
            vec![text("This worksheet contains one table of notes.")],
            vec![Value::Heading("Note number".into()), Value::Heading("Note text".into())],
            vec![text("1"), text("[c] means the figure is suppressed to protect confidentiality: a count from 1 to the threshold, or a value calculated from one.")],
            vec![text("2"), text("[x] means the figure is not available. [z] means it is not applicable (for example the denominator of a median).")],
            vec![text("3"), text("Proportions use Wilson score intervals, rates exact Poisson or Byar's intervals, medians distribution-free intervals. Equality gaps use Newcombe's interval for the difference.")],
            vec![text("4"), text("Population groups overlap: a person can be in several groups. Region and total figures are sums of the areas in the data.")],
        ],
    };
    let mut sheets = vec![
        cover,
        Sheet {
            name: "Contents".into(),
            rows: contents,
        },
        notes,
    ];
    sheets.extend(tables);
    sheets
}

/// The workbook as XLSX bytes.
pub fn xlsx(sheets: &[Sheet]) -> Result<Vec<u8>> {
    use rust_xlsxwriter::{DocProperties, ExcelDateTime, Format, Workbook};
    let err =
        |e: rust_xlsxwriter::XlsxError| Error::Internal(format!("writing the XLSX workbook: {e}"));
    let mut book = Workbook::new();
    // A fixed creation time keeps the file byte-identical from run to run.
    let created = ExcelDateTime::from_ymd(2000, 1, 1).map_err(err)?;
    book.set_properties(&DocProperties::new().set_creation_datetime(&created));
    let bold = Format::new().set_bold();
    for s in sheets {
        let ws = book.add_worksheet();
        ws.set_name(&s.name).map_err(err)?;
        for (r, row) in s.rows.iter().enumerate() {
            for (c, v) in row.iter().enumerate() {
                let (r, c) = (r as u32, c as u16);
                match v {
                    Value::Text(t) => ws.write_string(r, c, t).map(|_| ()),
                    Value::Number(n) => ws.write_number(r, c, *n).map(|_| ()),
                    Value::Heading(h) => ws.write_string_with_format(r, c, h, &bold).map(|_| ()),
                    Value::Empty => Ok(()),
                }
                .map_err(err)?;
            }
        }
    }
    book.save_to_buffer().map_err(err)
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

/// The workbook as ODS (OpenDocument) bytes.
pub fn ods(sheets: &[Sheet]) -> Result<Vec<u8>> {
    let mut content = String::from(concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" "#,
        r#"xmlns:style="urn:oasis:names:tc:opendocument:xmlns:style:1.0" "#,
        r#"xmlns:fo="urn:oasis:names:tc:opendocument:xmlns:xsl-fo-compatible:1.0" "#,
        r#"xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" "#,
        r#"xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">"#,
        r#"<office:automatic-styles><style:style style:name="bold" style:family="table-cell">"#,
        r#"<style:text-properties fo:font-weight="bold"/></style:style></office:automatic-styles>"#,
        r#"<office:body><office:spreadsheet>"#
    ));
    for s in sheets {
        content.push_str(&format!(
            r#"<table:table table:name="{}">"#,
            xml_escape(&s.name)
        ));
        for row in &s.rows {
            content.push_str("<table:table-row>");
            for v in row {
                match v {
                    Value::Text(t) => content.push_str(&format!(r#"<table:table-cell office:value-type="string"><text:p>{}</text:p></table:table-cell>"#, xml_escape(t))),
                    Value::Heading(t) => content.push_str(&format!(r#"<table:table-cell table:style-name="bold" office:value-type="string"><text:p>{}</text:p></table:table-cell>"#, xml_escape(t))),
                    Value::Number(n) => content.push_str(&format!(r#"<table:table-cell office:value-type="float" office:value="{n}"><text:p>{}</text:p></table:table-cell>"#, number(*n))),
                    Value::Empty => content.push_str("<table:table-cell/>"),
                }
            }
            content.push_str("</table:table-row>");
        }
        content.push_str("</table:table>");
    }
    content.push_str("</office:spreadsheet></office:body></office:document-content>");
    let manifest = concat!(
        r#"<?xml version="1.0" encoding="UTF-8"?>"#,
        r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
        r#"<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
        r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#,
        r#"</manifest:manifest>"#
    );
    let err = |e: zip::result::ZipError| Error::Internal(format!("writing the ODS workbook: {e}"));
    let io = |e: std::io::Error| Error::Internal(format!("writing the ODS workbook: {e}"));
    let fixed = zip::DateTime::default();
    let stored = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Stored)
        .last_modified_time(fixed);
    let deflated = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated)
        .last_modified_time(fixed);
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    // The mimetype entry comes first and uncompressed, as OpenDocument requires.
    zip.start_file("mimetype", stored).map_err(err)?;
    zip.write_all(b"application/vnd.oasis.opendocument.spreadsheet")
        .map_err(io)?;
    zip.start_file("META-INF/manifest.xml", deflated)
        .map_err(err)?;
    zip.write_all(manifest.as_bytes()).map_err(io)?;
    zip.start_file("content.xml", deflated).map_err(err)?;
    zip.write_all(content.as_bytes()).map_err(io)?;
    Ok(zip.finish().map_err(err)?.into_inner())
}
