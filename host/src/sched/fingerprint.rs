//! What identifies a machine's measurements: the plugin set (names, versions, file
//! hashes), the devices (models, drivers) and the CPU (model, features).

use std::path::Path;

use xxhash_rust::xxh3::{Xxh3, xxh3_64};

use crate::Plugin;

/// The parts of a fingerprint, kept in the cache file so a reader sees what it covers.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Fingerprint {
    /// 16 hex digits of xxh3-64 over everything below.
    pub hash: String,
    /// CPU model name.
    pub cpu_model: String,
    /// CPU features that change kernel choice (SIMD levels).
    pub cpu_features: Vec<String>,
    /// One line per plugin: `name version file-hash`.
    pub plugins: Vec<String>,
    /// One line per device: `plugin/id model driver`.
    pub devices: Vec<String>,
}

fn cpu_model() -> String {
    std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|text| {
            text.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_owned())
        })
        .unwrap_or_else(|| std::env::consts::ARCH.to_owned())
}

fn cpu_features() -> Vec<String> {
    #[cfg(target_arch = "x86_64")]
    {
        let mut found = Vec::new();
        macro_rules! probe {
            ($($f:tt),*) => {$(
                if std::arch::is_x86_feature_detected!($f) {
                    found.push($f.to_owned());
                }
            )*};
        }
        probe!(
            "sse4.2", "avx", "avx2", "fma", "avx512f", "avx512bw", "avx512vl"
        );
        found
    }
    #[cfg(not(target_arch = "x86_64"))]
    {
        vec![std::env::consts::ARCH.to_owned()]
    }
}

/// xxh3-64 of a file's bytes, as 16 hex digits (`unreadable` when it cannot be read).
fn file_hash(path: &Path) -> String {
    std::fs::read(path).map_or_else(
        |_| "unreadable".to_owned(),
        |b| format!("{:016x}", xxh3_64(&b)),
    )
}

impl Fingerprint {
    /// The fingerprint of this machine with these plugins.
    pub fn of(plugins: &[std::sync::Arc<Plugin>]) -> Self {
        let mut plugin_lines: Vec<String> = plugins
            .iter()
            .map(|p| {
                let id = p.identity();
                format!("{} {} {}", id.name, id.version, file_hash(p.path()))
            })
            .collect();
        plugin_lines.sort();
        let mut device_lines: Vec<String> = plugins
            .iter()
            .flat_map(|p| {
                p.devices().iter().map(move |d| {
                    format!(
                        "{}/{} {} {}",
                        p.identity().name,
                        d.info.id,
                        d.info.model,
                        d.info.driver_version
                    )
                })
            })
            .collect();
        device_lines.sort();
        Self::from_parts(cpu_model(), cpu_features(), plugin_lines, device_lines)
    }

    /// A fingerprint from its parts (tests build synthetic ones).
    pub fn from_parts(
        cpu_model: String,
        cpu_features: Vec<String>,
        plugins: Vec<String>,
        devices: Vec<String>,
    ) -> Self {
        let mut hasher = Xxh3::new();
        for part in [&cpu_model]
            .into_iter()
            .chain(&cpu_features)
            .chain(&plugins)
            .chain(&devices)
        {
            hasher.update(part.as_bytes());
            hasher.update(b"\n");
        }
        Self {
            hash: format!("{:016x}", hasher.digest()),
            cpu_model,
            cpu_features,
            plugins,
            devices,
        }
    }
}
