//! Breakdowns: categories that split a group's records (sex, age band, ethnicity, immigration
//! status), published as Fingertips `Sex`, `Age` or `CategoryType`/`Category` rows.
//!
//! A record goes to the first category whose condition it meets and to the remainder if it meets
//! none, so a breakdown's categories always add up to the whole group. Disclosure control relies
//! on that: the group's count is the sum of its categories' counts, and that equation is
//! protected like the geography.

use super::spec::BreakdownColumn;
use polars::prelude::*;

/// One compiled breakdown.
#[derive(Debug, Clone)]
pub struct Breakdown {
    pub id: String,
    pub label: String,
    pub column: BreakdownColumn,
    /// Category labels; the last is the remainder (records that meet no condition).
    pub categories: Vec<String>,
    /// The index of each record's category (`u32`, the remainder last).
    pub index: Expr,
}

impl Breakdown {
    /// Builds the category index expression from the conditions (first match wins).
    pub fn new(
        id: &str,
        label: &str,
        column: BreakdownColumn,
        categories: Vec<(String, Expr)>,
        remainder: &str,
    ) -> Breakdown {
        let n = categories.len() as u32;
        let index = categories
            .iter()
            .enumerate()
            .rev()
            .fold(lit(n), |otherwise, (i, (_, cond))| {
                when(cond.clone().fill_null(lit(false)))
                    .then(lit(i as u32))
                    .otherwise(otherwise)
            })
            .cast(DataType::UInt32);
        let mut labels: Vec<String> = categories.iter().map(|c| c.0.clone()).collect();
        labels.push(remainder.to_string());
        Breakdown {
            id: id.to_string(),
            label: label.to_string(),
            column,
            categories: labels,
            index,
        }
    }
}

/// The 2021 Census ethnic groups (19 categories) with their record codes.
pub const ETHNICITY_19: [(&str, &str); 19] = [
    (
        "W1",
        "White: English, Welsh, Scottish, Northern Irish or British",
    ),
    ("W2", "White: Irish"),
    ("W3", "White: Gypsy or Irish Traveller"),
    ("W4", "White: Roma"),
    ("W5", "White: Other White"),
    ("M1", "Mixed or Multiple: White and Black Caribbean"),
    ("M2", "Mixed or Multiple: White and Black African"),
    ("M3", "Mixed or Multiple: White and Asian"),
    ("M4", "Mixed or Multiple: Other Mixed or Multiple"),
    ("A1", "Asian or Asian British: Indian"),
    ("A2", "Asian or Asian British: Pakistani"),
    ("A3", "Asian or Asian British: Bangladeshi"),
    ("A4", "Asian or Asian British: Chinese"),
    ("A5", "Asian or Asian British: Other Asian"),
    ("B1", "Black, Black British, Caribbean or African: African"),
    (
        "B2",
        "Black, Black British, Caribbean or African: Caribbean",
    ),
    (
        "B3",
        "Black, Black British, Caribbean or African: Other Black",
    ),
    ("O1", "Other ethnic group: Arab"),
    ("O2", "Other ethnic group: Any other ethnic group"),
];

/// The five high-level groups, by the first letter of the code.
const ETHNIC_GROUP_5: [(&str, &str); 5] = [
    ("A", "Asian or Asian British"),
    ("B", "Black, Black British, Caribbean or African"),
    ("M", "Mixed or Multiple ethnic groups"),
    ("W", "White"),
    ("O", "Other ethnic group"),
];

/// Monitoring answers that are not an ethnic group, kept apart as their own categories.
const NOT_STATED: [(&str, &str); 3] = [
    ("U", "Ethnicity not known"),
    ("Z", "Ethnicity declined"),
    ("9", "Ethnicity not asked"),
];

/// The built-in breakdowns as (id, label, column, [(category, SQL condition)], remainder).
#[allow(clippy::type_complexity)]
pub fn builtin() -> Vec<(
    &'static str,
    &'static str,
    BreakdownColumn,
    Vec<(String, String)>,
    &'static str,
)> {
    let eq = |col: &str, code: &str| format!("{col} = '{code}'");
    let not_stated = || {
        NOT_STATED
            .iter()
            .map(|(c, l)| (l.to_string(), eq("ethnicity", c)))
    };
    vec![
        (
            "sex",
            "Sex",
            BreakdownColumn::Sex,
            vec![
                ("Female".into(), eq("sex", "F")),
                ("Male".into(), eq("sex", "M")),
                ("Other".into(), eq("sex", "X")),
            ],
            "Not known",
        ),
        (
            "age_band",
            "Age band",
            BreakdownColumn::Age,
            vec![
                ("0-17 yrs".into(), "age < 18".into()),
                ("18-25 yrs".into(), "age BETWEEN 18 AND 25".into()),
                ("26-39 yrs".into(), "age BETWEEN 26 AND 39".into()),
                ("40-59 yrs".into(), "age BETWEEN 40 AND 59".into()),
                ("60+ yrs".into(), "age >= 60".into()),
            ],
            "Age not known",
        ),
        (
            "ethnicity",
            "Ethnic group (19 categories)",
            BreakdownColumn::Category,
            ETHNICITY_19
                .iter()
                .map(|(c, l)| (l.to_string(), eq("ethnicity", c)))
                .chain(not_stated())
                .collect(),
            "Ethnicity missing",
        ),
        (
            "ethnic_group",
            "Ethnic group (5 groups)",
            BreakdownColumn::Category,
            ETHNIC_GROUP_5
                .iter()
                .map(|(c, l)| (l.to_string(), format!("ethnicity LIKE '{c}_'")))
                .chain(not_stated())
                .collect(),
            "Ethnicity missing",
        ),
        (
            "immigration_status",
            "Immigration status",
            BreakdownColumn::Category,
            [
                ("asylum_seeker", "Asylum seeker"),
                ("refugee", "Refugee"),
                ("refused_asylum_seeker", "Refused asylum seeker"),
                ("uasc", "Unaccompanied asylum-seeking child"),
                ("nrpf", "No recourse to public funds"),
                ("resettled", "Resettled"),
                ("other_migrant", "Other migrant"),
                ("not_subject", "Not subject to immigration control"),
                ("not_known", "Immigration status not known"),
            ]
            .iter()
            .map(|(c, l)| (l.to_string(), eq("immigration_status", c)))
            .collect(),
            "Immigration status missing",
        ),
    ]
}
