//! The end of a run: the final table written once, to a temporary file that is synced
//! and renamed over the output; only then is the journal removed. The failure ledger is
//! compacted to one line per row still failing.

use crate::atomic::AtomicFile;
use std::{
    collections::{HashMap, HashSet, hash_map::Entry},
    fs::{self, File},
    io::{self, BufRead, BufReader},
    os::unix::fs::FileExt,
    path::{Path, PathBuf},
};

use super::{
    BatchError,
    journal::{LineFile, read_lines, sync_dir},
    record::{journal_position, ledger_key, parse_journal_line},
    row::{OutRow, SchemaBuilder},
    space::{available_bytes, is_out_of_space},
    table::{Format, TableSink, create_table, read_table},
};

/// `OUT` + `suffix`, in the same folder (so that renames stay on one filesystem).
pub(crate) fn beside(out: &Path, suffix: &str) -> PathBuf {
    let mut name = out.file_name().unwrap_or_default().to_os_string();
    name.push(suffix);
    out.with_file_name(name)
}

pub(crate) use crate::atomic::folder_of;

fn write_error(path: &Path, error: &io::Error) -> BatchError {
    if is_out_of_space(error) {
        BatchError::OutOfSpace {
            path: path.to_path_buf(),
            available: available_bytes(&folder_of(path)).unwrap_or(0),
            needed: None,
        }
    } else {
        BatchError::write(path, error)
    }
}

fn journal_rows(journal: &Path) -> Result<impl Iterator<Item = OutRow>, BatchError> {
    let lines = read_lines(journal).map_err(|e| BatchError::write(journal, &e))?;
    Ok(lines
        .into_iter()
        .flatten()
        .filter_map(Result::ok)
        .filter_map(|line| parse_journal_line(&line)))
}

/// Where each journal row to write lies, in manifest order: (manifest line, offset,
/// length). Rows already in the output, and repeats of a key, are left out. This is 20
/// bytes a row, so the journal itself never has to be held in memory to be sorted.
fn journal_order(journal: &Path, skip: &HashSet<u64>) -> Result<Vec<(u64, u64, u32)>, BatchError> {
    let mut order = Vec::new();
    let file = match File::open(journal) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(order),
        Err(e) => return Err(BatchError::write(journal, &e)),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut seen = HashSet::new();
    let (mut offset, mut buffer) = (0u64, Vec::new());
    loop {
        buffer.clear();
        let n = reader
            .read_until(b'\n', &mut buffer)
            .map_err(|e| BatchError::write(journal, &e))?;
        if n == 0 || buffer.last() != Some(&b'\n') {
            break;
        }
        if let Some((key, line)) = std::str::from_utf8(&buffer).ok().and_then(journal_position)
            && !skip.contains(&key)
            && seen.insert(key)
        {
            order.push((line, offset, (n - 1) as u32));
        }
        offset += n as u64;
    }
    order.sort_unstable();
    Ok(order)
}

/// Writes `out` from its previous rows (kept as they are, first) and then the journal's
/// in manifest order, each key once, then removes the journal. Returns the keys written.
pub(crate) fn assemble(
    out: &Path,
    format: Format,
    journal: &Path,
    provenance: &str,
) -> Result<HashSet<u64>, BatchError> {
    let existing = out.exists();
    let mut schema = SchemaBuilder::default();
    if existing {
        let table = read_table(out)?;
        schema = SchemaBuilder::from_columns(&table.columns);
        for row in table.rows {
            let row = row.map_err(|reason| BatchError::Table {
                path: out.to_path_buf(),
                reason,
            })?;
            schema.see(&row);
        }
    }
    for row in journal_rows(journal)? {
        schema.see(&row);
    }
    let file = AtomicFile::beside(out);
    let tmp = file.path().to_path_buf();
    let result = (|| {
        let mut sink: Box<dyn TableSink> =
            create_table(&tmp, format, schema.columns(), Some(provenance))
                .map_err(|e| write_error(&tmp, &e))?;
        let mut written = HashSet::new();
        if existing {
            for row in read_table(out)?.rows {
                let row = row.map_err(|reason| BatchError::Table {
                    path: out.to_path_buf(),
                    reason,
                })?;
                if written.insert(row.key) {
                    sink.write_row(&row).map_err(|e| write_error(&tmp, &e))?;
                }
            }
        }
        let order = journal_order(journal, &written)?;
        if !order.is_empty() {
            let file = File::open(journal).map_err(|e| BatchError::write(journal, &e))?;
            let mut buffer = Vec::new();
            for (_, offset, len) in order {
                buffer.resize(len as usize, 0);
                file.read_exact_at(&mut buffer, offset)
                    .map_err(|e| BatchError::write(journal, &e))?;
                let row = std::str::from_utf8(&buffer)
                    .ok()
                    .and_then(parse_journal_line)
                    .ok_or_else(|| BatchError::Table {
                        path: journal.to_path_buf(),
                        reason: format!("unreadable line at byte {offset}"),
                    })?;
                written.insert(row.key);
                sink.write_row(&row).map_err(|e| write_error(&tmp, &e))?;
            }
        }
        sink.finish().map_err(|e| write_error(&tmp, &e))?;
        Ok(written)
    })();
    // On an error the temporary table is removed with `file`.
    let written = result?;
    let folder = folder_of(out);
    file.commit().map_err(|e| BatchError::write(out, &e))?;
    match fs::remove_file(journal) {
        Ok(()) => sync_dir(&folder).map_err(|e| BatchError::write(&folder, &e))?,
        Err(e) if e.kind() == io::ErrorKind::NotFound => {}
        Err(e) => return Err(BatchError::write(journal, &e)),
    }
    Ok(written)
}

/// Rewrites the ledger with the last line of each row that is not in `done`; removes it
/// when none is left. Returns how many rows still fail.
pub(crate) fn compact_ledger(ledger: &Path, done: &HashSet<u64>) -> Result<u64, BatchError> {
    let Some(lines) = read_lines(ledger).map_err(|e| BatchError::write(ledger, &e))? else {
        return Ok(0);
    };
    let mut order: Vec<u64> = Vec::new();
    let mut last: HashMap<u64, String> = HashMap::new();
    for line in lines {
        let line = line.map_err(|e| BatchError::write(ledger, &e))?;
        let Some(key) = ledger_key(&line) else {
            continue;
        };
        if done.contains(&key) {
            continue;
        }
        match last.entry(key) {
            Entry::Occupied(mut entry) => {
                entry.insert(line);
            }
            Entry::Vacant(entry) => {
                order.push(key);
                entry.insert(line);
            }
        }
    }
    let folder = folder_of(ledger);
    if order.is_empty() {
        fs::remove_file(ledger).map_err(|e| BatchError::write(ledger, &e))?;
        sync_dir(&folder).map_err(|e| BatchError::write(&folder, &e))?;
        return Ok(0);
    }
    let replacement = AtomicFile::beside(ledger);
    let result = (|| {
        let mut file = LineFile::open(replacement.path())?;
        for key in &order {
            file.push(&last[key]);
        }
        file.sync()
    })();
    if let Err(error) = result {
        return Err(write_error(replacement.path(), &error));
    }
    replacement
        .commit()
        .map_err(|e| BatchError::write(ledger, &e))?;
    Ok(order.len() as u64)
}
