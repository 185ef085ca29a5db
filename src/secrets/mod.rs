//! The seed's secret audit (`oc-integrate secrets`): "Stored in secret storage (not .env or
//! code)? Rotation schedule defined? Any secrets in git history?"
//!
//! `audit` judges each declared secret (storage, rotation, age against the schedule, its
//! value found where it must not be); `scan` reads the working tree and every commit of
//! every ref through `gix` and runs `detect`'s detectors over each file and blob once;
//! `allow` is the allow-list of paths whose findings are expected (test fixtures). Nothing
//! here returns or prints a secret: findings carry a masked preview and a fingerprint.

pub mod allow;
pub mod audit;
pub mod detect;
pub mod scan;

use std::path::PathBuf;

pub use allow::AllowList;
pub use audit::{Audit, Issue, Rotation, Storage, Verdict, audit};
pub use detect::{Declared, Detectors, Hit};
pub use scan::{Finding, Options, Scan, scan};

/// Why a scan could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The path is not a git repository.
    #[error("{path}: expected a git repository, found {found}")]
    NotARepository {
        /// The path given.
        path: PathBuf,
        /// What is there instead.
        found: String,
    },
    /// git's data could not be read.
    #[error("cannot {what}: {message}")]
    Git {
        /// What was being read.
        what: String,
        /// gix's error.
        message: String,
    },
    /// A file or directory of the working tree, or the allow-list, could not be read.
    #[error("{path}: expected a readable file or directory, found {source}")]
    Read {
        /// The file or directory.
        path: PathBuf,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A line of the allow-list is not a path glob.
    #[error("{path}:{line}: {message}")]
    Allow {
        /// The allow-list file.
        path: PathBuf,
        /// The 1-based line.
        line: usize,
        /// What was expected and found.
        message: String,
    },
}
