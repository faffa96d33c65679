//! References shared by many comparisons, recognised by content.

use std::sync::{
    Arc,
    atomic::{AtomicU64, Ordering},
};

use qscore_core::OwnedImage;
use xxhash_rust::xxh3::Xxh3;

/// A decoded reference and the key that identifies its content.
#[derive(Debug, Clone)]
pub struct Reference {
    /// The image.
    pub image: Arc<OwnedImage>,
    /// xxh3-64 over format, size and every plane's bytes.
    pub key: u64,
}

impl Reference {
    /// Hashes `image` once; tasks that carry the returned handle skip hashing.
    pub fn new(image: Arc<OwnedImage>) -> Self {
        let mut hasher = Xxh3::new();
        hasher.update(&image.format.0.to_le_bytes());
        hasher.update(&image.width.to_le_bytes());
        hasher.update(&image.height.to_le_bytes());
        for plane in &image.planes {
            hasher.update(&(plane.len() as u64).to_le_bytes());
            hasher.update(plane);
        }
        Self {
            key: hasher.digest(),
            image,
        }
    }
}

/// Hits and misses of prepared references.
#[derive(Debug, Default)]
pub struct ReferenceStats {
    hits: AtomicU64,
    misses: AtomicU64,
}

impl ReferenceStats {
    /// Counts a reference found already prepared.
    pub fn hit(&self) {
        self.hits.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts a reference that had to be prepared.
    pub fn miss(&self) {
        self.misses.fetch_add(1, Ordering::Relaxed);
    }

    /// `(hits, misses)` so far.
    pub fn counts(&self) -> (u64, u64) {
        (
            self.hits.load(Ordering::Relaxed),
            self.misses.load(Ordering::Relaxed),
        )
    }
}
