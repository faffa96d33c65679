//! Shared by the host's integration tests: builds the plugin libraries the tests
//! load (cargo does not build a workspace's cdylibs for `cargo test`) and finds files.

#![allow(dead_code, unreachable_pub)]

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::{Mutex, OnceLock},
};

/// The profile directory the tests were built into (`target/debug`).
pub fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("test executable path");
    exe.parent() // deps
        .and_then(Path::parent)
        .expect("test executable lives in <profile>/deps")
        .to_path_buf()
}

/// The repository's root: `QSCORE_REPO_ROOT` when the test binaries run on a machine
/// they were copied to (a GPU machine without a Rust toolchain), else the source tree.
pub fn repo_root() -> PathBuf {
    std::env::var_os("QSCORE_REPO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// Test data shipped in the repository.
pub fn data(path: &str) -> PathBuf {
    repo_root().join("data").join(path)
}

/// A file of `data/video` (the Netflix sample pair and its golden values).
pub fn video(name: &str) -> PathBuf {
    data(&format!("video/{name}"))
}

/// The Netflix sample pair's reference: raw 576x324 yuv420p10le, 3 frames.
pub fn sample_reference() -> PathBuf {
    video("src01_hrc00_576x324.yuv420p10le.yuv")
}

/// The Netflix sample pair's distorted clip.
pub fn sample_distorted() -> PathBuf {
    video("src01_hrc01_576x324.yuv420p10le.yuv")
}

/// Builds `packages` (their cdylibs) in the tests' own profile, once per process.
///
/// With `QSCORE_TEST_PREBUILT` set, nothing is built: the libraries were copied into the
/// profile directory beside the test binaries (a machine without a Rust toolchain).
pub fn build(packages: &[&str]) {
    if std::env::var_os("QSCORE_TEST_PREBUILT").is_some() {
        return;
    }
    static BUILT: OnceLock<Mutex<Vec<String>>> = OnceLock::new();
    let built = BUILT.get_or_init(|| Mutex::new(Vec::new()));
    let mut built = built.lock().unwrap_or_else(|e| e.into_inner());
    let missing: Vec<&str> = packages
        .iter()
        .copied()
        .filter(|p| !built.iter().any(|b| b == p))
        .collect();
    if missing.is_empty() {
        return;
    }
    let profile = profile_dir();
    let target = profile.parent().expect("profile dir has a parent");
    let mut cmd = Command::new(env!("CARGO"));
    cmd.arg("build")
        .arg("--quiet")
        .arg("--manifest-path")
        .arg(repo_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target);
    if profile.file_name().is_some_and(|n| n == "release") {
        cmd.arg("--release");
    }
    for p in &missing {
        cmd.args(["-p", p]);
    }
    let status = cmd.status().expect("run cargo build");
    assert!(status.success(), "cargo build {missing:?} failed");
    built.extend(missing.iter().map(|p| (*p).to_owned()));
}

/// Path of the library `lib_name` (its `[lib] name`) in the tests' profile.
pub fn library(lib_name: &str) -> PathBuf {
    profile_dir().join(format!(
        "{}{lib_name}{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_SUFFIX
    ))
}

/// Builds the CPU plugin and returns its path.
pub fn cpu_plugin() -> PathBuf {
    build(&["qscore-cpu"]);
    library("qscore_plugin_cpu")
}

/// A directory holding only the CPU plugin, for runs that pass it with
/// `--plugin-dir DIR --no-default-plugins` so that the GPU plugins built beside the
/// executable stay out of tests that are not about them.
///
/// Made once per process: tests run in parallel, and one must not replace the library
/// while another test's `qscore` is loading it.
pub fn cpu_only_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| plugin_dir("cpu-only", &[cpu_plugin()]))
        .clone()
}

/// A directory holding the CPU and libvmaf plugins (the oracle), made once per process
/// as [`cpu_only_dir`] is.
pub fn cpu_libvmaf_dir() -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        build(&["qscore-cpu", "qscore-libvmaf"]);
        plugin_dir(
            "cpu-libvmaf",
            &[
                library("qscore_plugin_cpu"),
                library("qscore_plugin_libvmaf"),
            ],
        )
    })
    .clone()
}

/// A fresh directory containing links (copies where links fail) to `files`.
pub fn plugin_dir(name: &str, files: &[PathBuf]) -> PathBuf {
    let dir = profile_dir().join("test-plugin-dirs").join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create plugin dir");
    for file in files {
        let dest = dir.join(file.file_name().expect("file name"));
        std::fs::copy(file, &dest).expect("copy plugin into test dir");
    }
    dir
}

/// A fresh, empty scratch directory `group/name` under the tests' profile.
pub fn scratch(group: &str, name: &str) -> PathBuf {
    let dir = profile_dir().join(group).join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create scratch dir");
    dir
}

/// The features `vmaf_v0.6.1` reads, as `vmaf` outputs them.
pub const VMAF_FEATURES: [&str; 6] = [
    "vif_scale0",
    "vif_scale1",
    "vif_scale2",
    "vif_scale3",
    "adm2",
    "motion2",
];

/// Runs ffmpeg quietly; it is needed by the video tests (`.ci/run` installs it).
pub fn ffmpeg(args: &[&str]) {
    let status = Command::new("ffmpeg")
        .args(["-v", "error", "-y", "-nostdin"])
        .args(args)
        .status()
        .expect("ffmpeg is needed for the video tests (apt-get install ffmpeg)");
    assert!(status.success(), "ffmpeg {args:?}");
}

/// Processes whose command line mentions `needle` (to prove no decoder is left behind).
/// A process that has ended but is not yet reaped has no command line, so it is not listed.
pub fn processes_mentioning(needle: &str) -> Vec<String> {
    std::fs::read_dir("/proc")
        .unwrap()
        .filter_map(Result::ok)
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .filter(|cmd| cmd.contains(needle) && !cmd.contains("cargo"))
        .collect()
}

/// Waits (up to a minute) until `ready` holds, polling.
pub fn wait_for(what: &str, mut ready: impl FnMut() -> bool) {
    let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while !ready() {
        assert!(
            std::time::Instant::now() < end,
            "waited a minute for {what}"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
}

/// A started `qscore`, killed if the test fails before it ends.
pub struct Running(Option<std::process::Child>);

impl Running {
    pub fn spawn(command: &mut Command) -> Self {
        Self(Some(command.spawn().expect("start qscore")))
    }

    /// The process id.
    pub fn id(&self) -> u32 {
        self.0.as_ref().expect("running").id()
    }

    /// Sends `signal`, then waits for the process to end; returns its output.
    pub fn signal_and_wait(self, signal: i32) -> std::process::Output {
        let pid = self.0.as_ref().expect("running").id();
        // SAFETY: a plain syscall on our own child, which has not been reaped.
        assert_eq!(unsafe { libc::kill(pid as i32, signal) }, 0);
        self.wait()
    }

    /// Waits (up to a minute) for the process to end; returns its output.
    pub fn wait(mut self) -> std::process::Output {
        let mut child = self.0.take().expect("running");
        let end = std::time::Instant::now() + std::time::Duration::from_secs(60);
        while child.try_wait().unwrap().is_none() {
            if std::time::Instant::now() > end {
                let _ = child.kill();
                panic!("qscore did not end within a minute");
            }
            std::thread::sleep(std::time::Duration::from_millis(20));
        }
        child.wait_with_output().unwrap()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(child) = &mut self.0 {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Makes a named pipe that nobody writes to: a decoder opening it waits forever.
pub fn stalled_pipe(path: &Path) {
    let c_path = std::ffi::CString::new(path.display().to_string()).unwrap();
    // SAFETY: a valid C string; mkfifo only creates the file.
    assert_eq!(unsafe { libc::mkfifo(c_path.as_ptr(), 0o600) }, 0);
}
