//! Synthetic local social-care records (DOMAIN §3.2), one row per referral.
//!
//! Built-in findings, so that a report has something real to show (documented in
//! `sample_data/README.md`; the tests assert the pipeline finds them):
//! 1. **Timeliness**: women and girls seeking asylum or with refugee status wait longer for an
//!    assessment (median 34 days against 18) in the 4th, 8th and 11th area (Manchester, Nottingham
//!    and Portsmouth in the default set), and in every 12th area after those.
//! 2. **Communication**: trafficking victims who need an interpreter get one 55% of the time,
//!    against 88% for everyone else who needs one.
//! 3. **Outcome**: refugees and asylum seekers aged 60+ receive a service after assessment 35% of
//!    the time, against about 55% for others.
//! 4. **UASC pathway plans** cover all three scenarios 45% of the time in the 3rd and 7th area
//!    (Leeds, Newham), against 85% elsewhere.
//! 5. **Need**: refugees and asylum seekers record a mental-health need more often than others
//!    (26% against 18%), LGBT refugees and asylum seekers about twice as often (52%), trafficking
//!    victims 45%.
//! 6. **Eligibility**: people with no recourse to public funds are found ineligible more often
//!    (20% against 5%).
//!
//! A few rows (about 1 in 2,000) carry deliberate faults that validation must quarantine: an
//! impossible date (`31/02/YYYY`), a sexual-orientation code outside the NHS list (`7`), an
//! assessment dated before its referral, and an age of 130.

use super::areas::Area;
use super::rng::Rng;
use chrono::{Datelike, Duration, NaiveDate};

pub const SLOW_FOR_WOMEN: [usize; 3] = [3, 7, 10];
pub const LOW_PATHWAY: [usize; 2] = [2, 6];
/// Area positions (mod 12) whose case system exports UK-format dates (`DD/MM/YYYY`).
pub const UK_DATE_AREAS: [usize; 1] = [4];

const MIGRANT_SHARE: [f64; 12] = [
    0.30, 0.22, 0.20, 0.26, 0.18, 0.28, 0.34, 0.21, 0.19, 0.24, 0.17, 0.20,
];

pub use crate::ingest::records::LAYOUT as COLUMNS;

/// One generated record; every field is already the text written to the file ("" = missing).
pub type Record = [String; 30];

pub struct RecordContext<'a> {
    pub areas: &'a [Area],
    pub area_weights: Vec<f64>,
    pub start: NaiveDate,
    pub days: i64,
    pub seed: u64,
}

fn yn(b: bool) -> String {
    if b { "Y" } else { "N" }.to_string()
}

fn date_text(d: NaiveDate, uk: bool) -> String {
    if uk {
        d.format("%d/%m/%Y").to_string()
    } else {
        d.format("%Y-%m-%d").to_string()
    }
}

const ETHNICITY: [(&str, f64); 19] = [
    ("W1", 0.0),
    ("W2", 0.01),
    ("W3", 0.005),
    ("W4", 0.02),
    ("W5", 0.10),
    ("M1", 0.005),
    ("M2", 0.01),
    ("M3", 0.005),
    ("M4", 0.01),
    ("A1", 0.03),
    ("A2", 0.04),
    ("A3", 0.02),
    ("A4", 0.02),
    ("A5", 0.18),
    ("B1", 0.22),
    ("B2", 0.005),
    ("B3", 0.05),
    ("O1", 0.12),
    ("O2", 0.10),
];
const LANGUAGES: [(&str, f64); 10] = [
    ("Arabic", 0.18),
    ("Pashto", 0.12),
    ("Dari", 0.08),
    ("Kurdish Sorani", 0.10),
    ("Tigrinya", 0.10),
    ("Farsi", 0.12),
    ("Albanian", 0.10),
    ("Vietnamese", 0.06),
    ("Ukrainian", 0.08),
    ("Amharic", 0.06),
];
const SOURCES: [(&str, f64); 7] = [
    ("self", 0.15),
    ("health", 0.25),
    ("police", 0.08),
    ("home_office", 0.10),
    ("voluntary_sector", 0.17),
    ("school", 0.08),
    ("local_authority", 0.17),
];

struct Person {
    migrant: bool,
    status: &'static str,
    uasc: bool,
    age: i64,
    female: bool,
    lgbt: bool,
    trafficked: bool,
}

fn person(rng: &mut Rng, migrant_share: f64) -> Person {
    let migrant = rng.chance(migrant_share);
    let status: &'static str = if migrant {
        rng.pick(&[
            ("asylum_seeker", 0.33),
            ("refugee", 0.30),
            ("refused_asylum_seeker", 0.07),
            ("uasc", 0.10),
            ("nrpf", 0.05),
            ("resettled", 0.10),
            ("other_migrant", 0.05),
        ])
    } else {
        rng.pick(&[("not_subject", 0.93), ("not_known", 0.07)])
    };
    let age = match status {
        "uasc" => rng.range(14, 17),
        _ if migrant => match rng.weighted(&[0.18, 0.32, 0.33, 0.08, 0.09]) {
            0 => rng.range(0, 17),
            1 => rng.range(18, 29),
            2 => rng.range(30, 49),
            3 => rng.range(50, 59),
            _ => rng.range(60, 88),
        },
        _ => match rng.weighted(&[0.30, 0.35, 0.35]) {
            0 => rng.range(0, 17),
            1 => rng.range(18, 64),
            _ => rng.range(65, 99),
        },
    };
    // Former UASC care leavers (18-25) keep the UASC flag with refugee status.
    let uasc =
        status == "uasc" || (status == "refugee" && (18..=25).contains(&age) && rng.chance(0.3));
    let female = if uasc {
        rng.chance(0.10)
    } else {
        rng.chance(0.52)
    };
    let lgbt = rng.chance(if migrant { 0.06 } else { 0.04 });
    let trafficked = if migrant {
        rng.chance(0.07)
    } else {
        rng.chance(0.003)
    };
    Person {
        migrant,
        status,
        uasc,
        age,
        female,
        lgbt,
        trafficked,
    }
}

/// Generates record number `row` (0-based) of the file.
pub fn record(ctx: &RecordContext, row: u64) -> Record {
    let mut rng = Rng::for_row(ctx.seed, 1, row);
    let ai = rng.weighted(&ctx.area_weights);
    let area = &ctx.areas[ai];
    let slot = ai % 12;
    let p = person(&mut rng, MIGRANT_SHARE[slot]);
    let uk_dates = UK_DATE_AREAS.contains(&slot);
    let referral = ctx.start + Duration::days(rng.range(0, ctx.days - 1));

    let sex = if p.female {
        "F"
    } else if rng.chance(0.005) {
        "U"
    } else {
        "M"
    };
    let gender_identity = if p.lgbt && rng.chance(0.25) {
        "2"
    } else {
        rng.pick(&[("1", 0.91), ("U", 0.04), ("Z", 0.02), ("9", 0.03)])
    };
    let sexual_orientation = if p.lgbt && gender_identity != "2" {
        rng.pick(&[("2", 0.5), ("3", 0.4), ("4", 0.1)])
    } else {
        rng.pick(&[("1", 0.84), ("U", 0.07), ("Z", 0.05), ("9", 0.04)])
    };
    let ethnicity = if p.migrant {
        rng.pick(&ETHNICITY).to_string()
    } else {
        rng.pick(&[
            ("W1", 0.75),
            ("W5", 0.05),
            ("A1", 0.04),
            ("A2", 0.04),
            ("B1", 0.03),
            ("B2", 0.02),
            ("M1", 0.02),
            ("U", 0.03),
            ("Z", 0.02),
        ])
        .to_string()
    };

    let older_migrant = p.migrant && p.age >= 60;
    let mh_base = if p.migrant { 0.26 } else { 0.18 };
    let mh = rng.chance(if p.lgbt && p.migrant {
        0.52
    } else if p.trafficked {
        0.45
    } else {
        mh_base
    });
    let ptsd = rng.chance(if p.trafficked {
        0.45
    } else if p.migrant {
        0.20
    } else {
        0.03
    });
    let physical = rng.chance(if p.age >= 65 { 0.35 } else { 0.08 });
    let learning = rng.chance(0.04);
    let long_term = rng.chance(if p.age >= 60 { 0.40 } else { 0.10 });
    let pregnancy =
        p.female && (16..=45).contains(&p.age) && rng.chance(if p.migrant { 0.12 } else { 0.04 });
    let violence = rng.chance(if p.trafficked {
        0.5
    } else if p.female && p.migrant {
        0.2
    } else {
        0.05
    });
    let destitution = rng.chance(match p.status {
        "nrpf" => 0.7,
        "refused_asylum_seeker" => 0.5,
        "asylum_seeker" => 0.15,
        _ => 0.03,
    });

    let interpreter_needed = rng.chance(if p.uasc {
        0.8
    } else if p.migrant {
        0.55
    } else {
        0.02
    });
    let provided_p = if p.trafficked { 0.55 } else { 0.88 };
    let interpreter_provided = interpreter_needed && rng.chance(provided_p);
    let language = if interpreter_needed {
        rng.pick(&LANGUAGES).to_string()
    } else {
        "English".to_string()
    };
    let advocacy = rng.chance(if p.migrant { 0.4 } else { 0.15 });

    let assessed = rng.chance(0.93);
    let slow = p.female && p.migrant && SLOW_FOR_WOMEN.contains(&slot);
    let median_days: f64 = if slow { 34.0 } else { 18.0 };
    let delay = (median_days.ln() + 0.55 * rng.normal())
        .exp()
        .round()
        .clamp(0.0, 365.0) as i64;
    let assessment = assessed.then(|| referral + Duration::days(delay));
    let decision = assessment.map(|a| a + Duration::days(rng.range(0, 14)));
    let outcome = if assessed {
        let service = if older_migrant {
            0.35
        } else if p.status == "nrpf" {
            0.45
        } else {
            0.55
        };
        let ineligible = if p.status == "nrpf" { 0.20 } else { 0.05 };
        let rest = 1.0 - service - ineligible;
        rng.pick(&[
            ("service_provided", service),
            ("signposted", rest * 0.6),
            ("no_further_action", rest * 0.4),
            ("ineligible", ineligible),
        ])
        .to_string()
    } else {
        String::new()
    };
    let service_type = if p.uasc && p.age < 18 {
        "childrens_social_care"
    } else if p.uasc {
        "leaving_care"
    } else if p.age < 18 {
        "childrens_social_care"
    } else {
        "adult_social_care"
    };
    let placement = if p.uasc && p.age < 18 {
        rng.pick(&[
            ("foster_care", 0.55),
            ("supported_accommodation", 0.30),
            ("residential", 0.10),
            ("other", 0.05),
        ])
        .to_string()
    } else {
        String::new()
    };
    let pathway = if p.uasc {
        yn(rng.chance(if LOW_PATHWAY.contains(&slot) {
            0.45
        } else {
            0.85
        }))
    } else {
        String::new()
    };

    let mut rec: Record = [
        format!("P{:012X}", Rng::for_row(ctx.seed, 2, row).next_u64() >> 16),
        area.code.clone(),
        date_text(referral, uk_dates),
        assessment
            .map(|d| date_text(d, uk_dates))
            .unwrap_or_default(),
        decision.map(|d| date_text(d, uk_dates)).unwrap_or_default(),
        p.age.to_string(),
        sex.to_string(),
        gender_identity.to_string(),
        sexual_orientation.to_string(),
        ethnicity,
        p.status.to_string(),
        yn(p.uasc),
        yn(p.trafficked),
        yn(mh),
        yn(ptsd),
        yn(physical),
        yn(learning),
        yn(long_term),
        yn(pregnancy),
        yn(violence),
        yn(destitution),
        yn(interpreter_needed),
        if interpreter_needed {
            yn(interpreter_provided)
        } else {
            String::new()
        },
        language,
        yn(advocacy),
        outcome,
        service_type.to_string(),
        rng.pick(&SOURCES).to_string(),
        placement,
        pathway,
    ];
    inject_fault(&mut rng, &mut rec, referral, uk_dates);
    rec
}

/// About 1 row in 2,000 gets one deliberate fault for validation to catch.
fn inject_fault(rng: &mut Rng, rec: &mut Record, referral: NaiveDate, uk: bool) {
    if !rng.chance(0.0005) {
        return;
    }
    match rng.range(0, 3) {
        0 => rec[2] = format!("31/02/{}", referral.year()),
        1 => rec[8] = "7".to_string(),
        2 => rec[3] = date_text(referral - Duration::days(5), uk),
        _ => rec[5] = "130".to_string(),
    }
}
