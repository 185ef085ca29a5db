//! The allow-list: paths whose findings are expected (test fixtures holding fake keys), one
//! glob a line in `.oc-secrets-allow` at the repository's root. `*` stays within a
//! directory, `**` crosses them, `?` is one character; a pattern without `/` matches a file
//! name in any directory, one ending in `/` everything under that directory. A line
//! `fingerprint:<12 hex digits>` allows one value wherever it is (a provider's published test
//! vector, say; the fingerprint is in every finding). `#` starts a comment.

use std::path::{Path, PathBuf};

use super::ScanError;

/// The file the allow-list is read from by default, at the repository's root.
pub const FILE: &str = ".oc-secrets-allow";

/// Path globs whose findings are counted but not reported.
#[derive(Debug, Default, Clone)]
pub struct AllowList {
    /// Where it was read from (none when there is no file).
    pub file: Option<PathBuf>,
    patterns: Vec<String>,
    fingerprints: Vec<String>,
}

impl AllowList {
    /// Read `file`; a missing file is an empty list, an unreadable one an error.
    pub fn read(file: &Path) -> Result<AllowList, ScanError> {
        match std::fs::read_to_string(file) {
            Ok(text) => AllowList::parse(file, &text),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(AllowList::default()),
            Err(source) => Err(ScanError::Read { path: file.to_path_buf(), source }),
        }
    }

    /// The allow-list `text`, read from `file` (named in its errors).
    pub fn parse(file: &Path, text: &str) -> Result<AllowList, ScanError> {
        let mut patterns = Vec::new();
        let mut fingerprints = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let p = line.split(" #").next().unwrap_or_default().trim();
            if p.is_empty() || p.starts_with('#') {
                continue;
            }
            if p.starts_with('!') {
                return Err(ScanError::Allow {
                    path: file.to_path_buf(),
                    line: i + 1,
                    message: format!("expected a path glob (negation is not supported), found {p:?}"),
                });
            }
            if let Some(f) = p.strip_prefix("fingerprint:") {
                let f = f.trim();
                if f.len() != 12 || !f.bytes().all(|b| b.is_ascii_hexdigit()) {
                    return Err(ScanError::Allow {
                        path: file.to_path_buf(),
                        line: i + 1,
                        message: format!("expected fingerprint:<12 hex digits> (a finding's fingerprint), found {p:?}"),
                    });
                }
                fingerprints.push(f.to_ascii_lowercase());
                continue;
            }
            patterns.push(p.trim_start_matches('/').to_string());
        }
        Ok(AllowList { file: Some(file.to_path_buf()), patterns, fingerprints })
    }

    /// Whether the value with this fingerprint is allowed wherever it is.
    pub fn allows_value(&self, fingerprint: &str) -> bool {
        self.fingerprints.iter().any(|f| f == fingerprint)
    }

    /// Whether findings in `path` (relative to the repository's root, `/`-separated) are allowed.
    ///
    /// ```
    /// use oc_integrate::secrets::AllowList;
    /// let text = "tests/fixtures/**\n*.pem  # sample keys\ndocs/\n";
    /// let allow = AllowList::parse(".oc-secrets-allow".as_ref(), text).unwrap();
    /// assert!(allow.allows("tests/fixtures/keys/stripe.env"));
    /// assert!(allow.allows("deploy/sample.pem"));
    /// assert!(allow.allows("docs/setup.md"));
    /// assert!(!allow.allows("tests/app.rs"));
    /// assert!(!allow.allows("src/docs.rs"));
    /// ```
    pub fn allows(&self, path: &str) -> bool {
        self.patterns.iter().any(|p| {
            if let Some(dir) = p.strip_suffix('/') {
                path.starts_with(&format!("{dir}/")) || glob(&format!("{dir}/**"), path)
            } else if p.contains('/') {
                glob(p, path)
            } else {
                glob(p, path.rsplit('/').next().unwrap_or(path))
            }
        })
    }
}

/// Whether `path` matches `pattern` (`*` within a directory, `**` across, `?` one character).
fn glob(pattern: &str, path: &str) -> bool {
    fn go(p: &[u8], s: &[u8]) -> bool {
        match p {
            [] => s.is_empty(),
            [b'*', b'*', rest @ ..] => {
                let rest = rest.strip_prefix(b"/").unwrap_or(rest);
                rest.is_empty() || (0..=s.len()).any(|i| (i == 0 || s[i - 1] == b'/') && go(rest, &s[i..]))
            }
            [b'*', rest @ ..] => (0..=s.len()).take_while(|&i| i == 0 || s[i - 1] != b'/').any(|i| go(rest, &s[i..])),
            [b'?', rest @ ..] => s.first().is_some_and(|&c| c != b'/') && go(rest, &s[1..]),
            [c, rest @ ..] => s.first() == Some(c) && go(rest, &s[1..]),
        }
    }
    go(pattern.as_bytes(), path.as_bytes())
}
