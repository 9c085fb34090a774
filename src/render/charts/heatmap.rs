//! Heat map: indicators of one domain (rows) by population group (columns). Every cell carries
//! its value as text, so the shading only repeats what is written; suppressed cells are white
//! with their marker.

use super::{small_font, text_font, title, wrap, wrap_lines, GRID, INK};
use crate::error::Result;
use plotters::prelude::*;

#[derive(Debug, Clone)]
pub struct HeatMap {
    pub title: String,
    pub rows: Vec<String>,
    pub columns: Vec<String>,
    /// Per row, per column: the value, or None with the text shown instead (`[c]`, `[x]`).
    pub cells: Vec<Vec<(Option<f64>, String)>>,
    /// The value that gets the darkest shade (100 for percentages).
    pub max: f64,
}

const TOP: i32 = 184;
const ROW: i32 = 40;
const LEFT: i32 = 250;
const RIGHT: i32 = 804;

pub(super) fn height(chart: &HeatMap) -> u32 {
    (TOP + ROW * chart.rows.len() as i32 + 44) as u32
}

/// The shade of a value: white at 0 to GOV.UK dark blue at `max`, and the text colour that
/// keeps at least 4.5:1 contrast on it.
pub fn shade(v: f64, max: f64) -> (RGBColor, RGBColor) {
    let t = if max > 0.0 {
        (v / max).clamp(0.0, 1.0)
    } else {
        0.0
    };
    let mix = |from: u8, to: u8| (from as f64 + (to as f64 - from as f64) * t).round() as u8;
    let fill = RGBColor(mix(0xff, 0x0b), mix(0xff, 0x41), mix(0xff, 0x7a));
    // Whichever of white and black contrasts more; one always reaches 4.58:1.
    let l = luminance(fill);
    let text = if 1.05 / (l + 0.05) >= (l + 0.05) / 0.05 {
        WHITE
    } else {
        BLACK
    };
    (fill, text)
}

/// WCAG relative luminance of an sRGB colour.
pub(super) fn luminance(c: RGBColor) -> f64 {
    let f = |u: u8| {
        let s = u as f64 / 255.0;
        if s <= 0.03928 {
            s / 12.92
        } else {
            ((s + 0.055) / 1.055).powf(2.4)
        }
    };
    0.2126 * f(c.0) + 0.7152 * f(c.1) + 0.0722 * f(c.2)
}

pub(super) fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, plotters::coord::Shift>,
    chart: &HeatMap,
) -> Result<()> {
    let e = super::drawing::<DB::ErrorType>;
    root.fill(&WHITE).map_err(e)?;
    let small = small_font();
    title(&root, &chart.title)?;
    let n = chart.columns.len().max(1) as i32;
    let width = (RIGHT - LEFT) / n;
    for (c, label) in chart.columns.iter().enumerate() {
        let x = LEFT + width * c as i32;
        // Up to six lines, bottom-aligned on the grid, so a group's name is read whole.
        let lines = wrap_lines(label, ((width as f64 / 6.2) as usize).max(6), 6);
        let first = TOP - 14 - 16 * lines.len() as i32;
        for (k, line) in lines.into_iter().enumerate() {
            root.draw(&Text::new(
                line,
                (x + 4, first + 16 * k as i32),
                small.clone(),
            ))
            .map_err(e)?;
        }
    }
    for (r, label) in chart.rows.iter().enumerate() {
        let y = TOP + ROW * r as i32;
        let lines = wrap(label, 34);
        let first = if lines.len() > 1 { y + 4 } else { y + 12 };
        for (k, line) in lines.into_iter().enumerate() {
            root.draw(&Text::new(line, (16, first + 16 * k as i32), small.clone()))
                .map_err(e)?;
        }
        for (c, (value, text)) in chart.cells[r].iter().enumerate() {
            let x = LEFT + width * c as i32;
            let corners = [(x + 1, y + 1), (x + width - 1, y + ROW - 1)];
            let (fill, ink) = match value {
                Some(v) => shade(*v, chart.max),
                None => (WHITE, INK),
            };
            root.draw(&Rectangle::new(corners, fill.filled()))
                .map_err(e)?;
            root.draw(&Rectangle::new(corners, GRID.stroke_width(1)))
                .map_err(e)?;
            let style = ("sans-serif", 13).into_font().color(&ink);
            root.draw(&Text::new(text.clone(), (x + 8, y + 12), style))
                .map_err(e)?;
        }
    }
    let bottom = TOP + ROW * chart.rows.len() as i32;
    root.draw(&Text::new(
        "Darker cells hold higher values; every cell is labelled. [c] too small to publish, [z] not computed for the group.",
        (16, bottom + 14),
        text_font(),
    ))
    .map_err(e)?;
    root.present().map_err(e)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cell_text_keeps_four_and_a_half_to_one_contrast_at_every_shade() {
        // Known values first: white 1, black 0, and #767676 is the well-known 4.54:1 grey on white.
        assert_eq!(luminance(WHITE), 1.0);
        assert_eq!(luminance(BLACK), 0.0);
        let grey = 1.05 / (luminance(RGBColor(0x76, 0x76, 0x76)) + 0.05);
        assert!((grey - 4.54).abs() < 0.01, "{grey}");
        for k in 0..=1000 {
            let (fill, text) = shade(k as f64, 1000.0);
            let (a, b) = (luminance(fill), luminance(text));
            let ratio = (a.max(b) + 0.05) / (a.min(b) + 0.05);
            assert!(ratio >= 4.5, "value {k}: contrast {ratio:.2}");
        }
    }
}
