//! Population pyramid: the share of residents per year of age in each age band (so that a band
//! of 3 years, 15-17, does not look like a dip beside one of 5), males to the left and females
//! to the right, youngest at the bottom, with the benchmark's shares as black ticks.

use super::{nice_max, small_font, text_font, tick, title, BAR, INK, REFERENCE};
use crate::error::Result;
use plotters::prelude::*;

/// One age band's (male, female) share of residents in %, None where suppressed.
pub type Shares = (Option<f64>, Option<f64>);

#[derive(Debug, Clone)]
pub struct Pyramid {
    pub title: String,
    /// Youngest first.
    pub bands: Vec<String>,
    /// Per band: (male %, female %) per year of age, None where the count is suppressed.
    pub shares: Vec<Shares>,
    /// The benchmark's shares, drawn as ticks (area pages).
    pub benchmark: Option<(String, Vec<Shares>)>,
}

const TOP: i32 = 96;
const ROW: i32 = 18;
const MIDDLE_LEFT: i32 = 370;
const MIDDLE_RIGHT: i32 = 450;
const HALF: i32 = 330;

pub(super) fn height(chart: &Pyramid) -> u32 {
    (TOP + ROW * chart.bands.len() as i32 + 76) as u32
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &Pyramid,
) -> Result<()> {
    let e = super::drawing::<DB::ErrorType>;
    root.fill(&WHITE).map_err(e)?;
    let small = small_font();
    title(&root, &chart.title)?;
    let all = chart
        .shares
        .iter()
        .chain(chart.benchmark.iter().flat_map(|b| b.1.iter()));
    let max = nice_max(
        all.flat_map(|(m, f)| [*m, *f])
            .flatten()
            .fold(0.0, f64::max),
    );
    let width = |v: f64| ((v / max).clamp(0.0, 1.0) * HALF as f64).round() as i32;
    root.draw(&Text::new(
        "Males",
        (MIDDLE_LEFT - 60, TOP - 24),
        text_font(),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        "Females",
        (MIDDLE_RIGHT + 8, TOP - 24),
        text_font(),
    ))
    .map_err(e)?;
    let n = chart.bands.len() as i32;
    for (i, band) in chart.bands.iter().enumerate() {
        // Youngest at the bottom.
        let y = TOP + ROW * (n - 1 - i as i32);
        root.draw(&Text::new(
            band.clone(),
            (MIDDLE_LEFT + 12, y + 3),
            small.clone(),
        ))
        .map_err(e)?;
        let (male, female) = chart.shares[i];
        for (share, left) in [(male, true), (female, false)] {
            match share {
                Some(v) => {
                    let w = width(v);
                    let (x0, x1) = if left {
                        (MIDDLE_LEFT - w, MIDDLE_LEFT)
                    } else {
                        (MIDDLE_RIGHT, MIDDLE_RIGHT + w)
                    };
                    let colour = if left { REFERENCE } else { BAR };
                    root.draw(&Rectangle::new(
                        [(x0, y + 2), (x1, y + ROW - 2)],
                        colour.filled(),
                    ))
                    .map_err(e)?;
                }
                None => {
                    let x = if left {
                        MIDDLE_LEFT - 28
                    } else {
                        MIDDLE_RIGHT + 4
                    };
                    root.draw(&Text::new("[c]", (x, y + 3), small.clone()))
                        .map_err(e)?;
                }
            }
        }
        if let Some((_, shares)) = &chart.benchmark {
            let (male, female) = shares[i];
            let ticks = [
                male.map(|v| MIDDLE_LEFT - width(v)),
                female.map(|v| MIDDLE_RIGHT + width(v)),
            ];
            for x in ticks.into_iter().flatten() {
                root.draw(&PathElement::new(
                    vec![(x, y), (x, y + ROW)],
                    INK.stroke_width(3),
                ))
                .map_err(e)?;
            }
        }
    }
    let bottom = TOP + ROW * n;
    for k in 0..=2 {
        let v = max * k as f64 / 2.0;
        let label = format!("{}%", tick(v));
        root.draw(&Text::new(
            label.clone(),
            (MIDDLE_LEFT - width(v) - 8, bottom + 6),
            small.clone(),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            label,
            (MIDDLE_RIGHT + width(v) - 8, bottom + 6),
            small.clone(),
        ))
        .map_err(e)?;
    }
    let note = match &chart.benchmark {
        Some((name, _)) => format!(
            "Share of all residents per year of age in each band (bands differ in width). Black ticks: {name}. [c]: too small to publish."
        ),
        None => "Share of all residents per year of age in each band (bands differ in width). [c]: too small to publish.".to_string(),
    };
    root.draw(&Text::new(note, (16, bottom + 30), text_font()))
        .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}
