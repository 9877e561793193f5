//! The report's chart: the share of SLA targets met per week of the month, as a PNG
//! drawn in process with plotters. Its labels are drawn with an embedded font cut from
//! IPA Gothic (`assets/fonts/`), so the Japanese ones render without any font on the
//! machine.

use std::sync::OnceLock;

use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, register_font};

use crate::domain::i18n::Lang;
use crate::domain::report::WeekPoint;

/// Every character drawn here must be in this font (a test checks it); see
/// `assets/fonts/make-chart-font.py`.
pub static FONT: &[u8] = include_bytes!("../../assets/fonts/chart-gothic.ttf");
const FAMILY: &str = "readiness-chart";

pub const WIDTH: u32 = 800;
pub const HEIGHT: u32 = 400;

/// The texts the chart draws besides digits and dates.
pub const TITLE: (&str, &str) = ("SLA targets met per week", "週ごとのSLA目標達成率");
pub const X_DESC: (&str, &str) = ("week of", "週の初日");
pub const NONE: (&str, &str) = ("none", "計測なし");

#[derive(Debug, thiserror::Error)]
#[error("cannot draw the chart: {0}")]
pub struct ChartError(String);

fn pick(lang: Lang, (en, ja): (&'static str, &'static str)) -> &'static str {
    lang.pick(en, ja)
}

/// Registers the embedded font once per process.
fn font() -> Result<(), ChartError> {
    static REGISTERED: OnceLock<Result<(), String>> = OnceLock::new();
    REGISTERED
        .get_or_init(|| {
            register_font(FAMILY, FontStyle::Normal, FONT)
                .map_err(|_| "the embedded font does not load".to_string())
        })
        .clone()
        .map_err(ChartError)
}

/// A bar per week: the share of targets met among those measured that week, labelled
/// `met/measured`; a week with nothing measured has no bar.
pub fn weekly_attainment_png(
    weeks: &[WeekPoint],
    month_label: &str,
    lang: Lang,
) -> Result<Vec<u8>, ChartError> {
    font()?;
    let fail = |e: &dyn std::fmt::Debug| ChartError(format!("{e:?}"));
    let mut pixels = vec![0_u8; (WIDTH * HEIGHT * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut pixels, (WIDTH, HEIGHT)).into_drawing_area();
        root.fill(&WHITE).map_err(|e| fail(&e))?;
        let title = format!("{} {month_label}", pick(lang, TITLE));
        let mut chart = ChartBuilder::on(&root)
            .caption(title, (FAMILY, 24))
            .margin(16)
            .x_label_area_size(48)
            .y_label_area_size(48)
            .build_cartesian_2d((0..weeks.len().max(1)).into_segmented(), 0_u32..115_u32)
            .map_err(|e| fail(&e))?;
        let label = |x: &SegmentValue<usize>| match x {
            SegmentValue::CenterOf(i) => weeks
                .get(*i)
                .map(|w| w.week_start.format("%m/%d").to_string())
                .unwrap_or_default(),
            _ => String::new(),
        };
        chart
            .configure_mesh()
            .disable_x_mesh()
            .y_desc("%")
            .x_desc(pick(lang, X_DESC))
            .x_label_formatter(&label)
            .y_labels(6)
            .y_label_formatter(&|y| {
                if *y <= 100 {
                    y.to_string()
                } else {
                    String::new()
                }
            })
            .label_style((FAMILY, 14))
            .axis_desc_style((FAMILY, 14))
            .draw()
            .map_err(|e| fail(&e))?;
        let percent = |w: &WeekPoint| w.met * 100 / w.measured.max(1);
        chart
            .draw_series(
                weeks
                    .iter()
                    .enumerate()
                    .filter(|(_, w)| w.measured > 0)
                    .map(|(i, w)| {
                        // Green when every target of the week was met, amber otherwise.
                        let color = if w.met == w.measured {
                            RGBColor(46, 160, 67)
                        } else {
                            RGBColor(219, 130, 40)
                        };
                        let mut bar = Rectangle::new(
                            [
                                (SegmentValue::Exact(i), 0),
                                (SegmentValue::Exact(i + 1), percent(w)),
                            ],
                            color.filled(),
                        );
                        bar.set_margin(0, 0, 12, 12);
                        bar
                    }),
            )
            .map_err(|e| fail(&e))?;
        chart
            .draw_series(weeks.iter().enumerate().map(|(i, w)| {
                let (text, y) = if w.measured > 0 {
                    (format!("{}/{}", w.met, w.measured), percent(w) + 3)
                } else {
                    (pick(lang, NONE).to_string(), 3)
                };
                let style = TextStyle::from((FAMILY, 14).into_font())
                    .pos(Pos::new(HPos::Center, VPos::Bottom));
                Text::new(text, (SegmentValue::CenterOf(i), y), style)
            }))
            .map_err(|e| fail(&e))?;
        root.present().map_err(|e| fail(&e))?;
    }
    let mut png = Vec::new();
    let mut encoder = png::Encoder::new(&mut png, WIDTH, HEIGHT);
    encoder.set_color(png::ColorType::Rgb);
    encoder.set_depth(png::BitDepth::Eight);
    let mut writer = encoder.write_header().map_err(|e| fail(&e))?;
    writer.write_image_data(&pixels).map_err(|e| fail(&e))?;
    writer.finish().map_err(|e| fail(&e))?;
    Ok(png)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ab_glyph::{Font, FontRef};
    use chrono::NaiveDate;

    #[test]
    fn the_embedded_font_has_every_character_the_chart_draws() {
        let font = FontRef::try_from_slice(FONT).unwrap();
        let texts = [TITLE, X_DESC, NONE]
            .iter()
            .flat_map(|(en, ja)| [*en, *ja])
            .chain(["0123456789/%"])
            .collect::<String>();
        for c in texts.chars().filter(|c| *c != ' ') {
            assert_ne!(font.glyph_id(c).0, 0, "no glyph for {c:?}");
        }
    }

    #[test]
    fn the_chart_is_a_png_of_the_declared_size_in_both_languages() {
        let day = |d| NaiveDate::from_ymd_opt(2026, 11, d).unwrap();
        let weeks = [
            WeekPoint {
                week_start: day(2),
                measured: 4,
                met: 3,
            },
            WeekPoint {
                week_start: day(9),
                measured: 0,
                met: 0,
            },
            WeekPoint {
                week_start: day(16),
                measured: 2,
                met: 2,
            },
        ];
        for lang in [Lang::En, Lang::Ja] {
            let png = weekly_attainment_png(&weeks, "2026-11", lang).unwrap();
            let decoder = png::Decoder::new(std::io::Cursor::new(png));
            let reader = decoder.read_info().unwrap();
            assert_eq!((reader.info().width, reader.info().height), (WIDTH, HEIGHT));
        }
        // No week at all still draws (an empty frame).
        assert!(weekly_attainment_png(&[], "2026-11", Lang::En).is_ok());
    }
}
