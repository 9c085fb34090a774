//! Charts drawn with plotters: one drawing function per kind, two backends (SVG inline in the
//! report, PNG beside it). Text uses the DejaVu Sans font bundled in `assets/fonts`, so PNGs
//! render on a bare machine. Meaning is never carried by colour alone: values and verdicts are
//! written as text or drawn as different shapes, and every chart has a data table in the report.

mod bar;
mod funnel;
mod heatmap;
mod pyramid;
mod spine;
mod trend;

pub use bar::{Bar, BarChart};
pub use funnel::{verdict as funnel_verdict, FunnelChart, FunnelPoint};
pub use heatmap::HeatMap;
pub use pyramid::{Pyramid, Shares};
pub use spine::{SpineChart, SpineRow};
pub use trend::{Series, TrendChart};

use crate::error::{Error, Result};
use plotters::prelude::*;
use plotters::style::FontStyle;
use std::path::Path;
use std::sync::Once;

static FONT: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");
static FONT_BOLD: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans-Bold.ttf");
static REGISTER: Once = Once::new();

fn register_fonts() {
    REGISTER.call_once(|| {
        // The bundled fonts are valid; a failure here would be a packaging bug caught by tests.
        let _ = plotters::style::register_font("sans-serif", FontStyle::Normal, FONT);
        let _ = plotters::style::register_font("sans-serif", FontStyle::Bold, FONT_BOLD);
    });
}

/// GOV.UK blue (5.2:1 on white) for groups; dark grey (7.0:1) for the reference group.
const BAR: RGBColor = RGBColor(0x1d, 0x70, 0xb8);
const REFERENCE: RGBColor = RGBColor(0x50, 0x5a, 0x5f);
const INK: RGBColor = RGBColor(0x0b, 0x0c, 0x0c);
const GRID: RGBColor = RGBColor(0xb1, 0xb4, 0xb6);
/// Okabe–Ito vermillion, darkened to 4.6:1 on white: points below a funnel's limits.
const LOW: RGBColor = RGBColor(0xb3, 0x4a, 0x00);
/// The 95% interval band of a trend: GOV.UK light blue.
const BAND: RGBColor = RGBColor(0xd2, 0xe2, 0xf1);

const WIDTH: u32 = 820;

/// A chart of any kind.
#[derive(Debug, Clone)]
pub enum Chart {
    Bar(BarChart),
    Trend(TrendChart),
    Funnel(FunnelChart),
    Spine(SpineChart),
    HeatMap(HeatMap),
    Pyramid(Pyramid),
}

impl Chart {
    fn height(&self) -> u32 {
        match self {
            Chart::Bar(c) => bar::height(c),
            Chart::Trend(_) => trend::HEIGHT,
            Chart::Funnel(_) => funnel::HEIGHT,
            Chart::Spine(c) => spine::height(c),
            Chart::HeatMap(c) => heatmap::height(c),
            Chart::Pyramid(c) => pyramid::height(c),
        }
    }

    fn draw<DB: DrawingBackend>(
        &self,
        root: DrawingArea<DB, plotters::coord::Shift>,
    ) -> Result<()> {
        match self {
            Chart::Bar(c) => bar::draw(root, c),
            Chart::Trend(c) => trend::draw(root, c),
            Chart::Funnel(c) => funnel::draw(root, c),
            Chart::Spine(c) => spine::draw(root, c),
            Chart::HeatMap(c) => heatmap::draw(root, c),
            Chart::Pyramid(c) => pyramid::draw(root, c),
        }
    }
}

/// Turns a plotters error into ours.
fn drawing<E: std::error::Error + Send + Sync>(err: DrawingAreaErrorKind<E>) -> Error {
    Error::Internal(format!("chart drawing failed: {err}"))
}

fn title_font() -> TextStyle<'static> {
    ("sans-serif", 18)
        .into_font()
        .style(FontStyle::Bold)
        .color(&INK)
}

fn text_font() -> TextStyle<'static> {
    ("sans-serif", 14).into_font().color(&INK)
}

fn small_font() -> TextStyle<'static> {
    ("sans-serif", 12).into_font().color(&INK)
}

/// A chart title on up to two lines (trend and funnel charts leave room for both).
fn title<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    text: &str,
) -> Result<()> {
    for (k, line) in wrap(text, 72).into_iter().enumerate() {
        root.draw(&Text::new(line, (16, 12 + 24 * k as i32), title_font()))
            .map_err(drawing::<DB::ErrorType>)?;
    }
    Ok(())
}

/// Horizontal grid lines at each quarter of `max` between `left` and `right`, each labelled at
/// the chart's left edge; `y` maps a value to its pixel row.
fn y_grid<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    max: f64,
    (left, right): (i32, i32),
    y: impl Fn(f64) -> i32,
) -> Result<()> {
    let e = drawing::<DB::ErrorType>;
    for k in 0..=4 {
        let v = max * k as f64 / 4.0;
        root.draw(&PathElement::new(
            vec![(left, y(v)), (right, y(v))],
            GRID.stroke_width(1),
        ))
        .map_err(e)?;
        root.draw(&Text::new(tick(v), (16, y(v) - 7), small_font()))
            .map_err(e)?;
    }
    Ok(())
}

/// A point marker at `(px, py)`: a triangle pointing up (`direction` 1) or down (-1) with
/// half-width `size`, else a circle of radius `size`, drawn in `style` (filled or outlined).
fn point_marker<DB: DrawingBackend>(
    root: &DrawingArea<DB, plotters::coord::Shift>,
    (px, py): (i32, i32),
    direction: i32,
    size: i32,
    style: ShapeStyle,
) -> Result<()> {
    match direction {
        1 | -1 => root.draw(&Polygon::new(
            vec![
                (px, py - direction * size),
                (px - size, py + direction * size),
                (px + size, py + direction * size),
            ],
            style,
        )),
        _ => root.draw(&Circle::new((px, py), size, style)),
    }
    .map_err(drawing::<DB::ErrorType>)
}

/// The smallest of 1, 2, 2.5, 5 and 10 times a power of ten that is at least `max`.
fn nice_max(max: f64) -> f64 {
    if max <= 0.0 || !max.is_finite() {
        return 1.0;
    }
    let mag = 10f64.powf(max.log10().floor());
    [1.0, 2.0, 2.5, 5.0, 10.0]
        .iter()
        .map(|m| m * mag)
        .find(|v| *v >= max)
        .unwrap_or(10.0 * mag)
}

fn fmt(v: f64) -> String {
    format!("{v:.1}")
}

/// An axis label: whole numbers with thousands separators (`1,500,000`), else one decimal.
fn tick(v: f64) -> String {
    if v.fract() != 0.0 {
        return fmt(v);
    }
    crate::ingest::published::grouped(v)
}

/// Splits a label into lines of at most `width` characters at spaces; a second line that would
/// still overflow ends with an ellipsis.
fn wrap(s: &str, width: usize) -> Vec<String> {
    wrap_lines(s, width, 2)
}

/// Words in lines of at most `width` characters, at most `max` lines (the last cut with `…`).
fn wrap_lines(s: &str, width: usize, max: usize) -> Vec<String> {
    let max = max.max(1);
    let mut lines: Vec<String> = vec![String::new()];
    for word in s.split_whitespace() {
        let last = lines.last_mut().expect("one line");
        if last.is_empty() {
            last.push_str(word);
        } else if last.chars().count() + 1 + word.chars().count() <= width {
            last.push(' ');
            last.push_str(word);
        } else {
            lines.push(word.to_string());
        }
    }
    if lines.len() > max {
        let rest = lines[max - 1..].join(" ");
        lines.truncate(max - 1);
        lines.push(format!(
            "{}…",
            rest.chars().take(width - 1).collect::<String>()
        ));
    }
    lines
}

/// The chart as an SVG document.
pub fn svg(chart: &Chart) -> Result<String> {
    register_fonts();
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, (WIDTH, chart.height())).into_drawing_area();
        chart.draw(root)?;
    }
    Ok(out)
}

/// Writes the chart as a PNG file.
pub fn png(chart: &Chart, path: &Path) -> Result<()> {
    register_fonts();
    let root = BitMapBackend::new(path, (WIDTH, chart.height())).into_drawing_area();
    chart.draw(root)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn long_labels_wrap_whole_up_to_the_line_limit() {
        let label = "Women and girls seeking asylum or with refugee status";
        let lines = wrap_lines(label, 12, 6);
        assert_eq!(lines.join(" "), label, "{lines:?}");
        assert!(lines.iter().all(|l| l.chars().count() <= 12), "{lines:?}");
        let cut = wrap_lines(label, 12, 2);
        assert_eq!(cut.len(), 2);
        assert!(cut[1].ends_with('…'));
        assert_eq!(wrap("short", 20), vec!["short".to_string()]);
    }

    #[test]
    fn ticks_group_thousands_and_keep_one_decimal() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(250.0), "250");
        assert_eq!(tick(1000.0), "1,000");
        assert_eq!(tick(1_500_000.0), "1,500,000");
        assert_eq!(tick(-20000.0), "-20,000");
        assert_eq!(tick(2.5), "2.5");
    }

    #[test]
    fn every_colour_that_carries_data_has_three_to_one_contrast_on_white() {
        let on_white = |c: RGBColor| 1.05 / (heatmap::luminance(c) + 0.05);
        for (name, c) in [
            ("groups", BAR),
            ("reference", REFERENCE),
            ("below the limits", LOW),
            ("text and benchmark lines", INK),
            ("spine middle half", spine::MIDDLE_HALF),
        ] {
            assert!(on_white(c) >= 3.0, "{name}: {:.2}:1", on_white(c));
        }
    }

    #[test]
    fn titles_wrap_and_nice_maxima_round_up() {
        assert_eq!(nice_max(0.0), 1.0);
        assert_eq!(nice_max(79.0), 100.0);
        assert_eq!(nice_max(118.0), 200.0);
        assert_eq!(nice_max(1_150_000.0), 2_000_000.0);
        assert_eq!(wrap("a b c", 3), ["a b", "c"]);
    }
}
