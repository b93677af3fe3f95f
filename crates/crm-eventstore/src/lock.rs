//! One store per data directory: an exclusive `flock` on `<data_dir>/LOCK`, taken before
//! anything in the directory is deleted, rebuilt or written and held for the store's life. The
//! holder's process id is written into the file, so that a refused open can name it.
//!
//! A lock belongs to an open file description, not to a process: two opens in one process
//! conflict as two processes do. The kernel releases it when the holder exits in any way, so a
//! `LOCK` file left by a killed process blocks nothing.

use std::fs::{File, OpenOptions};
use std::path::Path;

use crate::error::{Result, StoreError};

/// The lock file's name in the data directory.
pub(crate) const LOCK_FILE: &str = "LOCK";

/// How long an open waits for a lock held by its own process: a store being dropped on
/// another thread (its last clone in a finishing task) releases it moments later, as sled's
/// own lock is waited for (see `index`). A lock held by another process is reported at once.
#[cfg(target_os = "linux")]
const OWN_PROCESS_WAIT: std::time::Duration = std::time::Duration::from_secs(3);

/// The held lock; dropping it (closing the file) releases it.
#[derive(Debug)]
pub(crate) struct DataDirLock {
    _file: File,
}

impl DataDirLock {
    /// Locks `data_dir` (created if missing) or says who holds it.
    pub(crate) fn acquire(data_dir: &Path) -> Result<DataDirLock> {
        crate::dir::create_dir_durable(data_dir).map_err(StoreError::io(format!(
            "creating the data directory {}",
            data_dir.display()
        )))?;
        let path = data_dir.join(LOCK_FILE);
        let file = OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(&path)
            .map_err(StoreError::io(format!("opening {}", path.display())))?;
        lock_exclusive(&file, &path)?;
        write_pid(&file).map_err(StoreError::io(format!("writing {}", path.display())))?;
        Ok(DataDirLock { _file: file })
    }
}

#[cfg(target_os = "linux")]
fn lock_exclusive(file: &File, path: &Path) -> Result<()> {
    use rustix::fs::{flock, FlockOperation};
    use rustix::io::Errno;

    let started = std::time::Instant::now();
    loop {
        match flock(file, FlockOperation::NonBlockingLockExclusive) {
            Ok(()) => return Ok(()),
            Err(Errno::INTR) => {}
            Err(Errno::WOULDBLOCK) => {
                let holder_pid = read_pid(path);
                if holder_pid == Some(std::process::id()) && started.elapsed() < OWN_PROCESS_WAIT {
                    std::thread::sleep(std::time::Duration::from_millis(10));
                    continue;
                }
                return Err(StoreError::DataDirLocked {
                    path: path.to_path_buf(),
                    holder_pid,
                });
            }
            Err(e) => {
                return Err(StoreError::Io {
                    context: format!("locking {}", path.display()),
                    source: e.into(),
                })
            }
        }
    }
}

/// Elsewhere only sled's lock on the index guards the directory.
#[cfg(not(target_os = "linux"))]
fn lock_exclusive(_file: &File, path: &Path) -> Result<()> {
    tracing::warn!(path = %path.display(), "data directory locks are implemented on Linux only");
    Ok(())
}

fn write_pid(file: &File) -> std::io::Result<()> {
    use std::os::unix::fs::FileExt;
    file.set_len(0)?;
    file.write_all_at(format!("{}\n", std::process::id()).as_bytes(), 0)
}

/// The holder's pid as its file says, if it says one (it may not have written it yet).
#[cfg(target_os = "linux")]
fn read_pid(path: &Path) -> Option<u32> {
    std::fs::read_to_string(path).ok()?.trim().parse().ok()
}

/// For messages: `process 1234`, or what is known without a pid.
pub(crate) fn holder_text(holder_pid: &Option<u32>) -> String {
    match holder_pid {
        Some(pid) => format!("process {pid}"),
        None => "another store (its process id is not known)".into(),
    }
}
