//! From borrowed image views to what each metric consumes.
//!
//! Conventions (documented in the README's metric definitions):
//! - packed RGB/grey: channels keep their coded values; the data range is the
//!   format's full scale (255, 65535, or 1.0 for linear `f32`); alpha is ignored;
//! - YUV: samples keep their integer values; libvmaf's float convention divides
//!   high-bit-depth samples by 2^(bits−8) where a metric works at 8-bit scale;
//! - luma of RGB: BT.709 weights on the coded (gamma-encoded) values;
//! - linear RGB of YUV (for SSIMULACRA2 and butteraugli): BT.709 limited range,
//!   chroma upsampled by replication, sRGB transfer curve to linear light.

use std::borrow::Cow;

use qscore_core::{Error, FormatInfo, ImageView, PixelFormat};

use crate::metrics::{Plane, luma::Luma};

/// One sample of a plane row, as `f64`.
fn sample(row: &[u8], index: usize, sample_bytes: usize) -> f64 {
    match sample_bytes {
        1 => f64::from(row[index]),
        2 => f64::from(u16::from_ne_bytes([row[2 * index], row[2 * index + 1]])),
        _ => f64::from(f32::from_ne_bytes([
            row[4 * index],
            row[4 * index + 1],
            row[4 * index + 2],
            row[4 * index + 3],
        ])),
    }
}

/// Full-scale value of a packed format's samples.
pub(crate) fn data_range(info: &FormatInfo) -> f64 {
    match info.sample_bytes {
        1 => 255.0,
        2 => f64::from((1u32 << info.bits) - 1),
        _ => 1.0,
    }
}

/// Colour channels of a packed image (R, G, B or grey; alpha dropped), coded values.
pub(crate) fn channels(view: &ImageView<'_>) -> Result<Vec<Plane>, Error> {
    let info = view.validate()?;
    if info.yuv.is_some() {
        return Ok(yuv_planes(view, &info));
    }
    let (w, h) = (view.width as usize, view.height as usize);
    let colour = info.channels.min(3);
    let mut planes: Vec<Vec<f64>> = (0..colour).map(|_| Vec::with_capacity(w * h)).collect();
    let g = info.plane(0, view.width, view.height);
    for y in 0..h {
        let row = view.planes[0].row(y, g.row_bytes());
        for x in 0..w {
            for (c, plane) in planes.iter_mut().enumerate() {
                plane.push(sample(row, x * info.channels + c, info.sample_bytes));
            }
        }
    }
    Ok(planes
        .into_iter()
        .map(|data| Plane {
            width: w,
            height: h,
            data,
        })
        .collect())
}

/// The three planes of a YUV image, integer sample values.
fn yuv_planes(view: &ImageView<'_>, info: &FormatInfo) -> Vec<Plane> {
    (0..3)
        .map(|index| {
            let g = info.plane(index, view.width, view.height);
            let mut data = Vec::with_capacity(g.width * g.height);
            for y in 0..g.height {
                let row = view.planes[index].row(y, g.row_bytes());
                data.extend((0..g.width).map(|x| sample(row, x, g.sample_bytes)));
            }
            Plane {
                width: g.width,
                height: g.height,
                data,
            }
        })
        .collect()
}

/// The luma plane a single-channel metric works on, and its data range.
pub(crate) fn luma(view: &ImageView<'_>) -> Result<(Plane, f64), Error> {
    let info = view.validate()?;
    if let Some((_, bits)) = view.format.as_yuv() {
        let mut y = yuv_planes(view, &info).swap_remove(0);
        let scale = f64::from(1u32 << (bits - 8));
        y.data.iter_mut().for_each(|v| *v /= scale);
        return Ok((y, 255.0));
    }
    let range = data_range(&info);
    let mut planes = channels(view)?;
    if planes.len() == 1 {
        return Ok((planes.swap_remove(0), range));
    }
    let (r, g, b) = (&planes[0], &planes[1], &planes[2]);
    let data = (0..r.data.len())
        .map(|i| 0.2126 * r.data[i] + 0.7152 * g.data[i] + 0.0722 * b.data[i])
        .collect();
    Ok((
        Plane {
            width: r.width,
            height: r.height,
            data,
        },
        range,
    ))
}

/// The luma plane of a YUV frame as VMAF's integer features read it (samples as stored), or
/// `unsupported` naming `metric` for formats without one.
pub(crate) fn integer_luma<'a>(view: &ImageView<'a>, metric: &str) -> Result<Luma<'a>, Error> {
    let info = view.validate()?;
    if info.yuv.is_none() {
        return Err(Error::Unsupported(format!(
            "{metric} on pixel format {} (it reads the luma of YUV frames)",
            view.format
        )));
    }
    let plane = &view.planes[0];
    Ok(Luma {
        data: plane.data.as_slice(),
        stride: plane.stride,
        width: view.width as usize,
        height: view.height as usize,
        bits: info.bits,
    })
}

fn srgb_to_linear(v: f64) -> f64 {
    if v <= 0.04045 {
        v / 12.92
    } else {
        ((v + 0.055) / 1.055).powf(2.4)
    }
}

/// Interleaved linear-light RGB `f32` in 0..=1, tightly packed.
pub(crate) fn linear_rgb(view: &ImageView<'_>) -> Result<Vec<f32>, Error> {
    let info = view.validate()?;
    let (w, h) = (view.width as usize, view.height as usize);
    let mut out = Vec::with_capacity(w * h * 3);
    if let Some((subsampling, bits)) = view.format.as_yuv() {
        let planes = yuv_planes(view, &info);
        let (sx, sy) = subsampling.shifts();
        let k = f64::from(1u32 << (bits - 8));
        for y in 0..h {
            for x in 0..w {
                let luma = planes[0].data[y * w + x];
                let ci = (y >> sy) * planes[1].width + (x >> sx);
                let yn = (luma - 16.0 * k) / (219.0 * k);
                let u = (planes[1].data[ci] - 128.0 * k) / (224.0 * k);
                let v = (planes[2].data[ci] - 128.0 * k) / (224.0 * k);
                let rgb = [
                    yn + 1.5748 * v,
                    yn - 0.187_324 * u - 0.468_124 * v,
                    yn + 1.8556 * u,
                ];
                out.extend(rgb.map(|c| srgb_to_linear(c.clamp(0.0, 1.0)) as f32));
            }
        }
        return Ok(out);
    }
    let linear = view.format == PixelFormat::RGB_F32_LINEAR;
    let range = data_range(&info);
    let planes = channels(view)?;
    for i in 0..w * h {
        for c in 0..3 {
            let coded = planes[c.min(planes.len() - 1)].data[i];
            let value = if linear {
                coded
            } else {
                srgb_to_linear(coded / range)
            };
            out.push(value as f32);
        }
    }
    Ok(out)
}

/// Interleaved 8-bit RGB, tightly packed, when the image is 8-bit RGB, RGBA or grey;
/// borrowed without copying when it already is tightly packed RGB.
pub(crate) fn rgb8<'a>(view: &ImageView<'a>) -> Result<Option<Cow<'a, [u8]>>, Error> {
    let info = view.validate()?;
    if info.yuv.is_some() || info.sample_bytes != 1 {
        return Ok(None);
    }
    let (w, h) = (view.width as usize, view.height as usize);
    let g = info.plane(0, view.width, view.height);
    if info.channels == 3 && view.planes[0].stride == g.row_bytes() {
        let data: &'a [u8] = view.planes[0].data.as_slice();
        return Ok(Some(Cow::Borrowed(&data[..w * h * 3])));
    }
    let mut out = Vec::with_capacity(w * h * 3);
    for y in 0..h {
        let row = view.planes[0].row(y, g.row_bytes());
        match info.channels {
            3 => out.extend_from_slice(row),
            1 => row.iter().for_each(|&v| out.extend([v, v, v])),
            _ => row
                .chunks_exact(info.channels)
                .for_each(|px| out.extend(&px[..3])),
        }
    }
    Ok(Some(Cow::Owned(out)))
}

#[cfg(test)]
mod tests {
    use qscore_core::{ChromaSubsampling, PlaneView};

    use super::*;

    #[test]
    fn packed_rgba_drops_alpha_and_honours_stride() {
        // 2x2 RGBA with 2 bytes of row padding.
        let bytes = [
            1, 2, 3, 255, 4, 5, 6, 255, 0, 0, //
            7, 8, 9, 255, 10, 11, 12, 255, 0, 0,
        ];
        let planes = [PlaneView::new(&bytes, 10)];
        let view = ImageView::new(PixelFormat::RGBA8, 2, 2, &planes);
        let ch = channels(&view).unwrap();
        assert_eq!(ch.len(), 3);
        assert_eq!(ch[0].data, vec![1.0, 4.0, 7.0, 10.0]);
        assert_eq!(ch[2].data, vec![3.0, 6.0, 9.0, 12.0]);
        assert_eq!(
            rgb8(&view).unwrap().unwrap(),
            vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]
        );
    }

    #[test]
    fn yuv_luma_is_scaled_to_8_bit_range() {
        let format = PixelFormat::yuv(ChromaSubsampling::Yuv420, 10);
        let y: Vec<u8> = [400u16, 800, 12, 1020]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let c = 512u16.to_ne_bytes().to_vec();
        let planes = [
            PlaneView::new(&y, 4),
            PlaneView::new(&c, 2),
            PlaneView::new(&c, 2),
        ];
        let view = ImageView::new(format, 2, 2, &planes);
        let (plane, range) = luma(&view).unwrap();
        assert_eq!(range, 255.0);
        assert_eq!(plane.data, vec![100.0, 200.0, 3.0, 255.0]);
        // Limited-range black and white map to 0 and 1 in linear light.
        let y: Vec<u8> = [64u16, 940, 64, 940]
            .iter()
            .flat_map(|v| v.to_ne_bytes())
            .collect();
        let planes = [
            PlaneView::new(&y, 4),
            PlaneView::new(&c, 2),
            PlaneView::new(&c, 2),
        ];
        let rgb = linear_rgb(&ImageView::new(format, 2, 2, &planes)).unwrap();
        assert!(rgb[..3].iter().all(|v| v.abs() < 1e-6), "{rgb:?}");
        assert!(rgb[3..6].iter().all(|v| (v - 1.0).abs() < 1e-6), "{rgb:?}");
    }
}
