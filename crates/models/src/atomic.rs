//! Files that appear whole or not at all: every file guion writes goes to `<name>.part` first, is
//! flushed to disk, and is renamed over its name, so a crash or kill mid-write leaves the old file
//! (or none), never half of one that a later stage would trust.

use std::fs::File;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// Where `dest` is written before it is committed: `dest` with `.part` appended (`a.csv.part`).
pub fn part_path(dest: &Path) -> PathBuf {
    let mut s = dest.as_os_str().to_owned();
    s.push(".part");
    PathBuf::from(s)
}

/// Moves a finished `part` into place as `dest`: its data is synced first, and the directory entry
/// after, so that after a power cut the file is either the old one or the whole new one.
pub fn commit(part: &Path, dest: &Path) -> io::Result<()> {
    File::open(part)?.sync_all()?;
    std::fs::rename(part, dest)?;
    if let Some(dir) = dest.parent().filter(|d| !d.as_os_str().is_empty())
        && let Ok(d) = File::open(dir)
    {
        // Some filesystems cannot sync a directory; the rename is still atomic there.
        let _ = d.sync_all();
    }
    Ok(())
}

/// Writes `bytes` to `dest` whole or not at all.
pub fn write(dest: &Path, bytes: &[u8]) -> io::Result<()> {
    let part = part_path(dest);
    let written = File::create(&part).and_then(|mut f| f.write_all(bytes));
    match written.and_then(|()| commit(&part, dest)) {
        Ok(()) => Ok(()),
        Err(e) => {
            let _ = std::fs::remove_file(&part);
            Err(e)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_whole_and_leaves_no_part() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("calls.csv");
        write(&dest, b"old").unwrap();
        write(&dest, b"new").unwrap();
        assert_eq!(std::fs::read(&dest).unwrap(), b"new");
        assert!(!part_path(&dest).exists());
        assert_eq!(part_path(&dest), dir.path().join("calls.csv.part"));
    }

    #[test]
    fn a_failed_write_keeps_the_old_file() {
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("missing-dir").join("x.json");
        assert!(write(&dest, b"x").is_err());
        assert!(!dest.exists());
    }
}
