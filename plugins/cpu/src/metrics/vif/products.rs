//! The three ways a column pass may form and sum its products of samples, from the widest
//! (any 16-bit samples) to the fastest (8-bit samples). All are exact on their domain.

/// How a column pass forms and sums its terms. Every form is exact; the narrower ones, which
/// vectorise better (SSE2 multiplies 16 × 16 → 32 and 32 × 32 → 64 bits, not 32 × 32 → 32),
/// are used only when the samples are small enough for them.
pub(super) trait Products {
    /// The type of the sums of products.
    type Sum: Copy + Default + std::ops::AddAssign + Into<u64>;
    /// `tap · (a₁ + a₂)`.
    fn sum(tap: u16, a1: u16, a2: u16) -> u32;
    /// `tap · a · b`.
    fn one(tap: u16, a: u16, b: u16) -> Self::Sum;
    /// `tap · (a₁b₁ + a₂b₂)`, for the outer taps (two samples at equal distances from the
    /// centre, weighed alike), all below 2¹⁴.
    fn two(tap: u16, a1: u16, b1: u16, a2: u16, b2: u16) -> Self::Sum;
    /// A whole sum `s`, rounded and shifted right by `shift` (no rounding term for a zero
    /// shift), narrowed to 32 bits.
    fn round(s: Self::Sum, shift: u32) -> u32;
}

/// `s / 2^shift`, rounded half up (no rounding term for a zero shift), for a 32-bit sum of
/// 16-bit values weighed by taps that sum to 2¹⁶: `s + 2¹⁵ ≤ 2¹⁶ · (2¹⁶ − 1) + 2¹⁵` cannot
/// overflow.
#[inline(always)]
pub(super) fn round_u32(s: u32, shift: u32) -> u32 {
    (s + ((1 << shift) >> 1)) >> shift
}

/// Samples below this may use [`Bytes`].
pub(super) const BYTE: u16 = 1 << 8;
/// Samples below this may use [`Narrow`].
pub(super) const NARROW: u16 = 1 << 15;

/// Any 16-bit samples: products summed in 64 bits.
#[derive(Debug)]
pub(super) struct Wide;
/// Samples below 2¹⁵: two samples add up in 16 bits, two products in 32.
#[derive(Debug)]
pub(super) struct Narrow;
/// Samples below 2⁸: products fit in 16 bits, an outer tap's two terms (below 2¹⁴ · 2 · 255²)
/// and whole sums (at most 2¹⁶ · 255²) in 32.
#[derive(Debug)]
pub(super) struct Bytes;

impl Products for Wide {
    type Sum = u64;
    #[inline(always)]
    fn sum(tap: u16, a1: u16, a2: u16) -> u32 {
        u32::from(tap) * (u32::from(a1) + u32::from(a2))
    }
    #[inline(always)]
    fn one(tap: u16, a: u16, b: u16) -> u64 {
        // `tap · a < 2³²`: one 32-bit product, then one 32 × 32 → 64-bit one.
        u64::from(u32::from(tap) * u32::from(a)) * u64::from(b)
    }
    #[inline(always)]
    fn two(tap: u16, a1: u16, b1: u16, a2: u16, b2: u16) -> u64 {
        Self::one(tap, a1, b1) + Self::one(tap, a2, b2)
    }
    #[inline(always)]
    fn round(s: u64, shift: u32) -> u32 {
        ((s + ((1 << shift) >> 1)) >> shift) as u32
    }
}

impl Products for Narrow {
    type Sum = u64;
    #[inline(always)]
    fn sum(tap: u16, a1: u16, a2: u16) -> u32 {
        u32::from(tap) * u32::from(a1 + a2)
    }
    #[inline(always)]
    fn one(tap: u16, a: u16, b: u16) -> u64 {
        Wide::one(tap, a, b)
    }
    #[inline(always)]
    fn two(tap: u16, a1: u16, b1: u16, a2: u16, b2: u16) -> u64 {
        let products = u64::from(a1) * u64::from(b1) + u64::from(a2) * u64::from(b2);
        u64::from(tap) * u64::from(products as u32)
    }
    #[inline(always)]
    fn round(s: u64, shift: u32) -> u32 {
        Wide::round(s, shift)
    }
}

impl Products for Bytes {
    type Sum = u32;
    #[inline(always)]
    fn sum(tap: u16, a1: u16, a2: u16) -> u32 {
        Narrow::sum(tap, a1, a2)
    }
    #[inline(always)]
    fn one(tap: u16, a: u16, b: u16) -> u32 {
        u32::from(tap) * u32::from(a * b)
    }
    #[inline(always)]
    fn two(tap: u16, a1: u16, b1: u16, a2: u16, b2: u16) -> u32 {
        // Two products below 2¹⁶ add up below 2¹⁷; times an outer tap, below 2³¹.
        u32::from(tap) * (u32::from(a1 * b1) + u32::from(a2 * b2))
    }
    #[inline(always)]
    fn round(s: u32, shift: u32) -> u32 {
        // A whole sum is at most 2¹⁶ · 255², so `s + 2¹⁵` stays below 2³².
        round_u32(s, shift)
    }
}
