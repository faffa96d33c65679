//! Multi-scale structural similarity (MS-SSIM) on one plane, as libvmaf's `float_ms_ssim`, on
//! the device.
//!
//! The definition is the CPU plugin's (`plugins/cpu/src/metrics/ms_ssim.rs`): five scales,
//! each the previous one filtered by libvmaf's 9×9 table for the 9/7 wavelet low-pass (entries
//! rounded to 6 decimals, not renormalised) with half-sample mirroring and decimated by 2
//! (`⌈w/2⌉ × ⌈h/2⌉`); at each scale the means of libvmaf's `l`, `c`, `s` maps over the
//! valid region of its rounded 11-tap Gaussian window (variances clamped at 0, `C3 = C2/2`,
//! `σxy` replaced by 0 when negative and `σxσy = 0`); combined as
//! `l̄₄^α₄ · ∏ c̄ᵢ^βᵢ · s̄ᵢ^γᵢ` with Wang's weights, NaN when some `s̄ᵢ` is negative.
//!
//! Kernels compute in `f32` (as libvmaf does); partial sums are added and the scales
//! combined on the host in `f64`.

use cubecl::prelude::*;
use qscore_core::Error;

use crate::filter::{self, Index, LPF_LEN, LPF_RADIUS, Stack, Tally, WINDOW};
use crate::plane::DevicePlane;
use crate::source::PlaneSource;

/// Number of scales.
const SCALES: usize = 5;
/// Smallest accepted width and height: `⌊176 / 2⁴⌋ = 11`, the window size, at the last scale.
const MIN_SIZE: usize = 176;

/// Exponent of the luminance mean at each scale.
const ALPHA: [f64; SCALES] = [0.0, 0.0, 0.0, 0.0, 0.1333];
/// Exponent of the contrast mean at each scale.
const BETA: [f64; SCALES] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];
/// Exponent of the structure mean at each scale.
const GAMMA: [f64; SCALES] = [0.0448, 0.2856, 0.3001, 0.2363, 0.1333];

const K1: f64 = 0.01;
const K2: f64 = 0.03;

/// libvmaf's 11-tap Gaussian window (σ = 1.5), rounded to 6 decimals; sums to 1.000002.
const WINDOW_TAPS: [f64; WINDOW] = [
    0.001028, 0.007599, 0.036001, 0.109361, 0.213006, 0.266012, 0.213006, 0.109361, 0.036001,
    0.007599, 0.001028,
];

/// One quadrant of libvmaf's symmetric 9×9 low-pass kernel: `LPF_QUADRANT[|dy|][|dx|]`.
const LPF_QUADRANT: [[f64; LPF_RADIUS + 1]; LPF_RADIUS + 1] = [
    [0.363505, 0.160885, -0.047149, -0.010146, 0.016114],
    [0.160885, 0.071207, -0.020867, -0.004490, 0.007132],
    [-0.047149, -0.020867, 0.006115, 0.001316, -0.002090],
    [-0.010146, -0.004490, 0.001316, 0.000283, -0.000450],
    [0.016114, 0.007132, -0.002090, -0.000450, 0.000714],
];

/// The full 9×9 low-pass kernel, row-major.
fn lpf_kernel() -> Vec<f64> {
    (0..LPF_LEN * LPF_LEN)
        .map(|i| {
            LPF_QUADRANT[(i / LPF_LEN).abs_diff(LPF_RADIUS)][(i % LPF_LEN).abs_diff(LPF_RADIUS)]
        })
        .collect()
}

/// Width and height of every scale.
fn scale_sizes(width: usize, height: usize) -> [(usize, usize); SCALES] {
    let mut sizes = [(width, height); SCALES];
    for s in 1..SCALES {
        sizes[s] = filter::half(sizes[s - 1].0, sizes[s - 1].1);
    }
    sizes
}

fn check_min_size(width: usize, height: usize) -> Result<(), Error> {
    if width < MIN_SIZE || height < MIN_SIZE {
        Err(Error::InvalidInput(format!(
            "MS-SSIM needs images of at least {MIN_SIZE}x{MIN_SIZE} pixels (11x11 at the 5th \
             scale), got {width}x{height}"
        )))
    } else {
        Ok(())
    }
}

fn check_one_plane(planes: usize) -> Result<(), Error> {
    if planes == 1 {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "MS-SSIM takes exactly one plane (luma), got {planes}"
        )))
    }
}

/// `l̄₄^α₄ · ∏ c̄ᵢ^βᵢ · s̄ᵢ^γᵢ` from the per-scale means `[l̄, c̄, s̄]` (a zero exponent gives
/// exactly 1; a negative `s̄` gives NaN, as libvmaf).
fn combine(means: &[[f64; 3]; SCALES]) -> f64 {
    means
        .iter()
        .zip(ALPHA.iter().zip(BETA.iter().zip(&GAMMA)))
        .map(|(m, (&a, (&b, &g)))| m[0].powf(a) * m[1].powf(b) * m[2].powf(g))
        .product()
}

/// MS-SSIM of one plane (luma on the scale the caller chooses) with dynamic range `L`.
#[derive(Debug, Clone, Copy)]
pub struct MsSsim {
    data_range: f64,
}

/// One scale of the prepared reference.
#[derive(Debug)]
struct Level {
    /// Reference samples at this scale.
    x: DevicePlane,
    /// `G∗x` over the valid region.
    mu_x: DevicePlane,
    /// `G∗x²` over the valid region.
    xx: DevicePlane,
}

/// A reference plane prepared by [`MsSsim::prepare`]: its five-scale pyramid with the filtered
/// mean and filtered square at each scale, all on the device.
#[derive(Debug)]
pub struct MsSsimPrepared {
    width: usize,
    height: usize,
    taps: DevicePlane,
    lpf: DevicePlane,
    levels: Vec<Level>,
}

impl MsSsim {
    /// MS-SSIM with dynamic range `data_range` (`L`; libvmaf uses 255 with luma on the 8-bit
    /// scale). The range is checked when the metric is used.
    pub fn new(data_range: f64) -> Self {
        Self { data_range }
    }

    fn constants(&self) -> Result<(f32, f32), Error> {
        filter::check_data_range(self.data_range)?;
        let c1 = (K1 * self.data_range) * (K1 * self.data_range);
        let c2 = (K2 * self.data_range) * (K2 * self.data_range);
        Ok((c1 as f32, c2 as f32))
    }

    /// FULL mode: reads the whole reference plane and builds its pyramid with `μx` and `G∗x²`
    /// at every scale, kept on the device.
    ///
    /// Fails with [`Error::InvalidInput`] if the source does not have exactly one plane, is
    /// smaller than 176×176, or the data range is not a positive finite number.
    pub fn prepare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
    ) -> Result<MsSsimPrepared, Error> {
        self.constants()?;
        check_one_plane(reference.planes())?;
        let (w, h) = (reference.width(), reference.height());
        check_min_size(w, h)?;
        let sizes = scale_sizes(w, h);
        let taps = filter::upload_taps(client, &WINDOW_TAPS);
        let lpf = filter::upload_taps(client, &lpf_kernel());
        let mut x = reference.rows(client, 0, h)?.swap_remove(0);
        let mut levels = Vec::with_capacity(SCALES);
        for s in 0..SCALES {
            let (mu_x, xx) = {
                let stack =
                    filter::horizontal(client, Stack::Reference, &x, &x, &taps, 0, sizes[s].1);
                filter::vertical_maps(client, &stack, &taps, sizes[s].1)
            };
            let next = (s + 1 < SCALES).then(|| {
                let (nw, nh) = sizes[s + 1];
                let next = DevicePlane::empty(client, nw, nh);
                filter::decimate_rows(client, &x, 0, sizes[s].1, &lpf, &next, 0, nh);
                next
            });
            levels.push(Level { x, mu_x, xx });
            match next {
                Some(next) => x = next,
                None => break,
            }
        }
        Ok(MsSsimPrepared {
            width: w,
            height: h,
            taps,
            lpf,
            levels,
        })
    }

    /// MS-SSIM between the prepared reference and `distorted` (NaN when some scale's mean
    /// structure term is negative, as libvmaf).
    ///
    /// Fails with [`Error::InvalidInput`] if `distorted` differs from the reference in size or
    /// does not have exactly one plane.
    pub fn compare<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        prepared: &MsSsimPrepared,
        distorted: &dyn PlaneSource<R>,
    ) -> Result<f64, Error> {
        let (c1, c2) = self.constants()?;
        let (w, h) = (prepared.width, prepared.height);
        filter::check_same_shape(
            (w, h, 1),
            (distorted.width(), distorted.height(), distorted.planes()),
        )?;
        let sizes = scale_sizes(w, h);
        let mut y = distorted.rows(client, 0, h)?.swap_remove(0);
        let mut partials = Vec::with_capacity(SCALES);
        for (s, level) in prepared.levels.iter().enumerate() {
            let sh = sizes[s].1;
            let stack = filter::horizontal(
                client,
                Stack::Distorted,
                &level.x,
                &y,
                &prepared.taps,
                0,
                sh,
            );
            partials.push(filter::launch_stats(
                client,
                Index::LumaContrastStructure,
                &stack,
                Some((&level.mu_x, &level.xx)),
                &prepared.taps,
                sh,
                c1,
                c2,
            ));
            drop(stack);
            if s + 1 < SCALES {
                let (nw, nh) = sizes[s + 1];
                let next = DevicePlane::empty(client, nw, nh);
                filter::decimate_rows(client, &y, 0, sh, &prepared.lpf, &next, 0, nh);
                y = next;
            }
        }
        let mut means = [[0.0; 3]; SCALES];
        let sums = filter::finish_stats(client, partials)?;
        for ((mean, sum), &(sw, sh)) in means.iter_mut().zip(&sums).zip(&sizes) {
            let outputs = ((sw + 1 - WINDOW) * (sh + 1 - WINDOW)) as f64;
            for (m, s) in mean.iter_mut().zip(sum) {
                *m = s / outputs;
            }
        }
        Ok(combine(&means))
    }

    /// Strip mode: both planes are read in bands of `band_rows` output rows of the first
    /// scale's window (plus its 10-row halo and the low-pass filter's 4 rows above), and every
    /// scale's statistics are computed band by band, so only one band's filtered quantities
    /// exist on the device at a time. The decimated scales (a quarter of the input and less)
    /// are kept whole for the two images. Equals [`compare`](Self::compare) up to `f32`
    /// summation order.
    ///
    /// Fails with [`Error::InvalidInput`] on a size mismatch, a plane count other than one,
    /// images smaller than 176×176, or `band_rows == 0`.
    pub fn compare_bands<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        reference: &dyn PlaneSource<R>,
        distorted: &dyn PlaneSource<R>,
        band_rows: usize,
    ) -> Result<f64, Error> {
        let (c1, c2) = self.constants()?;
        let (w, h) = (reference.width(), reference.height());
        check_one_plane(reference.planes())?;
        filter::check_same_shape(
            (w, h, 1),
            (distorted.width(), distorted.height(), distorted.planes()),
        )?;
        check_min_size(w, h)?;
        if band_rows == 0 {
            return Err(Error::InvalidInput("band_rows must be at least 1".into()));
        }
        let sizes = scale_sizes(w, h);
        let taps = filter::upload_taps(client, &WINDOW_TAPS);
        let lpf = filter::upload_taps(client, &lpf_kernel());
        let mut sums = [[0.0; 3]; SCALES];

        // Scale 0 straight from the sources; its decimation goes band by band into whole
        // scale-1 planes.
        let (nw, nh) = sizes[1];
        let mut x_next = DevicePlane::empty(client, nw, nh);
        let mut y_next = DevicePlane::empty(client, nw, nh);
        let out_h = h + 1 - WINDOW;
        for (r0, r1) in filter::bands(out_h, band_rows) {
            let (a, b, d0, d1) = scale0_band(r0, r1, out_h, nh);
            let x = reference.rows(client, a, b)?.swap_remove(0);
            let y = distorted.rows(client, a, b)?.swap_remove(0);
            self.band_sums(
                client,
                &x,
                &y,
                &taps,
                r0 - a,
                r1 - r0,
                (c1, c2),
                &mut sums[0],
            )?;
            if d1 > d0 {
                filter::decimate_rows(client, &x, a, h, &lpf, &x_next, d0, d1 - d0);
                filter::decimate_rows(client, &y, a, h, &lpf, &y_next, d0, d1 - d0);
            }
        }

        // Scales 1.. from the whole decimated planes, their statistics band by band.
        for s in 1..SCALES {
            let (x, y) = (x_next, y_next);
            let sh = sizes[s].1;
            let out_h = sh + 1 - WINDOW;
            for (r0, r1) in filter::bands(out_h, band_rows) {
                self.band_sums(client, &x, &y, &taps, r0, r1 - r0, (c1, c2), &mut sums[s])?;
            }
            if s + 1 < SCALES {
                let (nw, nh) = sizes[s + 1];
                x_next = DevicePlane::empty(client, nw, nh);
                y_next = DevicePlane::empty(client, nw, nh);
                filter::decimate_rows(client, &x, 0, sh, &lpf, &x_next, 0, nh);
                filter::decimate_rows(client, &y, 0, sh, &lpf, &y_next, 0, nh);
            } else {
                break;
            }
        }

        let mut means = [[0.0; 3]; SCALES];
        for ((mean, sum), &(sw, sh)) in means.iter_mut().zip(&sums).zip(&sizes) {
            let outputs = ((sw + 1 - WINDOW) * (sh + 1 - WINDOW)) as f64;
            for (m, s) in mean.iter_mut().zip(sum) {
                *m = s / outputs;
            }
        }
        Ok(combine(&means))
    }

    /// Adds to `sums` the `l`, `c`, `s` sums over `out_rows` output rows whose window starts
    /// at row `row0` of the planes or bands `x` and `y`.
    #[allow(clippy::too_many_arguments)]
    fn band_sums<R: Runtime>(
        &self,
        client: &ComputeClient<R>,
        x: &DevicePlane,
        y: &DevicePlane,
        taps: &DevicePlane,
        row0: usize,
        out_rows: usize,
        (c1, c2): (f32, f32),
        sums: &mut [f64; 3],
    ) -> Result<(), Error> {
        let rows = out_rows + WINDOW - 1;
        let stack = filter::horizontal(client, Stack::Both, x, y, taps, row0, rows);
        let band = filter::vertical_stats(
            client,
            Index::LumaContrastStructure,
            &stack,
            None,
            taps,
            rows,
            c1,
            c2,
        )?;
        for (s, b) in sums.iter_mut().zip(&band) {
            *s += b;
        }
        Ok(())
    }

    /// Peak device bytes this metric allocates for one `width × height` plane (`planes` must
    /// be 1; other counts, sizes below 176×176 and `band_rows == Some(0)`, all rejected by the
    /// metric, predict 0): FULL mode (prepared reference alive during
    /// [`compare`](Self::compare)) when `band_rows` is `None`,
    /// [`compare_bands`](Self::compare_bands) with that band height otherwise. Input planes
    /// handed out by the sources are counted as allocations.
    ///
    /// With scale sizes `wₛ × hₛ` (`w₀ × h₀` the input, `wₛ₊₁ = ⌈wₛ/2⌉`), `owₛ = wₛ − 10`,
    /// `ohₛ = hₛ − 10`, `parts(n) = 3·max(1, ⌈n / 4096⌉)` and all buffers `f32`:
    ///
    /// | mode | buffer | elements | alive |
    /// |---|---|---|---|
    /// | FULL | taps, low-pass kernel | `11 + 81` | prepared |
    /// | FULL | reference pyramid | `Σₛ wₛ·hₛ` | prepared |
    /// | FULL | `μx`, `G∗x²` per scale | `2·Σₛ owₛ·ohₛ` | prepared |
    /// | FULL | distorted at scales `s` and `s + 1` | `wₛ·hₛ + wₛ₊₁·hₛ₊₁` | while decimating |
    /// | FULL | stack `[y, y², xy]` | `3·owₛ·hₛ` | one scale |
    /// | FULL | partial sums | `parts(owₛ·ohₛ)` per scale | from its scale to the end |
    /// | bands | taps, low-pass kernel | `11 + 81` | compare |
    /// | bands | scale-0 bands of both images | `2·w₀·(b + 10 + 4)` (the first band has no 4) | one band |
    /// | bands | decimated planes of both images | `2·(wₛ·hₛ + wₛ₊₁·hₛ₊₁)` | scales `s`, `s + 1` |
    /// | bands | stack `[x, x², y, y², xy]` + partials | `5·owₛ·(b + 10) + parts(owₛ·b)` | one band |
    ///
    /// where `b` is the band's output rows (`band_rows`, or fewer for the last band).
    /// The peak is the maximum of the running total over that sequence, which this function
    /// replays exactly; for FULL it is reached on the first scale's stack:
    /// `92 + Σₛ(wₛhₛ + 2·owₛohₛ) + w₀h₀ + 3·ow₀h₀ + parts(ow₀oh₀)`.
    /// (the later scales' partials, added after it, are far smaller than that stack).
    pub fn predict(width: usize, height: usize, planes: usize, band_rows: Option<usize>) -> u64 {
        if planes != 1 || width < MIN_SIZE || height < MIN_SIZE || band_rows == Some(0) {
            return 0;
        }
        let sizes = scale_sizes(width, height);
        let area = |s: usize| sizes[s].0 * sizes[s].1;
        let rows = |s: usize| sizes[s].1;
        let valid = |s: usize| (sizes[s].0 + 1 - WINDOW, sizes[s].1 + 1 - WINDOW);
        let index = Index::LumaContrastStructure;
        let mut t = Tally::default();
        t.alloc(WINDOW + LPF_LEN * LPF_LEN);
        match band_rows {
            None => {
                // prepare
                t.alloc(area(0));
                for s in 0..SCALES {
                    let (ow, oh) = valid(s);
                    let stack = Stack::Reference.quantities() * ow * rows(s);
                    t.alloc(stack);
                    t.alloc(2 * ow * oh);
                    t.free(stack);
                    if s + 1 < SCALES {
                        t.alloc(area(s + 1));
                    }
                }
                // compare
                t.alloc(area(0));
                for s in 0..SCALES {
                    let (ow, oh) = valid(s);
                    let stack = Stack::Distorted.quantities() * ow * rows(s);
                    t.alloc(stack);
                    t.alloc(filter::partials_len(index, ow * oh));
                    t.free(stack);
                    if s + 1 < SCALES {
                        t.alloc(area(s + 1));
                        t.free(area(s));
                    }
                }
            }
            Some(band_rows) => {
                let band = |t: &mut Tally, ow: usize, out_rows: usize| {
                    let stack = Stack::Both.quantities() * ow * (out_rows + WINDOW - 1);
                    let parts = filter::partials_len(index, ow * out_rows);
                    t.alloc(stack + parts);
                    t.free(stack + parts);
                };
                t.alloc(2 * area(1));
                let (ow, oh) = valid(0);
                for (r0, r1) in filter::bands(oh, band_rows) {
                    let (a, b, _, _) = scale0_band(r0, r1, oh, rows(1));
                    t.alloc(2 * width * (b - a));
                    band(&mut t, ow, r1 - r0);
                    t.free(2 * width * (b - a));
                }
                for s in 1..SCALES {
                    let (ow, oh) = valid(s);
                    for (r0, r1) in filter::bands(oh, band_rows) {
                        band(&mut t, ow, r1 - r0);
                    }
                    if s + 1 < SCALES {
                        t.alloc(2 * area(s + 1));
                    }
                    t.free(2 * area(s));
                }
            }
        }
        t.peak_bytes()
    }
}

/// For the scale-0 band of window output rows `r0..r1` (of `out_h`): the input rows `a..b` to
/// read and the decimated rows `d0..d1` (of `next_h`) it produces. The window needs rows
/// `r0..r1 + 10`; decimated row `d` needs rows `2d − 4 ..= 2d + 4` (mirrored at the edges), and
/// giving this band `d ∈ ⌈r0/2⌉..⌈r1/2⌉` (the last band up to `next_h`) keeps those within
/// `r0 − 4 .. r1 + 10`, so bands tile the decimated plane with only 4 extra rows read.
fn scale0_band(r0: usize, r1: usize, out_h: usize, next_h: usize) -> (usize, usize, usize, usize) {
    let a = r0.saturating_sub(LPF_RADIUS);
    let b = r1 + WINDOW - 1;
    let d0 = r0.div_ceil(2);
    let d1 = if r1 == out_h { next_h } else { r1.div_ceil(2) };
    (a, b, d0, d1)
}
