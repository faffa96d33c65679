//! JSON-lines tables: one object per row with every column, scores as numbers (`"inf"`
//! and `"-inf"` as strings, as `qscore score --json` prints them), null where missing.

use std::{
    fs::File,
    io::{self, BufRead, BufReader, BufWriter, Write},
    path::Path,
};

use serde_json::{Map, Value};

use super::{
    row::{Cell, Column, ColumnType, OutRow, format_number},
    table::{RowIter, TableReader, TableSink, arrange, key_of},
};

fn cell(value: Value) -> Cell {
    match value {
        Value::Null => Cell::Null,
        Value::String(s) => Cell::Text(s),
        Value::Number(n) => n.as_f64().map_or(Cell::Null, Cell::Num),
        other => Cell::Text(other.to_string()),
    }
}

fn parse(line: &str) -> Result<Vec<(String, Cell)>, String> {
    match serde_json::from_str(line) {
        Ok(Value::Object(object)) => Ok(object.into_iter().map(|(k, v)| (k, cell(v))).collect()),
        Ok(_) => Err("a line is not a JSON object".into()),
        Err(e) => Err(format!("a line is not JSON: {e}")),
    }
}

pub(crate) fn read(path: &Path) -> Result<TableReader, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut lines = BufReader::new(file)
        .lines()
        .filter(|l| l.as_ref().map_or(true, |l| !l.trim().is_empty()));
    // Every row carries every column, so the first names them all.
    let first = match lines.next() {
        Some(line) => Some(parse(&line.map_err(|e| e.to_string())?)?),
        None => None,
    };
    let columns = first
        .as_ref()
        .map(|cells| {
            cells
                .iter()
                .map(|(n, c)| Column {
                    name: n.clone(),
                    kind: if matches!(c, Cell::Num(_)) {
                        ColumnType::Num
                    } else {
                        ColumnType::Text
                    },
                })
                .collect()
        })
        .unwrap_or_default();
    let rest = lines.map(|line| parse(&line.map_err(|e| e.to_string())?));
    let rows: RowIter = Box::new(first.map(Ok).into_iter().chain(rest).map(|cells| {
        let cells = cells?;
        Ok(OutRow {
            key: key_of(&cells)?,
            cells,
        })
    }));
    Ok(TableReader { columns, rows })
}

struct JsonlSink {
    columns: Vec<Column>,
    writer: BufWriter<File>,
}

pub(crate) fn create(path: &Path, columns: Vec<Column>) -> io::Result<Box<dyn TableSink>> {
    Ok(Box::new(JsonlSink {
        columns,
        writer: BufWriter::with_capacity(1 << 16, File::create(path)?),
    }))
}

impl TableSink for JsonlSink {
    fn write_row(&mut self, row: &OutRow) -> io::Result<()> {
        let cells = arrange(&self.columns, row);
        let object: Map<String, Value> = self
            .columns
            .iter()
            .zip(cells)
            .map(|(column, cell)| {
                let value = match cell {
                    Cell::Text(t) => Value::String(t.clone()),
                    Cell::Num(v) => serde_json::Number::from_f64(*v)
                        .map_or_else(|| Value::String(format_number(*v)), Value::Number),
                    Cell::Null => Value::Null,
                };
                (column.name.clone(), value)
            })
            .collect();
        serde_json::to_writer(&mut self.writer, &Value::Object(object))?;
        self.writer.write_all(b"\n")
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let file = self.writer.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    }
}
