//! From host images to the `f32` planes each metric consumes, converted on the device.
//!
//! The host only packs the rows asked for into a tight byte buffer (no per-sample work);
//! the kernels here widen samples, weigh luma and apply transfer curves. The conventions are
//! the CPU plugin's, so every backend scores the same pixels:
//! - packed RGB/grey keep their coded values (alpha dropped) for PSNR and SSIM;
//! - luma of RGB is BT.709 on the coded values; YUV luma is divided by 2^(bits−8);
//! - linear RGB (SSIMULACRA2) is the sRGB curve applied to coded/full-scale, or, for YUV,
//!   BT.709 limited range with chroma replicated, clamped to 0..1, then the sRGB curve.

use std::sync::OnceLock;

use cubecl::{prelude::*, server::Handle};
use qscore_core::{Error, FormatInfo, ImageView, PixelFormat};

use crate::{plane::DevicePlane, source::PlaneSource};

/// What planes an image becomes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// The colour channels' coded values (R, G, B or grey); for YUV, luma only is not
    /// meant: use [`Conversion::Luma`].
    Channels,
    /// One luma plane on the 8-bit scale for YUV, BT.709 of coded values for RGB.
    Luma,
    /// Three planes of linear-light RGB in 0..=1; 8-bit sRGB through libjxl's table for
    /// SSIMULACRA2 (what its reference decodes with).
    LinearRgb,
    /// Three planes of linear-light RGB in 0..=1; 8-bit sRGB through the sRGB curve itself,
    /// as butteraugli's reference decodes (libjxl's SSIMULACRA2 table is up to 5e-6
    /// relative away from it).
    LinearRgbCurve,
}

const CODED: u32 = 0;
const LUMA: u32 = 1;
const SRGB_TO_LINEAR: u32 = 2;
const LINEAR: u32 = 3;

#[cube]
fn sample(raw: &Array<u32>, index: usize, #[comptime] bytes: u32) -> f32 {
    if comptime!(bytes == 1) {
        let word = raw[index / 4];
        let shift = ((index % 4) * 8) as u32;
        f32::cast_from((word >> shift) & 255u32)
    } else if comptime!(bytes == 2) {
        let word = raw[index / 2];
        let shift = ((index % 2) * 16) as u32;
        f32::cast_from((word >> shift) & 65535u32)
    } else {
        f32::reinterpret(raw[index])
    }
}

#[cube]
fn srgb_to_linear(v: f32) -> f32 {
    let mut out = v / 12.92f32;
    if v > 0.04045f32 {
        out = f32::powf((v + 0.055f32) / 1.055f32, 2.4f32);
    }
    out
}

/// Linear light of an sRGB-coded integer sample: from the table (every code value's exact
/// linear value) for 8- and 16-bit samples, the curve itself otherwise.
#[cube]
fn linear_of(lut: &Array<f32>, coded: f32, scale: f32, #[comptime] bytes: u32) -> f32 {
    if comptime!(bytes <= 2) {
        lut[u32::cast_from(coded) as usize]
    } else {
        srgb_to_linear(coded * scale)
    }
}

/// Packed pixels (`channels` samples of `bytes` each) to one or three planes.
#[cube(launch)]
fn packed_planes(
    raw: &Array<u32>,
    lut: &Array<f32>,
    out0: &mut Array<f32>,
    out1: &mut Array<f32>,
    out2: &mut Array<f32>,
    pixels: usize,
    offset: usize,
    scale: f32,
    #[comptime] channels: u32,
    #[comptime] bytes: u32,
    #[comptime] mode: u32,
) {
    let i = ABSOLUTE_POS;
    if i < pixels {
        let base = i * (channels as usize);
        let first = sample(raw, base, bytes);
        if comptime!(channels < 3) {
            // Grey (alpha, if any, ignored).
            if comptime!(mode == 2u32) {
                let v = linear_of(lut, first, scale, bytes);
                out0[offset + i] = v;
                out1[offset + i] = v;
                out2[offset + i] = v;
            } else if comptime!(mode == 3u32) {
                out0[offset + i] = first;
                out1[offset + i] = first;
                out2[offset + i] = first;
            } else {
                out0[offset + i] = first * scale;
            }
        } else {
            let g = sample(raw, base + 1, bytes);
            let b = sample(raw, base + 2, bytes);
            if comptime!(mode == 1u32) {
                out0[offset + i] = (0.2126f32 * first + 0.7152f32 * g + 0.0722f32 * b) * scale;
            } else if comptime!(mode == 2u32) {
                out0[offset + i] = linear_of(lut, first, scale, bytes);
                out1[offset + i] = linear_of(lut, g, scale, bytes);
                out2[offset + i] = linear_of(lut, b, scale, bytes);
            } else {
                out0[offset + i] = first * scale;
                out1[offset + i] = g * scale;
                out2[offset + i] = b * scale;
            }
        }
    }
}

/// BT.709 limited-range YUV (chroma replicated) to linear RGB.
#[cube(launch)]
fn yuv_linear(
    y: &Array<u32>,
    u: &Array<u32>,
    v: &Array<u32>,
    out0: &mut Array<f32>,
    out1: &mut Array<f32>,
    out2: &mut Array<f32>,
    width: usize,
    rows: usize,
    chroma_width: usize,
    first_row: usize,
    first_chroma_row: usize,
    k: f32,
    #[comptime] bytes: u32,
    #[comptime] shift_x: u32,
    #[comptime] shift_y: u32,
) {
    let i = ABSOLUTE_POS;
    if i < width * rows {
        let x = i % width;
        let row = i / width;
        let chroma_row = ((first_row + row) >> (shift_y as usize)) - first_chroma_row;
        let ci = chroma_row * chroma_width + (x >> (shift_x as usize));
        let yn = (sample(y, i, bytes) - 16.0f32 * k) / (219.0f32 * k);
        let cb = (sample(u, ci, bytes) - 128.0f32 * k) / (224.0f32 * k);
        let cr = (sample(v, ci, bytes) - 128.0f32 * k) / (224.0f32 * k);
        let r = yn + 1.5748f32 * cr;
        let g = yn - 0.187_324f32 * cb - 0.468_124f32 * cr;
        let b = yn + 1.8556f32 * cb;
        out0[i] = srgb_to_linear(f32::clamp(r, 0.0f32, 1.0f32));
        out1[i] = srgb_to_linear(f32::clamp(g, 0.0f32, 1.0f32));
        out2[i] = srgb_to_linear(f32::clamp(b, 0.0f32, 1.0f32));
    }
}

/// Linear light of every code value of `bits`-bit sRGB samples: the sRGB curve evaluated
/// in f64.
fn curve_table(bits: u32) -> Vec<f32> {
    let max = f64::from((1u32 << bits) - 1);
    (0..=(1u32 << bits) - 1)
        .map(|v| {
            let c = f64::from(v) / max;
            let linear = if c <= 0.04045 {
                c / 12.92
            } else {
                ((c + 0.055) / 1.055).powf(2.4)
            };
            linear as f32
        })
        .collect()
}

/// The table a kernel reads for `mode` on `bytes`-byte samples: linear light of every
/// sRGB code value where the mode converts to linear light, a placeholder otherwise.
///
/// 8-bit values are libjxl's own for [`Conversion::LinearRgb`] (the table SSIMULACRA2's
/// reference decodes with, taken from the `fast-ssim2` crate, which reproduces it), so 8-bit
/// images score exactly as on the CPU plugin, and the sRGB curve evaluated in f64 for
/// [`Conversion::LinearRgbCurve`]; 16-bit values are the curve, as the CPU plugin converts them.
fn table(mode: u32, bytes: u32, conversion: Conversion) -> &'static [f32] {
    static EIGHT: OnceLock<Vec<f32>> = OnceLock::new();
    static EIGHT_CURVE: OnceLock<Vec<f32>> = OnceLock::new();
    static SIXTEEN: OnceLock<Vec<f32>> = OnceLock::new();
    if mode != SRGB_TO_LINEAR || bytes > 2 {
        &[0.0]
    } else if bytes == 1 && conversion == Conversion::LinearRgbCurve {
        EIGHT_CURVE.get_or_init(|| curve_table(8))
    } else if bytes == 1 {
        EIGHT.get_or_init(|| {
            use fast_ssim2::pipeline::{EncodedData, EncodedSrgb, linearize};
            let codes: Vec<u8> = (0..=255u8).flat_map(|v| [v, v, v]).collect();
            let encoded = EncodedSrgb {
                width: 256,
                height: 1,
                data: EncodedData::U8(codes),
                alpha: None,
            };
            linearize(&encoded, 0.0)[0].clone()
        })
    } else {
        SIXTEEN.get_or_init(|| curve_table(16))
    }
}

/// Host bytes uploaded at a time.
pub(crate) const CHUNK_BYTES: usize = 4 << 20;

/// Rows `y0..y1` of plane `index` packed tightly and uploaded as 32-bit words, through the
/// runtime's [`HostWriter`](crate::upload::HostWriter) when it registered one.
fn upload_rows<R: Runtime>(
    client: &ComputeClient<R>,
    view: &ImageView<'_>,
    info: &FormatInfo,
    index: usize,
    y0: usize,
    y1: usize,
) -> Result<(Handle, usize), Error> {
    let g = info.plane(index, view.width, view.height);
    let row_bytes = g.row_bytes();
    let plane = &view.planes[index];
    let len = row_bytes * (y1 - y0);
    let words = len.div_ceil(4).max(1);
    if let Some(writer) = crate::upload::writer::<R>() {
        const ZEROS: [u8; 4] = [0; 4];
        let handle = crate::meter::empty(client, words * 4);
        let mut pieces = (y0..y1)
            .map(|y| plane.row(y, row_bytes))
            .chain(std::iter::once(&ZEROS[..words * 4 - len]));
        writer.write(client, &handle, &mut pieces, words * 4)?;
        return Ok((handle, words));
    }
    let mut bytes = Vec::with_capacity(words * 4);
    for y in y0..y1 {
        bytes.extend_from_slice(plane.row(y, row_bytes));
    }
    bytes.resize(words * 4, 0);
    Ok((crate::meter::upload_vec(client, bytes), words))
}

/// A host image read through a [`Conversion`], band by band.
#[derive(Debug, Clone, Copy)]
pub struct HostSource<'a> {
    view: &'a ImageView<'a>,
    info: FormatInfo,
    conversion: Conversion,
}

impl<'a> HostSource<'a> {
    /// Validates `view` and describes how it will be converted.
    pub fn new(view: &'a ImageView<'a>, conversion: Conversion) -> Result<Self, Error> {
        let info = view.validate()?;
        if conversion == Conversion::Channels && info.yuv.is_some() {
            return Err(Error::Internal(
                "YUV planes have their own sizes: read them with yuv_plane".into(),
            ));
        }
        Ok(Self {
            view,
            info,
            conversion,
        })
    }

    fn full_scale(&self) -> f32 {
        match self.info.sample_bytes {
            1 => 255.0,
            2 => ((1u32 << self.info.bits) - 1) as f32,
            _ => 1.0,
        }
    }
}

/// A launch that writes up to three outputs; unused outputs get a one-sample dummy.
fn outputs<R: Runtime>(
    client: &ComputeClient<R>,
    w: usize,
    h: usize,
    n: usize,
) -> Vec<DevicePlane> {
    (0..3)
        .map(|i| {
            if i < n {
                DevicePlane::empty(client, w, h)
            } else {
                DevicePlane::empty(client, 1, 1)
            }
        })
        .collect()
}

impl<R: Runtime> PlaneSource<R> for HostSource<'_> {
    fn width(&self) -> usize {
        self.view.width as usize
    }

    fn height(&self) -> usize {
        self.view.height as usize
    }

    fn planes(&self) -> usize {
        match self.conversion {
            Conversion::Luma => 1,
            Conversion::LinearRgb | Conversion::LinearRgbCurve => 3,
            Conversion::Channels => self.info.channels.min(3),
        }
    }

    fn rows(
        &self,
        client: &ComputeClient<R>,
        y0: usize,
        y1: usize,
    ) -> Result<Vec<DevicePlane>, Error> {
        let (w, h) = (
            PlaneSource::<R>::width(self),
            PlaneSource::<R>::height(self),
        );
        if y0 >= y1 || y1 > h {
            return Err(Error::Internal(format!(
                "rows {y0}..{y1} of a {w}x{h} image"
            )));
        }
        let rows = y1 - y0;
        let pixels = w * rows;
        let n = PlaneSource::<R>::planes(self);
        let out = outputs(client, w, rows, n);
        let bytes = self.info.sample_bytes as u32;
        if let Some((subsampling, bits)) = self.view.format.as_yuv() {
            let (sx, sy) = subsampling.shifts();
            let (luma, luma_words) = upload_rows(client, self.view, &self.info, 0, y0, y1)?;
            if self.conversion == Conversion::Luma {
                let scale = 1.0 / (1u32 << (bits - 8)) as f32;
                Unpacker::new(client, scale, 1, bytes, CODED, &[0.0]).launch(
                    client,
                    (&luma, luma_words),
                    &out,
                    (pixels, 0),
                );
                return Ok(out.into_iter().take(1).collect());
            }
            let (c0, c1) = (y0 >> sy, ((y1 - 1) >> sy) + 1);
            let (u, u_words) = upload_rows(client, self.view, &self.info, 1, c0, c1)?;
            let (v, v_words) = upload_rows(client, self.view, &self.info, 2, c0, c1)?;
            let chroma_width = self.info.plane(1, self.view.width, self.view.height).width;
            // SAFETY: every array length is the number of words or samples allocated.
            unsafe {
                yuv_linear::launch::<R>(
                    client,
                    crate::grid::cubes_for_units(pixels, 256),
                    CubeDim::new_1d(256),
                    ArrayArg::from_raw_parts(luma, luma_words),
                    ArrayArg::from_raw_parts(u, u_words),
                    ArrayArg::from_raw_parts(v, v_words),
                    out[0].arg(),
                    out[1].arg(),
                    out[2].arg(),
                    w,
                    rows,
                    chroma_width,
                    y0,
                    c0,
                    (1u32 << (bits - 8)) as f32,
                    bytes,
                    sx,
                    sy,
                )
            };
            return Ok(out);
        }
        let channels = self.info.channels as u32;
        let linear_input = self.view.format == PixelFormat::RGB_F32_LINEAR;
        let (mode, scale) = match self.conversion {
            Conversion::Channels => (CODED, 1.0),
            Conversion::Luma => (LUMA, 1.0),
            Conversion::LinearRgb | Conversion::LinearRgbCurve if linear_input => (LINEAR, 1.0),
            Conversion::LinearRgb | Conversion::LinearRgbCurve => {
                (SRGB_TO_LINEAR, 1.0 / self.full_scale())
            }
        };
        // Rows go up in chunks of about CHUNK_BYTES: each host copy on the way to the
        // device then stays in cache, which is several times faster than whole images.
        let row_bytes = self
            .info
            .plane(0, self.view.width, self.view.height)
            .row_bytes();
        let chunk = (CHUNK_BYTES / row_bytes.max(1)).max(1);
        let table = table(mode, bytes, self.conversion);
        let unpacker = Unpacker::new(client, scale, channels, bytes, mode, table);
        for c0 in (y0..y1).step_by(chunk) {
            let c1 = (c0 + chunk).min(y1);
            let (raw, words) = upload_rows(client, self.view, &self.info, 0, c0, c1)?;
            unpacker.launch(client, (&raw, words), &out, (w * (c1 - c0), (c0 - y0) * w));
        }
        debug_assert_eq!(pixels, w * rows);
        Ok(out.into_iter().take(n).collect())
    }
}

/// How `packed_planes` converts one image, with its sRGB table already on the device so
/// that an image uploaded in several chunks sends the table once.
struct Unpacker {
    lut: Handle,
    lut_len: usize,
    scale: f32,
    channels: u32,
    bytes: u32,
    mode: u32,
}

impl Unpacker {
    fn new<R: Runtime>(
        client: &ComputeClient<R>,
        scale: f32,
        channels: u32,
        bytes: u32,
        mode: u32,
        table: &[f32],
    ) -> Self {
        Self {
            lut: crate::meter::upload(client, f32::as_bytes(table)),
            lut_len: table.len(),
            scale,
            channels,
            bytes,
            mode,
        }
    }

    /// Converts `pixels` pixels of `raw` (`words` 32-bit words) into `out` from `offset` on.
    fn launch<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        (raw, words): (&Handle, usize),
        out: &[DevicePlane],
        (pixels, offset): (usize, usize),
    ) {
        // SAFETY: `raw` holds `words` 32-bit words, `lut` its table and every output its length.
        unsafe {
            packed_planes::launch::<R>(
                client,
                crate::grid::cubes_for_units(pixels, 256),
                CubeDim::new_1d(256),
                ArrayArg::from_raw_parts(raw.clone(), words),
                ArrayArg::from_raw_parts(self.lut.clone(), self.lut_len),
                out[0].arg(),
                out[1].arg(),
                out[2].arg(),
                pixels,
                offset,
                self.scale,
                self.channels,
                self.bytes,
                self.mode,
            )
        };
    }
}

/// Plane `index` of a YUV image (rows `y0..y1` of that plane) as integer sample values.
pub fn yuv_plane<R: Runtime>(
    client: &ComputeClient<R>,
    view: &ImageView<'_>,
    index: usize,
    y0: usize,
    y1: usize,
) -> Result<DevicePlane, Error> {
    let info = view.validate()?;
    let g = info.plane(index, view.width, view.height);
    if y0 >= y1 || y1 > g.height {
        return Err(Error::Internal(format!(
            "rows {y0}..{y1} of a {}x{} plane",
            g.width, g.height
        )));
    }
    let (raw, words) = upload_rows(client, view, &info, index, y0, y1)?;
    let out = outputs(client, g.width, y1 - y0, 1);
    let pixels = g.width * (y1 - y0);
    Unpacker::new(client, 1.0, 1, g.sample_bytes as u32, CODED, &[0.0]).launch(
        client,
        (&raw, words),
        &out,
        (pixels, 0),
    );
    Ok(out.into_iter().next().expect("one output"))
}

/// Bytes the staging buffers of one `rows`-row band of `format` take on the device.
pub fn staging_bytes(info: &FormatInfo, width: u32, height: u32, rows: usize) -> u64 {
    (0..info.planes)
        .map(|i| {
            let g = info.plane(i, width, height);
            let band = if i == 0 {
                rows
            } else {
                rows.div_ceil(1 << (height as usize / g.height.max(1)).ilog2()) + 1
            };
            (g.row_bytes() * band.min(g.height)).next_multiple_of(4) as u64
        })
        .sum()
}
