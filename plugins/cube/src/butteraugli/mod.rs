//! butteraugli (libjxl's definition) on the device: the max-norm and libjxl's 3-norm of the
//! difference map, the reference's bands and mask prepared once. See `README.md` in this
//! folder.

// libjxl's constants are written as published, with more digits than an `f32` holds.
#![allow(clippy::excessive_precision)]

pub(crate) mod blur;
pub(crate) mod freq;
mod kernels;
mod malta;
pub(crate) mod opsin;
mod score;
#[cfg(test)]
mod tests;

use cubecl::{prelude::*, server::Handle};
use qscore_core::Error;

use crate::grid::cubes_for_units;
use crate::plane::DevicePlane;
use crate::source::{PlaneSource, same_size};
use malta::Weights;

/// `count` planes of `width × height` `f32` in one buffer, plane after plane.
#[derive(Debug, Clone)]
pub(crate) struct Planes {
    pub(crate) handle: Handle,
    pub(crate) width: usize,
    pub(crate) height: usize,
    pub(crate) count: usize,
}

impl Planes {
    pub(crate) fn empty<R: Runtime>(
        client: &ComputeClient<R>,
        width: usize,
        height: usize,
        count: usize,
    ) -> Self {
        Self {
            handle: crate::meter::empty(client, width * height * count * 4),
            width,
            height,
            count,
        }
    }

    /// Samples in all planes.
    pub(crate) fn len(&self) -> usize {
        self.width * self.height * self.count
    }

    /// The buffer as a kernel argument.
    pub(crate) fn arg<R: Runtime>(&self) -> ArrayArg<R> {
        // SAFETY: the handle was allocated for `len()` f32.
        unsafe { ArrayArg::from_raw_parts(self.handle.clone(), self.len()) }
    }

    /// Every plane blurred, into new planes.
    pub(crate) fn blurred<R: Runtime>(&self, client: &ComputeClient<R>, blur: &blur::Blur) -> Self {
        let tmp = crate::meter::empty(client, self.len() * 4);
        Self {
            handle: blur.run(
                client,
                &self.handle,
                &tmp,
                self.width,
                self.height,
                self.count,
            ),
            ..self.clone()
        }
    }

    /// Plane `i`'s samples, read back (tests).
    #[cfg(test)]
    pub(crate) fn read<R: Runtime>(&self, client: &ComputeClient<R>, i: usize) -> Vec<f32> {
        let bytes = client.read_one(self.handle.clone()).expect("read back");
        let n = self.width * self.height;
        f32::from_bytes(&bytes)[i * n..(i + 1) * n].to_vec()
    }
}

/// Units per cube of the per-pixel kernels.
const UNITS: usize = 256;
/// libjxl's smallest side.
pub const MIN_SIDE: usize = 8;
/// Smallest side at which a half-resolution pass is added.
const MIN_SIDE_FOR_HALF: usize = 15;
/// σ of the blur that smooths the mask.
const MASK_SIGMA: f32 = 2.7;
/// Weight of the half-resolution map.
const HALF_WEIGHT: f32 = 0.5;

/// The Malta weights of the six AC bands: `(w, norm1)` for UHF, HF, MF, X then Y.
const MALTA_UHF: [(f64, f64); 2] = [(173.5, 5.0), (1.100_390_325_55, 71.780_027_516_9)];
const MALTA_HF: [(f64, f64); 2] = [
    (6_923.994_761_09, 8_051.158_332_47),
    (18.723_741_438_7, 4_498_534.452_32),
];
const MALTA_MF: [(f64, f64); 2] = [
    (8_246.753_213_53, 1_009_002.705_82),
    (37.081_987_039_9, 130_262_059.556),
];

/// butteraugli with libjxl's default parameters and a chosen intensity target.
#[derive(Debug, Clone)]
pub struct Butteraugli {
    /// Nits of a linear value of 1.0.
    intensity: f32,
    /// libjxl's `hf_asymmetry`: how much more a new HF detail costs than a lost one.
    hf_asymmetry: f64,
    /// libjxl's `xmul`: the weight of X differences.
    xmul: f32,
}

impl Default for Butteraugli {
    fn default() -> Self {
        Self::new(80.0)
    }
}

/// The device's constant inputs: the blurs' weights.
#[derive(Debug, Clone)]
struct Tables {
    opsin: blur::Blur,
    bands: freq::Blurs,
    mask: blur::Blur,
}

/// One resolution of a prepared reference.
#[derive(Debug)]
struct Level {
    bands: freq::Bands,
    /// The blurred mask input, compared with the distorted image's.
    blurred: Planes,
    /// The visual mask (eroded `blurred`).
    mask: Planes,
}

/// A reference image's bands and mask at full and (from 15×15) half resolution, resident on
/// the device for any number of compares.
#[derive(Debug)]
pub struct ButteraugliPrepared {
    width: usize,
    height: usize,
    tables: Tables,
    levels: Vec<Level>,
}

/// The two scores of a comparison.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ButteraugliScores {
    /// The largest value of the difference map (libjxl's butteraugli score).
    pub max: f64,
    /// libjxl's 3-norm of the map.
    pub pnorm3: f64,
}

/// Three device planes copied into one buffer.
#[cube(launch)]
fn gather(r: &Array<f32>, g: &Array<f32>, b: &Array<f32>, out: &mut Array<f32>, n: usize) {
    let i = ABSOLUTE_POS;
    if i < n {
        out[i] = r[i];
        out[n + i] = g[i];
        out[2 * n + i] = b[i];
    }
}

fn launch_dims(n: usize) -> (CubeCount, CubeDim) {
    (cubes_for_units(n, UNITS), CubeDim::new_1d(UNITS as u32))
}

/// Size and plane count of an input, checked.
fn dims<R: Runtime>(source: &dyn PlaneSource<R>, what: &str) -> Result<(usize, usize), Error> {
    crate::source::linear_rgb_size(source, "butteraugli", MIN_SIDE, what)
}

/// Rows `y0..y1` of a source's linear RGB as one 3-plane buffer.
fn linear<R: Runtime>(
    client: &ComputeClient<R>,
    source: &dyn PlaneSource<R>,
    (y0, y1): (usize, usize),
) -> Result<Planes, Error> {
    let planes: Vec<DevicePlane> = source.rows(client, y0, y1)?;
    let (w, h) = (source.width(), y1 - y0);
    let out = Planes::empty(client, w, h, 3);
    let n = w * h;
    let (count, dim) = launch_dims(n);
    gather::launch::<R>(
        client,
        count,
        dim,
        planes[0].arg(),
        planes[1].arg(),
        planes[2].arg(),
        out.arg(),
        n,
    );
    Ok(out)
}

/// The half-resolution linear RGB (2×2 means), when the image is large enough for one.
fn half<R: Runtime>(client: &ComputeClient<R>, rgb: &Planes) -> Option<Planes> {
    let (w, h) = (rgb.width, rgb.height);
    if w < MIN_SIDE_FOR_HALF || h < MIN_SIDE_FOR_HALF {
        return None;
    }
    let out = Planes::empty(client, w.div_ceil(2), h.div_ceil(2), 3);
    let (count, dim) = launch_dims(out.len());
    kernels::subsample::launch::<R>(
        client,
        count,
        dim,
        rgb.arg(),
        out.arg(),
        w,
        h,
        out.width,
        out.height,
    );
    Some(out)
}

impl Butteraugli {
    /// butteraugli for linear values where 1.0 is `intensity` nits (libjxl's default: 80).
    pub fn new(intensity: f32) -> Self {
        Self {
            intensity,
            hf_asymmetry: 1.0,
            xmul: 1.0,
        }
    }

    fn tables<R: Runtime>(client: &ComputeClient<R>) -> Tables {
        Tables {
            opsin: blur::Blur::new(client, 1.2),
            bands: freq::Blurs::new(client),
            mask: blur::Blur::new(client, MASK_SIGMA),
        }
    }

    /// The bands of one resolution of an image.
    fn bands<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        t: &Tables,
        rgb: &Planes,
    ) -> freq::Bands {
        let xyb = opsin::xyb(client, &t.opsin, rgb, self.intensity);
        freq::separate(client, &t.bands, &xyb)
    }

    /// The blurred mask input of an image's bands.
    fn mask_input<R: Runtime>(
        client: &ComputeClient<R>,
        t: &Tables,
        bands: &freq::Bands,
    ) -> Planes {
        let (w, h) = (bands.hf.width, bands.hf.height);
        let raw = Planes::empty(client, w, h, 1);
        let (count, dim) = launch_dims(w * h);
        kernels::mask_input::launch::<R>(
            client,
            count,
            dim,
            bands.hf.arg(),
            bands.uhf.arg(),
            raw.arg(),
            w * h,
        );
        raw.blurred(client, &t.mask)
    }

    fn level<R: Runtime>(&self, client: &ComputeClient<R>, t: &Tables, rgb: &Planes) -> Level {
        let bands = self.bands(client, t, rgb);
        let blurred = Self::mask_input(client, t, &bands);
        let mask = Planes::empty(client, rgb.width, rgb.height, 1);
        let (count, dim) = launch_dims(rgb.width * rgb.height);
        kernels::erosion::launch::<R>(
            client,
            count,
            dim,
            blurred.arg(),
            mask.arg(),
            rgb.width,
            rgb.height,
        );
        Level {
            bands,
            blurred,
            mask,
        }
    }

    /// FULL mode, reference side: `reference` holds 3 planes of linear-light RGB (1.0 = the
    /// intensity target). Its bands and mask at both resolutions stay on the device for any
    /// number of [`compare`](Self::compare)s.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a plane count other than 3 or a side below 8.
    pub fn prepare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
    ) -> Result<ButteraugliPrepared, Error> {
        let (width, height) = dims(reference, "reference")?;
        let tables = Self::tables(client);
        let levels = self.levels(client, &tables, linear(client, reference, (0, height))?);
        Ok(ButteraugliPrepared {
            width,
            height,
            tables,
            levels,
        })
    }

    /// The reference levels of an image (or a band of it): full and, when large enough,
    /// half resolution.
    fn levels<R: Runtime>(&self, client: &ComputeClient<R>, t: &Tables, rgb: Planes) -> Vec<Level> {
        let sub = half(client, &rgb);
        let mut levels = vec![self.level(client, t, &rgb)];
        drop(rgb);
        if let Some(sub) = sub {
            levels.push(self.level(client, t, &sub));
        }
        levels
    }

    /// The AC differences (X, Y, B) of `bands` against a reference level.
    fn ac<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &Level,
        bands: &freq::Bands,
    ) -> Planes {
        let (w, h) = (bands.hf.width, bands.hf.height);
        let ac = Planes::empty(client, w, h, 3);
        let r = &reference.bands;
        let asym = self.hf_asymmetry;
        for c in 0..2 {
            let (wu, nu) = MALTA_UHF[c];
            let (wh, nh) = MALTA_HF[c];
            let (wm, nm) = MALTA_MF[c];
            let runs = [
                (
                    &r.uhf,
                    &bands.uhf,
                    Weights {
                        w_0gt1: wu * asym,
                        w_0lt1: wu / asym,
                        norm1: nu,
                        five: false,
                    },
                ),
                (
                    &r.hf,
                    &bands.hf,
                    Weights {
                        w_0gt1: wh * asym.sqrt(),
                        w_0lt1: wh / asym.sqrt(),
                        norm1: nh,
                        five: true,
                    },
                ),
                (
                    &r.mf,
                    &bands.mf,
                    Weights {
                        w_0gt1: wm,
                        w_0lt1: wm,
                        norm1: nm,
                        five: true,
                    },
                ),
            ];
            for (i, (a, b, weights)) in runs.into_iter().enumerate() {
                malta::diff(client, (a, b, c), weights, &ac, i == 0);
            }
        }
        let w0 = kernels::WMUL[0];
        let w1 = kernels::WMUL[1];
        let (count, dim) = launch_dims(w * h);
        kernels::l2_terms::launch::<R>(
            client,
            count,
            dim,
            r.hf.arg(),
            bands.hf.arg(),
            r.mf.arg(),
            bands.mf.arg(),
            ac.arg(),
            (w0 * asym) as f32,
            (w0 / asym) as f32,
            (w1 * asym) as f32,
            (w1 / asym) as f32,
            w * h,
        );
        ac
    }

    /// The difference map of one resolution.
    fn diffmap<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        t: &Tables,
        reference: &Level,
        rgb: &Planes,
    ) -> Planes {
        let bands = self.bands(client, t, rgb);
        let ac = self.ac(client, reference, &bands);
        let n = rgb.width * rgb.height;
        let (count, dim) = launch_dims(n);
        let blurred = Self::mask_input(client, t, &bands);
        kernels::mask_error::launch::<R>(
            client,
            count.clone(),
            dim,
            reference.blurred.arg(),
            blurred.arg(),
            ac.arg(),
            n,
        );
        drop(blurred);
        let map = Planes::empty(client, rgb.width, rgb.height, 1);
        kernels::combine::launch::<R>(
            client,
            count,
            dim,
            reference.mask.arg(),
            reference.bands.lf.arg(),
            bands.lf.arg(),
            ac.arg(),
            map.arg(),
            self.xmul,
            n,
        );
        map
    }

    /// The difference map of an image (or a band of it) against its reference levels: the
    /// full-resolution map with the half-resolution one mixed in.
    fn map<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        t: &Tables,
        levels: &[Level],
        rgb: Planes,
    ) -> Planes {
        let sub = half(client, &rgb);
        let map = self.diffmap(client, t, &levels[0], &rgb);
        drop(rgb);
        if let (Some(sub), Some(level)) = (sub, levels.get(1)) {
            let half_map = self.diffmap(client, t, level, &sub);
            let (count, dim) = launch_dims(map.len());
            kernels::supersample::launch::<R>(
                client,
                count,
                dim,
                half_map.arg(),
                map.arg(),
                HALF_WEIGHT,
                map.width,
                map.height,
                half_map.width,
                half_map.height,
            );
        }
        map
    }

    /// FULL mode: both scores of `distorted` (3 linear RGB planes) against a prepared
    /// reference. One read-back per call.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the sizes differ or the plane count is not 3.
    pub fn compare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        prepared: &ButteraugliPrepared,
        distorted: &dyn PlaneSource<R>,
    ) -> Result<ButteraugliScores, Error> {
        let size = dims(distorted, "distorted image")?;
        same_size((prepared.width, prepared.height), size)?;
        let (w, h) = size;
        let rgb = linear(client, distorted, (0, h))?;
        let map = self.map(client, &prepared.tables, &prepared.levels, rgb);
        let part = score::launch(client, &map.handle, 0, w * h);
        let (max, pnorm3) = score::finish(client, vec![part], w * h)?;
        Ok(ButteraugliScores { max, pnorm3 })
    }

    /// Strip mode: both images read band by band, top to bottom, `band_rows` scored rows
    /// per band (a positive even number) plus [`HALO`] rows of context above and below
    /// (clipped at the image): every score-bearing value of a band then equals FULL mode's
    /// bit for bit, at both resolutions. Only one band's bands, masks and maps exist on the
    /// device at a time; one read-back at the end. Equals [`compare`](Self::compare) up to
    /// the order of the `f32` partial sums.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the sizes differ, the plane count is not 3 or
    /// `band_rows` is not a positive even number.
    pub fn compare_bands<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
        distorted: &dyn PlaneSource<R>,
        band_rows: usize,
    ) -> Result<ButteraugliScores, Error> {
        let size = dims(reference, "reference")?;
        same_size(size, dims(distorted, "distorted image")?)?;
        check_band_rows(band_rows)?;
        let (w, h) = size;
        let tables = Self::tables(client);
        let mut parts = Vec::new();
        for (y0, y1, f0, f1) in bands(h, band_rows) {
            let levels = self.levels(client, &tables, linear(client, reference, (f0, f1))?);
            let rgb = linear(client, distorted, (f0, f1))?;
            let map = self.map(client, &tables, &levels, rgb);
            drop(levels);
            parts.push(score::launch(
                client,
                &map.handle,
                (y0 - f0) * w,
                (y1 - y0) * w,
            ));
        }
        let (max, pnorm3) = score::finish(client, parts, w * h)?;
        Ok(ButteraugliScores { max, pnorm3 })
    }
}

impl Butteraugli {
    /// Peak device bytes for a `width × height` pair, input planes included: FULL mode
    /// (prepare, then compares against the resident levels) when `band_rows` is `None`,
    /// else strip mode. 0 for sizes or bands the metric rejects.
    ///
    /// With `P` the bytes of one `f32` plane of the image (in strip mode, of the largest
    /// band with its context) and `Q` of the half-resolution one (0 below 15×15), the
    /// buffers alive at each step (the schedule of `prepare`, `compare` and
    /// `compare_bands`):
    ///
    /// | step | alive |
    /// |---|---|
    /// | input copied into one buffer | source planes `3P`, linear RGB `3P` |
    /// | bands (UHF blur, the largest step) | RGB `3P`, half RGB `3Q`, XYB `3P`, LF `3P`, MF `3P`, HF `2P`, blur `2P + 2P` |
    /// | reference level kept | bands `10P`, blurred mask input `P`, mask `P` (and `10Q + Q + Q` at half resolution) |
    /// | compare: mask input blurred | levels `12P + 12Q`, RGB `3P`, half RGB `3Q`, bands `10P`, AC `3P`, mask input `P`, blur `P + P` |
    ///
    /// so FULL mode peaks at `31P + 15Q` during a compare (a prepare alone at `18P + 3Q`),
    /// strip mode at the same for its largest band, plus the constant tables (blur
    /// weights) and, in strip mode, the partial scores of the bands
    /// before. Sizes exclude the memory pool's rounding.
    pub fn predict(width: usize, height: usize, band_rows: Option<usize>) -> u64 {
        if width < MIN_SIDE || height < MIN_SIDE {
            return 0;
        }
        let rows: Vec<(usize, usize, usize, usize)> = match band_rows {
            None => vec![(0, height, 0, height)],
            Some(b) if check_band_rows(b).is_ok() => bands(height, b).collect(),
            Some(_) => return 0,
        };
        let has_half = width >= MIN_SIDE_FOR_HALF && height >= MIN_SIDE_FOR_HALF;
        let mut partials = 0u64;
        let mut peak = 0u64;
        for (y0, y1, f0, f1) in rows {
            let h = f1 - f0;
            let p = (4 * width * h) as u64;
            let q = if has_half {
                (4 * width.div_ceil(2) * h.div_ceil(2)) as u64
            } else {
                0
            };
            peak = peak.max(tables_bytes() + partials + 31 * p + 15 * q);
            partials += score::partial_bytes((y1 - y0) * width);
        }
        peak
    }
}

/// Bytes of the constant tables: the blurs' weights, raw and normalised.
fn tables_bytes() -> u64 {
    let taps: usize = [
        1.2,
        freq::SIGMA_LF,
        freq::SIGMA_HF,
        freq::SIGMA_UHF,
        MASK_SIGMA,
    ]
    .iter()
    .map(|&s| blur::weights(s).len())
    .sum();
    (8 * taps) as u64
}

/// Rows of context a band reads on each side: the difference map at a pixel depends on the
/// input within 37 rows at full resolution (opsin blur 2, the three band blurs 16 + 7 + 3,
/// then the mask's blur 6 and erosion 3, more than the Malta lines' 4), and the half
/// resolution map on the half image within 37 of its rows, 74 full rows and one more for
/// the 2×2 means. Even, so that a band's 2×2 blocks are the image's.
pub const HALO: usize = 76;

/// The bands of an image of `height` rows: scored rows `y0..y1` and fetched rows `f0..f1`.
fn bands(height: usize, band_rows: usize) -> impl Iterator<Item = (usize, usize, usize, usize)> {
    (0..height).step_by(band_rows).map(move |y0| {
        let y1 = (y0 + band_rows).min(height);
        (y0, y1, y0.saturating_sub(HALO), (y1 + HALO).min(height))
    })
}

fn check_band_rows(band_rows: usize) -> Result<(), Error> {
    if band_rows == 0 || !band_rows.is_multiple_of(2) {
        return Err(Error::InvalidInput(format!(
            "butteraugli bands must be a positive even number of rows, got {band_rows}"
        )));
    }
    Ok(())
}
