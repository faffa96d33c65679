//! Finding the file this library was loaded from, so that each copy of it can read
//! the configuration file beside it.
//!
//! On Linux the mapping of `/proc/self/maps` that contains the address of one of
//! this library's own statics names the file. Elsewhere there is no such lookup and
//! the configuration comes from the environment only.

use std::path::{Path, PathBuf};

/// A static of this library: its address lies in this library's mapping.
#[cfg(target_os = "linux")]
static ANCHOR: u8 = 0;

/// The file this code was loaded from (for unit tests: the test executable).
pub(crate) fn own_library() -> Option<PathBuf> {
    #[cfg(target_os = "linux")]
    {
        let address = std::ptr::addr_of!(ANCHOR).addr();
        let maps = std::fs::read_to_string("/proc/self/maps").ok()?;
        mapping_containing(&maps, address)
    }
    #[cfg(not(target_os = "linux"))]
    {
        None
    }
}

/// `<library file stem>.json` beside `library`.
pub(crate) fn config_file_for(library: &Path) -> PathBuf {
    library.with_extension("json")
}

/// The file of the `/proc/<pid>/maps` mapping that contains `address`.
///
/// A line reads `start-end perms offset dev inode path`, the addresses in hex; the
/// path may contain spaces and ends in ` (deleted)` when the file was removed.
#[cfg_attr(not(target_os = "linux"), allow(dead_code))]
pub(crate) fn mapping_containing(maps: &str, address: usize) -> Option<PathBuf> {
    maps.lines().find_map(|line| {
        let (start, end, path) = parse_line(line)?;
        (start <= address && address < end && path.starts_with('/'))
            .then(|| PathBuf::from(path.strip_suffix(" (deleted)").unwrap_or(path)))
    })
}

fn parse_line(line: &str) -> Option<(usize, usize, &str)> {
    let mut rest = line;
    let mut fields = [""; 5];
    for field in &mut fields {
        rest = rest.trim_start();
        let end = rest.find(char::is_whitespace).unwrap_or(rest.len());
        *field = &rest[..end];
        rest = &rest[end..];
    }
    let (start, end) = fields[0].split_once('-')?;
    Some((
        usize::from_str_radix(start, 16).ok()?,
        usize::from_str_radix(end, 16).ok()?,
        rest.trim(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAPS: &str = "\
55d0c0000000-55d0c0001000 r--p 00000000 08:01 123 /usr/bin/host
7f0000000000-7f0000010000 r--p 00000000 08:01 456 /tmp/a dir/libqscore_sim_a.so
7f0000010000-7f0000020000 r-xp 00010000 08:01 456 /tmp/a dir/libqscore_sim_a.so
7f0000020000-7f0000021000 rw-p 00000000 00:00 0
7f0000030000-7f0000031000 r--p 00000000 08:01 789 /tmp/b/libqscore_sim.so (deleted)
7ffc00000000-7ffc00021000 rw-p 00000000 00:00 0                          [stack]
";

    #[test]
    fn finds_the_mapping_holding_an_address() {
        assert_eq!(
            mapping_containing(MAPS, 0x7f00_0001_2345),
            Some(PathBuf::from("/tmp/a dir/libqscore_sim_a.so"))
        );
        assert_eq!(
            mapping_containing(MAPS, 0x7f00_0003_0000),
            Some(PathBuf::from("/tmp/b/libqscore_sim.so"))
        );
        // End addresses are exclusive; anonymous and special mappings name no file.
        assert_eq!(mapping_containing(MAPS, 0x55d0_c000_1000), None);
        assert_eq!(mapping_containing(MAPS, 0x7f00_0002_0000), None);
        assert_eq!(mapping_containing(MAPS, 0x7ffc_0000_0000), None);
    }

    #[test]
    fn config_file_is_named_after_the_library_stem() {
        assert_eq!(
            config_file_for(Path::new("/x/libqscore_sim_a.so")),
            PathBuf::from("/x/libqscore_sim_a.json")
        );
    }

    #[cfg(target_os = "linux")]
    #[test]
    fn finds_its_own_file() {
        // In a unit test this code lives in the test executable.
        let own = own_library().expect("own mapping");
        let exe = std::env::current_exe().unwrap();
        assert_eq!(own.canonicalize().unwrap(), exe.canonicalize().unwrap());
    }
}
