//! Kernels shared by SSIM and MS-SSIM: the separable 11-tap window in "valid" mode, split in a
//! horizontal pass that writes every filtered quantity at once and a vertical pass that
//! finishes the filter, evaluates the per-pixel index and reduces it in the same kernel; plus
//! MS-SSIM's 9×9 low-pass decimation.
//!
//! Only positions where the whole window lies inside the image are ever computed (scikit-image
//! crops everything else away, libvmaf never computes it), so the window filters need no
//! boundary handling and work on any band of rows as long as it carries the 10-row halo.
//!
//! Partial sums follow [`reduce`](crate::reduce)'s scheme: each cube adds a fixed slice of the
//! output in a fixed tree order, the host adds the partials in index order in `f64`, so the
//! result never depends on scheduling.

use cubecl::prelude::*;
use qscore_core::Error;

use crate::plane::DevicePlane;
use crate::reduce::{LEVELS, PER_CUBE, PER_UNIT, UNITS, partial_count};

/// Taps of the window filter, per dimension.
pub(crate) const WINDOW: usize = 11;
/// Radius of the MS-SSIM low-pass filter.
pub(crate) const LPF_RADIUS: usize = 4;
/// Taps of the MS-SSIM low-pass filter, per dimension.
pub(crate) const LPF_LEN: usize = 2 * LPF_RADIUS + 1;
/// Units per cube of the element-wise kernels.
const BLOCK: usize = 256;

/// Horizontal pass of the window filter over `rows` input rows of width `width` starting at
/// element `in_offset` of `x` and `y`, writing `out_w = width − 10` filtered samples per row for
/// each quantity, quantity `q` at `stack[q · out_w · rows ..]`:
///
/// - `with_x` only: `[x, x²]` (preparing a reference);
/// - `with_y` only: `[y, y², x·y]` (distorted against a prepared reference);
/// - both: `[x, x², y, y², x·y]`.
#[cube(launch)]
pub(crate) fn window_horizontal(
    x: &Array<f32>,
    y: &Array<f32>,
    taps: &Array<f32>,
    stack: &mut Array<f32>,
    in_offset: usize,
    width: usize,
    out_w: usize,
    rows: usize,
    #[comptime] with_x: bool,
    #[comptime] with_y: bool,
) {
    let i = ABSOLUTE_POS;
    let n = out_w * rows;
    if i < n {
        let r = i / out_w;
        let c = i - r * out_w;
        let base = in_offset + r * width + c;
        let mut sx = 0.0f32;
        let mut sxx = 0.0f32;
        let mut sy = 0.0f32;
        let mut syy = 0.0f32;
        let mut sxy = 0.0f32;
        #[unroll]
        for k in 0..WINDOW {
            let w = taps[k];
            let a = x[base + k];
            if comptime!(with_x) {
                sx += w * a;
                sxx += w * (a * a);
            }
            if comptime!(with_y) {
                let b = y[base + k];
                sy += w * b;
                syy += w * (b * b);
                sxy += w * (a * b);
            }
        }
        if comptime!(with_x) {
            stack[i] = sx;
            stack[n + i] = sxx;
        }
        if comptime!(with_y) {
            let first = comptime!(if with_x { 2usize } else { 0usize });
            stack[first * n + i] = sy;
            stack[(first + 1) * n + i] = syy;
            stack[(first + 2) * n + i] = sxy;
        }
    }
}

/// Vertical pass for a reference alone: from the `[x, x²]` stack of `in_rows` rows, writes
/// `μx = G∗x` and `G∗x²` for the `out_rows = in_rows − 10` valid rows.
#[cube(launch)]
pub(crate) fn window_vertical_maps(
    stack: &Array<f32>,
    taps: &Array<f32>,
    mu: &mut Array<f32>,
    sq: &mut Array<f32>,
    out_w: usize,
    out_rows: usize,
    in_rows: usize,
) {
    let i = ABSOLUTE_POS;
    if i < out_w * out_rows {
        let plane = out_w * in_rows;
        let r = i / out_w;
        let c = i - r * out_w;
        let mut s0 = 0.0f32;
        let mut s1 = 0.0f32;
        #[unroll]
        for k in 0..WINDOW {
            let w = taps[k];
            let p = (r + k) * out_w + c;
            s0 += w * stack[p];
            s1 += w * stack[plane + p];
        }
        mu[i] = s0;
        sq[i] = s1;
    }
}

/// Vertical pass, per-pixel index and partial sums in one kernel.
///
/// `stack` holds `in_rows` horizontally filtered rows: `[x, x², y, y², x·y]` when `both`,
/// else `[y, y², x·y]` with the reference's finished `μx`, `G∗x²` maps in `mu_x`, `xx` (same
/// `out_w × out_rows` layout as the output). Output position `i < out_w · out_rows` belongs to
/// cube `i / PER_CUBE`.
///
/// - `ms == false`: the SSIM map (scikit-image's formula, no clamping), one partial per cube
///   at `partials[cube]`.
/// - `ms == true`: libvmaf's `l`, `c`, `s` maps (variances clamped at 0, `C3 = C2 / 2`), their
///   partials at `partials[q · count + cube]`, `q = 0, 1, 2`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn window_vertical_stats(
    stack: &Array<f32>,
    mu_x: &Array<f32>,
    xx: &Array<f32>,
    taps: &Array<f32>,
    partials: &mut Array<f32>,
    out_w: usize,
    out_rows: usize,
    in_rows: usize,
    count: usize,
    c1: f32,
    c2: f32,
    #[comptime] both: bool,
    #[comptime] ms: bool,
) {
    let mut sh0 = SharedMemory::<f32>::new(UNITS);
    let mut sh1 = SharedMemory::<f32>::new(UNITS);
    let mut sh2 = SharedMemory::<f32>::new(UNITS);
    let unit = UNIT_POS as usize;
    let cube = CUBE_POS;
    let n = out_w * out_rows;
    let plane = out_w * in_rows;
    let c3 = c2 * 0.5f32;
    let mut a0 = 0.0f32;
    let mut a1 = 0.0f32;
    let mut a2 = 0.0f32;
    for j in 0..PER_UNIT {
        let idx = cube * PER_CUBE + j * UNITS + unit;
        if idx < n {
            let r = idx / out_w;
            let c = idx - r * out_w;
            let mut q0 = 0.0f32;
            let mut q1 = 0.0f32;
            let mut q2 = 0.0f32;
            let mut q3 = 0.0f32;
            let mut q4 = 0.0f32;
            #[unroll]
            for k in 0..WINDOW {
                let w = taps[k];
                let p = (r + k) * out_w + c;
                q0 += w * stack[p];
                q1 += w * stack[plane + p];
                q2 += w * stack[2 * plane + p];
                if comptime!(both) {
                    q3 += w * stack[3 * plane + p];
                    q4 += w * stack[4 * plane + p];
                }
            }
            let ux = if comptime!(both) { q0 } else { mu_x[idx] };
            let sxx = if comptime!(both) { q1 } else { xx[idx] };
            let uy = if comptime!(both) { q2 } else { q0 };
            let syy = if comptime!(both) { q3 } else { q1 };
            let sxy = if comptime!(both) { q4 } else { q2 };
            let uxx = ux * ux;
            let uyy = uy * uy;
            let uxy = ux * uy;
            if comptime!(ms) {
                let vx = max(sxx - uxx, 0.0f32);
                let vy = max(syy - uyy, 0.0f32);
                let mut vxy = sxy - uxy;
                let sxsy = f32::sqrt(vx * vy);
                if vxy < 0.0f32 && sxsy <= 0.0f32 {
                    vxy = 0.0f32;
                }
                a0 += (2.0f32 * uxy + c1) / (uxx + uyy + c1);
                a1 += (2.0f32 * sxsy + c2) / (vx + vy + c2);
                a2 += (vxy + c3) / (sxsy + c3);
            } else {
                let vx = sxx - uxx;
                let vy = syy - uyy;
                let vxy = sxy - uxy;
                let num = (2.0f32 * uxy + c1) * (2.0f32 * vxy + c2);
                let den = (uxx + uyy + c1) * (vx + vy + c2);
                a0 += num / den;
            }
        }
    }
    sh0[unit] = a0;
    if comptime!(ms) {
        sh1[unit] = a1;
        sh2[unit] = a2;
    }
    sync_cube();
    #[unroll]
    for level in 0..LEVELS {
        let stride = UNITS >> (level + 1);
        if unit < stride {
            sh0[unit] = sh0[unit] + sh0[unit + stride];
            if comptime!(ms) {
                sh1[unit] = sh1[unit] + sh1[unit + stride];
                sh2[unit] = sh2[unit] + sh2[unit + stride];
            }
        }
        sync_cube();
    }
    if unit == 0 && cube < count {
        partials[cube] = sh0[0];
        if comptime!(ms) {
            partials[count + cube] = sh1[0];
            partials[2 * count + cube] = sh2[0];
        }
    }
}

/// Half-sample symmetric index for `m − LPF_RADIUS` into `0..n` (`m` is shifted by the radius
/// so it never goes negative): `−1 → 0`, `−2 → 1`, `n → n − 1`, `n + 1 → n − 2`.
#[cube]
fn mirror(m: usize, n: usize) -> usize {
    if m < LPF_RADIUS {
        LPF_RADIUS - 1 - m
    } else if m >= n + LPF_RADIUS {
        2 * n + LPF_RADIUS - 1 - m
    } else {
        m - LPF_RADIUS
    }
}

/// MS-SSIM's low-pass filter and decimation by 2 for rows `dst_row0 .. dst_row0 + dst_rows`
/// of the `out_w`-wide result of a `width × height` plane.
///
/// `src` holds that plane's rows from `src_row0` on, starting at element `src_offset`; it
/// must contain every (mirrored) row the 9×9 kernel `lpf` (row-major) touches. Output sample
/// `(x, y)` is centred on input sample `(2x, 2y)`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn decimate(
    src: &Array<f32>,
    lpf: &Array<f32>,
    dst: &mut Array<f32>,
    src_offset: usize,
    src_row0: usize,
    width: usize,
    height: usize,
    out_w: usize,
    dst_row0: usize,
    dst_rows: usize,
) {
    let i = ABSOLUTE_POS;
    if i < out_w * dst_rows {
        let dy = dst_row0 + i / out_w;
        let dx = i - (i / out_w) * out_w;
        let mut acc = 0.0f32;
        #[unroll]
        for v in 0..LPF_LEN {
            let row = mirror(2 * dy + v, height);
            let base = src_offset + (row - src_row0) * width;
            let mut sum = 0.0f32;
            #[unroll]
            for u in 0..LPF_LEN {
                let col = mirror(2 * dx + u, width);
                sum += lpf[v * LPF_LEN + u] * src[base + col];
            }
            acc += sum;
        }
        dst[dst_row0 * out_w + i] = acc;
    }
}

/// A small constant table (filter taps) as a one-row device plane.
pub(crate) fn upload_taps<R: Runtime>(client: &ComputeClient<R>, taps: &[f64]) -> DevicePlane {
    let taps: Vec<f32> = taps.iter().map(|&t| t as f32).collect();
    DevicePlane::upload(client, taps.len(), 1, &taps)
}

/// What the horizontal pass produces (see [`window_horizontal`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Stack {
    /// `[x, x²]`.
    Reference,
    /// `[y, y², x·y]`.
    Distorted,
    /// `[x, x², y, y², x·y]`.
    Both,
}

impl Stack {
    /// Number of quantities.
    pub(crate) const fn quantities(self) -> usize {
        match self {
            Self::Reference => 2,
            Self::Distorted => 3,
            Self::Both => 5,
        }
    }
}

/// Runs the horizontal pass over `rows` rows of `x` and `y` (planes or bands `width` wide)
/// starting at row `row0` of those buffers; returns the stack, `(width − 10) × (q · rows)`.
pub(crate) fn horizontal<R: Runtime>(
    client: &ComputeClient<R>,
    kind: Stack,
    x: &DevicePlane,
    y: &DevicePlane,
    taps: &DevicePlane,
    row0: usize,
    rows: usize,
) -> DevicePlane {
    let width = x.width;
    debug_assert!(width == y.width && row0 + rows <= x.height && row0 + rows <= y.height);
    let out_w = width + 1 - WINDOW;
    let stack = DevicePlane::empty(client, out_w, kind.quantities() * rows);
    window_horizontal::launch::<R>(
        client,
        crate::grid::cubes_for_units(out_w * rows, BLOCK),
        CubeDim::new_1d(BLOCK as u32),
        x.arg(),
        y.arg(),
        taps.arg(),
        stack.arg(),
        row0 * width,
        width,
        out_w,
        rows,
        kind != Stack::Distorted,
        kind != Stack::Reference,
    );
    stack
}

/// Finishes a [`Stack::Reference`] stack of `in_rows` rows into the `μx` and `G∗x²` maps.
pub(crate) fn vertical_maps<R: Runtime>(
    client: &ComputeClient<R>,
    stack: &DevicePlane,
    taps: &DevicePlane,
    in_rows: usize,
) -> (DevicePlane, DevicePlane) {
    let out_w = stack.width;
    let out_rows = in_rows + 1 - WINDOW;
    let mu = DevicePlane::empty(client, out_w, out_rows);
    let sq = DevicePlane::empty(client, out_w, out_rows);
    window_vertical_maps::launch::<R>(
        client,
        crate::grid::cubes_for_units(out_w * out_rows, BLOCK),
        CubeDim::new_1d(BLOCK as u32),
        stack.arg(),
        taps.arg(),
        mu.arg(),
        sq.arg(),
        out_w,
        out_rows,
        in_rows,
    );
    (mu, sq)
}

/// The index whose map [`vertical_stats`] reduces.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Index {
    /// The SSIM map: one sum.
    Ssim,
    /// MS-SSIM's `l`, `c`, `s` maps: three sums.
    LumaContrastStructure,
}

impl Index {
    /// Number of sums.
    pub(crate) const fn sums(self) -> usize {
        match self {
            Self::Ssim => 1,
            Self::LumaContrastStructure => 3,
        }
    }
}

/// Number of `f32` partials [`vertical_stats`] allocates for `outputs` output positions.
pub(crate) fn partials_len(index: Index, outputs: usize) -> usize {
    index.sums() * partial_count(outputs)
}

/// Partial sums on the device, from [`launch_stats`], waiting for [`finish_stats`].
#[derive(Debug)]
pub(crate) struct Partials {
    plane: DevicePlane,
    count: usize,
    sums: usize,
}

/// Launches the vertical pass on a stack of `in_rows` rows: the partial sums of the index
/// maps over its `in_rows − 10` output rows (one or three maps, see [`Index`]).
/// `reference_maps` are the prepared `μx`, `G∗x²` for a [`Stack::Distorted`] stack and must be
/// `None` for a [`Stack::Both`] one.
#[allow(clippy::too_many_arguments)]
pub(crate) fn launch_stats<R: Runtime>(
    client: &ComputeClient<R>,
    index: Index,
    stack: &DevicePlane,
    reference_maps: Option<(&DevicePlane, &DevicePlane)>,
    taps: &DevicePlane,
    in_rows: usize,
    c1: f32,
    c2: f32,
) -> Partials {
    let out_w = stack.width;
    let out_rows = in_rows + 1 - WINDOW;
    let count = partial_count(out_w * out_rows);
    let plane = DevicePlane::empty(client, count, index.sums());
    let both = reference_maps.is_none();
    let (mu_x, xx) = reference_maps.unwrap_or((stack, stack));
    window_vertical_stats::launch::<R>(
        client,
        crate::grid::cubes(count),
        CubeDim::new_1d(UNITS as u32),
        stack.arg(),
        mu_x.arg(),
        xx.arg(),
        taps.arg(),
        plane.arg(),
        out_w,
        out_rows,
        in_rows,
        count,
        c1,
        c2,
        both,
        index == Index::LumaContrastStructure,
    );
    Partials {
        plane,
        count,
        sums: index.sums(),
    }
}

/// Reads several sets of partial sums in one transfer; for each, the sums of its maps (the
/// partials added in index order in `f64`).
pub(crate) fn finish_stats<R: Runtime>(
    client: &ComputeClient<R>,
    partials: Vec<Partials>,
) -> Result<Vec<Vec<f64>>, Error> {
    let handles = partials.iter().map(|p| p.plane.handle.clone()).collect();
    let bytes = cubecl::reader::read_sync(client.read_async(handles))
        .map_err(|e| Error::Internal(format!("reading partial sums: {e:?}")))?;
    Ok(partials
        .iter()
        .zip(&bytes)
        .map(|(p, bytes)| {
            f32::from_bytes(bytes)[..p.count * p.sums]
                .chunks_exact(p.count)
                .map(|chunk| chunk.iter().map(|&v| f64::from(v)).sum())
                .collect()
        })
        .collect())
}

/// [`launch_stats`] and [`finish_stats`] for one stack.
#[allow(clippy::too_many_arguments)]
pub(crate) fn vertical_stats<R: Runtime>(
    client: &ComputeClient<R>,
    index: Index,
    stack: &DevicePlane,
    reference_maps: Option<(&DevicePlane, &DevicePlane)>,
    taps: &DevicePlane,
    in_rows: usize,
    c1: f32,
    c2: f32,
) -> Result<Vec<f64>, Error> {
    let partials = launch_stats(client, index, stack, reference_maps, taps, in_rows, c1, c2);
    Ok(finish_stats(client, vec![partials])?.swap_remove(0))
}

/// Size of a plane decimated by [`decimate`].
pub(crate) const fn half(width: usize, height: usize) -> (usize, usize) {
    (width.div_ceil(2), height.div_ceil(2))
}

/// Decimates rows `dst_row0 .. dst_row0 + dst_rows` of `dst` from `src`, which holds rows
/// `src_row0 ..` of a `width × height` plane (see [`decimate`]).
#[allow(clippy::too_many_arguments)]
pub(crate) fn decimate_rows<R: Runtime>(
    client: &ComputeClient<R>,
    src: &DevicePlane,
    src_row0: usize,
    height: usize,
    lpf: &DevicePlane,
    dst: &DevicePlane,
    dst_row0: usize,
    dst_rows: usize,
) {
    debug_assert_eq!(dst.width, src.width.div_ceil(2));
    decimate::launch::<R>(
        client,
        crate::grid::cubes_for_units(dst.width * dst_rows, BLOCK),
        CubeDim::new_1d(BLOCK as u32),
        src.arg(),
        lpf.arg(),
        dst.arg(),
        0,
        src_row0,
        src.width,
        height,
        dst.width,
        dst_row0,
        dst_rows,
    );
}

/// Output-row bands `[r0, r1)` of at most `band_rows` rows covering `0..out_rows`.
pub(crate) fn bands(out_rows: usize, band_rows: usize) -> impl Iterator<Item = (usize, usize)> {
    (0..out_rows)
        .step_by(band_rows.max(1))
        .map(move |r0| (r0, (r0 + band_rows).min(out_rows)))
}

/// Running total and peak of simulated allocations, in `f32` elements, for the `predict`
/// functions (which replay the allocation sequence of the metric code exactly).
#[derive(Debug, Default)]
pub(crate) struct Tally {
    now: u64,
    peak: u64,
}

impl Tally {
    /// Records an allocation of `elements` `f32`.
    pub(crate) fn alloc(&mut self, elements: usize) {
        self.now += elements as u64;
        self.peak = self.peak.max(self.now);
    }

    /// Records the release of `elements` `f32`.
    pub(crate) fn free(&mut self, elements: usize) {
        self.now -= elements as u64;
    }

    /// Peak in bytes.
    pub(crate) fn peak_bytes(&self) -> u64 {
        self.peak * size_of::<f32>() as u64
    }
}

/// Checks that `data_range` is a positive finite number.
pub(crate) fn check_data_range(data_range: f64) -> Result<(), Error> {
    if data_range.is_finite() && data_range > 0.0 {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "data range must be a positive finite number, got {data_range}"
        )))
    }
}

/// Checks that two sources have the same size and plane count.
pub(crate) fn check_same_shape(
    a: (usize, usize, usize),
    b: (usize, usize, usize),
) -> Result<(), Error> {
    if a == b {
        Ok(())
    } else {
        Err(Error::InvalidInput(format!(
            "reference is {}x{} with {} plane(s), distorted is {}x{} with {} plane(s)",
            a.0, a.1, a.2, b.0, b.1, b.2
        )))
    }
}
