//! Real local authorities of England and Wales (ONS April 2023 LAD lookup and mid-year populations, OGL v3.0),
//! embedded so that the generator works on a bare machine.

use std::collections::BTreeMap;

const LOOKUP: &str = include_str!("../../data/ons/lad_lookup.csv");
const POPULATION: &str = include_str!("../../data/ons/lad_population.csv");

/// The default dozen: a spread of regions, sizes and dispersal histories.
pub const DEFAULT_AREAS: [&str; 12] = [
    "E08000025", // Birmingham
    "E06000023", // Bristol, City of
    "E08000035", // Leeds
    "E08000003", // Manchester
    "E08000021", // Newcastle upon Tyne
    "E09000022", // Lambeth
    "E09000025", // Newham
    "E06000018", // Nottingham
    "E06000010", // Kingston upon Hull, City of
    "E08000012", // Liverpool
    "E06000044", // Portsmouth
    "E06000031", // Peterborough
];

#[derive(Debug, Clone)]
pub struct Area {
    pub code: String,
    pub name: String,
    pub utla_code: String,
    pub utla_name: String,
    pub region_name: String,
    pub region_code: String,
    /// Mid-year population by year.
    pub population: BTreeMap<i32, f64>,
}

impl Area {
    /// Population for a year, using the nearest year available.
    pub fn population_in(&self, year: i32) -> f64 {
        let first = self
            .population
            .iter()
            .next()
            .map(|(_, p)| *p)
            .unwrap_or(0.0);
        self.population
            .range(..=year)
            .next_back()
            .map(|(_, p)| *p)
            .unwrap_or(first)
    }
}

fn all_areas() -> Vec<Area> {
    let mut pops: BTreeMap<String, BTreeMap<i32, f64>> = BTreeMap::new();
    let mut reader = csv::Reader::from_reader(POPULATION.as_bytes());
    for rec in reader.records().flatten() {
        if let (Ok(year), Ok(pop)) = (rec[3].parse::<i32>(), rec[4].parse::<f64>()) {
            pops.entry(rec[0].to_string())
                .or_default()
                .insert(year, pop);
        }
    }
    let mut reader = csv::Reader::from_reader(LOOKUP.as_bytes());
    reader
        .records()
        .flatten()
        .map(|r| Area {
            code: r[0].to_string(),
            name: r[1].to_string(),
            utla_code: r[2].to_string(),
            utla_name: r[3].to_string(),
            region_name: r[4].to_string(),
            region_code: r[5].to_string(),
            population: pops.remove(&r[0]).unwrap_or_default(),
        })
        .collect()
}

/// How many areas (England and Wales) the embedded lookup holds.
pub fn area_count() -> usize {
    all_areas().len()
}

/// The first `n` areas: the default dozen first, then the rest in GSS code order.
pub fn select_areas(n: usize) -> Vec<Area> {
    let mut all = all_areas();
    all.sort_by(|a, b| a.code.cmp(&b.code));
    let mut chosen: Vec<Area> = Vec::with_capacity(n);
    for code in DEFAULT_AREAS {
        if let Some(pos) = all.iter().position(|a| a.code == code) {
            chosen.push(all.remove(pos));
        }
    }
    chosen.extend(all);
    chosen.truncate(n);
    chosen
}
