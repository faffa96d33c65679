//! What the pipeline produces per row, and its journal and ledger lines.
//!
//! Journal line: `{"row_key": "…", "carried": {column: text}, "scores": {name: number |
//! "inf" | "-inf" | null}, "backends": "psnr=cpu,…"}`. Ledger line: `{"row_key", "line",
//! "reference", "distorted", "stage", "reason", "backends_tried": […]}`.

use serde_json::{Map, Value, json};

use super::row::{BACKENDS_COLUMN, Cell, KEY_COLUMN, OutRow, format_number, key_text, parse_key};
use crate::Backend;

/// A scored row.
#[derive(Debug, Clone)]
pub(crate) struct DoneRow {
    pub(crate) key: u64,
    /// Its manifest line: the final table is in manifest order.
    pub(crate) line: u64,
    pub(crate) carried: Vec<(String, String)>,
    pub(crate) scores: Vec<(String, f64)>,
    pub(crate) backends: Vec<(String, Backend)>,
}

/// Where a row failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stage {
    /// The manifest row itself (unreadable, no paths, bad geometry, unknown metric).
    Manifest,
    /// Reading or decoding an input, or inputs that do not match.
    Decode,
    /// Every backend failed.
    Score,
    /// Not finished within `--task-timeout`.
    Timeout,
}

impl Stage {
    pub(crate) fn name(self) -> &'static str {
        match self {
            Stage::Manifest => "manifest",
            Stage::Decode => "decode",
            Stage::Score => "score",
            Stage::Timeout => "timeout",
        }
    }
}

/// A failed row.
#[derive(Debug, Clone)]
pub(crate) struct Failure {
    pub(crate) key: u64,
    pub(crate) line: u64,
    pub(crate) reference: String,
    pub(crate) distorted: String,
    pub(crate) stage: Stage,
    pub(crate) reason: String,
    pub(crate) tried: Vec<String>,
}

fn score_json(value: f64) -> Value {
    serde_json::Number::from_f64(value)
        .map_or_else(|| Value::String(format_number(value)), Value::Number)
}

/// `psnr=cpu,ssim=wgpu`.
pub(crate) fn backends_text(backends: &[(String, Backend)]) -> String {
    backends
        .iter()
        .map(|(metric, b)| format!("{metric}={}", b.plugin))
        .collect::<Vec<_>>()
        .join(",")
}

impl DoneRow {
    pub(crate) fn journal_line(&self) -> String {
        let carried: Map<String, Value> = self
            .carried
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        let scores: Map<String, Value> = self
            .scores
            .iter()
            .map(|(k, v)| (k.clone(), score_json(*v)))
            .collect();
        json!({
            KEY_COLUMN: key_text(self.key),
            "line": self.line,
            "carried": carried,
            "scores": scores,
            BACKENDS_COLUMN: backends_text(&self.backends),
        })
        .to_string()
    }
}

/// The key and manifest line of a journal line.
pub(crate) fn journal_position(line: &str) -> Option<(u64, u64)> {
    #[derive(serde::Deserialize)]
    struct Position<'a> {
        row_key: &'a str,
        line: u64,
    }
    let position: Position<'_> = serde_json::from_str(line).ok()?;
    Some((parse_key(position.row_key)?, position.line))
}

/// Reads a journal line back into an output row; `None` for a line that is not one.
pub(crate) fn parse_journal_line(line: &str) -> Option<OutRow> {
    let value: Value = serde_json::from_str(line).ok()?;
    let key = parse_key(value.get(KEY_COLUMN)?.as_str()?)?;
    let mut cells = Vec::new();
    for (name, v) in value.get("carried")?.as_object()? {
        cells.push((name.clone(), Cell::Text(v.as_str()?.to_owned())));
    }
    for (name, v) in value.get("scores")?.as_object()? {
        let cell = match v {
            Value::Number(n) => Cell::Num(n.as_f64()?),
            Value::String(s) => Cell::Num(s.parse().ok()?),
            Value::Null => Cell::Null,
            _ => return None,
        };
        cells.push((name.clone(), cell));
    }
    let backends = value.get(BACKENDS_COLUMN)?.as_str()?.to_owned();
    cells.push((BACKENDS_COLUMN.to_owned(), Cell::Text(backends)));
    cells.push((KEY_COLUMN.to_owned(), Cell::Text(key_text(key))));
    Some(OutRow { key, cells })
}

impl Failure {
    pub(crate) fn ledger_line(&self) -> String {
        json!({
            KEY_COLUMN: key_text(self.key),
            "line": self.line,
            "reference": self.reference,
            "distorted": self.distorted,
            "stage": self.stage.name(),
            "reason": self.reason,
            "backends_tried": self.tried,
        })
        .to_string()
    }
}

/// The key of a ledger line.
pub(crate) fn ledger_key(line: &str) -> Option<u64> {
    let value: Value = serde_json::from_str(line).ok()?;
    parse_key(value.get(KEY_COLUMN)?.as_str()?)
}

#[cfg(test)]
mod tests {
    use super::{DoneRow, parse_journal_line};
    use crate::{Backend, batch::row::Cell};

    #[test]
    fn journal_lines_read_back_with_types_and_infinities() {
        let row = DoneRow {
            key: 0x0123_4567_89ab_cdef,
            line: 7,
            carried: vec![
                ("reference".into(), "a.png".into()),
                ("crf".into(), "23".into()),
            ],
            scores: vec![("psnr".into(), f64::INFINITY), ("ssim".into(), 0.5)],
            backends: vec![(
                "psnr".into(),
                Backend {
                    plugin: "cpu".into(),
                    device: "x".into(),
                },
            )],
        };
        let back = parse_journal_line(&row.journal_line()).unwrap();
        assert_eq!(
            super::journal_position(&row.journal_line()),
            Some((row.key, 7))
        );
        assert_eq!(back.key, row.key);
        assert_eq!(back.cells[1], ("crf".into(), Cell::Text("23".into())));
        assert_eq!(back.cells[2], ("psnr".into(), Cell::Num(f64::INFINITY)));
        assert_eq!(back.cells[3], ("ssim".into(), Cell::Num(0.5)));
        assert_eq!(
            back.cells[4],
            ("backends".into(), Cell::Text("psnr=cpu".into()))
        );
    }
}
