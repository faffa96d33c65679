//! Append-only JSON-lines files that survive being killed at any instant: the journal
//! of finished rows and the failure ledger.
//!
//! Lines are buffered and made durable in small groups (`sync`); a row counts as done
//! only once its group is synced. A process killed mid-write can leave a partial last
//! line, which opening the file again cuts off, so every line in the file is whole. A
//! failed write (a full disk) cuts the file back to its last synced length.

use std::{
    fs::{File, OpenOptions},
    io::{self, BufRead, BufReader, Read, Seek, SeekFrom, Write},
    path::{Path, PathBuf},
};

/// An append-only lines file.
#[derive(Debug)]
pub(crate) struct LineFile {
    path: PathBuf,
    file: File,
    buffer: Vec<u8>,
    synced_len: u64,
    unsynced_lines: usize,
}

impl LineFile {
    /// Opens (creating) `path` for appending, after cutting off a partial last line.
    pub(crate) fn open(path: &Path) -> io::Result<Self> {
        let mut file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)?;
        let whole = whole_length(&mut file)?;
        if whole != file.metadata()?.len() {
            file.set_len(whole)?;
            file.sync_data()?;
        }
        file.seek(SeekFrom::Start(whole))?;
        Ok(Self {
            path: path.to_path_buf(),
            file,
            buffer: Vec::with_capacity(1 << 16),
            synced_len: whole,
            unsynced_lines: 0,
        })
    }

    pub(crate) fn path(&self) -> &Path {
        &self.path
    }

    /// Queues one line (without its newline).
    pub(crate) fn push(&mut self, line: &str) {
        self.buffer.extend_from_slice(line.as_bytes());
        self.buffer.push(b'\n');
        self.unsynced_lines += 1;
    }

    /// Lines queued since the last sync.
    pub(crate) fn unsynced(&self) -> usize {
        self.unsynced_lines
    }

    /// Writes the queued lines and makes them durable. On failure the file is cut back to
    /// what was durable before, and the queued lines are dropped (they will be redone).
    pub(crate) fn sync(&mut self) -> io::Result<()> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let result = self
            .file
            .write_all(&self.buffer)
            .and_then(|()| self.file.sync_data());
        match result {
            Ok(()) => {
                self.synced_len += self.buffer.len() as u64;
                self.buffer.clear();
                self.unsynced_lines = 0;
                Ok(())
            }
            Err(error) => {
                self.buffer.clear();
                self.unsynced_lines = 0;
                // Best effort: nothing half-written stays behind.
                let _ = self.file.set_len(self.synced_len);
                let _ = self.file.seek(SeekFrom::Start(self.synced_len));
                let _ = self.file.sync_data();
                Err(error)
            }
        }
    }
}

/// The length of `file` up to and including its last newline.
fn whole_length(file: &mut File) -> io::Result<u64> {
    let len = file.metadata()?.len();
    let mut end = len;
    let mut chunk = vec![0u8; 64 * 1024];
    while end > 0 {
        let start = end.saturating_sub(chunk.len() as u64);
        let n = (end - start) as usize;
        file.seek(SeekFrom::Start(start))?;
        file.read_exact(&mut chunk[..n])?;
        if let Some(i) = chunk[..n].iter().rposition(|&b| b == b'\n') {
            return Ok(start + i as u64 + 1);
        }
        end = start;
    }
    Ok(0)
}

/// Reads the whole lines of `path` (none when it does not exist); a partial last line is
/// left out.
pub(crate) fn read_lines(
    path: &Path,
) -> io::Result<Option<impl Iterator<Item = io::Result<String>>>> {
    let file = match File::open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e),
    };
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buffer = Vec::new();
    Ok(Some(std::iter::from_fn(move || {
        loop {
            buffer.clear();
            match reader.read_until(b'\n', &mut buffer) {
                Ok(0) => return None,
                Err(e) => return Some(Err(e)),
                Ok(_) if buffer.last() != Some(&b'\n') => return None,
                Ok(_) => {}
            }
            let line = String::from_utf8_lossy(&buffer[..buffer.len() - 1]).into_owned();
            if !line.trim().is_empty() {
                return Some(Ok(line));
            }
        }
    })))
}

pub(crate) use crate::atomic::sync_dir;

#[cfg(test)]
mod tests {
    use super::{LineFile, read_lines};

    #[test]
    fn a_partial_last_line_is_cut_off_on_open() {
        let dir = std::env::temp_dir().join(format!("qscore-journal-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("j.jsonl");
        std::fs::write(&path, b"{\"a\":1}\n{\"b\":2}\n{\"c\":").unwrap();
        let mut file = LineFile::open(&path).unwrap();
        file.push("{\"d\":4}");
        file.sync().unwrap();
        let lines: Vec<String> = read_lines(&path)
            .unwrap()
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
        assert_eq!(lines, vec!["{\"a\":1}", "{\"b\":2}", "{\"d\":4}"]);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
