//! The encoders `qscore tune` knows: ffmpeg's name, the knob it bisects and its default range.

/// One encoder.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Encoder {
    /// ffmpeg's name (`-c:v`).
    pub name: &'static str,
    /// The option the search sets (`-crf`).
    pub knob: &'static str,
    /// The knob's whole range.
    pub limits: (u32, u32),
    /// The default search range.
    pub default_range: (u32, u32),
    /// Arguments the knob needs to mean constant quality (`-b:v 0` for libvpx and libaom).
    pub constant_quality: &'static [&'static str],
}

/// Every encoder `tune` knows.
pub const ENCODERS: &[Encoder] = &[
    Encoder {
        name: "libx264",
        knob: "-crf",
        limits: (0, 51),
        default_range: (16, 40),
        constant_quality: &[],
    },
    Encoder {
        name: "libx265",
        knob: "-crf",
        limits: (0, 51),
        default_range: (16, 40),
        constant_quality: &[],
    },
    Encoder {
        name: "libsvtav1",
        knob: "-crf",
        limits: (1, 63),
        default_range: (20, 55),
        constant_quality: &[],
    },
    Encoder {
        name: "libaom-av1",
        knob: "-crf",
        limits: (0, 63),
        default_range: (20, 55),
        constant_quality: &["-b:v", "0"],
    },
    Encoder {
        name: "libvpx-vp9",
        knob: "-crf",
        limits: (0, 63),
        default_range: (20, 55),
        constant_quality: &["-b:v", "0"],
    },
];

/// The encoder named `name`, or an error listing the known ones.
pub fn find(name: &str) -> Result<&'static Encoder, String> {
    ENCODERS.iter().find(|e| e.name == name).ok_or_else(|| {
        let known: Vec<&str> = ENCODERS.iter().map(|e| e.name).collect();
        format!("unknown encoder {name:?} (known: {})", known.join(", "))
    })
}

/// Checks a search range against the encoder's limits.
pub fn check_range(encoder: &Encoder, (lo, hi): (u32, u32)) -> Result<(), String> {
    let (min, max) = encoder.limits;
    if lo > hi || lo < min || hi > max {
        return Err(format!(
            "--range {lo}:{hi} is not within {}'s {} range {min}:{max} (low to high)",
            encoder.name, encoder.knob
        ));
    }
    Ok(())
}

/// Whether a lower value of `metric` is better (butteraugli's distances).
pub fn lower_is_better(metric: &str) -> bool {
    metric.starts_with("butteraugli")
}

/// The values `metric` can take, where known, to refuse a target outside them.
pub fn metric_range(metric: &str) -> Option<(f64, f64)> {
    match metric {
        "vmaf" => Some((0.0, 100.0)),
        "ssim" | "ms_ssim" | "float_ssim" | "float_ms_ssim" => Some((0.0, 1.0)),
        "ssimulacra2" => Some((f64::NEG_INFINITY, 100.0)),
        m if m.starts_with("psnr") || m.starts_with("butteraugli") => Some((0.0, f64::INFINITY)),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn encoders_ranges_and_targets_are_checked() {
        let x264 = find("libx264").unwrap();
        assert!(check_range(x264, (18, 40)).is_ok());
        assert!(check_range(x264, (40, 18)).is_err());
        assert!(check_range(x264, (18, 60)).unwrap_err().contains("0:51"));
        assert!(find("libx266").unwrap_err().contains("libx264"));
        assert!(lower_is_better("butteraugli_pnorm3"));
        assert!(!lower_is_better("vmaf"));
        assert_eq!(metric_range("vmaf"), Some((0.0, 100.0)));
    }
}
