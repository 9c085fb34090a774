//! Spine chart: one row per indicator, the area's value placed on the range of every area's
//! values, centred on the benchmark, higher values to the right. The lighter bar spans the lowest to the highest area, the
//! darker bar the 25th to the 75th percentile. The area's marker has a shape per verdict
//! (triangle up better or higher, down worse or lower, circle similar, ring not compared), and
//! the verdict is also written at the end of the row.

use super::{small_font, text_font, title, wrap, BAR, GRID, INK, LOW};
use crate::error::Result;
use crate::stats::Comparison;
use plotters::prelude::*;

/// One indicator's row.
#[derive(Debug, Clone)]
pub struct SpineRow {
    pub label: String,
    /// The area's value (None: suppressed or not available, `marker` says which).
    pub value: Option<f64>,
    pub marker: String,
    pub benchmark: f64,
    /// Lowest, 25th percentile, 75th percentile, highest of the areas' values.
    pub range: (f64, f64, f64, f64),
    /// The area against the benchmark.
    pub compared: Comparison,
    /// The value as the row's text shows it (with its unit, or the marker).
    pub text_value: String,
}

#[derive(Debug, Clone)]
pub struct SpineChart {
    pub title: String,
    /// The benchmark's name, over the centre line.
    pub benchmark: String,
    pub rows: Vec<SpineRow>,
}

/// The 25th to 75th percentile band: 3.4:1 on white, so the band itself is legible.
pub(super) const MIDDLE_HALF: RGBColor = RGBColor(0x87, 0x8d, 0x90);

const TOP: i32 = 92;
const ROW: i32 = 44;
const LEFT: i32 = 270;
const RIGHT: i32 = 560;

pub(super) fn height(chart: &SpineChart) -> u32 {
    (TOP + ROW * chart.rows.len() as i32 + 60) as u32
}

/// Where a row's value lies: the benchmark in the middle, the furthest area at an edge.
fn position(row: &SpineRow, v: f64) -> i32 {
    let (lo, _, _, hi) = row.range;
    let half = (row.benchmark - lo).abs().max((hi - row.benchmark).abs());
    let mid = (LEFT + RIGHT) as f64 / 2.0;
    if half <= 0.0 || !half.is_finite() {
        return mid as i32;
    }
    let t = ((v - row.benchmark) / half).clamp(-1.0, 1.0);
    (mid + t * (RIGHT - LEFT) as f64 / 2.0).round() as i32
}

/// The marker for a verdict: (direction up 1, down -1, circle 0, ring 2; colour).
fn shape(c: Comparison) -> (i32, RGBColor) {
    match c {
        Comparison::Better | Comparison::Best | Comparison::Higher => (1, BAR),
        Comparison::Worse | Comparison::Worst | Comparison::Lower => (-1, LOW),
        Comparison::Similar => (0, INK),
        Comparison::NotCompared => (2, INK),
    }
}

fn marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    (px, py): (i32, i32),
    c: Comparison,
) -> Result<()> {
    match shape(c) {
        (2, colour) => super::point_marker(root, (px, py), 0, 6, colour.stroke_width(2)),
        (0, colour) => super::point_marker(root, (px, py), 0, 6, colour.filled()),
        (direction, colour) => super::point_marker(root, (px, py), direction, 8, colour.filled()),
    }
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &SpineChart,
) -> Result<()> {
    let e = super::drawing::<DB::ErrorType>;
    root.fill(&WHITE).map_err(e)?;
    let (text, small) = (text_font(), small_font());
    title(&root, &chart.title)?;
    let mid = (LEFT + RIGHT) / 2;
    root.draw(&Text::new("Lowest area", (LEFT, TOP - 22), small.clone()))
        .map_err(e)?;
    let centred = mid - 3 * chart.benchmark.chars().count().min(30) as i32;
    root.draw(&Text::new(
        chart.benchmark.clone(),
        (centred, TOP - 22),
        small.clone(),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        "Highest area",
        (RIGHT - 72, TOP - 22),
        small.clone(),
    ))
    .map_err(e)?;
    root.draw(&Text::new("Value", (RIGHT + 14, TOP - 22), small.clone()))
        .map_err(e)?;
    root.draw(&Text::new(
        "Compared",
        (RIGHT + 110, TOP - 22),
        small.clone(),
    ))
    .map_err(e)?;
    let bottom = TOP + ROW * chart.rows.len() as i32;
    for (i, row) in chart.rows.iter().enumerate() {
        let y = TOP + ROW * i as i32;
        let centre = y + ROW / 2;
        let lines = wrap(&row.label, 40);
        let first = if lines.len() > 1 { y + 4 } else { y + 14 };
        for (k, line) in lines.into_iter().enumerate() {
            root.draw(&Text::new(line, (16, first + 18 * k as i32), small.clone()))
                .map_err(e)?;
        }
        let (lo, p25, p75, hi) = row.range;
        root.draw(&Rectangle::new(
            [
                (position(row, lo), centre - 9),
                (position(row, hi), centre + 9),
            ],
            GRID.mix(0.6).filled(),
        ))
        .map_err(e)?;
        root.draw(&Rectangle::new(
            [
                (position(row, p25), centre - 9),
                (position(row, p75), centre + 9),
            ],
            MIDDLE_HALF.filled(),
        ))
        .map_err(e)?;
        match row.value {
            Some(v) => marker(&root, (position(row, v), centre), row.compared)?,
            None => root
                .draw(&Text::new(
                    row.marker.clone(),
                    (mid + 8, centre - 7),
                    small.clone(),
                ))
                .map_err(e)?,
        }
        root.draw(&Text::new(
            row.text_value.clone(),
            (RIGHT + 14, centre - 8),
            small.clone(),
        ))
        .map_err(e)?;
        root.draw(&Text::new(
            row.compared.label(),
            (RIGHT + 110, centre - 8),
            small.clone(),
        ))
        .map_err(e)?;
    }
    root.draw(&PathElement::new(
        vec![(mid, TOP - 4), (mid, bottom)],
        INK.stroke_width(2),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        "Bars: lowest to highest area (light), 25th to 75th percentile (dark).",
        (16, bottom + 12),
        text.clone(),
    ))
    .map_err(e)?;
    root.draw(&Text::new(
        "Markers: ▲ better or higher, ▼ worse or lower, ● similar, ○ not compared (black).",
        (16, bottom + 34),
        text,
    ))
    .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(benchmark: f64, range: (f64, f64, f64, f64)) -> SpineRow {
        SpineRow {
            label: String::new(),
            value: None,
            marker: String::new(),
            benchmark,
            range,
            compared: Comparison::NotCompared,
            text_value: String::new(),
        }
    }

    #[test]
    fn the_benchmark_is_centred_and_the_furthest_area_reaches_an_edge() {
        let r = row(50.0, (10.0, 40.0, 60.0, 70.0));
        let mid = (LEFT + RIGHT) / 2;
        assert_eq!(position(&r, 50.0), mid);
        assert_eq!(position(&r, 10.0), LEFT);
        assert_eq!(position(&r, 90.0), RIGHT);
        assert!((position(&r, 70.0) - (mid + (RIGHT - LEFT) / 4)).abs() <= 1);
        // All areas equal: everything at the centre.
        assert_eq!(position(&row(5.0, (5.0, 5.0, 5.0, 5.0)), 5.0), mid);
    }
}
