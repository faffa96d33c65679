//! Linear RGB → "positive XYB", fused with the 2×2 box downscale that feeds the next scale.

// Kernel code divides by hand: cubecl's expansion has no `usize::div_ceil`.
#![allow(clippy::manual_div_ceil)]

use cubecl::prelude::*;

use super::blur::{COEFS, mad};

/// Side of the square cube (in output pixels) of the kernels here.
pub(crate) const TILE: usize = 16;

// Opsin absorbance matrix rows and bias, libjxl's constants.
const M00: f32 = 0.30;
const M01: f32 = 1.0 - 0.078 - 0.30;
const M02: f32 = 0.078;
const M10: f32 = 0.23;
const M11: f32 = 1.0 - 0.078 - 0.23;
const M12: f32 = 0.078;
const M20: f32 = 0.243_422_69;
const M21: f32 = 0.204_767_45;
const M22: f32 = 1.0 - 0.243_422_69 - 0.204_767_45;
const BIAS: f32 = 0.003_793_073_4;
/// `−cbrtf(BIAS)` as libm rounds it (the reference's `premul_absorb[9..12]`): added by the
/// cube root's last fused step so that black maps to zero before the positive offsets.
const NEG_CBRT_BIAS: f32 = f32::from_bits(0xbe1f_b275);

/// libjxl's (hwy's) `CubeRootAndAdd`: `cbrt(x) + add` for `x ≥ 0` by an exponent-bit seed,
/// three Newton steps towards `x^(−1/3)`, one Halley-like correction and a final fused
/// `r²·x + add`, with the reference's `f32` operation order and every `MulAdd` a single
/// rounding ([`mad`]). Its result is a few ulp from the true root, and those ulp are part
/// of libjxl's scores: the X channel is 7·(difference of two roots), whose noise SSIM's
/// variance terms magnify.
#[cube]
fn cube_root_and_add(x: f32, add: f32, zero: u32, #[comptime] soft: bool) -> f32 {
    let k1_3 = 1.0f32 / 3.0f32;
    let k4_3 = 4.0f32 / 3.0f32;
    let xa_3 = k1_3 * x;
    let bits = u32::reinterpret(x);
    let mut seed = 0u32;
    if bits != 0u32 {
        // `x ≥ 0`, so the exponent field is `bits >> 23` and nothing wraps.
        seed = 0x5480_0000u32 - (bits >> 23u32) * 0x002a_aaaau32;
    }
    let mut r = f32::reinterpret(seed);
    // Three Newton steps.
    let r2 = r * r;
    r = mad(-xa_3, r2 * r2, k4_3 * r, zero, soft);
    let r2 = r * r;
    r = mad(-xa_3, r2 * r2, k4_3 * r, zero, soft);
    let r2 = r * r;
    r = mad(-xa_3, r2 * r2, k4_3 * r, zero, soft);
    let r2 = r * r;
    r = mad(k1_3, mad(-x, r2 * r2, r, zero, soft), r, zero, soft);
    let r2 = r * r;
    mad(r2, x, add, zero, soft)
}

/// One opsin row: `a·r + (b·g + (c·b + BIAS))` with each product fused into its sum.
#[cube]
#[allow(clippy::too_many_arguments)]
fn mix(a: f32, b: f32, c: f32, r: f32, g: f32, bl: f32, zero: u32, #[comptime] soft: bool) -> f32 {
    mad(
        a,
        r,
        mad(b, g, mad(c, bl, BIAS, zero, soft), zero, soft),
        zero,
        soft,
    )
}

/// Converts one linear RGB pixel and stores its positive XYB into plane `c` at
/// `out[c * plane + index]`, as libjxl's `LinearRGBToXYB` + `MakePositiveXYB`.
#[cube]
#[allow(clippy::too_many_arguments)]
fn store_xyb(
    r: f32,
    g: f32,
    b: f32,
    out: &mut Array<f32>,
    index: usize,
    plane: usize,
    zero: u32,
    #[comptime] soft: bool,
) {
    // The reference clamps the mixed values at zero before the root.
    let m0 = cube_root_and_add(
        max(mix(M00, M01, M02, r, g, b, zero, soft), 0.0f32),
        NEG_CBRT_BIAS,
        zero,
        soft,
    );
    let m1 = cube_root_and_add(
        max(mix(M10, M11, M12, r, g, b, zero, soft), 0.0f32),
        NEG_CBRT_BIAS,
        zero,
        soft,
    );
    let m2 = cube_root_and_add(
        max(mix(M20, M21, M22, r, g, b, zero, soft), 0.0f32),
        NEG_CBRT_BIAS,
        zero,
        soft,
    );
    let x = 0.5f32 * (m0 - m1);
    let y = 0.5f32 * (m0 + m1);
    // Rounded on its own as in the reference (NVRTC would fuse it with the addition).
    out[index] = f32::reinterpret(u32::reinterpret(x * 14.0f32) | zero) + 0.42f32;
    out[plane + index] = y + 0.01f32;
    // The driver's compiler would reassociate `(m2 − y) + 0.55` (e.g. folding the constant
    // into `y` first), which moves B by an ulp or so; `zero` pins the difference.
    let by = f32::reinterpret(u32::reinterpret(m2 - y) | zero);
    out[2 * plane + index] = by + 0.55f32;
}

/// One unit per pixel of the next scale (`ceil(w/2) × ceil(h/2)`): converts the (up to) four
/// pixels of its 2×2 block to XYB (`xyb`: 3 planes of `width × height`) and writes their box
/// average in linear RGB to `nr`/`ng`/`nb`. Past the right or bottom edge the block repeats
/// the last column / row, as libjxl's downsampling does.
#[cube(launch)]
#[allow(clippy::too_many_arguments)]
pub(crate) fn xyb_downscale(
    r: &Array<f32>,
    g: &Array<f32>,
    b: &Array<f32>,
    xyb: &mut Array<f32>,
    nr: &mut Array<f32>,
    ng: &mut Array<f32>,
    nb: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    height: usize,
    #[comptime] soft: bool,
) {
    let zero = u32::reinterpret(k[COEFS - 1]);
    let nw = (width + 1) / 2;
    let nh = (height + 1) / 2;
    let tiles_x = (nw + TILE - 1) / TILE;
    let ox = (CUBE_POS % tiles_x) * TILE + UNIT_POS_X as usize;
    let oy = (CUBE_POS / tiles_x) * TILE + UNIT_POS_Y as usize;
    if ox < nw && oy < nh {
        let plane = width * height;
        let x0 = 2 * ox;
        let y0 = 2 * oy;
        let x1 = min(x0 + 1, width - 1);
        let y1 = min(y0 + 1, height - 1);
        let i00 = y0 * width + x0;
        let i01 = y0 * width + x1;
        let i10 = y1 * width + x0;
        let i11 = y1 * width + x1;
        let r00 = r[i00];
        let r01 = r[i01];
        let r10 = r[i10];
        let r11 = r[i11];
        let g00 = g[i00];
        let g01 = g[i01];
        let g10 = g[i10];
        let g11 = g[i11];
        let b00 = b[i00];
        let b01 = b[i01];
        let b10 = b[i10];
        let b11 = b[i11];
        store_xyb(r00, g00, b00, xyb, i00, plane, zero, soft);
        if x0 + 1 < width {
            store_xyb(r01, g01, b01, xyb, i01, plane, zero, soft);
        }
        if y0 + 1 < height {
            store_xyb(r10, g10, b10, xyb, i10, plane, zero, soft);
            if x0 + 1 < width {
                store_xyb(r11, g11, b11, xyb, i11, plane, zero, soft);
            }
        }
        let o = oy * nw + ox;
        nr[o] = (((r00 + r01) + r10) + r11) * 0.25f32;
        ng[o] = (((g00 + g01) + g10) + g11) * 0.25f32;
        nb[o] = (((b00 + b01) + b10) + b11) * 0.25f32;
    }
}

/// XYB of every pixel, for the coarsest scale (nothing to downscale into).
#[cube(launch)]
pub(crate) fn xyb_only(
    r: &Array<f32>,
    g: &Array<f32>,
    b: &Array<f32>,
    xyb: &mut Array<f32>,
    k: &Array<f32>,
    width: usize,
    height: usize,
    #[comptime] soft: bool,
) {
    let zero = u32::reinterpret(k[COEFS - 1]);
    let tiles_x = (width + TILE - 1) / TILE;
    let x = (CUBE_POS % tiles_x) * TILE + UNIT_POS_X as usize;
    let y = (CUBE_POS / tiles_x) * TILE + UNIT_POS_Y as usize;
    if x < width && y < height {
        let i = y * width + x;
        store_xyb(r[i], g[i], b[i], xyb, i, width * height, zero, soft);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ssimulacra2::blur::{coefficients, fma_is_fused, tests::client};
    use crate::test_runtime::TestRuntime as WgpuRuntime;

    /// Linear planes with every 8-bit sRGB level (through `fast-ssim2`'s LUT) and random
    /// values in `0..=1`.
    fn planes(w: usize, h: usize) -> [Vec<f32>; 3] {
        use fast_ssim2::pipeline::{EncodedData, EncodedSrgb, linearize};
        let all = EncodedSrgb {
            width: 256,
            height: 1,
            data: EncodedData::U8((0..=255u8).flat_map(|v| [v; 3]).collect()),
            alpha: None,
        };
        let lut = linearize(&all, 0.0)[0].clone();
        let mut state = 99u32;
        std::array::from_fn(|c| {
            (0..w * h)
                .map(|i| {
                    state ^= state << 13;
                    state ^= state >> 17;
                    state ^= state << 5;
                    if i % 3 == c {
                        (state >> 8) as f32 / (1u32 << 24) as f32
                    } else {
                        lut[(state % 256) as usize]
                    }
                })
                .collect()
        })
    }

    #[test]
    fn device_xyb_and_downscale_are_fast_ssim2_s_bit_for_bit() {
        use fast_ssim2::pipeline::{downsample_planes, xyb::linear_rgb_to_xyb_pixel};
        let client = client();
        let soft = !fma_is_fused(&client);
        let k = client.create_from_slice(f32::as_bytes(&coefficients(1.5)));
        for (w, h) in [(37, 29), (256, 96), (8, 9)] {
            let n = w * h;
            let lin = planes(w, h);
            let (nw, nh) = (w.div_ceil(2), h.div_ceil(2));
            let nn = nw * nh;
            let input = lin
                .each_ref()
                .map(|p| client.create_from_slice(f32::as_bytes(p)));
            let xyb = client.empty(3 * n * 4);
            let next = [0; 3].map(|_| client.empty(nn * 4));
            let arr = |hd: &cubecl::server::Handle, len: usize| unsafe {
                ArrayArg::<WgpuRuntime>::from_raw_parts(hd.clone(), len)
            };
            xyb_downscale::launch::<WgpuRuntime>(
                &client,
                crate::grid::cubes(nw.div_ceil(TILE) * nh.div_ceil(TILE)),
                CubeDim::new_2d(TILE as u32, TILE as u32),
                arr(&input[0], n),
                arr(&input[1], n),
                arr(&input[2], n),
                arr(&xyb, 3 * n),
                arr(&next[0], nn),
                arr(&next[1], nn),
                arr(&next[2], nn),
                arr(&k, COEFS),
                w,
                h,
                soft,
            );
            let got = f32::from_bytes(&client.read_one(xyb).expect("read")).to_vec();
            let mut differ = 0usize;
            for i in 0..n {
                let want = linear_rgb_to_xyb_pixel([lin[0][i], lin[1][i], lin[2][i]]);
                for c in 0..3 {
                    if got[c * n + i].to_bits() != want[c].to_bits() {
                        differ += 1;
                    }
                }
            }
            assert_eq!(differ, 0, "{w}x{h}: XYB values differing");
            let (want, _, _) = downsample_planes(&lin, w, h);
            for c in 0..3 {
                let got = client.read_one(next[c].clone()).expect("read");
                let got = f32::from_bytes(&got);
                let same = got
                    .iter()
                    .zip(&want[c])
                    .all(|(a, b)| a.to_bits() == b.to_bits());
                assert!(same, "{w}x{h}: downscale of channel {c} differs");
            }
        }
    }

    #[test]
    fn cbrt_bias_constant_is_the_cube_root_of_the_bias() {
        let exact = f64::from(super::BIAS).cbrt();
        assert!(
            (f64::from(-super::NEG_CBRT_BIAS) - exact).abs() < 1e-7,
            "{exact}"
        );
    }
}
