//! libjxl's recursive Gaussian (Charalampidis, σ = 1.5) in `f32`, with the reference's
//! operation order.
//!
//! The blur is kept recursive on purpose. In exact arithmetic it equals a 9-tap FIR, but
//! libjxl runs the recursion in `f32`, and its rounding noise never damps out: SSIM's
//! `G∗x² − μ²` magnifies it and `max(0, ·)` keeps it, so it is part of the published scores
//! (an accurate FIR scores 1e-2…2e-1 higher). Every product that meets a sum is an explicit
//! [`fma`] where the reference uses `mul_add`, so that no compiler is free to contract it
//! differently.
//!
//! Each oscillator `i` is `y[n] = n2·s[n] − d1·y[n−1] − y[n−2]` on
//! `s[n] = in[n − N − 1] + in[n + N − 1]` (N = 5), starting from zero state at `n = 1 − N`
//! with zeros outside the image; the output is `y₁ + (y₃ + y₅)`. Kernels here use
//! `t = n + N − 1`, the index of the newest input sample, as an unsigned position.
//!
//! Horizontal pass ([`h_osc`], [`h_block`], walked in `row_blur.rs`): one unit per (row,
//! quantity) walks its row like libjxl's `FastGaussian1D` — scalar steps up to position 8,
//! then blocks of four outputs whose accumulation order is that of the reference's 4-lane
//! unrolled code, then scalar steps.
//! Vertical pass (columns are independent lanes in the reference): one unit per column and
//! quantity, in [`v_osc`]; the compare's vertical pass is fused into `maps.rs`.

// Kernel code divides by hand: cubecl's expansion has no `usize::div_ceil`.
#![allow(clippy::manual_div_ceil)]

use cubecl::prelude::*;

/// The oscillators' half-width N for σ = 1.5 (`round(3.2795·σ + 0.2546)`).
pub(crate) const RADIUS: usize = 5;
/// Rows before an output row that the vertical recursion reads (`n − N − 1`).
pub(crate) const ROWS_BEFORE: usize = RADIUS + 1;
/// Rows after an output row that the vertical recursion reads (`n + N − 1`).
pub(crate) const ROWS_AFTER: usize = RADIUS - 1;
/// `f32` per oscillator in the coefficient buffer: `mul_in[0..4]`, `mul_prev[0..4]`,
/// `mul_prev2[0..4]`, `n2`, `−d1`.
const PER_OSC: usize = 14;
/// Length of the coefficient buffer: three oscillators and a `0.0` the soft `fma` needs
/// as a value no compiler can see (see [`mad`]).
pub(crate) const COEFS: usize = 3 * PER_OSC + 1;
/// `f32` of carried vertical state per column and quantity: `y[n−1]`, `y[n−2]` of each of
/// the three oscillators.
pub(crate) const STATE: usize = 6;

/// libjxl's `CreateRecursiveGaussian`, in `f64` with the reference's operation order (the
/// `f32` coefficients must match it bit for bit), laid out for the kernels (see [`PER_OSC`]).
pub(crate) fn coefficients(sigma: f64) -> [f32; COEFS] {
    // Written out as in the C++ source; equal to `std::f64::consts::PI`.
    #[allow(clippy::approx_constant, clippy::excessive_precision)]
    const PI: f64 = 3.141592653589793238;
    let radius = (3.2795 * sigma + 0.2546).round();
    assert_eq!(
        radius as usize, RADIUS,
        "the kernels hard-code N = {RADIUS}"
    );
    let step = PI / (2.0 * radius);
    let omega = [step, 3.0 * step, 5.0 * step];
    let p1 = 1.0 / (0.5 * omega[0]).tan();
    let p3 = -1.0 / (0.5 * omega[1]).tan();
    let p5 = 1.0 / (0.5 * omega[2]).tan();
    let r1 = p1 * p1 / omega[0].sin();
    let r3 = -p3 * p3 / omega[1].sin();
    let r5 = p5 * p5 / omega[2].sin();
    let neg_half_sigma2 = -0.5 * sigma * sigma;
    let recip_radius = 1.0 / radius;
    let rho = omega.map(|o| (neg_half_sigma2 * o * o).exp() * recip_radius);
    let d13 = p1 * r3 - r1 * p3;
    let d35 = p3 * r5 - r3 * p5;
    let d51 = p5 * r1 - r5 * p1;
    let recip_d13 = 1.0 / d13;
    let zeta15 = d35 * recip_d13;
    let zeta35 = d51 * recip_d13;
    // beta = A⁻¹·gamma with A's rows (p), (r), (zeta15, zeta35, 1): the oscillator
    // amplitudes giving unit gain and variance σ². libjxl inverts A by its adjugate
    // (row-major, as below) and multiplies; another solver rounds differently.
    let a = [p1, p3, p5, r1, r3, r5, zeta15, zeta35, 1.0];
    let adj = [
        a[4] * a[8] - a[5] * a[7],
        a[2] * a[7] - a[1] * a[8],
        a[1] * a[5] - a[2] * a[4],
        a[5] * a[6] - a[3] * a[8],
        a[0] * a[8] - a[2] * a[6],
        a[2] * a[3] - a[0] * a[5],
        a[3] * a[7] - a[4] * a[6],
        a[1] * a[6] - a[0] * a[7],
        a[0] * a[4] - a[1] * a[3],
    ];
    let det = a[0] * adj[0] + a[1] * adj[3] + a[2] * adj[6];
    let idet = 1.0 / det;
    let inv = adj.map(|v| v * idet);
    let gamma = [
        1.0,
        radius * radius - sigma * sigma,
        zeta15 * rho[0] + zeta35 * rho[1] + rho[2],
    ];
    let mut out = [0.0f32; COEFS];
    for i in 0..3 {
        let beta = inv[i * 3] * gamma[0] + inv[i * 3 + 1] * gamma[1] + inv[i * 3 + 2] * gamma[2];
        let n2 = -beta * (omega[i] * (radius + 1.0)).cos();
        let d1 = -2.0 * omega[i].cos();
        let d2 = d1 * d1;
        // The weights of the 4-lane block: lane j's output from the inputs of lanes
        // 0..=j and the two outputs before the block.
        let mul_in = [n2, -d1 * n2, d2 * n2 - n2, -d2 * d1 * n2 + 2.0 * d1 * n2];
        let mul_prev = [-d1, d2 - 1.0, -d2 * d1 + 2.0 * d1, d2 * d2 - 3.0 * d2 + 1.0];
        let mul_prev2 = [-1.0, d1, -d2 + 1.0, d2 * d1 - 2.0 * d1];
        let o = &mut out[i * PER_OSC..(i + 1) * PER_OSC];
        for j in 0..4 {
            o[j] = mul_in[j] as f32;
            o[4 + j] = mul_prev[j] as f32;
            o[8 + j] = mul_prev2[j] as f32;
        }
        o[12] = n2 as f32;
        // `-(d1 as f32)`: the reference negates the f32 value.
        o[13] = -(d1 as f32);
    }
    out[3 * PER_OSC] = 0.0;
    out
}

/// One oscillator's coefficients, loaded once per unit.
#[derive(CubeType, Clone, Copy)]
pub(crate) struct Osc {
    in0: f32,
    in1: f32,
    in2: f32,
    in3: f32,
    p0: f32,
    p1: f32,
    p2: f32,
    p3: f32,
    q0: f32,
    q1: f32,
    q2: f32,
    q3: f32,
    n2: f32,
    neg_d1: f32,
    /// The bits of the buffer's last `0.0`: zero, but unknown to the compiler.
    pub(crate) zero: u32,
}

/// Coefficients of oscillator `i` from the buffer of [`coefficients`].
#[cube]
pub(crate) fn load_osc(k: &Array<f32>, #[comptime] i: usize) -> Osc {
    let b = i * PER_OSC;
    Osc {
        in0: k[b],
        in1: k[b + 1],
        in2: k[b + 2],
        in3: k[b + 3],
        p0: k[b + 4],
        p1: k[b + 5],
        p2: k[b + 6],
        p3: k[b + 7],
        q0: k[b + 8],
        q1: k[b + 9],
        q2: k[b + 10],
        q3: k[b + 11],
        n2: k[b + 12],
        neg_d1: k[b + 13],
        zero: u32::reinterpret(k[3 * PER_OSC]),
    }
}

/// `a·b + c` rounded once. With `soft`, for devices whose `fma` rounds twice (lavapipe
/// lowers it to a multiply and an add): Dekker's exact product `p + e = a·b` (operands cut
/// into 12-bit halves by masking) and Knuth's exact sum `s + t = p + c`, then `s + (t + e)`,
/// which is `fma(a, b, c)` except where that last addition rounds across a midpoint (rare,
/// then one ulp). Such compilers also simplify `(p + c) − p` to `c` (their float ops are not
/// marked exact), which would cancel the error terms; `zero` (0, unknown to the compiler)
/// makes the intermediate sums opaque.
#[cube]
pub(crate) fn mad(a: f32, b: f32, c: f32, zero: u32, #[comptime] soft: bool) -> f32 {
    if comptime![soft] {
        let p = a * b;
        let ah = f32::reinterpret(u32::reinterpret(a) & 0xFFFF_F000u32);
        let al = a - ah;
        let bh = f32::reinterpret(u32::reinterpret(b) & 0xFFFF_F000u32);
        let bl = b - bh;
        let e = ((ah * bh - p) + ah * bl + al * bh) + al * bl;
        let s = f32::reinterpret(u32::reinterpret(p + c) | zero);
        let v = f32::reinterpret(u32::reinterpret(s - p) | zero);
        let t = (p - (s - v)) + (c - v);
        s + (t + e)
    } else {
        fma(a, b, c)
    }
}

/// `x` as it is, but opaque to the compiler: a product passed through here is rounded on its
/// own, never contracted with a following addition into an FMA (NVRTC contracts `a·b + c` by
/// default, and cubecl offers no switch for it), so each backend rounds as the reference does.
#[cube]
pub(crate) fn rounded(x: f32, zero: u32) -> f32 {
    f32::reinterpret(u32::reinterpret(x) | zero)
}

#[cube(launch)]
fn fma_probe(x: &mut Array<f32>) {
    x[3] = fma(x[0], x[1], x[2]);
}

/// Whether the device's `fma` rounds once: `(1 + ε)² − (1 + 2ε)` is `ε²` fused and 0 when
/// the product is rounded first.
///
/// The answer is a property of the runtime's compiler and driver, so it is probed once per
/// runtime in the process rather than on every prepare (it costs a synchronous read-back).
/// A plugin drives one runtime and, for wgpu, one adapter.
pub(crate) fn fma_is_fused<R: Runtime>(client: &ComputeClient<R>) -> bool {
    static KNOWN: std::sync::Mutex<Vec<(std::any::TypeId, bool)>> =
        std::sync::Mutex::new(Vec::new());
    let runtime = std::any::TypeId::of::<R>();
    let known = |list: &Vec<(std::any::TypeId, bool)>| {
        list.iter().find(|(t, _)| *t == runtime).map(|(_, f)| *f)
    };
    if let Some(fused) = known(&KNOWN.lock().unwrap_or_else(|e| e.into_inner())) {
        return fused;
    }
    let fused = probe_fma(client);
    KNOWN
        .lock()
        .unwrap_or_else(|e| e.into_inner())
        .push((runtime, fused));
    fused
}

fn probe_fma<R: Runtime>(client: &ComputeClient<R>) -> bool {
    let a = 1.0f32 + f32::EPSILON;
    let v = [a, a, -(a * a), 0.0];
    let h = client.create_from_slice(f32::as_bytes(&v));
    fma_probe::launch::<R>(
        client,
        CubeCount::Static(1, 1, 1),
        CubeDim::new_1d(1),
        // SAFETY: `h` holds 4 f32.
        unsafe { ArrayArg::from_raw_parts(h.clone(), 4) },
    );
    // A failed read counts as unfused: the soft path is exact everywhere, only slower.
    client
        .read_one(h)
        .map(|b| f32::from_bytes(&b)[3] == a.mul_add(a, -(a * a)))
        .unwrap_or(false)
}

/// One vertical step of an oscillator: `n2·s − d1·y[n−1] − y[n−2]` as libjxl's
/// `MulAdd(n2, s, NegMulSub(d1, y1, y2))`.
#[cube]
pub(crate) fn v_osc(o: &Osc, s: f32, y1: f32, y2: f32, #[comptime] soft: bool) -> f32 {
    mad(o.n2, s, mad(o.neg_d1, y1, -y2, o.zero, soft), o.zero, soft)
}

/// One scalar horizontal step of an oscillator (the row's ends).
#[cube]
pub(crate) fn h_osc(o: &Osc, s: f32, y1: f32, y2: f32, #[comptime] soft: bool) -> f32 {
    let acc = s * o.in0;
    let acc = mad(o.q0, y2, acc, o.zero, soft);
    mad(o.p0, y1, acc, o.zero, soft)
}

/// The four outputs of one oscillator over a block whose lane inputs are `s0..s3`.
#[derive(CubeType, Clone, Copy)]
pub(crate) struct Lanes {
    pub(crate) a0: f32,
    pub(crate) a1: f32,
    pub(crate) a2: f32,
    pub(crate) a3: f32,
}

/// A horizontal block of four outputs of one oscillator, in the reference's order: the
/// lane's own input first, earlier lanes' inputs, then `y[−2]` and `y[−1]` of the block.
#[cube]
#[allow(clippy::too_many_arguments)]
pub(crate) fn h_block(
    o: &Osc,
    s0: f32,
    s1: f32,
    s2: f32,
    s3: f32,
    y1: f32,
    y2: f32,
    #[comptime] soft: bool,
) -> Lanes {
    let a0 = mad(
        o.p0,
        y1,
        mad(o.q0, y2, s0 * o.in0, o.zero, soft),
        o.zero,
        soft,
    );
    let a1 = s0 * o.in1;
    let a1 = mad(o.in0, s1, a1, o.zero, soft);
    let a1 = mad(o.p1, y1, mad(o.q1, y2, a1, o.zero, soft), o.zero, soft);
    let a2 = s0 * o.in2;
    let a2 = mad(o.in1, s1, a2, o.zero, soft);
    let a2 = mad(o.in0, s2, a2, o.zero, soft);
    let a2 = mad(o.p2, y1, mad(o.q2, y2, a2, o.zero, soft), o.zero, soft);
    let a3 = s0 * o.in3;
    let a3 = mad(o.in2, s1, a3, o.zero, soft);
    let a3 = mad(o.in1, s2, a3, o.zero, soft);
    let a3 = mad(o.in0, s3, a3, o.zero, soft);
    let a3 = mad(o.p3, y1, mad(o.q3, y2, a3, o.zero, soft), o.zero, soft);
    Lanes { a0, a1, a2, a3 }
}

/// The input of the vertical recursion at position `t` (output row `t − 4`) of column `x`
/// of the plane starting at `base`: rows `t − 10` and `t` of a `height`-row plane, zero
/// outside it, added in the reference's order (`top + bottom`, so not `+=`).
#[cube]
#[allow(clippy::assign_op_pattern)]
pub(crate) fn column_input(
    input: &Array<f32>,
    base: usize,
    x: usize,
    t: usize,
    width: usize,
    height: usize,
) -> f32 {
    let mut s = 0.0f32;
    if t < height {
        s = input[base + t * width + x];
    }
    if t >= ROWS_BEFORE + ROWS_AFTER {
        s = input[base + (t - ROWS_BEFORE - ROWS_AFTER) * width + x] + s;
    }
    s
}

/// [`column_input`] at `t` before `end`, zero from `end` on (a read ahead past the rows).
#[cube]
fn column_ahead(
    input: &Array<f32>,
    base: usize,
    x: usize,
    t: usize,
    end: usize,
    width: usize,
    height: usize,
) -> f32 {
    let mut s = 0.0f32;
    if t < end {
        s = column_input(input, base, x, t, width, height);
    }
    s
}

/// Units per cube of the kernels here.
pub(crate) const BLUR_UNITS: usize = 64;

/// Vertical pass for the reference: one unit per (column, quantity `j` of [`ref_blur_h`]);
/// writes `stats` plane `3 + j` (μ_ref, then G∗ref²) for rows `row0 .. row0 + rows`.
/// With `resume`, the recursion continues from the state in `state` (the rows above, from
/// the band before) at row `row0`; otherwise it starts from zero state above row 0 (then
/// `row0` is 0). With `save`, its state after the last row goes back to `state`, laid out
/// `state[(j · STATE + k) · width + x]`.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ref_blur_v(
    tmp: &Array<f32>,
    stats: &mut Array<f32>,
    state: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    height: usize,
    row0: usize,
    rows: usize,
    resume: u32,
    save: u32,
    #[comptime] soft: bool,
) {
    let id = CUBE_POS * BLUR_UNITS + UNIT_POS as usize;
    let j = id / width;
    if j < 6 {
        let x = id % width;
        let plane = width * height;
        let o0 = load_osc(k, 0usize);
        let o1 = load_osc(k, 1usize);
        let o2 = load_osc(k, 2usize);
        let mut p0 = 0.0f32;
        let mut q0 = 0.0f32;
        let mut p1 = 0.0f32;
        let mut q1 = 0.0f32;
        let mut p2 = 0.0f32;
        let mut q2 = 0.0f32;
        let sb = j * STATE * width + x;
        let mut t0 = 0usize;
        if resume == 1u32 {
            p0 = state[sb];
            q0 = state[sb + width];
            p1 = state[sb + 2 * width];
            q1 = state[sb + 3 * width];
            p2 = state[sb + 4 * width];
            q2 = state[sb + 5 * width];
            t0 = row0 + ROWS_AFTER;
        }
        let end = row0 + rows + ROWS_AFTER;
        // Inputs of the next rows, loaded while earlier rows are computed (see `maps::AHEAD`).
        let mut n0 = column_ahead(tmp, j * plane, x, t0, end, width, height);
        let mut n1 = column_ahead(tmp, j * plane, x, t0 + 1usize, end, width, height);
        let mut n2 = column_ahead(tmp, j * plane, x, t0 + 2usize, end, width, height);
        let mut n3 = column_ahead(tmp, j * plane, x, t0 + 3usize, end, width, height);
        for t in t0..end {
            let s = n0;
            n0 = n1;
            n1 = n2;
            n2 = n3;
            n3 = column_ahead(tmp, j * plane, x, t + 4usize, end, width, height);
            let y0 = v_osc(&o0, s, p0, q0, soft);
            q0 = p0;
            p0 = y0;
            let y1 = v_osc(&o1, s, p1, q1, soft);
            q1 = p1;
            p1 = y1;
            let y2 = v_osc(&o2, s, p2, q2, soft);
            q2 = p2;
            p2 = y2;
            if t >= row0 + ROWS_AFTER {
                stats[(3 + j) * plane + (t - ROWS_AFTER) * width + x] = y0 + (y1 + y2);
            }
        }
        if save == 1u32 {
            state[sb] = p0;
            state[sb + width] = q0;
            state[sb + 2 * width] = p1;
            state[sb + 3 * width] = q1;
            state[sb + 4 * width] = p2;
            state[sb + 5 * width] = q2;
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::super::row_blur;
    use super::*;
    pub(crate) use crate::test_runtime::{TestRuntime as WgpuRuntime, client};

    /// The device blur of `planes` (3 × `w·h`) and of their squares, as `ref_blur_h` (its
    /// rows walked through tiles or not) and `ref_blur_v` write them to planes 3..9 of the
    /// reference level.
    fn device_blur(planes: &[Vec<f32>; 3], w: usize, h: usize, tiles: bool) -> Vec<f32> {
        let client = client();
        let n = w * h;
        let mut stats = vec![0.0f32; 9 * n];
        for c in 0..3 {
            stats[c * n..(c + 1) * n].copy_from_slice(&planes[c]);
        }
        let stats = client.create_from_slice(f32::as_bytes(&stats));
        let tmp = client.empty(6 * n * 4);
        let state = client.empty(4);
        let k = client.create_from_slice(f32::as_bytes(&coefficients(1.5)));
        let soft = !fma_is_fused(&client);
        let arr = |hd: &cubecl::server::Handle, len: usize| unsafe {
            ArrayArg::<WgpuRuntime>::from_raw_parts(hd.clone(), len)
        };
        row_blur::ref_blur_h::launch::<WgpuRuntime>(
            &client,
            row_blur::cube_count(6, 0, h),
            row_blur::cube_dim(),
            arr(&stats, 9 * n),
            arr(&tmp, 6 * n),
            arr(&k, COEFS),
            w,
            h,
            0,
            h,
            tiles,
            soft,
        );
        ref_blur_v::launch::<WgpuRuntime>(
            &client,
            crate::grid::cubes_for_units(6 * w, BLUR_UNITS),
            CubeDim::new_1d(BLUR_UNITS as u32),
            arr(&tmp, 6 * n),
            arr(&stats, 9 * n),
            arr(&state, 1),
            arr(&k, COEFS),
            w,
            h,
            0,
            h,
            0,
            0,
            soft,
        );
        let bytes = client.read_one(stats).expect("read");
        f32::from_bytes(&bytes).to_vec()
    }

    #[cube(launch)]
    fn mad_probe(x: &mut Array<f32>, #[comptime] soft: bool) {
        x[3] = mad(x[0], x[1], x[2], u32::reinterpret(x[4]), soft);
    }

    #[test]
    fn soft_mad_is_fused_where_fma_is_not() {
        let client = client();
        // lavapipe's fma rounds twice (the probe must say so, and the software `mad` must
        // then be exact); CUDA's is fused and used as it is.
        let soft = !fma_is_fused(&client);
        #[cfg(not(feature = "cuda-tests"))]
        assert!(soft, "lavapipe's fma was expected to round twice");
        let a = 1.0f32 + f32::EPSILON;
        let v = [a, a, -(a * a), 0.0, 0.0];
        let h = client.create_from_slice(f32::as_bytes(&v));
        mad_probe::launch::<WgpuRuntime>(
            &client,
            CubeCount::Static(1, 1, 1),
            CubeDim::new_1d(1),
            unsafe { ArrayArg::from_raw_parts(h.clone(), 5) },
            soft,
        );
        let out = f32::from_bytes(&client.read_one(h).expect("read")).to_vec();
        assert_eq!(out[3], a.mul_add(a, -(a * a)), "mad (soft: {soft}) {out:?}");
    }

    /// The kernels' horizontal row walk on the host, with `mul_add` for `mad`.
    #[allow(clippy::needless_range_loop)]
    fn host_row(k: &[f32; COEFS], x: &[f32]) -> Vec<f32> {
        let w = x.len();
        let o = |i: usize, f: usize| k[i * PER_OSC + f];
        let mut p = [0.0f32; 3];
        let mut q = [0.0f32; 3];
        let mut out = vec![0.0f32; w];
        let scalar = |t: usize, p: &mut [f32; 3], q: &mut [f32; 3], out: &mut Vec<f32>| {
            let l = if t >= 10 { x[t - 10] } else { 0.0 };
            let r = if t < w { x[t] } else { 0.0 };
            let s = l + r;
            let mut ys = [0.0f32; 3];
            for i in 0..3 {
                let acc = s * o(i, 0);
                let acc = o(i, 8).mul_add(q[i], acc);
                let y = o(i, 4).mul_add(p[i], acc);
                q[i] = p[i];
                p[i] = y;
                ys[i] = y;
            }
            if t >= 4 {
                out[t - 4] = ys[0] + (ys[1] + ys[2]);
            }
        };
        let head = w.min(8) + 4;
        let blocks = if w > 15 { (w - 12) / 4 } else { 0 };
        for t in 0..head {
            scalar(t, &mut p, &mut q, &mut out);
        }
        for blk in 0..blocks {
            let t = 12 + 4 * blk;
            let sm: Vec<f32> = (0..4).map(|j| x[t - 10 + j] + x[t + j]).collect();
            let mut lanes = [[0.0f32; 4]; 3];
            for i in 0..3 {
                for j in 0..4 {
                    let mut acc = sm[0] * o(i, j);
                    for m in 1..=j {
                        acc = o(i, j - m).mul_add(sm[m], acc);
                    }
                    acc = o(i, 8 + j).mul_add(q[i], acc);
                    acc = o(i, 4 + j).mul_add(p[i], acc);
                    lanes[i][j] = acc;
                }
                q[i] = lanes[i][2];
                p[i] = lanes[i][3];
            }
            for j in 0..4 {
                out[t - 4 + j] = lanes[0][j] + (lanes[1][j] + lanes[2][j]);
            }
        }
        for t in head + 4 * blocks..w + 4 {
            scalar(t, &mut p, &mut q, &mut out);
        }
        out
    }

    #[cube(launch)]
    fn mad_many(x: &mut Array<f32>, n: usize) {
        let i = ABSOLUTE_POS;
        if i < n {
            x[3 * n + i] = mad(
                x[i],
                x[n + i],
                x[2 * n + i],
                u32::reinterpret(x[4 * n]),
                true,
            );
        }
    }

    #[test]
    fn soft_mad_many() {
        let client = client();
        let n = 4096usize;
        let mut st = 99u32;
        let mut rnd = || {
            st ^= st << 13;
            st ^= st >> 17;
            st ^= st << 5;
            (st % 100_000) as f32 / 37_000.0 - 1.0
        };
        let mut v: Vec<f32> = (0..3 * n).map(|_| rnd()).collect();
        v.extend(std::iter::repeat_n(0.0, n + 1));
        let h = client.create_from_slice(f32::as_bytes(&v));
        mad_many::launch::<WgpuRuntime>(
            &client,
            crate::grid::cubes_for_units(n, 64),
            CubeDim::new_1d(64),
            unsafe { ArrayArg::from_raw_parts(h.clone(), 4 * n + 1) },
            n,
        );
        let out = f32::from_bytes(&client.read_one(h).expect("read")).to_vec();
        let bad: Vec<_> = (0..n)
            .filter(|&i| out[3 * n + i] != v[i].mul_add(v[n + i], v[2 * n + i]))
            .map(|i| {
                (
                    v[i],
                    v[n + i],
                    v[2 * n + i],
                    out[3 * n + i],
                    v[i].mul_add(v[n + i], v[2 * n + i]),
                    v[i] * v[n + i] + v[2 * n + i],
                )
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{} bad, e.g. {:?}",
            bad.len(),
            &bad[..bad.len().min(3)]
        );
    }

    #[test]
    fn host_row_walk_is_fast_ssim2_s() {
        let rg = fast_ssim2::pipeline::gauss::create_recursive_gaussian(1.5);
        let k = coefficients(1.5);
        for w in [9usize, 16, 37, 301] {
            let x: Vec<f32> = (0..w).map(|i| ((i * 37 % 11) as f32) / 7.0 + 0.1).collect();
            let mut want = vec![0.0f32; w];
            rg.fast_gaussian_1d(&x, &mut want);
            assert_eq!(host_row(&k, &x), want, "{w}");
        }
    }

    #[test]
    fn device_blur_is_fast_ssim2_s_bit_for_bit() {
        use fast_ssim2::pipeline::{blur_planes, gauss::create_recursive_gaussian};
        let rg = create_recursive_gaussian(1.5);
        // Widths around the 32-column tiles of the horizontal pass (w + 4 = 32, 64), rows
        // around its 32-row cubes.
        for (w, h) in [(37, 29), (301, 23), (9, 40), (16, 16), (28, 33), (60, 65)] {
            let mut state = 12345u32;
            let planes: [Vec<f32>; 3] = std::array::from_fn(|c| {
                (0..w * h)
                    .map(|i| {
                        state ^= state << 13;
                        state ^= state >> 17;
                        state ^= state << 5;
                        0.3 * c as f32 + (i % 7) as f32 * 0.01 + (state % 1000) as f32 * 1e-4
                    })
                    .collect()
            });
            let squares: [Vec<f32>; 3] =
                std::array::from_fn(|c| planes[c].iter().map(|v| v * v).collect());
            let mu = blur_planes(&rg, &planes, w, h);
            let sq = blur_planes(&rg, &squares, w, h);
            for tiles in [true, false] {
                let got = device_blur(&planes, w, h, tiles);
                let n = w * h;
                let mut worst = 0u32;
                let mut count = 0usize;
                for c in 0..3 {
                    for (j, want) in [(3 + c, &mu[c]), (6 + c, &sq[c])] {
                        for i in 0..n {
                            let g = got[j * n + i];
                            let d = (g.to_bits() as i64 - want[i].to_bits() as i64).unsigned_abs();
                            if d != 0 {
                                count += 1;
                            }
                            worst = worst.max(d as u32);
                        }
                    }
                }
                assert_eq!(
                    (worst, count),
                    (0, 0),
                    "{w}x{h}, tiles {tiles}: worst ulp {worst}, differing {count}"
                );
            }
        }
    }

    #[test]
    fn coefficients_are_fast_ssim2_s_bit_for_bit() {
        let ours = coefficients(1.5);
        let theirs = fast_ssim2::pipeline::gauss::create_recursive_gaussian(1.5);
        assert_eq!(theirs.radius as usize, RADIUS);
        for i in 0..3 {
            let o = &ours[i * PER_OSC..(i + 1) * PER_OSC];
            for j in 0..4 {
                assert_eq!(
                    o[j].to_bits(),
                    theirs.mul_in[i][j].to_bits(),
                    "mul_in {i} {j}"
                );
                assert_eq!(o[4 + j].to_bits(), theirs.mul_prev[i][j].to_bits());
                assert_eq!(o[8 + j].to_bits(), theirs.mul_prev2[i][j].to_bits());
            }
            assert_eq!(o[12].to_bits(), theirs.n2[i].to_bits());
            assert_eq!(o[13].to_bits(), (-theirs.d1[i]).to_bits());
        }
    }
}
