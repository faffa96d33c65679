//! Open sets of named values.
//!
//! Each is a `#[repr(transparent)]` `u32` with named constants rather than a Rust
//! enum: a newer peer may send a value this build does not know, and that must be
//! representable (shown as `unknown(N)`) instead of being undefined behaviour.
//! Values are only ever appended.

use abi_stable::StableAbi;

macro_rules! open_set {
    (
        $(#[$meta:meta])*
        $name:ident { $( $(#[$vmeta:meta])* $konst:ident = $value:literal => $text:literal, )* }
    ) => {
        $(#[$meta])*
        #[repr(transparent)]
        #[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub struct $name(pub u32);

        impl $name {
            $( $(#[$vmeta])* pub const $konst: Self = Self($value); )*

            /// Every value this build knows, in declaration order.
            pub const KNOWN: &'static [Self] = &[$(Self::$konst),*];

            /// The stable lower-case name, `None` for a value this build does not know.
            pub fn name(self) -> Option<&'static str> {
                match self.0 {
                    $( $value => Some($text), )*
                    _ => None,
                }
            }

            /// Parses a stable name (as printed by [`Self::name`]).
            pub fn from_name(text: &str) -> Option<Self> {
                match text {
                    $( $text => Some(Self::$konst), )*
                    _ => None,
                }
            }
        }

        impl std::fmt::Display for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                match self.name() {
                    Some(name) => f.write_str(name),
                    None => write!(f, "unknown({})", self.0),
                }
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                std::fmt::Display::fmt(self, f)
            }
        }
    };
}

open_set! {
    /// Which kind of backend a plugin drives.
    BackendFamily {
        /// Runs on the host's CPU.
        CPU = 1 => "cpu",
        /// NVIDIA CUDA.
        CUDA = 2 => "cuda",
        /// AMD ROCm/HIP.
        HIP = 3 => "hip",
        /// wgpu: Vulkan, Metal or DX12.
        WGPU = 4 => "wgpu",
        /// Anything else (a library such as libvmaf, a simulator…).
        OTHER = 5 => "other",
    }
}

open_set! {
    /// What a device is.
    DeviceKind {
        /// The host's processors and RAM.
        CPU = 1 => "cpu",
        /// A discrete GPU with its own memory.
        DISCRETE_GPU = 2 => "discrete-gpu",
        /// A GPU sharing the host's memory.
        INTEGRATED_GPU = 3 => "integrated-gpu",
        /// A software implementation of a GPU API (e.g. lavapipe).
        SOFTWARE_GPU = 4 => "software-gpu",
        /// Anything else.
        OTHER = 5 => "other",
    }
}

open_set! {
    /// How a metric lays out its working memory.
    MemoryMode {
        /// Whole images at once: fastest, most memory.
        FULL = 1 => "full",
        /// Rows processed in bands with halos wide enough for every filter: less memory, same numbers.
        STRIP = 2 => "strip",
        /// Reference and distorted image both processed in bands, nothing kept whole.
        STRIP_PAIR = 3 => "strip-pair",
    }
}

open_set! {
    /// The class of a [`crate::Error`].
    ErrorKind {
        /// The device ran out of memory; the error carries bytes needed and available.
        OUT_OF_MEMORY = 1 => "out-of-memory",
        /// The plugin cannot do what was asked (metric, format, mode, size, operation).
        UNSUPPORTED = 2 => "unsupported",
        /// The input itself is wrong (sizes differ, strides too small, bad parameters…).
        INVALID_INPUT = 3 => "invalid-input",
        /// The device stopped working; nothing more should be sent to it.
        DEVICE_LOST = 4 => "device-lost",
        /// A bug or unexpected failure inside the plugin, including a caught panic.
        INTERNAL = 5 => "internal",
    }
}

/// Chroma subsampling of a planar YUV format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ChromaSubsampling {
    /// Chroma at half width and half height (rounded up).
    Yuv420,
    /// Chroma at half width (rounded up), full height.
    Yuv422,
    /// Chroma at full resolution.
    Yuv444,
}

impl ChromaSubsampling {
    const fn code(self) -> u32 {
        match self {
            Self::Yuv420 => 0,
            Self::Yuv422 => 1,
            Self::Yuv444 => 2,
        }
    }

    /// Horizontal and vertical shift of the chroma planes.
    pub fn shifts(self) -> (u32, u32) {
        match self {
            Self::Yuv420 => (1, 1),
            Self::Yuv422 => (1, 0),
            Self::Yuv444 => (0, 0),
        }
    }

    fn tag(self) -> &'static str {
        match self {
            Self::Yuv420 => "420",
            Self::Yuv422 => "422",
            Self::Yuv444 => "444",
        }
    }
}

/// A pixel layout.
///
/// Packed formats have one plane; planar YUV has three (Y, Cb, Cr). Samples wider
/// than 8 bits are stored in 16-bit native-endian words, low bits significant.
/// YUV values encode subsampling and bit depth: `0x1000 | subsampling << 8 | bits`.
#[repr(transparent)]
#[derive(StableAbi, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PixelFormat(pub u32);

const YUV_TAG: u32 = 0x1000;

impl PixelFormat {
    /// 8-bit sRGB, interleaved R, G, B.
    pub const RGB8: Self = Self(1);
    /// 8-bit sRGB with alpha, interleaved. Alpha is ignored by every metric but
    /// SSIMULACRA2, which composites over a dark and a light background and keeps the worse
    /// score, as libjxl's tool does.
    pub const RGBA8: Self = Self(2);
    /// 16-bit sRGB-encoded, interleaved, full range 0..=65535.
    pub const RGB16: Self = Self(3);
    /// Linear-light RGB as `f32`, interleaved, nominal range 0..=1.
    pub const RGB_F32_LINEAR: Self = Self(4);
    /// 8-bit grey.
    pub const GRAY8: Self = Self(5);
    /// 16-bit grey, full range 0..=65535.
    pub const GRAY16: Self = Self(6);

    /// A planar YUV format; `bits` is 8 to 16.
    pub const fn yuv(subsampling: ChromaSubsampling, bits: u32) -> Self {
        Self(YUV_TAG | (subsampling.code() << 8) | bits)
    }

    /// Every non-YUV format this build knows.
    pub const PACKED: &'static [Self] = &[
        Self::RGB8,
        Self::RGBA8,
        Self::RGB16,
        Self::RGB_F32_LINEAR,
        Self::GRAY8,
        Self::GRAY16,
    ];

    /// Every YUV format this build knows: 4:2:0, 4:2:2 and 4:4:4 at 8, 10, 12 and 16 bits.
    pub fn all_yuv() -> impl Iterator<Item = Self> {
        [
            ChromaSubsampling::Yuv420,
            ChromaSubsampling::Yuv422,
            ChromaSubsampling::Yuv444,
        ]
        .into_iter()
        .flat_map(|s| [8, 10, 12, 16].into_iter().map(move |b| Self::yuv(s, b)))
    }

    /// Subsampling and bit depth when this is a YUV format this build knows.
    pub fn as_yuv(self) -> Option<(ChromaSubsampling, u32)> {
        if self.0 & !0xfff != YUV_TAG {
            return None;
        }
        let bits = self.0 & 0xff;
        if !(8..=16).contains(&bits) {
            return None;
        }
        let subsampling = match (self.0 >> 8) & 0xf {
            0 => ChromaSubsampling::Yuv420,
            1 => ChromaSubsampling::Yuv422,
            2 => ChromaSubsampling::Yuv444,
            _ => return None,
        };
        Some((subsampling, bits))
    }

    /// The name used on command lines and in manifests (ffmpeg's `pix_fmt` names for YUV).
    pub fn name(self) -> Option<String> {
        let fixed = match self {
            Self::RGB8 => "rgb8",
            Self::RGBA8 => "rgba8",
            Self::RGB16 => "rgb16",
            Self::RGB_F32_LINEAR => "rgbf32-linear",
            Self::GRAY8 => "gray8",
            Self::GRAY16 => "gray16",
            other => {
                let (subsampling, bits) = other.as_yuv()?;
                let depth = if bits == 8 {
                    String::new()
                } else {
                    format!("{bits}le")
                };
                return Some(format!("yuv{}p{depth}", subsampling.tag()));
            }
        };
        Some(fixed.to_owned())
    }

    /// Parses a name printed by [`Self::name`].
    pub fn from_name(text: &str) -> Option<Self> {
        if let Some(known) = Self::PACKED
            .iter()
            .find(|f| f.name().as_deref() == Some(text))
        {
            return Some(*known);
        }
        let rest = text.strip_prefix("yuv")?;
        let subsampling = [
            ChromaSubsampling::Yuv420,
            ChromaSubsampling::Yuv422,
            ChromaSubsampling::Yuv444,
        ]
        .into_iter()
        .find(|s| rest.starts_with(s.tag()))?;
        let rest = rest[3..].strip_prefix('p')?;
        let bits = if rest.is_empty() {
            8
        } else {
            rest.strip_suffix("le")?.parse().ok()?
        };
        let format = Self::yuv(subsampling, bits);
        format.as_yuv().map(|_| format)
    }
}

impl std::fmt::Display for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.name() {
            Some(name) => f.write_str(&name),
            None => write!(f, "unknown({:#x})", self.0),
        }
    }
}

impl std::fmt::Debug for PixelFormat {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Display::fmt(self, f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pixel_format_names_round_trip() {
        for format in PixelFormat::PACKED
            .iter()
            .copied()
            .chain(PixelFormat::all_yuv())
        {
            let name = format.name().expect("known format has a name");
            assert_eq!(PixelFormat::from_name(&name), Some(format), "{name}");
        }
        assert_eq!(
            PixelFormat::from_name("yuv420p10le"),
            Some(PixelFormat::yuv(ChromaSubsampling::Yuv420, 10))
        );
        assert_eq!(PixelFormat::from_name("yuv420p17le"), None);
        assert_eq!(PixelFormat::from_name("yuv411p"), None);
        assert_eq!(PixelFormat(0xdead).to_string(), "unknown(0xdead)");
    }

    #[test]
    fn open_sets_show_unknown_values() {
        assert_eq!(
            MemoryMode::from_name("strip-pair"),
            Some(MemoryMode::STRIP_PAIR)
        );
        assert_eq!(MemoryMode(77).to_string(), "unknown(77)");
        assert_eq!(ErrorKind::KNOWN.len(), 5);
    }
}
