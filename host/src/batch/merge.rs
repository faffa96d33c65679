//! `qscore merge`: shard outputs combined into one table, refusing inputs whose columns
//! differ, rows present twice, and shards made by other qscore versions, parameters or
//! plugin versions (`provenance.rs`).

use std::{
    collections::HashMap,
    path::{Path, PathBuf},
};

use super::{
    BatchError,
    provenance::{Provenance, for_merge},
    row::{Column, key_text},
    table::{Format, create_table, read_table},
};
use crate::atomic::AtomicFile;

fn describe(columns: &[Column]) -> String {
    columns
        .iter()
        .map(|c| format!("{}:{:?}", c.name, c.kind))
        .collect::<Vec<_>>()
        .join(", ")
}

/// Merges `inputs` into `out` (written to a temporary file, synced, renamed). Returns
/// the number of rows.
pub fn merge(inputs: &[PathBuf], out: &Path) -> Result<u64, BatchError> {
    let format = Format::of(out).ok_or_else(|| {
        BatchError::Request(format!(
            "{}: unknown output format (use .csv, .jsonl or .parquet)",
            out.display()
        ))
    })?;
    if inputs.is_empty() {
        return Err(BatchError::Request("merge needs at least one input".into()));
    }
    if let Some(same) = inputs.iter().find(|p| p.as_path() == out) {
        return Err(BatchError::Request(format!(
            "{}: the output cannot also be an input",
            same.display()
        )));
    }
    let provenance = for_merge(inputs)?;
    let mut columns: Option<Vec<Column>> = None;
    let mut seen: HashMap<u64, usize> = HashMap::new();
    for (index, path) in inputs.iter().enumerate() {
        let table = read_table(path)?;
        match &columns {
            None => columns = Some(table.columns.clone()),
            Some(first) => {
                // Formats without types (CSV) compare by name only.
                let same = first.len() == table.columns.len()
                    && first.iter().zip(&table.columns).all(|(a, b)| {
                        a.name == b.name
                            && (a.kind == b.kind || Format::of(path) != Format::of(&inputs[0]))
                    });
                if !same {
                    return Err(BatchError::SchemaMismatch {
                        path: path.clone(),
                        first: inputs[0].clone(),
                        reason: format!("[{}] vs [{}]", describe(&table.columns), describe(first)),
                    });
                }
            }
        }
        for row in table.rows {
            let row = row.map_err(|reason| BatchError::Table {
                path: path.clone(),
                reason,
            })?;
            if let Some(&first) = seen.get(&row.key) {
                return Err(BatchError::Duplicate {
                    path: path.clone(),
                    first: inputs[first].clone(),
                    key: key_text(row.key),
                });
            }
            seen.insert(row.key, index);
        }
    }
    let columns = columns.unwrap_or_default();
    let json = provenance.as_ref().map(Provenance::to_json);
    let file = AtomicFile::beside(out);
    let tmp = file.path().to_path_buf();
    let result = (|| {
        let mut sink = create_table(&tmp, format, columns, json.as_deref())
            .map_err(|e| BatchError::write(&tmp, &e))?;
        let mut rows = 0u64;
        for path in inputs {
            for row in read_table(path)?.rows {
                let row = row.map_err(|reason| BatchError::Table {
                    path: path.clone(),
                    reason,
                })?;
                sink.write_row(&row)
                    .map_err(|e| BatchError::write(&tmp, &e))?;
                rows += 1;
            }
        }
        sink.finish().map_err(|e| BatchError::write(&tmp, &e))?;
        Ok(rows)
    })();
    // On an error the temporary table is removed with `file`.
    let rows = result?;
    file.commit().map_err(|e| BatchError::write(out, &e))?;
    if let Some(provenance) = &provenance {
        super::provenance::write(out, provenance)?;
    }
    Ok(rows)
}
