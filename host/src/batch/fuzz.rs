//! Property tests (bounded in CI; `PROPTEST_CASES=N` for a long run): manifests in CSV and
//! JSONL, and journals with torn last lines, of arbitrary bytes never make the batch
//! panic; a journal reopened after a crash keeps its whole lines only.

use std::path::PathBuf;

use proptest::prelude::*;

use super::{
    journal::{LineFile, read_lines},
    manifest::Manifest,
    record::{journal_position, ledger_key, parse_journal_line},
};

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("qscore-fuzz-{}-{name}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Bytes that look like a manifest: its usual pieces in any order, and arbitrary bytes.
fn manifest_bytes() -> impl Strategy<Value = Vec<u8>> {
    let piece = prop_oneof![
        Just(b"reference,distorted\n".to_vec()),
        Just(b"a.png,b.png\n".to_vec()),
        Just(b"\"a,\"\"b\".png\",c.png,extra\n".to_vec()),
        Just(b"\xef\xbb\xbf".to_vec()),
        Just(b"{\"reference\": \"a.png\", \"distorted\": \"b.png\", \"width\": 4}\n".to_vec()),
        Just(b"{\"reference\": 7, \"metric\": [\"psnr\", {}]}\n".to_vec()),
        Just(b"\r\n".to_vec()),
        prop::collection::vec(any::<u8>(), 0..40),
    ];
    prop::collection::vec(piece, 0..12).prop_map(|pieces| pieces.concat())
}

proptest! {
    #[test]
    fn manifests_of_any_bytes_are_read_or_refused(bytes in manifest_bytes(), jsonl in any::<bool>()) {
        let dir = scratch("manifest");
        let path = dir.join(if jsonl { "m.jsonl" } else { "m.csv" });
        std::fs::write(&path, &bytes).unwrap();
        if let Ok(manifest) = Manifest::new(&path)
            && let Ok(rows) = manifest.rows()
        {
            for row in rows.take(1000) {
                let _ = row;
            }
        }
    }

    #[test]
    fn a_journal_reopened_after_a_crash_keeps_whole_lines(
        lines in prop::collection::vec(prop::collection::vec(any::<u8>(), 0..60), 0..8),
        torn in prop::collection::vec(any::<u8>(), 0..60),
    ) {
        let dir = scratch("journal");
        let path = dir.join("out.csv.journal.jsonl");
        let mut bytes = Vec::new();
        for line in &lines {
            bytes.extend(line.iter().filter(|&&b| b != b'\n'));
            bytes.push(b'\n');
        }
        let whole = bytes.len();
        bytes.extend(torn.iter().filter(|&&b| b != b'\n'));
        std::fs::write(&path, &bytes).unwrap();
        let mut file = LineFile::open(&path).unwrap();
        file.push("{\"after\": 1}");
        file.sync().unwrap();
        let text = std::fs::read(&path).unwrap();
        prop_assert_eq!(&text[..whole], &bytes[..whole]);
        prop_assert_eq!(&text[whole..], b"{\"after\": 1}\n");
        for line in read_lines(&path).unwrap().into_iter().flatten() {
            let line = line.unwrap();
            let _ = (parse_journal_line(&line), journal_position(&line), ledger_key(&line));
        }
    }
}
