//! Shared helpers for the integration tests: a temporary copy of the example pipeline and its
//! sample data, the real binary, and checks on its exit code and messages.
#![allow(dead_code)]

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

pub const BIN: &str = env!("CARGO_BIN_EXE_jsna");

/// The checkout under test, read when the test runs (a shared build cache may serve two clones).
pub fn root() -> PathBuf {
    PathBuf::from(
        std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_else(|| env!("CARGO_MANIFEST_DIR").into()),
    )
}

/// A temp folder holding `pipelines/example.toml` and `sample_data/` as in the repository.
pub struct Work {
    pub dir: tempfile::TempDir,
}

impl Work {
    pub fn new() -> Work {
        let dir = tempfile::tempdir().unwrap();
        fs::create_dir_all(dir.path().join("pipelines")).unwrap();
        fs::copy(
            root().join("pipelines/example.toml"),
            dir.path().join("pipelines/example.toml"),
        )
        .unwrap();
        copy_dir(&root().join("sample_data"), &dir.path().join("sample_data"));
        Work { dir }
    }
    /// Adds another shipped pipeline file (e.g. `home_office.toml`) to `pipelines/`.
    pub fn with_pipeline(self, name: &str) -> Work {
        fs::copy(
            root().join("pipelines").join(name),
            self.path(&format!("pipelines/{name}")),
        )
        .unwrap();
        self
    }
    pub fn path(&self, rel: &str) -> PathBuf {
        self.dir.path().join(rel)
    }
    pub fn jsna(&self, args: &[&str]) -> Output {
        self.jsna_env(args, &[])
    }
    pub fn jsna_env(&self, args: &[&str], env: &[(&str, &str)]) -> Output {
        let mut cmd = Command::new(BIN);
        cmd.args(args).current_dir(self.dir.path());
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd.output().unwrap()
    }
    pub fn write(&self, rel: &str, text: &str) {
        let p = self.path(rel);
        fs::create_dir_all(p.parent().unwrap()).unwrap();
        fs::write(p, text).unwrap();
    }
    pub fn read(&self, rel: &str) -> String {
        fs::read_to_string(self.path(rel)).unwrap_or_else(|e| panic!("{rel}: {e}"))
    }
    /// Edits the example pipeline: each `from` must be found, so an edit cannot silently do
    /// nothing when the example changes.
    pub fn edit_pipeline(&self, edits: &[(&str, &str)]) {
        let mut text = self.read("pipelines/example.toml");
        for (from, to) in edits {
            assert!(text.contains(from), "the example pipeline has no '{from}'");
            text = text.replacen(from, to, 1);
        }
        self.write("pipelines/example.toml", &text);
    }
}

pub fn copy_dir(from: &Path, to: &Path) {
    fs::create_dir_all(to).unwrap();
    for entry in fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        if entry.file_type().unwrap().is_file() {
            fs::copy(entry.path(), to.join(entry.file_name())).unwrap();
        }
    }
}

pub fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

pub fn ok(o: &Output) {
    assert!(
        o.status.success(),
        "exit {:?}\nstderr:\n{}",
        o.status.code(),
        stderr(o)
    );
}

/// Asserts the exit code and that stderr says each of `says`.
pub fn exits(o: &Output, code: i32, says: &[&str]) {
    assert_eq!(o.status.code(), Some(code), "{}", stderr(o));
    for s in says {
        assert!(stderr(o).contains(s), "expected '{s}' in:\n{}", stderr(o));
    }
}

/// Every file under `dir` (hidden ones included), relative path → bytes.
pub fn tree(dir: &Path) -> std::collections::BTreeMap<String, Vec<u8>> {
    let mut out = std::collections::BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in fs::read_dir(&d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else {
                out.insert(
                    p.strip_prefix(dir).unwrap().to_string_lossy().to_string(),
                    fs::read(&p).unwrap(),
                );
            }
        }
    }
    out
}

/// A text edit that fails when its pattern is missing, so a test cannot silently stop testing
/// what it says when the example changes.
pub trait Edit {
    fn edit(&self, from: &str, to: &str) -> String;
}

impl Edit for str {
    fn edit(&self, from: &str, to: &str) -> String {
        assert!(self.contains(from), "edit: '{from}' is not in the text");
        self.replace(from, to)
    }
}
