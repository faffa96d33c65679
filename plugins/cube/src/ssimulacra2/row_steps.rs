//! The steps of the horizontal recursion, shared by both walks of a row (through tiles in
//! `row_blur.rs`, straight through the planes in `direct.rs`): they differ only in where
//! samples come from and outputs go.

use super::blur::{Lanes, Osc, h_block, h_osc, load_osc};
use cubecl::prelude::*;

/// The three oscillators and the recursion's state of one row: `y[n−1]` (p) and `y[n−2]`
/// (q) of each.
#[derive(CubeType, Clone, Copy)]
pub(super) struct Row {
    o0: Osc,
    o1: Osc,
    o2: Osc,
    p0: f32,
    q0: f32,
    p1: f32,
    q1: f32,
    p2: f32,
    q2: f32,
    /// Steps `t < head` are scalar, then blocks of four while `t < tail`, then scalar
    /// steps to `width + 4`: libjxl's `FastGaussian1D` runs scalar while
    /// n < min(RoundUpTo(N + 1, 4), width) = min(8, width), i.e. t < min(8, width) + 4,
    /// and blocks while n < width − N + 1 − 3, i.e. t < width − 3.
    pub(super) head: usize,
    pub(super) tail: usize,
}

/// A row of `width` samples at zero state, with the coefficients of `k`.
#[cube]
pub(super) fn row(k: &Array<f32>, width: usize) -> Row {
    let head = min(width, 8usize) + 4usize;
    let mut tail = head;
    if width > 15usize {
        tail = head + 4usize * ((width - 12usize) / 4usize);
    }
    Row {
        o0: load_osc(k, 0usize),
        o1: load_osc(k, 1usize),
        o2: load_osc(k, 2usize),
        p0: 0.0f32,
        q0: 0.0f32,
        p1: 0.0f32,
        q1: 0.0f32,
        p2: 0.0f32,
        q2: 0.0f32,
        head,
        tail,
    }
}

/// One scalar step on the sum `s` of the step's two samples; returns the output.
#[cube]
pub(super) fn step(r: &mut Row, s: f32, #[comptime] soft: bool) -> f32 {
    let y0 = h_osc(&r.o0, s, r.p0, r.q0, soft);
    r.q0 = r.p0;
    r.p0 = y0;
    let y1 = h_osc(&r.o1, s, r.p1, r.q1, soft);
    r.q1 = r.p1;
    r.p1 = y1;
    let y2 = h_osc(&r.o2, s, r.p2, r.q2, soft);
    r.q2 = r.p2;
    r.p2 = y2;
    y0 + (y1 + y2)
}

/// A block of four steps on the lanes' sums `s0..s3`, in the reference's 4-lane order: the
/// block's four outputs.
#[cube]
pub(super) fn four_steps(
    r: &mut Row,
    s0: f32,
    s1: f32,
    s2: f32,
    s3: f32,
    #[comptime] soft: bool,
) -> Lanes {
    let l0 = h_block(&r.o0, s0, s1, s2, s3, r.p0, r.q0, soft);
    let l1 = h_block(&r.o1, s0, s1, s2, s3, r.p1, r.q1, soft);
    let l2 = h_block(&r.o2, s0, s1, s2, s3, r.p2, r.q2, soft);
    r.q0 = l0.a2;
    r.p0 = l0.a3;
    r.q1 = l1.a2;
    r.p1 = l1.a3;
    r.q2 = l2.a2;
    r.p2 = l2.a3;
    Lanes {
        a0: l0.a0 + (l1.a0 + l2.a0),
        a1: l0.a1 + (l1.a1 + l2.a1),
        a2: l0.a2 + (l1.a2 + l2.a2),
        a3: l0.a3 + (l1.a3 + l2.a3),
    }
}
