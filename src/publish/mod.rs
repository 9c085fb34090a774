//! Publish: write outputs into a staging folder beside the target, hash each, write the manifest,
//! then swap the folder into place.
//!
//! The contract, which no run may break:
//! - a run replaces only a folder that jsna wrote (it holds a jsna `manifest.json`) or an empty
//!   one; anything else at the target is refused, and [`check_targets`] refuses output folders
//!   that are, contain or lie inside an input, the pipeline file's folder, the repository root,
//!   the home folder, the working folder or the filesystem root;
//! - at every instant the target holds either the old report or the new one: the new folder is
//!   exchanged with the old in one `renameat2(RENAME_EXCHANGE)` where the filesystem allows it;
//! - every staging folder has a name of its own (process id and a nonce) and carries a marker, so
//!   leftovers of a killed run are recognised and removed (or, for a report moved aside by a
//!   killed swap, put back) by the next run, with a message; SIGINT and SIGTERM remove the
//!   staging folders of the running process before it exits.

use crate::error::{Error, Result};
use serde::Serialize;
use sha2::{Digest, Sha256};
use std::path::{Component, Path, PathBuf};
use std::sync::Mutex;

/// Lower-case hexadecimal of a digest.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

#[derive(Debug, Clone, Serialize)]
pub struct OutputEntry {
    pub path: String,
    pub bytes: u64,
    pub sha256: String,
}

/// The file every staging folder holds until it is committed.
const MARKER: &str = ".jsna-staging";
/// Hidden sibling names: `.{name}.jsna-stage-{pid}-{nonce}` and `.{name}.jsna-old-{pid}-{nonce}`.
const INFIX: &str = ".jsna-";

/// Staging folders of this process, removed by the signal handler.
static LIVE: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

/// On SIGINT or SIGTERM, removes this process's staging folders, then exits with 128 + signal.
/// A swap in progress finishes first (it holds the same lock).
pub fn remove_staging_on_signal() {
    use signal_hook::consts::{SIGINT, SIGTERM};
    let Ok(mut signals) = signal_hook::iterator::Signals::new([SIGINT, SIGTERM]) else {
        return;
    };
    std::thread::spawn(move || {
        if let Some(sig) = signals.forever().next() {
            let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
            for dir in live.iter() {
                if std::fs::remove_dir_all(dir).is_ok() {
                    use std::io::Write;
                    let _ = writeln!(
                        std::io::stderr().lock(),
                        "jsna: interrupted; removed the unfinished folder {}",
                        dir.display()
                    );
                }
            }
            std::process::exit(128 + sig);
        }
    });
}

/// The path made absolute and free of `.` and `..`, with symbolic links resolved in the part
/// that exists, so two spellings of one folder compare equal.
pub fn resolved(p: &Path) -> PathBuf {
    let abs = std::path::absolute(p).unwrap_or_else(|_| p.to_path_buf());
    let mut clean = PathBuf::new();
    for c in abs.components() {
        match c {
            Component::ParentDir => {
                clean.pop();
            }
            Component::CurDir => {}
            c => clean.push(c),
        }
    }
    // Resolve links in the longest existing prefix; keep the rest as written.
    let mut existing = clean.clone();
    let mut rest = Vec::new();
    while !existing.exists() {
        match (
            existing.file_name().map(|f| f.to_os_string()),
            existing.parent(),
        ) {
            (Some(name), Some(parent)) => {
                rest.push(name);
                existing = parent.to_path_buf();
            }
            _ => break,
        }
    }
    let mut out = std::fs::canonicalize(&existing).unwrap_or(existing);
    for name in rest.into_iter().rev() {
        out.push(name);
    }
    out
}

/// The nearest folder at or above `dir` that holds `.git`.
fn repository_root(dir: &Path) -> Option<PathBuf> {
    dir.ancestors()
        .find(|d| d.join(".git").exists())
        .map(Path::to_path_buf)
}

/// A folder a run writes, and what it is called in messages.
pub struct Target<'a> {
    pub what: &'a str,
    pub path: &'a Path,
}

/// Refuses output folders that could destroy inputs or other work: a target that is, contains
/// or lies inside any input; that is or contains the pipeline file's folder, the repository root,
/// the home folder, the working folder or the filesystem root; that is, holds or lies inside
/// another target; or that exists and was not written by jsna.
pub fn check_targets(pipeline_file: &Path, inputs: &[&Path], targets: &[Target]) -> Result<()> {
    let pipeline_dir = resolved(pipeline_file)
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    let mut precious: Vec<(PathBuf, String)> = Vec::new();
    precious.push((pipeline_dir.clone(), "the pipeline file's folder".into()));
    if let Some(root) = repository_root(&pipeline_dir) {
        precious.push((root, "the repository root".into()));
    }
    if let Ok(cwd) = std::env::current_dir() {
        precious.push((resolved(&cwd), "the working folder".into()));
    }
    if let Some(home) = std::env::var_os("HOME").filter(|h| !h.is_empty()) {
        precious.push((resolved(Path::new(&home)), "the home folder".into()));
    }
    let inputs: Vec<(PathBuf, String)> = inputs
        .iter()
        .map(|p| (resolved(p), format!("the input {}", p.display())))
        .collect();
    let refuse = |t: &Target, why: String| {
        Err(Error::Usage(format!(
            "refusing to write the {} {}: it {why}. A run replaces its output folder whole, so it must be a folder of its own (for example reports/<name>)",
            t.what,
            t.path.display()
        )))
    };
    let resolved_targets: Vec<PathBuf> = targets.iter().map(|t| resolved(t.path)).collect();
    for (t, out) in targets.iter().zip(&resolved_targets) {
        if t.path.as_os_str().is_empty() || out.parent().is_none() {
            return refuse(t, "is the filesystem root (or empty)".into());
        }
        for (p, name) in &precious {
            if p.starts_with(out) {
                let how = if p == out { "is" } else { "contains" };
                return refuse(t, format!("{how} {name} ({})", p.display()));
            }
        }
        for (p, name) in &inputs {
            if p.starts_with(out) {
                return refuse(t, format!("contains {name}"));
            }
            if out.starts_with(p) {
                return refuse(t, format!("is or lies inside {name}"));
            }
        }
        for (other, o) in targets.iter().zip(&resolved_targets) {
            if std::ptr::eq(t, other) {
                continue;
            }
            if o.starts_with(out) || out.starts_with(o) {
                return refuse(
                    t,
                    format!(
                        "is, holds or lies inside the {} {}",
                        other.what,
                        other.path.display()
                    ),
                );
            }
        }
        owned_or_absent(t.path).or_else(|why| refuse(t, why))?;
    }
    Ok(())
}

/// Ok when nothing is at `path`, or an empty folder, or a folder jsna wrote (its manifest says
/// so); otherwise why not.
fn owned_or_absent(path: &Path) -> std::result::Result<(), String> {
    let meta = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(_) => return Ok(()),
    };
    if !meta.is_dir() {
        return Err("exists and is not a folder".into());
    }
    if written_by_jsna(path) {
        return Ok(());
    }
    match std::fs::read_dir(path).map(|mut d| d.next().is_none()) {
        Ok(true) => Ok(()),
        Ok(false) => Err("exists and was not written by jsna (it has no jsna manifest.json); choose another folder, or move it away yourself".into()),
        Err(e) => Err(format!("cannot be read ({e})")),
    }
}

/// Whether `dir` holds a `manifest.json` that jsna wrote.
pub fn written_by_jsna(dir: &Path) -> bool {
    let Ok(text) = std::fs::read(dir.join("manifest.json")) else {
        return false;
    };
    serde_json::from_slice::<serde_json::Value>(&text)
        .map(|m| m["program"]["name"] == "jsna")
        .unwrap_or(false)
}

/// Whether a process with this id is running (on systems without `/proc`, assume it is, so
/// nothing of a running process is touched).
fn running(pid: u32) -> bool {
    if !Path::new("/proc/self").exists() {
        return true;
    }
    Path::new(&format!("/proc/{pid}")).exists()
}

/// A report folder being written.
pub struct Staging {
    tmp: PathBuf,
    target: PathBuf,
    outputs: Vec<OutputEntry>,
    notes: Vec<String>,
    done: bool,
}

impl Staging {
    /// Starts a staging folder beside `target`, after checking that `target` may be replaced and
    /// tidying what killed runs left beside it (see [`Staging::notes`]).
    pub fn new(target: &Path) -> Result<Staging> {
        owned_or_absent(target).map_err(|why| {
            Error::Usage(format!("refusing to write {}: it {why}", target.display()))
        })?;
        let parent = target
            .parent()
            .filter(|p| !p.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        std::fs::create_dir_all(parent).map_err(|e| Error::io(parent, e))?;
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().to_string())
            .ok_or_else(|| {
                Error::Usage(format!(
                    "{}: an output folder needs a name",
                    target.display()
                ))
            })?;
        let notes = recover(parent, &name, target);
        let nonce = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0);
        let tmp = parent.join(format!(
            ".{name}{INFIX}stage-{}-{nonce}",
            std::process::id()
        ));
        std::fs::create_dir(&tmp).map_err(|e| Error::io(&tmp, e))?;
        LIVE.lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(tmp.clone());
        let marker = tmp.join(MARKER);
        std::fs::write(
            &marker,
            b"jsna staging folder: safe to delete when no run is going\n",
        )
        .map_err(|e| Error::io(&marker, e))?;
        Ok(Staging {
            tmp,
            target: target.to_path_buf(),
            outputs: Vec::new(),
            notes,
            done: false,
        })
    }

    /// What was tidied up from earlier killed runs, for the log.
    pub fn notes(&self) -> &[String] {
        &self.notes
    }

    /// Where a file with this relative path is staged (its folder is created). The path must be
    /// relative and stay inside the folder.
    pub fn path(&self, rel: &str) -> Result<PathBuf> {
        let inside = Path::new(rel)
            .components()
            .all(|c| matches!(c, Component::Normal(_)));
        if !inside || rel.is_empty() {
            return Err(Error::Internal(format!(
                "output path '{rel}' would leave the report folder"
            )));
        }
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
        let p = self.path(rel)?;
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

    /// Writes the manifest (not listed in itself) and swaps the folder into place. The target
    /// holds the old report or the new one at every instant.
    pub fn commit(mut self, manifest_json: &[u8]) -> Result<PathBuf> {
        let m = self.tmp.join("manifest.json");
        std::fs::write(&m, manifest_json).map_err(|e| Error::io(&m, e))?;
        // From here the folder is recognised by its manifest.
        let marker = self.tmp.join(MARKER);
        std::fs::remove_file(&marker).map_err(|e| Error::io(&marker, e))?;
        let live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        // Something may have appeared at the target while the run was going.
        owned_or_absent(&self.target).map_err(|why| {
            Error::Usage(format!(
                "refusing to replace {}: it {why}",
                self.target.display()
            ))
        })?;
        let old = if self.target.exists() {
            swap(&self.tmp, &self.target)?
        } else {
            std::fs::rename(&self.tmp, &self.target).map_err(|e| Error::io(&self.target, e))?;
            None
        };
        self.done = true;
        drop(live);
        self.forget();
        if let Some(old) = old {
            // The previous report, now at a hidden name; a failure here leaves it for the next
            // run to remove.
            let _ = std::fs::remove_dir_all(&old);
        }
        Ok(self.target.clone())
    }

    fn forget(&self) {
        let mut live = LIVE.lock().unwrap_or_else(|e| e.into_inner());
        live.retain(|p| p != &self.tmp);
    }
}

/// Puts `new` at `target` and returns where the old folder went.
fn swap(new: &Path, target: &Path) -> Result<Option<PathBuf>> {
    #[cfg(any(target_os = "linux", target_os = "android"))]
    {
        use rustix::fs::{renameat_with, RenameFlags, CWD};
        match renameat_with(CWD, new, CWD, target, RenameFlags::EXCHANGE) {
            Ok(()) => return Ok(Some(new.to_path_buf())),
            // Filesystems without RENAME_EXCHANGE fall back to two renames below.
            Err(e) if e == rustix::io::Errno::INVAL || e == rustix::io::Errno::NOSYS => {}
            Err(e) => return Err(Error::io(target, e.into())),
        }
    }
    // Two renames: a run killed between them leaves the old report at the hidden `-old-` name,
    // and the next run puts it back.
    let name = new.file_name().map(|n| n.to_string_lossy().to_string());
    let old = new.with_file_name(name.unwrap_or_default().replacen(
        &format!("{INFIX}stage-"),
        &format!("{INFIX}old-"),
        1,
    ));
    std::fs::rename(target, &old).map_err(|e| Error::io(target, e))?;
    std::fs::rename(new, target).map_err(|e| Error::io(target, e))?;
    Ok(Some(old))
}

/// Tidies what killed runs left beside `target`: a report moved aside by an unfinished swap is
/// put back when the target is missing; staging folders and old reports of processes no longer
/// running are removed. Only folders that carry the staging marker or a jsna manifest, or are
/// empty, are touched. Returns a message for each thing done.
fn recover(parent: &Path, name: &str, target: &Path) -> Vec<String> {
    let mut notes = Vec::new();
    let prefix = format!(".{name}{INFIX}");
    let Ok(entries) = std::fs::read_dir(parent) else {
        return notes;
    };
    let mut found: Vec<(PathBuf, bool, u32)> = entries
        .flatten()
        .filter_map(|e| {
            let file = e.file_name().to_string_lossy().to_string();
            let rest = file.strip_prefix(&prefix)?;
            let (kind, ids) = rest.split_once('-')?;
            let pid: u32 = ids.split('-').next()?.parse().ok()?;
            let old = match kind {
                "stage" => false,
                "old" => true,
                _ => return None,
            };
            Some((e.path(), old, pid))
        })
        .collect();
    found.sort();
    for (path, old, pid) in found {
        if pid != std::process::id() && running(pid) {
            continue;
        }
        let ours = path.join(MARKER).exists()
            || written_by_jsna(&path)
            || std::fs::read_dir(&path).is_ok_and(|mut d| d.next().is_none());
        if !ours {
            continue;
        }
        if old && !target.exists() && written_by_jsna(&path) {
            if std::fs::rename(&path, target).is_ok() {
                notes.push(format!(
                    "put back the previous report {}, which a killed run had moved aside",
                    target.display()
                ));
            }
            continue;
        }
        if std::fs::remove_dir_all(&path).is_ok() {
            notes.push(format!(
                "removed {}, left by an earlier run that was killed",
                path.display()
            ));
        }
    }
    notes
}

impl Drop for Staging {
    fn drop(&mut self) {
        if !self.done {
            let _ = std::fs::remove_dir_all(&self.tmp);
            self.forget();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest() -> &'static [u8] {
        br#"{"program": {"name": "jsna"}}"#
    }

    #[test]
    fn a_folder_not_written_by_jsna_is_never_replaced() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("data");
        std::fs::create_dir(&target).unwrap();
        std::fs::write(target.join("keep.csv"), "a,b\n").unwrap();
        assert!(Staging::new(&target).is_err());
        let file = dir.path().join("file.csv");
        std::fs::write(&file, "x").unwrap();
        assert!(Staging::new(&file).is_err());
        assert_eq!(std::fs::read(target.join("keep.csv")).unwrap(), b"a,b\n");
        assert_eq!(std::fs::read(&file).unwrap(), b"x");
    }

    #[test]
    fn a_report_is_swapped_in_and_the_old_one_removed() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report");
        let mut s = Staging::new(&target).unwrap();
        s.write("a.txt", b"one").unwrap();
        s.commit(manifest()).unwrap();
        let mut s = Staging::new(&target).unwrap();
        s.write("b.txt", b"two").unwrap();
        s.commit(manifest()).unwrap();
        assert!(!target.join("a.txt").exists());
        assert_eq!(std::fs::read(target.join("b.txt")).unwrap(), b"two");
        assert!(!target.join(MARKER).exists());
        // Nothing hidden is left beside it.
        let left: Vec<_> = std::fs::read_dir(dir.path()).unwrap().collect();
        assert_eq!(left.len(), 1);
    }

    #[test]
    fn leftovers_of_killed_runs_are_tidied_and_a_moved_report_put_back() {
        let dir = tempfile::tempdir().unwrap();
        let target = dir.path().join("report");
        // A report moved aside by a run killed between two renames (pid 1 is not a jsna run
        // in a test, but a process id that does not exist is what matters here).
        let dead = 4_000_000_000u32;
        let old = dir.path().join(format!(".report{INFIX}old-{dead}-1"));
        std::fs::create_dir(&old).unwrap();
        std::fs::write(old.join("manifest.json"), manifest()).unwrap();
        let stage = dir.path().join(format!(".report{INFIX}stage-{dead}-2"));
        std::fs::create_dir(&stage).unwrap();
        std::fs::write(stage.join(MARKER), "").unwrap();
        // A folder with a similar name that jsna did not write stays.
        let foreign = dir.path().join(format!(".report{INFIX}stage-{dead}-3"));
        std::fs::create_dir(&foreign).unwrap();
        std::fs::write(foreign.join("notes.txt"), "mine").unwrap();
        let s = Staging::new(&target).unwrap();
        assert_eq!(s.notes().len(), 2, "{:?}", s.notes());
        assert!(written_by_jsna(&target));
        assert!(!old.exists() && !stage.exists());
        assert!(foreign.join("notes.txt").exists());
    }

    #[test]
    fn paths_that_leave_the_folder_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let s = Staging::new(&dir.path().join("r")).unwrap();
        for bad in ["../x", "/etc/x", "a/../../x", ""] {
            assert!(s.path(bad).is_err(), "{bad}");
        }
        assert!(s.path("charts/a.svg").is_ok());
    }

    #[test]
    fn targets_that_hold_or_sit_in_inputs_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let data = dir.path().join("data");
        std::fs::create_dir(&data).unwrap();
        let input = data.join("pop.csv");
        std::fs::write(&input, "x").unwrap();
        let pipeline = dir.path().join("pipelines").join("p.toml");
        let inputs = [input.as_path()];
        let check = |p: &Path| {
            check_targets(
                &pipeline,
                &inputs,
                &[Target {
                    what: "output folder",
                    path: p,
                }],
            )
        };
        assert!(check(&data).is_err());
        assert!(check(&input).is_err());
        assert!(check(&input.join("x")).is_err());
        assert!(check(&dir.path().join("pipelines")).is_err());
        assert!(check(&dir.path().join("pipelines/../data")).is_err());
        assert!(check(Path::new("/")).is_err());
        assert!(check(Path::new("")).is_err());
        assert!(check(&dir.path().join("reports/r")).is_ok());
        let two = check_targets(
            &pipeline,
            &inputs,
            &[
                Target {
                    what: "output folder",
                    path: &dir.path().join("reports/r"),
                },
                Target {
                    what: "restricted folder",
                    path: &dir.path().join("reports/r/secret"),
                },
            ],
        );
        assert!(two.is_err());
    }
}
