//! CSV tables: a header, then one line per row; numbers in shortest round-trip form,
//! `inf`/`-inf`, null as an empty field.

use std::{
    fs::File,
    io::{self, BufWriter},
    path::Path,
};

use super::{
    row::{Cell, Column, ColumnType, OutRow},
    table::{RowIter, TableReader, TableSink, arrange, key_of},
};

pub(crate) fn read(path: &Path) -> Result<TableReader, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let mut reader = csv::ReaderBuilder::new()
        .flexible(false)
        .from_reader(io::BufReader::new(file));
    let names: Vec<String> = reader
        .headers()
        .map_err(|e| e.to_string())?
        .iter()
        .map(str::to_owned)
        .collect();
    let columns = names
        .iter()
        .map(|n| Column {
            name: n.clone(),
            kind: ColumnType::Text,
        })
        .collect();
    let rows: RowIter = Box::new(reader.into_records().map(move |record| {
        let record = record.map_err(|e| e.to_string())?;
        let cells: Vec<(String, Cell)> = names
            .iter()
            .zip(record.iter())
            .map(|(n, v)| (n.clone(), Cell::Text(v.to_owned())))
            .collect();
        Ok(OutRow {
            key: key_of(&cells)?,
            cells,
        })
    }));
    Ok(TableReader { columns, rows })
}

struct CsvSink {
    columns: Vec<Column>,
    writer: csv::Writer<BufWriter<File>>,
}

pub(crate) fn create(path: &Path, columns: Vec<Column>) -> io::Result<Box<dyn TableSink>> {
    let file = File::create(path)?;
    let mut writer = csv::Writer::from_writer(BufWriter::with_capacity(1 << 16, file));
    writer.write_record(columns.iter().map(|c| c.name.as_str()))?;
    Ok(Box::new(CsvSink { columns, writer }))
}

impl TableSink for CsvSink {
    fn write_row(&mut self, row: &OutRow) -> io::Result<()> {
        let cells = arrange(&self.columns, row);
        self.writer
            .write_record(cells.iter().map(|c| c.to_text()))
            .map_err(io::Error::other)
    }

    fn finish(self: Box<Self>) -> io::Result<()> {
        let file = self
            .writer
            .into_inner()
            .map_err(|e| io::Error::other(e.to_string()))?
            .into_inner()
            .map_err(|e| e.into_error())?;
        file.sync_all()
    }
}
