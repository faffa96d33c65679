//! A safe wrapper over the parts of libvmaf's C API this plugin uses: a context fed
//! picture pairs in order, built-in models, and per-frame and pooled scores.
//!
//! Every `unsafe` block of the crate is here.

use std::{ffi::CStr, ptr, ptr::NonNull};

use libvmaf_sys as sys;
use qscore_core::{ChromaSubsampling, ImageView, PixelFormat};

use crate::{
    error::{LibvmafError, check},
    metrics::ModelFlags,
};

/// libvmaf's layout for one of our YUV formats, or `None` for a format it cannot take.
pub(crate) fn layout(format: PixelFormat) -> Option<(sys::VmafPixelFormat, u32)> {
    let (subsampling, bits) = format.as_yuv()?;
    let pix_fmt = match subsampling {
        ChromaSubsampling::Yuv420 => sys::VmafPixelFormat::VMAF_PIX_FMT_YUV420P,
        ChromaSubsampling::Yuv422 => sys::VmafPixelFormat::VMAF_PIX_FMT_YUV422P,
        ChromaSubsampling::Yuv444 => sys::VmafPixelFormat::VMAF_PIX_FMT_YUV444P,
    };
    (8..=16).contains(&bits).then_some((pix_fmt, bits))
}

/// A built-in VMAF model.
#[derive(Debug)]
pub(crate) struct Model(NonNull<sys::VmafModel>);

// SAFETY: a loaded model is read-only data; libvmaf reads it from whichever thread
// asks for a score, and this wrapper never shares it between threads.
unsafe impl Send for Model {}

impl Model {
    /// Loads the built-in model `version` (e.g. `vmaf_v0.6.1`); with default `flags`, as
    /// the `vmaf` tool does (scores clipped to the model's range, no score transform).
    pub(crate) fn built_in(version: &CStr, flags: ModelFlags) -> Result<Self, LibvmafError> {
        let mut bits = sys::VmafModelFlags::VMAF_MODEL_FLAGS_DEFAULT as u64;
        if flags.enable_transform {
            bits |= sys::VmafModelFlags::VMAF_MODEL_FLAG_ENABLE_TRANSFORM as u64;
        }
        if flags.disable_clip {
            bits |= sys::VmafModelFlags::VMAF_MODEL_FLAG_DISABLE_CLIP as u64;
        }
        let mut config = sys::VmafModelConfig {
            name: version.as_ptr(),
            flags: bits,
        };
        let mut model = ptr::null_mut();
        // SAFETY: valid out-pointer and config; libvmaf copies the strings it keeps.
        check("vmaf_model_load", unsafe {
            sys::vmaf_model_load(&mut model, &mut config, version.as_ptr())
        })?;
        NonNull::new(model).map(Self).ok_or(LibvmafError::Call {
            call: "vmaf_model_load",
            code: -22,
        })
    }
}

impl Drop for Model {
    fn drop(&mut self) {
        // SAFETY: loaded by vmaf_model_load, destroyed once.
        unsafe { sys::vmaf_model_destroy(self.0.as_ptr()) };
    }
}

/// A libvmaf context: feature extractors plus the scores they have collected.
#[derive(Debug)]
pub(crate) struct Context(NonNull<sys::VmafContext>);

// SAFETY: the context has no thread affinity (its optional thread pool is its own);
// the clip session that owns it is used by one thread at a time.
unsafe impl Send for Context {}

impl Context {
    /// A context with `threads` worker threads of its own (0: extract on the caller's
    /// thread), using libvmaf's SIMD code or only its portable C.
    pub(crate) fn new(threads: u32, simd: bool) -> Result<Self, LibvmafError> {
        let config = sys::VmafConfiguration {
            log_level: sys::VmafLogLevel::VMAF_LOG_LEVEL_NONE,
            n_threads: threads,
            n_subsample: 1,
            // Bits set here turn the matching CPU features off.
            cpumask: if simd { 0 } else { u64::MAX },
        };
        let mut context = ptr::null_mut();
        // SAFETY: valid out-pointer; the configuration is passed by value.
        check("vmaf_init", unsafe { sys::vmaf_init(&mut context, config) })?;
        NonNull::new(context).map(Self).ok_or(LibvmafError::Call {
            call: "vmaf_init",
            code: -22,
        })
    }

    /// Registers the feature extractors `model` needs, with the model's options.
    pub(crate) fn use_model_features(&mut self, model: &Model) -> Result<(), LibvmafError> {
        // SAFETY: both pointers are live; libvmaf copies what it needs from the model.
        check("vmaf_use_features_from_model", unsafe {
            sys::vmaf_use_features_from_model(self.0.as_ptr(), model.0.as_ptr())
        })
    }

    /// Registers the feature extractor `name` with `options` (key, value), the rest at
    /// their defaults.
    pub(crate) fn use_feature(
        &mut self,
        name: &CStr,
        options: &[(&CStr, &CStr)],
    ) -> Result<(), LibvmafError> {
        let mut dict = ptr::null_mut();
        for (key, value) in options {
            // SAFETY: a valid out-pointer and NUL-terminated strings, which libvmaf copies.
            check("vmaf_feature_dictionary_set", unsafe {
                sys::vmaf_feature_dictionary_set(&mut dict, key.as_ptr(), value.as_ptr())
            })?;
        }
        // SAFETY: live context, NUL-terminated name; libvmaf takes over the dictionary.
        check("vmaf_use_feature", unsafe {
            sys::vmaf_use_feature(self.0.as_ptr(), name.as_ptr(), dict)
        })
    }

    /// Hands frame `index` (reference and distorted, already validated against the
    /// clip's spec) to the extractors.
    pub(crate) fn read(
        &mut self,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
        index: u32,
    ) -> Result<(), LibvmafError> {
        let mut r = Picture::copy_of(reference)?;
        let mut d = Picture::copy_of(distorted)?;
        // SAFETY: both pictures were allocated by vmaf_picture_alloc. libvmaf takes
        // them over (and unreferences them when done), so they are forgotten here.
        let code = unsafe { sys::vmaf_read_pictures(self.0.as_ptr(), &mut r.0, &mut d.0, index) };
        std::mem::forget(r);
        std::mem::forget(d);
        check("vmaf_read_pictures", code)
    }

    /// Waits for every queued frame and runs the extractors' end-of-clip work.
    pub(crate) fn flush(&mut self) -> Result<(), LibvmafError> {
        // SAFETY: null pictures are libvmaf's flush request.
        check("vmaf_read_pictures (flush)", unsafe {
            sys::vmaf_read_pictures(self.0.as_ptr(), ptr::null_mut(), ptr::null_mut(), 0)
        })
    }

    /// The collected feature `name` of frame `index`.
    pub(crate) fn feature(&mut self, name: &CStr, index: u32) -> Result<f64, LibvmafError> {
        let mut score = 0.0;
        // SAFETY: live context, NUL-terminated name, valid out-pointer.
        let code = unsafe {
            sys::vmaf_feature_score_at_index(self.0.as_ptr(), name.as_ptr(), &mut score, index)
        };
        if code < 0 {
            return Err(LibvmafError::MissingValue {
                name: name.to_string_lossy().into_owned(),
                index,
            });
        }
        Ok(score)
    }

    /// The mean of feature `name` over frames `0..frames`, as libvmaf pools it.
    pub(crate) fn feature_mean(&mut self, name: &CStr, frames: u32) -> Result<f64, LibvmafError> {
        let mut score = 0.0;
        // SAFETY: as in `feature`; the range covers frames that were read.
        check("vmaf_feature_score_pooled", unsafe {
            sys::vmaf_feature_score_pooled(
                self.0.as_ptr(),
                name.as_ptr(),
                sys::VmafPoolingMethod::VMAF_POOL_METHOD_MEAN,
                &mut score,
                0,
                frames - 1,
            )
        })?;
        Ok(score)
    }

    /// The model's prediction for frame `index`.
    pub(crate) fn score(&mut self, model: &Model, index: u32) -> Result<f64, LibvmafError> {
        let mut score = 0.0;
        // SAFETY: live context and model, valid out-pointer.
        check("vmaf_score_at_index", unsafe {
            sys::vmaf_score_at_index(self.0.as_ptr(), model.0.as_ptr(), &mut score, index)
        })?;
        Ok(score)
    }

    /// The mean of the model's predictions over frames `0..frames`.
    pub(crate) fn score_mean(&mut self, model: &Model, frames: u32) -> Result<f64, LibvmafError> {
        let mut score = 0.0;
        // SAFETY: as in `score`; the range covers frames that were read.
        check("vmaf_score_pooled", unsafe {
            sys::vmaf_score_pooled(
                self.0.as_ptr(),
                model.0.as_ptr(),
                sys::VmafPoolingMethod::VMAF_POOL_METHOD_MEAN,
                &mut score,
                0,
                frames - 1,
            )
        })?;
        Ok(score)
    }
}

impl Drop for Context {
    fn drop(&mut self) {
        // SAFETY: made by vmaf_init, closed once; vmaf_close waits for its threads.
        unsafe { sys::vmaf_close(self.0.as_ptr()) };
    }
}

/// A picture allocated by libvmaf, unreferenced on drop unless handed to libvmaf.
struct Picture(sys::VmafPicture);

impl Picture {
    /// libvmaf's copy of `image` (a YUV format [`layout`] accepts).
    fn copy_of(image: &ImageView<'_>) -> Result<Self, LibvmafError> {
        let (pix_fmt, bits) = layout(image.format).ok_or(LibvmafError::Call {
            call: "vmaf_picture_alloc (format)",
            code: -22,
        })?;
        // SAFETY: all-zero is a valid empty VmafPicture (null pointers, zero sizes).
        let mut picture: sys::VmafPicture = unsafe { std::mem::zeroed() };
        // SAFETY: valid out-pointer; libvmaf allocates the planes.
        let code = unsafe {
            sys::vmaf_picture_alloc(&mut picture, pix_fmt, bits, image.width, image.height)
        };
        if code < 0 || picture.data[0].is_null() {
            return Err(LibvmafError::PictureAlloc {
                width: image.width,
                height: image.height,
            });
        }
        let picture = Self(picture);
        let sample_bytes = if bits > 8 { 2 } else { 1 };
        for (p, plane) in image.planes.iter().enumerate().take(3) {
            let (w, h) = (picture.0.w[p] as usize, picture.0.h[p] as usize);
            let row_bytes = w * sample_bytes;
            let stride = picture.0.stride[p] as usize;
            for y in 0..h {
                let source = plane.row(y, row_bytes);
                // SAFETY: libvmaf allocated `h` rows of `stride >= row_bytes` bytes for
                // this plane, and `source` holds `row_bytes` bytes (validated view).
                unsafe {
                    ptr::copy_nonoverlapping(
                        source.as_ptr(),
                        picture.0.data[p].cast::<u8>().add(y * stride),
                        row_bytes,
                    );
                }
            }
        }
        Ok(picture)
    }
}

impl Drop for Picture {
    fn drop(&mut self) {
        // SAFETY: allocated by vmaf_picture_alloc and still ours.
        unsafe { sys::vmaf_picture_unref(&mut self.0) };
    }
}
