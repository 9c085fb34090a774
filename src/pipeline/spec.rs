//! The pipeline file as users write it (TOML). Every key is documented in `pipelines/README.md`.
//!
//! These types only describe the file; `plan.rs` checks them and compiles the plan the code runs.

use indexmap::IndexMap;
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Spec {
    /// Short name: used for the default output folder `reports/<name>/`.
    pub name: Spanned<String>,
    /// Report title.
    pub title: String,
    /// How record dates become periods.
    #[serde(default)]
    pub period: PeriodKind,
    pub areas: AreasSpec,
    pub sources: IndexMap<String, SourceSpec>,
    /// In file order: the first group with `reference = true` is the main comparator.
    #[serde(default)]
    pub groups: IndexMap<String, GroupSpec>,
    pub indicators: Vec<IndicatorSpec>,
    /// Breakdowns beyond the built-in ones (`sex`, `age_band`, `ethnicity`, `ethnic_group`,
    /// `immigration_status`), or replacements for them under the same id.
    #[serde(default)]
    pub breakdowns: IndexMap<String, BreakdownSpec>,
    #[serde(default)]
    pub disclosure: DisclosureSpec,
    #[serde(default)]
    pub output: OutputSpec,
    /// The analyst's own words (Markdown), placed in the report's sections.
    #[serde(default)]
    pub narrative: NarrativeSpec,
}

/// The analyst's interpretation: Markdown for the summary, the implications for commissioning
/// and the caveats, on the overview, and per area (by area code) for its page.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NarrativeSpec {
    pub summary: Option<String>,
    pub implications: Option<String>,
    pub caveats: Option<String>,
    /// By area code: that area page's own summary and implications.
    #[serde(default)]
    pub areas: BTreeMap<String, AreaNarrativeSpec>,
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreaNarrativeSpec {
    pub summary: Option<String>,
    pub implications: Option<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Quarter,
    #[default]
    FinancialYear,
    CalendarYear,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AreasSpec {
    /// ONS LAD lookup: `lad_code, lad_name, utla_code, utla_name, region_name, region_code`.
    pub lookup: Spanned<String>,
    /// Optional ONS code history (`lad_code, lad23_code`, with `lad_name`, `former_names`) for
    /// published tables that use LAD codes of older vintages.
    #[serde(default)]
    pub code_history: Option<Spanned<String>>,
    /// Code and name of the row that sums every area in the data (the benchmark).
    #[serde(default = "default_total_code")]
    pub total_code: String,
    #[serde(default = "default_total_name")]
    pub total_name: String,
    /// The areas of the report: `"lad"` (districts, the default) or `"utla"` (upper-tier
    /// authorities: counties, unitaries, metropolitan districts and London boroughs).
    #[serde(default)]
    pub level: AreaLevel,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum AreaLevel {
    #[default]
    Lad,
    Utla,
}

fn default_total_code() -> String {
    "E92000001".to_string()
}
fn default_total_name() -> String {
    "England".to_string()
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum SourceKind {
    /// Local record-level service data (DOMAIN §3.2).
    Records,
    /// ONS mid-year population by area, year, sex and age band.
    Population,
    /// Home Office Asy_D11: people on asylum support by local authority (a stock).
    AsyD11,
    /// Home Office Res_D01: resettlement arrivals by local authority and scheme (a flow).
    ResD01,
    /// UKVI NTS_01: National Transfer Scheme transfers of UASC, by local authority name.
    Nts,
    /// Home Office NRM table: referrals by exploitation type, age, gender, nationality (national).
    Nrm,
    /// DfE children looked after / care leavers who were UASC (national, `c`/`k` markers).
    DfeUasc,
}

impl SourceKind {
    /// A table someone else published (as opposed to local records or population).
    pub fn is_published(self) -> bool {
        !matches!(self, SourceKind::Records | SourceKind::Population)
    }

    /// A published table with a figure per area (not national only).
    pub fn has_areas(self) -> bool {
        matches!(
            self,
            SourceKind::AsyD11 | SourceKind::ResD01 | SourceKind::Nts
        )
    }

    /// A published table of national figures only (NRM, DfE), counted at the total.
    pub fn is_national(self) -> bool {
        self.is_published() && !self.has_areas()
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SourceSpec {
    pub kind: SourceKind,
    pub path: Spanned<String>,
    /// Renames: canonical column name = column name in the file.
    #[serde(default)]
    pub columns: BTreeMap<String, String>,
    /// Records only: columns the anonymisation guard lets through, each with the reason.
    #[serde(default)]
    pub allow_identifiers: BTreeMap<String, String>,
    /// Spreadsheets (`.xlsx`, `.xls`, `.ods`): the sheet, by name or a pattern with `*`.
    pub sheet: Option<String>,
    /// Records only: data tests on columns, in dbt's words.
    #[serde(default)]
    pub tests: Vec<DataTestSpec>,
    /// Published tables: the count column to use when not the layout's default (e.g. NTS
    /// `"Transfers out of Local Authority"`).
    pub value: Option<String>,
    /// Published tables without a date column (NRM): the last day of the period the table
    /// covers, `YYYY-MM-DD`.
    pub period_end: Option<Spanned<String>>,
    /// Records only: the plausible window for dates, `YYYY-MM-DD` (default 1990-01-01 to the
    /// run date). Dates outside it are quarantined.
    #[serde(default)]
    pub earliest_date: Option<Spanned<String>>,
    #[serde(default)]
    pub latest_date: Option<Spanned<String>>,
    /// Series breaks the analyst knows of, beside those each published table's layout knows:
    /// from `date` (a day in the first period of the new series) the figures are not comparable
    /// with earlier ones, e.g. `{ date = "2021-04-01", reason = "new case system" }`.
    #[serde(default)]
    pub breaks: Vec<BreakSpec>,
}

/// One declared series break.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakSpec {
    pub date: Spanned<String>,
    pub reason: Spanned<String>,
}

/// One declared data test, e.g. `{ column = "age", test = "range", min = 0, max = 110 }`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataTestSpec {
    pub column: Spanned<String>,
    pub test: Spanned<DataTestKind>,
    /// `accepted_values`: the values allowed.
    #[serde(default)]
    pub values: Vec<String>,
    /// `range`: the smallest and largest values allowed (either may be left out).
    pub min: Option<f64>,
    pub max: Option<f64>,
    /// `relationships`: what the values must be found in; `"areas"` (the area lookup's codes).
    pub to: Option<Spanned<String>>,
    #[serde(default)]
    pub severity: Severity,
    /// The share of rows that may fail before an `error` test fails the run, e.g. `0.01`.
    pub tolerance: Option<Spanned<f64>>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum DataTestKind {
    NotNull,
    Unique,
    AcceptedValues,
    Range,
    Relationships,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    /// Failing rows are quarantined; more than the tolerance fails the run (exit 1).
    #[default]
    Error,
    /// Failing rows are kept and counted in the data-quality report.
    Warn,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroupSpec {
    /// Name shown in reports and in the `Category` column.
    pub label: String,
    /// SQL boolean expression over the record columns (polars SQL), e.g. `uasc = 'Y'`.
    pub filter: Spanned<String>,
    /// A reference group that the population groups are compared with.
    #[serde(default)]
    pub reference: bool,
    /// SQL condition over the population columns (`sex`, `age_band`, `age_min`, `age_max`)
    /// selecting the residents this group is counted against by `rate` and `representation`
    /// indicators, e.g. `sex = 'Female'` (default: every resident).
    #[serde(default)]
    pub population: Option<Spanned<String>>,
}

#[derive(Debug, Clone, Copy, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum Method {
    /// Share of the denominator records meeting the numerator condition (Wilson interval).
    Proportion,
    /// Count over population (Poisson interval: exact below 10, Byar's from 10).
    Rate,
    /// Median of a numeric value over the denominator records (distribution-free interval).
    Median,
    /// A group's share of the service users over its share of the resident population
    /// (Wilson interval of the first share, the population share taken as known).
    Representation,
    /// A published table's count (Poisson interval: exact below 10, Byar's from 10).
    Count,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IndicatorSpec {
    pub id: Spanned<String>,
    pub name: String,
    pub source: Spanned<String>,
    pub method: Method,
    /// Proportions: SQL condition a record in the denominator must meet to count.
    #[serde(default)]
    pub numerator: Option<Spanned<String>>,
    /// Medians: SQL expression giving the number whose median is taken, e.g. `days_to_assessment`.
    #[serde(default)]
    pub value: Option<Spanned<String>>,
    /// Unit shown after values in the report (default: `%` for percentages, `per N residents` for
    /// rates, none for medians).
    #[serde(default)]
    pub unit: Option<String>,
    /// Proportions: SQL condition selecting the records the share is of (default: every record).
    #[serde(default)]
    pub denominator: Option<Spanned<String>>,
    /// Default 100 (a percentage; per 100 residents for rates), 1 for representation.
    #[serde(default)]
    pub multiplier: Option<f64>,
    pub polarity: crate::stats::Polarity,
    /// Groups to compute it for (default: all groups). Ignored for area-level sources.
    #[serde(default)]
    pub groups: Option<Spanned<Vec<String>>>,
    /// Plain-language definition shown in the report.
    #[serde(default)]
    pub definition: String,
    /// Records only: breakdowns to compute it by as well, e.g. `["sex", "age_band"]`.
    #[serde(default)]
    pub breakdowns: Option<Spanned<Vec<String>>>,
    /// A heading that indicators share, e.g. `"Monitoring completeness"`: the report draws a
    /// heat map of each domain's indicators by group.
    #[serde(default)]
    pub domain: Option<String>,
    /// Rates and representation: SQL condition over the population columns selecting the
    /// residents counted (default: the group's `population`, or every resident), e.g.
    /// `age_max <= 17` for a rate per 10,000 children.
    #[serde(default)]
    pub population: Option<Spanned<String>>,
    /// Rates: a planning threshold on the indicator's scale (e.g. `10` per 10,000 children for
    /// the National Transfer Scheme's 0.1%); each value is flagged at or above it, or below.
    #[serde(default)]
    pub threshold: Option<f64>,
    /// Proportions and rates: each value sums the counts of this many periods, ending with the
    /// one shown (for small numbers), e.g. `3` for three-year rolling figures.
    #[serde(default)]
    pub rolling: Option<Spanned<u32>>,
    /// Rates: the mid-year whose residents are the denominator of every period, when the
    /// population file has no estimate for each year (e.g. `2022` for the ONS age file, which
    /// has mid-2011 and mid-2022 only). Default: each period's own year.
    #[serde(default)]
    pub population_year: Option<Spanned<i64>>,
}

/// A breakdown: categories that split every group's records, each a SQL condition. A record goes
/// to the first category whose condition it meets, and to the remainder if it meets none, so the
/// categories always add up to the whole group.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct BreakdownSpec {
    /// Shown in reports and in the `CategoryType` column, e.g. `"Ethnic group"`.
    pub label: String,
    /// The Fingertips column the category goes in: `"sex"`, `"age"` or `"category"` (the
    /// default: `CategoryType` and `Category`).
    #[serde(default)]
    pub column: BreakdownColumn,
    pub categories: Vec<CategorySpec>,
    /// The label of records that meet no category (default `"Not known"`).
    #[serde(default = "default_remainder")]
    pub remainder: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CategorySpec {
    pub label: String,
    pub filter: Spanned<String>,
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BreakdownColumn {
    Sex,
    Age,
    #[default]
    Category,
}

fn default_remainder() -> String {
    "Not known".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureSpec {
    /// Counts from 1 to this value are suppressed.
    #[serde(default = "default_threshold")]
    pub threshold: u64,
    /// Other counts are rounded to the nearest multiple of this.
    #[serde(default = "default_rounding")]
    pub rounding: u64,
    /// Suppress zeros too (the default keeps 0 as 0, as the NHS England rule does).
    #[serde(default)]
    pub suppress_zeros: bool,
    /// Publish counts from published tables (Home Office, NRM, DfE) as they are, unrounded and
    /// unsuppressed: they are public already, and rounding them only costs accuracy. `false`
    /// applies the rule to them too.
    #[serde(default = "default_true")]
    pub exempt_published: bool,
    /// The one geography level breakdown rows are published at: `"area"` (the default) or
    /// `"total"`. Publishing both would make two-way tables (areas × categories with both
    /// margins), from which suppressed cells could be narrowed by solving the equations together.
    #[serde(default)]
    pub breakdown_level: BreakdownLevel,
    /// Required with `threshold = 0`: why no count is suppressed (written into the report).
    #[serde(default)]
    pub no_suppression_reason: Option<String>,
    /// A median (and its intervals) is published only where the published, rounded count of
    /// its values is at least this; below it the median is `[c]`. Small medians give values
    /// away: an interval's ends are individual values, and whether one exists tells n.
    #[serde(default = "default_median_min_values")]
    pub median_min_values: Spanned<u64>,
}

fn default_median_min_values() -> Spanned<u64> {
    Spanned::new(0..0, 20)
}

#[derive(Debug, Clone, Copy, Default, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub enum BreakdownLevel {
    #[default]
    Area,
    Total,
}

impl Default for DisclosureSpec {
    fn default() -> Self {
        DisclosureSpec {
            threshold: default_threshold(),
            rounding: default_rounding(),
            suppress_zeros: false,
            exempt_published: true,
            breakdown_level: BreakdownLevel::default(),
            no_suppression_reason: None,
            median_min_values: default_median_min_values(),
        }
    }
}

fn default_true() -> bool {
    true
}
fn default_threshold() -> u64 {
    7
}
fn default_rounding() -> u64 {
    5
}

#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutputSpec {
    /// Output folder (default `reports/<name>` beside the pipeline's parent folder).
    #[serde(default)]
    pub dir: Option<Spanned<String>>,
    /// A restricted folder for unsuppressed figures (never published). None unless named.
    #[serde(default)]
    pub restricted_dir: Option<Spanned<String>>,
    /// Where the record-level quarantine and exact data-quality counts go (never published).
    /// Default: `<output folder>-quality` beside the output folder.
    #[serde(default)]
    pub quality_dir: Option<Spanned<String>>,
    /// A folder whose `report.html` replaces the built-in page template.
    #[serde(default)]
    pub templates: Option<Spanned<String>>,
}
