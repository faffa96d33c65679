//! Integer helpers the VMAF kernels share, each the device twin of a CPU function in
//! `qscore_cpu::vmaf_parts` (named on each).

use cubecl::{prelude::*, server::Handle};

/// Units per cube of the VMAF kernels (a power of two).
pub(crate) const UNITS: usize = 256;
/// Halvings from `UNITS` to one.
pub(crate) const LEVELS: usize = 8;
/// Pixels each unit visits before the tree reduction of its cube's sums.
pub(crate) const PER_UNIT: usize = 16;
/// Pixels covered by one cube.
pub(crate) const PER_CUBE: usize = UNITS * PER_UNIT;

/// Index `i` of a line of `n` samples, `-n < i < 2n - 1`, mirrored inside without repeating
/// the edge sample (VIF's and ADM's `reflect`).
#[cube]
pub(crate) fn reflect(i: i32, n: i32) -> u32 {
    let mut m = i;
    if i < 0 {
        m = -i;
    } else if i >= n {
        m = 2 * (n - 1) - i;
    }
    u32::cast_from(m)
}

/// `(s + 2^(shift−1)) >> shift` (no rounding term for a zero shift), in 32 bits.
#[cube]
pub(crate) fn round32(s: u32, shift: u32) -> u32 {
    (s + ((1u32 << shift) >> 1u32)) >> shift
}

/// `(s + 2^(shift−1)) >> shift` (no rounding term for a zero shift), narrowed to 32 bits.
#[cube]
pub(crate) fn round64(s: u64, shift: u32) -> u32 {
    let half = (1u64 << u64::cast_from(shift)) >> 1u64;
    u32::cast_from((s + half) >> u64::cast_from(shift))
}

/// `tap · a · b` in 64 bits (`tap · a < 2³²`).
#[cube]
pub(crate) fn product(tap: u32, a: u32, b: u32) -> u64 {
    u64::cast_from(tap * a) * u64::cast_from(b)
}

/// `v > 0` as `(m, e)` with `m ∈ [2¹⁵, 2¹⁶)` and `v ≈ m · 2^e` (VIF's `normalise`).
#[cube]
pub(crate) fn normalise(v: u64) -> (u32, i32) {
    let zeros = i32::cast_from(v.leading_zeros());
    let e = 48 - zeros;
    // Both shifts are in range whichever applies: `−15 ≤ e ≤ 48` for values in [1, 2⁶⁴).
    let right = v >> u64::cast_from(max(e, 0i32));
    let m = right << u64::cast_from(max(-e, 0i32));
    (u32::cast_from(m), e)
}

/// `x` unchanged but opaque to the compiler, so that a product passed through it is rounded
/// on its own and never contracted with a following addition into a fused multiply-add.
#[cube]
pub(crate) fn rounded(x: f64, zero: u64) -> f64 {
    f64::reinterpret(u64::reinterpret(x) | zero)
}

/// Adds the units' values, `n` per unit at `shared[q · UNITS + UNIT_POS]`, in a fixed tree
/// order; `shared[q · UNITS]` ends with each sum.
#[cube]
pub(crate) fn tree_sum(shared: &mut SharedMemory<i64>, #[comptime] n: usize) {
    let unit = UNIT_POS as usize;
    sync_cube();
    #[unroll]
    for level in 0..LEVELS {
        let stride = UNITS >> (level + 1);
        if unit < stride {
            #[unroll]
            for q in 0..n {
                shared[q * UNITS + unit] =
                    shared[q * UNITS + unit] + shared[q * UNITS + unit + stride];
            }
        }
        sync_cube();
    }
}

/// Adds the cube's sums as [`tree_sum`] does and writes them to `partials[CUBE_POS · n + q]`.
#[cube]
pub(crate) fn reduce_cube(
    shared: &mut SharedMemory<i64>,
    partials: &mut Array<i64>,
    #[comptime] n: usize,
) {
    tree_sum(shared, n);
    let unit = UNIT_POS as usize;
    let cube = CUBE_POS;
    if unit < n && (cube + 1) * n <= partials.len() {
        partials[cube * n + unit] = shared[unit * UNITS];
    }
}

/// Reads several kernels' sums back at once (one wait for the device rather than one per
/// kernel) and adds each one's `N` sums per cube (or per row) per quantity.
pub(crate) fn read_sums<R: Runtime, const N: usize>(
    client: &ComputeClient<R>,
    partials: Vec<Handle>,
) -> Vec<[i64; N]> {
    client
        .read(partials)
        .iter()
        .map(|bytes| {
            let mut sums = [0i64; N];
            for chunk in i64::from_bytes(bytes).chunks_exact(N) {
                for (s, v) in sums.iter_mut().zip(chunk) {
                    *s += v;
                }
            }
            sums
        })
        .collect()
}
