//! The resident population by sex and age band of every report area, for the population
//! pyramids. Counts pass the same primary disclosure rule as indicator counts (rounded, small
//! ones suppressed); they are published ONS estimates, so no complementary suppression is made.

use crate::disclosure::{protect, Cell};
use crate::error::Result;
use crate::indicators::{Level, OutArea};
use crate::pipeline::plan::DisclosureRule;
use polars::prelude::*;
use std::collections::HashMap;

/// Per area of the report (areas, regions, total in the table's order): per age band, the
/// (male, female) counts after disclosure control, for the latest year in the file.
#[derive(Debug, Clone)]
pub struct Pyramids {
    pub year: i32,
    /// Youngest first.
    pub bands: Vec<String>,
    pub areas: Vec<Vec<(Cell, Cell)>>,
}

/// The age a band starts at: `0-4` → 0, `90+` → 90; bands that name no age sort last.
fn start(band: &str) -> u32 {
    let digits: String = band.chars().take_while(char::is_ascii_digit).collect();
    digits.parse().unwrap_or(u32::MAX)
}

impl Pyramids {
    /// Sums the population file's latest year to the report's areas, regions and total. None
    /// when no row names a sex of male or female.
    pub fn build(
        structure: &DataFrame,
        areas: &[OutArea],
        rule: DisclosureRule,
    ) -> Result<Option<Pyramids>> {
        let text = |name: &str| -> Result<Vec<Option<String>>> {
            Ok(structure
                .column(name)?
                .cast(&DataType::String)?
                .str()?
                .iter()
                .map(|s| s.map(str::to_string))
                .collect())
        };
        let (codes, sexes, bands) = (text("area_code")?, text("sex")?, text("age_band")?);
        let years: Vec<Option<i32>> = structure.column("year")?.i32()?.iter().collect();
        let people: Vec<Option<f64>> = structure.column("population")?.f64()?.iter().collect();
        let Some(year) = years.iter().flatten().copied().max() else {
            return Ok(None);
        };
        let index: HashMap<&str, usize> = areas
            .iter()
            .enumerate()
            .filter(|(_, a)| a.level == Level::Area)
            .map(|(i, a)| (a.code.as_str(), i))
            .collect();
        let mut names: Vec<String> = bands.iter().flatten().cloned().collect();
        names.sort_by(|a, b| start(a).cmp(&start(b)).then(a.cmp(b)));
        names.dedup();
        let band_of: HashMap<&str, usize> = names
            .iter()
            .enumerate()
            .map(|(i, b)| (b.as_str(), i))
            .collect();
        let mut sums = vec![vec![(0.0, 0.0); names.len()]; areas.len()];
        let mut any = false;
        for i in 0..codes.len() {
            let (Some(code), Some(sex), Some(band), Some(y), Some(n)) =
                (&codes[i], &sexes[i], &bands[i], years[i], people[i])
            else {
                continue;
            };
            let Some(&a) = index.get(code.as_str()) else {
                continue;
            };
            let male = match sex.trim().to_ascii_lowercase().chars().next() {
                Some('m') => true,
                Some('f') => false,
                _ => continue,
            };
            if y != year {
                continue;
            }
            any = true;
            let b = band_of[band.as_str()];
            let targets = [Some(a), areas[a].region, Some(0)];
            for t in targets.into_iter().flatten() {
                let cell = &mut sums[t][b];
                if male {
                    cell.0 += n;
                } else {
                    cell.1 += n;
                }
            }
        }
        if !any {
            return Ok(None);
        }
        let areas = sums
            .into_iter()
            .map(|bands| {
                bands
                    .into_iter()
                    .map(|(m, f)| (protect(m, rule), protect(f, rule)))
                    .collect()
            })
            .collect();
        Ok(Some(Pyramids {
            year,
            bands: names,
            areas,
        }))
    }

    /// Each band's share (%) of the area's published residents, per sex; None where suppressed.
    pub fn shares(&self, area: usize) -> Vec<super::charts::Shares> {
        let cells = &self.areas[area];
        let total: f64 = cells
            .iter()
            .flat_map(|(m, f)| [m.value(), f.value()])
            .flatten()
            .sum();
        let share = |c: Cell| c.value().filter(|_| total > 0.0).map(|v| 100.0 * v / total);
        cells.iter().map(|&(m, f)| (share(m), share(f))).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn age_bands_sort_by_the_age_they_start_at() {
        let mut b = vec!["90+", "5-9", "0-4", "15-17", "10-14", "Not known"];
        b.sort_by(|a, c| start(a).cmp(&start(c)).then(a.cmp(c)));
        assert_eq!(b, ["0-4", "5-9", "10-14", "15-17", "90+", "Not known"]);
    }
}
