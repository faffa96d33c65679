//! The CPU plugin linked into qscore itself.
//!
//! `qscore` copied anywhere (or installed with `cargo install`), and the Python package,
//! score every CPU metric with no plugin file beside them: the CPU plugin's root module is
//! linked in and offered through the same ABI table as a plugin file, so everything after
//! loading treats it alike. A plugin file named `cpu` found by the search replaces it
//! (a newer or differently built CPU plugin wins over the one compiled in).

use std::path::{Path, PathBuf};

use crate::{LoadError, PluginSearch, isolate::Isolation, plugin::Plugin};

/// The built-in plugin's name, which a plugin file of the same name replaces.
pub(crate) const NAME: &str = "cpu";

/// What a worker process is told to serve instead of a plugin file (`--isolate all`).
pub(crate) const WORKER_ARG: &str = "built-in:cpu";

/// The file that holds the built-in plugin: the `qscore` executable, or the library that
/// embeds the host. The capability cache's fingerprint hashes it, as it does plugin files.
pub(crate) fn file() -> PathBuf {
    let mut info = std::mem::MaybeUninit::<libc::Dl_info>::zeroed();
    let address = qscore_cpu::qscore_root_module as *const libc::c_void;
    // SAFETY: `address` is a function of this object; `info` is a valid out-parameter,
    // and `dli_fname` is a NUL-terminated string owned by the dynamic loader when non-null.
    let named = unsafe {
        (libc::dladdr(address, info.as_mut_ptr()) != 0
            && !info.assume_init_ref().dli_fname.is_null())
        .then(|| {
            let name = std::ffi::CStr::from_ptr(info.assume_init_ref().dli_fname);
            PathBuf::from(std::ffi::OsStr::from_encoded_bytes_unchecked(
                name.to_bytes(),
            ))
        })
    };
    named
        .and_then(|path| path.canonicalize().ok())
        .or_else(|| std::env::current_exe().ok())
        .unwrap_or_else(|| PathBuf::from("qscore"))
}

/// The built-in plugin in this process, or in worker processes with `--isolate all`.
pub(crate) fn load(search: &PluginSearch) -> Result<Plugin, LoadError> {
    let file = file();
    let mut plugin = if search.isolate == Isolation::All {
        let mut plugin = crate::isolate::load(Path::new(WORKER_ARG), search)?;
        plugin.path = file;
        plugin
    } else {
        crate::loader::from_root(&file, qscore_cpu::qscore_root_module())?
    };
    plugin.built_in = true;
    Ok(plugin)
}

/// The built-in plugin in this process (a worker's, with `--isolate all`).
pub(crate) fn load_here() -> Result<Plugin, LoadError> {
    crate::loader::from_root(&file(), qscore_cpu::qscore_root_module())
}
