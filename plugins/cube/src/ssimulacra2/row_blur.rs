//! The horizontal pass of the recursive blur, walked through shared-memory tiles.
//!
//! Each row is a sequential recursion, so one unit walks one row. Read straight from the
//! planes, the 32 units of a warp would touch 32 rows at every step: 32 cache lines for 4
//! bytes each, and the same for every write. Here a cube of [`ROWS`] rows (one quantity)
//! moves through its rows [`TILE`] columns at a time: its units load the tile row by row
//! (consecutive units, consecutive columns: one line per row), each unit walks its own row
//! in shared memory, and the outputs go back row by row the same way. The arithmetic and
//! its order are those of [`super::blur`]'s walk, so the result is the same bit for bit.
//!
//! Shared memory holds two tiles of input per row (a ring of [`RING`] columns), since a
//! step reads the input 10 columns back, and one tile of output; rows are padded by one
//! word so that both the loads (one row, many columns) and the walks (many rows, one
//! column) fall on distinct banks. The kernels allocate it once for all their quantities:
//! 12.5 KiB, under every backend's limit (wgpu's default is 16 KiB).

// Kernel code divides by hand: cubecl's expansion has no `usize::div_ceil`.
#![allow(clippy::manual_div_ceil)]

use super::direct::walk_row;
use super::row_steps::{Row, four_steps, row, step};
use cubecl::prelude::*;

/// Rows of one quantity per cube, one per unit.
pub(crate) const ROWS: usize = 32;
/// Columns a cube loads, walks and stores at a time.
const TILE: usize = 32;
/// Columns of input (and of output) kept per row: the tile walked and the one before.
const RING: usize = 2 * TILE;
const _: () = assert!(
    TILE.is_multiple_of(ROWS),
    "a tile is loaded in whole rows of units"
);

/// Words per row of input in shared memory.
const STRIDE: usize = RING + 1;
/// Words per row of output in shared memory.
const OUT_STRIDE: usize = TILE + 1;

/// Cubes of a horizontal pass over rows `y0..y1` of `quantities` quantities (cube
/// `q · blocks + b` has rows `y0 + b·ROWS ..` of quantity `q`).
pub(crate) fn cube_count(quantities: usize, y0: usize, y1: usize) -> CubeCount {
    crate::grid::cubes(quantities * (y1 - y0).div_ceil(ROWS))
}

/// The launch shape that goes with [`cube_count`].
pub(crate) fn cube_dim() -> CubeDim {
    CubeDim::new_1d(ROWS as u32)
}

/// Where a cube works: its quantity, its first row and how many rows it has.
#[derive(CubeType, Clone, Copy)]
struct Block {
    q: usize,
    row0: usize,
    rows: usize,
}

/// The cube's block, or `quantities` as `q` for a cube past the data.
#[cube]
fn block(y0: usize, y1: usize, quantities: usize) -> Block {
    let blocks = (y1 - y0 + ROWS - 1) / ROWS;
    let q = CUBE_POS / blocks;
    let row0 = y0 + (CUBE_POS % blocks) * ROWS;
    Block {
        q: min(q, quantities),
        row0,
        rows: min(ROWS, y1 - row0),
    }
}

/// Sample `i` of the blurred quantity: `a[i]`, or the product `a[i]·b[i]`.
#[cube]
pub(super) fn sample(a: &Array<f32>, b: &Array<f32>, i: usize, #[comptime] product: bool) -> f32 {
    // The reference rounds the product plane before blurring it; `fma(a, b, +0)` is that
    // rounding (up to the sign of a zero) and leaves no multiply that a compiler could
    // contract into the following addition.
    if comptime![product] {
        fma(a[i], b[i], 0.0f32)
    } else {
        a[i]
    }
}

/// The shared memory of [`blur_rows`].
#[derive(CubeType)]
struct Tiles {
    input: SharedMemory<f32>,
    output: SharedMemory<f32>,
}

#[cube]
fn tiles() -> Tiles {
    Tiles {
        input: SharedMemory::<f32>::new(ROWS * STRIDE),
        output: SharedMemory::<f32>::new(ROWS * OUT_STRIDE),
    }
}

/// The cube's rows of one quantity: through tiles ([`blur_rows`]) or, with `tiled` off,
/// each unit straight along its row (`direct.rs`, for devices that run on a CPU).
#[cube]
#[allow(clippy::too_many_arguments)]
fn blur_quantity(
    a: &Array<f32>,
    b: &Array<f32>,
    src: usize,
    out: &mut Array<f32>,
    dst: usize,
    width: usize,
    blk: Block,
    k: &Array<f32>,
    sh: &mut Tiles,
    #[comptime] product: bool,
    #[comptime] tiled: bool,
    #[comptime] soft: bool,
) {
    if comptime![tiled] {
        blur_rows(a, b, src, out, dst, width, blk, k, sh, product, soft);
    } else {
        let unit = UNIT_POS as usize;
        if unit < blk.rows {
            let at = (blk.row0 + unit) * width;
            walk_row(a, b, src + at, out, dst + at, width, k, product, soft);
        }
    }
}

/// Horizontal recursive blur of the cube's rows of a `width`-column plane: samples (see
/// [`sample`]) from the plane at `src` of `a`/`b`, outputs to the plane at `dst` of `out`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn blur_rows(
    a: &Array<f32>,
    b: &Array<f32>,
    src: usize,
    out: &mut Array<f32>,
    dst: usize,
    width: usize,
    blk: Block,
    k: &Array<f32>,
    sh: &mut Tiles,
    #[comptime] product: bool,
    #[comptime] soft: bool,
) {
    let unit = UNIT_POS as usize;
    let mut r = row(k, width);
    let tiles = (width + 4usize + TILE - 1usize) / TILE;
    for tile in 0..tiles {
        let x0 = tile * TILE;
        load_tile(a, b, src, width, blk, x0, sh, product);
        sync_cube();
        if unit < blk.rows {
            let here = Place {
                row: unit * STRIDE,
                out_row: unit * OUT_STRIDE,
                x0,
            };
            let end = min(x0 + TILE, width + 4usize);
            let (head, tail) = (r.head, r.tail);
            walk_scalar(sh, &here, x0, min(end, head), width, &mut r, soft);
            walk_blocks(sh, &here, max(x0, head), min(end, tail), &mut r, soft);
            walk_scalar(sh, &here, max(x0, tail), end, width, &mut r, soft);
        }
        sync_cube();
        store_tile(out, dst, width, blk, x0, sh);
    }
}

/// Loads input columns `x0 .. x0 + TILE` of the cube's rows into the ring; consecutive
/// units read consecutive columns of one row.
#[cube]
#[allow(clippy::too_many_arguments)]
fn load_tile(
    a: &Array<f32>,
    b: &Array<f32>,
    src: usize,
    width: usize,
    blk: Block,
    x0: usize,
    sh: &mut Tiles,
    #[comptime] product: bool,
) {
    #[unroll]
    for part in 0..TILE / ROWS {
        let x = x0 + part * ROWS + UNIT_POS as usize;
        if x < width {
            for i in 0..blk.rows {
                let at = src + (blk.row0 + i) * width + x;
                sh.input[i * STRIDE + x % RING] = sample(a, b, at, product);
            }
        }
    }
}

/// Stores the outputs a tile's steps wrote, columns `x0 − 4 .. x0 + TILE − 4` (output
/// column `o` is at `o + 4 − x0` in the row's output tile).
#[cube]
fn store_tile(out: &mut Array<f32>, dst: usize, width: usize, blk: Block, x0: usize, sh: &Tiles) {
    #[unroll]
    for part in 0..TILE / ROWS {
        let slot = part * ROWS + UNIT_POS as usize;
        let x = x0 + slot;
        if x >= 4usize && x - 4usize < width {
            let o = x - 4usize;
            for i in 0..blk.rows {
                out[dst + (blk.row0 + i) * width + o] = sh.output[i * OUT_STRIDE + slot];
            }
        }
    }
}

/// Where a unit's row lies in the tiles: its input (`row`) and output (`out_row`) words,
/// and the first column of the tile walked (step `t` writes output `t − 4` to
/// `out_row + t − x0`).
#[derive(CubeType, Clone, Copy)]
struct Place {
    row: usize,
    out_row: usize,
    x0: usize,
}

/// Scalar steps `t0..t1` of a row, with zeros outside it.
#[cube]
fn walk_scalar(
    sh: &mut Tiles,
    at: &Place,
    t0: usize,
    t1: usize,
    width: usize,
    r: &mut Row,
    #[comptime] soft: bool,
) {
    for t in t0..t1 {
        let mut left = 0.0f32;
        if t >= 10usize {
            left = sh.input[at.row + (t - 10usize) % RING];
        }
        let mut right = 0.0f32;
        if t < width {
            right = sh.input[at.row + t % RING];
        }
        let y = step(r, left + right, soft);
        if t >= 4usize {
            sh.output[at.out_row + t - at.x0] = y;
        }
    }
}

/// Blocks of four steps from `t0` (a multiple of 4) while below `t1`: every input they
/// read is inside the row.
#[cube]
fn walk_blocks(
    sh: &mut Tiles,
    at: &Place,
    t0: usize,
    t1: usize,
    r: &mut Row,
    #[comptime] soft: bool,
) {
    let mut blocks = 0usize;
    if t1 > t0 {
        blocks = (t1 - t0) / 4usize;
    }
    let row = at.row;
    for blk in 0..blocks {
        // Lane j's sum is in[n + j − 6] + in[n + j + 4] with n = t − 4.
        let t = t0 + 4usize * blk;
        let s0 = sh.input[row + (t - 10usize) % RING] + sh.input[row + t % RING];
        let s1 = sh.input[row + (t - 9usize) % RING] + sh.input[row + (t + 1usize) % RING];
        let s2 = sh.input[row + (t - 8usize) % RING] + sh.input[row + (t + 2usize) % RING];
        let s3 = sh.input[row + (t - 7usize) % RING] + sh.input[row + (t + 3usize) % RING];
        let y = four_steps(r, s0, s1, s2, s3, soft);
        let o = at.out_row + t - at.x0;
        sh.output[o] = y.a0;
        sh.output[o + 1usize] = y.a1;
        sh.output[o + 2usize] = y.a2;
        sh.output[o + 3usize] = y.a3;
    }
}

/// Horizontal pass for the reference over rows `y0..y1` (launch with [`cube_count`]`(6, …)`):
/// from its XYB (planes 0..3 of `stats`) writes `tmp` planes `c` = blur_h(ref) and
/// `3 + c` = blur_h(ref²).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn ref_blur_h(
    stats: &Array<f32>,
    tmp: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    height: usize,
    y0: usize,
    y1: usize,
    #[comptime] tiled: bool,
    #[comptime] soft: bool,
) {
    let mut sh = tiles();
    let blk = block(y0, y1, 6usize);
    let plane = width * height;
    let src = (blk.q % 3usize) * plane;
    let dst = blk.q * plane;
    if blk.q < 3usize {
        blur_quantity(
            stats, stats, src, tmp, dst, width, blk, k, &mut sh, false, tiled, soft,
        );
    } else if blk.q < 6usize {
        blur_quantity(
            stats, stats, src, tmp, dst, width, blk, k, &mut sh, true, tiled, soft,
        );
    }
}

/// Horizontal pass for a compare over rows `y0..y1` (launch with [`cube_count`]`(9, …)`):
/// from the reference XYB (planes 0..3 of `stats`) and the distorted XYB (`xyb`) writes `h`
/// planes `c` = blur_h(dist), `3 + c` = blur_h(dist²) and `6 + c` = blur_h(ref·dist).
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn dist_blur_h(
    stats: &Array<f32>,
    xyb: &Array<f32>,
    h: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    height: usize,
    y0: usize,
    y1: usize,
    #[comptime] tiled: bool,
    #[comptime] soft: bool,
) {
    let mut sh = tiles();
    let blk = block(y0, y1, 9usize);
    let plane = width * height;
    let src = (blk.q % 3usize) * plane;
    let dst = blk.q * plane;
    if blk.q < 3usize {
        blur_quantity(
            xyb, xyb, src, h, dst, width, blk, k, &mut sh, false, tiled, soft,
        );
    } else if blk.q < 6usize {
        blur_quantity(
            xyb, xyb, src, h, dst, width, blk, k, &mut sh, true, tiled, soft,
        );
    } else if blk.q < 9usize {
        blur_quantity(
            stats, xyb, src, h, dst, width, blk, k, &mut sh, true, tiled, soft,
        );
    }
}
