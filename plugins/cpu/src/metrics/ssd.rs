//! Sums of squared differences of integer samples, read straight from packed rows (PSNR).
//!
//! The sums are exact integers, so the order of the additions does not matter: each row is
//! split into fixed-size groups of independent lanes that the compiler keeps in vector
//! registers. Lanes of 8-bit differences are `u32` and emptied into a `u64` total before they
//! can overflow; 16-bit squares need `u64` lanes. The functions are `#[inline(always)]` and
//! built twice, like VIF's kernels ([`super::simd`]): for the baseline and for AVX2, where the
//! 8-bit sums are written with intrinsics (`avx2`): 16-bit differences squared and added in
//! pairs by `vpmaddwd`, a form the compiler does not find on its own.

#[cfg(target_arch = "x86_64")]
use super::simd;

/// Which sum a format's rows need.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Sum {
    /// 8-bit samples, all counted.
    U8,
    /// 8-bit RGBA, alpha left out.
    Rgba8,
    /// 16-bit samples (native byte order), all counted.
    U16,
}

impl Sum {
    /// Σ (a − b)² over two rows, with `kernels`.
    #[inline(always)]
    pub(crate) fn rows<K: Kernels>(self, kernels: K, a: &[u8], b: &[u8]) -> u64 {
        match self {
            Self::U8 => kernels.ssd_u8(a, b),
            Self::Rgba8 => kernels.ssd_rgba8(a, b),
            Self::U16 => kernels.ssd_u16(a, b),
        }
    }
}

/// The sums, built for one instruction set: each method's default is the portable build,
/// which `Avx2` overrides with the same function built for AVX2.
pub(crate) trait Kernels: Copy {
    /// [`ssd_u8`].
    #[inline(always)]
    fn ssd_u8(self, a: &[u8], b: &[u8]) -> u64 {
        ssd_u8(a, b)
    }
    /// [`ssd_rgba8`].
    #[inline(always)]
    fn ssd_rgba8(self, a: &[u8], b: &[u8]) -> u64 {
        ssd_rgba8(a, b)
    }
    /// [`ssd_u16`].
    #[inline(always)]
    fn ssd_u16(self, a: &[u8], b: &[u8]) -> u64 {
        ssd_u16(a, b)
    }
}

/// The sums built for the target's baseline.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Portable;

impl Kernels for Portable {}

/// The sums built for AVX2.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(pub(crate) simd::Avx2);

#[cfg(target_arch = "x86_64")]
impl Kernels for Avx2 {
    simd::avx2_kernel! {
        fn ssd_u8(self, a: &[u8], b: &[u8]) -> u64 = avx2::ssd_u8;
    }
    simd::avx2_kernel! {
        fn ssd_rgba8(self, a: &[u8], b: &[u8]) -> u64 = avx2::ssd_rgba8;
    }
    simd::avx2_kernel! {
        fn ssd_u16(self, a: &[u8], b: &[u8]) -> u64 = ssd_u16;
    }
}

/// Samples a group of lanes covers.
const LANES: usize = 32;

/// Groups summed into `u32` lanes before they are emptied: each lane then holds at most
/// `4096 · 255²`, far below 2³².
const GROUPS_PER_BLOCK: usize = 4096;

/// Σ (a − b)² over two rows of 8-bit samples of equal length.
#[inline(always)]
pub(crate) fn ssd_u8(a: &[u8], b: &[u8]) -> u64 {
    ssd_u8_masked(a, b, [true; 4])
}

/// Σ (a − b)² over two rows of 8-bit RGBA samples, alpha left out.
#[inline(always)]
pub(crate) fn ssd_rgba8(a: &[u8], b: &[u8]) -> u64 {
    ssd_u8_masked(a, b, [true, true, true, false])
}

/// Σ (a − b)² over the samples of two 8-bit rows whose position modulo 4 `keep` marks.
#[inline(always)]
fn ssd_u8_masked(a: &[u8], b: &[u8], keep: [bool; 4]) -> u64 {
    debug_assert_eq!(a.len(), b.len());
    let mask: [u32; LANES] = std::array::from_fn(|i| if keep[i % 4] { u32::MAX } else { 0 });
    let mut total = 0u64;
    let block = LANES * GROUPS_PER_BLOCK;
    for (block_a, block_b) in a.chunks(block).zip(b.chunks(block)) {
        let mut lanes = [0u32; LANES];
        let groups_a = block_a.chunks_exact(LANES);
        let groups_b = block_b.chunks_exact(LANES);
        let (rest_a, rest_b) = (groups_a.remainder(), groups_b.remainder());
        for (ga, gb) in groups_a.zip(groups_b) {
            for i in 0..LANES {
                let d = u32::from(ga[i].abs_diff(gb[i]));
                lanes[i] += (d * d) & mask[i];
            }
        }
        // Groups start at multiples of 4, so the rest keeps the same pattern.
        for (i, (&x, &y)) in rest_a.iter().zip(rest_b).enumerate() {
            let d = u32::from(x.abs_diff(y));
            lanes[i] += (d * d) & mask[i];
        }
        total += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
    }
    total
}

/// The 8-bit sums with AVX2 intrinsics.
#[cfg(target_arch = "x86_64")]
mod avx2 {
    use std::arch::x86_64::*;

    /// Bytes a register holds.
    const WIDTH: usize = 32;

    /// Registers summed into 32-bit lanes before they are emptied: each adds at most
    /// `4 · 255²` to a lane, so a lane holds at most `4096 · 4 · 255² < 2³¹`.
    const REGISTERS_PER_BLOCK: usize = 4096;

    /// [`super::ssd_u8`].
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn ssd_u8(a: &[u8], b: &[u8]) -> u64 {
        masked(a, b, [true; 4])
    }

    /// [`super::ssd_rgba8`].
    #[inline]
    #[target_feature(enable = "avx2")]
    pub(super) fn ssd_rgba8(a: &[u8], b: &[u8]) -> u64 {
        masked(a, b, [true, true, true, false])
    }

    /// [`super::ssd_u8_masked`]: the bytes of a register are widened to 16 bits (the low
    /// and the high eight of each 128-bit half: positions keep their value modulo 4, so one
    /// mask serves both), subtracted, masked and squared and added in pairs by `vpmaddwd`.
    #[inline]
    #[target_feature(enable = "avx2")]
    fn masked(a: &[u8], b: &[u8], keep: [bool; 4]) -> u64 {
        let words: [i16; 16] = std::array::from_fn(|j| if keep[j % 4] { -1 } else { 0 });
        // SAFETY: `words` is 32 readable bytes; the load has no alignment requirement.
        let mask = unsafe { _mm256_loadu_si256(words.as_ptr().cast()) };
        let zero = _mm256_setzero_si256();
        let whole = a.len().min(b.len()) / WIDTH * WIDTH;
        let block = WIDTH * REGISTERS_PER_BLOCK;
        let mut total = 0u64;
        for (block_a, block_b) in a[..whole].chunks(block).zip(b[..whole].chunks(block)) {
            let mut acc = zero;
            for (ga, gb) in block_a.chunks_exact(WIDTH).zip(block_b.chunks_exact(WIDTH)) {
                // SAFETY: each chunk is 32 readable bytes; no alignment is required.
                let (va, vb) = unsafe {
                    (
                        _mm256_loadu_si256(ga.as_ptr().cast()),
                        _mm256_loadu_si256(gb.as_ptr().cast()),
                    )
                };
                let low = _mm256_sub_epi16(
                    _mm256_unpacklo_epi8(va, zero),
                    _mm256_unpacklo_epi8(vb, zero),
                );
                let high = _mm256_sub_epi16(
                    _mm256_unpackhi_epi8(va, zero),
                    _mm256_unpackhi_epi8(vb, zero),
                );
                let (low, high) = (_mm256_and_si256(low, mask), _mm256_and_si256(high, mask));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(low, low));
                acc = _mm256_add_epi32(acc, _mm256_madd_epi16(high, high));
            }
            let mut lanes = [0u32; 8];
            // SAFETY: `lanes` is 32 writable bytes; the store has no alignment requirement.
            unsafe { _mm256_storeu_si256(lanes.as_mut_ptr().cast(), acc) };
            total += lanes.iter().map(|&l| u64::from(l)).sum::<u64>();
        }
        // The rest starts at a multiple of 32, so the pattern of `keep` goes on.
        total + super::ssd_u8_masked(&a[whole..], &b[whole..], keep)
    }
}

/// Σ (a − b)² over two rows of 16-bit samples in native byte order, given as bytes of equal
/// (even) length.
#[inline(always)]
pub(crate) fn ssd_u16(a: &[u8], b: &[u8]) -> u64 {
    debug_assert_eq!(a.len(), b.len());
    const WIDE: usize = 16;
    let sample = |bytes: &[u8], i: usize| u16::from_ne_bytes([bytes[2 * i], bytes[2 * i + 1]]);
    let mut lanes = [0u64; WIDE];
    let groups_a = a.chunks_exact(2 * WIDE);
    let groups_b = b.chunks_exact(2 * WIDE);
    let (rest_a, rest_b) = (groups_a.remainder(), groups_b.remainder());
    for (ga, gb) in groups_a.zip(groups_b) {
        for (i, lane) in lanes.iter_mut().enumerate() {
            let d = u64::from(sample(ga, i).abs_diff(sample(gb, i)));
            *lane += d * d;
        }
    }
    for (i, lane) in lanes.iter_mut().enumerate().take(rest_a.len() / 2) {
        let d = u64::from(sample(rest_a, i).abs_diff(sample(rest_b, i)));
        *lane += d * d;
    }
    lanes.iter().sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn naive(a: &[u16], b: &[u16], channels: usize, kept: usize) -> u64 {
        a.iter()
            .zip(b)
            .enumerate()
            .filter(|(i, _)| i % channels < kept)
            .map(|(_, (&x, &y))| u64::from(x.abs_diff(y)).pow(2))
            .sum()
    }

    /// `len` samples from 0 to `max` (xorshift64).
    fn noise(len: usize, seed: u64, max: u16) -> Vec<u16> {
        let mut state = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
        (0..len)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                (state % (u64::from(max) + 1)) as u16
            })
            .collect()
    }

    /// Every length around the group and block sizes, extreme and random samples: the sums
    /// equal a plain loop's.
    #[test]
    fn sums_equal_a_plain_loop() {
        let block = LANES * GROUPS_PER_BLOCK;
        for len in [
            0,
            1,
            3,
            4,
            31,
            32,
            33,
            100,
            4 * 257,
            block - 4,
            block,
            block + 8,
            3 * block + 12,
        ] {
            for seed in 0..3u64 {
                let (a, b) = if seed == 0 {
                    (vec![255; len], vec![0; len])
                } else {
                    (noise(len, seed, 255), noise(len, seed + 9, 255))
                };
                let bytes = |v: &[u16]| v.iter().map(|&s| s as u8).collect::<Vec<u8>>();
                let (a8, b8) = (bytes(&a), bytes(&b));
                assert_eq!(ssd_u8(&a8, &b8), naive(&a, &b, 1, 1), "u8 {len}");
                assert_eq!(ssd_rgba8(&a8, &b8), naive(&a, &b, 4, 3), "rgba8 {len}");
                let (a16, b16) = if seed == 0 {
                    (vec![u16::MAX; len], vec![0; len])
                } else {
                    (noise(len, seed, u16::MAX), noise(len, seed + 9, u16::MAX))
                };
                let wide = |v: &[u16]| v.iter().flat_map(|s| s.to_ne_bytes()).collect::<Vec<u8>>();
                let (wa, wb) = (wide(&a16), wide(&b16));
                assert_eq!(ssd_u16(&wa, &wb), naive(&a16, &b16, 1, 1), "u16 {len}");
                #[cfg(target_arch = "x86_64")]
                if let Some(token) = super::super::simd::Isa::avx2().and_then(|i| i.avx2_token()) {
                    let kernels = Avx2(token);
                    assert_eq!(
                        kernels.ssd_u8(&a8, &b8),
                        naive(&a, &b, 1, 1),
                        "avx2 u8 {len}"
                    );
                    let rgba = kernels.ssd_rgba8(&a8, &b8);
                    assert_eq!(rgba, naive(&a, &b, 4, 3), "avx2 rgba8 {len}");
                    let wide16 = kernels.ssd_u16(&wa, &wb);
                    assert_eq!(wide16, naive(&a16, &b16, 1, 1), "avx2 u16 {len}");
                }
            }
        }
    }
}
