//! What this process may use of the machine: its logical CPUs and its memory, as a
//! container or a batch system's control group limits them.
//!
//! Under Kubernetes or Slurm a process sees the whole machine's RAM in `/proc/meminfo`, but
//! the kernel kills it at its cgroup's limit. [`memory`] therefore also reads the cgroup
//! files (v2 `memory.max`, `memory.current`, `memory.stat`; v1 `memory.limit_in_bytes`,
//! `memory.usage_in_bytes`, `memory.stat`) of the process's cgroup and of every cgroup
//! above it, and reports the tightest. Memory a cgroup uses for file pages it could drop
//! (`inactive_file`) counts as free, as the kernel reclaims it before it kills.
//!
//! [`cpu_count`] is the standard library's `available_parallelism`, which already follows
//! the CPU affinity mask and cgroup CPU quotas (`cpu.max`, v1 `cpu.cfs_quota_us`).
//!
//! Every plugin and the host use these two, so that admission and worker counts agree.

use std::{
    path::{Path, PathBuf},
    sync::OnceLock,
};

use crate::Error;

/// Memory this process may use, in bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Memory {
    /// The most it may ever hold: the machine's RAM, or its cgroup's limit if lower.
    pub total: u64,
    /// What it may still allocate now.
    pub available: u64,
}

/// Memory this process may use now, read from `/proc/meminfo` and its cgroups.
///
/// # Errors
/// [`Error::Unsupported`] where `/proc/meminfo` cannot be read (not Linux);
/// [`Error::Internal`] where it lacks `MemTotal` or `MemAvailable`.
pub fn memory() -> Result<Memory, Error> {
    // Which cgroups hold this process is read once: admission asks for memory per task, and
    // only the figures change.
    static GROUPS: OnceLock<Vec<Group>> = OnceLock::new();
    let root = Path::new("/");
    memory_under(root, GROUPS.get_or_init(|| cgroups(root)))
}

/// Logical CPUs this process may use (at least 1).
pub fn cpu_count() -> usize {
    std::thread::available_parallelism().map_or(1, std::num::NonZero::get)
}

/// [`memory`], with `/proc/meminfo` read under `root` (a fixture in tests) and the limits
/// of `groups`.
fn memory_under(root: &Path, groups: &[Group]) -> Result<Memory, Error> {
    let meminfo = root.join("proc/meminfo");
    let text = std::fs::read_to_string(&meminfo)
        .map_err(|e| Error::Unsupported(format!("cannot read {}: {e}", meminfo.display())))?;
    let kib = |key: &str| {
        text.lines()
            .find_map(|line| line.strip_prefix(key)?.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<u64>().ok())
            .map(|k| k.saturating_mul(1024))
    };
    let (Some(total), Some(available)) = (kib("MemTotal"), kib("MemAvailable")) else {
        return Err(Error::Internal(format!(
            "{} lacks MemTotal or MemAvailable",
            meminfo.display()
        )));
    };
    let mut memory = Memory { total, available };
    for limit in groups.iter().filter_map(Group::limit) {
        memory.total = memory.total.min(limit.limit);
        memory.available = memory.available.min(limit.limit.saturating_sub(limit.used));
    }
    Ok(memory)
}

/// A cgroup folder whose memory limit binds this process.
#[derive(Debug)]
struct Group {
    dir: PathBuf,
    v2: bool,
}

impl Group {
    /// Its limit and use now; `None` without a limit.
    fn limit(&self) -> Option<Limit> {
        if self.v2 {
            v2_limit(&self.dir)
        } else {
            v1_limit(&self.dir)
        }
    }
}

/// One cgroup's memory limit and the memory it holds that it could not drop.
#[derive(Debug)]
struct Limit {
    limit: u64,
    used: u64,
}

/// A v1 limit at or above this means "no limit" (the kernel's page-rounded `i64::MAX`).
const V1_UNLIMITED: u64 = 1 << 62;

/// This process's cgroups and every cgroup above them (a parent's limit binds its children
/// too), v2 and v1, those with a memory limit file under `root`; none where there are no
/// cgroup files.
fn cgroups(root: &Path) -> Vec<Group> {
    let Ok(text) = std::fs::read_to_string(root.join("proc/self/cgroup")) else {
        return Vec::new();
    };
    let mut groups = Vec::new();
    for line in text.lines() {
        let mut fields = line.splitn(3, ':');
        let (Some(id), Some(controllers), Some(path)) =
            (fields.next(), fields.next(), fields.next())
        else {
            continue;
        };
        let path = path.trim_start_matches('/');
        let (mounts, v2, file): (&[&str], bool, &str) = if id == "0" && controllers.is_empty() {
            (
                &["sys/fs/cgroup", "sys/fs/cgroup/unified"],
                true,
                "memory.max",
            )
        } else if controllers.split(',').any(|c| c == "memory") {
            (&["sys/fs/cgroup/memory"], false, "memory.limit_in_bytes")
        } else {
            continue;
        };
        for mount in mounts {
            let dirs = ancestors(&root.join(mount), path).into_iter();
            let found = dirs.filter(|dir| dir.join(file).is_file());
            groups.extend(found.map(|dir| Group { dir, v2 }));
        }
    }
    groups
}

/// `mount/path` and each folder above it up to `mount`. Inside a cgroup namespace the path
/// may not exist under the mount (the mount is then the process's own cgroup), so the
/// mount itself is always included.
fn ancestors(mount: &Path, path: &str) -> Vec<PathBuf> {
    let mut dirs = vec![mount.to_path_buf()];
    let mut dir = mount.to_path_buf();
    for part in path.split('/').filter(|p| !p.is_empty() && *p != "..") {
        dir.push(part);
        dirs.push(dir.clone());
    }
    dirs
}

fn number(path: &Path) -> Option<u64> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// A `memory.stat` field.
fn stat(dir: &Path, key: &str) -> u64 {
    std::fs::read_to_string(dir.join("memory.stat"))
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix(key)?.strip_prefix(' ')?.trim().parse().ok())
        })
        .unwrap_or(0)
}

fn v2_limit(dir: &Path) -> Option<Limit> {
    // `max` (no limit) does not parse as a number.
    let limit = number(&dir.join("memory.max"))?;
    let current = number(&dir.join("memory.current")).unwrap_or(0);
    let used = current.saturating_sub(stat(dir, "inactive_file"));
    Some(Limit { limit, used })
}

fn v1_limit(dir: &Path) -> Option<Limit> {
    let limit = number(&dir.join("memory.limit_in_bytes")).filter(|&l| l < V1_UNLIMITED)?;
    let usage = number(&dir.join("memory.usage_in_bytes")).unwrap_or(0);
    let used = usage.saturating_sub(stat(dir, "total_inactive_file"));
    Some(Limit { limit, used })
}

#[cfg(test)]
mod tests {
    use super::*;

    const GIB: u64 = 1 << 30;

    /// A fixture root with a machine of 16 GiB, 12 GiB of it available.
    fn machine(name: &str, cgroup: &str) -> PathBuf {
        let root =
            std::env::temp_dir().join(format!("qscore-resources-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("proc/self")).unwrap();
        let meminfo = format!(
            "MemTotal:       {} kB\nMemFree:         1000 kB\nMemAvailable:   {} kB\n",
            16 * GIB / 1024,
            12 * GIB / 1024
        );
        std::fs::write(root.join("proc/meminfo"), meminfo).unwrap();
        std::fs::write(root.join("proc/self/cgroup"), cgroup).unwrap();
        root
    }

    fn write(dir: &Path, files: &[(&str, String)]) {
        std::fs::create_dir_all(dir).unwrap();
        for (name, text) in files {
            std::fs::write(dir.join(name), text).unwrap();
        }
    }

    #[test]
    fn without_cgroup_limits_the_machine_s_figures_are_used() {
        let root = machine("none", "0::/user.slice\n");
        write(
            &root.join("sys/fs/cgroup/user.slice"),
            &[("memory.max", "max\n".into())],
        );
        let memory = memory_under(&root, &cgroups(&root)).unwrap();
        assert_eq!(
            memory,
            Memory {
                total: 16 * GIB,
                available: 12 * GIB
            }
        );
    }

    #[test]
    fn a_v2_limit_binds_and_droppable_file_pages_count_as_free() {
        let root = machine("v2", "0::/kubepods/pod1/c1\n");
        let pod = root.join("sys/fs/cgroup/kubepods/pod1");
        write(
            &pod,
            &[
                ("memory.max", format!("{}\n", 4 * GIB)),
                ("memory.current", format!("{}\n", 3 * GIB)),
                (
                    "memory.stat",
                    format!("anon 1\ninactive_file {}\nactive_file 5\n", GIB),
                ),
            ],
        );
        write(&pod.join("c1"), &[("memory.max", "max\n".into())]);
        let memory = memory_under(&root, &cgroups(&root)).unwrap();
        // 4 GiB limit; 3 GiB held of which 1 GiB is droppable: 2 GiB left.
        assert_eq!(
            memory,
            Memory {
                total: 4 * GIB,
                available: 2 * GIB
            }
        );
    }

    #[test]
    fn a_v1_limit_binds_and_an_unlimited_one_does_not() {
        let root = machine("v1", "4:memory:/slurm/job7\n3:cpu:/slurm/job7\n0::/\n");
        let memory_mount = root.join("sys/fs/cgroup/memory");
        write(
            &memory_mount,
            &[("memory.limit_in_bytes", "9223372036854771712\n".into())],
        );
        write(
            &memory_mount.join("slurm/job7"),
            &[
                ("memory.limit_in_bytes", format!("{}\n", 8 * GIB)),
                ("memory.usage_in_bytes", format!("{}\n", 7 * GIB)),
                (
                    "memory.stat",
                    format!("cache 3\ntotal_inactive_file {}\n", GIB / 2),
                ),
            ],
        );
        let memory = memory_under(&root, &cgroups(&root)).unwrap();
        assert_eq!(
            memory,
            Memory {
                total: 8 * GIB,
                available: GIB + GIB / 2
            }
        );
    }

    #[test]
    fn a_limit_above_the_process_s_own_cgroup_binds_too() {
        let root = machine("parent", "0::/batch/job/step\n");
        write(
            &root.join("sys/fs/cgroup/batch"),
            &[
                ("memory.max", format!("{}\n", 2 * GIB)),
                ("memory.current", format!("{}\n", GIB)),
            ],
        );
        write(
            &root.join("sys/fs/cgroup/batch/job/step"),
            &[
                ("memory.max", format!("{}\n", 6 * GIB)),
                ("memory.current", format!("{}\n", GIB)),
            ],
        );
        let memory = memory_under(&root, &cgroups(&root)).unwrap();
        assert_eq!(
            memory,
            Memory {
                total: 2 * GIB,
                available: GIB
            }
        );
    }

    #[test]
    fn a_missing_meminfo_is_unsupported() {
        let root = machine("no-meminfo", "0::/\n");
        std::fs::remove_file(root.join("proc/meminfo")).unwrap();
        assert!(matches!(
            memory_under(&root, &cgroups(&root)),
            Err(Error::Unsupported(_))
        ));
    }

    #[test]
    fn this_machine_reports_some_memory_and_cpus() {
        if let Ok(memory) = memory() {
            assert!(memory.available <= memory.total && memory.total > 0);
        }
        assert!(cpu_count() >= 1);
    }
}
