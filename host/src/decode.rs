//! Decoding image files into owned images.

use std::path::Path;

use image::{DynamicImage, ImageReader, Limits};
use qscore_core::{OwnedImage, PixelFormat};

use crate::InputError;

/// Largest decoded image accepted, in bytes (a 16k×16k RGBA16 image is 2 GiB).
const MAX_DECODED_BYTES: u64 = 4 << 30;

fn input_error(path: &Path, reason: impl Into<String>) -> InputError {
    InputError {
        path: path.to_path_buf(),
        reason: reason.into(),
    }
}

/// Decodes PNG (8/16-bit), JPEG, PPM/PGM or TIFF into the closest format
/// qscore has: RGB8, RGBA8, GRAY8, RGB16, GRAY16 or linear `f32` RGB.
pub fn decode_image(path: &Path) -> Result<OwnedImage, InputError> {
    decode_dynamic(path).map(owned)
}

/// Decodes `path` and converts it to `format` (one of those [`decode_image`] produces),
/// so that a distorted image decoded as, say, grey compares with an RGB reference.
pub fn decode_image_as(path: &Path, format: PixelFormat) -> Result<OwnedImage, InputError> {
    let image = decode_dynamic(path)?;
    let converted = match format {
        PixelFormat::RGB8 => DynamicImage::ImageRgb8(image.into_rgb8()),
        PixelFormat::RGBA8 => DynamicImage::ImageRgba8(image.into_rgba8()),
        PixelFormat::GRAY8 => DynamicImage::ImageLuma8(image.into_luma8()),
        PixelFormat::RGB16 => DynamicImage::ImageRgb16(image.into_rgb16()),
        PixelFormat::GRAY16 => DynamicImage::ImageLuma16(image.into_luma16()),
        _ => DynamicImage::ImageRgb32F(image.into_rgb32f()),
    };
    Ok(owned(converted))
}

fn decode_dynamic(path: &Path) -> Result<DynamicImage, InputError> {
    let meta = std::fs::metadata(path).map_err(|e| input_error(path, e.to_string()))?;
    if meta.is_dir() {
        return Err(input_error(path, "is a directory, not an image"));
    }
    if meta.len() == 0 {
        return Err(input_error(path, "is empty (0 bytes)"));
    }
    let mut reader = ImageReader::open(path)
        .map_err(|e| input_error(path, e.to_string()))?
        .with_guessed_format()
        .map_err(|e| input_error(path, e.to_string()))?;
    if reader.format().is_none() {
        return Err(input_error(path, "unrecognised image format"));
    }
    let mut limits = Limits::default();
    limits.max_alloc = Some(MAX_DECODED_BYTES);
    reader.limits(limits);
    reader
        .decode()
        .map_err(|e| input_error(path, format!("cannot decode: {e}")))
}

fn owned(image: DynamicImage) -> OwnedImage {
    let (width, height) = (image.width(), image.height());
    let pack16 = |samples: &[u16]| samples.iter().flat_map(|v| v.to_ne_bytes()).collect();
    let (format, bytes): (PixelFormat, Vec<u8>) = match image {
        DynamicImage::ImageRgb8(i) => (PixelFormat::RGB8, i.into_raw()),
        DynamicImage::ImageRgba8(i) => (PixelFormat::RGBA8, i.into_raw()),
        DynamicImage::ImageLuma8(i) => (PixelFormat::GRAY8, i.into_raw()),
        DynamicImage::ImageLumaA8(i) => (
            PixelFormat::GRAY8,
            DynamicImage::ImageLumaA8(i).into_luma8().into_raw(),
        ),
        DynamicImage::ImageLuma16(i) => (PixelFormat::GRAY16, pack16(i.as_raw())),
        DynamicImage::ImageLumaA16(i) => (
            PixelFormat::GRAY16,
            pack16(DynamicImage::ImageLumaA16(i).into_luma16().as_raw()),
        ),
        DynamicImage::ImageRgb16(i) => (PixelFormat::RGB16, pack16(i.as_raw())),
        DynamicImage::ImageRgba16(i) => (
            PixelFormat::RGB16,
            pack16(DynamicImage::ImageRgba16(i).into_rgb16().as_raw()),
        ),
        other => {
            // Float images (e.g. TIFF f32) are taken as linear light.
            let rgb = other.into_rgb32f();
            (
                PixelFormat::RGB_F32_LINEAR,
                rgb.as_raw().iter().flat_map(|v| v.to_ne_bytes()).collect(),
            )
        }
    };
    OwnedImage {
        format,
        width,
        height,
        planes: vec![bytes],
    }
}
