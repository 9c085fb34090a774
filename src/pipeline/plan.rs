//! The compiled, checked pipeline: what the code runs. `compile` reports every problem at once.

use super::spec::{DataTestKind, Method, PeriodKind, Severity, SourceKind, SourceSpec, Spec};
use crate::error::{Error, Result};
use crate::publish::hex;
use crate::stats::Polarity;
use polars::prelude::*;
use polars::sql::sql_expr;
use sha2::{Digest, Sha256};
use std::ops::Range;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone)]
pub struct Source {
    pub id: String,
    pub kind: SourceKind,
    pub path: PathBuf,
    /// The path as written in the pipeline file (shown in the manifest and report).
    pub display_path: String,
    pub columns: Vec<(String, String)>,
    /// Columns the anonymisation guard lets through, with the reason given.
    pub allow_identifiers: std::collections::BTreeMap<String, String>,
    /// Declared data tests (records only).
    pub tests: Vec<DataTest>,
    /// The sheet to read from a spreadsheet, by name or pattern.
    pub sheet: Option<String>,
    /// Published tables: the count column, when not the layout's default.
    pub value: Option<String>,
    /// Published tables without dates: the period's last day, `YYYY-MM-DD` (checked).
    pub period_end: Option<String>,
    /// Records: dates outside this window (inclusive) are quarantined.
    pub date_window: (chrono::NaiveDate, chrono::NaiveDate),
    /// Series breaks: those the table's layout knows, then those the pipeline declares.
    pub breaks: Vec<SeriesBreak>,
}

/// The analyst's Markdown rendered to safe HTML (see [`crate::markdown`]), by section; empty
/// strings for sections not given.
#[derive(Debug, Clone, Default)]
pub struct Narrative {
    pub summary: String,
    pub implications: String,
    pub caveats: String,
    /// Area code → (summary, implications) of that area's page.
    pub areas: std::collections::BTreeMap<String, (String, String)>,
}

impl Narrative {
    fn from_spec(spec: &super::spec::NarrativeSpec) -> Narrative {
        let html = |s: &Option<String>| {
            s.as_deref()
                .filter(|t| !t.trim().is_empty())
                .map(crate::markdown::to_safe_html)
                .unwrap_or_default()
        };
        Narrative {
            summary: html(&spec.summary),
            implications: html(&spec.implications),
            caveats: html(&spec.caveats),
            areas: spec
                .areas
                .iter()
                .map(|(code, a)| (code.clone(), (html(&a.summary), html(&a.implications))))
                .collect(),
        }
    }
}

/// From `date` on, the source's figures are not comparable with earlier ones.
#[derive(Debug, Clone, PartialEq)]
pub struct SeriesBreak {
    pub date: chrono::NaiveDate,
    /// The break concerns rows with this value of this canonical column only (a known break of
    /// one category, such as Section 98 support); `None`: every row.
    pub category: Option<(String, String)>,
    pub reason: String,
    /// Declared in the pipeline file (else known from the table's layout).
    pub declared: bool,
    /// A caveat on one period only (noted, the series not split).
    pub one_period: bool,
}

/// A checked data test on one column of a records source.
#[derive(Debug, Clone, PartialEq)]
pub struct DataTest {
    pub column: String,
    pub kind: DataTestKind,
    pub values: Vec<String>,
    pub min: Option<f64>,
    pub max: Option<f64>,
    pub severity: Severity,
    /// Share of rows that may fail before an `error` test fails the run.
    pub tolerance: f64,
}

impl DataTest {
    /// The test in words, e.g. `range 0 to 110` or `accepted_values (F, M)`.
    pub fn describe(&self) -> String {
        let bound = |b: Option<f64>| b.map(|x| x.to_string()).unwrap_or_else(|| "any".into());
        match self.kind {
            DataTestKind::NotNull => "not_null".into(),
            DataTestKind::Unique => "unique".into(),
            DataTestKind::AcceptedValues => {
                format!("accepted_values ({})", self.values.join(", "))
            }
            DataTestKind::Range => format!("range {} to {}", bound(self.min), bound(self.max)),
            DataTestKind::Relationships => "relationships to areas".into(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub label: String,
    pub sql: String,
    pub filter: Expr,
    pub reference: bool,
    /// The residents the group is counted against (rates and representation), over the
    /// population columns; `None` is every resident.
    pub population: Option<Population>,
}

/// A condition over the population columns (`sex`, `age_band`, `age_min`, `age_max`).
#[derive(Debug, Clone)]
pub struct Population {
    pub sql: String,
    pub filter: Expr,
}

#[derive(Debug, Clone)]
pub struct Indicator {
    pub id: String,
    pub name: String,
    pub source: usize,
    pub method: Method,
    pub numerator_sql: String,
    pub numerator: Expr,
    pub denominator_sql: String,
    pub denominator: Expr,
    pub multiplier: f64,
    pub polarity: Polarity,
    /// Indices into `Plan::groups`; empty for area-level indicators.
    pub groups: Vec<usize>,
    pub definition: String,
    pub unit: Option<String>,
    /// Indices into `Plan::breakdowns`.
    pub breakdowns: Vec<usize>,
    /// The heat map this indicator is a row of, if any.
    pub domain: Option<String>,
    /// Rates and representation: the residents counted, when not the group's.
    pub population: Option<Population>,
    /// Rates: a planning threshold on the indicator's scale.
    pub threshold: Option<f64>,
    /// Proportions and rates: the number of periods each value sums (rolling), when more than 1.
    pub rolling: Option<u32>,
    /// Rates: the one mid-year whose residents are every period's denominator, if set.
    pub population_year: Option<i32>,
}

impl Indicator {
    /// The residents a rate or representation index of group `g` is counted against: the
    /// indicator's `population`, else the group's, else every resident (`None`).
    pub fn population_of<'a>(&'a self, plan: &'a Plan, g: Option<usize>) -> Option<&'a Population> {
        self.population
            .as_ref()
            .or_else(|| g.and_then(|g| plan.groups[g].population.as_ref()))
    }

    /// Whether the count is of local records (as opposed to a published table).
    pub fn from_records(&self, plan: &Plan) -> bool {
        plan.sources[self.source].kind == SourceKind::Records
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisclosureRule {
    pub threshold: u64,
    pub rounding: u64,
    /// Zeros are suppressed too.
    pub suppress_zeros: bool,
    /// Indicators from published national tables are not protected.
    pub exempt_published: bool,
    /// The geography level breakdown rows are published at.
    pub breakdown_level: super::spec::BreakdownLevel,
    /// Medians are published only from this published (rounded) count of values.
    pub median_min: u64,
}

impl DisclosureRule {
    /// No protection at all: for restricted outputs and exempt tables.
    pub const NONE: DisclosureRule = DisclosureRule {
        threshold: 0,
        rounding: 1,
        suppress_zeros: false,
        exempt_published: false,
        breakdown_level: crate::pipeline::spec::BreakdownLevel::Area,
        median_min: 0,
    };
}

#[derive(Debug, Clone)]
pub struct Plan {
    /// The analyst's words, already rendered to safe HTML.
    pub narrative: Narrative,
    pub name: String,
    pub title: String,
    pub period: PeriodKind,
    pub pipeline_path: PathBuf,
    pub pipeline_sha256: String,
    pub lookup: PathBuf,
    pub lookup_display: String,
    /// The code history file and its path as written, when the pipeline gives one.
    pub code_history: Option<(PathBuf, String)>,
    pub total_code: String,
    pub total_name: String,
    /// Areas are upper-tier authorities (districts roll up to them).
    pub upper_tier: bool,
    pub sources: Vec<Source>,
    pub groups: Vec<Group>,
    pub indicators: Vec<Indicator>,
    /// Every breakdown indicators can use: the built-ins, then the file's own.
    pub breakdowns: Vec<super::breakdowns::Breakdown>,
    pub disclosure: DisclosureRule,
    pub out_dir: PathBuf,
    /// Where unsuppressed figures go, only when the pipeline or the command line names it.
    pub restricted_dir: Option<PathBuf>,
    /// Where the record-level quarantine goes when `[output] quality_dir` names a folder (and
    /// the name as written); otherwise beside the output folder, see [`Plan::quality_folder`].
    pub quality_dir: Option<(PathBuf, String)>,
    /// Why suppression is off (`[disclosure] threshold = 0` needs one); shown in the report.
    pub no_suppression_reason: Option<String>,
    /// The user's page template, when `[output] templates` names a folder.
    pub template: Option<Template>,
}

/// A page template read from the user's templates folder.
#[derive(Debug, Clone)]
pub struct Template {
    /// The file as the pipeline names it (folder as written, then `report.html`).
    pub display: String,
    pub text: String,
    pub sha256: String,
}

impl Plan {
    /// Whether any indicator's figures are published tables shown as published (the default
    /// `[disclosure] exempt_published`).
    pub fn shows_published_tables_as_published(&self) -> bool {
        self.disclosure.exempt_published
            && self
                .indicators
                .iter()
                .any(|i| self.source_of(i).kind.is_published())
    }

    /// The quality folder: `[output] quality_dir`, or `<output folder>-quality` beside it.
    pub fn quality_folder(&self) -> PathBuf {
        match &self.quality_dir {
            Some((path, _)) => path.clone(),
            None => {
                let name = self
                    .out_dir
                    .file_name()
                    .map(|n| n.to_string_lossy().to_string())
                    .unwrap_or_else(|| "report".into());
                self.out_dir.with_file_name(format!("{name}-quality"))
            }
        }
    }

    /// How the report names the quality folder (the same wherever the report is written).
    pub fn quality_folder_shown(&self) -> String {
        match &self.quality_dir {
            Some((_, shown)) => shown.clone(),
            None => "the folder beside this report whose name ends in -quality".into(),
        }
    }

    /// Every file the run reads, for the output-folder guard.
    pub fn input_paths(&self) -> Vec<&Path> {
        let mut v = vec![self.pipeline_path.as_path(), self.lookup.as_path()];
        v.extend(self.code_history.as_ref().map(|(p, _)| p.as_path()));
        v.extend(self.sources.iter().map(|s| s.path.as_path()));
        v
    }

    pub fn source_of(&self, indicator: &Indicator) -> &Source {
        &self.sources[indicator.source]
    }
}

/// Renders `message` with the file, line and column of `span` and a caret under it.
pub fn snippet(file: &Path, text: &str, span: Range<usize>, message: &str) -> String {
    let start = span.start.min(text.len());
    let line_start = text[..start].rfind('\n').map_or(0, |i| i + 1);
    let line_end = text[start..].find('\n').map_or(text.len(), |i| start + i);
    let line_no = text[..start].matches('\n').count() + 1;
    let col = text[line_start..start].chars().count();
    let width = text[start..span.end.min(line_end).max(start)]
        .chars()
        .count()
        .max(1);
    let gutter = " ".repeat(line_no.to_string().len());
    // A long line (a damaged or hostile file) is shown as 60 characters either side of the caret.
    let line: Vec<char> = text[line_start..line_end].chars().collect();
    let from = col.saturating_sub(60);
    let to = (col + width + 60).min(line.len());
    let shown: String = line[from..to].iter().collect();
    let (lead, tail) = (
        if from > 0 { "…" } else { "" },
        if to < line.len() { "…" } else { "" },
    );
    format!(
        "{}:{}:{}: {message}\n{gutter} |\n{line_no} | {lead}{shown}{tail}\n{gutter} | {}{}{}",
        file.display(),
        line_no,
        col + 1,
        " ".repeat(lead.chars().count()),
        " ".repeat(col - from),
        "^".repeat(width.min(to.saturating_sub(col).max(1)))
    )
}

/// Reads, parses and compiles a pipeline file.
pub fn load(path: &Path, out_override: Option<&Path>) -> Result<Plan> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    let text = String::from_utf8(bytes.clone()).map_err(|_| {
        Error::Config(format!(
            "{}: the pipeline file is not valid UTF-8",
            path.display()
        ))
    })?;
    let spec: Spec = toml::from_str(&text).map_err(|e| {
        let message = e.message().to_string();
        match e.span() {
            Some(span) => Error::Config(snippet(path, &text, span, &message)),
            None => Error::Config(format!("{}: {message}", path.display())),
        }
    })?;
    let sha = hex(&Sha256::digest(&bytes));
    compile(spec, path, &text, sha, out_override)
}

/// The one template file a templates folder may override.
pub const TEMPLATE_FILE: &str = "report.html";

fn compile(
    spec: Spec,
    path: &Path,
    text: &str,
    sha: String,
    out_override: Option<&Path>,
) -> Result<Plan> {
    let base = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut problems: Vec<String> = Vec::new();
    let mut err = |span: Range<usize>, msg: String| problems.push(snippet(path, text, span, &msg));

    let name = spec.name.get_ref().clone();
    if name.is_empty()
        || !name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
    {
        err(spec.name.span(), format!("invalid name '{name}'; use letters, digits, '-' and '_' (it names the output folder)"));
    }

    let mut resolve = |p: &toml::Spanned<String>| match expand_env(p.get_ref()) {
        Ok(expanded) => (base.join(&expanded), expanded),
        Err(msg) => {
            err(p.span(), msg);
            (PathBuf::new(), String::new())
        }
    };
    // An input whose path comes from an environment variable (or its default) and is missing:
    // name the variable, since setting it is the fix.
    let mut missing_from_env = Vec::new();
    let mut resolve_input = |p: &toml::Spanned<String>| {
        let (path, shown) = resolve(p);
        if p.get_ref().contains("${") && !shown.is_empty() && !path.exists() {
            missing_from_env.push((p.span(), p.get_ref().clone(), path.clone()));
        }
        (path, shown)
    };
    let lookup = resolve_input(&spec.areas.lookup);
    let code_history = spec.areas.code_history.as_ref().map(&mut resolve_input);
    let resolved: Vec<(PathBuf, String)> = spec
        .sources
        .values()
        .map(|s| resolve_input(&s.path))
        .collect();
    let out_dir_spec = spec.output.dir.as_ref().map(&mut resolve);
    let restricted_spec = spec.output.restricted_dir.as_ref().map(&mut resolve);
    let quality_spec = spec.output.quality_dir.as_ref().map(&mut resolve);
    let templates_spec = spec
        .output
        .templates
        .as_ref()
        .map(|t| (resolve(t), t.span()));
    for (span, text, path) in missing_from_env {
        let vars: Vec<&str> = text
            .split("${")
            .skip(1)
            .filter_map(|v| v.split([':', '}']).next())
            .collect();
        err(
            span,
            format!(
                "input file not found: {} (the path is '{text}'; set {} to the folder that holds it, e.g. {}=/path/to/real_data)",
                path.display(),
                vars.join(" or "),
                vars.first().unwrap_or(&"VAR")
            ),
        );
    }
    let sources: Vec<Source> = spec
        .sources
        .iter()
        .zip(resolved)
        .map(|((id, s), (path, display_path))| Source {
            id: id.clone(),
            kind: s.kind,
            path,
            display_path,
            columns: s
                .columns
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            allow_identifiers: s.allow_identifiers.clone(),
            tests: data_tests(id, s, &mut err),
            sheet: s.sheet.clone(),
            value: s.value.clone(),
            period_end: published_options(id, s, &mut err),
            date_window: date_window(id, s, &mut err),
            breaks: series_breaks(id, s, &mut err),
        })
        .collect();
    for (kind, allowed) in [
        (SourceKind::Records, 0..=1),
        (SourceKind::Population, 1..=2),
    ] {
        let n = sources.iter().filter(|s| s.kind == kind).count();
        if !allowed.contains(&n) {
            let want = match (*allowed.start(), *allowed.end()) {
                (0, _) => "at most one",
                (1, 2) => "one or two (all ages, and one with sex and age_band)",
                _ => "exactly one",
            };
            problems.push(format!(
                "{}: expected {want} source of kind '{}', found {n}",
                path.display(),
                kind_name(kind)
            ));
        }
    }

    let record_schema = crate::ingest::records::canonical_schema();
    let check_sql = |sql: &toml::Spanned<String>,
                     what: &str,
                     err: &mut dyn FnMut(Range<usize>, String)|
     -> Expr {
        if let Some(why) = row_dependent(sql.get_ref()) {
            err(sql.span(), format!("{what} '{}' {why}", sql.get_ref()));
            return lit(false);
        }
        match sql_expr(sql.get_ref()).and_then(|e| check_expr(&record_schema, e)) {
            Ok(e) => e,
            Err(e) => {
                err(
                    sql.span(),
                    format!(
                        "{what} '{}' is not a valid condition over the record columns: {}",
                        sql.get_ref(),
                        first_line(&e.to_string())
                    ),
                );
                lit(false)
            }
        }
    };

    let check_value =
        |sql: &toml::Spanned<String>, err: &mut dyn FnMut(Range<usize>, String)| -> Expr {
            if let Some(why) = row_dependent(sql.get_ref()) {
                err(sql.span(), format!("value '{}' {why}", sql.get_ref()));
                return lit(NULL);
            }
            let checked = sql_expr(sql.get_ref()).and_then(|e| {
                let empty = DataFrame::empty_with_schema(&record_schema);
                let out = empty.lazy().select([e.clone().alias("v")]).collect()?;
                if out.column("v")?.dtype().is_primitive_numeric() {
                    Ok(e)
                } else {
                    Err(PolarsError::ComputeError(
                        format!("it gives {}, not a number", out.column("v")?.dtype()).into(),
                    ))
                }
            });
            match checked {
                Ok(e) => e,
                Err(e) => {
                    err(
                        sql.span(),
                        format!(
                            "value '{}' is not a numeric expression over the record columns: {}",
                            sql.get_ref(),
                            first_line(&e.to_string())
                        ),
                    );
                    lit(NULL)
                }
            }
        };

    let population_schema = crate::ingest::population::condition_schema();
    let check_population = |sql: &toml::Spanned<String>,
                            err: &mut dyn FnMut(Range<usize>, String)|
     -> Population {
        let filter = match sql_expr(sql.get_ref()).and_then(|e| check_expr(&population_schema, e)) {
            Ok(e) => e,
            Err(e) => {
                err(
                        sql.span(),
                        format!(
                            "population '{}' is not a valid condition over the population columns (sex, age_band, age_min, age_max): {}",
                            sql.get_ref(),
                            first_line(&e.to_string())
                        ),
                    );
                lit(false)
            }
        };
        Population {
            sql: sql.get_ref().clone(),
            filter,
        }
    };

    // Ids name files and columns: a safe alphabet only (no path separators, no dots).
    let keyed = spec
        .groups
        .keys()
        .map(|k| ("group", k))
        .chain(spec.sources.keys().map(|k| ("source", k)))
        .chain(spec.breakdowns.keys().map(|k| ("breakdown", k)));
    for (what, id) in keyed {
        if let Some(why) = unsafe_id(id) {
            problems.push(format!(
                "{}: {what} id '{}' {why}",
                path.display(),
                id.escape_debug()
            ));
        }
    }
    for (id, s) in &spec.sources {
        for (column, reason) in &s.allow_identifiers {
            if reason.trim().is_empty() {
                problems.push(format!(
                    "{}: source '{id}': allow_identifiers needs a reason for column '{column}' (it is written to the manifest), e.g. {column} = \"a local case number, not an NHS number\"",
                    path.display()
                ));
            }
        }
    }
    let mut err = |span: Range<usize>, msg: String| problems.push(snippet(path, text, span, &msg));

    let mut groups = Vec::new();
    for (id, g) in &spec.groups {
        let filter = check_sql(&g.filter, "filter", &mut err);
        let population = g.population.as_ref().map(|p| check_population(p, &mut err));
        groups.push(Group {
            id: id.clone(),
            label: g.label.clone(),
            sql: g.filter.get_ref().clone(),
            filter,
            reference: g.reference,
            population,
        });
    }
    if !groups.is_empty() && !groups.iter().any(|g| g.reference) {
        problems_note(
            &mut err,
            text,
            "no group has `reference = true`; equality comparisons need a reference group",
        );
    }

    let mut breakdowns = Vec::new();
    for (id, label, column, categories, remainder) in super::breakdowns::builtin() {
        if spec.breakdowns.contains_key(id) {
            continue;
        }
        let compiled = categories
            .into_iter()
            .map(|(l, sql)| {
                let e = sql_expr(&sql).expect("built-in breakdown conditions parse");
                (l, e)
            })
            .collect();
        breakdowns.push(super::breakdowns::Breakdown::new(
            id, label, column, compiled, remainder,
        ));
    }
    for (id, b) in &spec.breakdowns {
        let compiled = b
            .categories
            .iter()
            .map(|c| {
                // Parsed here; checked against the columns of each table that uses it.
                let e = match sql_expr(c.filter.get_ref()) {
                    Ok(e) => e,
                    Err(e) => {
                        err(
                            c.filter.span(),
                            format!(
                                "category filter '{}' is not a valid condition: {}",
                                c.filter.get_ref(),
                                first_line(&e.to_string())
                            ),
                        );
                        lit(false)
                    }
                };
                (c.label.clone(), e)
            })
            .collect();
        breakdowns.push(super::breakdowns::Breakdown::new(
            id,
            &b.label,
            b.column,
            compiled,
            &b.remainder,
        ));
    }
    let breakdown_ids: Vec<&str> = breakdowns.iter().map(|b| b.id.as_str()).collect();

    let group_ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    let source_ids: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    let mut indicators = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for ind in &spec.indicators {
        let id = ind.id.get_ref().clone();
        if !seen.insert(id.clone()) {
            err(ind.id.span(), format!("indicator id '{id}' is used twice"));
        }
        if let Some(why) = unsafe_id(&id) {
            err(
                ind.id.span(),
                format!("indicator id '{}' {why}", id.escape_debug()),
            );
        } else if id.ends_with("_trend")
            || id.ends_with("_funnel")
            || id.starts_with("heatmap_")
            || id == "population_pyramid"
        {
            err(ind.id.span(), format!("indicator id '{id}' would share a chart file name with another chart; ids may not end in _trend or _funnel, start with heatmap_ or be population_pyramid"));
        }
        let source = match sources.iter().position(|s| &s.id == ind.source.get_ref()) {
            Some(i) => i,
            None => {
                err(
                    ind.source.span(),
                    format!(
                        "unknown source '{}'; expected one of: {}",
                        ind.source.get_ref(),
                        source_ids.join(", ")
                    ),
                );
                continue;
            }
        };
        let kind = sources[source].kind;
        let (numerator_sql, numerator, denominator_sql, denominator) = match (kind, ind.method) {
            (SourceKind::Records, Method::Proportion | Method::Rate) => {
                let (nsql, n) = match (&ind.numerator, ind.method) {
                    (Some(num), _) => {
                        (num.get_ref().clone(), check_sql(num, "numerator", &mut err))
                    }
                    (None, Method::Rate) => ("TRUE".to_string(), lit(true)),
                    (None, _) => {
                        err(ind.id.span(), format!("indicator '{id}' is a proportion and needs `numerator = \"<condition>\"`"));
                        continue;
                    }
                };
                let (dsql, d) = match &ind.denominator {
                    Some(den) => (
                        den.get_ref().clone(),
                        check_sql(den, "denominator", &mut err),
                    ),
                    None => ("TRUE".to_string(), lit(true)),
                };
                (nsql, n, dsql, d)
            }
            (SourceKind::Records, Method::Representation) => {
                if let Some(num) = &ind.numerator {
                    err(num.span(), format!("indicator '{id}' is a representation index, which takes no numerator: it compares each group's share of the records meeting `denominator` with the group's share of the population"));
                }
                let (dsql, d) = match &ind.denominator {
                    Some(den) => (
                        den.get_ref().clone(),
                        check_sql(den, "denominator", &mut err),
                    ),
                    None => ("TRUE".to_string(), lit(true)),
                };
                ("TRUE".to_string(), lit(true), dsql, d)
            }
            (SourceKind::Records, Method::Median) => {
                let Some(value) = &ind.value else {
                    err(ind.id.span(), format!("indicator '{id}' is a median and needs `value = \"<expression>\"`, e.g. `value = \"days_to_assessment\"`"));
                    continue;
                };
                let v = check_value(value, &mut err);
                let (dsql, d) = match &ind.denominator {
                    Some(den) => (
                        den.get_ref().clone(),
                        check_sql(den, "denominator", &mut err),
                    ),
                    None => (
                        format!("{} IS NOT NULL", value.get_ref()),
                        v.clone().is_not_null(),
                    ),
                };
                (value.get_ref().clone(), v, dsql, d)
            }
            (k, Method::Rate | Method::Count)
                if k.is_published() && (k.has_areas() || ind.method == Method::Count) =>
            {
                let denominator = match ind.method {
                    Method::Count => "",
                    _ => "Mid-year resident population",
                };
                let layout =
                    crate::ingest::published::layout(k).expect("published kinds have layouts");
                let counts = layout.counts.to_string();
                match &ind.numerator {
                    None => (counts, lit(true), denominator.to_string(), lit(true)),
                    Some(num) => {
                        let schema = crate::ingest::published::schema(k);
                        let n = match sql_expr(num.get_ref()).and_then(|e| check_expr(&schema, e)) {
                            Ok(e) => e,
                            Err(e) => {
                                err(
                                    num.span(),
                                    format!(
                                        "numerator: {}; a '{}' table's columns are: {}",
                                        first_line(&e.to_string()),
                                        kind_name(k),
                                        crate::ingest::published::dim_names(k).join(", ")
                                    ),
                                );
                                lit(true)
                            }
                        };
                        (
                            format!("{counts} where {}", num.get_ref()),
                            n,
                            denominator.to_string(),
                            lit(true),
                        )
                    }
                }
            }
            (k, m) => {
                err(ind.source.span(), format!("method '{}' is not available for a '{}' source; records take 'proportion', 'median', 'rate' or 'representation'; asy_d11, res_d01 and nts take 'rate' or 'count'; the national tables nrm and dfe_uasc take 'count'", method_name(m), kind_name(k)));
                continue;
            }
        };
        let groups_for = if kind == SourceKind::Records {
            match &ind.groups {
                None => (0..groups.len()).collect(),
                Some(list) => {
                    let mut idx = Vec::new();
                    for g in list.get_ref() {
                        match group_ids.iter().position(|x| x == g) {
                            Some(i) => idx.push(i),
                            None => err(
                                list.span(),
                                format!(
                                    "unknown group '{g}'; expected one of: {}",
                                    group_ids.join(", ")
                                ),
                            ),
                        }
                    }
                    idx
                }
            }
        } else {
            Vec::new()
        };
        let mut breakdowns_for = Vec::new();
        if let Some(list) = &ind.breakdowns {
            let published = kind.is_published();
            // A breakdown splits the rows of the indicator's own table, by that table's columns.
            let table_schema = if published {
                crate::ingest::published::schema(kind)
            } else {
                record_schema.clone()
            };
            if published && !matches!(ind.method, Method::Rate | Method::Count) {
                err(
                    list.span(),
                    format!("indicator '{id}': breakdowns of a '{}' table are for 'rate' and 'count' indicators", kind_name(kind)),
                );
            }
            for b in list.get_ref() {
                match breakdown_ids.iter().position(|x| x == b) {
                    Some(i) if !breakdowns_for.contains(&i) => {
                        match check_index(&table_schema, &breakdowns[i]) {
                            Ok(_) => breakdowns_for.push(i),
                            Err(e) if published => err(
                                list.span(),
                                format!(
                                    "indicator '{id}': breakdown '{b}' cannot split a '{}' table ({}); declare one over its columns: {}",
                                    kind_name(kind),
                                    first_line(&e.to_string()),
                                    crate::ingest::published::dim_names(kind).join(", ")
                                ),
                            ),
                            Err(e) => err(
                                list.span(),
                                format!(
                                    "indicator '{id}': breakdown '{b}' is not valid over the record columns: {}",
                                    first_line(&e.to_string())
                                ),
                            ),
                        }
                    }
                    Some(_) => err(list.span(), format!("breakdown '{b}' is listed twice")),
                    None => err(
                        list.span(),
                        format!(
                            "unknown breakdown '{b}'; expected one of: {} (or declare it under [breakdowns.{b}])",
                            breakdown_ids.join(", ")
                        ),
                    ),
                }
            }
        }
        let multiplier = ind.multiplier.unwrap_or(match ind.method {
            Method::Representation | Method::Count => 1.0,
            _ => 100.0,
        });
        if ind.method == Method::Count && ind.multiplier.is_some_and(|m| m != 1.0) {
            err(
                ind.id.span(),
                format!("indicator '{id}': a count takes no multiplier"),
            );
        }
        if !(multiplier.is_finite() && multiplier > 0.0) {
            err(
                ind.id.span(),
                format!("indicator '{id}': multiplier must be a positive number, got {multiplier}"),
            );
        }
        let counted_against_population =
            matches!(ind.method, Method::Rate | Method::Representation);
        if let Some(p) = &ind.population {
            if !counted_against_population {
                err(p.span(), format!("indicator '{id}': `population` is for 'rate' and 'representation' indicators, whose denominators are residents"));
            }
        }
        if ind.threshold.is_some() && ind.method != Method::Rate {
            err(
                ind.id.span(),
                format!("indicator '{id}': `threshold` is for 'rate' indicators"),
            );
        }
        if let Some(t) = ind.threshold {
            if !t.is_finite() || t < 0.0 {
                err(
                    ind.id.span(),
                    format!("indicator '{id}': threshold must be a number of at least 0, got {t}"),
                );
            }
        }
        if counted_against_population && kind == SourceKind::Records && !breakdowns_for.is_empty() {
            if let Some(list) = &ind.breakdowns {
                err(list.span(), format!("indicator '{id}': a '{}' indicator has no breakdowns yet (each category would need its own population)", method_name(ind.method)));
            }
        }
        let population = ind
            .population
            .as_ref()
            .map(|p| check_population(p, &mut err));
        let population_year = ind.population_year.as_ref().and_then(|y| {
            let ok = (1900..=2100).contains(y.get_ref());
            if ind.method != Method::Rate {
                err(y.span(), format!("indicator '{id}': `population_year` fixes the residents of a 'rate' indicator, not of a '{}' one", method_name(ind.method)));
            } else if !ok {
                err(y.span(), format!("indicator '{id}': population_year must be a year such as 2022, got {}", y.get_ref()));
            }
            ok.then(|| *y.get_ref() as i32)
        });
        if let Some(n) = &ind.rolling {
            if !matches!(
                ind.method,
                Method::Proportion | Method::Rate | Method::Count
            ) {
                err(n.span(), format!("indicator '{id}': `rolling` sums counts over periods, so it is for 'proportion', 'rate' and 'count' indicators, not '{}'", method_name(ind.method)));
            }
            if !(1..=20).contains(n.get_ref()) {
                err(n.span(), format!("indicator '{id}': rolling must be a number of periods from 1 to 20, got {}", n.get_ref()));
            }
        }
        indicators.push(Indicator {
            id,
            name: ind.name.clone(),
            source,
            method: ind.method,
            numerator_sql,
            numerator,
            denominator_sql,
            denominator,
            multiplier,
            polarity: ind.polarity,
            groups: groups_for,
            definition: ind.definition.clone(),
            unit: ind.unit.clone(),
            breakdowns: breakdowns_for,
            domain: ind.domain.clone().filter(|d| !d.trim().is_empty()),
            population,
            threshold: ind.threshold,
            rolling: ind
                .rolling
                .as_ref()
                .map(|n| *n.get_ref())
                .filter(|&n| n > 1),
            population_year,
        });
    }
    let template = templates_spec.and_then(|((dir, shown), span)| {
        let file = dir.join(TEMPLATE_FILE);
        let shown = format!("{}/{TEMPLATE_FILE}", shown.trim_end_matches('/'));
        let text = match std::fs::read_to_string(&file) {
            Ok(text) => text,
            Err(e) => {
                err(span, format!("[output] templates: cannot read {shown}: {e}. The folder must hold {TEMPLATE_FILE}; `jsna template DIR` writes the built-in one to start from"));
                return None;
            }
        };
        if let Err(msg) = crate::render::html::check_template(&text) {
            err(span, format!("[output] templates: {shown} is not a valid template: {msg}"));
            return None;
        }
        Some(Template {
            display: shown,
            sha256: hex(&Sha256::digest(text.as_bytes())),
            text,
        })
    });
    let opt_out = spec
        .disclosure
        .no_suppression_reason
        .as_ref()
        .map(|r| r.trim().to_string());
    // A published count of `median_min_values` must mean at least 10 values (n ≥ count − half
    // the rounding), so that both intervals always exist and neither is the whole range.
    let floor = 10 + spec.disclosure.rounding / 2;
    let median_min = *spec.disclosure.median_min_values.get_ref();
    if spec.disclosure.threshold > 0 && median_min < floor.max(spec.disclosure.threshold + 1) {
        problems.push(format!(
            "{}: [disclosure] median_min_values must be at least {} (10 values plus half the rounding, and more than the threshold), got {median_min}: a median of fewer values gives individual values away",
            path.display(),
            floor.max(spec.disclosure.threshold + 1)
        ));
    }
    match (spec.disclosure.threshold, &opt_out) {
        (0, None) => problems.push(format!(
            "{}: [disclosure] threshold = 0 turns off suppression (primary and secondary). Counts of 1 upward would be published. If that is really meant (for a restricted audience), say why: [disclosure] no_suppression_reason = \"...\" (written into the report)",
            path.display()
        )),
        (0, Some(r)) if r.is_empty() => problems.push(format!(
            "{}: [disclosure] no_suppression_reason must say why suppression is turned off",
            path.display()
        )),
        (t, Some(_)) if t > 0 => problems.push(format!(
            "{}: [disclosure] no_suppression_reason is only for threshold = 0 (the threshold is {t})",
            path.display()
        )),
        _ => {}
    }
    if spec.disclosure.rounding == 0 {
        problems.push(format!(
            "{}: [disclosure] rounding must be at least 1",
            path.display()
        ));
    }
    if !problems.is_empty() {
        return Err(Error::Config(problems.join("\n\n")));
    }
    let out_dir = match (out_override, &spec.output.dir) {
        (Some(dir), _) => dir.to_path_buf(),
        (None, Some(_)) => out_dir_spec.map(|(p, _)| p).unwrap_or_default(),
        (None, None) => PathBuf::from("reports").join(&name),
    };
    Ok(Plan {
        name,
        title: spec.title,
        period: spec.period,
        pipeline_path: path.to_path_buf(),
        pipeline_sha256: sha,
        lookup: lookup.0,
        lookup_display: lookup.1,
        upper_tier: spec.areas.level == super::spec::AreaLevel::Utla,
        code_history,
        total_code: spec.areas.total_code,
        total_name: spec.areas.total_name,
        sources,
        groups,
        indicators,
        breakdowns,
        disclosure: DisclosureRule {
            threshold: spec.disclosure.threshold,
            rounding: spec.disclosure.rounding,
            suppress_zeros: spec.disclosure.suppress_zeros,
            exempt_published: spec.disclosure.exempt_published,
            breakdown_level: spec.disclosure.breakdown_level,
            median_min: if spec.disclosure.threshold == 0 {
                0
            } else {
                *spec.disclosure.median_min_values.get_ref()
            },
        },
        out_dir,
        restricted_dir: restricted_spec.map(|(p, _)| p),
        quality_dir: quality_spec,
        no_suppression_reason: opt_out,
        narrative: Narrative::from_spec(&spec.narrative),
        template,
    })
}

/// The run's date (UTC): no record can be dated after it.
pub fn run_date() -> chrono::NaiveDate {
    chrono::Utc::now().date_naive()
}

/// A records source's window of plausible dates: `earliest_date` (default 1990-01-01) to
/// `latest_date` (default the run date).
fn date_window(
    id: &str,
    s: &SourceSpec,
    err: &mut dyn FnMut(Range<usize>, String),
) -> (chrono::NaiveDate, chrono::NaiveDate) {
    let default_start = chrono::NaiveDate::from_ymd_opt(1990, 1, 1).unwrap_or_default();
    let mut parse =
        |d: &Option<toml::Spanned<String>>, default: chrono::NaiveDate, what: &str| match d {
            None => default,
            Some(d) if s.kind != SourceKind::Records => {
                err(
                    d.span(),
                    format!("source '{id}': `{what}` is for records sources"),
                );
                default
            }
            Some(d) => {
                chrono::NaiveDate::parse_from_str(d.get_ref(), "%Y-%m-%d").unwrap_or_else(|_| {
                    err(
                        d.span(),
                        format!(
                            "source '{id}': `{what}` must be a date YYYY-MM-DD, got '{}'",
                            d.get_ref()
                        ),
                    );
                    default
                })
            }
        };
    let start = parse(&s.earliest_date, default_start, "earliest_date");
    let end = parse(&s.latest_date, run_date(), "latest_date");
    (start, end)
}

/// Why an id cannot name files and columns, if it cannot: ids are 1 to 64 letters, digits, `_`
/// and `-`, starting with a letter or digit.
fn unsafe_id(id: &str) -> Option<&'static str> {
    if id.is_empty() {
        Some("is empty")
    } else if id.len() > 64 {
        Some("is longer than 64 characters")
    } else if !id
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
    {
        Some("may hold only letters, digits, '_' and '-' (it names files and columns)")
    } else if !id.starts_with(|c: char| c.is_ascii_alphanumeric()) {
        Some("must start with a letter or digit")
    } else {
        None
    }
}

/// Expands `${VAR}` and `${VAR:-default}` in a path from the environment.
pub fn expand_env(text: &str) -> std::result::Result<String, String> {
    let mut out = String::new();
    let mut rest = text;
    while let Some(start) = rest.find("${") {
        out.push_str(&rest[..start]);
        let Some(end) = rest[start..].find('}') else {
            return Err(format!("unclosed '${{' in path '{text}'"));
        };
        let inner = &rest[start + 2..start + end];
        let (name, default) = match inner.split_once(":-") {
            Some((n, d)) => (n, Some(d)),
            None => (inner, None),
        };
        match (std::env::var(name).ok().filter(|v| !v.is_empty()), default) {
            (Some(v), _) => out.push_str(&v),
            (None, Some(d)) => out.push_str(d),
            (None, None) => return Err(format!("environment variable {name} is not set (write ${{{name}:-default}} to give a default)")),
        }
        rest = &rest[start + end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

fn problems_note(err: &mut dyn FnMut(Range<usize>, String), text: &str, msg: &str) {
    let at = text.find("[groups").unwrap_or(0);
    err(at..at + 1, msg.to_string());
}

fn first_line(s: &str) -> &str {
    s.lines().next().unwrap_or(s)
}

/// Runs `expr` as a filter over an empty frame with the canonical schema, so unknown columns and
/// type errors surface now, at the line of the pipeline file that wrote them.
/// Why a record condition cannot be used, if it depends on other rows: an aggregate or a window
/// (`COUNT(*) OVER (PARTITION BY person_id) > 1`). Records are read in batches, and a
/// condition is evaluated row by row within each, so such a value would change with the batch
/// size and the file format. Text inside quotes is not looked at.
pub fn row_dependent(sql: &str) -> Option<String> {
    static PATTERN: std::sync::LazyLock<Option<regex::Regex>> = std::sync::LazyLock::new(|| {
        regex::Regex::new(
            r"(?i)\b(OVER\s*\(|(COUNT|SUM|AVG|MEAN|MIN|MAX|MEDIAN|FIRST|LAST|STDDEV|STDDEV_SAMP|STDDEV_POP|STDEV|VARIANCE|VAR|VAR_SAMP|VAR_POP|ARRAY_AGG|STRING_AGG|QUANTILE_CONT|QUANTILE_DISC|PERCENTILE_CONT|PERCENTILE_DISC|MODE|ROW_NUMBER|RANK|DENSE_RANK|LAG|LEAD|NTILE|CUME_DIST|PERCENT_RANK)\s*\()",
        )
        .ok()
    });
    // Blank out quoted text, so a value such as 'MAX(' in a string is not a function.
    let mut unquoted = String::with_capacity(sql.len());
    let mut quote: Option<char> = None;
    for c in sql.chars() {
        match quote {
            Some(q) if c == q => {
                quote = None;
                unquoted.push(' ');
            }
            Some(_) => unquoted.push(' '),
            None if c == '\'' || c == '"' => {
                quote = Some(c);
                unquoted.push(' ');
            }
            None => unquoted.push(c),
        }
    }
    let found = PATTERN.as_ref()?.find(&unquoted)?;
    let name = found.as_str().trim_end_matches(['(', ' ']).trim();
    Some(format!(
        "uses {}, which depends on other rows: conditions are evaluated one record at a time (records are read in batches), so an aggregate or window function would give different answers for different files and batch sizes. Count people or repeats with an indicator instead, or add the column to the records before the run",
        if name.eq_ignore_ascii_case("over") { "a window (OVER)".to_string() } else { format!("the aggregate or window function {}", name.to_uppercase()) }
    ))
}

fn check_expr(schema: &Schema, expr: Expr) -> PolarsResult<Expr> {
    let empty = DataFrame::empty_with_schema(schema);
    empty.lazy().filter(expr.clone()).collect()?;
    Ok(expr)
}

/// Checks that a breakdown's conditions name columns of `schema`.
fn check_index(schema: &Schema, b: &super::breakdowns::Breakdown) -> PolarsResult<()> {
    let empty = DataFrame::empty_with_schema(schema);
    empty.lazy().select([b.index.clone()]).collect()?;
    Ok(())
}

pub fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Records => "records",
        SourceKind::Population => "population",
        SourceKind::AsyD11 => "asy_d11",
        SourceKind::ResD01 => "res_d01",
        SourceKind::Nts => "nts",
        SourceKind::Nrm => "nrm",
        SourceKind::DfeUasc => "dfe_uasc",
    }
}

pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Proportion => "proportion",
        Method::Rate => "rate",
        Method::Median => "median",
        Method::Representation => "representation",
        Method::Count => "count",
    }
}

/// Checks the data tests declared on one source.
/// Checks the published-table keys (`value`, `period_end`) and returns the period end.
fn published_options(
    id: &str,
    s: &SourceSpec,
    err: &mut dyn FnMut(Range<usize>, String),
) -> Option<String> {
    use crate::ingest::published::{layout, Dating};
    let Some(layout) = layout(s.kind) else {
        if s.value.is_some() || s.period_end.is_some() {
            err(
                s.path.span(),
                format!("source '{id}': `value` and `period_end` are for published tables, not '{}' sources", kind_name(s.kind)),
            );
        }
        return None;
    };
    match (&s.period_end, layout.dating) {
        (None, Dating::Declared) => {
            err(s.path.span(), format!("source '{id}': a '{}' table has no date column; give the last day of the period it covers, e.g. `period_end = \"2023-12-31\"`", kind_name(s.kind)));
            None
        }
        (Some(d), Dating::Declared) => {
            if chrono::NaiveDate::parse_from_str(d.get_ref(), "%Y-%m-%d").is_err() {
                err(
                    d.span(),
                    format!("period_end '{}' is not a date YYYY-MM-DD", d.get_ref()),
                );
            }
            Some(d.get_ref().clone())
        }
        (Some(d), _) => {
            err(d.span(), format!("source '{id}': a '{}' table has its own dates; `period_end` is only for tables without one (nrm)", kind_name(s.kind)));
            None
        }
        (None, _) => None,
    }
}

/// The source's series breaks: its layout's known ones, then the declared ones (checked).
fn series_breaks(
    id: &str,
    s: &SourceSpec,
    err: &mut dyn FnMut(Range<usize>, String),
) -> Vec<SeriesBreak> {
    let mut breaks: Vec<SeriesBreak> = crate::ingest::published::layout(s.kind)
        .map(|l| l.breaks)
        .unwrap_or_default()
        .iter()
        .filter_map(|b| {
            Some(SeriesBreak {
                date: chrono::NaiveDate::parse_from_str(b.date, "%Y-%m-%d").ok()?,
                category: b.category.map(|(c, v)| (c.to_string(), v.to_string())),
                reason: b.reason.to_string(),
                declared: false,
                one_period: b.one_period,
            })
        })
        .collect();
    for b in &s.breaks {
        let reason = b.reason.get_ref().trim();
        if reason.is_empty() {
            err(
                b.reason.span(),
                format!("source '{id}': a series break needs its `reason`, which the report shows"),
            );
        }
        match chrono::NaiveDate::parse_from_str(b.date.get_ref(), "%Y-%m-%d") {
            Ok(date) => breaks.push(SeriesBreak {
                date,
                category: None,
                reason: reason.to_string(),
                declared: true,
                one_period: false,
            }),
            Err(_) => err(
                b.date.span(),
                format!(
                    "source '{id}': a series break's `date` must be a date YYYY-MM-DD (a day in the first period of the new series), got '{}'",
                    b.date.get_ref()
                ),
            ),
        }
    }
    breaks
}

fn data_tests(
    id: &str,
    s: &SourceSpec,
    err: &mut dyn FnMut(Range<usize>, String),
) -> Vec<DataTest> {
    let mut out = Vec::new();
    let columns: Vec<&str> = crate::ingest::records::LAYOUT
        .iter()
        .copied()
        .chain(["days_to_assessment", "days_to_decision"])
        .collect();
    for t in &s.tests {
        if s.kind != SourceKind::Records {
            err(
                t.column.span(),
                format!("source '{id}': data tests are supported on `records` sources only"),
            );
            continue;
        }
        let column = t.column.get_ref();
        if !columns.contains(&column.as_str()) {
            err(
                t.column.span(),
                format!(
                    "source '{id}': no column '{column}' to test; the record columns are: {}",
                    columns.join(", ")
                ),
            );
            continue;
        }
        let kind = *t.test.get_ref();
        let problem = match kind {
            DataTestKind::AcceptedValues if t.values.is_empty() => {
                Some("`accepted_values` needs `values = [\"...\", ...]`")
            }
            DataTestKind::Range if t.min.is_none() && t.max.is_none() => {
                Some("`range` needs `min`, `max` or both")
            }
            DataTestKind::Relationships
                if t.to.as_ref().map(|x| x.get_ref().as_str()) != Some("areas") =>
            {
                Some("`relationships` needs `to = \"areas\"` (the area lookup's codes)")
            }
            _ => None,
        };
        if let Some(p) = problem {
            err(t.test.span(), format!("source '{id}': {p}"));
            continue;
        }
        let tolerance = t.tolerance.as_ref().map(|x| *x.get_ref()).unwrap_or(0.0);
        if !(0.0..1.0).contains(&tolerance) {
            let span = t
                .tolerance
                .as_ref()
                .map(|x| x.span())
                .unwrap_or(t.test.span());
            err(
                span,
                format!("source '{id}': `tolerance` is a share of rows from 0 to below 1, e.g. 0.01 for 1%"),
            );
            continue;
        }
        out.push(DataTest {
            column: column.clone(),
            kind,
            values: t.values.clone(),
            min: t.min,
            max: t.max,
            severity: t.severity,
            tolerance,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::row_dependent;

    #[test]
    fn conditions_that_depend_on_other_rows_are_found_outside_quotes() {
        for sql in [
            "COUNT(*) OVER (PARTITION BY person_id) > 1",
            "age > avg(age)",
            "days_to_assessment > MEDIAN (days_to_assessment)",
            "ROW_NUMBER() OVER (ORDER BY referral_date) = 1",
            "max(age) > 90",
        ] {
            assert!(row_dependent(sql).is_some(), "{sql}");
        }
        for sql in [
            "uasc = 'Y'",
            "team = 'MAX(1)' AND note <> 'count(x) over (y)'",
            "age >= 60 AND immigration_status IN ('refugee')",
            "GREATEST(age, 18) > 20",
            "summary_flag = 'Y'",
        ] {
            assert!(row_dependent(sql).is_none(), "{sql}");
        }
        let why = row_dependent("COUNT(*) OVER (PARTITION BY p) > 1").unwrap();
        assert!(
            why.contains("COUNT") && why.contains("depends on other rows"),
            "{why}"
        );
    }
}
