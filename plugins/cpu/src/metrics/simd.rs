//! Which instruction set the integer VMAF features ([`super::vif`], [`super::adm`],
//! [`super::motion`], [`super::motion_v3`]) run on.
//!
//! Their loops are written once, in portable Rust, as `#[inline(always)]` functions. Each
//! feature's entry points are then built twice: as they are (for the target's baseline, SSE2
//! on x86-64) and, on x86-64, inside a `#[target_feature(enable = "avx2")]` wrapper, which lets
//! the compiler vectorise the same loops with 256-bit registers. The choice is made once per
//! frame, from [`Isa::detected`]. Both builds compute the same integers and the same
//! floating-point operations in the same order (no fused multiply-add is enabled, and Rust
//! never contracts `a * b + c` on its own), so every value is bit for bit the same; the tests
//! run both and compare.
//!
//! Setting the environment variable `QSCORE_CPU_SIMD=off` (read once, on first use) forces
//! the portable build, for comparison or to rule the vector build out when chasing a problem.
//! Any other value, or none, lets the CPU decide.

use std::sync::OnceLock;

/// The environment variable that forces the portable build when set to `off`.
pub(crate) const ENV: &str = "QSCORE_CPU_SIMD";

/// An instruction set the CPU is known to support, to run the features on.
///
/// A value naming AVX2 can only be made by [`Isa::detected`] or [`Isa::avx2`], both of which
/// check the CPU first: holding one is the proof that AVX2 code may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Isa(Kind);

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Portable,
    #[cfg(target_arch = "x86_64")]
    Avx2,
}

impl Isa {
    /// The baseline build, which runs everywhere.
    pub(crate) const PORTABLE: Self = Self(Kind::Portable);

    /// AVX2, if this CPU has it.
    pub(crate) fn avx2() -> Option<Self> {
        #[cfg(target_arch = "x86_64")]
        if std::is_x86_feature_detected!("avx2") {
            return Some(Self(Kind::Avx2));
        }
        None
    }

    /// The build to use: AVX2 when the CPU has it, unless `QSCORE_CPU_SIMD=off`. Decided on
    /// first use and cached.
    pub(crate) fn detected() -> Self {
        static CHOSEN: OnceLock<Isa> = OnceLock::new();
        *CHOSEN.get_or_init(|| {
            let off = std::env::var_os(ENV).is_some_and(|v| v.eq_ignore_ascii_case("off"));
            if off {
                Self::PORTABLE
            } else {
                Self::avx2().unwrap_or(Self::PORTABLE)
            }
        })
    }

    /// Whether this is the AVX2 build (always false off x86-64).
    pub(crate) fn is_avx2(self) -> bool {
        match self.0 {
            Kind::Portable => false,
            #[cfg(target_arch = "x86_64")]
            Kind::Avx2 => true,
        }
    }
}

/// Proof that the CPU has AVX2: made only by [`Isa::avx2_token`], after checking.
///
/// The features' AVX2 kernels are `#[target_feature(enable = "avx2")]` functions, which are
/// only sound to call on such a CPU; each is wrapped in a safe method of a kernel set that
/// holds one of these tokens.
#[cfg(target_arch = "x86_64")]
#[derive(Debug, Clone, Copy)]
pub(crate) struct Avx2(());

impl Isa {
    /// The proof that AVX2 may be used, if this is the AVX2 build.
    #[cfg(target_arch = "x86_64")]
    pub(crate) fn avx2_token(self) -> Option<Avx2> {
        self.is_avx2().then_some(Avx2(()))
    }
}

/// Implements a method of an AVX2 kernel set (a type holding an [`Avx2`] token as its field
/// `0`): the method runs `$kernel`, an `#[inline(always)]` function, built for AVX2. Generic
/// parameters are written twice in brackets after the name, as declared and as passed on:
/// `fn name[P: Bound, const T: usize][P, T](self, …)`.
///
/// Each kernel is built in its own function: it is small enough for the compiler to vectorise
/// it fully, which it does less reliably inside a large function.
macro_rules! avx2_kernel {
    (
        $(#[$meta:meta])*
        fn $name:ident$([$($def:tt)*][$($use:tt)*])?(self $(, $arg:ident: $ty:ty)* $(,)?)
            $(-> $ret:ty)? = $($kernel:ident)::+;
    ) => {
        $(#[$meta])*
        #[inline(always)]
        fn $name$(<$($def)*>)?(self $(, $arg: $ty)*) $(-> $ret)? {
            #[target_feature(enable = "avx2")]
            fn avx2$(<$($def)*>)?($($arg: $ty),*) $(-> $ret)? {
                $($kernel)::+$(::<$($use)*>)?($($arg),*)
            }
            let _: $crate::metrics::simd::Avx2 = self.0;
            // SAFETY: `self` holds an `Avx2` token, which is only made once the CPU is known
            // to have AVX2.
            unsafe { avx2$(::<$($use)*>)?($($arg),*) }
        }
    };
}

#[cfg(target_arch = "x86_64")]
pub(crate) use avx2_kernel;

/// Evaluates `$body` with `$kernels` bound to the kernel set for `$isa`: `$avx2(token)` (a
/// tuple struct holding an [`Avx2`] token, x86-64 only) when `$isa` is the AVX2 build, else
/// `$portable`.
macro_rules! with_kernels {
    ($isa:expr, $portable:expr, $avx2:path, |$kernels:ident| $body:expr) => {{
        let isa: $crate::metrics::simd::Isa = $isa;
        #[cfg(target_arch = "x86_64")]
        let avx2 = isa.avx2_token();
        #[cfg(not(target_arch = "x86_64"))]
        let avx2: Option<std::convert::Infallible> = {
            let _ = isa;
            None
        };
        match avx2 {
            #[cfg(target_arch = "x86_64")]
            Some(token) => {
                let $kernels = $avx2(token);
                $body
            }
            #[cfg(not(target_arch = "x86_64"))]
            Some(never) => match never {},
            None => {
                let $kernels = $portable;
                $body
            }
        }
    }};
}

pub(crate) use with_kernels;

/// Runs `$kernel::<…, N>($args…, start)` over `0..$width` in chunks of `N = $lanes`: the last
/// chunk is moved back to end at `$width`, so it recomputes a few outputs of the one before
/// (identically); below `$lanes` outputs, `N = 1` one by one. For kernels that compute each
/// output from their inputs alone, in fixed-size arrays the compiler can keep in registers.
macro_rules! for_each_chunk {
    ($lanes:expr, $width:expr, $kernel:ident$(::<$($p:tt),*>)?($($arg:expr),* $(,)?)) => {{
        let width: usize = $width;
        if width >= $lanes {
            let last = width - $lanes;
            let mut start = 0;
            loop {
                let at = start.min(last);
                $kernel::<$($($p,)*)? { $lanes }>($($arg,)* at);
                if at == last {
                    break;
                }
                start += $lanes;
            }
        } else {
            for at in 0..width {
                $kernel::<$($($p,)*)? 1>($($arg,)* at);
            }
        }
    }};
}

pub(crate) use for_each_chunk;

/// `N` consecutive values of `line` from `at`: a fixed-size array the compiler can keep in
/// vector registers.
#[inline(always)]
pub(crate) fn lanes<T, const N: usize>(line: &[T], at: usize) -> &[T; N] {
    line[at..at + N].try_into().expect("N values")
}

/// `N` consecutive values of `line` from `at`, to write.
#[inline(always)]
pub(crate) fn lanes_mut<T, const N: usize>(line: &mut [T], at: usize) -> &mut [T; N] {
    (&mut line[at..at + N]).try_into().expect("N values")
}

/// The low 32 bits of the 64-bit lanes of `low` and of `high`, in order: eight 32-bit lanes.
#[cfg(target_arch = "x86_64")]
#[inline]
#[target_feature(enable = "avx2")]
pub(crate) fn narrow_64(
    low: std::arch::x86_64::__m256i,
    high: std::arch::x86_64::__m256i,
) -> std::arch::x86_64::__m256i {
    use std::arch::x86_64::*;
    let pick = _mm256_setr_epi32(0, 2, 4, 6, 0, 2, 4, 6);
    let low = _mm256_permutevar8x32_epi32(low, pick);
    let high = _mm256_permutevar8x32_epi32(high, pick);
    _mm256_blend_epi32::<0b1111_0000>(low, high)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::adm::{self, AdmOptions, AdmReference};
    use crate::metrics::luma::Luma;
    use crate::metrics::motion;
    use crate::metrics::vif::{self, VifOptions, VifReference};

    /// A `w × h` plane of `bits`-bit samples: a gradient, a texture and noise; or (`wild`)
    /// samples anywhere in 16 bits, beyond the declared depth.
    fn plane(w: usize, h: usize, bits: u32, seed: u32, wild: bool) -> Vec<u16> {
        let mut state = seed;
        let max = (1u32 << bits) - 1;
        (0..w * h)
            .map(|i| {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                if wild {
                    return (state >> 16) as u16;
                }
                let (x, y) = ((i % w) as u32, (i / w) as u32);
                let ramp = (x * 5 + y * 3) * max / (5 * w as u32 + 3 * h as u32);
                let texture = if (x / 3 + y / 4) % 2 == 0 { max / 8 } else { 0 };
                let noise = (state >> 24) * max / 255 / 6;
                (ramp / 2 + texture + noise).min(max) as u16
            })
            .collect()
    }

    /// The bytes of a plane as a `Luma` reads them, rows `stride` bytes apart.
    fn bytes(samples: &[u16], w: usize, bits: u32, stride: usize) -> Vec<u8> {
        let mut out = Vec::new();
        for row in samples.chunks(w) {
            for &v in row {
                if bits > 8 {
                    out.extend_from_slice(&v.to_ne_bytes());
                } else {
                    out.push(v as u8);
                }
            }
            out.resize(out.len().next_multiple_of(stride), 0xA5);
        }
        out
    }

    /// Runs `check` on the same random frame pairs with the portable build and the AVX2 one, if
    /// this CPU has it.
    #[test]
    fn the_features_are_the_same_with_and_without_avx2() {
        let Some(avx2) = Isa::avx2() else {
            eprintln!("this CPU has no AVX2: only the portable build was run");
            return;
        };
        let mut seed = 1;
        for bits in [8, 10, 12, 16] {
            for (w, h) in [(17, 18), (33, 34), (47, 33), (353, 37)] {
                for wild in [false, true] {
                    if wild && bits == 8 {
                        continue;
                    }
                    seed += 1;
                    let bps = if bits > 8 { 2 } else { 1 };
                    let stride = w * bps + 6;
                    let reference = plane(w, h, bits, seed, wild);
                    let distorted = plane(w, h, bits, seed + 1000, wild);
                    let next = plane(w, h, bits, seed + 2000, wild);
                    let planes = [&reference, &distorted, &next].map(|p| bytes(p, w, bits, stride));
                    let luma = |i: usize| Luma {
                        data: &planes[i],
                        stride,
                        width: w,
                        height: h,
                        bits,
                    };
                    let what = format!("{bits}-bit {w}x{h}{}", if wild { " wild" } else { "" });
                    for d in [0, 1] {
                        compare(avx2, (luma(0), luma(d)), &what);
                    }
                    compare_motion(avx2, [luma(0), luma(1), luma(2)], &what);
                }
            }
        }
    }

    /// VIF and ADM of `distorted` against `reference`, with both builds: bit for bit equal.
    fn compare(avx2: Isa, (reference, distorted): (Luma<'_>, Luma<'_>), what: &str) {
        for limit in [100.0, 1.0, 1.2] {
            let run = |isa| {
                let options = VifOptions {
                    enhn_gain_limit: limit,
                };
                let prepared = VifReference::new_on(isa, &reference).expect("vif reference");
                let scores = vif::vif_on(isa, &prepared, &distorted, &options).expect("vif");
                scores
                    .num
                    .iter()
                    .chain(&scores.den)
                    .map(|v| v.to_bits())
                    .collect::<Vec<_>>()
            };
            assert_eq!(
                run(Isa::PORTABLE),
                run(avx2),
                "vif, {what}, gain limit {limit}"
            );
            if reference.width < adm::MIN_SIDE || reference.height < adm::MIN_SIDE {
                continue;
            }
            let run = |isa| {
                let options = AdmOptions {
                    enhn_gain_limit: limit,
                    ..AdmOptions::default()
                };
                let prepared = AdmReference::new_on(isa, &reference, &options).expect("adm ref");
                let scores = adm::adm_on(isa, &prepared, &distorted, &options).expect("adm");
                let values = scores.num.iter().chain(&scores.den).chain([&scores.adm2]);
                values.map(|v| v.to_bits()).collect::<Vec<_>>()
            };
            assert_eq!(
                run(Isa::PORTABLE),
                run(avx2),
                "adm, {what}, gain limit {limit}"
            );
        }
    }

    /// The blurred frames and their motions, with both builds: equal.
    fn compare_motion(avx2: Isa, frames: [Luma<'_>; 3], what: &str) {
        let run = |isa| {
            let blurred = frames.map(|f| motion::blur_on(isa, &f).expect("blur"));
            let own = motion::motion_on(isa, &blurred[0], &blurred[1]).expect("motion");
            let next = motion::motion_on(isa, &blurred[1], &blurred[2]).expect("motion");
            (blurred, own.to_bits(), next.to_bits())
        };
        assert_eq!(run(Isa::PORTABLE), run(avx2), "motion, {what}");
    }

    #[test]
    fn the_portable_build_is_always_there_and_avx2_only_when_detected() {
        assert!(!Isa::PORTABLE.is_avx2());
        if let Some(isa) = Isa::avx2() {
            assert!(isa.is_avx2());
        }
        let chosen = Isa::detected();
        assert!(chosen == Isa::PORTABLE || Some(chosen) == Isa::avx2());
    }
}
