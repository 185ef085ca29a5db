//! Where the harness writes and how: atomic file replacement, shared by every file written
//! in place (checkpoint, JUnit, baselines, recordings), so readers see the old file or the
//! new one, never a torn one; and cargo's target directory, under which runs leave their
//! logs, recordings and JUnit.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// Write `text` to `path` atomically: a complete, synced temp file beside it, renamed over
/// it. Creates the directory.
pub fn write_atomic(path: &Path, text: &str) -> std::io::Result<()> {
    replace(path, text, 0o666)
}

/// [`write_atomic`] for a file only its owner may read (mode 0600 from the moment it
/// exists): tokens and other credentials.
pub fn write_private(path: &Path, text: &str) -> std::io::Result<()> {
    replace(path, text, 0o600)
}

/// Write `text` to a temporary file beside `path` created with `mode`, then rename it over `path`.
fn replace(path: &Path, text: &str, mode: u32) -> std::io::Result<()> {
    use std::os::unix::fs::OpenOptionsExt as _;
    let dir = path.parent().filter(|d| !d.as_os_str().is_empty()).unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
    let tmp = dir.join(format!(".{name}.{}.tmp", uuid::Uuid::new_v4().simple()));
    let written = (|| {
        let mut f = std::fs::OpenOptions::new().write(true).create_new(true).mode(mode).open(&tmp)?;
        f.write_all(text.as_bytes())?;
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    written
}

/// Cargo's target directory, found from the test binary's path (`<target>/<profile>/deps/…`).
pub fn target_dir() -> PathBuf {
    std::env::current_exe()
        .ok()
        .and_then(|exe| {
            exe.ancestors().find(|a| a.file_name().is_some_and(|n| n == "deps")).and_then(|d| d.parent()?.parent()).map(Path::to_path_buf)
        })
        .unwrap_or_else(|| PathBuf::from("target"))
}

/// The name of the test target this process runs (`integrations` for
/// `target/debug/deps/integrations-0123456789abcdef`).
pub(crate) fn test_target() -> Option<String> {
    let stem = std::env::current_exe().ok()?.file_stem()?.to_string_lossy().into_owned();
    Some(match stem.rsplit_once('-') {
        Some((t, hash)) if hash.len() == 16 && hash.chars().all(|c| c.is_ascii_hexdigit()) => t.to_string(),
        _ => stem,
    })
}
