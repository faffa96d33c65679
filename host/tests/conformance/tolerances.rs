//! Each backend's declared tolerance per value, with the reason it is that big.
//! The conformance suite fails a value that is further from the external golden.

/// How a tolerance is measured.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Tolerance {
    /// |ours − golden| ≤ the bound.
    Absolute(f64),
    /// |ours − golden| ≤ the bound × |golden|.
    Relative(f64),
}

impl Tolerance {
    pub(crate) fn accepts(self, ours: f64, golden: f64) -> bool {
        let diff = (ours - golden).abs();
        match self {
            Self::Absolute(bound) => diff <= bound,
            Self::Relative(bound) => diff <= bound * golden.abs(),
        }
    }
}

/// One declared tolerance.
#[derive(Debug)]
pub(crate) struct Declared {
    pub(crate) plugin: &'static str,
    pub(crate) value: &'static str,
    pub(crate) tolerance: Tolerance,
    pub(crate) reason: &'static str,
}

/// Every declaration. A (plugin, value) pair without one is not checked, and the
/// suite says so.
pub(crate) const DECLARED: &[Declared] = &[
    Declared {
        plugin: "cpu",
        value: "psnr",
        tolerance: Tolerance::Absolute(1e-6),
        reason: "f64 MSE over every sample, as scikit-image; only summation order differs",
    },
    Declared {
        plugin: "cpu",
        value: "ssim",
        tolerance: Tolerance::Absolute(1e-5),
        reason: "f64 throughout like scikit-image; separable filtering changes rounding only",
    },
    Declared {
        plugin: "cpu",
        value: "ssimulacra2",
        tolerance: Tolerance::Absolute(1e-4),
        reason: "fast-ssim2 works in f32 with SIMD blurs; it matches libjxl to 5e-7 on these images",
    },
    Declared {
        plugin: "cpu",
        value: "butteraugli",
        tolerance: Tolerance::Relative(1e-4),
        reason: "the butteraugli crate is an f32 port of libjxl; max-norm matches to 1e-5 relative",
    },
    Declared {
        plugin: "cpu",
        value: "butteraugli_pnorm3",
        tolerance: Tolerance::Relative(1e-4),
        reason: "same computation as the max-norm; libjxl prints the 3-norm to 6 digits",
    },
    Declared {
        plugin: "cpu",
        value: "psnr_y",
        tolerance: Tolerance::Absolute(5e-5),
        reason: "libvmaf's golden is asserted to 4 decimal places; libvmaf sums in f32",
    },
    Declared {
        plugin: "cpu",
        value: "ssim@yuv",
        tolerance: Tolerance::Absolute(5e-5),
        reason: "libvmaf's float_ssim uses 6-digit Gaussian taps in f32 (1.3e-5 from exact); asserted to 4 places",
    },
    Declared {
        plugin: "cpu",
        value: "ms_ssim",
        tolerance: Tolerance::Absolute(5e-5),
        reason: "libvmaf's golden is asserted to 4 decimal places",
    },
    // The cube kernels, declared once for every runtime that runs them (wgpu, cuda, hip).
    Declared {
        plugin: "cube",
        value: "psnr",
        tolerance: Tolerance::Absolute(1e-4),
        reason: "squared errors summed in f32 per 4096 samples, partials added in f64",
    },
    Declared {
        plugin: "cube",
        value: "ssim",
        tolerance: Tolerance::Absolute(1e-5),
        reason: "f32 filtering and statistics (scikit-image uses f64); map mean finished in f64",
    },
    Declared {
        plugin: "cube",
        value: "ssimulacra2",
        tolerance: Tolerance::Absolute(1e-4),
        reason: "libjxl's recursive blur, XYB and quotients reproduced bit for bit in f32; \
                 only the order of the final f32/f64 sums differs",
    },
    Declared {
        plugin: "cube",
        value: "butteraugli",
        tolerance: Tolerance::Relative(1e-4),
        reason: "libjxl's f32 pipeline on the device; its sums (blur taps, Malta lines, the \
                 norms' partials) run in another f32 order (1.4e-6 measured on lavapipe)",
    },
    Declared {
        plugin: "cube",
        value: "butteraugli_pnorm3",
        tolerance: Tolerance::Relative(1e-4),
        reason: "the same map as the max-norm; d³, d⁶, d¹² summed in f32 per 4096 pixels, \
                 partials in f64; libjxl prints the 3-norm to 6 digits",
    },
    Declared {
        plugin: "cube",
        value: "psnr_y",
        tolerance: Tolerance::Absolute(5e-5),
        reason: "libvmaf's golden is asserted to 4 decimal places; both sum in f32",
    },
    Declared {
        plugin: "cube",
        value: "ssim@yuv",
        tolerance: Tolerance::Absolute(5e-5),
        reason: "the CPU plugin's definition (exact Gaussian taps) is 1.3e-5 from libvmaf's \
                 rounded taps; asserted to 4 places",
    },
    Declared {
        plugin: "cube",
        value: "ms_ssim",
        tolerance: Tolerance::Absolute(5e-5),
        reason: "libvmaf's golden is asserted to 4 decimal places; f32 like libvmaf",
    },
];

/// Plugins that run the same cube kernels share one declaration.
fn declaring(plugin: &str) -> &str {
    match plugin {
        "wgpu" | "cuda" | "hip" => "cube",
        other => other,
    }
}

/// The declaration for `value` on `plugin`.
pub(crate) fn declared(plugin: &str, value: &str) -> Option<&'static Declared> {
    let plugin = declaring(plugin);
    DECLARED
        .iter()
        .find(|d| d.plugin == plugin && d.value == value)
}
