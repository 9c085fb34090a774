//! Publish: write outputs into a staging folder, hash each, write the manifest, then move the
//! folder into place, so a failed or killed run never leaves a half-written report over a good one.

use crate::error::{Error, Result};
use crate::pipeline::plan::hex;
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Serialize)]
pub struct OutputEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// A report folder being written.
pub struct Staging {
    tmp: PathBuf,
    target: PathBuf,
    outputs: Vec<OutputEntry>,
    done: bool,
}

impl Staging {
    pub fn new(target: &Path) -> Result<Staging> {
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .unwrap_or_else(|| "report".into());
        let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
        if tmp.exists() {
            std::fs::remove_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        }
        std::fs::create_dir_all(&tmp).map_err(|e| Error::io(&tmp, e))?;
        Ok(Staging {
            tmp,
            target: target.to_path_buf(),
            outputs: Vec::new(),
            done: false,
        })
    }

    /// Where a file with this relative path is staged (its folder is created).
    pub fn path(&self, rel: &str) -> Result<PathBuf> {
        let p = self.tmp.join(rel);
        if let Some(dir) = p.parent() {
            std::fs::create_dir_all(dir).map_err(|e| Error::io(dir, e))?;
        }
        Ok(p)
    }

    pub fn write(&mut self, rel: &str, bytes: &[u8]) -> Result<()> {
        let entry = self.put(rel, bytes)?;
        self.outputs.push(entry);
        Ok(())
    }

    /// Writes a file without recording it, so files can be written from several threads; the
    /// entries it returns are recorded with [`Staging::add`].
    pub fn put(&self, rel: &str, bytes: &[u8]) -> Result<OutputEntry> {
        let p = self.path(rel)?;
        std::fs::write(&p, bytes).map_err(|e| Error::io(&p, e))?;
        Ok(OutputEntry {
            path: rel.to_string(),
            bytes: bytes.len() as u64,
            sha256: hex(&Sha256::digest(bytes)),
        })
    }

    /// Hashes a file already written at `path(rel)`, without recording it.
    pub fn hash(&self, rel: &str) -> Result<OutputEntry> {
        let p = self.tmp.join(rel);
        let mut file = std::fs::File::open(&p).map_err(|e| Error::io(&p, e))?;
        let mut hasher = Sha256::new();
        let bytes = std::io::copy(&mut file, &mut hasher).map_err(|e| Error::io(&p, e))?;
        Ok(OutputEntry {
            path: rel.to_string(),
            bytes,
            sha256: hex(&hasher.finalize()),
        })
    }

    /// Records files written with [`Staging::put`] or hashed with [`Staging::hash`]; the order
    /// does not matter, [`Staging::outputs`] sorts by path.
    pub fn add(&mut self, entries: impl IntoIterator<Item = OutputEntry>) {
        self.outputs.extend(entries);
    }

    /// Every output so far, sorted by path.
    pub fn outputs(&self) -> Vec<OutputEntry> {
        let mut v = self.outputs.clone();
        v.sort_by(|a, b| a.path.cmp(&b.path));
        v
    }

    /// Writes the manifest (not listed in itself) and moves the folder into place.
    pub fn commit(mut self, manifest_json: &[u8]) -> Result<PathBuf> {
        let m = self.tmp.join("manifest.json");
        std::fs::write(&m, manifest_json).map_err(|e| Error::io(&m, e))?;
        let old = self.tmp.with_extension("old");
        if self.target.exists() {
            std::fs::rename(&self.target, &old).map_err(|e| Error::io(&self.target, e))?;
        }
        std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
        if old.exists() {
            std::fs::remove_dir_all(&old).map_err(|e| Error::io(&old, e))?;
        }
        self.done = true;
        Ok(self.target.clone())
    }
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
        }
    }
}

/// The time recorded in the manifest's `not_reproducible` block: `SOURCE_DATE_EPOCH` when set.
pub fn generated_at() -> String {
    let epoch = std::env::var("SOURCE_DATE_EPOCH")
        .ok()
        .and_then(|s| s.parse::<i64>().ok());
    let t = match epoch.and_then(|s| chrono::DateTime::from_timestamp(s, 0)) {
        Some(t) => t,
        None => chrono::Utc::now(),
    };
    t.format("%Y-%m-%dT%H:%M:%SZ").to_string()
}
