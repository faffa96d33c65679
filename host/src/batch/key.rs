//! Row keys: what identifies a manifest row across runs.
//!
//! The key is xxh3-64 over the row's columns sorted by name (so neither row order nor
//! column order matters), the metrics it is scored with (so asking for other metrics
//! scores the rows again) and a digest of the metric parameters, model files included (none
//! adds nothing, so runs without parameters keep the keys they always had). Paths are hashed as written in the manifest, so a corpus
//! moved together with its manifest keeps its keys. Two identical manifest rows have the
//! same key and are scored once.

use xxhash_rust::xxh3::Xxh3;

/// The key of a row with `columns`, scored with `metrics` and parameters of digest `params`
/// (0: none).
pub(crate) fn row_key(columns: &[(String, String)], metrics: &[String], params: u64) -> u64 {
    let mut sorted: Vec<&(String, String)> =
        columns.iter().filter(|(_, v)| !v.is_empty()).collect();
    sorted.sort();
    let mut hasher = Xxh3::new();
    for (name, value) in sorted {
        hash_field(&mut hasher, name);
        hash_field(&mut hasher, value);
    }
    hasher.update(b"\xffmetrics");
    for metric in metrics {
        hash_field(&mut hasher, metric);
    }
    if params != 0 {
        hasher.update(b"\xffparams");
        hasher.update(&params.to_le_bytes());
    }
    hasher.digest()
}

/// Length-prefixed, so that no two different rows hash the same bytes.
fn hash_field(hasher: &mut Xxh3, text: &str) {
    hasher.update(&(text.len() as u64).to_le_bytes());
    hasher.update(text.as_bytes());
}

/// `--shard I/N`: the rows whose key is `I` modulo `N`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    /// This shard, `0..count`.
    pub index: u64,
    /// How many shards.
    pub count: u64,
}

impl Shard {
    /// Parses `I/N`.
    pub fn parse(text: &str) -> Result<Self, String> {
        let (i, n) = text
            .split_once('/')
            .ok_or_else(|| format!("{text:?} is not I/N (e.g. 0/4)"))?;
        let index: u64 = i
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {i:?} is not a number"))?;
        let count: u64 = n
            .trim()
            .parse()
            .map_err(|_| format!("{text:?}: {n:?} is not a number"))?;
        if count == 0 || index >= count {
            return Err(format!("{text:?}: need 0 <= I < N"));
        }
        Ok(Self { index, count })
    }

    /// Whether the row with `key` belongs to this shard.
    pub fn contains(&self, key: u64) -> bool {
        key % self.count == self.index
    }
}

#[cfg(test)]
mod tests {
    use super::{Shard, row_key};

    fn cols(pairs: &[(&str, &str)]) -> Vec<(String, String)> {
        pairs
            .iter()
            .map(|(a, b)| ((*a).to_owned(), (*b).to_owned()))
            .collect()
    }

    #[test]
    fn key_ignores_column_order_but_not_content_or_metrics() {
        let m = vec!["psnr".to_owned()];
        let a = row_key(
            &cols(&[("reference", "r.png"), ("distorted", "d.png")]),
            &m,
            0,
        );
        let b = row_key(
            &cols(&[("distorted", "d.png"), ("reference", "r.png")]),
            &m,
            0,
        );
        assert_eq!(a, b);
        let c = row_key(
            &cols(&[("reference", "r.png"), ("distorted", "e.png")]),
            &m,
            0,
        );
        assert_ne!(a, c);
        let d = row_key(
            &cols(&[("reference", "r.png"), ("distorted", "d.png")]),
            &["ssim".to_owned()],
            0,
        );
        assert_ne!(a, d);
        // Parameters change the key; none keeps the key it always had.
        let g = row_key(
            &cols(&[("reference", "r.png"), ("distorted", "d.png")]),
            &m,
            7,
        );
        assert_ne!(a, g);
        // Field boundaries matter: ("ab","c") is not ("a","bc").
        let e = row_key(&cols(&[("x", "ab"), ("y", "c")]), &m, 0);
        let f = row_key(&cols(&[("x", "a"), ("y", "bc")]), &m, 0);
        assert_ne!(e, f);
    }

    #[test]
    fn shards_partition_keys() {
        let shards: Vec<Shard> = (0..3)
            .map(|i| Shard::parse(&format!("{i}/3")).unwrap())
            .collect();
        for key in 0..300u64 {
            let key = key.wrapping_mul(0x9e37_79b9_7f4a_7c15);
            assert_eq!(shards.iter().filter(|s| s.contains(key)).count(), 1);
        }
        assert!(Shard::parse("3/3").is_err());
        assert!(Shard::parse("1").is_err());
        assert!(Shard::parse("0/0").is_err());
    }
}
