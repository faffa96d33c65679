//! The metrics this plugin offers, what each asks libvmaf for, and their parameters.
//!
//! `vmaf` runs the model's own features (integer VIF, ADM and motion). The other
//! features are separate metrics so that each is computed only when asked for:
//! `--metric vmaf,float_ssim` opens two libvmaf contexts fed the same frames.

use std::ffi::CStr;

use qscore_core::{Error, TaskSpec, sdk};

/// A VMAF model built into libvmaf.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Model {
    /// `vmaf_v0.6.1`, the default: 1080p viewed at three picture heights.
    V061,
    /// `vmaf_v0.6.1neg`: the "no enhancement gain" variant (VIF and ADM gains capped at 1).
    V061Neg,
    /// `vmaf_4k_v0.6.1`: 4K viewed at 1.5 picture heights.
    FourK061,
}

impl Model {
    const ALL: [Self; 3] = [Self::V061, Self::V061Neg, Self::FourK061];

    /// libvmaf's name of the built-in model.
    pub(crate) fn version(self) -> &'static CStr {
        match self {
            Self::V061 => c"vmaf_v0.6.1",
            Self::V061Neg => c"vmaf_v0.6.1neg",
            Self::FourK061 => c"vmaf_4k_v0.6.1",
        }
    }

    fn name(self) -> &'static str {
        self.version().to_str().unwrap_or_default()
    }

    /// Our output names and the names libvmaf's feature collector stores them under.
    /// A feature run with non-default options (the neg model caps enhancement gain) is
    /// stored under its alias with the options appended.
    pub(crate) fn features(self) -> &'static [(&'static str, &'static CStr)] {
        match self {
            Self::V061 | Self::FourK061 => &[
                ("vif_scale0", c"VMAF_integer_feature_vif_scale0_score"),
                ("vif_scale1", c"VMAF_integer_feature_vif_scale1_score"),
                ("vif_scale2", c"VMAF_integer_feature_vif_scale2_score"),
                ("vif_scale3", c"VMAF_integer_feature_vif_scale3_score"),
                ("adm2", c"VMAF_integer_feature_adm2_score"),
                ("motion2", c"VMAF_integer_feature_motion2_score"),
            ],
            Self::V061Neg => &[
                ("vif_scale0", c"integer_vif_scale0_egl_1"),
                ("vif_scale1", c"integer_vif_scale1_egl_1"),
                ("vif_scale2", c"integer_vif_scale2_egl_1"),
                ("vif_scale3", c"integer_vif_scale3_egl_1"),
                ("adm2", c"integer_adm2_egl_1"),
                ("motion2", c"VMAF_integer_feature_motion2_score"),
            ],
        }
    }
}

/// What a metric asks libvmaf to compute.
#[derive(Debug, Clone, Copy)]
pub(crate) enum Extraction {
    /// A VMAF model: its features, then its prediction.
    Vmaf,
    /// One feature extractor, its options (key, value), and the values it stores (our
    /// output, collector name).
    Feature {
        extractor: &'static CStr,
        options: &'static [(&'static CStr, &'static CStr)],
        values: &'static [(&'static str, &'static CStr)],
    },
}

/// One metric of this plugin.
#[derive(Debug)]
pub(crate) struct MetricDef {
    pub(crate) id: &'static str,
    pub(crate) outputs: &'static [&'static str],
    pub(crate) params: &'static [&'static str],
    pub(crate) extraction: Extraction,
}

/// Every metric, in the order `qscore plugins` lists them.
pub(crate) const METRICS: &[MetricDef] = &[
    MetricDef {
        id: "vmaf",
        outputs: &[
            "vmaf",
            "vif_scale0",
            "vif_scale1",
            "vif_scale2",
            "vif_scale3",
            "adm2",
            "motion2",
        ],
        params: &[
            "model",
            "enable_transform",
            "disable_clip",
            "threads",
            "simd",
        ],
        extraction: Extraction::Vmaf,
    },
    MetricDef {
        id: "float_ssim",
        outputs: &["float_ssim"],
        params: &["threads", "simd"],
        extraction: Extraction::Feature {
            extractor: c"float_ssim",
            options: &[],
            values: &[("float_ssim", c"float_ssim")],
        },
    },
    MetricDef {
        id: "float_ms_ssim",
        outputs: &["float_ms_ssim"],
        params: &["threads", "simd"],
        extraction: Extraction::Feature {
            extractor: c"float_ms_ssim",
            options: &[],
            values: &[("float_ms_ssim", c"float_ms_ssim")],
        },
    },
    // libvmaf-sys builds libvmaf without its floating-point extractors (its `float`
    // feature does not compile), so PSNR comes from libvmaf's integer `psnr`
    // extractor: peak 2^bits − 1 on the integer samples, capped at 6·bits + 12 dB, the
    // same quantity as `float_psnr` (peak 255.75 on 10-bit samples divided by 4).
    MetricDef {
        id: "libvmaf_psnr",
        outputs: &["libvmaf_psnr_y", "libvmaf_psnr_cb", "libvmaf_psnr_cr"],
        params: &["threads", "simd"],
        extraction: Extraction::Feature {
            extractor: c"psnr",
            options: &[],
            values: &[
                ("libvmaf_psnr_y", c"psnr_y"),
                ("libvmaf_psnr_cb", c"psnr_cb"),
                ("libvmaf_psnr_cr", c"psnr_cr"),
            ],
        },
    },
    // libvmaf's integer ADM with its per-scale values (which it stores only in debug
    // mode), for comparing the CPU plugin's `adm` metric with libvmaf's.
    MetricDef {
        id: "libvmaf_adm",
        outputs: &[
            "libvmaf_adm2",
            "libvmaf_adm_scale0",
            "libvmaf_adm_scale1",
            "libvmaf_adm_scale2",
            "libvmaf_adm_scale3",
        ],
        params: &["threads", "simd"],
        extraction: Extraction::Feature {
            extractor: c"adm",
            options: &[(c"debug", c"true")],
            values: &[
                ("libvmaf_adm2", c"VMAF_integer_feature_adm2_score"),
                ("libvmaf_adm_scale0", c"integer_adm_scale0"),
                ("libvmaf_adm_scale1", c"integer_adm_scale1"),
                ("libvmaf_adm_scale2", c"integer_adm_scale2"),
                ("libvmaf_adm_scale3", c"integer_adm_scale3"),
            ],
        },
    },
];

/// The most threads a clip may ask libvmaf for.
const MAX_THREADS: u32 = 256;

/// A metric with its parameters read.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Settings {
    pub(crate) def: &'static MetricDef,
    pub(crate) model: Model,
    /// How the model is loaded: `VMAF_MODEL_FLAG_ENABLE_TRANSFORM` (its score transform
    /// applied: vmaf_v0.6.1's phone model) and `VMAF_MODEL_FLAG_DISABLE_CLIP`.
    pub(crate) model_flags: ModelFlags,
    /// libvmaf's `n_threads`: 0 runs the extractors on the pushing thread.
    pub(crate) threads: u32,
    /// Whether libvmaf may use its SIMD code (`simd=false` runs its portable C, which
    /// defines the features: some x86 paths of 2.3.1 read past rows at some widths).
    pub(crate) simd: bool,
}

/// libvmaf's model options that qscore's `vmaf` takes too.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct ModelFlags {
    pub(crate) enable_transform: bool,
    pub(crate) disable_clip: bool,
}

/// The definition of `metric`.
pub(crate) fn find(metric: &str) -> Result<&'static MetricDef, Error> {
    METRICS.iter().find(|m| m.id == metric).ok_or_else(|| {
        let known: Vec<&str> = METRICS.iter().map(|m| m.id).collect();
        Error::Unsupported(format!("metric {metric:?} (offered: {})", known.join(", ")))
    })
}

/// Reads `spec`'s parameters, refusing ones the metric does not take and bad values.
pub(crate) fn settings(spec: &TaskSpec) -> Result<Settings, Error> {
    let def = find(spec.metric.as_str())?;
    if let Some(unknown) = spec
        .params
        .iter()
        .find(|p| !def.params.contains(&p.key.as_str()))
    {
        return Err(Error::InvalidInput(format!(
            "{} has no parameter {:?} (accepted: {})",
            def.id,
            unknown.key.as_str(),
            def.params.join(", ")
        )));
    }
    let model = match spec.param("model") {
        None => Model::V061,
        Some(name) => Model::ALL
            .into_iter()
            .find(|m| m.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Model::ALL.iter().map(|m| m.name()).collect();
                Error::InvalidInput(format!(
                    "{}.model={name:?} is not a built-in model (known: {})",
                    def.id,
                    known.join(", ")
                ))
            })?,
    };
    let threads = match spec.param("threads") {
        None => 0,
        Some(text) => text
            .parse::<u32>()
            .ok()
            .filter(|&n| n <= MAX_THREADS)
            .ok_or_else(|| {
                Error::InvalidInput(format!(
                    "{}.threads={text:?} is not a thread count from 0 to {MAX_THREADS}",
                    def.id
                ))
            })?,
    };
    let model_flags = ModelFlags {
        enable_transform: sdk::bool_param(spec, "enable_transform", false)?,
        disable_clip: sdk::bool_param(spec, "disable_clip", false)?,
    };
    Ok(Settings {
        def,
        model,
        model_flags,
        threads,
        simd: sdk::bool_param(spec, "simd", true)?,
    })
}

#[cfg(test)]
mod tests {
    use qscore_core::{MemoryMode, Param, PixelFormat};

    use super::*;

    fn spec(metric: &str, params: &[(&str, &str)]) -> TaskSpec {
        let mut spec = TaskSpec::new(metric, 64, 64, PixelFormat::GRAY8, MemoryMode::FULL);
        spec.params = params
            .iter()
            .map(|(k, v)| Param {
                key: (*k).into(),
                value: (*v).into(),
            })
            .collect();
        spec
    }

    #[test]
    fn parameters_are_read_and_checked() {
        let s = settings(&spec("vmaf", &[])).unwrap();
        assert_eq!((s.model, s.threads), (Model::V061, 0));
        let s = settings(&spec(
            "vmaf",
            &[("model", "vmaf_4k_v0.6.1"), ("threads", "3")],
        ))
        .unwrap();
        assert_eq!((s.model, s.threads), (Model::FourK061, 3));
        assert_eq!(s.model_flags, ModelFlags::default());
        let s = settings(&spec(
            "vmaf",
            &[("enable_transform", "true"), ("disable_clip", "true")],
        ))
        .unwrap();
        let both = ModelFlags {
            enable_transform: true,
            disable_clip: true,
        };
        assert_eq!(s.model_flags, both);
        let cases = [
            (spec("vmaf", &[("model", "vmaf_v9")]), "known: vmaf_v0.6.1,"),
            (spec("vmaf", &[("threads", "-1")]), "thread count"),
            (spec("vmaf", &[("threads", "100000")]), "thread count"),
            (
                spec("vmaf", &[("disable_clip", "1")]),
                "vmaf.disable_clip=\"1\" is not true or false",
            ),
            (
                spec("float_ssim", &[("model", "vmaf_v0.6.1")]),
                "accepted: threads, simd",
            ),
            (spec("nope", &[]), "offered: vmaf, float_ssim"),
        ];
        for (spec, expected) in cases {
            let error = settings(&spec).unwrap_err().to_string();
            assert!(error.contains(expected), "{error}");
        }
    }

    #[test]
    fn every_output_has_a_value_source() {
        for def in METRICS {
            let names: Vec<&str> = match def.extraction {
                Extraction::Vmaf => std::iter::once("vmaf")
                    .chain(Model::V061.features().iter().map(|(o, _)| *o))
                    .collect(),
                Extraction::Feature { values, .. } => values.iter().map(|(o, _)| *o).collect(),
            };
            assert_eq!(names, def.outputs, "{}", def.id);
        }
        for model in Model::ALL {
            let outputs: Vec<&str> = model.features().iter().map(|(o, _)| *o).collect();
            assert_eq!(outputs, &METRICS[0].outputs[1..], "{}", model.name());
        }
    }
}
