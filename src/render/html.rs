//! The HTML report: one self-contained, accessible page built from published values only.

use super::charts::{
    self, Bar, BarChart, Chart, FunnelChart, FunnelPoint, HeatMap, Pyramid, Series, SpineChart,
    SpineRow, TrendChart,
};
use crate::disclosure::quality::{PublishedInput, PublishedProblem, QualityReport};
use crate::disclosure::{Cell, DisclosedTable, PublishedRow};
use crate::error::{Error, Result};
use crate::findings::{self, fmt1, own_latest, unit, with_unit, GapIndex};
use crate::indicators::{period, Level};
use crate::pipeline::plan::Plan;
use crate::pipeline::spec::Method;
use crate::stats::Comparison;
use serde::Serialize;

/// The built-in page template (`jsna template DIR` writes it out for editing).
pub const TEMPLATE: &str = include_str!("templates/report.html");

#[derive(Serialize)]
struct GroupRow {
    label: String,
    value: String,
    ci95: String,
    ci998: String,
    count: String,
    denominator: String,
    compared: String,
    reference: bool,
}

#[derive(Serialize)]
struct AreaRow {
    area: String,
    cells: Vec<String>,
}

#[derive(Serialize)]
struct IndicatorView {
    id: String,
    name: String,
    definition: String,
    /// The indicator's own latest period, which its figures are for.
    period: String,
    method: String,
    unit: String,
    svg: String,
    png: String,
    alt: String,
    groups: Vec<GroupRow>,
    area_headers: Vec<String>,
    area_rows: Vec<AreaRow>,
    breakdowns: Vec<BreakdownView>,
    /// Further charts (trend; funnel on the overview), each with its own data table.
    figures: Vec<FigureView>,
    /// What a reader must know before comparing the figures: series breaks, rows of the source
    /// that no area holds.
    caveats: Vec<String>,
}

/// A chart with its alt text and the table of the numbers it draws.
#[derive(Serialize)]
struct FigureView {
    title: String,
    svg: String,
    png: String,
    alt: String,
    headers: Vec<String>,
    /// The first cell of each row names it.
    rows: Vec<Vec<String>>,
}

impl FigureView {
    /// A figure whose SVG (and PNG link) the caller fills in once the chart is drawn.
    fn new(title: String, alt: String, headers: Vec<String>, rows: Vec<Vec<String>>) -> FigureView {
        FigureView {
            title,
            svg: String::new(),
            png: String::new(),
            alt,
            headers,
            rows,
        }
    }
}

/// One breakdown of an indicator: a row per category, a column per group.
#[derive(Serialize)]
struct BreakdownView {
    label: String,
    rows: Vec<AreaRow>,
}

/// A population group's section: its findings, its indicators against each reference group, its
/// breakdowns.
#[derive(Serialize)]
struct GroupSection {
    id: String,
    label: String,
    /// The group's condition over the record columns.
    definition: String,
    /// The reference groups in words ("a and b").
    compared_with: String,
    findings: Vec<String>,
    no_difference: Vec<String>,
    table_title: String,
    headers: Vec<String>,
    /// The first cell of each row names the indicator.
    rows: Vec<Vec<String>>,
    /// (id, name) of each indicator in the table, for links to its detail.
    links: Vec<(String, String)>,
    breakdowns: Vec<FigureView>,
    /// Area pages: the group's indicators, the area against every area.
    spine: Option<FigureView>,
}

/// An indicator domain's section (such as monitoring completeness), apart from the needs.
#[derive(Serialize)]
struct DomainSection {
    id: String,
    title: String,
    heatmap: Option<FigureView>,
    findings: Vec<String>,
    no_difference: Vec<String>,
    links: Vec<(String, String)>,
}

#[derive(Serialize)]
struct View<'a> {
    title: &'a str,
    /// The area this page is about; the overview is about the total.
    area_name: String,
    overview: bool,
    /// Overview only: links to the area pages (file, name).
    area_links: Vec<(String, String)>,
    version: &'a str,
    total_name: &'a str,
    reference_label: String,
    latest: String,
    periods: Vec<String>,
    /// The strongest findings of the page, for the summary.
    top_findings: Vec<String>,
    /// Where the area stands on each whole-population indicator (the overview: the highest and
    /// lowest areas), in the order of the pipeline file.
    population_findings: Vec<String>,
    group_sections: Vec<GroupSection>,
    domain_sections: Vec<DomainSection>,
    indicators: Vec<IndicatorView>,
    /// Area pages: each whole-population indicator of the area against the range of all areas.
    spine: Option<FigureView>,
    /// The resident population by age and sex, when the population file has them.
    pyramid: Option<FigureView>,
    inputs: &'a [PublishedInput],
    quality: &'a [PublishedProblem],
    quarantined: &'a str,
    quality_folder: &'a str,
    no_suppression_reason: Option<&'a str>,
    /// Figures from published tables are shown as published (not rounded).
    published_as_published: bool,
    threshold: u64,
    rounding: u64,
    median_min: u64,
    suppressed: u64,
    pipeline: String,
    pipeline_sha256: &'a str,
    groups: Vec<(String, String)>,
    /// Every indicator's caveats, for the Caveats section: (id, name, caveats).
    caveats: Vec<(String, String, Vec<String>)>,
    /// The analyst's words as safe HTML (see `crate::markdown`); empty when not given. An area
    /// page takes the area's own summary and implications, and the pipeline's caveats.
    narrative_summary: &'a str,
    narrative_implications: &'a str,
    narrative_caveats: &'a str,
}

/// An indicator's caveats, in words: each series break, with its period, and how much of the
/// source has no local authority (in the total, in no area).
fn caveats(plan: &Plan, table: &DisclosedTable, ii: usize) -> Vec<String> {
    let mut out: Vec<String> = table
        .breaks(ii)
        .iter()
        .map(|(p, reason)| {
            format!(
                "Series break at {}: {reason}. Figures before {} are not comparable with later ones; trends are not tested across the break, and trend charts mark it with a dashed rule.",
                period::label(plan.period, *p),
                period::label(plan.period, *p)
            )
        })
        .collect();
    out.extend(
        table
            .period_notes(ii)
            .iter()
            .map(|(p, note)| format!("{}: {note}.", period::label(plan.period, *p))),
    );
    let covered: Vec<(i32, f64, f64)> = table
        .periods()
        .iter()
        .filter_map(|&p| {
            let (none, areas) = table.coverage((ii, None, None, 0, p))?;
            Some((p, none, areas))
        })
        .filter(|(_, none, areas)| none.is_finite() && none + areas > 0.0)
        .collect();
    if covered.is_empty() {
        return out;
    }
    let total = &plan.total_name;
    let what = crate::ingest::published::counts_of(plan.source_of(&plan.indicators[ii]).kind);
    if !crate::disclosure::exempt(plan, plan.disclosure, ii) {
        out.push(format!("The source gives some {what} no local authority ('Unknown', 'N/A' or a national placeholder row): they are in the {total} figure and in no area's, so {total} is more than the sum of its areas in {} period(s).", covered.len()));
        return out;
    }
    let g = crate::ingest::published::grouped;
    let share = |(_, none, areas): &(i32, f64, f64)| none / (none + areas);
    let say = |c: &(i32, f64, f64)| {
        format!(
            "{} of {} ({:.0}%) in {}",
            g(c.1),
            g(c.1 + c.2),
            100.0 * share(c),
            period::label(plan.period, c.0)
        )
    };
    let last = covered[covered.len() - 1];
    let most = covered
        .iter()
        .copied()
        .max_by(|a, b| share(a).total_cmp(&share(b)))
        .unwrap_or(last);
    let mut text = format!(
        "Not every figure has a local authority. Of the {what} counted in {total}, {} have none in the source ('Unknown', 'N/A' or a national placeholder row; some may be outside {total}). They are in the {total} figure, which is the source's, and in no area's or region's, so {total} is more than the sum of its areas",
        say(&last)
    );
    if most.0 != last.0 {
        text.push_str(&format!("; the largest share was {}", say(&most)));
    }
    text.push_str(&format!(
        ". {} of {} periods have such figures; each {total} row's note gives both sums.",
        covered.len(),
        table.periods().len()
    ));
    out.push(text);
    out
}

/// A chart of the overview, which the caller also writes as `charts/<file_stem>.svg` (this SVG
/// document) and `.png`.
pub struct ChartOut {
    pub file_stem: String,
    pub chart: Chart,
    pub svg: String,
}

/// A value for reading: one decimal place, or two significant figures for a value under 1 (so
/// a small rate is 0.018, not 0.0).
fn cell(c: Cell) -> String {
    match c {
        Cell::Value(v) => super::tables::number(v),
        other => other.marker().to_string(),
    }
}

fn value_text(r: &PublishedRow) -> String {
    match r.value {
        Cell::Value(v) => fmt1(v),
        other => other.marker().to_string(),
    }
}

fn ci_text(r: &PublishedRow, ci: Option<(f64, f64)>) -> String {
    match (r.value, ci) {
        (Cell::Value(_), Some((lo, hi))) => format!("{} to {}", fmt1(lo), fmt1(hi)),
        (other, _) => other.marker().to_string(),
    }
}

/// Which residents a rate or representation index counts, for the methods text: the
/// indicator's own condition, or each group's.
fn residents_text(plan: &Plan, ind: &crate::pipeline::plan::Indicator) -> String {
    let year = ind.population_year.map_or(String::new(), |y| {
        format!(" at mid-{y} (the same year for every period: the population file has no estimate for each year)")
    });
    if let Some(p) = &ind.population {
        return format!(" where {}{year}", p.sql);
    }
    if !year.is_empty() {
        return year;
    }
    let own: Vec<String> = ind
        .groups
        .iter()
        .filter_map(|&g| {
            let grp = &plan.groups[g];
            grp.population
                .as_ref()
                .map(|p| format!("{}: {}", grp.label, p.sql))
        })
        .collect();
    if own.is_empty() {
        String::new()
    } else {
        format!(
            " (all residents, except for these groups: {})",
            own.join("; ")
        )
    }
}

/// The file name (in `areas/`) of an area's page: its code, with anything but letters, digits, `-` and `_`
/// replaced, so a code from an input file can never name a path outside `areas/`.
pub fn area_page_name(code: &str) -> String {
    let safe: String = code
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}.html")
}

/// Builds one page: the overview (`area` 0, the total, with the table of areas and links to
/// every area page) or the page of one area, with the area's findings (`findings::for_area`).
/// Returns the HTML and the charts it embeds.
///
/// A page is a JSNA chapter: the findings that matter most; who lives here (the published
/// tables' populations, with the area's rank); a section per population group with its
/// indicators, gaps and breakdowns; a section per indicator domain such as monitoring
/// completeness; every indicator in detail; caveats, implications, data quality, methods and
/// provenance. Every statement comes from `crate::findings`, made from published values only.
pub fn page(
    plan: &Plan,
    table: &DisclosedTable,
    quality: &QualityReport,
    gaps: &GapIndex,
    found: &[findings::Finding],
    pyramids: Option<&super::population::Pyramids>,
    area: usize,
) -> Result<(String, Vec<ChartOut>)> {
    let overview = area == 0;
    let latest = *table.periods().last().unwrap_or(&0);
    let latest_label = period::label(plan.period, latest);
    let reference = plan.groups.iter().position(|g| g.reference);
    let mut indicators = Vec::new();
    let mut charts_out = Vec::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        // A national table's figures are at the total alone: on the overview only.
        let national = plan.source_of(ind).kind.is_national();
        if national && !overview {
            continue;
        }
        let u = unit(plan, ii);
        // Each indicator at its own latest period (NTS ends before asylum support does).
        let at = findings::latest_of(plan, table, ii, 0).unwrap_or(latest);
        let at_label = period::label(plan.period, at);
        let group_keys: Vec<Option<usize>> = if ind.groups.is_empty() {
            vec![None]
        } else {
            ind.groups.iter().map(|&g| Some(g)).collect()
        };
        let ref_value = reference
            .and_then(|r| table.get((ii, Some(r), None, area, at)))
            .and_then(|r| r.value.value());
        let mut groups = Vec::new();
        let mut bars = Vec::new();
        for &g in &group_keys {
            let Some(r) = table.get((ii, g, None, area, at)) else {
                continue;
            };
            let label = g.map_or_else(
                || table.areas()[area].name.clone(),
                |g| plan.groups[g].label.clone(),
            );
            let is_ref = g.is_some_and(|g| plan.groups[g].reference);
            // The same verdict as gaps.csv and findings.csv: the group against the main
            // reference group.
            let compared = match (g, reference) {
                (Some(g), Some(rf)) => findings::verdict(plan, table, gaps, (ii, g, rf, area, at)),
                _ => Comparison::NotCompared,
            };
            groups.push(GroupRow {
                label: label.clone(),
                value: value_text(r),
                ci95: ci_text(r, r.ci95),
                ci998: ci_text(r, r.ci998),
                count: cell(r.count),
                denominator: cell(r.denominator),
                compared: compared.label().to_string(),
                reference: is_ref,
            });
            bars.push(Bar {
                label,
                value: r.value.value().zip(r.ci95).map(|(v, (lo, hi))| (v, lo, hi)),
                marker: r.value.marker().to_string(),
                reference: is_ref,
                annotation: if compared == Comparison::NotCompared {
                    String::new()
                } else {
                    compared.label().to_string()
                },
            });
        }
        // Area table: one row per local authority, one column per group.
        // The table of every area belongs on the overview only.
        let area_rows: Vec<AreaRow> = if !overview {
            Vec::new()
        } else {
            table
                .areas()
                .iter()
                .enumerate()
                .filter(|(_, a)| a.level != Level::Region)
                .filter(|(ai, _)| !national || *ai == 0)
                .map(|(ai, a)| AreaRow {
                    area: a.name.clone(),
                    cells: group_keys
                        .iter()
                        .map(|&g| {
                            table
                                .get((ii, g, None, ai, at))
                                .map(value_text)
                                .unwrap_or_else(|| "[x]".into())
                        })
                        .collect(),
                })
                .collect()
        };
        let chart = BarChart {
            title: format!("{}, {}, {}", ind.name, table.areas()[area].name, at_label),
            axis_label: format!("{} ({}), with 95% confidence interval", ind.name, u),
            note: match reference {
                Some(r) if ref_value.is_some() && !ind.groups.is_empty() => format!(
                    "Labels compare each group with {}: Better/Worse at 95%, Best/Worst at 99.8% (interval of the difference).",
                    plan.groups[r].label.to_lowercase()
                ),
                _ => String::new(),
            },
            bars,
        };
        let breakdowns = breakdown_views(plan, table, ii, &group_keys, area, at);
        let alt = alt_text(&chart, &u);
        let chart = Chart::Bar(chart);
        let svg = charts::svg(&chart)?;
        if overview {
            charts_out.push(ChartOut {
                file_stem: ind.id.clone(),
                chart,
                svg: svg.clone(),
            });
        }
        let mut figures = Vec::new();
        let mut extra = Vec::new();
        if let Some((trend, view)) = trend_figure(plan, table, ii, area, &u) {
            extra.push((format!("{}_trend", ind.id), trend, view));
        }
        if overview {
            if let Some((funnel, view)) =
                funnel_figure(plan, table, ii, headline_group(plan, ii), &u)
            {
                extra.push((format!("{}_funnel", ind.id), funnel, view));
            }
        }
        for (stem, chart, mut view) in extra {
            let svg = charts::svg(&chart)?;
            view.svg = strip_xml_header(&svg);
            if overview {
                view.png = format!("charts/{stem}.png");
                charts_out.push(ChartOut {
                    file_stem: stem,
                    chart,
                    svg,
                });
            }
            figures.push(view);
        }
        indicators.push(IndicatorView {
            id: ind.id.clone(),
            name: ind.name.clone(),
            definition: ind.definition.clone(),
            period: at_label,
            method: method_text(plan, ii, &u, latest),
            unit: u,
            svg: strip_xml_header(&svg),
            png: if overview {
                format!("charts/{}.png", ind.id)
            } else {
                String::new()
            },
            alt,
            groups,
            area_headers: group_keys
                .iter()
                .map(|g| g.map_or_else(|| "Value".to_string(), |g| plan.groups[g].label.clone()))
                .collect(),
            area_rows,
            breakdowns,
            figures,
            caveats: caveats(plan, table, ii),
        });
    }

    let mut spine = None;
    if !overview {
        if let Some((chart, mut view)) = spine_figure(plan, table, area, None) {
            view.svg = strip_xml_header(&charts::svg(&chart)?);
            spine = Some(view);
        }
    }
    let mut heatmaps = Vec::new();
    for (domain, chart, mut view) in heatmap_figures(plan, table, area) {
        let svg = charts::svg(&chart)?;
        view.svg = strip_xml_header(&svg);
        if overview {
            let stem = format!("heatmap_{}", file_stem(&domain));
            view.png = format!("charts/{stem}.png");
            charts_out.push(ChartOut {
                file_stem: stem,
                chart,
                svg,
            });
        }
        heatmaps.push((domain, view));
    }
    let pyramid = match pyramids.map(|p| pyramid_figure(p, table, area)) {
        Some((chart, mut view)) => {
            let svg = charts::svg(&chart)?;
            view.svg = strip_xml_header(&svg);
            if overview {
                view.png = "charts/population_pyramid.png".into();
                charts_out.push(ChartOut {
                    file_stem: "population_pyramid".into(),
                    chart,
                    svg,
                });
            }
            Some(view)
        }
        None => None,
    };
    let group_sections = group_sections(plan, table, gaps, found, area)?;
    let domain_sections = domain_sections(plan, found, heatmaps);
    let area_links = if overview {
        table
            .areas()
            .iter()
            .filter(|a| a.level == Level::Area)
            .map(|a| (area_page_name(&a.code), a.name.clone()))
            .collect()
    } else {
        Vec::new()
    };
    let narrative: (&str, &str) = if overview {
        (&plan.narrative.summary, &plan.narrative.implications)
    } else {
        plan.narrative
            .areas
            .get(&table.areas()[area].code)
            .map_or(("", ""), |(s, i)| (s.as_str(), i.as_str()))
    };
    let caveats = indicators
        .iter()
        .filter(|i| !i.caveats.is_empty())
        .map(|i| (i.id.clone(), i.name.clone(), i.caveats.clone()))
        .collect();
    let view = View {
        title: &plan.title,
        area_name: table.areas()[area].name.clone(),
        overview,
        area_links,
        version: env!("CARGO_PKG_VERSION"),
        total_name: &plan.total_name,
        reference_label: reference.map_or_else(
            || "the reference group".to_string(),
            |r| plan.groups[r].label.to_lowercase(),
        ),
        latest: latest_label,
        periods: table
            .periods()
            .iter()
            .map(|&p| period::label(plan.period, p))
            .collect(),
        top_findings: {
            // One finding per indicator and group: the strongest, against whichever reference.
            let mut seen = std::collections::BTreeSet::new();
            found
                .iter()
                .filter(|f| f.notable())
                .filter(|f| seen.insert((f.indicator, f.group)))
                .take(TOP_FINDINGS)
                .map(|f| f.text.clone())
                .collect()
        },
        population_findings: {
            // In the order of the pipeline file: a reader looks one up.
            let mut p: Vec<&findings::Finding> =
                found.iter().filter(|f| f.group.is_none()).collect();
            p.sort_by_key(|f| f.indicator);
            p.into_iter().map(|f| f.text.clone()).collect()
        },
        group_sections,
        domain_sections,
        indicators,
        spine,
        pyramid,
        inputs: quality.inputs(),
        quality: quality.problems(),
        quarantined: quality.quarantined(),
        quality_folder: quality.folder(),
        threshold: plan.disclosure.threshold,
        rounding: plan.disclosure.rounding,
        median_min: plan.disclosure.median_min,
        suppressed: table.suppressed(),
        no_suppression_reason: plan.no_suppression_reason.as_deref(),
        published_as_published: plan.shows_published_tables_as_published(),
        pipeline: plan
            .pipeline_path
            .file_name()
            .map(|f| f.to_string_lossy().to_string())
            .unwrap_or_default(),
        pipeline_sha256: &plan.pipeline_sha256,
        groups: plan
            .groups
            .iter()
            .map(|g| (g.label.clone(), g.sql.clone()))
            .collect(),
        caveats,
        narrative_summary: narrative.0,
        narrative_implications: narrative.1,
        narrative_caveats: &plan.narrative.caveats,
    };
    let html = match &plan.template {
        None => {
            render(TEMPLATE, &view).map_err(|e| Error::Internal(format!("report template: {e}")))?
        }
        Some(t) => {
            render(&t.text, &view).map_err(|e| Error::Config(format!("{}: {e}", t.display)))?
        }
    };
    Ok((html, charts_out))
}

/// How many findings the summary shows; each section shows all of its own.
const TOP_FINDINGS: usize = 8;

/// An indicator's method in words, for its section.
fn method_text(plan: &Plan, ii: usize, u: &str, latest: i32) -> String {
    let ind = &plan.indicators[ii];
    let text = match ind.method {
        Method::Proportion => format!("Proportion ({u}) with Wilson score intervals. Numerator: {}. Denominator: {}.", ind.numerator_sql, ind.denominator_sql),
        Method::Rate if ind.from_records(plan) => format!("Crude rate ({u}) with exact Poisson (under 10) or Byar's intervals. Numerator: records of the group where {} and {}. Denominator: the group's mid-year residents{}.", ind.denominator_sql, ind.numerator_sql, residents_text(plan, ind)),
        Method::Rate => format!("Crude rate ({u}) with exact Poisson (under 10) or Byar's intervals. Numerator: {}. Denominator: mid-year residents{}.", ind.numerator_sql, residents_text(plan, ind)),
        Method::Representation => format!("Representation index: the group's share of the records where {} divided by its share of the mid-year residents{} (1 means in proportion; above 1, over-represented). The interval is the Wilson interval of the first share, with the population share taken as known.", ind.denominator_sql, residents_text(plan, ind)),
        Method::Count => format!("Count of {}, with exact Poisson (under 10) or Byar's intervals{}.", ind.numerator_sql, if plan.source_of(ind).kind.is_national() { "; a national table, so its figures are at the top level only" } else { "; counts are not compared between areas, whose sizes differ" }),
        Method::Median => format!("Median of {} over records where {}, with a distribution-free interval from binomial order statistics. The count is the number of values (rounded); medians of fewer than {} values are suppressed.", ind.numerator_sql, ind.denominator_sql, plan.disclosure.threshold + 1),
    };
    text + &ind.rolling.map_or(String::new(), |n| format!(" Rolling figures: each value sums the counts (and denominators) of {n} periods ending with the period named, e.g. {} for {}.", period::rolling_label(plan.period, latest, n), period::label(plan.period, latest)))
}

/// The breakdowns of indicator `ii` published at this page's level (one level is published): a
/// row per category, a column per group.
fn breakdown_views(
    plan: &Plan,
    table: &DisclosedTable,
    ii: usize,
    group_keys: &[Option<usize>],
    area: usize,
    at: i32,
) -> Vec<BreakdownView> {
    plan.indicators[ii]
        .breakdowns
        .iter()
        .filter(|&&b| {
            group_keys
                .iter()
                .any(|&g| table.get((ii, g, Some((b, 0)), area, at)).is_some())
        })
        .map(|&b| BreakdownView {
            label: plan.breakdowns[b].label.clone(),
            rows: plan.breakdowns[b]
                .categories
                .iter()
                .enumerate()
                .map(|(c, category)| AreaRow {
                    area: category.clone(),
                    cells: group_keys
                        .iter()
                        .map(|&g| match table.get((ii, g, Some((b, c)), area, at)) {
                            Some(r) if r.value.value().is_some() => {
                                format!("{} ({})", value_text(r), ci_text(r, r.ci95))
                            }
                            Some(r) => value_text(r),
                            None => "[x]".into(),
                        })
                        .collect(),
                })
                .collect(),
        })
        .collect()
}

/// One section per population group that is not a reference group: its findings, a table of
/// its needs indicators (those outside any domain) against each reference group, its
/// breakdowns, and on area pages a spine chart of the area against every area.
fn group_sections(
    plan: &Plan,
    table: &DisclosedTable,
    gaps: &GapIndex,
    found: &[findings::Finding],
    area: usize,
) -> Result<Vec<GroupSection>> {
    let references: Vec<usize> = (0..plan.groups.len())
        .filter(|&r| plan.groups[r].reference)
        .collect();
    let mut out = Vec::new();
    for (g, group) in plan.groups.iter().enumerate() {
        if group.reference {
            continue;
        }
        let own: Vec<usize> = (0..plan.indicators.len())
            .filter(|&ii| {
                let ind = &plan.indicators[ii];
                ind.groups.contains(&g) && ind.domain.is_none()
            })
            .collect();
        if own.is_empty() {
            continue;
        }
        let mut headers = vec![
            "Indicator".to_string(),
            "Period".to_string(),
            group.label.clone(),
            "95% interval".to_string(),
        ];
        for &r in &references {
            headers.push(plan.groups[r].label.clone());
            headers.push(format!(
                "Compared with {}",
                plan.groups[r].label.to_lowercase()
            ));
        }
        let mut rows = Vec::new();
        let mut breakdowns = Vec::new();
        for &ii in &own {
            let ind = &plan.indicators[ii];
            let Some(at) = findings::latest_of(plan, table, ii, 0) else {
                continue;
            };
            let u = unit(plan, ii);
            let shown = |r: Option<&PublishedRow>| {
                r.map_or_else(
                    || "[x]".to_string(),
                    |r| {
                        r.value
                            .value()
                            .map_or_else(|| r.value.marker().to_string(), |v| with_unit(v, &u))
                    },
                )
            };
            let row = table.get((ii, Some(g), None, area, at));
            let mut cells = vec![
                ind.name.clone(),
                period::label(plan.period, at),
                shown(row),
                row.map_or_else(|| "[x]".to_string(), |r| ci_text(r, r.ci95)),
            ];
            for &r in &references {
                if ind.groups.contains(&r) {
                    cells.push(shown(table.get((ii, Some(r), None, area, at))));
                    cells.push(
                        findings::verdict(plan, table, gaps, (ii, g, r, area, at))
                            .label()
                            .to_string(),
                    );
                } else {
                    cells.push("[x]".into());
                    cells.push(Comparison::NotCompared.label().to_string());
                }
            }
            rows.push(cells);
            for b in breakdown_views(plan, table, ii, &[Some(g)], area, at) {
                breakdowns.push(FigureView::new(
                    format!(
                        "{}: {}, by {}, {}",
                        group.label,
                        ind.name.to_lowercase(),
                        b.label.to_lowercase(),
                        period::label(plan.period, at)
                    ),
                    String::new(),
                    vec![b.label.clone(), format!("{} ({u}, 95% interval)", ind.name)],
                    b.rows
                        .into_iter()
                        .map(|r| std::iter::once(r.area).chain(r.cells).collect())
                        .collect(),
                ));
            }
        }
        let (findings, no_difference) = split(
            found
                .iter()
                .filter(|f| f.group == Some(g))
                .filter(|f| plan.indicators[f.indicator].domain.is_none()),
        );
        let spine = if area == 0 {
            None
        } else {
            spine_figure(plan, table, area, Some(g))
                .map(|(chart, mut view)| -> Result<FigureView> {
                    view.svg = strip_xml_header(&charts::svg(&chart)?);
                    Ok(view)
                })
                .transpose()?
        };
        out.push(GroupSection {
            id: format!("group-{}", file_stem(&group.id)),
            label: group.label.clone(),
            definition: group.sql.clone(),
            compared_with: references
                .iter()
                .map(|&r| plan.groups[r].label.to_lowercase())
                .collect::<Vec<_>>()
                .join(" and "),
            findings,
            no_difference,
            table_title: format!(
                "{}: every indicator, {}",
                group.label,
                table.areas()[area].name
            ),
            headers,
            rows,
            links: own
                .iter()
                .map(|&ii| {
                    (
                        plan.indicators[ii].id.clone(),
                        plan.indicators[ii].name.clone(),
                    )
                })
                .collect(),
            breakdowns,
            spine,
        });
    }
    Ok(out)
}

/// Every indicator domain, in the order of the pipeline file.
fn domains(plan: &Plan) -> Vec<&str> {
    let mut domains: Vec<&str> = Vec::new();
    for d in plan.indicators.iter().filter_map(|i| i.domain.as_deref()) {
        if !domains.contains(&d) {
            domains.push(d);
        }
    }
    domains
}

/// Findings' sentences: (the notable ones, those with no significant difference), in order.
fn split<'a>(found: impl Iterator<Item = &'a findings::Finding>) -> (Vec<String>, Vec<String>) {
    let (notable, similar): (Vec<_>, Vec<_>) = found.partition(|f| f.notable());
    let text = |v: Vec<&findings::Finding>| v.into_iter().map(|f| f.text.clone()).collect();
    (text(notable), text(similar))
}

/// One section per indicator domain (such as monitoring completeness), apart from the needs:
/// its heat map and the findings on its indicators, for every group.
fn domain_sections(
    plan: &Plan,
    found: &[findings::Finding],
    mut heatmaps: Vec<(String, FigureView)>,
) -> Vec<DomainSection> {
    let domains = domains(plan);
    domains
        .into_iter()
        .map(|d| {
            let (findings, no_difference) = split(
                found
                    .iter()
                    .filter(|f| plan.indicators[f.indicator].domain.as_deref() == Some(d)),
            );
            let heatmap = heatmaps
                .iter()
                .position(|(hd, _)| hd == d)
                .map(|i| heatmaps.remove(i).1);
            DomainSection {
                id: format!("domain-{}", file_stem(d)),
                title: d.to_string(),
                heatmap,
                findings,
                no_difference,
                links: plan
                    .indicators
                    .iter()
                    .filter(|i| i.domain.as_deref() == Some(d))
                    .map(|i| (i.id.clone(), i.name.clone()))
                    .collect(),
            }
        })
        .collect()
}

/// Renders a page template. It is always named `report.html`, so every value is HTML-escaped
/// unless the template marks it `safe`, whoever wrote the template.
fn render(source: &str, view: &View) -> std::result::Result<String, minijinja::Error> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", source)?;
    env.get_template("report.html")?.render(view)
}

/// Checks that a user's page template parses; the message names the line.
pub fn check_template(source: &str) -> std::result::Result<(), String> {
    let mut env = minijinja::Environment::new();
    env.add_template("report.html", source)
        .map(|_| ())
        .map_err(|e| match e.line() {
            Some(line) => format!("line {line}: {}", e.detail().unwrap_or(&e.to_string())),
            None => e.to_string(),
        })
}

/// The group an indicator's trend and funnel show: the main reference group (the first) if the
/// indicator has it, else its first group, else the indicator's only series.
fn headline_group(plan: &Plan, ii: usize) -> Option<usize> {
    let groups = &plan.indicators[ii].groups;
    let main = plan.groups.iter().position(|g| g.reference);
    groups
        .iter()
        .copied()
        .find(|&g| Some(g) == main)
        .or(groups.first().copied())
}

/// One value with its 95% interval, or the row's marker.
fn point(r: Option<&PublishedRow>) -> (Option<(f64, f64, f64)>, String) {
    match r {
        Some(r) => match (r.value.value(), r.ci95) {
            (Some(v), Some((lo, hi))) => (Some((v, lo, hi)), String::new()),
            _ => (None, r.value.marker().to_string()),
        },
        None => (None, "[x]".into()),
    }
}

/// The group an area page's trend follows: the indicator's first group that is not a
/// reference group (the page is about the population groups), else its headline group.
fn focus_group(plan: &Plan, ii: usize) -> Option<usize> {
    let groups = &plan.indicators[ii].groups;
    groups
        .iter()
        .copied()
        .find(|&g| !plan.groups[g].reference)
        .or_else(|| headline_group(plan, ii))
}

/// An indicator over every period. The overview draws the headline group; an area page draws
/// its focus group in the area, with the main reference group in the area and the focus group
/// in the benchmark drawn as comparisons. None with fewer than two periods.
fn trend_figure(
    plan: &Plan,
    table: &DisclosedTable,
    ii: usize,
    area: usize,
    unit: &str,
) -> Option<(Chart, FigureView)> {
    let periods = table.periods();
    if periods.len() < 2 {
        return None;
    }
    let ind = &plan.indicators[ii];
    let name = |a: usize| table.areas()[a].name.clone();
    // (area, group, label, drawn as a comparison)
    let lines: Vec<(usize, Option<usize>, String, bool)> = if area == 0 {
        vec![(0, headline_group(plan, ii), name(0), false)]
    } else {
        let g = focus_group(plan, ii);
        let main = plan.groups.iter().position(|x| x.reference);
        let mut v = Vec::new();
        match g {
            Some(g) if Some(g) != main && main.is_some_and(|m| ind.groups.contains(&m)) => {
                let m = main.unwrap_or(g);
                v.push((
                    area,
                    Some(g),
                    format!("{}, {}", plan.groups[g].label, name(area)),
                    false,
                ));
                v.push((
                    area,
                    Some(m),
                    format!("{}, {}", plan.groups[m].label, name(area)),
                    true,
                ));
                v.push((
                    0,
                    Some(g),
                    format!("{}, {}", plan.groups[g].label, name(0)),
                    true,
                ));
            }
            _ => {
                v.push((area, g, name(area), false));
                v.push((0, g, name(0), true));
            }
        }
        v
    };
    let group = lines[0].1;
    let series: Vec<Series> = lines
        .iter()
        .map(|(a, g, label, comparison)| {
            let (points, markers) = periods
                .iter()
                .map(|&p| point(table.get((ii, *g, None, *a, p))))
                .unzip();
            Series {
                label: label.clone(),
                points,
                markers,
                benchmark: *comparison,
            }
        })
        .collect();
    let labels: Vec<String> = periods
        .iter()
        .map(|&p| period::label(plan.period, p))
        .collect();
    let who = group.map_or_else(String::new, |g| format!(", {}", plan.groups[g].label));
    let title = format!("{}{who}, {}: trend", ind.name, table.areas()[area].name);
    let mut headers = vec!["Period".to_string()];
    for s in &series {
        headers.push(format!("{} ({unit})", s.label));
        headers.push(format!("{}: 95% interval", s.label));
    }
    let rows: Vec<Vec<String>> = labels
        .iter()
        .enumerate()
        .map(|(i, label)| {
            let mut row = vec![label.clone()];
            for s in &series {
                match s.points[i] {
                    Some((v, lo, hi)) => {
                        row.push(fmt1(v));
                        row.push(format!("{} to {}", fmt1(lo), fmt1(hi)));
                    }
                    None => {
                        row.push(s.markers[i].clone());
                        row.push(s.markers[i].clone());
                    }
                }
            }
            row
        })
        .collect();
    let mut alt = format!("Line chart: {title}.");
    for s in &series {
        let shown: Vec<(usize, f64)> = s
            .points
            .iter()
            .enumerate()
            .filter_map(|(i, p)| p.map(|p| (i, p.0)))
            .collect();
        match (shown.first(), shown.last()) {
            (Some(&(a, va)), Some(&(b, vb))) if a != b => alt.push_str(&format!(
                " {}: {} in {} and {} in {}.",
                s.label,
                with_unit(va, unit),
                labels[a],
                with_unit(vb, unit),
                labels[b]
            )),
            (Some(&(a, va)), _) => alt.push_str(&format!(
                " {}: {} in {} only.",
                s.label,
                with_unit(va, unit),
                labels[a]
            )),
            _ => alt.push_str(&format!(" {}: no value can be published.", s.label)),
        }
        let hidden = s.points.len() - shown.len();
        if hidden > 0 && !s.benchmark {
            alt.push_str(&format!(
                " {hidden} period(s) not shown: too small to publish ([c]) or not available."
            ));
        }
    }
    let breaks: Vec<usize> = table
        .breaks(ii)
        .iter()
        .filter_map(|(p, _)| periods.iter().position(|q| q == p))
        .collect();
    if !breaks.is_empty() {
        let at: Vec<&str> = breaks.iter().map(|&i| labels[i].as_str()).collect();
        alt.push_str(&format!(
            " Series break{} at {} (a dashed rule): figures either side are not comparable, so the line is not joined across it and no trend is tested across it; the caveats say why.",
            if at.len() > 1 { "s" } else { "" },
            at.join(", ")
        ));
    }
    alt.push_str(" The table below gives every value.");
    let rows = rows
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            if breaks.contains(&i) {
                row[0].push_str(" (series break)");
            }
            row
        })
        .collect();
    let chart = Chart::Trend(TrendChart {
        title: title.clone(),
        axis_label: format!("{} ({unit})", ind.name),
        periods: labels,
        series,
        breaks,
    });
    let view = FigureView::new(title, alt, headers, rows);
    Some((chart, view))
}

/// The page area's residents by age band and sex, against the benchmark on an area page.
fn pyramid_figure(
    p: &super::population::Pyramids,
    table: &DisclosedTable,
    area: usize,
) -> (Chart, FigureView) {
    let name = &table.areas()[area].name;
    let total = &table.areas()[0].name;
    let shares = p.shares(area);
    let benchmark = (area != 0).then(|| p.shares(0));
    let title = format!(
        "Residents by age and sex, {name}, {} (ONS estimates)",
        p.year
    );
    let pct = |v: Option<f64>| v.map_or_else(|| "[c]".to_string(), |v| format!("{}%", fmt1(v)));
    let mut headers: Vec<String> = [
        "Age band",
        "Males",
        "Females",
        "Males (% of residents)",
        "Females (% of residents)",
    ]
    .map(String::from)
    .to_vec();
    if benchmark.is_some() {
        headers.push(format!("{total}: males (%)"));
        headers.push(format!("{total}: females (%)"));
    }
    let rows = p
        .bands
        .iter()
        .enumerate()
        .map(|(b, band)| {
            let (m, f) = p.areas[area][b];
            let mut row = vec![
                band.clone(),
                cell(m),
                cell(f),
                pct(shares[b].0),
                pct(shares[b].1),
            ];
            if let Some(bm) = &benchmark {
                row.push(pct(bm[b].0));
                row.push(pct(bm[b].1));
            }
            row
        })
        .collect();
    let largest = |pick: fn(&charts::Shares) -> Option<f64>| {
        shares
            .iter()
            .enumerate()
            .filter_map(|(b, s)| pick(s).map(|v| (b, v)))
            .max_by(|x, y| x.1.total_cmp(&y.1))
            .map(|(b, v)| format!("{} ({}%)", p.bands[b], fmt1(v)))
            .unwrap_or_else(|| "[c]".into())
    };
    let mut alt = format!(
        "Population pyramid: {title}. The largest age band is {} for males and {} for females.",
        largest(|s| s.0),
        largest(|s| s.1)
    );
    if benchmark.is_some() {
        alt.push_str(&format!(" Black ticks mark the shares of {total}."));
    }
    alt.push_str(" The table below gives every value.");
    // The chart draws each band's share per year of age: bands differ in width (15-17, 18-19).
    let widths: Vec<f64> = p.bands.iter().map(|b| band_width(b)).collect();
    let per_year = |s: &[charts::Shares]| -> Vec<charts::Shares> {
        s.iter()
            .zip(&widths)
            .map(|(&(m, f), w)| (m.map(|v| v / w), f.map(|v| v / w)))
            .collect()
    };
    let chart = Chart::Pyramid(Pyramid {
        title: title.clone(),
        bands: p.bands.clone(),
        shares: per_year(&shares),
        benchmark: benchmark.map(|b| (total.clone(), per_year(&b))),
    });
    (chart, FigureView::new(title, alt, headers, rows))
}

/// The years an age band spans: `15-17` is 3, `90+` is taken as 5 (as wide as the bands before
/// it); a label that is no band counts as 1.
fn band_width(band: &str) -> f64 {
    let b = band.trim();
    if let Some((lo, hi)) = b.split_once('-') {
        if let (Ok(lo), Ok(hi)) = (lo.trim().parse::<f64>(), hi.trim().parse::<f64>()) {
            if hi >= lo {
                return hi - lo + 1.0;
            }
        }
    }
    if b.ends_with('+') {
        return 5.0;
    }
    1.0
}

/// A name made safe for a file: lower-case letters and digits, other runs as `_`.
fn file_stem(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if !out.ends_with('_') {
            out.push('_');
        }
    }
    out.trim_matches('_').to_string()
}

/// One heat map per domain with two or more indicators: its indicators (rows) by every group any
/// of them is computed for (columns), latest period, this page's area.
fn heatmap_figures(
    plan: &Plan,
    table: &DisclosedTable,
    area: usize,
) -> Vec<(String, Chart, FigureView)> {
    let Some(&latest) = table.periods().last() else {
        return Vec::new();
    };
    let domains = domains(plan);
    let mut out = Vec::new();
    for domain in domains {
        let members: Vec<usize> = (0..plan.indicators.len())
            .filter(|&i| plan.indicators[i].domain.as_deref() == Some(domain))
            .collect();
        if members.len() < 2 {
            continue;
        }
        let groups: Vec<usize> = (0..plan.groups.len())
            .filter(|g| {
                members
                    .iter()
                    .any(|&i| plan.indicators[i].groups.contains(g))
            })
            .collect();
        if groups.is_empty() {
            continue;
        }
        let units: Vec<String> = members.iter().map(|&i| unit(plan, i)).collect();
        let percent = units.iter().all(|u| u == "%");
        let cells: Vec<Vec<(Option<f64>, String)>> = members
            .iter()
            .map(|&ii| {
                groups
                    .iter()
                    .map(|&g| {
                        if !plan.indicators[ii].groups.contains(&g) {
                            return (None, "[z]".to_string());
                        }
                        match table.get((ii, Some(g), None, area, latest)) {
                            Some(r) => match r.value.value() {
                                Some(v) => (Some(v), fmt1(v)),
                                None => (None, r.value.marker().to_string()),
                            },
                            None => (None, "[x]".to_string()),
                        }
                    })
                    .collect()
            })
            .collect();
        let max = if percent {
            100.0
        } else {
            cells
                .iter()
                .flatten()
                .filter_map(|c| c.0)
                .fold(0.0, f64::max)
        };
        let name = &table.areas()[area].name;
        let latest_label = period::label(plan.period, latest);
        let unit_note = if percent { " (%)" } else { "" };
        let title = format!("{domain} by group{unit_note}, {name}, {latest_label}");
        let rows: Vec<String> = members
            .iter()
            .map(|&i| plan.indicators[i].name.clone())
            .collect();
        let columns: Vec<String> = groups
            .iter()
            .map(|&g| plan.groups[g].label.clone())
            .collect();
        let lowest = cells
            .iter()
            .enumerate()
            .flat_map(|(r, row)| {
                row.iter()
                    .enumerate()
                    .filter_map(move |(c, x)| x.0.map(|v| (v, r, c)))
            })
            .min_by(|a, b| a.0.total_cmp(&b.0));
        let mut alt = format!(
            "Heat map: {title}. {} indicators by {} groups.",
            rows.len(),
            columns.len()
        );
        if let Some((v, r, c)) = lowest {
            alt.push_str(&format!(
                " Lowest: {} for {}, {}.",
                rows[r].to_lowercase(),
                columns[c],
                with_unit(v, &units[r])
            ));
        }
        let hidden = cells
            .iter()
            .flatten()
            .filter(|c| c.1.starts_with("[c]"))
            .count();
        if hidden > 0 {
            alt.push_str(&format!(" {hidden} cell(s) too small to publish ([c])."));
        }
        alt.push_str(" The table below gives every value.");
        let mut headers = vec!["Indicator".to_string()];
        headers.extend(columns.iter().cloned());
        let table_rows = rows
            .iter()
            .zip(&cells)
            .map(|(name, row)| {
                std::iter::once(name.clone())
                    .chain(row.iter().map(|c| c.1.clone()))
                    .collect()
            })
            .collect();
        let chart = Chart::HeatMap(HeatMap {
            title: title.clone(),
            rows,
            columns,
            cells,
            max,
        });
        let view = FigureView::new(title, alt, headers, table_rows);
        out.push((domain.to_string(), chart, view));
    }
    out
}

/// The value at quantile `q` of sorted values, interpolating between neighbours (R type 7).
fn quantile(sorted: &[f64], q: f64) -> f64 {
    let h = (sorted.len() - 1) as f64 * q;
    let (lo, hi) = (h.floor() as usize, h.ceil() as usize);
    sorted[lo] + (h - lo as f64) * (sorted[hi] - sorted[lo])
}

/// An area page's spine chart, at each indicator's own latest period: the area against the
/// benchmark and the range of every area. `group` None draws the whole-population indicators
/// (published tables); `Some(g)` draws group `g` on each of its indicators. None when no
/// indicator has a benchmark value.
fn spine_figure(
    plan: &Plan,
    table: &DisclosedTable,
    area: usize,
    group: Option<usize>,
) -> Option<(Chart, FigureView)> {
    let last = *table.periods().last()?;
    let mut any_own = false;
    let areas = table.areas();
    let (total, region) = (&areas[0].name, areas[area].region);
    let mut rows = Vec::new();
    let mut cells = Vec::new();
    for (ii, ind) in plan.indicators.iter().enumerate() {
        // A count is a size, not a level, so it has no place on a spine against the total.
        if ind.method == Method::Count {
            continue;
        }
        let g = match group {
            None if ind.groups.is_empty() => None,
            Some(g) if ind.groups.contains(&g) => Some(g),
            _ => continue,
        };
        // Each indicator at its own latest period (NTS ends before asylum support does).
        let Some(latest) = own_latest(table, ii, g, 0) else {
            continue;
        };
        let value_at = |a: usize| {
            table
                .get((ii, g, None, a, latest))
                .and_then(|r| r.value.value())
        };
        let Some(benchmark) = value_at(0) else {
            continue;
        };
        let mut values: Vec<f64> = (0..areas.len())
            .filter(|&a| areas[a].level == Level::Area)
            .filter_map(value_at)
            .collect();
        if values.is_empty() {
            continue;
        }
        values.sort_by(f64::total_cmp);
        let range = (
            values[0],
            quantile(&values, 0.25),
            quantile(&values, 0.75),
            values[values.len() - 1],
        );
        let u = unit(plan, ii);
        let row = table.get((ii, g, None, area, latest));
        let value = row.and_then(|r| r.value.value());
        let marker = row.map_or("[x]", |r| r.value.marker()).to_string();
        let shown = |v: Option<f64>, m: &str| v.map_or_else(|| m.to_string(), fmt1);
        let compared = row.map_or(Comparison::NotCompared, |r| r.vs_total);
        let region_text = region.map_or_else(
            || "[x]".to_string(),
            |rg| {
                let r = table.get((ii, g, None, rg, latest));
                shown(
                    r.and_then(|r| r.value.value()),
                    r.map_or("[x]", |r| r.value.marker()),
                )
            },
        );
        let when = if latest == last {
            String::new()
        } else {
            any_own = true;
            format!(", {}", period::label(plan.period, latest))
        };
        let label = format!("{}{when}", ind.name);
        cells.push(vec![
            label.clone(),
            shown(value, &marker),
            region_text,
            fmt1(benchmark),
            fmt1(range.0),
            fmt1(range.1),
            fmt1(range.2),
            fmt1(range.3),
            compared.label().to_string(),
        ]);
        rows.push(SpineRow {
            // The period first, so that a label cut short in the chart still shows it.
            label: if when.is_empty() {
                ind.name.clone()
            } else {
                format!("{}: {}", period::label(plan.period, latest), ind.name)
            },
            value,
            marker: marker.clone(),
            benchmark,
            range,
            compared,
            text_value: value.map_or(
                marker,
                |v| {
                    if u == "%" {
                        with_unit(v, &u)
                    } else {
                        fmt1(v)
                    }
                },
            ),
        });
    }
    if rows.is_empty() {
        return None;
    }
    let name = &areas[area].name;
    let latest_label = period::label(plan.period, last);
    let who = group.map_or_else(String::new, |g| format!("{}: ", plan.groups[g].label));
    let title = if any_own {
        format!("{who}{name} against {total} and every area, {latest_label} (or an indicator's own latest period, named beside it)")
    } else {
        format!("{who}{name} against {total} and every area, {latest_label}")
    };
    let count = |pick: fn(Comparison) -> bool| rows.iter().filter(|r| pick(r.compared)).count();
    let verdicts = [
        (
            "significantly better",
            count(|c| matches!(c, Comparison::Better | Comparison::Best)),
        ),
        (
            "significantly worse",
            count(|c| matches!(c, Comparison::Worse | Comparison::Worst)),
        ),
        ("significantly higher", count(|c| c == Comparison::Higher)),
        ("significantly lower", count(|c| c == Comparison::Lower)),
        ("similar", count(|c| c == Comparison::Similar)),
        ("not compared", count(|c| c == Comparison::NotCompared)),
    ];
    let said: Vec<String> = verdicts
        .iter()
        .filter(|(_, n)| *n > 0)
        .map(|(what, n)| format!("{what} on {n}"))
        .collect();
    let alt = format!(
        "Spine chart: {title}. Of {} indicators, against {total} {name} is {}.{} The table below gives every value.",
        rows.len(),
        said.join(", "),
        group.map_or_else(String::new, |g| format!(" Every value is for {}.", plan.groups[g].label.to_lowercase())),
    );
    let chart = Chart::Spine(SpineChart {
        title: title.clone(),
        benchmark: total.clone(),
        rows,
    });
    let headers = [
        "Indicator",
        name.as_str(),
        "Region",
        total.as_str(),
        "Lowest area",
        "25th percentile",
        "75th percentile",
        "Highest area",
        "Compared with the benchmark",
    ]
    .map(String::from)
    .to_vec();
    let view = FigureView::new(title, alt, headers, cells);
    Some((chart, view))
}

/// Every area's latest value against its denominator, with limits around the benchmark's value.
/// Proportions and rates only; None without a benchmark value or any area to plot.
fn funnel_figure(
    plan: &Plan,
    table: &DisclosedTable,
    ii: usize,
    group: Option<usize>,
    unit: &str,
) -> Option<(Chart, FigureView)> {
    let ind = &plan.indicators[ii];
    let latest = own_latest(table, ii, group, 0)?;
    let m = ind.multiplier;
    let limits_at = |average: f64, n: f64, conf: f64| {
        crate::indicators::compare::funnel_limits(ind.method, m, average, n, conf)
    };
    let average = table.get((ii, group, None, 0, latest))?.value.value()?;
    let mut points = Vec::new();
    let mut rows = Vec::new();
    let mut hidden = 0;
    for (a, area) in table.areas().iter().enumerate() {
        if area.level != Level::Area {
            continue;
        }
        let r = table.get((ii, group, None, a, latest));
        // The verdict is the row's own (indicators::compare), so the chart, its table and the
        // workbook agree.
        let plotted = r.and_then(|r| Some((r.value.value()?, r.denominator.value()?, r.funnel?)));
        match plotted {
            Some((v, n, s)) => {
                rows.push(vec![
                    area.name.clone(),
                    fmt1(v),
                    super::tables::number(n),
                    charts::funnel_verdict(s).to_string(),
                ]);
                points.push(FunnelPoint {
                    label: area.name.clone(),
                    x: n,
                    y: v,
                    significance: s,
                });
            }
            None => {
                hidden += 1;
                let marker = r.map_or("[x]", |r| r.value.marker());
                let marker = if marker.is_empty() { "[x]" } else { marker };
                rows.push(vec![
                    area.name.clone(),
                    marker.to_string(),
                    r.map_or_else(|| "[x]".to_string(), |r| cell(r.denominator)),
                    "not shown".to_string(),
                ]);
            }
        }
    }
    if points.is_empty() {
        return None;
    }
    let x_max = points.iter().map(|p| p.x).fold(0.0, f64::max);
    let limits = (1..=80)
        .filter_map(|i| {
            let n = (x_max * 1.05 * (i as f64 / 80.0).powi(2)).max(1.0);
            let (a, b) = limits_at(average, n, 0.95)?;
            let (c, d) = limits_at(average, n, 0.998)?;
            Some((n, a, b, c, d))
        })
        .collect();
    let total = &table.areas()[0].name;
    let who = group.map_or_else(String::new, |g| format!(", {}", plan.groups[g].label));
    let title = format!(
        "{}{who}, {}: areas against {total}",
        ind.name,
        period::label(plan.period, latest)
    );
    let mut alt = format!(
        "Funnel plot: {title}. {total}: {}. Of {} areas shown,",
        with_unit(average, unit),
        points.len()
    );
    let mut parts = Vec::new();
    for s in [
        crate::stats::funnel::Significance::High001,
        crate::stats::funnel::Significance::High025,
        crate::stats::funnel::Significance::NotSignificant,
        crate::stats::funnel::Significance::Low025,
        crate::stats::funnel::Significance::Low001,
    ] {
        let n = points.iter().filter(|p| p.significance == s).count();
        if n > 0 {
            parts.push(format!("{n} {}", charts::funnel_verdict(s)));
        }
    }
    alt.push_str(&format!(" {}.", parts.join(", ")));
    if hidden > 0 {
        alt.push_str(&format!(
            " {hidden} area(s) not shown: too small to publish ([c]) or not available."
        ));
    }
    alt.push_str(" The table below gives every value.");
    let chart = Chart::Funnel(FunnelChart {
        title: title.clone(),
        x_label: match ind.method {
            Method::Rate => "Population (denominator)".into(),
            _ => "Denominator".into(),
        },
        cap: (ind.method == Method::Proportion).then_some(m),
        y_label: format!("{} ({unit})", ind.name),
        average,
        limits,
        points,
    });
    let headers = vec![
        "Area".into(),
        format!("Value ({unit})"),
        "Denominator".into(),
        format!("Against {total}"),
    ];
    let view = FigureView::new(title, alt, headers, rows);
    Some((chart, view))
}

fn strip_xml_header(svg: &str) -> String {
    match svg.find("<svg") {
        Some(i) => svg[i..].to_string(),
        None => svg.to_string(),
    }
}

fn alt_text(chart: &BarChart, unit: &str) -> String {
    let shown: Vec<&Bar> = chart.bars.iter().filter(|b| b.value.is_some()).collect();
    let hidden = chart.bars.len() - shown.len();
    let mut text = format!("Bar chart: {}.", chart.title);
    if let (Some(hi), Some(lo)) = (
        shown
            .iter()
            .max_by(|a, b| a.value.unwrap().0.total_cmp(&b.value.unwrap().0)),
        shown
            .iter()
            .min_by(|a, b| a.value.unwrap().0.total_cmp(&b.value.unwrap().0)),
    ) {
        text.push_str(&format!(
            " Highest: {} at {}; lowest: {} at {}.",
            hi.label,
            with_unit(hi.value.unwrap().0, unit),
            lo.label,
            with_unit(lo.value.unwrap().0, unit)
        ));
    }
    if hidden > 0 {
        text.push_str(&format!(" {hidden} group(s) not shown because the numbers are too small to publish ([c]) or not available."));
    }
    text.push_str(" The table below gives every value.");
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_have_their_width_in_years() {
        assert_eq!(band_width("0-4"), 5.0);
        assert_eq!(band_width("15-17"), 3.0);
        assert_eq!(band_width("18-19"), 2.0);
        assert_eq!(band_width("90+"), 5.0);
        assert_eq!(band_width("42"), 1.0);
        assert_eq!(band_width("unknown"), 1.0);
    }
}
