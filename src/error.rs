//! Typed errors. Every data error says where (file, row, column); every error maps to an exit code.

use std::fmt;
use std::path::{Path, PathBuf};

pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Where in an input a problem is. Rows count from 1 at the header line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    pub file: PathBuf,
    pub row: Option<u64>,
    pub column: Option<String>,
}

impl fmt::Display for Location {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.file.display())?;
        if let Some(row) = self.row {
            write!(f, ":{row}")?;
        }
        if let Some(col) = &self.column {
            write!(f, ": column \"{col}\"")?;
        }
        Ok(())
    }
}

#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The command line is wrong.
    #[error("{0}")]
    Usage(String),
    /// The pipeline file is wrong; the message already holds the file, line and a caret.
    #[error("{0}")]
    Config(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    /// An input could not be read as data at all.
    #[error("{location}: {message}")]
    Data { location: Location, message: String },
    /// Data checks with `error` severity failed (details were already reported).
    #[error("{0}")]
    ChecksFailed(String),
    /// A bug or an unexpected failure inside a library.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn io(path: &Path, source: std::io::Error) -> Self {
        Error::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    pub fn data(file: &Path, message: impl Into<String>) -> Self {
        Error::Data {
            location: Location {
                file: file.to_path_buf(),
                row: None,
                column: None,
            },
            message: message.into(),
        }
    }

    /// The same error, naming `file` instead of the file it named (a temporary copy).
    pub fn with_file(self, file: &Path) -> Self {
        match self {
            Error::Data {
                mut location,
                message,
            } => {
                location.file = file.to_path_buf();
                Error::Data { location, message }
            }
            Error::Io { source, .. } => Error::io(file, source),
            other => other,
        }
    }

    /// The documented exit code: 1 when data checks failed, 2 for usage, config and IO errors.
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::ChecksFailed(_) => 1,
            Error::Usage(_) | Error::Config(_) | Error::Io { .. } | Error::Data { .. } => 2,
            Error::Internal(_) => 2,
        }
    }
}

impl From<polars::prelude::PolarsError> for Error {
    fn from(e: polars::prelude::PolarsError) -> Self {
        Error::Internal(e.to_string())
    }
}
