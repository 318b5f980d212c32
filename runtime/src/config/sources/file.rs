//! [`FileSource`]: a configuration file, or a directory of them, watched.
//!
//! - A file: one key/value named by the file's name, its format the extension after the last
//!   `.` (`json`, `yaml`, `yml`, `toml`, any case); another extension is an error.
//! - A directory: every regular file (symbolic links followed) directly inside whose extension
//!   is one of those, sorted by name (later files win on merge), skipping hidden files and
//!   editors' temporaries ([`is_ignored`]). Other files are skipped, so a directory can hold a
//!   README or a mounted ConfigMap's bookkeeping.
//! - Watching: the directory (for a file, the directory holding it, with only events about that
//!   name counting) is watched with notify. After an event the watcher waits until no event
//!   came for the debounce period (150 ms by default; at most ten periods in all) and then
//!   reads the whole source again.
//!   This survives every editor's save: write a temporary and rename it over the file, truncate
//!   and write, delete and recreate (a read while the file is missing or empty is rejected
//!   and the next event reads again). The configuration compares the result with what it
//!   serves, so events that changed nothing (temporaries, our own reads) change nothing.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use notify::event::{AccessKind, AccessMode};
use notify::{Event, EventKind, RecursiveMode, Watcher as _};
use tokio::sync::Notify;

use crate::config::{BoxFuture, ConfigError, KeyValue, Source, Watcher};

/// The formats a file can have.
pub(crate) const FORMATS: [&str; 4] = ["json", "yaml", "yml", "toml"];

/// Whether a directory entry is skipped: hidden files (`.x`, which includes Emacs' lock files
/// `.#x`), backups and temporaries of editors (`x~`, `#x#`, `*.swp`, `*.swo`, `*.swx`, `*.tmp`,
/// `*.temp`, `*.bak`) and vim's write probe `4913`.
pub fn is_ignored(name: &str) -> bool {
    let lower = name.to_ascii_lowercase();
    name.starts_with('.')
        || name.ends_with('~')
        || (name.len() > 1 && name.starts_with('#') && name.ends_with('#'))
        || [".swp", ".swo", ".swx", ".tmp", ".temp", ".bak"]
            .iter()
            .any(|suffix| lower.ends_with(suffix))
        || name == "4913"
}

/// A file or a directory of files.
#[derive(Debug, Clone)]
pub struct FileSource {
    path: PathBuf,
    debounce: Duration,
}

impl FileSource {
    /// The file or directory at `path`.
    pub fn new(path: impl Into<PathBuf>) -> Self {
        FileSource {
            path: path.into(),
            debounce: Duration::from_millis(150),
        }
    }

    /// How long the watcher waits for the file system to be quiet before reading (150 ms).
    pub fn debounce(mut self, debounce: Duration) -> Self {
        self.debounce = debounce;
        self
    }
}

fn io_error(path: &Path, e: &std::io::Error) -> ConfigError {
    ConfigError::Io {
        path: path.display().to_string(),
        reason: e.to_string(),
    }
}

fn format_of(name: &str) -> String {
    name.rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .unwrap_or_default()
}

/// The most a configuration file may hold: larger ones (or endless ones, such as a device
/// file) are an error naming the file, not read whole into memory.
pub const MAX_FILE_BYTES: u64 = 16 * 1024 * 1024;

/// Reads at most [`MAX_FILE_BYTES`] of `path`; more is an `InvalidData` error.
fn read_capped(path: &Path) -> std::io::Result<Vec<u8>> {
    use std::io::Read as _;
    let mut value = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_FILE_BYTES + 1)
        .read_to_end(&mut value)?;
    if value.len() as u64 > MAX_FILE_BYTES {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("larger than the {MAX_FILE_BYTES} bytes a configuration file may hold"),
        ));
    }
    Ok(value)
}

/// Reads the file or directory.
fn read(path: &Path) -> Result<Vec<KeyValue>, ConfigError> {
    let metadata = std::fs::metadata(path).map_err(|e| io_error(path, &e))?;
    if !metadata.is_dir() {
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let format = format_of(&name);
        if !FORMATS.contains(&format.as_str()) {
            return Err(ConfigError::Format {
                source_name: path.display().to_string(),
                format,
            });
        }
        let value = read_capped(path).map_err(|e| io_error(path, &e))?;
        return Ok(vec![KeyValue {
            key: name,
            value,
            format,
        }]);
    }
    let mut kvs = Vec::new();
    for entry in std::fs::read_dir(path).map_err(|e| io_error(path, &e))? {
        let entry = entry.map_err(|e| io_error(path, &e))?;
        let Ok(name) = entry.file_name().into_string() else {
            continue;
        };
        let format = format_of(&name);
        if is_ignored(&name) || !FORMATS.contains(&format.as_str()) {
            continue;
        }
        let file = entry.path();
        // Follows symbolic links (a mounted ConfigMap's files are links); a file that vanished
        // since the listing is skipped, the next event reads again.
        match std::fs::metadata(&file) {
            Ok(m) if m.is_file() => {}
            _ => continue,
        }
        let value = match read_capped(&file) {
            Ok(value) => value,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io_error(&file, &e)),
        };
        kvs.push(KeyValue {
            key: name,
            value,
            format,
        });
    }
    kvs.sort_by(|a, b| a.key.cmp(&b.key));
    Ok(kvs)
}

impl Source for FileSource {
    fn name(&self) -> String {
        format!("file {}", self.path.display())
    }

    fn load(&self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        let path = self.path.clone();
        Box::pin(async move {
            tokio::task::spawn_blocking(move || read(&path))
                .await
                .map_err(|e| ConfigError::Source {
                    source_name: "file".into(),
                    reason: e.to_string(),
                })?
        })
    }

    fn watch(&self) -> BoxFuture<'_, Result<Option<Box<dyn Watcher>>, ConfigError>> {
        Box::pin(async move {
            let is_dir = std::fs::metadata(&self.path).is_ok_and(|m| m.is_dir());
            let (dir, only) = if is_dir {
                (self.path.clone(), None)
            } else {
                let dir = match self.path.parent() {
                    Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
                    _ => PathBuf::from("."),
                };
                (dir, self.path.file_name().map(ToOwned::to_owned))
            };
            let changed = Arc::new(Notify::new());
            let signal = changed.clone();
            let mut watcher =
                notify::recommended_watcher(move |event: notify::Result<Event>| match event {
                    Ok(event) => {
                        if counts(&event.kind)
                            && only.as_ref().is_none_or(|name| {
                                event.paths.iter().any(|p| p.file_name() == Some(name))
                            })
                        {
                            signal.notify_one();
                        }
                    }
                    // A lost event (queue overflow): read again to be sure.
                    Err(_) => signal.notify_one(),
                })
                .map_err(|e| ConfigError::Source {
                    source_name: self.name(),
                    reason: format!("cannot watch: {e}"),
                })?;
            watcher
                .watch(&dir, RecursiveMode::NonRecursive)
                .map_err(|e| ConfigError::Source {
                    source_name: self.name(),
                    reason: format!("cannot watch {}: {e}", dir.display()),
                })?;
            let watcher: Box<dyn Watcher> = Box::new(FileWatcher {
                _watcher: watcher,
                changed,
                path: self.path.clone(),
                debounce: self.debounce,
            });
            Ok(Some(watcher))
        })
    }
}

/// Whether an event can mean new content: everything but opening, reading and closing a file
/// that was only read (which is what loading does).
fn counts(kind: &EventKind) -> bool {
    match kind {
        EventKind::Access(AccessKind::Close(AccessMode::Write)) => true,
        EventKind::Access(_) => false,
        _ => true,
    }
}

struct FileWatcher {
    /// Dropping it stops the notify thread and removes the watch.
    _watcher: notify::RecommendedWatcher,
    changed: Arc<Notify>,
    path: PathBuf,
    debounce: Duration,
}

impl Watcher for FileWatcher {
    fn next(&mut self) -> BoxFuture<'_, Result<Vec<KeyValue>, ConfigError>> {
        Box::pin(async move {
            self.changed.notified().await;
            // Debounce: wait until the file system has been quiet for a whole period, but no
            // longer than ten periods, so a directory that never rests (a log file written
            // next to the configuration) still gets read.
            let deadline = tokio::time::Instant::now() + self.debounce * 10;
            while tokio::time::Instant::now() < deadline
                && tokio::time::timeout(self.debounce, self.changed.notified())
                    .await
                    .is_ok()
            {}
            let path = self.path.clone();
            tokio::task::spawn_blocking(move || read(&path))
                .await
                .map_err(|e| ConfigError::Source {
                    source_name: "file".into(),
                    reason: e.to_string(),
                })?
        })
    }
}

#[cfg(test)]
mod tests {
    use super::{MAX_FILE_BYTES, is_ignored, read};
    use crate::config::ConfigError;

    /// A file over the cap is an error naming it, alone or in a directory; one at the cap
    /// is read whole.
    #[test]
    fn files_over_the_cap_are_errors_naming_them() {
        let dir = std::env::temp_dir().join(format!("kratos-config-cap-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.yaml");
        let file = std::fs::File::create(&big).unwrap();
        file.set_len(MAX_FILE_BYTES + 1).unwrap(); // sparse: no disk used
        for path in [&big, &dir] {
            match read(path) {
                Err(ConfigError::Io {
                    path: named,
                    reason,
                }) => {
                    assert!(named.ends_with("big.yaml"), "{named}");
                    assert!(reason.contains("configuration file may hold"), "{reason}");
                }
                other => panic!("{}: {other:?}", path.display()),
            }
        }
        file.set_len(MAX_FILE_BYTES).unwrap();
        let kvs = read(&big).unwrap();
        assert_eq!(kvs[0].value.len() as u64, MAX_FILE_BYTES);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn editor_temporaries_and_hidden_files_are_ignored() {
        for name in [
            ".config.yaml",
            ".#config.yaml",
            "#config.yaml#",
            "config.yaml~",
            "config.yaml.swp",
            ".config.yaml.swx",
            "config.yaml.tmp",
            "config.TMP",
            "x.bak",
            "4913",
            "..data",
        ] {
            assert!(is_ignored(name), "{name}");
        }
        for name in [
            "config.yaml",
            "config.yml",
            "a.json",
            "b.toml",
            "#",
            "x#y.yaml",
        ] {
            assert!(!is_ignored(name), "{name}");
        }
    }
}
