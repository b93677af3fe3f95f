//! Directories whose creation survives a power loss.
//!
//! A new directory's name lives in its parent directory, and, like a new file's, is durable
//! only once that parent is fsynced: without it a crash can lose `log/` (and the synced
//! segments in it) or `index/` although every file in them was synced.

use std::fs::File;
use std::io;
use std::path::Path;

/// Creates `dir` and any missing parents, then fsyncs the directory holding each one created,
/// from the top down. Nothing is synced when `dir` already exists.
pub fn create_dir_durable(dir: &Path) -> io::Result<()> {
    // The missing directories, deepest first.
    let mut missing = Vec::new();
    let mut at = Some(dir);
    while let Some(path) = at.filter(|p| !p.as_os_str().is_empty()) {
        match std::fs::metadata(path) {
            Ok(_) => break,
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                missing.push(path);
                at = path.parent();
            }
            Err(e) => return Err(e),
        }
    }
    if missing.is_empty() {
        return Ok(());
    }
    std::fs::create_dir_all(dir)?;
    for created in missing.iter().rev() {
        let parent = created
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        File::open(parent)?.sync_all()?;
    }
    Ok(())
}

/// Makes `dir`'s entries durable: a file created, renamed or removed in it survives a power
/// loss only once the directory itself is fsynced.
pub fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)] // a test that cannot unwrap has failed
    use super::*;

    // Whether the parent's fsync made the name durable cannot be observed without a power
    // cut; this checks only that the directories are made, and that an existing one is fine.
    #[test]
    fn missing_parents_are_created_and_an_existing_directory_is_left_alone() {
        let root = tempfile::tempdir().unwrap();
        let deep = root.path().join("a/b/c");
        create_dir_durable(&deep).unwrap();
        assert!(deep.is_dir());
        create_dir_durable(&deep).unwrap();
        let file = root.path().join("a/file");
        std::fs::write(&file, b"x").unwrap();
        assert!(create_dir_durable(&file.join("below")).is_err());
    }
}
