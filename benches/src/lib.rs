//! Shared by qscore's benchmarks: the CPU plugin, loaded the way the host loads
//! it, and real test images at the sizes the benchmarks use.
//!
//! The benchmarks themselves live in `benches/` (see the README next to this crate).

use std::{
    path::{Path, PathBuf},
    process::Command,
    sync::Arc,
};

use qscore_core::{ImageView, MemoryMode, OwnedImage, PixelFormat, PlaneView, TaskSpec};
use qscore_host::{Plugin, Session};

/// The CPU plugin's metrics, in the order the benchmarks report them.
pub const CPU_METRICS: [&str; 5] = ["psnr", "ssim", "ms_ssim", "ssimulacra2", "butteraugli"];

/// The repository's root: `QSCORE_REPO_ROOT` when the benchmark runs on a machine it was
/// copied to (a GPU machine without a Rust toolchain), else the source tree.
pub fn repo_root() -> PathBuf {
    std::env::var_os("QSCORE_REPO_ROOT")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join(".."))
}

/// The profile directory this benchmark was built into (`target/release` for `cargo bench`,
/// `target/debug` when cargo runs benchmarks as tests).
fn profile_dir() -> PathBuf {
    let exe = std::env::current_exe().expect("path of the running benchmark");
    exe.parent()
        .and_then(Path::parent)
        .expect("benchmark executables live in <profile>/deps")
        .to_path_buf()
}

/// Loads the CPU plugin's cdylib from the profile directory this benchmark was built into.
pub fn cpu_plugin() -> Arc<Plugin> {
    plugin("qscore-cpu", "qscore_plugin_cpu")
}

/// Loads plugin package `package` (library `lib`) from the profile directory this benchmark
/// was built into.
///
/// Cargo does not build a workspace's cdylibs for `cargo bench -p qscore-benches`, so
/// `cargo build -p PACKAGE` runs first, in the same profile and target directory. It is
/// run every time (it does nothing when the library is up to date) so that numbers are
/// not taken from a stale plugin; if that build fails (or there is no cargo, as on a
/// machine the benchmark was copied to) but a library is already there, the benchmark
/// warns and uses it rather than giving up.
pub fn plugin(package: &str, lib: &str) -> Arc<Plugin> {
    let profile = profile_dir();
    let target = profile.parent().expect("profile directory has a parent");
    let mut cargo = Command::new(env!("CARGO"));
    cargo
        .args(["build", "--quiet", "-p", package, "--manifest-path"])
        .arg(repo_root().join("Cargo.toml"))
        .arg("--target-dir")
        .arg(target);
    if profile.file_name().is_some_and(|name| name == "release") {
        cargo.arg("--release");
    }
    let built = cargo.status().is_ok_and(|status| status.success());
    let library = profile.join(format!(
        "{}{lib}.{}",
        std::env::consts::DLL_PREFIX,
        std::env::consts::DLL_EXTENSION
    ));
    if !built {
        assert!(
            library.is_file(),
            "cargo build -p {package} failed and there is no {}",
            library.display()
        );
        eprintln!(
            "warning: cargo build -p {package} failed; benchmarking the existing {}, \
             which may be stale",
            library.display()
        );
    }
    let plugin = qscore_host::load_plugin(&library)
        .unwrap_or_else(|e| panic!("load {}: {e}", library.display()));
    Arc::new(plugin)
}

/// Opens a full-memory session of the CPU plugin (device 0) for `metric` on RGB8 images.
pub fn open_rgb8(plugin: &Arc<Plugin>, metric: &str, width: u32, height: u32) -> Session {
    let spec = TaskSpec::new(metric, width, height, PixelFormat::RGB8, MemoryMode::FULL);
    plugin
        .open_session(0, &spec)
        .unwrap_or_else(|e| panic!("open {metric} at {width}x{height}: {e}"))
}

/// A decoded test image from `data/images`, as tightly packed RGB8.
pub fn image(name: &str) -> OwnedImage {
    let path = repo_root().join("data/images").join(name);
    let image = qscore_host::decode_image_as(&path, PixelFormat::RGB8)
        .unwrap_or_else(|e| panic!("decode {}: {e}", path.display()));
    assert_eq!(image.format, PixelFormat::RGB8);
    image
}

/// Index into `0..len` of position `i` when a line of `len` samples is repeated
/// mirrored (`0 1 2 2 1 0 0 1 2 …`), so tiles meet without seams.
fn mirrored(i: usize, len: usize) -> usize {
    let m = i % (2 * len);
    if m < len { m } else { 2 * len - 1 - m }
}

/// `image` (tightly packed RGB8) tiled by mirroring to `width`×`height`.
pub fn tile_mirrored(image: &OwnedImage, width: u32, height: u32) -> OwnedImage {
    assert_eq!(image.format, PixelFormat::RGB8);
    let (sw, sh) = (image.width as usize, image.height as usize);
    let source = &image.planes[0];
    let (w, h) = (width as usize, height as usize);
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = &source[mirrored(y, sh) * sw * 3..][..sw * 3];
        for x in 0..w {
            let sx = mirrored(x, sw) * 3;
            out.extend_from_slice(&row[sx..sx + 3]);
        }
    }
    OwnedImage {
        format: PixelFormat::RGB8,
        width,
        height,
        planes: vec![out],
    }
}

/// A reference and its distorted version, both tightly packed RGB8.
#[derive(Debug)]
pub struct Pair {
    /// Size label for benchmark ids, e.g. `512x512`.
    pub label: String,
    /// The original.
    pub reference: OwnedImage,
    /// The same content after JPEG at quality 40.
    pub distorted: OwnedImage,
}

impl Pair {
    /// `flower_512.png` and its JPEG q40 version, tiled by mirroring to `width`×`height`
    /// (no tiling at 512×512).
    pub fn flower(width: u32, height: u32) -> Self {
        let reference = image("flower_512.png");
        let distorted = image("flower_512__jpeg_q40.png");
        let (reference, distorted) = if (width, height) == (reference.width, reference.height) {
            (reference, distorted)
        } else {
            (
                tile_mirrored(&reference, width, height),
                tile_mirrored(&distorted, width, height),
            )
        };
        Self {
            label: format!("{width}x{height}"),
            reference,
            distorted,
        }
    }

    /// Pixels in one image.
    pub fn pixels(&self) -> u64 {
        u64::from(self.reference.width) * u64::from(self.reference.height)
    }

    /// Width and height.
    pub fn size(&self) -> (u32, u32) {
        (self.reference.width, self.reference.height)
    }
}

/// A view of `image` over `planes` (its [`OwnedImage::plane_views`]), built once outside a
/// timed loop.
pub fn view<'a>(image: &OwnedImage, planes: &'a [PlaneView<'a>]) -> ImageView<'a> {
    ImageView::new(image.format, image.width, image.height, planes)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mirroring_repeats_without_seams() {
        let got: Vec<usize> = (0..8).map(|i| mirrored(i, 3)).collect();
        assert_eq!(got, [0, 1, 2, 2, 1, 0, 0, 1]);
    }

    #[test]
    fn tiling_keeps_the_original_in_the_top_left() {
        let small = OwnedImage {
            format: PixelFormat::RGB8,
            width: 2,
            height: 1,
            planes: vec![vec![1, 2, 3, 4, 5, 6]],
        };
        let big = tile_mirrored(&small, 5, 2);
        let row = [1, 2, 3, 4, 5, 6, 4, 5, 6, 1, 2, 3, 1, 2, 3];
        assert_eq!(big.planes[0][..15], row);
        assert_eq!(big.planes[0][15..], row);
    }
}
