//! The leak scan: the working tree (tracked files and untracked ones git does not ignore)
//! and the whole history (every commit reachable from every ref and from HEAD, including
//! files deleted later), read through `gix`, never by shelling out to git.
//!
//! History is read once per object: commits in topological order (parents first), each
//! tree once (a subtree seen before holds nothing new), each blob once, at the first
//! commit and path that carried it; the blobs are then scanned on every core. A secret is
//! reported once per path, at the commit that introduced it there, and marked when the
//! working tree still holds it.

use std::collections::{BTreeMap, BTreeSet, HashMap, HashSet};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use gix::ObjectId;
use serde::Serialize;

use super::ScanError;
use super::allow::AllowList;
use super::detect::{Detectors, Hit};

/// Where to look.
#[derive(Debug, Clone)]
pub struct Options {
    /// Open exactly this repository (`--repo`), or discover it upward from the path given.
    pub exact: bool,
    /// Read the history too (every commit on every ref), not only the working tree.
    pub history: bool,
    /// The allow-list file; `None` for the repository's `.oc-secrets-allow`.
    pub allow: Option<PathBuf>,
}

/// One leaked secret: where, what, and a masked preview. Never the value.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// The detector's id (`stripe-live-key`, `declared` for a declared value).
    pub detector: &'static str,
    /// What was found, for people.
    pub title: String,
    /// The commit that introduced it at this path (full hex id); `None` when only the working
    /// tree has it (not committed).
    pub commit: Option<String>,
    /// The file, relative to the repository's root.
    pub path: String,
    /// The 1-based line: in the working tree when it is still there, else in `commit`.
    pub line: usize,
    /// The masked preview (`sk_live_…a1b2`).
    pub preview: String,
    /// The first 12 hex digits of the value's SHA-256, to tell findings of one secret apart.
    pub fingerprint: String,
    /// Whether the working tree still holds it (else only the history does).
    pub in_worktree: bool,
    /// The declared variable whose value this is.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub env: Option<String>,
}

/// What a scan found and what it read.
#[derive(Debug, Clone, Serialize)]
pub struct Scan {
    /// The repository's working directory (its git directory when bare).
    pub root: PathBuf,
    /// The findings, by path and line.
    pub findings: Vec<Finding>,
    /// Findings in paths the allow-list names (not listed).
    pub allowed: usize,
    /// The allow-list read, if there was one.
    pub allow_file: Option<PathBuf>,
    /// Refs read (branches, tags, remotes, stash, notes…), HEAD aside.
    pub refs: usize,
    /// Commits read.
    pub commits: usize,
    /// Distinct blobs scanned from the history.
    pub blobs: usize,
    /// Working-tree files scanned.
    pub files: usize,
}

/// A blob of the history with the first commit and path it appeared at.
struct Item {
    id: ObjectId,
    path: String,
    commit: usize,
}

fn git<E: std::fmt::Display>(what: impl Into<String>) -> impl FnOnce(E) -> ScanError {
    let what = what.into();
    move |e| ScanError::Git { what, message: e.to_string() }
}

/// Scan the repository at (or above, unless `options.exact`) `path`.
pub fn scan(path: &Path, options: &Options, detectors: &Detectors) -> Result<Scan, ScanError> {
    if !path.is_dir() {
        return Err(ScanError::NotARepository { path: path.to_path_buf(), found: "no such directory".into() });
    }
    let opened = if options.exact { gix::open(path) } else { gix::discover(path) };
    let mut repo = opened.map_err(|e| ScanError::NotARepository { path: path.to_path_buf(), found: e.to_string() })?;
    repo.object_cache_size_if_unset(32 << 20);
    let root = repo.workdir().unwrap_or(repo.git_dir()).to_path_buf();
    let allow = AllowList::read(&options.allow.clone().unwrap_or_else(|| root.join(super::allow::FILE)))?;
    let mut out = Scan {
        root: root.clone(),
        findings: Vec::new(),
        allowed: 0,
        allow_file: allow.file.clone(),
        refs: 0,
        commits: 0,
        blobs: 0,
        files: 0,
    };
    // (fingerprint, path) → finding: one per secret and path
    let mut found: BTreeMap<(String, String), Finding> = BTreeMap::new();
    if options.history {
        let (commits, refs) = commits(&repo)?;
        let items = blobs(&repo, &commits)?;
        (out.refs, out.commits, out.blobs) = (refs, commits.len(), items.len());
        let git_dir = repo.git_dir().to_path_buf();
        let hits = parallel(
            &items,
            || gix::open(&git_dir).map_err(git("open the repository")),
            |repo, item| {
                let blob = repo.find_blob(item.id).map_err(git(format!("read blob {} ({})", item.id, item.path)))?;
                Ok(if binary(&blob.data) { Vec::new() } else { detectors.scan(&blob.data) })
            },
        )?;
        for (item, hits) in items.iter().zip(hits) {
            for hit in hits {
                let key = (hit.fingerprint.clone(), item.path.clone());
                found.entry(key).or_insert_with(|| finding(hit, Some(commits[item.commit].to_string()), &item.path));
            }
        }
    }
    let files = worktree_files(&repo)?;
    out.files = files.len();
    let hits = parallel(
        &files,
        || Ok(()),
        |_, rel| {
            let file = root.join(rel);
            match std::fs::read(&file) {
                Ok(data) if !binary(&data) => Ok(detectors.scan(&data)),
                Ok(_) => Ok(Vec::new()),
                // tracked but deleted in the working tree
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(Vec::new()),
                Err(source) => Err(ScanError::Read { path: file, source }),
            }
        },
    )?;
    for (rel, hits) in files.iter().zip(hits) {
        for hit in hits {
            let line = hit.line;
            let f = found.entry((hit.fingerprint.clone(), rel.clone())).or_insert_with(|| finding(hit, None, rel));
            f.in_worktree = true;
            f.line = line;
        }
    }
    for (_, f) in found {
        if allow.allows(&f.path) || allow.allows_value(&f.fingerprint) {
            out.allowed += 1;
        } else {
            out.findings.push(f);
        }
    }
    out.findings.sort_by(|a, b| (&a.path, a.line).cmp(&(&b.path, b.line)));
    Ok(out)
}

fn finding(hit: Hit, commit: Option<String>, path: &str) -> Finding {
    Finding {
        detector: hit.detector,
        title: hit.title,
        commit,
        path: path.to_string(),
        line: hit.line,
        preview: hit.preview,
        fingerprint: hit.fingerprint,
        in_worktree: false,
        env: hit.env,
    }
}

/// Whether `data` is binary as git judges it: a NUL in its first 8000 bytes.
fn binary(data: &[u8]) -> bool {
    memchr::memchr(0, &data[..data.len().min(8000)]).is_some()
}

/// Every commit reachable from a ref or HEAD, parents before children; and how many refs.
fn commits(repo: &gix::Repository) -> Result<(Vec<ObjectId>, usize), ScanError> {
    let mut tips = Vec::new();
    let platform = repo.references().map_err(git("list the refs"))?;
    let mut refs = 0;
    for r in platform.all().map_err(git("list the refs"))? {
        let mut r = r.map_err(git("read a ref"))?;
        refs += 1;
        let name = r.name().as_bstr().to_string();
        tips.push(r.peel_to_id().map_err(git(format!("resolve {name}")))?.detach());
    }
    if let Ok(head) = repo.head_id() {
        tips.push(head.detach());
    }
    let shallow = repo.is_shallow().unwrap_or(false);
    let mut order = Vec::new();
    let mut seen = HashSet::new();
    // an explicit stack, so a long history cannot overflow ours: (commit, its parents are done)
    let mut stack: Vec<(ObjectId, bool, bool)> = tips.iter().rev().map(|t| (*t, false, true)).collect();
    while let Some((id, done, tip)) = stack.pop() {
        if done {
            order.push(id);
            continue;
        }
        if !seen.insert(id) {
            continue;
        }
        let object = match repo.find_object(id) {
            Ok(o) => o,
            // a shallow clone has no parents beyond its boundary
            Err(_) if shallow && !tip => continue,
            Err(e) => return Err(git(format!("read commit {id}"))(e)),
        };
        if object.kind != gix::object::Kind::Commit {
            continue; // a ref to a tree or a blob (rare): nothing of history to walk
        }
        let commit = object.into_commit();
        stack.push((id, true, tip));
        for p in commit.parent_ids() {
            if !seen.contains(p.as_ref()) {
                stack.push((p.detach(), false, false));
            }
        }
    }
    Ok((order, refs))
}

/// Each blob of the history once, with the first commit (in `commits`' order) and path it appeared at.
fn blobs(repo: &gix::Repository, commits: &[ObjectId]) -> Result<Vec<Item>, ScanError> {
    let mut seen_trees = HashSet::new();
    let mut seen_blobs = HashSet::new();
    let mut items = Vec::new();
    for (i, id) in commits.iter().enumerate() {
        let commit = repo.find_commit(*id).map_err(git(format!("read commit {id}")))?;
        let tree = commit.tree_id().map_err(git(format!("read the tree of commit {id}")))?.detach();
        let mut stack = vec![(tree, String::new())];
        while let Some((t, prefix)) = stack.pop() {
            if !seen_trees.insert(t) {
                continue;
            }
            let tree = repo.find_tree(t).map_err(git(format!("read tree {t} ({prefix}/) of commit {id}")))?;
            let decoded = tree.decode().map_err(git(format!("decode tree {t} of commit {id}")))?;
            for e in &decoded.entries {
                let name = String::from_utf8_lossy(e.filename);
                let path = if prefix.is_empty() { name.into_owned() } else { format!("{prefix}/{name}") };
                if e.mode.is_tree() {
                    stack.push((e.oid.to_owned(), path));
                } else if e.mode.is_blob() && seen_blobs.insert(e.oid.to_owned()) {
                    items.push(Item { id: e.oid.to_owned(), path, commit: i });
                }
            }
        }
    }
    Ok(items)
}

/// The working tree's files to scan, relative and `/`-separated: every tracked file and every
/// untracked one that git does not ignore (`.gitignore`, `info/exclude`, `core.excludesFile`).
fn worktree_files(repo: &gix::Repository) -> Result<Vec<String>, ScanError> {
    use gix::index::entry::Mode;
    let Some(root) = repo.workdir() else { return Ok(Vec::new()) };
    let index = repo.index_or_empty().map_err(git("read the index"))?;
    let mut files: BTreeSet<String> = index
        .entries()
        .iter()
        .filter(|e| matches!(e.mode, Mode::FILE | Mode::FILE_EXECUTABLE))
        .map(|e| e.path(&index).to_string())
        .collect();
    let mut excludes = repo
        .excludes(&index, None, gix::worktree::stack::state::ignore::Source::WorktreeThenIdMappingIfNotSkipped)
        .map_err(git("read the ignore rules"))?;
    let mut dirs = vec![String::new()];
    while let Some(rel) = dirs.pop() {
        let dir = root.join(&rel);
        let entries = std::fs::read_dir(&dir).map_err(|source| ScanError::Read { path: dir.clone(), source })?;
        for e in entries {
            let e = e.map_err(|source| ScanError::Read { path: dir.clone(), source })?;
            let name = e.file_name().to_string_lossy().into_owned();
            let path = if rel.is_empty() { name.clone() } else { format!("{rel}/{name}") };
            let kind = e.file_type().map_err(|source| ScanError::Read { path: e.path(), source })?;
            let mode = if kind.is_dir() {
                Mode::DIR
            } else if kind.is_file() {
                Mode::FILE
            } else {
                continue; // a symlink, a socket: not content of this tree
            };
            if name == ".git" || files.contains(&path) {
                continue;
            }
            let ignored =
                excludes.at_path(Path::new(&path), Some(mode)).map_err(git(format!("check whether {path} is ignored")))?.is_excluded();
            if ignored {
                continue;
            }
            if mode == Mode::DIR {
                // a submodule or a nested repository is another repository's tree
                if !e.path().join(".git").exists() {
                    dirs.push(path);
                }
            } else {
                files.insert(path);
            }
        }
    }
    Ok(files.into_iter().collect())
}

/// `each(state, item)` for every item on every core (each thread making its own `state`), in order.
fn parallel<T: Sync, S, R: Send>(
    items: &[T],
    state: impl Fn() -> Result<S, ScanError> + Sync,
    each: impl Fn(&S, &T) -> Result<R, ScanError> + Sync,
) -> Result<Vec<R>, ScanError> {
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get()).clamp(1, 8).min(items.len().max(1));
    let next = AtomicUsize::new(0);
    let results: Vec<Result<Vec<(usize, R)>, ScanError>> = std::thread::scope(|s| {
        let work = || -> Result<Vec<(usize, R)>, ScanError> {
            let st = state()?;
            let mut out = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(item) = items.get(i) else { return Ok(out) };
                out.push((i, each(&st, item)?));
            }
        };
        let handles: Vec<_> = (0..threads).map(|_| s.spawn(work)).collect();
        handles.into_iter().map(crate::cores::join).collect()
    });
    let mut all: HashMap<usize, R> = HashMap::with_capacity(items.len());
    for r in results {
        all.extend(r?);
    }
    Ok((0..items.len()).filter_map(|i| all.remove(&i)).collect())
}
