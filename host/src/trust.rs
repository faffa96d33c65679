//! Which plugin files qscore is willing to load.
//!
//! A plugin runs as the user with all the user's rights, so a file that someone else could
//! have written is refused, as ssh refuses such a key file: the file and every folder on
//! its path must be owned by root or by the user running qscore, and writable by no other
//! user and by no group but the user's own primary group (with a umask of 002, as many
//! systems give users, every file is writable by that group, which is the user's alone). A
//! root-owned folder with the sticky bit (`/tmp`) is allowed on the path, since nobody else
//! can replace what it holds for the user. `--allow-insecure-plugins`
//! or `QSCORE_ALLOW_INSECURE_PLUGINS=1` turns the check off, for development.

use std::{
    os::unix::fs::MetadataExt,
    path::{Path, PathBuf},
};

/// Environment variable that turns the check off when set to `1`.
pub const ALLOW_INSECURE_VAR: &str = "QSCORE_ALLOW_INSECURE_PLUGINS";

/// The sticky bit.
const STICKY: u32 = 0o1000;

/// Whether the environment turns the check off.
pub(crate) fn allowed_by_environment() -> bool {
    std::env::var_os(ALLOW_INSECURE_VAR).is_some_and(|v| v == "1")
}

/// Why `path` may not be loaded, if it may not: the first file or folder on its path that
/// another user could have written, and how.
pub fn check(path: &Path) -> Result<(), String> {
    // SAFETY: geteuid and getegid have no preconditions.
    let user = unsafe { (libc::geteuid(), libc::getegid()) };
    let path = path
        .canonicalize()
        .map_err(|e| format!("cannot resolve its path: {e}"))?;
    let meta = path
        .metadata()
        .map_err(|e| format!("cannot read its permissions: {e}"))?;
    if let Some(problem) = problem(&meta, user, false) {
        return Err(format!("the plugin file {problem}"));
    }
    let mut dir: Option<PathBuf> = path.parent().map(Path::to_path_buf);
    while let Some(folder) = dir {
        let meta = folder
            .metadata()
            .map_err(|e| format!("cannot read the permissions of {}: {e}", folder.display()))?;
        if let Some(problem) = problem(&meta, user, true) {
            return Err(format!("its folder {} {problem}", folder.display()));
        }
        dir = folder.parent().map(Path::to_path_buf);
    }
    Ok(())
}

/// What is wrong with a file's or folder's owner or mode for `(uid, gid)`, if anything.
fn problem(meta: &std::fs::Metadata, (user, group): (u32, u32), folder: bool) -> Option<String> {
    let (owner, mode) = (meta.uid(), meta.mode());
    if owner != 0 && owner != user {
        return Some(format!(
            "is owned by user {owner}, neither root nor the user running qscore ({user})"
        ));
    }
    let shared_tmp = folder && owner == 0 && mode & STICKY != 0;
    let own_group = meta.gid() == group && owner == user;
    let by_group = mode & 0o020 != 0 && !own_group;
    let by_all = mode & 0o002 != 0;
    if (by_group || by_all) && !shared_tmp {
        let who = match (by_group, by_all) {
            (true, true) => format!("its group ({}) and all users", meta.gid()),
            (true, false) => format!("its group ({})", meta.gid()),
            _ => "all users".to_owned(),
        };
        return Some(format!("is writable by {who} (mode {:o})", mode & 0o7777));
    }
    None
}

#[cfg(test)]
mod tests {
    use std::os::unix::fs::PermissionsExt;

    use super::*;

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("qscore-trust-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o755)).unwrap();
        dir
    }

    fn mode(path: &Path, mode: u32) {
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
    }

    #[test]
    fn a_private_file_in_private_folders_is_trusted() {
        let dir = scratch("private");
        let file = dir.join("libqscore_plugin_x.so");
        std::fs::write(&file, b"").unwrap();
        mode(&file, 0o644);
        if let Err(why) = check(&dir) {
            // The temporary folder itself is shared: nothing under it can be trusted.
            eprintln!("skipped: the temporary folder is not private: {why}");
            return;
        }
        assert_eq!(check(&file), Ok(()));
    }

    #[test]
    fn writable_files_and_folders_are_named() {
        let dir = scratch("writable");
        if check(&dir).is_err() {
            return;
        }
        let file = dir.join("libqscore_plugin_x.so");
        std::fs::write(&file, b"").unwrap();
        mode(&file, 0o666);
        let why = check(&file).unwrap_err();
        assert!(
            why.contains("plugin file is writable by all users (mode 666)"),
            "{why}"
        );
        mode(&file, 0o644);
        mode(&dir, 0o777);
        let why = check(&file).unwrap_err();
        let folder = format!("its folder {} is writable by all users", dir.display());
        assert!(why.contains(&folder), "{why}");
        // Writable by the user's own primary group (a umask of 002): trusted.
        mode(&dir, 0o775);
        mode(&file, 0o664);
        assert_eq!(check(&file), Ok(()));
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } == 0 {
            // Only root can hand a folder to another group.
            std::os::unix::fs::chown(&dir, None, Some(65534)).unwrap();
            let why = check(&file).unwrap_err();
            assert!(
                why.contains("is writable by its group (65534) (mode 775)"),
                "{why}"
            );
        }
        mode(&dir, 0o755);
    }

    #[test]
    fn a_file_of_another_user_is_named() {
        // SAFETY: geteuid has no preconditions.
        if unsafe { libc::geteuid() } != 0 {
            return; // only root can give a file away
        }
        let dir = scratch("owner");
        let file = dir.join("libqscore_plugin_x.so");
        std::fs::write(&file, b"").unwrap();
        std::os::unix::fs::chown(&file, Some(65534), None).unwrap();
        let why = check(&file).unwrap_err();
        assert!(
            why.contains("is owned by user 65534, neither root nor"),
            "{why}"
        );
    }

    #[test]
    fn a_root_owned_sticky_folder_may_be_on_the_path() {
        let tmp = std::env::temp_dir();
        let info = tmp.metadata().unwrap();
        if info.uid() == 0 && info.mode() & STICKY != 0 {
            assert_eq!(problem(&info, (12345, 12345), true), None);
            assert!(
                problem(&info, (12345, 12345), false).is_some(),
                "a file is not a folder"
            );
        }
    }
}
