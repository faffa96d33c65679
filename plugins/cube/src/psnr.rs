//! PSNR on the device: one MSE over every colour sample for packed formats (scikit-image's
//! `peak_signal_noise_ratio`), per plane for YUV (libvmaf's `float_psnr`: peak 2^bits − 1,
//! capped at 6·bits + 12 dB).

use cubecl::prelude::*;
use qscore_core::{Error, FormatInfo, ImageView};

use crate::{
    plane::DevicePlane,
    reduce,
    source::PlaneSource,
    unpack::{self, Conversion, HostSource},
};

/// The reference's planes, kept on the device.
#[derive(Debug)]
pub struct PsnrPrepared {
    planes: Vec<DevicePlane>,
}

/// Squared-error sums and sample counts, per plane (YUV) or for all channels together.
#[derive(Debug, Clone, Copy, Default)]
struct Totals {
    sse: [f64; 3],
    count: [f64; 3],
}

/// PSNR's values from per-plane squared-error totals.
fn values(info: &FormatInfo, yuv_bits: Option<u32>, totals: &Totals) -> Vec<(&'static str, f64)> {
    let db = |sse: f64, count: f64, peak: f64, cap: Option<f64>| {
        let mse = sse / count;
        let db = if mse == 0.0 {
            f64::INFINITY
        } else {
            10.0 * (peak * peak / mse).log10()
        };
        cap.map_or(db, |c| db.min(c))
    };
    match yuv_bits {
        Some(bits) => {
            let peak = f64::from((1u32 << bits) - 1);
            let cap = Some(6.0 * f64::from(bits) + 12.0);
            ["psnr_y", "psnr_cb", "psnr_cr"]
                .iter()
                .enumerate()
                .map(|(i, name)| (*name, db(totals.sse[i], totals.count[i], peak, cap)))
                .collect()
        }
        None => {
            let peak = match info.sample_bytes {
                1 => 255.0,
                2 => f64::from((1u32 << info.bits) - 1),
                _ => 1.0,
            };
            let sse: f64 = totals.sse.iter().sum();
            let count: f64 = totals.count.iter().sum();
            vec![("psnr", db(sse, count, peak, None))]
        }
    }
}

/// The planes PSNR reads from `view` (rows `y0..y1` of luma-resolution rows).
fn planes<R: Runtime>(
    client: &ComputeClient<R>,
    view: &ImageView<'_>,
    y0: usize,
    y1: usize,
) -> Result<Vec<DevicePlane>, Error> {
    let info = view.validate()?;
    match view.format.as_yuv() {
        Some((subsampling, _)) => {
            let (_, sy) = subsampling.shifts();
            let chroma = info.plane(1, view.width, view.height);
            let (c0, c1) = (y0 >> sy, (y1.div_ceil(1 << sy)).min(chroma.height));
            Ok(vec![
                unpack::yuv_plane(client, view, 0, y0, y1)?,
                unpack::yuv_plane(client, view, 1, c0, c1)?,
                unpack::yuv_plane(client, view, 2, c0, c1)?,
            ])
        }
        None => HostSource::new(view, Conversion::Channels)?.rows(client, y0, y1),
    }
}

fn totals<R: Runtime>(
    client: &ComputeClient<R>,
    reference: &[DevicePlane],
    distorted: &[DevicePlane],
) -> Totals {
    let partials = reference
        .iter()
        .zip(distorted)
        .map(|(r, d)| reduce::launch_squared_difference(client, &r.handle, &d.handle, r.len()))
        .collect();
    let sums = reduce::finish_all(client, partials);
    let mut totals = Totals::default();
    for (i, (sse, plane)) in sums.into_iter().zip(reference).enumerate() {
        totals.sse[i] = sse;
        totals.count[i] = plane.len() as f64;
    }
    totals
}

/// PSNR of one image format.
#[derive(Debug, Clone, Copy)]
pub struct Psnr;

impl Psnr {
    /// FULL mode: uploads the reference's planes once.
    pub fn prepare<R: Runtime>(
        client: &ComputeClient<R>,
        reference: &ImageView<'_>,
    ) -> Result<PsnrPrepared, Error> {
        let h = reference.height as usize;
        Ok(PsnrPrepared {
            planes: planes(client, reference, 0, h)?,
        })
    }

    /// Named values of the prepared reference against `distorted`.
    pub fn compare<R: Runtime>(
        client: &ComputeClient<R>,
        prepared: &PsnrPrepared,
        distorted: &ImageView<'_>,
    ) -> Result<Vec<(&'static str, f64)>, Error> {
        let info = distorted.validate()?;
        let h = distorted.height as usize;
        let d = planes(client, distorted, 0, h)?;
        let t = totals(client, &prepared.planes, &d);
        Ok(values(&info, distorted.format.as_yuv().map(|(_, b)| b), &t))
    }

    /// Strip modes: both images uploaded `band_rows` rows at a time.
    pub fn compare_bands<R: Runtime>(
        client: &ComputeClient<R>,
        reference: &ImageView<'_>,
        distorted: &ImageView<'_>,
        band_rows: usize,
    ) -> Result<Vec<(&'static str, f64)>, Error> {
        let info = distorted.validate()?;
        let h = distorted.height as usize;
        // Bands start on even rows so 4:2:0 chroma rows split exactly.
        let band = band_rows.max(2).next_multiple_of(2);
        let mut all = Totals::default();
        for y0 in (0..h).step_by(band) {
            let y1 = (y0 + band).min(h);
            let t = totals(
                client,
                &planes(client, reference, y0, y1)?,
                &planes(client, distorted, y0, y1)?,
            );
            for i in 0..3 {
                all.sse[i] += t.sse[i];
                all.count[i] += t.count[i];
            }
        }
        Ok(values(
            &info,
            distorted.format.as_yuv().map(|(_, b)| b),
            &all,
        ))
    }

    /// Peak device bytes: per compared sample, the reference's and the distorted image's
    /// `f32` (8 bytes), for the whole image (FULL, the reference resident) or for one band of
    /// each image (strips); plus the host-to-device staging buffer alive with them (packed
    /// formats upload all channels at once, YUV one plane at a time) and the partial sums.
    pub fn predict(info: &FormatInfo, width: u32, height: u32, band_rows: Option<usize>) -> u64 {
        let rows = band_rows.map_or(height as usize, |b| b.min(height as usize));
        let samples = samples(info, width, height) / f64::from(height) * rows as f64;
        let staging = if info.yuv.is_some() {
            // The planes are uploaded in order; at the peak only the last (chroma) staging
            // buffer is alive.
            let chroma = info.plane(2, width, height);
            let chroma_rows = (rows * chroma.height).div_ceil(height as usize);
            (chroma.row_bytes() * chroma_rows) as f64
        } else {
            let row_bytes = width as usize * info.channels * info.sample_bytes;
            let chunk_rows = (unpack::CHUNK_BYTES / row_bytes.max(1)).max(1);
            (row_bytes * rows.min(chunk_rows)) as f64
        };
        (8.0 * samples + staging + (samples / reduce::PER_CUBE as f64 + 3.0) * 4.0) as u64
    }
}

/// Colour samples PSNR compares (alpha excluded; all three YUV planes).
fn samples(info: &FormatInfo, width: u32, height: u32) -> f64 {
    if info.yuv.is_some() {
        (0..3)
            .map(|i| {
                let g = info.plane(i, width, height);
                (g.width * g.height) as f64
            })
            .sum()
    } else {
        f64::from(width) * f64::from(height) * info.channels.min(3) as f64
    }
}
