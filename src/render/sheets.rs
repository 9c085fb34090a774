//! Spreadsheets to the Government Analysis Function guidance: `jsna-indicators.xlsx` and
//! `jsna-indicators.ods` with a cover sheet, contents, notes, then one table per sheet. No merged
//! cells; numbers are stored as numbers and shorthand markers (`[c]`, `[x]`, `[z]`) as text;
//! text that came from input data is neutralised so no cell is read as a formula. Both files
//! are byte-identical from run to run (fixed timestamps inside).
//!
//! Both files are written here, without a spreadsheet library: rows are made from the disclosed
//! table one at a time and their XML goes straight into the compressor, so a national run never
//! holds a whole sheet (or a library's model of one) in memory.

use super::neutralised;
use super::tables::{number, Labeller, COLUMNS};
use crate::disclosure::{Cell, DisclosedTable};
use crate::error::{Error, Result};
use crate::indicators::gaps::Gap;
use crate::indicators::period;
use crate::pipeline::plan::Plan;
use rustc_hash::FxHashMap as HashMap;
use std::borrow::Cow;
use std::fmt::Write as _;
use std::io::Write as _;

/// One cell of a sheet.
#[derive(Debug, Clone, PartialEq)]
pub enum Value<'a> {
    Text(Cow<'a, str>),
    Number(f64),
    /// A column header or sheet title (bold).
    Heading(Cow<'a, str>),
    Empty,
}

/// Rows per worksheet, the title rows included: the most Excel and LibreOffice open. A table
/// longer than this continues on further sheets.
pub const MAX_ROWS: usize = 1_048_576;

/// What follows a sheet's fixed rows: nothing, or rows made on demand from the table.
#[derive(Debug, Clone, Copy)]
enum Body {
    Nothing,
    /// The `skip..skip + take` rows of one indicator.
    Indicator {
        indicator: usize,
        skip: usize,
        take: usize,
    },
    Gaps,
}

/// A worksheet: fixed rows (title, description, column headers), then its table's rows.
#[derive(Debug, Clone)]
pub struct Sheet {
    pub name: String,
    pub head: Vec<Vec<Value<'static>>>,
    body: Body,
}

impl Sheet {
    fn fixed(name: impl Into<String>, rows: Vec<Vec<Value<'static>>>) -> Sheet {
        Sheet {
            name: name.into(),
            head: rows,
            body: Body::Nothing,
        }
    }
}

/// The workbook: its sheets, and the tables their rows are made from.
pub struct Workbook<'a> {
    plan: &'a Plan,
    table: &'a DisclosedTable,
    labeller: Labeller<'a>,
    gaps: &'a [Gap],
    pub sheets: Vec<Sheet>,
}

impl Workbook<'_> {
    /// Calls `f` with every row of `sheet`, in order.
    pub fn each_row(&self, sheet: &Sheet, f: &mut dyn FnMut(&[Value]) -> Result<()>) -> Result<()> {
        for row in &sheet.head {
            f(row)?;
        }
        match sheet.body {
            Body::Nothing => {}
            Body::Indicator {
                indicator,
                skip,
                take,
            } => {
                let rows = self
                    .table
                    .rows()
                    .iter()
                    .filter(|r| r.indicator == indicator);
                for r in rows.skip(skip).take(take) {
                    f(&indicator_row(&self.labeller, r))?;
                }
            }
            Body::Gaps => {
                for g in self.gaps {
                    f(&gap_row(self.plan, self.table, g))?;
                }
            }
        }
        Ok(())
    }
}

/// Text that may have come from input data: neutralised.
fn text<'a>(s: impl Into<Cow<'a, str>>) -> Value<'a> {
    Value::Text(match s.into() {
        Cow::Borrowed(b) => neutralised(b),
        Cow::Owned(o) => Cow::Owned(neutralised(&o).into_owned()),
    })
}

/// Text that is already neutralised (a [`Labeller`] label) or made by the program.
fn plain(s: &str) -> Value<'_> {
    Value::Text(Cow::Borrowed(s))
}

fn heading<'a>(s: impl Into<Cow<'a, str>>) -> Value<'a> {
    Value::Heading(s.into())
}

fn cell(c: Cell) -> Value<'static> {
    match c {
        Cell::Value(v) => Value::Number(v),
        other => plain(other.marker()),
    }
}

fn limit(value: Cell, ci: Option<(f64, f64)>, lower: bool) -> Value<'static> {
    match (value, ci) {
        (Cell::Value(_), Some((lo, hi))) => Value::Number(if lower { lo } else { hi }),
        (Cell::Value(_), None) => plain("[x]"),
        (other, _) => plain(other.marker()),
    }
}

impl Value<'_> {
    /// The value as CSV text: numbers as in `tables::number`, text as it is.
    pub fn as_text(&self) -> String {
        match self {
            Value::Text(t) | Value::Heading(t) => t.to_string(),
            Value::Number(n) => number(*n),
            Value::Empty => String::new(),
        }
    }
}

/// One indicator row, in the order of `tables::COLUMNS`.
fn indicator_row<'a>(
    labeller: &'a Labeller,
    r: &'a crate::disclosure::PublishedRow,
) -> Vec<Value<'a>> {
    let l = labeller.labels(r);
    vec![
        plain(l.id),
        plain(l.name),
        plain(l.code),
        plain(l.area),
        plain(l.area_type),
        plain(l.parent),
        plain(l.sex),
        plain(l.age),
        plain(l.category_type),
        plain(l.category),
        plain(l.period),
        Value::Number(l.sortable as f64),
        cell(r.value),
        limit(r.value, r.ci95, true),
        limit(r.value, r.ci95, false),
        limit(r.value, r.ci998, true),
        limit(r.value, r.ci998, false),
        cell(r.count),
        cell(r.denominator),
        text(&r.note),
        plain(r.trend.label()),
        plain(r.vs_total.label()),
        plain(r.vs_region.label()),
        plain(l.group),
        plain(super::tables::funnel_label(r)),
        plain(super::tables::threshold_label(r)),
    ]
}

/// One equality-gap row, in the order of `tables::GAP_COLUMNS`.
pub fn gap_row<'a>(plan: &'a Plan, table: &'a DisclosedTable, g: &'a Gap) -> Vec<Value<'a>> {
    let area = &table.areas()[g.area];
    let suppressed = g.group_value == Cell::Suppressed || g.reference_value == Cell::Suppressed;
    let blank = || plain(if suppressed { "[c]" } else { "[x]" });
    let measure = |m: Option<crate::indicators::gaps::Measure>| -> Vec<Value<'a>> {
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
        text(period::rolling_label(
            plan.period,
            g.period,
            ind.rolling.unwrap_or(1),
        )),
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

/// The name of one part of a table that needs several sheets: `1_id (2)`, within 31 characters.
fn sheet_name_part(n: usize, part: usize, id: &str) -> String {
    let suffix = format!(" ({part})");
    let base: String = sheet_name(n, id)
        .chars()
        .take(31 - suffix.chars().count())
        .collect();
    format!("{base}{suffix}")
}

/// The workbook: cover, contents, notes, one sheet per indicator, and the equality gaps.
pub fn workbook<'a>(plan: &'a Plan, table: &'a DisclosedTable, gaps: &'a [Gap]) -> Workbook<'a> {
    workbook_with(plan, table, gaps, MAX_ROWS)
}

/// The workbook, with at most `max_rows` rows per sheet.
fn workbook_with<'a>(
    plan: &'a Plan,
    table: &'a DisclosedTable,
    gaps: &'a [Gap],
    max_rows: usize,
) -> Workbook<'a> {
    let periods: Vec<String> = table
        .periods()
        .iter()
        .map(|&p| period::label(plan.period, p))
        .collect();
    let mut per_indicator = vec![0usize; plan.indicators.len()];
    for r in table.rows() {
        per_indicator[r.indicator] += 1;
    }
    let mut tables = Vec::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        let title = format!("Table {}: {}", ii + 1, ind.name);
        // A table longer than a worksheet continues on further sheets, each with its headers.
        let per_sheet = max_rows - 4;
        let parts = per_indicator[ii].div_ceil(per_sheet).max(1);
        for part in 0..parts {
            let (name, title) = if parts == 1 {
                (sheet_name(ii + 1, &ind.id), title.clone())
            } else {
                (
                    sheet_name_part(ii + 1, part + 1, &ind.id),
                    format!("{title} (part {} of {parts})", part + 1),
                )
            };
            tables.push(Sheet {
                name,
                head: vec![
                    vec![heading(title)],
                    vec![text(format!("This worksheet contains one table. {}", ind.definition))],
                    vec![text("Shorthand: [c] suppressed to protect confidentiality, [x] not available, [z] not applicable. See the Notes sheet.")],
                    COLUMNS.iter().map(|c| heading(c.to_string())).collect(),
                ],
                body: Body::Indicator {
                    indicator: ii,
                    skip: part * per_sheet,
                    take: per_sheet,
                },
            });
        }
    }
    tables.push(Sheet {
        name: sheet_name(plan.indicators.len() + 1, "equality_gaps"),
        head: vec![
            vec![heading(format!("Table {}: Equality gaps", plan.indicators.len() + 1))],
            vec![text("This worksheet contains one table: each population group against each reference group, from published counts.")],
            super::tables::GAP_COLUMNS.iter().map(|c| heading(c.to_string())).collect(),
        ],
        body: Body::Gaps,
    });

    let cover = Sheet::fixed(
        "Cover",
        vec![
            vec![heading(plan.title.clone())],
            vec![text("This workbook holds the published indicators of a Joint Strategic Needs Assessment chapter on refugees and asylum seekers, one table per worksheet.")],
            vec![text(format!("Periods covered: {}.", periods.join(", ")))],
            vec![text(format!(
                "Disclosure control: counts from 1 to {} are suppressed and shown as [c]; other counts are rounded to the nearest {}. Values and intervals are calculated from the rounded counts.{}",
                plan.disclosure.threshold, plan.disclosure.rounding,
                if plan.shows_published_tables_as_published() { " Figures from published tables (Home Office, NRM, DfE) are shown as published, unrounded: they are public already." } else { "" }
            ))],
            vec![text(format!("Produced by jsna {} from pipeline {} (SHA-256 {}).", env!("CARGO_PKG_VERSION"), plan.name, plan.pipeline_sha256))],
        ],
    );
    let mut contents = vec![
        vec![heading("Contents")],
        vec![text(
            "This worksheet contains one table listing the worksheets of this workbook.",
        )],
        vec![heading("Sheet name"), heading("Table title")],
        vec![
            text("Notes"),
            text("Notes and shorthand used in the tables"),
        ],
    ];
    for t in &tables {
        let title = match &t.head[0][0] {
            Value::Heading(h) => h.to_string(),
            _ => String::new(),
        };
        contents.push(vec![text(t.name.clone()), text(title)]);
    }
    let notes = Sheet::fixed(
        "Notes",
        vec![
            vec![heading("Notes")],
            vec![text("This worksheet contains one table of notes.")],
            vec![heading("Note number"), heading("Note text")],
            vec![text("1"), text("[c] means the figure is suppressed to protect confidentiality: a count from 1 to the threshold, a value calculated from one, or a figure hidden so that a suppressed one cannot be worked out from totals. Which of these applies is not shown.")],
            vec![text("2"), text("[x] means the figure is not available. [z] means it is not applicable (for example the denominator of a median).")],
            vec![text("3"), text("Proportions use Wilson score intervals, rates exact Poisson or Byar's intervals, medians distribution-free intervals. Equality gaps use Newcombe's interval for the difference.")],
            vec![text("4"), text("Population groups overlap: a person can be in several groups. Region and total figures are sums of the areas in the data.")],
        ],
    );
    let mut sheets = vec![cover, Sheet::fixed("Contents", contents), notes];
    sheets.extend(tables);
    Workbook {
        plan,
        table,
        labeller: Labeller::new(plan, table.rows(), table.areas()),
        gaps,
        sheets,
    }
}

/// A zip archive being written in memory, with the errors named after the file it makes.
struct Zip {
    w: zip::ZipWriter<std::io::Cursor<Vec<u8>>>,
    what: &'static str,
}

/// XML is handed to the compressor in pieces of about this many bytes.
const CHUNK: usize = 1 << 20;

impl Zip {
    fn new(what: &'static str) -> Zip {
        Zip {
            w: zip::ZipWriter::new(std::io::Cursor::new(Vec::new())),
            what,
        }
    }

    fn err(&self, e: impl std::fmt::Display) -> Error {
        Error::Internal(format!("writing {}: {e}", self.what))
    }

    /// Starts an entry. A fixed timestamp keeps the file byte-identical from run to run.
    fn start(&mut self, name: &str, compress: bool) -> Result<()> {
        let method = if compress {
            zip::CompressionMethod::Deflated
        } else {
            zip::CompressionMethod::Stored
        };
        // Level 2: measured on 1 M records (300 areas, 20 quarters), the run takes 8.7 s against
        // 10.2 s at the default level 6, for workbooks about a third larger (xlsx 17.9 MB
        // against 13.1 MB). Level 4 was 9.2 s and a fifth larger.
        let options = zip::write::SimpleFileOptions::default()
            .compression_method(method)
            .compression_level(compress.then_some(2))
            .last_modified_time(zip::DateTime::default());
        self.w.start_file(name, options).map_err(|e| self.err(e))
    }

    fn write(&mut self, s: &str) -> Result<()> {
        self.w.write_all(s.as_bytes()).map_err(|e| self.err(e))
    }

    /// Writes `buf` once it is large, and empties it.
    fn drain(&mut self, buf: &mut String) -> Result<()> {
        if buf.len() >= CHUNK {
            self.write(buf)?;
            buf.clear();
        }
        Ok(())
    }

    fn file(&mut self, name: &str, text: &str) -> Result<()> {
        self.start(name, true)?;
        self.write(text)
    }

    fn finish(self) -> Result<Vec<u8>> {
        let what = self.what;
        self.w
            .finish()
            .map(|c| c.into_inner())
            .map_err(|e| Error::Internal(format!("writing {what}: {e}")))
    }
}

/// Appends `s` escaped for XML text or attributes. Characters XML 1.0 cannot hold (control
/// characters other than tab and line ends) become U+FFFD.
fn escape_into(out: &mut String, s: &str) {
    if !s.bytes().any(|b| {
        matches!(b, b'&' | b'<' | b'>' | b'"' | 0xEF)
            || (b < 0x20 && !matches!(b, b'\t' | b'\n' | b'\r'))
    }) {
        out.push_str(s);
        return;
    }
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\t' | '\n' | '\r' => out.push(c),
            c if super::xml_forbidden(c) => out.push('\u{FFFD}'),
            c => out.push(c),
        }
    }
}

fn escaped(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    escape_into(&mut out, s);
    out
}

/// A number as the XML of a spreadsheet cell holds it: the shortest text that reads back as
/// the same `f64`.
fn push_number(out: &mut String, n: f64) {
    let _ = write!(out, "{n}");
}

/// The cell as it is written: a number that is not finite has no spreadsheet form and is
/// shown as not available.
fn written<'v, 'a>(v: &'v Value<'a>) -> &'v Value<'a> {
    const NOT_AVAILABLE: Value<'static> = Value::Text(Cow::Borrowed("[x]"));
    match v {
        Value::Number(n) if !n.is_finite() => &NOT_AVAILABLE,
        v => v,
    }
}

/// Spreadsheet column letters: 0 → A, 25 → Z, 26 → AA.
fn push_column(out: &mut String, mut c: usize) {
    let mut letters = [0u8; 4];
    let mut n = 0;
    loop {
        letters[n] = b'A' + (c % 26) as u8;
        n += 1;
        if c < 26 {
            break;
        }
        c = c / 26 - 1;
    }
    for &l in letters[..n].iter().rev() {
        out.push(l as char);
    }
}

const XML_HEAD: &str = r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"#;
const MAIN_NS: &str = "http://schemas.openxmlformats.org/spreadsheetml/2006/main";
const REL_NS: &str = "http://schemas.openxmlformats.org/officeDocument/2006/relationships";

/// The strings of an XLSX file, each stored once and referred to by number.
#[derive(Default)]
struct SharedStrings {
    index: HashMap<String, u32>,
    order: Vec<String>,
    uses: u64,
}

impl SharedStrings {
    fn id(&mut self, s: &str) -> u32 {
        self.uses += 1;
        if let Some(&i) = self.index.get(s) {
            return i;
        }
        let i = self.order.len() as u32;
        self.index.insert(s.to_string(), i);
        self.order.push(s.to_string());
        i
    }
}

/// The workbook as XLSX (Office Open XML) bytes.
pub fn xlsx(book: &Workbook) -> Result<Vec<u8>> {
    let n = book.sheets.len();
    let mut zip = Zip::new("the XLSX workbook");

    let mut types = format!(
        r#"{XML_HEAD}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>"#
    );
    for i in 1..=n {
        let _ = write!(
            types,
            r#"<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>"#
        );
    }
    types.push_str(concat!(
        r#"<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>"#,
        r#"<Override PartName="/xl/sharedStrings.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/>"#,
        r#"<Override PartName="/docProps/core.xml" ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>"#,
        r#"<Override PartName="/docProps/app.xml" ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>"#,
        "</Types>"
    ));
    zip.file("[Content_Types].xml", &types)?;
    zip.file(
        "_rels/.rels",
        &format!(
            r#"{XML_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="{REL_NS}/officeDocument" Target="xl/workbook.xml"/><Relationship Id="rId2" Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" Target="docProps/core.xml"/><Relationship Id="rId3" Type="{REL_NS}/extended-properties" Target="docProps/app.xml"/></Relationships>"#
        ),
    )?;
    // Document properties: the title, as the guidance asks, and a fixed creation time.
    zip.file(
        "docProps/core.xml",
        &format!(
            r#"{XML_HEAD}<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"><dc:title>{}</dc:title><dc:creator>jsna</dc:creator><dcterms:created xsi:type="dcterms:W3CDTF">2000-01-01T00:00:00Z</dcterms:created></cp:coreProperties>"#,
            escaped(&book.plan.title)
        ),
    )?;
    zip.file(
        "docProps/app.xml",
        &format!(
            r#"{XML_HEAD}<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Application>jsna {}</Application></Properties>"#,
            env!("CARGO_PKG_VERSION")
        ),
    )?;
    let mut workbook = format!(
        r#"{XML_HEAD}<workbook xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><bookViews><workbookView/></bookViews><sheets>"#
    );
    let mut rels = format!(
        r#"{XML_HEAD}<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
    );
    for (i, s) in book.sheets.iter().enumerate() {
        let i = i + 1;
        let _ = write!(
            workbook,
            r#"<sheet name="{}" sheetId="{i}" r:id="rId{i}"/>"#,
            escaped(&s.name)
        );
        let _ = write!(
            rels,
            r#"<Relationship Id="rId{i}" Type="{REL_NS}/worksheet" Target="worksheets/sheet{i}.xml"/>"#
        );
    }
    workbook.push_str("</sheets></workbook>");
    let _ = write!(
        rels,
        r#"<Relationship Id="rId{}" Type="{REL_NS}/styles" Target="styles.xml"/><Relationship Id="rId{}" Type="{REL_NS}/sharedStrings" Target="sharedStrings.xml"/></Relationships>"#,
        n + 1,
        n + 2
    );
    zip.file("xl/workbook.xml", &workbook)?;
    zip.file("xl/_rels/workbook.xml.rels", &rels)?;
    // Style 0 is plain, style 1 bold (titles and column headers).
    zip.file(
        "xl/styles.xml",
        &format!(
            r#"{XML_HEAD}<styleSheet xmlns="{MAIN_NS}"><fonts count="2"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font><font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts><fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills><borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders><cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs><cellXfs count="2"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/><xf numFmtId="0" fontId="1" fillId="0" borderId="0" xfId="0" applyFont="1"/></cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles></styleSheet>"#
        ),
    )?;

    let mut strings = SharedStrings::default();
    let mut buf = String::with_capacity(CHUNK + (CHUNK >> 2));
    for (i, sheet) in book.sheets.iter().enumerate() {
        zip.start(&format!("xl/worksheets/sheet{}.xml", i + 1), true)?;
        let _ = write!(
            buf,
            r#"{XML_HEAD}<worksheet xmlns="{MAIN_NS}" xmlns:r="{REL_NS}"><sheetData>"#
        );
        let mut r = 0usize;
        book.each_row(sheet, &mut |row| {
            r += 1;
            let _ = write!(buf, r#"<row r="{r}">"#);
            // A cell's reference is written only after a skipped (empty) cell: the others
            // follow on, and leaving out a reference that changes on every row lets the sheet
            // compress to a third of the size, in half the time.
            let mut skipped = false;
            for (c, v) in row.iter().enumerate() {
                let v = written(v);
                if v == &Value::Empty {
                    skipped = true;
                    continue;
                }
                buf.push_str("<c");
                if skipped {
                    buf.push_str(r#" r=""#);
                    push_column(&mut buf, c);
                    let _ = write!(buf, "{r}\"");
                    skipped = false;
                }
                match v {
                    Value::Text(t) => {
                        let _ = write!(buf, r#" t="s"><v>{}</v></c>"#, strings.id(t));
                    }
                    Value::Heading(t) => {
                        let _ = write!(buf, r#" s="1" t="s"><v>{}</v></c>"#, strings.id(t));
                    }
                    Value::Number(x) => {
                        buf.push_str("><v>");
                        push_number(&mut buf, *x);
                        buf.push_str("</v></c>");
                    }
                    Value::Empty => {}
                }
            }
            buf.push_str("</row>");
            zip.drain(&mut buf)
        })?;
        buf.push_str("</sheetData></worksheet>");
        zip.write(&buf)?;
        buf.clear();
    }
    zip.start("xl/sharedStrings.xml", true)?;
    let _ = write!(
        buf,
        r#"{XML_HEAD}<sst xmlns="{MAIN_NS}" count="{}" uniqueCount="{}">"#,
        strings.uses,
        strings.order.len()
    );
    for s in &strings.order {
        // Leading or trailing spaces are kept only when the text says so.
        if s.starts_with([' ', '\t', '\n']) || s.ends_with([' ', '\t', '\n']) {
            buf.push_str(r#"<si><t xml:space="preserve">"#);
        } else {
            buf.push_str("<si><t>");
        }
        escape_into(&mut buf, s);
        buf.push_str("</t></si>");
        zip.drain(&mut buf)?;
    }
    buf.push_str("</sst>");
    zip.write(&buf)?;
    zip.finish()
}

/// The workbook as ODS (OpenDocument) bytes.
pub fn ods(book: &Workbook) -> Result<Vec<u8>> {
    let mut zip = Zip::new("the ODS workbook");
    // The mimetype entry comes first and uncompressed, as OpenDocument requires.
    zip.start("mimetype", false)?;
    zip.write("application/vnd.oasis.opendocument.spreadsheet")?;
    zip.file(
        "META-INF/manifest.xml",
        concat!(
            r#"<?xml version="1.0" encoding="UTF-8"?>"#,
            r#"<manifest:manifest xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">"#,
            r#"<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>"#,
            r#"<manifest:file-entry manifest:full-path="meta.xml" manifest:media-type="text/xml"/>"#,
            r#"<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/>"#,
            r#"</manifest:manifest>"#
        ),
    )?;
    zip.file(
        "meta.xml",
        &format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><office:document-meta xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:meta="urn:oasis:names:tc:opendocument:xmlns:meta:1.0" office:version="1.2"><office:meta><dc:title>{}</dc:title><meta:generator>jsna {}</meta:generator><meta:creation-date>2000-01-01T00:00:00</meta:creation-date></office:meta></office:document-meta>"#,
            escaped(&book.plan.title),
            env!("CARGO_PKG_VERSION")
        ),
    )?;
    zip.start("content.xml", true)?;
    let mut buf = String::with_capacity(CHUNK + (CHUNK >> 2));
    buf.push_str(concat!(
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
    for sheet in &book.sheets {
        buf.push_str(r#"<table:table table:name=""#);
        escape_into(&mut buf, &sheet.name);
        buf.push_str(r#"">"#);
        book.each_row(sheet, &mut |row| {
            buf.push_str("<table:table-row>");
            for v in row {
                match written(v) {
                    Value::Text(t) => {
                        buf.push_str(r#"<table:table-cell office:value-type="string"><text:p>"#);
                        escape_into(&mut buf, t);
                        buf.push_str("</text:p></table:table-cell>");
                    }
                    Value::Heading(t) => {
                        buf.push_str(r#"<table:table-cell table:style-name="bold" office:value-type="string"><text:p>"#);
                        escape_into(&mut buf, t);
                        buf.push_str("</text:p></table:table-cell>");
                    }
                    Value::Number(n) => {
                        // The value attribute is the number. The displayed text is optional
                        // and left to the reader: without it the file is a fifth smaller.
                        buf.push_str(r#"<table:table-cell office:value-type="float" office:value=""#);
                        push_number(&mut buf, *n);
                        buf.push_str(r#""/>"#);
                    }
                    Value::Empty => buf.push_str("<table:table-cell/>"),
                }
            }
            buf.push_str("</table:table-row>");
            zip.drain(&mut buf)
        })?;
        buf.push_str("</table:table>");
    }
    buf.push_str("</office:spreadsheet></office:body></office:document-content>");
    zip.write(&buf)?;
    zip.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use calamine::{open_workbook_auto_from_rs, Data, Reader};

    #[test]
    fn column_letters_follow_the_spreadsheet_sequence() {
        let name = |c| {
            let mut s = String::new();
            push_column(&mut s, c);
            s
        };
        let got: Vec<String> = [0, 25, 26, 51, 52, 701, 702, 16383]
            .into_iter()
            .map(name)
            .collect();
        assert_eq!(got, ["A", "Z", "AA", "AZ", "BA", "ZZ", "AAA", "XFD"]);
    }

    #[test]
    fn xml_text_is_escaped_and_characters_xml_cannot_hold_are_replaced() {
        assert_eq!(escaped("a<b>&\"c\""), "a&lt;b&gt;&amp;&quot;c&quot;");
        assert_eq!(escaped("tab\there\u{1}"), "tab\there\u{FFFD}");
        assert_eq!(escaped("a\u{FFFE}b\u{FFFF}"), "a\u{FFFD}b\u{FFFD}");
        assert_eq!(escaped("plain"), "plain");
    }

    #[test]
    fn continuation_sheet_names_stay_within_31_characters() {
        let long = "a_very_long_indicator_identifier_indeed";
        assert_eq!(sheet_name(3, long).chars().count(), 31);
        let part = sheet_name_part(3, 12, long);
        assert_eq!(part.chars().count(), 31);
        assert!(part.ends_with(" (12)"), "{part}");
    }

    /// Every sheet as text, the way a reader sees it.
    fn read_back(bytes: Vec<u8>) -> Vec<(String, Vec<Vec<String>>)> {
        let mut book = open_workbook_auto_from_rs(std::io::Cursor::new(bytes)).unwrap();
        let names = book.sheet_names().to_vec();
        names
            .into_iter()
            .map(|n| {
                let range = book.worksheet_range(&n).unwrap();
                let rows = range
                    .rows()
                    .map(|r| r.iter().map(Data::to_string).collect())
                    .collect();
                (n, rows)
            })
            .collect()
    }

    #[test]
    fn a_table_longer_than_a_sheet_continues_on_further_sheets_in_both_formats() {
        // Read at run time: a build cache shared between clones would bake in the other clone's path.
        let dir = std::path::PathBuf::from(
            std::env::var_os("CARGO_MANIFEST_DIR")
                .unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
        );
        let out = std::env::temp_dir().join(format!("jsna-sheets-test-{}", std::process::id()));
        let plan =
            crate::pipeline::plan::load(&dir.join("pipelines/example.toml"), Some(&out)).unwrap();
        let data = crate::pipeline::ingest_all(&plan, &crate::log::Progress::hidden()).unwrap();
        let counts = crate::indicators::compute(
            &plan,
            &crate::indicators::Inputs {
                areas: &data.areas,
                records: data.records.as_ref(),
                population: &data.population,
                structure: data.structure.as_ref(),
                published: &data.published,
            },
        )
        .unwrap();
        let table = crate::disclosure::disclose(&plan, counts);
        let gaps = crate::indicators::gaps::compute(&plan, &table);
        let whole = workbook(&plan, &table, &gaps);
        let first = plan.indicators[0].id.clone();
        let rows = table.rows().iter().filter(|r| r.indicator == 0).count();
        // 4 heading rows and 100 table rows per sheet.
        let split = workbook_with(&plan, &table, &gaps, 104);
        let parts = rows.div_ceil(100);
        assert!(parts >= 3, "the first indicator has {rows} rows");
        let mut readings = Vec::new();
        for as_ods in [false, true] {
            let write = |b: &Workbook| if as_ods { ods(b) } else { xlsx(b) }.unwrap();
            let one = read_back(write(&whole));
            let many = read_back(write(&split));
            let table_of = |sheets: &[(String, Vec<Vec<String>>)], name: &str| {
                sheets.iter().find(|(n, _)| n == name).unwrap().1.clone()
            };
            let whole_rows = table_of(&one, &sheet_name(1, &first));
            let mut joined = Vec::new();
            for part in 1..=parts {
                let name = sheet_name_part(1, part, &first);
                let rows = table_of(&many, &name);
                assert!(rows.len() <= 104, "{name}: {} rows", rows.len());
                assert!(
                    rows[0][0].ends_with(&format!("(part {part} of {parts})")),
                    "{name}: {}",
                    rows[0][0]
                );
                assert_eq!(rows[3], whole_rows[3], "{name} repeats the column headers");
                joined.extend(rows[4..].iter().cloned());
            }
            assert_eq!(joined, whole_rows[4..].to_vec(), "ods: {as_ods}");
            // The contents sheet lists every part.
            let contents = table_of(&many, "Contents");
            assert_eq!(
                contents.len() - 3,
                many.len() - 2,
                "every sheet after Contents is listed"
            );
            // Other sheets are unchanged.
            assert_eq!(table_of(&one, "Notes"), table_of(&many, "Notes"));
            readings.push(one);
        }
        assert_eq!(readings[0], readings[1], "XLSX and ODS hold the same cells");
        let _ = std::fs::remove_dir_all(&out);
    }
}
