//! Where compiled kernels are kept between runs.
//!
//! cubecl can keep compiled kernels (PTX for CUDA) on disk, so a program's second run does
//! not pay compilation again. Its default location depends on the working directory (the
//! nearest `target/` above it); a plugin runs inside other people's programs, so it points
//! the cache at qscore's own cache directory instead, next to the capability cache.

use std::path::PathBuf;

use cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, cache::CacheConfig};

/// `$QSCORE_CACHE_DIR`, else `$XDG_CACHE_HOME/qscore`, else `~/.cache/qscore`: the host's
/// capability-cache directory, whose `kernels/` subdirectory holds compiled kernels.
pub fn directory() -> Option<PathBuf> {
    let env = |k: &str| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("QSCORE_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("qscore")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("qscore")))
        .map(|d| d.join("kernels"))
}

/// Points cubecl's compilation cache at [`directory`], unless cubecl's configuration was
/// already read in this process (then it is left as it is). cubecl's environment variables
/// still apply (`CUBECL_DEBUG_LOG`, `CUBECL_DEBUG_OPTION=profile` for per-kernel times);
/// its configuration files, found from the working directory, do not.
pub fn configure() {
    let Some(dir) = directory() else { return };
    let mut storage = CubeClRuntimeConfig::storage().lock();
    if storage.is_none() {
        let mut config = CubeClRuntimeConfig::default().override_from_env();
        config.compilation.cache = Some(CacheConfig::File(dir));
        *storage = Some(std::sync::Arc::new(config));
    }
}
