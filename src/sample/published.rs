//! Synthetic migration statistics in the published Home Office / ONS layouts (DOMAIN §3.1, §3.3).
//!
//! The column names and label spellings are those of the real tidied files in
//! `../shared/real_data/`, so the same source adapters read both.

use super::areas::Area;
use super::rng::Rng;
use super::Quarter;

/// Share of the population in each ONS age band (England, mid-2022, rounded).
pub const AGE_BANDS: [(&str, f64); 20] = [
    ("0-4", 5.4),
    ("5-9", 5.9),
    ("10-14", 6.1),
    ("15-17", 3.5),
    ("18-19", 2.3),
    ("20-24", 6.0),
    ("25-29", 6.6),
    ("30-34", 6.9),
    ("35-39", 6.7),
    ("40-44", 6.3),
    ("45-49", 6.2),
    ("50-54", 6.8),
    ("55-59", 6.7),
    ("60-64", 5.9),
    ("65-69", 5.0),
    ("70-74", 4.9),
    ("75-79", 3.7),
    ("80-84", 2.5),
    ("85-89", 1.5),
    ("90+", 0.9),
];

fn female_share(band_index: usize) -> f64 {
    match band_index {
        0..=12 => 0.49,
        13..=15 => 0.51,
        16..=17 => 0.55,
        18 => 0.60,
        _ => 0.66,
    }
}

/// A Poisson draw (Knuth below 30, normal approximation above).
pub fn poisson(rng: &mut Rng, lambda: f64) -> u64 {
    if lambda <= 0.0 {
        return 0;
    }
    if lambda < 30.0 {
        let limit = (-lambda).exp();
        let (mut k, mut p) = (0u64, 1.0);
        loop {
            p *= rng.uniform();
            if p <= limit {
                return k;
            }
            k += 1;
        }
    }
    (lambda + lambda.sqrt() * rng.normal()).round().max(0.0) as u64
}

pub type Rows = Vec<Vec<String>>;

/// `area_code, area_name, year, sex, age_band, population` (the ONS pack's layout).
pub fn population(areas: &[Area], years: &[i32]) -> (Vec<&'static str>, Rows) {
    let total: f64 = AGE_BANDS.iter().map(|(_, s)| s).sum();
    let mut rows = Vec::new();
    for area in areas {
        for &year in years {
            let pop = area.population_in(year);
            for sex in ["Female", "Male"] {
                for (i, (band, share)) in AGE_BANDS.iter().enumerate() {
                    let f = female_share(i);
                    let part = if sex == "Female" { f } else { 1.0 - f };
                    let n = (pop * share / total * part).round().max(1.0);
                    rows.push(vec![
                        area.code.clone(),
                        area.name.clone(),
                        year.to_string(),
                        sex.to_string(),
                        band.to_string(),
                        format!("{n}"),
                    ]);
                }
            }
        }
    }
    (
        vec![
            "area_code",
            "area_name",
            "year",
            "sex",
            "age_band",
            "population",
        ],
        rows,
    )
}

/// The ONS LAD → UTLA → region lookup for the chosen areas.
pub fn lookup(areas: &[Area]) -> (Vec<&'static str>, Rows) {
    let rows = areas
        .iter()
        .map(|a| {
            vec![
                a.code.clone(),
                a.name.clone(),
                a.utla_code.clone(),
                a.utla_name.clone(),
                a.region_name.clone(),
                a.region_code.clone(),
            ]
        })
        .collect();
    (
        vec![
            "lad_code",
            "lad_name",
            "utla_code",
            "utla_name",
            "region_name",
            "region_code",
        ],
        rows,
    )
}

fn intensity(index: usize) -> f64 {
    // People on asylum support per resident, between about 1 in 1,000 and 1 in 200.
    [
        0.0036, 0.0022, 0.0018, 0.0030, 0.0026, 0.0020, 0.0034, 0.0024, 0.0040, 0.0032, 0.0012,
        0.0028,
    ][index % 12]
}

/// Asy_D11: people on asylum support by local authority at quarter end (non-zero rows only).
pub fn asylum_support(
    areas: &[Area],
    quarters: &[Quarter],
    seed: u64,
) -> (Vec<&'static str>, Rows) {
    const SPLIT: [(&str, &str, f64); 5] = [
        ("Section 95", "Dispersal Accommodation", 0.60),
        ("Section 95", "Contingency Accommodation - Hotel", 0.20),
        ("Section 95", "Subsistence Only", 0.08),
        ("Section 98", "Initial Accommodation", 0.07),
        ("Section 4", "Dispersal Accommodation", 0.05),
    ];
    let mut rows = Vec::new();
    for (qi, q) in quarters.iter().enumerate() {
        for (ai, area) in areas.iter().enumerate() {
            let base = area.population_in(q.year) * intensity(ai) * (1.0 + 0.03 * qi as f64);
            for (si, (support, accommodation, share)) in SPLIT.iter().enumerate() {
                let mut rng = Rng::for_row(seed, 10, ((qi * 10_000 + ai) * 8 + si) as u64);
                let people = poisson(&mut rng, base * share);
                if people > 0 {
                    rows.push(vec![
                        q.end().to_string(),
                        q.year.to_string(),
                        q.q.to_string(),
                        support.to_string(),
                        area.region_name.clone(),
                        area.name.clone(),
                        area.code.clone(),
                        accommodation.to_string(),
                        people.to_string(),
                    ]);
                }
            }
        }
    }
    (
        vec![
            "Date",
            "Year",
            "Quarter",
            "Support Type",
            "UK Region",
            "Local Authority",
            "LAD Code",
            "Accommodation Type",
            "People",
        ],
        rows,
    )
}

/// Res_D01: resettlement arrivals by local authority and scheme (non-zero rows only).
pub fn resettlement(areas: &[Area], quarters: &[Quarter], seed: u64) -> (Vec<&'static str>, Rows) {
    const SCHEMES: [(&str, f64); 4] = [
        ("UK Resettlement Scheme", 4.0),
        ("UK Resettlement Scheme - Community Sponsorship Scheme", 0.3),
        ("Relocation - ARAP", 2.0),
        ("Resettlement - ACRS Pathway 1", 1.5),
    ];
    let mut rows = Vec::new();
    for (qi, q) in quarters.iter().enumerate() {
        for (ai, area) in areas.iter().enumerate() {
            let scale = area.population_in(q.year) / 300_000.0;
            for (si, (scheme, mean)) in SCHEMES.iter().enumerate() {
                let mut rng = Rng::for_row(seed, 11, ((qi * 10_000 + ai) * 8 + si) as u64);
                let persons = poisson(&mut rng, mean * scale);
                if persons > 0 {
                    rows.push(vec![
                        q.end().to_string(),
                        q.year.to_string(),
                        q.q.to_string(),
                        area.region_name.clone(),
                        area.code.clone(),
                        area.name.clone(),
                        scheme.to_string(),
                        persons.to_string(),
                    ]);
                }
            }
        }
    }
    (
        vec![
            "Date",
            "Year",
            "Quarter",
            "UK Region",
            "LAD Code",
            "Local Authority",
            "Resettlement Scheme",
            "Persons",
        ],
        rows,
    )
}

/// The names the National Transfer Scheme table uses where they differ from ONS names.
pub fn nts_name(ons_name: &str) -> String {
    match ons_name {
        "Bristol, City of" => "Bristol".to_string(),
        "Kingston upon Hull, City of" => "Kingston upon Hull".to_string(),
        "Herefordshire, County of" => "Herefordshire".to_string(),
        other => other.to_string(),
    }
}

/// NTS_01: UASC transfers by local authority name, with regional and national `*Total` rows.
pub fn nts(areas: &[Area], quarters: &[Quarter], seed: u64) -> (Vec<&'static str>, Rows) {
    let mut rows = Vec::new();
    for (qi, q) in quarters.iter().enumerate() {
        let mut regions: std::collections::BTreeMap<&str, [u64; 3]> = Default::default();
        let mut detail = Vec::new();
        for (ai, area) in areas.iter().enumerate() {
            let mut rng = Rng::for_row(seed, 12, (qi * 10_000 + ai) as u64);
            let scale = area.population_in(q.year) / 400_000.0;
            let counts = [
                poisson(&mut rng, 0.4 * scale),
                poisson(&mut rng, 1.5 * scale),
                poisson(&mut rng, 0.8 * scale),
            ];
            let totals = regions.entry(area.region_name.as_str()).or_default();
            for k in 0..3 {
                totals[k] += counts[k];
            }
            detail.push(vec![
                q.end().to_string(),
                q.year.to_string(),
                q.q.to_string(),
                area.region_name.clone(),
                nts_name(&area.name),
                "Yes".to_string(),
                counts[0].to_string(),
                counts[1].to_string(),
                counts[2].to_string(),
            ]);
        }
        rows.extend(detail);
        let mut national = [0u64; 3];
        for (region, totals) in &regions {
            for k in 0..3 {
                national[k] += totals[k];
            }
            rows.push(vec![
                q.end().to_string(),
                q.year.to_string(),
                q.q.to_string(),
                format!("*Total {region}"),
                "*Total".to_string(),
                "-".to_string(),
                totals[0].to_string(),
                totals[1].to_string(),
                totals[2].to_string(),
            ]);
        }
        rows.push(vec![
            q.end().to_string(),
            q.year.to_string(),
            q.q.to_string(),
            "*Total".to_string(),
            "*Total".to_string(),
            "-".to_string(),
            national[0].to_string(),
            national[1].to_string(),
            national[2].to_string(),
        ]);
    }
    (
        vec![
            "Date",
            "Year",
            "Quarter",
            "Region",
            "Local Authority or HSCT (NI)",
            "Able to participate in the NTS?",
            "Transfers out of Local Authority",
            "Transfers into Local Authority",
            "Transfers into LA from port/intake unit",
        ],
        rows,
    )
}

/// NRM Table 14 layout: national referrals by local authorities as first responders, one quarter.
pub fn nrm(areas: &[Area], seed: u64) -> (Vec<&'static str>, Rows) {
    const EXPLOITATION: [&str; 5] = [
        "Criminal",
        "Labour",
        "Sexual",
        "Domestic servitude",
        "Not specified or unknown",
    ];
    const AGE: [&str; 3] = ["Adult", "Child", "Not specified or unknown"];
    const GENDER: [&str; 2] = ["Female", "Male"];
    const NATIONALITY: [&str; 6] = [
        "UK",
        "Albanian",
        "Vietnamese",
        "Eritrean",
        "Sudanese",
        "Afghan",
    ];
    let mut rows = Vec::new();
    for (ai, area) in areas.iter().enumerate() {
        let mut rng = Rng::for_row(seed, 13, ai as u64);
        for e in EXPLOITATION {
            for a in AGE {
                for g in GENDER {
                    for n in NATIONALITY {
                        let people = poisson(&mut rng, 0.12);
                        if people > 0 {
                            rows.push(vec![
                                "Local authority".to_string(),
                                area.name.clone(),
                                e.to_string(),
                                a.to_string(),
                                g.to_string(),
                                n.to_string(),
                                people.to_string(),
                            ]);
                        }
                    }
                }
            }
        }
    }
    (
        vec![
            "First responder type",
            "First responder",
            "Exploitation type",
            "Age at exploitation",
            "Gender",
            "Nationality",
            "People",
        ],
        rows,
    )
}
