//! Parquet tables through the `parquet` crate's column writer (no Arrow): every column
//! optional, text as UTF-8 `BYTE_ARRAY` (logical type String), scores as `DOUBLE`;
//! Snappy pages, rows in groups so that memory stays bounded however long the table.

use std::{fs::File, io, path::Path, sync::Arc};

use parquet::{
    basic::{Compression, ConvertedType, LogicalType, Repetition, Type as PhysicalType},
    data_type::{ByteArray, ByteArrayType, DoubleType},
    file::{
        properties::WriterProperties,
        reader::{FileReader, SerializedFileReader},
        writer::SerializedFileWriter,
    },
    record::Field,
    schema::types::Type,
};

use super::{
    row::{Cell, Column, ColumnType, OutRow, format_number},
    table::{RowIter, TableReader, TableSink, arrange, key_of},
};

/// Rows buffered per row group.
const GROUP_ROWS: usize = 8192;

fn other(e: parquet::errors::ParquetError) -> io::Error {
    io::Error::other(e.to_string())
}

pub(crate) fn read(path: &Path) -> Result<TableReader, String> {
    let file = File::open(path).map_err(|e| e.to_string())?;
    let reader = SerializedFileReader::new(file).map_err(|e| e.to_string())?;
    let columns = reader
        .metadata()
        .file_metadata()
        .schema_descr()
        .columns()
        .iter()
        .map(|c| Column {
            name: c.name().to_owned(),
            kind: if c.physical_type() == PhysicalType::DOUBLE {
                ColumnType::Num
            } else {
                ColumnType::Text
            },
        })
        .collect();
    let rows: RowIter = Box::new(reader.into_iter().map(|row| {
        let row = row.map_err(|e| e.to_string())?;
        let cells: Vec<(String, Cell)> = row
            .get_column_iter()
            .map(|(name, field)| {
                let cell = match field {
                    Field::Null => Cell::Null,
                    Field::Str(s) => Cell::Text(s.clone()),
                    Field::Double(v) => Cell::Num(*v),
                    Field::Float(v) => Cell::Num(f64::from(*v)),
                    other => Cell::Text(other.to_string()),
                };
                (name.clone(), cell)
            })
            .collect();
        Ok(OutRow {
            key: key_of(&cells)?,
            cells,
        })
    }));
    Ok(TableReader { columns, rows })
}

struct ParquetSink {
    columns: Vec<Column>,
    writer: SerializedFileWriter<File>,
    buffered: Vec<Vec<Cell>>,
}

/// The key-value metadata key of a table's provenance record.
pub(crate) const PROVENANCE_KEY: &str = "qscore.provenance";

pub(crate) fn create(
    path: &Path,
    columns: Vec<Column>,
    provenance: Option<&str>,
) -> io::Result<Box<dyn TableSink>> {
    let mut fields = Vec::with_capacity(columns.len());
    for column in &columns {
        let field = match column.kind {
            ColumnType::Text => {
                Type::primitive_type_builder(&column.name, PhysicalType::BYTE_ARRAY)
                    .with_repetition(Repetition::OPTIONAL)
                    .with_logical_type(Some(LogicalType::String))
                    .with_converted_type(ConvertedType::UTF8)
            }
            ColumnType::Num => Type::primitive_type_builder(&column.name, PhysicalType::DOUBLE)
                .with_repetition(Repetition::OPTIONAL),
        }
        .build()
        .map_err(other)?;
        fields.push(Arc::new(field));
    }
    let schema = Type::group_type_builder("qscore_batch")
        .with_fields(fields)
        .build()
        .map_err(other)?;
    let properties = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_created_by(format!("qscore {}", env!("CARGO_PKG_VERSION")))
        .set_key_value_metadata(provenance.map(|json| {
            vec![parquet::file::metadata::KeyValue::new(
                PROVENANCE_KEY.to_owned(),
                json.to_owned(),
            )]
        }))
        .build();
    let writer =
        SerializedFileWriter::new(File::create(path)?, Arc::new(schema), Arc::new(properties))
            .map_err(other)?;
    Ok(Box::new(ParquetSink {
        columns,
        writer,
        buffered: Vec::with_capacity(GROUP_ROWS),
    }))
}

impl ParquetSink {
    fn flush_group(&mut self) -> io::Result<()> {
        if self.buffered.is_empty() {
            return Ok(());
        }
        let mut group = self.writer.next_row_group().map_err(other)?;
        let mut index = 0;
        while let Some(mut column) = group.next_column().map_err(other)? {
            let cells = self.buffered.iter().map(|row| &row[index]);
            let levels: Vec<i16> = cells
                .clone()
                .map(|c| i16::from(!matches!(c, Cell::Null)))
                .collect();
            match self.columns[index].kind {
                ColumnType::Num => {
                    let values: Vec<f64> = cells
                        .filter_map(|c| match c {
                            Cell::Num(v) => Some(*v),
                            Cell::Text(t) => Some(t.parse().unwrap_or(f64::NAN)),
                            Cell::Null => None,
                        })
                        .collect();
                    column
                        .typed::<DoubleType>()
                        .write_batch(&values, Some(&levels), None)
                        .map_err(other)?;
                }
                ColumnType::Text => {
                    let values: Vec<ByteArray> = cells
                        .filter_map(|c| match c {
                            Cell::Text(t) => Some(ByteArray::from(t.as_str())),
                            Cell::Num(v) => Some(ByteArray::from(format_number(*v).as_str())),
                            Cell::Null => None,
                        })
                        .collect();
                    column
                        .typed::<ByteArrayType>()
                        .write_batch(&values, Some(&levels), None)
                        .map_err(other)?;
                }
            }
            column.close().map_err(other)?;
            index += 1;
        }
        group.close().map_err(other)?;
        self.buffered.clear();
        Ok(())
    }
}

impl TableSink for ParquetSink {
    fn write_row(&mut self, row: &OutRow) -> io::Result<()> {
        let cells = arrange(&self.columns, row).into_iter().cloned().collect();
        self.buffered.push(cells);
        if self.buffered.len() >= GROUP_ROWS {
            self.flush_group()?;
        }
        Ok(())
    }

    fn finish(mut self: Box<Self>) -> io::Result<()> {
        self.flush_group()?;
        let file = self.writer.into_inner().map_err(other)?;
        file.sync_all()
    }
}
