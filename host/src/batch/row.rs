//! One output row, as the journal, the output formats and `merge` all see it.

use std::collections::HashMap;

/// Column holding each row's key (hex), which resume and `merge` identify rows by.
pub(crate) const KEY_COLUMN: &str = "row_key";
/// Column naming the backend of each metric, `metric=plugin` joined by `,`.
pub(crate) const BACKENDS_COLUMN: &str = "backends";

/// One value.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Cell {
    /// Text: every carried manifest column.
    Text(String),
    /// A score (may be ±inf: PSNR of identical images).
    Num(f64),
    /// No value.
    Null,
}

impl Cell {
    /// The value as CSV text: numbers in shortest round-trip form, `inf`/`-inf`, null empty.
    pub(crate) fn to_text(&self) -> String {
        match self {
            Cell::Text(t) => t.clone(),
            Cell::Num(v) => format_number(*v),
            Cell::Null => String::new(),
        }
    }
}

/// `38.5`, `inf`, `-inf`, `nan`.
pub(crate) fn format_number(v: f64) -> String {
    if v.is_nan() {
        "nan".into()
    } else if v.is_infinite() {
        if v > 0.0 { "inf" } else { "-inf" }.into()
    } else {
        format!("{v}")
    }
}

/// What a column holds, for formats with types (Parquet).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ColumnType {
    /// UTF-8 strings.
    Text,
    /// 64-bit floats.
    Num,
}

/// A column of an output table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Column {
    /// Its name.
    pub(crate) name: String,
    /// Its type.
    pub(crate) kind: ColumnType,
}

/// A row: its key and its named cells.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct OutRow {
    /// The row key (see `key.rs`).
    pub(crate) key: u64,
    /// Named cells, in column order.
    pub(crate) cells: Vec<(String, Cell)>,
}

/// Which group a column belongs to, so that new columns land in a sensible place.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub(crate) enum Group {
    Carried,
    Score,
    Meta,
}

/// Builds a table's columns from rows seen one at a time: names in first-seen order
/// within their group (carried, scores, then `backends` and `row_key`), and a column is
/// numeric only if it never held text.
#[derive(Debug, Default)]
pub(crate) struct SchemaBuilder {
    order: Vec<(Group, String)>,
    index: HashMap<String, usize>,
    text: Vec<bool>,
    num: Vec<bool>,
}

impl SchemaBuilder {
    /// Starts from an existing table's columns, which keep their order and types.
    pub(crate) fn from_columns(columns: &[Column]) -> Self {
        let mut builder = Self::default();
        for column in columns {
            let group = if column.name == KEY_COLUMN || column.name == BACKENDS_COLUMN {
                Group::Meta
            } else {
                Group::Carried
            };
            let i = builder.add(group, &column.name);
            match column.kind {
                ColumnType::Text => builder.text[i] = true,
                ColumnType::Num => builder.num[i] = true,
            }
        }
        builder
    }

    fn add(&mut self, group: Group, name: &str) -> usize {
        if let Some(&i) = self.index.get(name) {
            return i;
        }
        let i = self.order.len();
        self.order.push((group, name.to_owned()));
        self.index.insert(name.to_owned(), i);
        self.text.push(false);
        self.num.push(false);
        i
    }

    /// Notes one row's cells; `scores` says which of them are scores.
    pub(crate) fn see(&mut self, row: &OutRow) {
        for (name, cell) in &row.cells {
            let group = match (name.as_str(), cell) {
                (KEY_COLUMN | BACKENDS_COLUMN, _) => Group::Meta,
                (_, Cell::Num(_) | Cell::Null) => Group::Score,
                (_, Cell::Text(_)) => Group::Carried,
            };
            let i = self.add(group, name);
            match cell {
                Cell::Text(_) => self.text[i] = true,
                Cell::Num(_) => self.num[i] = true,
                Cell::Null => {}
            }
        }
    }

    /// The columns: existing order first, new ones grouped, `backends` and `row_key` last
    /// (present even in a table without rows, so that it reads back as a qscore table).
    pub(crate) fn columns(&mut self) -> Vec<Column> {
        for meta in [BACKENDS_COLUMN, KEY_COLUMN] {
            let i = self.add(Group::Meta, meta);
            self.text[i] = true;
        }
        let mut order: Vec<usize> = (0..self.order.len()).collect();
        // Stable: names keep their first-seen order inside each group.
        order.sort_by_key(|&i| self.order[i].0);
        order
            .into_iter()
            .map(|i| Column {
                name: self.order[i].1.clone(),
                kind: if self.text[i] || !self.num[i] && self.order[i].0 != Group::Score {
                    ColumnType::Text
                } else {
                    ColumnType::Num
                },
            })
            .collect()
    }
}

/// Formats a key as the 16 hex digits stored in `row_key`.
pub(crate) fn key_text(key: u64) -> String {
    format!("{key:016x}")
}

/// Parses a `row_key` cell.
pub(crate) fn parse_key(text: &str) -> Option<u64> {
    if text.len() != 16 {
        return None;
    }
    u64::from_str_radix(text, 16).ok()
}
