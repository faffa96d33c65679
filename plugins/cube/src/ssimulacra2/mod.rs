//! SSIMULACRA2 (libjxl's definition) on the device. See `README.md` in this folder for the
//! pipeline, the bands and their halos.

mod blur;
mod direct;
mod maps;
mod plan;
mod row_blur;
mod row_steps;
mod score;
mod traffic;
mod xyb;

use cubecl::{prelude::*, server::Handle};
use qscore_core::Error;

use crate::grid::{cubes, cubes_for_units};
use crate::source::{PlaneSource, same_size};
use blur::{BLUR_UNITS, COEFS, STATE};
use maps::{MAP_COLS, SUMS};
use plan::{ALIGN, Band, BandScale, MIN_SIDE};
use score::ScaleSums;
pub use traffic::{Traffic, traffic};
use xyb::TILE;

/// The SSIMULACRA2 metric: 100 for identical images, lower for worse, as libjxl's
/// `ssimulacra2` tool computes it. The device reproduces libjxl's `f32` arithmetic (XYB,
/// downscale and recursive blur bit for bit, measured on lavapipe); only the order of the
/// final sums differs, and scores agree with libjxl's to within 1e-6 (7e-7 measured).
#[derive(Debug, Clone)]
pub struct Ssimulacra2 {
    coefs: [f32; COEFS],
    /// Whether the horizontal blur walks through shared-memory tiles (see `row_blur.rs`).
    row_tiles: bool,
}

impl Default for Ssimulacra2 {
    fn default() -> Self {
        Self::new()
    }
}

/// One scale of a reference pyramid: planes 0..3 XYB, 3..6 μ_ref, 6..9 G∗ref², each
/// `width × height`.
#[derive(Debug)]
struct Level {
    stats: Handle,
    width: usize,
    height: usize,
}

/// A reference image's pyramid, resident on the device, for any number of compares.
#[derive(Debug)]
pub struct Ssimulacra2Prepared {
    width: usize,
    height: usize,
    coefs: Handle,
    /// One `f32` bound as the recursion's state, which FULL mode never carries.
    no_state: Handle,
    /// Whether this device's `fma` rounds twice (see `blur::mad`).
    soft: bool,
    levels: Vec<Level>,
}

impl Ssimulacra2Prepared {
    /// Width of the reference.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height of the reference.
    pub fn height(&self) -> usize {
        self.height
    }
}

/// A device array of `len` f32 over `handle`.
fn arr<R: Runtime>(handle: &Handle, len: usize) -> ArrayArg<R> {
    // SAFETY: every caller passes a handle allocated for at least `len` f32.
    unsafe { ArrayArg::from_raw_parts(handle.clone(), len) }
}

fn empty<R: Runtime>(client: &ComputeClient<R>, floats: usize) -> Handle {
    crate::meter::empty(client, floats * size_of::<f32>())
}

/// Size and plane count of an input, checked.
fn dims<R: Runtime>(source: &dyn PlaneSource<R>, what: &str) -> Result<(usize, usize), Error> {
    crate::source::linear_rgb_size(source, "SSIMULACRA2", MIN_SIDE, what)
}

/// The 3 linear planes of a band's first scale.
fn band_planes<R: Runtime>(
    client: &ComputeClient<R>,
    source: &dyn PlaneSource<R>,
    band: &Band,
) -> Result<[Handle; 3], Error> {
    let planes = source.rows(client, band.fetch0, band.fetch1)?;
    Ok([0, 1, 2].map(|c| planes[c].handle.clone()))
}

/// XYB of the linear planes `lin` of `scale` into planes 0..3 of `xyb`; with a `next` scale
/// also its linear planes, returned. `coefs` supplies the soft `fma`'s hidden zero.
fn launch_xyb<R: Runtime>(
    client: &ComputeClient<R>,
    coefs: &Handle,
    lin: &[Handle; 3],
    scale: &BandScale,
    xyb: &Handle,
    next: Option<&BandScale>,
    soft: bool,
) -> Option<[Handle; 3]> {
    let (w, h) = (scale.width, scale.height);
    let n = w * h;
    let planes = xyb.size() as usize / size_of::<f32>();
    let dim = CubeDim::new_2d(TILE as u32, TILE as u32);
    match next {
        Some(next) => {
            let nn = next.width * next.height;
            let out = [0; 3].map(|_| empty(client, nn));
            let count = next.width.div_ceil(TILE) * next.height.div_ceil(TILE);
            xyb::xyb_downscale::launch::<R>(
                client,
                cubes(count),
                dim,
                arr(&lin[0], n),
                arr(&lin[1], n),
                arr(&lin[2], n),
                arr(xyb, planes),
                arr(&out[0], nn),
                arr(&out[1], nn),
                arr(&out[2], nn),
                arr(coefs, COEFS),
                w,
                h,
                soft,
            );
            Some(out)
        }
        None => {
            let count = w.div_ceil(TILE) * h.div_ceil(TILE);
            xyb::xyb_only::launch::<R>(
                client,
                cubes(count),
                dim,
                arr(&lin[0], n),
                arr(&lin[1], n),
                arr(&lin[2], n),
                arr(xyb, planes),
                arr(coefs, COEFS),
                w,
                h,
                soft,
            );
            None
        }
    }
}

/// How a band's vertical recursions begin and end: per scale, the buffer holding the state
/// carried between bands (or a one-`f32` placeholder), whether to continue from it and
/// whether to leave the band's final state in it.
struct Carry<'a> {
    states: &'a [Handle],
    resume: bool,
    save: bool,
    /// Whether the device's `fma` rounds twice, so the blur emulates a fused one.
    soft: bool,
    /// Whether the horizontal blur walks through tiles.
    tiles: bool,
}

impl Carry<'_> {
    fn state<R: Runtime>(&self, s: usize) -> ArrayArg<R> {
        let h = &self.states[s];
        arr(h, h.size() as usize / size_of::<f32>())
    }

    fn flags(&self) -> (u32, u32) {
        (u32::from(self.resume), u32::from(self.save))
    }
}

/// Builds the reference pyramid of `band` from its linear planes.
fn build_levels<R: Runtime>(
    client: &ComputeClient<R>,
    coefs: &Handle,
    input: [Handle; 3],
    band: &Band,
    carry: &Carry,
) -> Vec<Level> {
    let mut lin = input;
    let mut levels = Vec::with_capacity(band.scales.len());
    let (resume, save) = carry.flags();
    for (s, scale) in band.scales.iter().enumerate() {
        let (w, h) = (scale.width, scale.height);
        let n = w * h;
        let stats = empty(client, 9 * n);
        if let Some(next) = launch_xyb(
            client,
            coefs,
            &lin,
            scale,
            &stats,
            band.scales.get(s + 1),
            carry.soft,
        ) {
            lin = next;
        }
        let tmp = empty(client, 6 * n);
        let (y0, y1) = scale.blur_rows();
        row_blur::ref_blur_h::launch::<R>(
            client,
            row_blur::cube_count(6, y0, y1),
            row_blur::cube_dim(),
            arr(&stats, 9 * n),
            arr(&tmp, 6 * n),
            arr(coefs, COEFS),
            w,
            h,
            y0,
            y1,
            carry.tiles,
            carry.soft,
        );
        blur::ref_blur_v::launch::<R>(
            client,
            cubes_for_units(6 * w, BLUR_UNITS),
            CubeDim::new_1d(BLUR_UNITS as u32),
            arr(&tmp, 6 * n),
            arr(&stats, 9 * n),
            carry.state(s),
            arr(coefs, COEFS),
            w,
            h,
            scale.row0,
            scale.rows,
            resume,
            save,
            carry.soft,
        );
        levels.push(Level {
            stats,
            width: w,
            height: h,
        });
    }
    levels
}

/// Launches every scale of a compare of `band` and returns each scale's partial sums
/// (device buffer, number of cubes), unread.
fn launch_compare<R: Runtime>(
    client: &ComputeClient<R>,
    coefs: &Handle,
    levels: &[Level],
    input: [Handle; 3],
    band: &Band,
    carry: &Carry,
) -> Vec<(Handle, usize)> {
    let mut lin = input;
    let mut partials = Vec::with_capacity(band.scales.len());
    let (resume, save) = carry.flags();
    for (s, (scale, level)) in band.scales.iter().zip(levels).enumerate() {
        let (w, h) = (scale.width, scale.height);
        debug_assert_eq!((w, h), (level.width, level.height));
        let n = w * h;
        let xyb = empty(client, 3 * n);
        if let Some(next) = launch_xyb(
            client,
            coefs,
            &lin,
            scale,
            &xyb,
            band.scales.get(s + 1),
            carry.soft,
        ) {
            lin = next;
        }
        let hbuf = empty(client, 9 * n);
        let (y0, y1) = scale.blur_rows();
        row_blur::dist_blur_h::launch::<R>(
            client,
            row_blur::cube_count(9, y0, y1),
            row_blur::cube_dim(),
            arr(&level.stats, 9 * n),
            arr(&xyb, 3 * n),
            arr(&hbuf, 9 * n),
            arr(coefs, COEFS),
            w,
            h,
            y0,
            y1,
            carry.tiles,
            carry.soft,
        );
        let count = scale.map_cubes();
        let part = empty(client, count * SUMS);
        maps::dist_maps::launch::<R>(
            client,
            cubes(count),
            CubeDim::new_2d(MAP_COLS as u32, 3),
            arr(&hbuf, 9 * n),
            arr(&level.stats, 9 * n),
            arr(&xyb, 3 * n),
            arr(coefs, COEFS),
            carry.state(s),
            arr(&part, count * SUMS),
            w,
            h,
            scale.row0,
            scale.rows,
            resume,
            save,
            carry.soft,
        );
        partials.push((part, count));
    }
    partials
}

/// Reads all partial sums in one transfer and adds each scale's in cube order, in `f64`.
fn read_sums<R: Runtime>(
    client: &ComputeClient<R>,
    partials: Vec<(Handle, usize)>,
) -> Result<Vec<ScaleSums>, Error> {
    let counts: Vec<usize> = partials.iter().map(|(_, n)| *n).collect();
    let handles = partials.into_iter().map(|(h, _)| h).collect();
    let bytes = cubecl::reader::read_sync(client.read_async(handles))
        .map_err(|e| Error::Internal(format!("reading SSIMULACRA2 partial sums: {e:?}")))?;
    Ok(bytes
        .iter()
        .zip(counts)
        .map(|(b, count)| {
            let values = f32::from_bytes(b);
            let mut sums = [0.0f64; SUMS];
            for cube in values[..count * SUMS].chunks_exact(SUMS) {
                for (s, &v) in sums.iter_mut().zip(cube) {
                    *s += f64::from(v);
                }
            }
            sums
        })
        .collect())
}

/// The score from each scale's sums over the whole image.
fn finish(width: usize, height: usize, sums: &[ScaleSums]) -> f64 {
    let scales: Vec<(ScaleSums, usize)> = plan::scale_sizes(width, height)
        .into_iter()
        .zip(sums)
        .map(|((w, h), s)| (*s, w * h))
        .collect();
    score::score(&scales)
}

impl Ssimulacra2 {
    /// The metric, with libjxl's recursive Gaussian coefficients for σ = 1.5.
    pub fn new() -> Self {
        Self {
            coefs: blur::coefficients(1.5),
            row_tiles: true,
        }
    }

    /// How the horizontal blur walks its rows: through shared-memory tiles (the default,
    /// for GPUs) or straight through the planes (faster on a device that runs on a CPU,
    /// such as lavapipe). The scores are the same bit for bit.
    pub fn with_row_tiles(mut self, tiles: bool) -> Self {
        self.row_tiles = tiles;
        self
    }

    fn upload_coefs<R: Runtime>(&self, client: &ComputeClient<R>) -> Handle {
        crate::meter::upload(client, f32::as_bytes(&self.coefs))
    }

    /// FULL mode, reference side: `reference` holds 3 planes of linear-light RGB in
    /// `0..=1`. Builds its XYB pyramid with μ_ref and G∗ref² at every scale, kept on the
    /// device for any number of [`compare`](Self::compare)s.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a plane count other than 3 or a side below 8.
    pub fn prepare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
    ) -> Result<Ssimulacra2Prepared, Error> {
        let (width, height) = dims(reference, "reference")?;
        let band = plan::whole(width, height);
        let coefs = self.upload_coefs(client);
        let no_state = empty(client, 1);
        let input = band_planes(client, reference, &band)?;
        let soft = !blur::fma_is_fused(client);
        let carry = Carry {
            states: &vec![no_state.clone(); band.scales.len()],
            resume: false,
            save: false,
            soft,
            tiles: self.row_tiles,
        };
        let levels = build_levels(client, &coefs, input, &band, &carry);
        Ok(Ssimulacra2Prepared {
            width,
            height,
            coefs,
            no_state,
            soft,
            levels,
        })
    }

    /// FULL mode: the score of `distorted` (3 linear RGB planes) against a prepared
    /// reference. One read-back per call.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the sizes differ or the plane count is not 3.
    pub fn compare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        prepared: &Ssimulacra2Prepared,
        distorted: &dyn PlaneSource<R>,
    ) -> Result<f64, Error> {
        let size = dims(distorted, "distorted image")?;
        same_size((prepared.width, prepared.height), size)?;
        let band = plan::whole(size.0, size.1);
        let input = band_planes(client, distorted, &band)?;
        let carry = Carry {
            states: &vec![prepared.no_state.clone(); band.scales.len()],
            resume: false,
            save: false,
            soft: prepared.soft,
            tiles: self.row_tiles,
        };
        let partials = launch_compare(
            client,
            &prepared.coefs,
            &prepared.levels,
            input,
            &band,
            &carry,
        );
        let sums = read_sums(client, partials)?;
        Ok(finish(size.0, size.1, &sums))
    }

    /// Strip mode: both images read band by band, top to bottom, `band_rows` scored
    /// full-resolution rows per band (a positive multiple of 32) plus up to 192 rows of
    /// context above and 128 below (the 6 and 4 rows the vertical blur reads at the coarsest
    /// scale, 2⁵ times finer). The vertical blur's recursion state is carried from band to
    /// band, so every blurred value equals FULL mode's bit for bit. Only one band's pyramids
    /// exist on the device at a time; one read-back for all bands. Equals
    /// [`compare`](Self::compare) up to the order of `f32` partial sums (≤ 1e-6 relative).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the sizes differ, the plane count is not 3 or
    /// `band_rows` is not a positive multiple of 32.
    pub fn compare_bands<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
        distorted: &dyn PlaneSource<R>,
        band_rows: usize,
    ) -> Result<f64, Error> {
        let size = dims(reference, "reference")?;
        same_size(size, dims(distorted, "distorted image")?)?;
        check_band_rows(band_rows)?;
        let (width, height) = size;
        let coefs = self.upload_coefs(client);
        let soft = !blur::fma_is_fused(client);
        let sizes = plan::scale_sizes(width, height);
        // The vertical recursions run down the whole image: each band continues them from
        // the state the band above left, so its rows equal the whole image's bit for bit.
        let ref_states: Vec<Handle> = sizes
            .iter()
            .map(|&(w, _)| empty(client, 6 * STATE * w))
            .collect();
        let dist_states: Vec<Handle> = sizes
            .iter()
            .map(|&(w, _)| empty(client, 9 * STATE * w))
            .collect();
        // Every band's partial sums stay on the device until one read-back at the end: a
        // read-back per band would drain the device's queue between bands.
        let mut partials = Vec::new();
        let bands = plan::bands(width, height, band_rows);
        let last = bands.len() - 1;
        for (i, band) in bands.iter().enumerate() {
            let (resume, save) = (i > 0, i < last);
            let levels = build_levels(
                client,
                &coefs,
                band_planes(client, reference, band)?,
                band,
                &Carry {
                    states: &ref_states,
                    resume,
                    save,
                    soft,
                    tiles: self.row_tiles,
                },
            );
            let input = band_planes(client, distorted, band)?;
            partials.extend(launch_compare(
                client,
                &coefs,
                &levels,
                input,
                band,
                &Carry {
                    states: &dist_states,
                    resume,
                    save,
                    soft,
                    tiles: self.row_tiles,
                },
            ));
        }
        // Bands list their scales in order, so entry `i` belongs to scale `i % scales`.
        let mut totals = vec![[0.0f64; SUMS]; sizes.len()];
        for (i, sums) in read_sums(client, partials)?.into_iter().enumerate() {
            for (t, s) in totals[i % sizes.len()].iter_mut().zip(sums) {
                *t += s;
            }
        }
        Ok(finish(width, height, &totals))
    }

    /// Peak device bytes for a `width × height` pair, input planes included: FULL mode
    /// (prepare, then compares against the resident pyramid) when `band_rows` is `None`,
    /// else strip mode. 0 for sizes the metric rejects.
    ///
    /// With `P_s = 4·w_s·h_s` (one `f32` plane of scale `s`; in strip mode `h_s` is the
    /// band's rows at that scale, halo included) and `K = 172` (the 42 blur coefficients
    /// and the soft-`fma` zero):
    ///
    /// | step (scale `s`)            | buffers alive besides the resident ones               |
    /// |-----------------------------|-------------------------------------------------------|
    /// | prepare: XYB + downscale    | ref input `3·P_0`, linear `3·P_s` (s > 0), stats `9·P_s`, next linear `3·P_{s+1}` |
    /// | prepare: blur passes        | ref input `3·P_0`, stats `9·P_s`, next linear `3·P_{s+1}`, horizontal `6·P_s` |
    /// | compare: XYB + downscale    | dist input `3·P_0`, linear `3·P_s` (s > 0), XYB `3·P_s`, next linear `3·P_{s+1}` |
    /// | compare: blur + maps        | dist input `3·P_0`, XYB `3·P_s`, next linear `3·P_{s+1}`, horizontal `9·P_s`, partials `72·cubes_s` |
    ///
    /// Resident: `K`; in FULL mode a 4-byte placeholder state, in strip mode the carried
    /// vertical state of every scale (`15·6·4·w_t` bytes each: 6 reference and 9 compare
    /// quantities, 6 `f32` per column), allocated before the first band; the reference
    /// levels of the scales done so far (`9·P_t` each; all of them during a compare) and the
    /// partial sums of the scales done so far (`72·⌈w_t/32⌉` bytes each). The 16-byte
    /// `fma` probe is freed before any plane exists. In strip mode the partial sums of every
    /// band before stay too (one read-back at the end). The peak is the largest row over all
    /// scales, and in strip mode over all bands (each band prepares its own reference levels; the
    /// reference band's planes are counted through the prepare steps, the distorted band's
    /// through the compare steps). Input planes are counted as held for their whole step,
    /// as a [`DeviceSource`](crate::DeviceSource) does. Sizes exclude the memory pool's
    /// rounding.
    pub fn predict(width: usize, height: usize, band_rows: Option<usize>) -> u64 {
        if width < MIN_SIDE || height < MIN_SIDE {
            return 0;
        }
        let (bands, state) = match band_rows {
            None => (vec![plan::whole(width, height)], plan::NO_STATE_BYTES),
            Some(rows) if check_band_rows(rows).is_ok() => (
                plan::bands(width, height, rows),
                plan::carried_state_bytes(width, height),
            ),
            Some(_) => return 0,
        };
        let mut earlier = 0u64;
        bands
            .iter()
            .map(|band| {
                let fixed = plan::COEF_BYTES + state + earlier;
                earlier += plan::partial_bytes(band);
                let (prepare, pyramid) = plan::prepare_bytes(band, fixed);
                prepare.max(plan::compare_bytes(band, pyramid, fixed))
            })
            .max()
            .unwrap_or(0)
    }
}

fn check_band_rows(band_rows: usize) -> Result<(), Error> {
    if band_rows == 0 || !band_rows.is_multiple_of(ALIGN) {
        return Err(Error::InvalidInput(format!(
            "SSIMULACRA2 bands must be a positive multiple of {ALIGN} rows, got {band_rows}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_runtime::TestRuntime as WgpuRuntime;
    use crate::{DevicePlane, DeviceSource};
    use fast_ssim2::pipeline::{
        blur_planes, downsample_planes, gauss::create_recursive_gaussian, maps::maps_fused,
        xyb::linear_rgb_to_xyb_pixel,
    };

    /// Per scale, `fast-ssim2`'s SSIM (X L1, X L4, Y L1, …) and edge (per channel artifact
    /// L1, L4, detail lost L1, L4) aggregates, from its own pipeline functions.
    fn reference_scales(
        mut a: [Vec<f32>; 3],
        mut b: [Vec<f32>; 3],
        width: usize,
        height: usize,
    ) -> Vec<([f64; 6], [f64; 12])> {
        let rg = create_recursive_gaussian(1.5);
        let xyb = |p: &[Vec<f32>; 3]| {
            let mut out = p.clone();
            for i in 0..p[0].len() {
                let v = linear_rgb_to_xyb_pixel([p[0][i], p[1][i], p[2][i]]);
                for c in 0..3 {
                    out[c][i] = v[c];
                }
            }
            out
        };
        let mul = |x: &[Vec<f32>; 3], y: &[Vec<f32>; 3]| -> [Vec<f32>; 3] {
            std::array::from_fn(|c| x[c].iter().zip(&y[c]).map(|(p, q)| p * q).collect())
        };
        let mut out = Vec::new();
        for (w, h) in plan::scale_sizes(width, height) {
            let (na, _, _) = downsample_planes(&a, w, h);
            let (nb, _, _) = downsample_planes(&b, w, h);
            let (x1, x2) = (xyb(&a), xyb(&b));
            let s11 = blur_planes(&rg, &mul(&x1, &x1), w, h);
            let s22 = blur_planes(&rg, &mul(&x2, &x2), w, h);
            let s12 = blur_planes(&rg, &mul(&x1, &x2), w, h);
            let m1 = blur_planes(&rg, &x1, w, h);
            let m2 = blur_planes(&rg, &x2, w, h);
            out.push(maps_fused(&m1, &m2, &s11, &s22, &s12, &x1, &x2, w, h));
            (a, b) = (na, nb);
        }
        out
    }

    fn textured(w: usize, h: usize, seed: u32, noise: f32) -> [Vec<f32>; 3] {
        let mut state = seed.max(1);
        std::array::from_fn(|c| {
            (0..w * h)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    let (x, y) = ((i % w) as f32, (i / w) as f32);
                    let wave = 0.2 * ((x * 0.05 + c as f32).sin() * (y * 0.031).cos());
                    let edge = if ((i % w) / 37 + (i / w) / 23).is_multiple_of(3) {
                        0.2
                    } else {
                        0.0
                    };
                    let grain = noise * ((state % 1000) as f32 / 1000.0 - 0.5);
                    (0.35 + 0.3 * x / w as f32 + wave + edge + grain).clamp(0.0, 1.0)
                })
                .collect()
        })
    }

    #[test]
    fn per_scale_sums_match_fast_ssim2_s() {
        let client = crate::ssimulacra2::blur::tests::client();
        let metric = Ssimulacra2::new();
        for (w, h) in [(37, 29), (203, 151)] {
            let a = textured(w, h, 3, 0.05);
            let mut b = textured(w, h, 3, 0.05);
            for (c, p) in b.iter_mut().enumerate() {
                for (i, v) in p.iter_mut().enumerate() {
                    if (i + c) % 5 == 0 {
                        *v = (*v * 0.9 + 0.04).min(1.0);
                    }
                }
            }
            let source = |p: &[Vec<f32>; 3]| {
                DeviceSource::new(
                    p.iter()
                        .map(|q| DevicePlane::upload(&client, w, h, q))
                        .collect(),
                )
            };
            let prep = metric.prepare(&client, &source(&a)).expect("prepare");
            let band = plan::whole(w, h);
            let input = band_planes(&client, &source(&b), &band).expect("planes");
            let carry = Carry {
                states: &vec![prep.no_state.clone(); band.scales.len()],
                resume: false,
                save: false,
                soft: prep.soft,
                tiles: metric.row_tiles,
            };
            let partials = launch_compare::<WgpuRuntime>(
                &client,
                &prep.coefs,
                &prep.levels,
                input,
                &band,
                &carry,
            );
            let ours = read_sums(&client, partials).expect("sums");
            let want = reference_scales(a.clone(), b.clone(), w, h);
            assert_eq!(ours.len(), want.len());
            let mut worst = 0.0f64;
            for (s, (sums, (ssim, edge))) in ours.iter().zip(&want).enumerate() {
                let (sw, sh) = plan::scale_sizes(w, h)[s];
                let inv = 1.0 / (sw * sh) as f64;
                for c in 0..3 {
                    for norm in 0..2 {
                        let agg = |map: usize| {
                            let v = inv * sums[(c * 3 + map) * 2 + norm];
                            if norm == 0 { v } else { v.sqrt().sqrt() }
                        };
                        let pairs = [
                            (agg(0), ssim[c * 2 + norm]),
                            (agg(1), edge[c * 4 + norm]),
                            (agg(2), edge[c * 4 + 2 + norm]),
                        ];
                        for (m, (got, want)) in pairs.into_iter().enumerate() {
                            let rel = (got - want).abs() / want.abs().max(1e-12);
                            if rel > 1e-6 {
                                eprintln!(
                                    "{w}x{h} scale {s} channel {c} map {m} norm {norm}: \
                                     ours {got:e} fast-ssim2 {want:e} rel {rel:.2e}"
                                );
                            }
                            worst = worst.max(rel);
                        }
                    }
                }
            }
            eprintln!("{w}x{h}: worst relative difference of the aggregates {worst:.2e}");
            assert!(worst <= 1e-5, "{w}x{h}: {worst}");
        }
    }
}
