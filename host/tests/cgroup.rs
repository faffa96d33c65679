//! Under a real cgroup memory limit (as Kubernetes and Slurm set one), the memory that the
//! CPU plugin reports, and that admission therefore works with, is the limit's, not the
//! machine's. Needs root and a writable memory cgroup (v2, or v1's `memory` hierarchy);
//! skipped elsewhere unless `QSCORE_REQUIRE_CGROUP` is set, as CI sets it.

mod support;

use std::{
    path::{Path, PathBuf},
    process::Command,
};

use serde_json::Value;

const LIMIT: u64 = 300 << 20;

/// A new memory cgroup limited to [`LIMIT`]: its folder, or why there is none.
fn limited_cgroup() -> Result<PathBuf, String> {
    let name = format!("qscore-test-{}", std::process::id());
    let v2 = Path::new("/sys/fs/cgroup");
    let v1 = Path::new("/sys/fs/cgroup/memory");
    let (dir, limit_file) = if std::fs::read_to_string(v2.join("cgroup.subtree_control"))
        .is_ok_and(|c| c.split_whitespace().any(|c| c == "memory"))
    {
        (v2.join(&name), "memory.max")
    } else if v1.join("memory.limit_in_bytes").exists() {
        (v1.join(&name), "memory.limit_in_bytes")
    } else {
        return Err("no memory cgroup controller is mounted".into());
    };
    std::fs::create_dir(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    std::fs::write(dir.join(limit_file), LIMIT.to_string())
        .map_err(|e| format!("cannot limit {}: {e}", dir.display()))?;
    Ok(dir)
}

#[test]
fn the_cpu_plugin_reports_the_cgroup_limit() {
    let dir = match limited_cgroup() {
        Ok(dir) => dir,
        Err(why) if std::env::var_os("QSCORE_REQUIRE_CGROUP").is_none() => {
            eprintln!("skipped: {why}");
            return;
        }
        Err(why) => panic!("QSCORE_REQUIRE_CGROUP is set, but {why}"),
    };
    // The shell moves itself into the cgroup, then becomes qscore.
    let script = format!(
        "echo $$ > '{}' && exec \"$0\" plugins --json --plugin-dir \"$1\" --no-default-plugins",
        dir.join("cgroup.procs").display()
    );
    let out = Command::new("sh")
        .args(["-c", &script, env!("CARGO_BIN_EXE_qscore")])
        .arg(support::cpu_only_dir())
        .env_remove("QSCORE_PLUGIN_PATH")
        .output()
        .expect("run qscore");
    let removed = std::fs::remove_dir(&dir);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    removed.expect("the test cgroup is removed once empty");
    let json: Value = serde_json::from_slice(&out.stdout).unwrap();
    let cpu = json["plugins"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["name"] == "cpu")
        .expect("cpu plugin");
    let device = &cpu["devices"][0];
    let (free, total) = (
        device["free_memory"].as_u64().unwrap(),
        device["total_memory"].as_u64().unwrap(),
    );
    assert_eq!(total, LIMIT, "{device}");
    assert!(free > 0 && free < LIMIT, "{device}");
}
