//! The project directory the server was started in, and the one rule every path a client
//! names must pass: it resolves inside that directory. A client on the other end of the
//! protocol is not the person at the terminal; it may ask for `../../.ssh/id_rsa`.

use std::path::{Component, Path, PathBuf};

/// A path a client named that the server will not touch.
#[derive(Debug, thiserror::Error)]
pub enum PathError {
    /// The path leaves the project directory (`..`, an absolute path elsewhere, a symlink out).
    #[error("{param}: expected a path inside the project directory {}, found {found:?} (it resolves to {})", .root.display(), .resolved.display())]
    Outside { param: &'static str, root: PathBuf, found: String, resolved: PathBuf },
    /// The path is empty.
    #[error("{param}: expected a path inside the project directory, found an empty string")]
    Empty { param: &'static str },
}

/// The directory every tool, resource and prompt works in.
#[derive(Debug, Clone)]
pub struct Project {
    root: PathBuf,
}

impl Project {
    /// The project at `root` (made absolute and canonical).
    pub fn new(root: &Path) -> std::io::Result<Project> {
        Ok(Project { root: std::fs::canonicalize(root)? })
    }

    /// The project directory.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// `given` (relative to the project, or absolute inside it) as an absolute path inside the
    /// project; `param` names the argument in the refusal. The deepest part of the path that
    /// exists is canonicalized, so a symlink pointing out is refused as `..` is.
    pub fn resolve(&self, param: &'static str, given: &str) -> Result<PathBuf, PathError> {
        if given.is_empty() {
            return Err(PathError::Empty { param });
        }
        let joined = self.root.join(given);
        let mut lexical = PathBuf::new();
        for c in joined.components() {
            match c {
                Component::ParentDir => {
                    lexical.pop();
                }
                Component::CurDir => {}
                other => lexical.push(other),
            }
        }
        // the existing ancestor as the file system sees it, then the rest as written
        let mut existing = lexical.clone();
        let mut rest = Vec::new();
        while !existing.exists() {
            match (existing.file_name().map(|n| n.to_owned()), existing.parent()) {
                (Some(name), Some(parent)) => {
                    rest.push(name);
                    existing = parent.to_path_buf();
                }
                _ => break,
            }
        }
        let mut resolved = std::fs::canonicalize(&existing).unwrap_or(existing);
        resolved.extend(rest.iter().rev());
        if resolved.starts_with(&self.root) {
            Ok(resolved)
        } else {
            Err(PathError::Outside { param, root: self.root.clone(), found: given.to_string(), resolved })
        }
    }

    /// `path` relative to the project directory, for showing (as it is when outside).
    pub fn relative(&self, path: &Path) -> String {
        path.strip_prefix(&self.root).unwrap_or(path).display().to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_stay_inside_the_project() {
        let dir = std::env::temp_dir().join(format!("oc-mcp-project-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("integrations/payments")).unwrap();
        let p = Project::new(&dir).unwrap();
        let root = p.root().to_path_buf();
        assert_eq!(p.resolve("dir", "integrations").unwrap(), root.join("integrations"));
        assert_eq!(p.resolve("dir", "integrations/../integrations/payments").unwrap(), root.join("integrations/payments"));
        assert_eq!(p.resolve("dir", "not/yet/there.json").unwrap(), root.join("not/yet/there.json"));
        assert_eq!(p.resolve("dir", &root.join("integrations").display().to_string()).unwrap(), root.join("integrations"));
        for outside in ["..", "../x", "integrations/../../etc", "/etc/passwd"] {
            let e = p.resolve("dir", outside).unwrap_err().to_string();
            assert!(e.starts_with("dir: expected a path inside the project directory"), "{outside}: {e}");
            assert!(e.contains(&format!("found {outside:?}")), "{e}");
        }
        std::os::unix::fs::symlink("/etc", dir.join("escape")).unwrap();
        assert!(p.resolve("body", "escape/passwd").is_err(), "a symlink out of the project is refused");
        assert!(matches!(p.resolve("dir", ""), Err(PathError::Empty { .. })));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
