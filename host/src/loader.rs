//! Finding and loading plugins.
//!
//! Every candidate file is tried and every failure is collected, so one bad
//! file never hides the others. A file that another user could have written is not
//! loaded (`trust`). Loading goes through abi_stable, which refuses
//! a library without a qscore root module or with a different root layout;
//! the host then checks the ABI major and asks the plugin to describe itself,
//! catching anything it reports.

use std::{
    collections::HashMap,
    env,
    path::{Path, PathBuf},
    sync::Arc,
};

use qscore_core::{
    AbiVersion, DeviceList, PluginModRef,
    abi_stable::library::{LibraryError, RootModule, lib_header_from_path},
    root::ext,
};

use crate::{
    LoadError,
    isolate::Isolation,
    plugin::{Device, Identity, Link, Local, Plugin},
    trust,
};

/// Environment variable with extra plugin directories (`:`-separated; `;` on Windows).
pub const PLUGIN_PATH_VAR: &str = "QSCORE_PLUGIN_PATH";

/// Where to look for plugins.
#[derive(Debug, Clone, Default)]
pub struct PluginSearch {
    /// Directories whose every library file is tried (`--plugin-dir`, the environment).
    pub explicit: Vec<PathBuf>,
    /// Whether to also search the folders of plugins shipped with qscore ([`Self::shipped`]),
    /// trying only files named like qscore plugins there, and to offer the CPU plugin built
    /// into qscore when no plugin file named `cpu` was found (`built_in`).
    pub defaults: bool,
    /// The folders of plugins shipped with qscore: by default the executable's folder and
    /// `<exe>/../lib/qscore/plugins` ([`Self::default_dirs`]); a program that embeds qscore
    /// (the Python package) names its own.
    pub shipped: Option<Vec<PathBuf>>,
    /// Load plugin files that another user could have written (see `trust`); also when
    /// `QSCORE_ALLOW_INSECURE_PLUGINS=1`.
    pub allow_insecure: bool,
    /// Which plugins run in worker processes of their own (`isolate`).
    pub isolate: Isolation,
    /// The qscore executable worker processes run (default: `QSCORE_WORKER_EXE`, else the
    /// running executable).
    pub worker_exe: Option<PathBuf>,
    /// How long a worker process may take to answer one call (default:
    /// `QSCORE_PLUGIN_TIMEOUT` seconds, else 600 s).
    pub worker_timeout: Option<std::time::Duration>,
}

impl PluginSearch {
    /// `dirs` first, then [`PLUGIN_PATH_VAR`], then the default directories.
    pub fn standard(dirs: &[PathBuf]) -> Self {
        let mut explicit = dirs.to_vec();
        if let Some(paths) = env::var_os(PLUGIN_PATH_VAR) {
            explicit.extend(env::split_paths(&paths).filter(|p| !p.as_os_str().is_empty()));
        }
        Self {
            explicit,
            defaults: true,
            shipped: None,
            allow_insecure: false,
            isolate: Isolation::default(),
            worker_exe: None,
            worker_timeout: None,
        }
    }

    /// Directories searched by default, next to the running executable.
    pub fn default_dirs() -> Vec<PathBuf> {
        let Some(exe_dir) = env::current_exe()
            .ok()
            .and_then(|exe| exe.canonicalize().ok())
            .and_then(|exe| exe.parent().map(Path::to_path_buf))
        else {
            return Vec::new();
        };
        let installed = exe_dir.join("../lib/qscore/plugins");
        vec![exe_dir, installed]
    }
}

/// Everything that was loaded, and everything that failed.
#[derive(Debug, Default)]
pub struct LoadReport {
    /// Loaded plugins, in search order.
    pub plugins: Vec<Arc<Plugin>>,
    /// Every failure, in search order.
    pub errors: Vec<LoadError>,
}

impl LoadReport {
    /// The plugin named `name`.
    pub fn plugin(&self, name: &str) -> Option<&Arc<Plugin>> {
        self.plugins.iter().find(|p| p.identity().name == name)
    }
}

fn is_library(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| e == env::consts::DLL_EXTENSION)
}

fn looks_like_plugin(path: &Path) -> bool {
    path.file_name()
        .and_then(|n| n.to_str())
        .is_some_and(|n| n.contains("qscore_plugin_"))
}

/// Library files in `dir`, sorted so loading order is stable.
fn candidates(dir: &Path, only_named: bool) -> Result<Vec<PathBuf>, LoadError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LoadError::Directory {
        path: dir.to_path_buf(),
        reason: e.to_string(),
    })?;
    let mut files: Vec<PathBuf> = entries
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.is_file() && is_library(p) && (!only_named || looks_like_plugin(p)))
        .collect();
    files.sort();
    Ok(files)
}

/// Loads every plugin `search` finds.
pub fn load_plugins(search: &PluginSearch) -> LoadReport {
    let mut report = LoadReport::default();
    let allow_insecure = search.allow_insecure || trust::allowed_by_environment();
    let mut seen_files = Vec::new();
    let mut seen_names: HashMap<String, PathBuf> = HashMap::new();
    let mut dirs: Vec<(PathBuf, bool)> =
        search.explicit.iter().map(|d| (d.clone(), false)).collect();
    if search.defaults {
        dirs.extend(
            search
                .shipped
                .clone()
                .unwrap_or_else(PluginSearch::default_dirs)
                .into_iter()
                .filter(|d| d.is_dir())
                .map(|d| (d, true)),
        );
    }
    for (dir, only_named) in dirs {
        let files = match candidates(&dir, only_named) {
            Ok(files) => files,
            Err(error) => {
                report.errors.push(error);
                continue;
            }
        };
        for file in files {
            let canonical = file.canonicalize().unwrap_or_else(|_| file.clone());
            if seen_files.contains(&canonical) {
                continue;
            }
            seen_files.push(canonical);
            if !allow_insecure && let Err(reason) = trust::check(&file) {
                report
                    .errors
                    .push(LoadError::Untrusted { path: file, reason });
                continue;
            }
            // Plugins beside the executable are shipped with it.
            let loaded = if search.isolate.isolates(only_named) {
                crate::isolate::load(&file, search)
            } else {
                load_plugin(&file).and_then(|plugin| isolate_if_risky(plugin, search))
            };
            match loaded {
                Ok(plugin) => {
                    let name = plugin.identity().name.clone();
                    if let Some(first) = seen_names.get(&name) {
                        report.errors.push(LoadError::Duplicate {
                            path: file,
                            name,
                            first: first.clone(),
                        });
                    } else {
                        log::info!(
                            "loaded plugin {name} {} from {}",
                            plugin.identity().version,
                            file.display()
                        );
                        seen_names.insert(name, file);
                        report.plugins.push(Arc::new(plugin));
                    }
                }
                Err(error) => report.errors.push(error),
            }
        }
    }
    if search.defaults && !seen_names.contains_key(crate::built_in::NAME) {
        match crate::built_in::load(search) {
            Ok(plugin) => report.plugins.push(Arc::new(plugin)),
            Err(error) => report.errors.push(error),
        }
    }
    report
}

/// `plugin` again, in worker processes, when `--isolate auto` and it says it may crash its
/// process (ABI 1.7); else as it is.
fn isolate_if_risky(plugin: Plugin, search: &PluginSearch) -> Result<Plugin, LoadError> {
    match (search.isolate, plugin.risky()) {
        (Isolation::Auto, Some(reason)) => {
            log::info!(
                "plugin {} may crash its process ({reason}): it runs in worker processes",
                plugin.identity().name
            );
            crate::isolate::load(plugin.path(), search)
        }
        _ => Ok(plugin),
    }
}

fn describe_library_error(error: &LibraryError) -> String {
    // abi_stable's messages span lines; keep them readable on one line.
    error
        .to_string()
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

/// abi_stable explains a layout mismatch with full dumps of both layouts; keep its
/// `Error:` lines, which say what differs.
fn summarize_incompatibility(text: &str) -> String {
    let detail: Vec<String> = text
        .split("Error:")
        .skip(1)
        .map(|part| part.chars().take(160).collect::<String>().trim().to_owned())
        .collect();
    if detail.is_empty() {
        let head: String = text.chars().take(300).collect();
        return format!("root module differs from this host's: {head}…");
    }
    format!(
        "root module layout differs from this host's: {}",
        detail.join("; ")
    )
}

/// Loads one plugin file.
pub fn load_plugin(path: &Path) -> Result<Plugin, LoadError> {
    let header = lib_header_from_path(path).map_err(|e| LoadError::NotAPlugin {
        path: path.to_path_buf(),
        reason: describe_library_error(&e),
    })?;
    let root = header
        .init_root_module::<PluginModRef>()
        .map_err(|e| LoadError::Incompatible {
            path: path.to_path_buf(),
            reason: summarize_incompatibility(&describe_library_error(&e)),
        })?;
    from_root(path, root)
}

/// A plugin from its root module: `path` is the file it came from.
pub(crate) fn from_root(path: &Path, root: PluginModRef) -> Result<Plugin, LoadError> {
    check_abi(path, root.abi())?;
    // Before any call that may log (discovery does).
    // SAFETY: the plugin's extension tables are statics that live as long as it does.
    if let Some(sink) =
        unsafe { ext::cast::<ext::LogSink>((root.extension())(ext::LOG_SINK), ext::LOG_SINK) }
    {
        (sink.install)(crate::logging::PLUGIN_SINK, crate::logging::plugin_level());
    }
    let failed = |error| LoadError::Failed {
        path: path.to_path_buf(),
        error,
    };
    let info = (root.info())()
        .into_result()
        .map_err(|e| failed(e.into()))?;
    let DeviceList { devices, note } = (root.devices())()
        .into_result()
        .map_err(|e| failed(e.into()))?;
    let mut usable = Vec::new();
    for info in devices {
        let caps = (root.capabilities())(info.id)
            .into_result()
            .map_err(|e| failed(e.into()))?;
        usable.push(Device {
            info,
            caps: caps.into_iter().collect(),
        });
    }
    // SAFETY: the plugin returns null or a 'static table starting with an ExtHeader (ABI contract).
    let session_stats = unsafe {
        ext::cast::<ext::SessionStats>((root.extension())(ext::SESSION_STATS), ext::SESSION_STATS)
    };
    // SAFETY: as above.
    let clip_metrics = unsafe {
        ext::cast::<ext::ClipMetrics>((root.extension())(ext::CLIP_METRICS), ext::CLIP_METRICS)
    };
    let mut sequential = Vec::new();
    if let Some(table) = clip_metrics {
        for device in &usable {
            let metrics = (table.sequential)(device.info.id)
                .into_result()
                .map_err(|e| failed(e.into()))?;
            sequential.push((
                device.info.id,
                metrics.into_iter().map(|m| m.into_string()).collect(),
            ));
        }
    }
    // SAFETY: as above.
    let frame_window = unsafe {
        ext::cast::<ext::FrameWindow>((root.extension())(ext::FRAME_WINDOW), ext::FRAME_WINDOW)
    };
    // SAFETY: as above.
    let prepared_window = unsafe {
        ext::cast::<ext::PreparedWindow>(
            (root.extension())(ext::PREPARED_WINDOW),
            ext::PREPARED_WINDOW,
        )
    };
    // SAFETY: as above.
    let device_check = unsafe {
        ext::cast::<ext::DeviceCheck>((root.extension())(ext::DEVICE_CHECK), ext::DEVICE_CHECK)
    };
    // SAFETY: as above.
    let risky = unsafe { ext::cast::<ext::Risky>((root.extension())(ext::RISKY), ext::RISKY) }
        .map(|table| (table.reason)().into_string());
    Ok(Plugin {
        path: path.to_path_buf(),
        link: Link::Local(Local {
            root,
            session_stats,
            frame_window,
            prepared_window,
            device_check,
        }),
        identity: Identity {
            name: info.name.into_string(),
            version: info.version.into_string(),
            vendor: info.vendor.into_string(),
            family: info.family,
            // The root module's own field is what the plugin was built with.
            abi: root.abi(),
        },
        devices: usable,
        device_note: note.into_string(),
        sequential,
        risky,
        built_in: false,
    })
}

fn check_abi(path: &Path, abi: AbiVersion) -> Result<(), LoadError> {
    if abi.loadable_by_current_host() {
        return Ok(());
    }
    Err(LoadError::Incompatible {
        path: path.to_path_buf(),
        reason: format!(
            "plugin ABI {abi}, this host speaks ABI {}.x (root module {})",
            AbiVersion::CURRENT.major,
            PluginModRef::NAME
        ),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn another_abi_major_is_refused_with_both_versions_named() {
        let path = Path::new("libfuture.so");
        let error = check_abi(path, AbiVersion { major: 2, minor: 0 }).unwrap_err();
        let text = error.to_string();
        assert!(text.contains("plugin ABI 2.0"), "{text}");
        assert!(text.contains("ABI 1.x"), "{text}");
        assert!(
            check_abi(
                path,
                AbiVersion {
                    major: 1,
                    minor: 40
                }
            )
            .is_ok()
        );
    }
}
