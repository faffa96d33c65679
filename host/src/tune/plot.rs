//! `tune --plot FILE.svg|FILE.png`: the probes as rate–quality curves, one per encoder, with
//! the target as a line and each chosen point ringed.
//!
//! Text is drawn with a font built into qscore (DejaVu Sans), so that a PNG has its labels on
//! a machine without fonts, and an SVG's labels are placed by the same measurements.

use std::{path::Path, sync::OnceLock};

use plotters::{coord::Shift, prelude::*};

use super::TuneOutcome;

/// The colours of the curves, in encoder order.
const COLOURS: [RGBColor; 5] = [BLUE, RED, GREEN, MAGENTA, CYAN];

/// The picture's size in pixels.
const SIZE: (u32, u32) = (800, 500);

/// What a plot is drawn as, from its file's extension.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Svg,
    Png,
}

fn kind(path: &Path) -> Result<Kind, String> {
    let extension = path.extension().and_then(|e| e.to_str()).unwrap_or("");
    if extension.eq_ignore_ascii_case("svg") {
        Ok(Kind::Svg)
    } else if extension.eq_ignore_ascii_case("png") {
        Ok(Kind::Png)
    } else {
        Err(format!(
            "--plot {}: draws .svg or .png files",
            path.display()
        ))
    }
}

/// Checks that `path` names an SVG or PNG file, before any work.
pub fn check_path(path: &Path) -> Result<(), String> {
    kind(path).map(drop)
}

/// Makes the built-in font the one plotters draws "sans-serif" with.
fn register_font() -> Result<(), String> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular())
                .map_err(|_| "the built-in font does not load".to_owned())
        })
        .clone()
}

/// The x value of an encode: its bitrate in kb/s when the duration is known, else its bytes.
fn rate(outcome: &TuneOutcome, bytes: u64) -> f64 {
    outcome.kbps(bytes).unwrap_or(bytes as f64)
}

/// Draws `outcomes` to `path` (SVG or PNG, by its extension), written atomically: bitrate
/// against score, the target at `target`.
pub fn plot(path: &Path, outcomes: &[TuneOutcome], target: (&str, f64)) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| format!("--plot {}: {e}", path.display());
    register_font().map_err(|e| fail(&e))?;
    let bytes = match kind(path)? {
        Kind::Svg => {
            let mut svg = String::new();
            let area = SVGBackend::with_string(&mut svg, SIZE).into_drawing_area();
            draw(area, outcomes, target).map_err(|e| fail(&e))?;
            svg.into_bytes()
        }
        Kind::Png => {
            let mut rgb = vec![0u8; SIZE.0 as usize * SIZE.1 as usize * 3];
            let area = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
            draw(area, outcomes, target).map_err(|e| fail(&e))?;
            let mut png = Vec::new();
            image::ImageEncoder::write_image(
                image::codecs::png::PngEncoder::new(&mut png),
                &rgb,
                SIZE.0,
                SIZE.1,
                image::ExtendedColorType::Rgb8,
            )
            .map_err(|e| fail(&e))?;
            png
        }
    };
    crate::atomic::AtomicFile::write(path, &bytes).map_err(|e| fail(&e))
}

/// Draws the curves on `root`.
fn draw<DB: DrawingBackend>(
    root: DrawingArea<DB, Shift>,
    outcomes: &[TuneOutcome],
    (metric, target): (&str, f64),
) -> Result<(), String> {
    let fail = |e: &dyn std::fmt::Display| e.to_string();
    let duration = outcomes.first().and_then(|o| o.duration_s);
    let points: Vec<(f64, f64)> = outcomes
        .iter()
        .flat_map(|o| o.probes.iter().map(move |p| (rate(o, p.bytes), p.score)))
        .collect();
    let (x_min, x_max) = bounds(points.iter().map(|p| p.0));
    let (y_min, y_max) = bounds(points.iter().map(|p| p.1).chain([target]));
    root.fill(&WHITE).map_err(|e| fail(&e))?;
    let x_label = if duration.is_some() { "kb/s" } else { "bytes" };
    let mut chart = ChartBuilder::on(&root)
        .margin(20)
        .x_label_area_size(40)
        .y_label_area_size(60)
        .caption(
            format!("{metric} against rate (target {target})"),
            ("sans-serif", 20),
        )
        .build_cartesian_2d(x_min..x_max, y_min..y_max)
        .map_err(|e| fail(&e))?;
    chart
        .configure_mesh()
        .x_desc(x_label)
        .y_desc(metric)
        .draw()
        .map_err(|e| fail(&e))?;
    chart
        .draw_series(LineSeries::new(
            [(x_min, target), (x_max, target)],
            BLACK.mix(0.7).stroke_width(2),
        ))
        .map_err(|e| fail(&e))?
        .label(format!("target {target}"))
        .legend(|(x, y)| PathElement::new([(x, y), (x + 20, y)], BLACK.mix(0.7).stroke_width(2)));
    for (outcome, colour) in outcomes.iter().zip(COLOURS.iter().cycle()) {
        let mut curve: Vec<(f64, f64)> = outcome
            .probes
            .iter()
            .map(|p| (rate(outcome, p.bytes), p.score))
            .collect();
        curve.sort_by(|a, b| a.0.total_cmp(&b.0));
        chart
            .draw_series(LineSeries::new(curve.clone(), colour))
            .map_err(|e| fail(&e))?
            .label(outcome.encoder.clone())
            .legend(move |(x, y)| PathElement::new([(x, y), (x + 20, y)], colour));
        chart
            .draw_series(curve.iter().map(|&p| Circle::new(p, 3, colour.filled())))
            .map_err(|e| fail(&e))?;
        let chosen = (rate(outcome, outcome.chosen.bytes), outcome.chosen.score);
        chart
            .draw_series([Circle::new(chosen, 8, colour.stroke_width(2))])
            .map_err(|e| fail(&e))?;
    }
    chart
        .configure_series_labels()
        .background_style(WHITE.mix(0.8))
        .border_style(BLACK)
        .draw()
        .map_err(|e| fail(&e))?;
    root.present().map_err(|e| fail(&e))
}

/// The range of `values`, widened by a twentieth on each side (and never empty).
fn bounds(values: impl Iterator<Item = f64>) -> (f64, f64) {
    let (low, high) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(l, h), v| {
        (l.min(v), h.max(v))
    });
    let pad = ((high - low) / 20.0).max(1e-6);
    (low - pad, high + pad)
}
