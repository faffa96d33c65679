//! Images from Python: numpy arrays (copied into qscore's plane layout) or paths (decoded
//! by the host, as `qscore score` does).
//!
//! Arrays: H×W or H×W×1 grey, H×W×3 RGB, H×W×4 RGBA, of uint8 or uint16 (whose full range
//! is 16 bits, as in a 16-bit PNG), or H×W×3 float32 linear-light RGB. A 16-bit RGBA array
//! loses its alpha, as a 16-bit RGBA PNG does when decoded. Arrays must be C-contiguous:
//! a view with strides (a crop, a transpose) is refused rather than copied behind the
//! caller's back, so that `numpy.ascontiguousarray` stays the caller's visible choice.

use std::path::PathBuf;

use numpy::{
    Element, PyArrayDescrMethods, PyArrayDyn, PyArrayMethods, PyUntypedArray,
    PyUntypedArrayMethods, dtype,
};
use pyo3::prelude::*;
use qscore_core::{OwnedImage, PixelFormat};

use crate::errors::invalid;

/// A reference or distorted input as given.
pub(crate) enum Input {
    /// A file for the host to decode.
    Path(PathBuf),
    /// An array, already in qscore's layout.
    Image(OwnedImage),
}

/// `object` (named `what` in messages) as an input.
pub(crate) fn input(object: &Bound<'_, PyAny>, what: &str) -> PyResult<Input> {
    let py = object.py();
    if let Ok(array) = object.cast::<PyUntypedArray>() {
        return array_image(array, what).map(Input::Image);
    }
    if let Ok(path) = object.extract::<PathBuf>() {
        return Ok(Input::Path(path));
    }
    let kind = object
        .get_type()
        .name()
        .map_or_else(|_| "?".to_owned(), |n| n.to_string());
    Err(invalid(
        py,
        format!("{what}: is a {kind}; give a numpy array or a path"),
    ))
}

/// The pixel format of an array of `shape` whose samples are `kind` (`u8`, `u16`, `f32`).
fn format_of(shape: &[usize], kind: &str) -> Option<PixelFormat> {
    let channels = match shape {
        [_, _] | [_, _, 1] => 1,
        [_, _, c] => *c,
        _ => return None,
    };
    Some(match (channels, kind) {
        (1, "u8") => PixelFormat::GRAY8,
        (1, "u16") => PixelFormat::GRAY16,
        (3, "u8") => PixelFormat::RGB8,
        (4, "u8") => PixelFormat::RGBA8,
        (3 | 4, "u16") => PixelFormat::RGB16,
        (3, "f32") => PixelFormat::RGB_F32_LINEAR,
        _ => return None,
    })
}

const ACCEPTED: &str = "H×W or H×W×1 grey, H×W×3 RGB or H×W×4 RGBA of uint8 or uint16, \
                        or H×W×3 float32 linear RGB";

fn array_image(array: &Bound<'_, PyUntypedArray>, what: &str) -> PyResult<OwnedImage> {
    let py = array.py();
    let descr = array.dtype();
    let kind = if descr.is_equiv_to(&dtype::<u8>(py)) {
        "u8"
    } else if descr.is_equiv_to(&dtype::<u16>(py)) {
        "u16"
    } else if descr.is_equiv_to(&dtype::<f32>(py)) {
        "f32"
    } else {
        return Err(invalid(
            py,
            format!("{what}: dtype {descr} is not uint8, uint16 or float32 ({ACCEPTED})"),
        ));
    };
    let shape = array.shape().to_vec();
    let Some(format) = format_of(&shape, kind) else {
        return Err(invalid(
            py,
            format!("{what}: shape {shape:?} of {descr} is not an image ({ACCEPTED})"),
        ));
    };
    if shape[0] == 0 || shape[1] == 0 {
        return Err(invalid(
            py,
            format!("{what}: shape {shape:?} has no pixels"),
        ));
    }
    if !array.is_c_contiguous() {
        return Err(invalid(
            py,
            format!(
                "{what}: the array is not C-contiguous (strides {:?}); pass \
                 numpy.ascontiguousarray(...) of it",
                array.strides()
            ),
        ));
    }
    let (height, width) = (shape[0], shape[1]);
    let too_large = || invalid(py, format!("{what}: {width}x{height} is too large"));
    let width = u32::try_from(width).map_err(|_| too_large())?;
    let height = u32::try_from(height).map_err(|_| too_large())?;
    let plane = match kind {
        "u8" => bytes::<u8>(array, |s| s.to_vec())?,
        "u16" if shape.get(2) == Some(&4) => bytes::<u16>(array, |s| {
            s.chunks_exact(4)
                .flat_map(|p| &p[..3])
                .flat_map(|v| v.to_ne_bytes())
                .collect()
        })?,
        "u16" => bytes::<u16>(array, |s| s.iter().flat_map(|v| v.to_ne_bytes()).collect())?,
        _ => bytes::<f32>(array, |s| s.iter().flat_map(|v| v.to_ne_bytes()).collect())?,
    };
    Ok(OwnedImage {
        format,
        width,
        height,
        planes: vec![plane],
    })
}

/// The array's samples, read as `T`, turned into plane bytes by `convert`.
fn bytes<T: Element + Copy>(
    array: &Bound<'_, PyUntypedArray>,
    convert: impl FnOnce(&[T]) -> Vec<u8>,
) -> PyResult<Vec<u8>> {
    let typed = array.cast::<PyArrayDyn<T>>()?;
    let readonly = typed.try_readonly()?;
    let samples = readonly.as_slice()?;
    Ok(convert(samples))
}
