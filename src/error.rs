//! Errors that reach the user. Input errors name the file, the line or field, and what was
//! expected; they exit with status 2 (as k6 does for bad input).

use std::fmt;
use std::path::Path;

#[derive(Debug)]
pub enum Error {
    /// A problem in a user file: `file`, where in it, and what was expected.
    Input {
        file: String,
        location: String,
        message: String,
    },
    /// A bad command-line flag or value.
    Usage(String),
    /// Writing outputs failed.
    Io { path: String, message: String },
}

pub const EXIT_BAD_INPUT: i32 = 2;
pub const EXIT_IO: i32 = 1;
/// Any failed target (k6 uses 99 for failed thresholds).
pub const EXIT_TARGETS_FAILED: i32 = 99;

impl Error {
    pub fn input(file: &Path, location: impl Into<String>, message: impl Into<String>) -> Self {
        Error::Input {
            file: file.display().to_string(),
            location: location.into(),
            message: message.into(),
        }
    }

    pub fn io(path: &Path, e: impl fmt::Display) -> Self {
        Error::Io {
            path: path.display().to_string(),
            message: e.to_string(),
        }
    }

    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Input { .. } | Error::Usage(_) => EXIT_BAD_INPUT,
            Error::Io { .. } => EXIT_IO,
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Error::Input {
                file,
                location,
                message,
            } => {
                if location.is_empty() {
                    write!(f, "{file}: {message}")
                } else {
                    write!(f, "{file}: {location}: {message}")
                }
            }
            Error::Usage(m) => write!(f, "{m}"),
            Error::Io { path, message } => write!(f, "{path}: {message}"),
        }
    }
}

impl std::error::Error for Error {}

pub type Result<T> = std::result::Result<T, Error>;
