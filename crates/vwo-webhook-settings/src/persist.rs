//! The on-disk copy, so a restart during a VWO outage still starts with the last good
//! settings. Written atomically: a crash mid-write leaves the previous copy, never half a file.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};
use std::time::SystemTime;

use bytes::Bytes;

use crate::snapshot::{DocumentError, Snapshot, Source};
use crate::validate::Check;

/// Why the on-disk copy could not be used or written.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CacheError {
    /// The file exists but could not be read.
    #[error("could not read the settings cache {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
    /// The file was read but holds no valid settings (corrupt, truncated, edited).
    #[error("the settings cache {path} holds no valid settings: {source}")]
    Document {
        /// The file.
        path: PathBuf,
        /// What is wrong with it.
        source: DocumentError,
    },
    /// Writing the copy failed; the previous copy, if any, is untouched.
    #[error("could not write the settings cache {path}: {source}")]
    Write {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        source: io::Error,
    },
}

/// Loads the copy at `path`: `Ok(None)` if there is none yet.
pub fn load(path: &Path) -> Result<Option<Snapshot>, CacheError> {
    let raw = match fs::read(path) {
        Ok(raw) => raw,
        Err(error) if error.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(source) => {
            return Err(CacheError::Read {
                path: path.to_owned(),
                source,
            });
        }
    };
    let written = fs::metadata(path)
        .and_then(|meta| meta.modified())
        .unwrap_or_else(|_| SystemTime::now());
    Snapshot::parse(Bytes::from(raw), Check::Fetch, Source::Cache, None, written)
        .map(Some)
        .map_err(|source| CacheError::Document {
            path: path.to_owned(),
            source,
        })
}

/// Writes `bytes` to `path` atomically: a temporary file in the same directory, flushed to
/// disk, renamed over `path`, then the directory entry flushed too.
pub fn write_atomic(path: &Path, bytes: &[u8]) -> Result<(), CacheError> {
    let failed = |source| CacheError::Write {
        path: path.to_owned(),
        source,
    };
    let name = path.file_name().ok_or_else(|| {
        failed(io::Error::new(
            io::ErrorKind::InvalidInput,
            "the path names no file",
        ))
    })?;
    let temporary = path.with_file_name(format!(
        ".{}.{}-{}.tmp",
        name.to_string_lossy(),
        std::process::id(),
        fastrand::u32(..)
    ));
    let written = (|| {
        let mut file = File::create(&temporary)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        fs::rename(&temporary, path)
    })();
    if let Err(error) = written {
        let _ = fs::remove_file(&temporary);
        return Err(failed(error));
    }
    sync_parent(path).map_err(failed)
}

#[cfg(unix)]
fn sync_parent(path: &Path) -> io::Result<()> {
    match path.parent().filter(|p| !p.as_os_str().is_empty()) {
        Some(parent) => File::open(parent)?.sync_all(),
        None => File::open(".")?.sync_all(),
    }
}

#[cfg(not(unix))]
fn sync_parent(_path: &Path) -> io::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const VALID: &str = include_str!("../testdata/OnlyRolloutSettings.json");

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!(
            "vwo-webhook-settings-{}-{}",
            std::process::id(),
            fastrand::u64(..)
        ));
        fs::create_dir_all(&dir).expect("scratch dir");
        dir.join(name)
    }

    #[test]
    fn a_written_copy_loads_back_byte_for_byte() {
        let path = scratch("settings.json");
        assert!(load(&path).expect("no copy yet").is_none());
        write_atomic(&path, VALID.as_bytes()).expect("write");
        let snapshot = load(&path).expect("load").expect("a copy");
        assert_eq!(snapshot.raw().as_ref(), VALID.as_bytes());
        assert_eq!(snapshot.source(), Source::Cache);
        // Replacing leaves no temporary files behind.
        write_atomic(&path, VALID.as_bytes()).expect("rewrite");
        let parent = path.parent().expect("parent");
        let names: Vec<_> = fs::read_dir(parent)
            .expect("list")
            .map(|e| e.expect("entry").file_name())
            .collect();
        assert_eq!(names, vec![std::ffi::OsString::from("settings.json")]);
    }

    #[test]
    fn corrupt_or_invalid_copies_are_reported_not_loaded() {
        let path = scratch("settings.json");
        fs::write(&path, &VALID.as_bytes()[..VALID.len() / 2]).expect("truncated copy");
        let error = load(&path).expect_err("truncated");
        assert!(error.to_string().contains("holds no valid settings"), "{error}");
        fs::write(&path, br#"{"version":1}"#).expect("invalid copy");
        let error = load(&path).expect_err("invalid");
        assert!(error.to_string().contains("accountId"), "{error}");
    }

    #[test]
    fn an_unreadable_copy_is_an_error_and_an_unwritable_one_keeps_the_old() {
        let dir = scratch("unused");
        let as_directory = dir.parent().expect("parent").to_owned();
        assert!(matches!(load(&as_directory), Err(CacheError::Read { .. })));
        let path = scratch("settings.json");
        write_atomic(&path, VALID.as_bytes()).expect("write");
        let missing_dir = path.with_file_name("no-such-dir").join("settings.json");
        assert!(matches!(
            write_atomic(&missing_dir, b"{}"),
            Err(CacheError::Write { .. })
        ));
        assert_eq!(fs::read(&path).expect("old copy"), VALID.as_bytes());
    }
}
