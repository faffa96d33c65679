//! The vertical blur pass of a compare fused with the per-pixel SSIM and edge-difference
//! maps and their per-cube partial sums: no map or vertically blurred plane ever exists as
//! a buffer.

// Kernel code divides by hand: cubecl's expansion has no `usize::div_ceil`.
#![allow(clippy::manual_div_ceil)]

use cubecl::prelude::*;

use super::blur::{ROWS_AFTER, STATE, column_input, load_osc, mad, rounded, v_osc};

/// Columns per cube; the cube's second axis is the channel (3).
pub(crate) const MAP_COLS: usize = 32;
/// Sums per cube: channel (3) × map (SSIM, artifact, detail lost) × norm (`d`, `d⁴`),
/// at index `(channel * 3 + map) * 2 + norm`.
pub(crate) const SUMS: usize = 18;
/// Sums of one channel.
const PER_CHANNEL: usize = 6;
/// Rows a unit adds in a short `f32` sum before adding that into its column total, so that
/// a tall column's sum loses no more than about 1e-6 relative.
const CHUNK: usize = 64;

/// SSIM's stabilising constant in the structure term.
const C2: f32 = 0.0009;

/// `a / b` rounded to nearest, as the reference's `f32` division: the device's quotient
/// (Vulkan allows a divide through an approximate reciprocal, a few ulp off) or one of its
/// neighbours, whichever leaves the smallest remainder `a − q·b` (exact through [`mad`]).
/// Binary quotients are never midpoints, so that one is the rounded quotient; `a = b`
/// gives exactly 1 (identical images score exactly 100).
#[cube]
fn div_rn(a: f32, b: f32, zero: u32, #[comptime] soft: bool) -> f32 {
    let q = a / b;
    let mut best = q;
    if q != 0.0f32 && q.abs() < 1.0e30f32 {
        let bits = u32::reinterpret(q);
        // Away from and towards zero by one ulp.
        let up = f32::reinterpret(bits + 1u32);
        let down = f32::reinterpret(bits - 1u32);
        let mut rest = mad(-q, b, a, zero, soft).abs();
        let rest_up = mad(-up, b, a, zero, soft).abs();
        let rest_down = mad(-down, b, a, zero, soft).abs();
        if rest_up < rest {
            best = up;
            rest = rest_up;
        }
        if rest_down < rest {
            best = down;
        }
    }
    best
}

/// Rows whose inputs a unit of [`dist_maps`] has in flight while it computes one: a GPU
/// runs these kernels with few warps per multiprocessor (one unit per column and
/// channel), so without loads issued ahead each row would wait a whole memory latency.
const AHEAD: usize = 4;

/// A unit's column: where [`map_inputs`] reads.
#[derive(CubeType, Clone, Copy)]
struct Col {
    x: usize,
    c: usize,
    width: usize,
    height: usize,
    /// Position of the first output row (`row0 + ROWS_AFTER`).
    first: usize,
    /// Position after the last.
    end: usize,
}

/// What [`dist_maps`] reads at one position of its column: the vertical recursion's inputs
/// (dist, dist², ref·dist) and, at an output row, the reference's XYB, μ, G∗ref² and the
/// distorted XYB. Zero where not read.
#[derive(CubeType, Clone, Copy)]
struct MapInputs {
    m: f32,
    d: f32,
    r: f32,
    r_xyb: f32,
    mu_r: f32,
    s_rr: f32,
    d_xyb: f32,
}

#[cube]
fn no_inputs() -> MapInputs {
    MapInputs {
        m: 0.0f32,
        d: 0.0f32,
        r: 0.0f32,
        r_xyb: 0.0f32,
        mu_r: 0.0f32,
        s_rr: 0.0f32,
        d_xyb: 0.0f32,
    }
}

/// `dst = src` (cubecl assigns structs field by field).
#[cube]
fn take(dst: &mut MapInputs, src: &MapInputs) {
    dst.m = src.m;
    dst.d = src.d;
    dst.r = src.r;
    dst.r_xyb = src.r_xyb;
    dst.mu_r = src.mu_r;
    dst.s_rr = src.s_rr;
    dst.d_xyb = src.d_xyb;
}

#[cube]
fn map_inputs(
    h: &Array<f32>,
    stats: &Array<f32>,
    xyb: &Array<f32>,
    col: &Col,
    t: usize,
) -> MapInputs {
    let plane = col.width * col.height;
    let c = col.c;
    let mut v = no_inputs();
    if t < col.end {
        v.m = column_input(h, c * plane, col.x, t, col.width, col.height);
        v.d = column_input(h, (3 + c) * plane, col.x, t, col.width, col.height);
        v.r = column_input(h, (6 + c) * plane, col.x, t, col.width, col.height);
        if t >= col.first {
            let at = (t - ROWS_AFTER) * col.width + col.x;
            v.r_xyb = stats[c * plane + at];
            v.mu_r = stats[(3 + c) * plane + at];
            v.s_rr = stats[(6 + c) * plane + at];
            v.d_xyb = xyb[c * plane + at];
        }
    }
    v
}

/// For the output rows `row0 .. row0 + rows` of a `width × height` band, one unit per
/// (column, channel): the vertical recursion of the three horizontally blurred planes of
/// `h` (`dist_blur_h`: dist, dist², ref·dist), then per pixel the SSIM term
/// `max(0, 1 − q)` and the edge terms (artifact, detail lost) against the reference planes
/// `stats` (XYB, μ, G∗ref²) and the distorted XYB `xyb`. `resume`/`save` carry the
/// recursion's state between bands through `state` as in `ref_blur_v` (quantity
/// `kind · 3 + channel`). Each cube writes the 18 sums of its columns to
/// `partials[CUBE_POS * 18 ..]`, added in a fixed order.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dist_maps(
    h: &Array<f32>,
    stats: &Array<f32>,
    xyb: &Array<f32>,
    k: &Array<f32>,
    state: &mut Array<f32>,
    partials: &mut Array<f32>,
    width: usize,
    height: usize,
    row0: usize,
    rows: usize,
    resume: u32,
    save: u32,
    #[comptime] soft: bool,
) {
    let mut shared = SharedMemory::<f32>::new(SUMS * MAP_COLS);
    let ux = UNIT_POS_X as usize;
    let c = UNIT_POS_Y as usize;
    let x = CUBE_POS * MAP_COLS + ux;
    // Column totals and the current chunk's sums: SSIM, artifact, detail lost × (d, d⁴).
    let mut tot_s1 = 0.0f32;
    let mut tot_s4 = 0.0f32;
    let mut tot_a1 = 0.0f32;
    let mut tot_a4 = 0.0f32;
    let mut tot_l1 = 0.0f32;
    let mut tot_l4 = 0.0f32;
    if x < width {
        let o0 = load_osc(k, 0usize);
        let o1 = load_osc(k, 1usize);
        let o2 = load_osc(k, 2usize);
        // Oscillator states y[n−1] (p) and y[n−2] (q) of dist (m), dist² (d), ref·dist (r).
        let mut mp0 = 0.0f32;
        let mut mq0 = 0.0f32;
        let mut mp1 = 0.0f32;
        let mut mq1 = 0.0f32;
        let mut mp2 = 0.0f32;
        let mut mq2 = 0.0f32;
        let mut dp0 = 0.0f32;
        let mut dq0 = 0.0f32;
        let mut dp1 = 0.0f32;
        let mut dq1 = 0.0f32;
        let mut dp2 = 0.0f32;
        let mut dq2 = 0.0f32;
        let mut rp0 = 0.0f32;
        let mut rq0 = 0.0f32;
        let mut rp1 = 0.0f32;
        let mut rq1 = 0.0f32;
        let mut rp2 = 0.0f32;
        let mut rq2 = 0.0f32;
        let sm = c * STATE * width + x;
        let sd = (3 + c) * STATE * width + x;
        let sr = (6 + c) * STATE * width + x;
        let mut t0 = 0usize;
        if resume == 1u32 {
            mp0 = state[sm];
            mq0 = state[sm + width];
            mp1 = state[sm + 2 * width];
            mq1 = state[sm + 3 * width];
            mp2 = state[sm + 4 * width];
            mq2 = state[sm + 5 * width];
            dp0 = state[sd];
            dq0 = state[sd + width];
            dp1 = state[sd + 2 * width];
            dq1 = state[sd + 3 * width];
            dp2 = state[sd + 4 * width];
            dq2 = state[sd + 5 * width];
            rp0 = state[sr];
            rq0 = state[sr + width];
            rp1 = state[sr + 2 * width];
            rq1 = state[sr + 3 * width];
            rp2 = state[sr + 4 * width];
            rq2 = state[sr + 5 * width];
            t0 = row0 + ROWS_AFTER;
        }
        let mut s1 = 0.0f32;
        let mut s4 = 0.0f32;
        let mut a1 = 0.0f32;
        let mut a4 = 0.0f32;
        let mut l1 = 0.0f32;
        let mut l4 = 0.0f32;
        let mut in_chunk = 0usize;
        let end = row0 + rows + ROWS_AFTER;
        let at = Col {
            x,
            c,
            width,
            height,
            first: row0 + ROWS_AFTER,
            end,
        };
        // Inputs of the next AHEAD rows, loaded while earlier rows are computed.
        let mut n0 = map_inputs(h, stats, xyb, &at, t0);
        let mut n1 = map_inputs(h, stats, xyb, &at, t0 + 1usize);
        let mut n2 = map_inputs(h, stats, xyb, &at, t0 + 2usize);
        let mut n3 = map_inputs(h, stats, xyb, &at, t0 + 3usize);
        for t in t0..end {
            let mut cur = no_inputs();
            take(&mut cur, &n0);
            take(&mut n0, &n1);
            take(&mut n1, &n2);
            take(&mut n2, &n3);
            let next = map_inputs(h, stats, xyb, &at, t + AHEAD);
            take(&mut n3, &next);
            let sum_m = cur.m;
            let sum_d = cur.d;
            let sum_r = cur.r;
            let m0 = v_osc(&o0, sum_m, mp0, mq0, soft);
            mq0 = mp0;
            mp0 = m0;
            let m1 = v_osc(&o1, sum_m, mp1, mq1, soft);
            mq1 = mp1;
            mp1 = m1;
            let m2 = v_osc(&o2, sum_m, mp2, mq2, soft);
            mq2 = mp2;
            mp2 = m2;
            let d0 = v_osc(&o0, sum_d, dp0, dq0, soft);
            dq0 = dp0;
            dp0 = d0;
            let d1 = v_osc(&o1, sum_d, dp1, dq1, soft);
            dq1 = dp1;
            dp1 = d1;
            let d2 = v_osc(&o2, sum_d, dp2, dq2, soft);
            dq2 = dp2;
            dp2 = d2;
            let r0 = v_osc(&o0, sum_r, rp0, rq0, soft);
            rq0 = rp0;
            rp0 = r0;
            let r1 = v_osc(&o1, sum_r, rp1, rq1, soft);
            rq1 = rp1;
            rp1 = r1;
            let r2 = v_osc(&o2, sum_r, rp2, rq2, soft);
            rq2 = rp2;
            rp2 = r2;
            if t >= row0 + ROWS_AFTER {
                let mu_d = m0 + (m1 + m2);
                let s_dd = d0 + (d1 + d2);
                let s_rd = r0 + (r1 + r2);
                let r = cur.r_xyb;
                let mu_r = cur.mu_r;
                let s_rr = cur.s_rr;
                let d = cur.d_xyb;

                // libjxl's f32 expression, products rounded on their own as there.
                let z = o0.zero;
                let mu_rr = rounded(mu_r * mu_r, z);
                let mu_dd = rounded(mu_d * mu_d, z);
                let mu_rd = rounded(mu_r * mu_d, z);
                let dm = mu_r - mu_d;
                let num_m = 1.0f32 - rounded(dm * dm, z);
                let num_s = rounded(2.0f32 * (s_rd - mu_rd), z) + C2;
                let den_s = (s_rr - mu_rr) + (s_dd - mu_dd) + C2;
                // The reference's f32 quotient, then `1 − q`: exact for q ≥ 1/2 (where
                // `d` is small enough for the last bit to matter), clamped at zero.
                let q = div_rn(rounded(num_m * num_s, z), den_s, z, soft);
                let ssim = max(1.0f32 - q, 0.0f32);

                // (1 + |d − μd|) / (1 + |r − μr|) − 1, without the cancellation of
                // subtracting 1 from a ratio near 1 in f32.
                let er = (r - mu_r).abs();
                let ed = (d - mu_d).abs();
                let diff = (ed - er) / (1.0f32 + er);
                let art = max(diff, 0.0f32);
                let lost = max(-diff, 0.0f32);
                let ss = rounded(ssim * ssim, z);
                let aa = rounded(art * art, z);
                let ll = rounded(lost * lost, z);
                s1 += ssim;
                s4 += rounded(ss * ss, z);
                a1 += art;
                a4 += rounded(aa * aa, z);
                l1 += lost;
                l4 += rounded(ll * ll, z);
                in_chunk += 1usize;
                if in_chunk == CHUNK {
                    tot_s1 += s1;
                    tot_s4 += s4;
                    tot_a1 += a1;
                    tot_a4 += a4;
                    tot_l1 += l1;
                    tot_l4 += l4;
                    s1 = 0.0;
                    s4 = 0.0;
                    a1 = 0.0;
                    a4 = 0.0;
                    l1 = 0.0;
                    l4 = 0.0;
                    in_chunk = 0usize;
                }
            }
        }
        tot_s1 += s1;
        tot_s4 += s4;
        tot_a1 += a1;
        tot_a4 += a4;
        tot_l1 += l1;
        tot_l4 += l4;
        if save == 1u32 {
            state[sm] = mp0;
            state[sm + width] = mq0;
            state[sm + 2 * width] = mp1;
            state[sm + 3 * width] = mq1;
            state[sm + 4 * width] = mp2;
            state[sm + 5 * width] = mq2;
            state[sd] = dp0;
            state[sd + width] = dq0;
            state[sd + 2 * width] = dp1;
            state[sd + 3 * width] = dq1;
            state[sd + 4 * width] = dp2;
            state[sd + 5 * width] = dq2;
            state[sr] = rp0;
            state[sr + width] = rq0;
            state[sr + 2 * width] = rp1;
            state[sr + 3 * width] = rq1;
            state[sr + 4 * width] = rp2;
            state[sr + 5 * width] = rq2;
        }
    }
    // Sum j of channel c at shared[(c * 6 + j) * MAP_COLS + column]; columns past the
    // image add zeros.
    let base = c * PER_CHANNEL * MAP_COLS + ux;
    shared[base] = tot_s1;
    shared[base + MAP_COLS] = tot_s4;
    shared[base + 2 * MAP_COLS] = tot_a1;
    shared[base + 3 * MAP_COLS] = tot_a4;
    shared[base + 4 * MAP_COLS] = tot_l1;
    shared[base + 5 * MAP_COLS] = tot_l4;
    sync_cube();
    // CUBE_DIM_X (= MAP_COLS) keeps the stride a runtime variable the loop may update.
    let mut stride = CUBE_DIM_X as usize / 2;
    while stride > 0 {
        if ux < stride {
            for j in 0..PER_CHANNEL {
                let a = base + j * MAP_COLS;
                shared[a] = shared[a] + shared[a + stride];
            }
        }
        sync_cube();
        stride /= 2;
    }
    if ux < PER_CHANNEL {
        partials[CUBE_POS * SUMS + c * PER_CHANNEL + ux] =
            shared[(c * PER_CHANNEL + ux) * MAP_COLS];
    }
}
