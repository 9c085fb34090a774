//! The compiled, checked pipeline: what the code runs. `compile` reports every problem at once.

use super::spec::{Method, PeriodKind, SourceKind, Spec};
use crate::error::{Error, Result};
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
}

#[derive(Debug, Clone)]
pub struct Group {
    pub id: String,
    pub label: String,
    pub sql: String,
    pub filter: Expr,
    pub reference: bool,
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
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DisclosureRule {
    pub threshold: u64,
    pub rounding: u64,
}

#[derive(Debug, Clone)]
pub struct Plan {
    pub name: String,
    pub title: String,
    pub period: PeriodKind,
    pub pipeline_path: PathBuf,
    pub pipeline_sha256: String,
    pub lookup: PathBuf,
    pub lookup_display: String,
    pub total_code: String,
    pub total_name: String,
    pub sources: Vec<Source>,
    pub groups: Vec<Group>,
    pub indicators: Vec<Indicator>,
    pub disclosure: DisclosureRule,
    pub out_dir: PathBuf,
}

impl Plan {
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
    format!(
        "{}:{}:{}: {message}\n{gutter} |\n{line_no} | {}\n{gutter} | {}{}",
        file.display(),
        line_no,
        col + 1,
        &text[line_start..line_end],
        " ".repeat(col),
        "^".repeat(width)
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

pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

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

    let sources: Vec<Source> = spec
        .sources
        .iter()
        .map(|(id, s)| Source {
            id: id.clone(),
            kind: s.kind,
            path: base.join(s.path.get_ref()),
            display_path: s.path.get_ref().clone(),
            columns: s
                .columns
                .iter()
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        })
        .collect();
    for kind in [SourceKind::Records, SourceKind::Population] {
        let n = sources.iter().filter(|s| s.kind == kind).count();
        if n != 1 {
            problems.push(format!(
                "{}: expected exactly one source of kind '{}', found {n}",
                path.display(),
                kind_name(kind)
            ));
        }
    }
    let mut err = |span: Range<usize>, msg: String| problems.push(snippet(path, text, span, &msg));

    let record_schema = crate::ingest::records::canonical_schema();
    let check_sql = |sql: &toml::Spanned<String>,
                     what: &str,
                     err: &mut dyn FnMut(Range<usize>, String)|
     -> Expr {
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

    let mut groups = Vec::new();
    for (id, g) in &spec.groups {
        let filter = check_sql(&g.filter, "filter", &mut err);
        groups.push(Group {
            id: id.clone(),
            label: g.label.clone(),
            sql: g.filter.get_ref().clone(),
            filter,
            reference: g.reference,
        });
    }
    if !groups.iter().any(|g| g.reference) {
        problems_note(
            &mut err,
            text,
            "no group has `reference = true`; equality comparisons need a reference group",
        );
    }

    let group_ids: Vec<&str> = groups.iter().map(|g| g.id.as_str()).collect();
    let source_ids: Vec<&str> = sources.iter().map(|s| s.id.as_str()).collect();
    let mut indicators = Vec::new();
    let mut seen = std::collections::BTreeSet::new();
    for ind in &spec.indicators {
        let id = ind.id.get_ref().clone();
        if !seen.insert(id.clone()) {
            err(ind.id.span(), format!("indicator id '{id}' is used twice"));
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
            (SourceKind::Records, Method::Proportion) => {
                let Some(num) = &ind.numerator else {
                    err(ind.id.span(), format!("indicator '{id}' is a proportion and needs `numerator = \"<condition>\"`"));
                    continue;
                };
                let n = check_sql(num, "numerator", &mut err);
                let (dsql, d) = match &ind.denominator {
                    Some(den) => (
                        den.get_ref().clone(),
                        check_sql(den, "denominator", &mut err),
                    ),
                    None => ("TRUE".to_string(), lit(true)),
                };
                (num.get_ref().clone(), n, dsql, d)
            }
            (SourceKind::AsyD11, Method::Rate) => (
                "People on asylum support at the end of the period".to_string(),
                lit(true),
                "Mid-year resident population".to_string(),
                lit(true),
            ),
            (k, m) => {
                err(ind.source.span(), format!("method '{}' is not available for a '{}' source; records take 'proportion', asy_d11 takes 'rate'", method_name(m), kind_name(k)));
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
        if !(ind.multiplier.is_finite() && ind.multiplier > 0.0) {
            err(
                ind.id.span(),
                format!(
                    "indicator '{id}': multiplier must be a positive number, got {}",
                    ind.multiplier
                ),
            );
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
            multiplier: ind.multiplier,
            polarity: ind.polarity,
            groups: groups_for,
            definition: ind.definition.clone(),
        });
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
        (None, Some(dir)) => base.join(dir.get_ref()),
        (None, None) => PathBuf::from("reports").join(&name),
    };
    Ok(Plan {
        name,
        title: spec.title,
        period: spec.period,
        pipeline_path: path.to_path_buf(),
        pipeline_sha256: sha,
        lookup: base.join(spec.areas.lookup.get_ref()),
        lookup_display: spec.areas.lookup.get_ref().clone(),
        total_code: spec.areas.total_code,
        total_name: spec.areas.total_name,
        sources,
        groups,
        indicators,
        disclosure: DisclosureRule {
            threshold: spec.disclosure.threshold,
            rounding: spec.disclosure.rounding,
        },
        out_dir,
    })
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
fn check_expr(schema: &Schema, expr: Expr) -> PolarsResult<Expr> {
    let empty = DataFrame::empty_with_schema(schema);
    empty.lazy().filter(expr.clone()).collect()?;
    Ok(expr)
}

pub fn kind_name(kind: SourceKind) -> &'static str {
    match kind {
        SourceKind::Records => "records",
        SourceKind::Population => "population",
        SourceKind::AsyD11 => "asy_d11",
    }
}

pub fn method_name(m: Method) -> &'static str {
    match m {
        Method::Proportion => "proportion",
        Method::Rate => "rate",
    }
}
