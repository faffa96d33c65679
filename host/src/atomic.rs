//! Writing a file atomically: the new content goes to a temporary file beside it, which is
//! synced and renamed over it, and the folder synced. A reader (or a run that crashes
//! halfway) sees the old file or the new one, never a mix.
//!
//! Temporary names are unique (`.NAME.PID.N.tmp`): two processes writing one file, or one
//! process writing it twice at once, never write into each other's temporary file.

use std::{
    fs::File,
    io,
    path::{Path, PathBuf},
    sync::atomic::{AtomicU64, Ordering},
};

/// A temporary file being written in place of `target`; removed when dropped uncommitted.
#[derive(Debug)]
pub(crate) struct AtomicFile {
    target: PathBuf,
    temp: PathBuf,
    committed: bool,
}

impl AtomicFile {
    /// Names a temporary file beside `target`; the writer creates it at [`Self::path`].
    pub(crate) fn beside(target: &Path) -> Self {
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = target.file_name().unwrap_or_default().to_string_lossy();
        let n = NEXT.fetch_add(1, Ordering::Relaxed);
        let temp = target.with_file_name(format!(".{name}.{}.{n}.tmp", std::process::id()));
        Self {
            target: target.to_path_buf(),
            temp,
            committed: false,
        }
    }

    /// Where the new content is written.
    pub(crate) fn path(&self) -> &Path {
        &self.temp
    }

    /// Syncs the written temporary file, renames it over the target and syncs the folder.
    pub(crate) fn commit(mut self) -> io::Result<()> {
        File::open(&self.temp)?.sync_all()?;
        std::fs::rename(&self.temp, &self.target)?;
        self.committed = true;
        sync_dir(&folder_of(&self.target))
    }

    /// Writes `bytes` as the whole new content of `target`, atomically.
    pub(crate) fn write(target: &Path, bytes: &[u8]) -> io::Result<()> {
        let file = Self::beside(target);
        std::fs::write(file.path(), bytes)?;
        file.commit()
    }
}

impl Drop for AtomicFile {
    fn drop(&mut self) {
        if !self.committed {
            let _ = std::fs::remove_file(&self.temp);
        }
    }
}

/// Removes the temporary files that writers of `target` left behind (a run killed while
/// writing). Only for a caller that knows no other writer of `target` is running.
pub(crate) fn remove_stale(target: &Path) {
    let name = target.file_name().unwrap_or_default().to_string_lossy();
    let prefix = format!(".{name}.");
    let Ok(entries) = std::fs::read_dir(folder_of(target)) else {
        return;
    };
    for entry in entries.flatten() {
        let file = entry.file_name();
        let file = file.to_string_lossy();
        if file.starts_with(&prefix) && file.ends_with(".tmp") {
            let _ = std::fs::remove_file(entry.path());
        }
    }
}

/// The folder holding `path` (`.` for a bare file name).
pub(crate) fn folder_of(path: &Path) -> PathBuf {
    path.parent()
        .filter(|p| !p.as_os_str().is_empty())
        .map_or_else(|| PathBuf::from("."), Path::to_path_buf)
}

/// Makes a folder's entries (a rename, a removal) durable.
pub(crate) fn sync_dir(folder: &Path) -> io::Result<()> {
    File::open(folder)?.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qscore-atomic-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn commit_replaces_and_drop_leaves_the_old_content() {
        let dir = scratch("commit");
        let target = dir.join("out.csv");
        std::fs::write(&target, "old").unwrap();
        let (a, b) = (AtomicFile::beside(&target), AtomicFile::beside(&target));
        assert_ne!(a.path(), b.path(), "temporary names are unique");
        std::fs::write(a.path(), "abandoned").unwrap();
        drop(a);
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "old");
        std::fs::write(b.path(), "new").unwrap();
        b.commit().unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "new");
        assert_eq!(
            std::fs::read_dir(&dir).unwrap().count(),
            1,
            "no temporary file is left"
        );
        AtomicFile::write(&target, b"newer").unwrap();
        assert_eq!(std::fs::read_to_string(&target).unwrap(), "newer");
    }

    #[test]
    fn stale_temporaries_of_one_target_are_removed() {
        let dir = scratch("stale");
        let target = dir.join("out.csv");
        let stale = AtomicFile::beside(&target);
        std::fs::write(stale.path(), "left by a killed run").unwrap();
        let path = stale.path().to_path_buf();
        std::mem::forget(stale);
        std::fs::write(dir.join(".other.csv.1.0.tmp"), "another file's").unwrap();
        remove_stale(&target);
        assert!(!path.exists());
        assert!(dir.join(".other.csv.1.0.tmp").exists());
    }
}
