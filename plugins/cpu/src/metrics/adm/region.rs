//! The part of a band that ADM scores, and the mirrored indexing used at band edges.

/// The scored part of a `width × height` band: a border of about 10% of each side is left out.
///
/// libvmaf computes each border as `(int)(side * 0.1 - 0.5)` (truncation toward zero, so a side
/// under 15 keeps no border); the scored rows are `top..bottom` and columns `left..right`, with
/// `bottom = height - top` and `right = width - left`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    pub top: usize,
    pub bottom: usize,
    pub left: usize,
    pub right: usize,
}

/// The border libvmaf leaves out of a band side of `side` samples.
fn border(side: usize) -> usize {
    // Same double arithmetic as libvmaf, then truncation toward zero; a negative value (sides
    // under 5) truncates to 0 as well.
    (side as f64 * 0.1 - 0.5) as usize
}

impl Region {
    /// The scored region of a `width × height` band.
    pub fn interior(width: usize, height: usize) -> Self {
        let (left, top) = (border(width), border(height));
        Self {
            top,
            bottom: height - top,
            left,
            right: width - left,
        }
    }

    /// Number of scored samples.
    pub(super) fn area(&self) -> usize {
        (self.bottom - self.top) * (self.right - self.left)
    }

    /// The constant libvmaf adds to every cube-root sum: `∛(area / 32)`, in single precision.
    pub(super) fn area_term(&self) -> f32 {
        (self.area() as f32 / 32.0).powf(1.0 / 3.0)
    }

    /// The region grown by one sample on each side, clipped to the band: what the 3×3 masking
    /// neighbourhood of every scored sample touches.
    pub fn widened(&self, width: usize, height: usize) -> Self {
        Self {
            top: self.top.saturating_sub(1),
            bottom: (self.bottom + 1).min(height),
            left: self.left.saturating_sub(1),
            right: (self.right + 1).min(width),
        }
    }
}

/// Index `i` of a line of `n` samples, mirrored the way libvmaf mirrors ADM's filters: before
/// the start the edge sample is not repeated (`-1` reads `1`), past the end it is (`n` reads
/// `n - 1`, `n + 1` reads `n - 2`). Only one sample beyond each end is ever asked for by the
/// masking, two by the wavelet.
#[inline(always)]
pub(super) fn mirror(i: isize, n: usize) -> usize {
    let n = n as isize;
    let m = if i < 0 {
        -i
    } else if i >= n {
        2 * n - 1 - i
    } else {
        i
    };
    m as usize
}

/// `⌈log2 n⌉` for `n ≥ 1`, as an integer (libvmaf takes `ceil(log2(n))` in double precision,
/// which is the same for every `n` below 2^40).
pub(super) fn ceil_log2(n: usize) -> u32 {
    if n <= 1 {
        0
    } else {
        usize::BITS - (n - 1).leading_zeros()
    }
}
