//! The work folder of a tune: where encodes lie between encoding and scoring. It is removed
//! at the end, on an error and on a signal; one left by a run killed with SIGKILL is removed
//! by the next run. Free space is checked before each round of encodes.

use std::path::{Path, PathBuf};

use super::TuneError;

/// A work folder of this run, removed (with what is left in it) when dropped or when a
/// signal stops the process.
pub(super) struct WorkFolder {
    /// The folder of this run.
    pub(super) path: PathBuf,
    /// The folder it was made in (`--workdir`), named in messages.
    pub(super) inside: PathBuf,
    _on_stop: crate::interrupt::RemovedOnStop,
}

/// The prefix of run folders; the process id follows.
const RUN_FOLDER: &str = "qscore-tune-";

impl WorkFolder {
    pub(super) fn create(inside: &Path) -> Result<Self, TuneError> {
        remove_abandoned(inside);
        let path = inside.join(format!("{RUN_FOLDER}{}", std::process::id()));
        std::fs::create_dir_all(&path).map_err(|e| TuneError::Workdir {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        let _on_stop = crate::interrupt::RemovedOnStop::new(&path);
        Ok(Self {
            path,
            inside: inside.to_path_buf(),
            _on_stop,
        })
    }

    /// Refuses to start encodes of about `expected` bytes in all (with a quarter more, and
    /// 1 MiB at least) where the folder has less free space, naming the folder given.
    pub(super) fn check_space(&self, expected: u64) -> Result<(), TuneError> {
        let needed = (expected + expected / 4).max(1 << 20);
        let free =
            crate::batch::space::available_bytes(&self.path).map_err(|e| TuneError::Workdir {
                path: self.inside.clone(),
                reason: e.to_string(),
            })?;
        if free < needed {
            return Err(TuneError::Workdir {
                path: self.inside.clone(),
                reason: format!(
                    "{:.1} MiB free, and the next encodes need about {:.1} MiB: free some space \
                     or give --workdir on another disk (finished probes are kept: the same \
                     command resumes)",
                    free as f64 / f64::from(1 << 20),
                    needed as f64 / f64::from(1 << 20)
                ),
            });
        }
        Ok(())
    }
}

/// Removes the run folders in `inside` of processes that no longer exist (a run killed with
/// SIGKILL, which nothing can clean up after).
fn remove_abandoned(inside: &Path) {
    let Ok(entries) = std::fs::read_dir(inside) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name();
        let Some(pid) = name
            .to_str()
            .and_then(|n| n.strip_prefix(RUN_FOLDER))
            .and_then(|p| p.parse::<libc::pid_t>().ok())
        else {
            continue;
        };
        // SAFETY: signal 0 only checks whether the process exists.
        let gone = unsafe { libc::kill(pid, 0) } != 0
            && std::io::Error::last_os_error().raw_os_error() == Some(libc::ESRCH);
        if gone {
            log::info!(
                "removing {}, left by a run that was killed",
                entry.path().display()
            );
            let _ = std::fs::remove_dir_all(entry.path());
        }
    }
}

impl Drop for WorkFolder {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.path);
    }
}
