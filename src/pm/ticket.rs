//! Which ticket the work comes from, recognised exactly as the seed says: a key
//! `[A-Z][A-Z0-9_]+-\d+` (Jira, Linear), `#\d+` right after a repository reference (GitHub
//! Issues), or a Linear, Atlassian or GitHub issue URL; looked for in `--ticket`, the spec's
//! `ticket:`, CI's pull-request title and branch, and the checked-out branch, in that order.

use std::fmt;
use std::path::Path;
use std::sync::OnceLock;

use regex::Regex;

/// A ticket reference.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Ticket {
    /// A Jira or Linear key, `PLAT-4471`.
    Key(String),
    /// A GitHub issue, `owner/repo#12`.
    GitHub {
        /// `owner/repo`.
        repo: String,
        /// The issue number.
        number: u64,
    },
}

impl fmt::Display for Ticket {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Ticket::Key(k) => f.write_str(k),
            Ticket::GitHub { repo, number } => write!(f, "{repo}#{number}"),
        }
    }
}

impl Ticket {
    /// Read back what [`Ticket`]'s `Display` wrote (or any text [`find`] recognises).
    pub fn parse(text: &str) -> Option<Ticket> {
        find(text)
    }
}

/// Where a ticket reference was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Source {
    /// Given to the command (`--ticket`).
    Flag,
    /// The spec's `ticket:`.
    Spec,
    /// CI's pull-request title.
    PullRequestTitle,
    /// The branch name (CI's variables, else the checkout's).
    Branch,
}

impl Source {
    /// As a note says it.
    pub fn describe(self) -> &'static str {
        match self {
            Source::Flag => "--ticket",
            Source::Spec => "the spec's ticket:",
            Source::PullRequestTitle => "the pull request's title",
            Source::Branch => "the branch name",
        }
    }
}

fn patterns() -> &'static [Regex; 5] {
    static P: OnceLock<[Regex; 5]> = OnceLock::new();
    P.get_or_init(|| {
        let r = |p: &str| Regex::new(p).unwrap_or_else(|e| unreachable!("a fixed pattern: {e}"));
        [
            // linear.app/<workspace>/issue/<KEY>[/<slug>]
            r(r"(?:^|[^\w.-])(?:https?://)?linear\.app/[^/\s]+/issue/([A-Z][A-Z0-9_]+-\d+)\b"),
            // <site>.atlassian.net/browse/<KEY>
            r(r"(?:^|[^\w.-])(?:https?://)?[a-z0-9][a-z0-9-]*\.atlassian\.net/browse/([A-Z][A-Z0-9_]+-\d+)\b"),
            // github.com/<owner>/<repo>/issues/<n>
            r(r"(?:^|[^\w.-])(?:https?://)?github\.com/([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]+)/issues/(\d+)\b"),
            // <owner>/<repo>#<n>
            r(r"(?:^|[^\w./#-])([A-Za-z0-9][A-Za-z0-9-]*/[A-Za-z0-9._-]*[A-Za-z0-9_])#(\d+)\b"),
            // <KEY>
            r(r"\b([A-Z][A-Z0-9_]+-\d+)\b"),
        ]
    })
}

/// The first ticket reference in `text`, URLs first (a URL's key is its ticket), then
/// `owner/repo#n`, then a bare key.
///
/// ```
/// use oc_integrate::pm::ticket::{find, Ticket};
/// assert_eq!(find("feature/PLAT-4471-retry"), Some(Ticket::Key("PLAT-4471".into())));
/// assert_eq!(find("fixes acme/shop#12"), Some(Ticket::GitHub { repo: "acme/shop".into(), number: 12 }));
/// assert_eq!(find("see #12"), None); // a number alone names no repository
/// ```
pub fn find(text: &str) -> Option<Ticket> {
    let [linear, atlassian, github_url, github_ref, key] = patterns();
    let number = |s: &str| s.parse::<u64>().ok();
    for url in [linear, atlassian] {
        if let Some(c) = url.captures(text) {
            return Some(Ticket::Key(c[1].to_string()));
        }
    }
    for gh in [github_url, github_ref] {
        if let Some(c) = gh.captures(text)
            && let Some(n) = number(&c[2])
        {
            return Some(Ticket::GitHub { repo: c[1].to_string(), number: n });
        }
    }
    key.captures(text).map(|c| Ticket::Key(c[1].to_string()))
}

/// Every place a ticket may be named, in the order they are tried.
#[derive(Debug, Clone, Default)]
pub struct Places {
    /// `--ticket`.
    pub flag: Option<String>,
    /// The spec's `ticket:`.
    pub spec: Option<String>,
    /// CI's pull-request title.
    pub pull_request_title: Option<String>,
    /// The branch: CI's variable, else the checkout's.
    pub branch: Option<String>,
}

impl Places {
    /// The places the environment offers besides the flag and the spec: the pull request's
    /// title (`GITHUB_EVENT_PATH`'s `pull_request.title`, GitLab's `CI_MERGE_REQUEST_TITLE`)
    /// and its branch (`GITHUB_HEAD_REF`, `GITHUB_REF_NAME`, `CI_COMMIT_REF_NAME`,
    /// `BRANCH_NAME`), else the branch checked out in `project`.
    pub fn from_env(project: &Path) -> Places {
        let var = |n: &str| std::env::var(n).ok().filter(|v| !v.trim().is_empty());
        let event = var("GITHUB_EVENT_PATH")
            .and_then(|p| std::fs::read_to_string(p).ok())
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok());
        let event_field = |ptr: &str| event.as_ref().and_then(|e| e.pointer(ptr)).and_then(|v| v.as_str()).map(str::to_string);
        let pull_request_title = event_field("/pull_request/title").or_else(|| var("CI_MERGE_REQUEST_TITLE"));
        let branch = ["GITHUB_HEAD_REF", "GITHUB_REF_NAME", "CI_COMMIT_REF_NAME", "BRANCH_NAME"]
            .into_iter()
            .find_map(var)
            .or_else(|| event_field("/pull_request/head/ref"))
            .or_else(|| checked_out_branch(project));
        Places { flag: None, spec: None, pull_request_title, branch }
    }

    /// The first ticket found, with where; `Err` names a place that was given a value that is
    /// no ticket reference (only `--ticket` and the spec's `ticket:` are meant to be one).
    pub fn detect(&self) -> Result<Option<(Ticket, Source)>, String> {
        for (value, source) in [(&self.flag, Source::Flag), (&self.spec, Source::Spec)] {
            if let Some(v) = value {
                return match find(v) {
                    Some(t) => Ok(Some((t, source))),
                    None => Err(format!(
                        "{}: expected a ticket (PLAT-4471, owner/repo#12 or an issue URL), found {:?}",
                        source.describe(),
                        crate::text::clip(v)
                    )),
                };
            }
        }
        let free = [(&self.pull_request_title, Source::PullRequestTitle), (&self.branch, Source::Branch)];
        Ok(free.into_iter().find_map(|(v, s)| v.as_deref().and_then(find).map(|t| (t, s))))
    }
}

/// The branch checked out in `project` (`.git/HEAD`, read directly: no git process).
fn checked_out_branch(project: &Path) -> Option<String> {
    let mut dir = Some(project);
    while let Some(d) = dir {
        let git = d.join(".git");
        let head = if git.is_file() {
            // a worktree: "gitdir: <path>"
            let gitdir = std::fs::read_to_string(&git).ok()?;
            let gitdir = Path::new(gitdir.trim().strip_prefix("gitdir:")?.trim()).to_path_buf();
            std::fs::read_to_string(d.join(gitdir).join("HEAD")).ok()
        } else {
            std::fs::read_to_string(git.join("HEAD")).ok()
        };
        if let Some(h) = head {
            return h.trim().strip_prefix("ref: refs/heads/").map(str::to_string);
        }
        dir = d.parent();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(k: &str) -> Option<Ticket> {
        Some(Ticket::Key(k.into()))
    }

    fn gh(repo: &str, number: u64) -> Option<Ticket> {
        Some(Ticket::GitHub { repo: repo.into(), number })
    }

    #[test]
    fn keys_match_the_seeds_pattern() {
        assert_eq!(find("PLAT-4471"), key("PLAT-4471"));
        assert_eq!(find("MEM-12"), key("MEM-12"));
        assert_eq!(find("feature/PLAT-4471-retry-budget"), key("PLAT-4471"));
        assert_eq!(find("[OPS_2-7] fix the retry"), key("OPS_2-7"));
        assert_eq!(find("A2B-1"), key("A2B-1"));
    }

    #[test]
    fn near_miss_keys_do_not_match() {
        for text in ["plat-4471", "Plat-4471", "P-12", "PLAT-", "PLAT-abc", "xPLAT-12", "PLAT-12a", "2PLAT-1", "PLAT 12", "-12"] {
            assert_eq!(find(text), None, "{text:?}");
        }
    }

    #[test]
    fn github_numbers_need_a_repository_reference() {
        assert_eq!(find("acme/shop#12"), gh("acme/shop", 12));
        assert_eq!(find("fixes acme/my.repo_x#7 today"), gh("acme/my.repo_x", 7));
        for text in ["#12", "fixes #12", "shop#12", "acme/shop#", "acme/shop#x1", "acme/shop #12", "a/b/c#12", "acme/shop##12"] {
            assert_eq!(find(text), None, "{text:?}");
        }
    }

    #[test]
    fn the_three_url_shapes() {
        assert_eq!(find("https://linear.app/acme/issue/PLAT-12/retry-the-webhook"), key("PLAT-12"));
        assert_eq!(find("https://acme.atlassian.net/browse/PLAT-4471"), key("PLAT-4471"));
        assert_eq!(find("https://github.com/acme/shop/issues/12"), gh("acme/shop", 12));
        assert_eq!(find("see github.com/acme/shop/issues/3#issuecomment-9"), gh("acme/shop", 3));
    }

    #[test]
    fn near_miss_urls_do_not_name_their_key() {
        // a pull request is no issue; the URL's own parts are no key
        assert_eq!(find("https://github.com/acme/shop/pull/12"), None);
        assert_eq!(find("https://linear.app/acme/project/roadmap"), None);
        assert_eq!(find("https://acme.atlassian.net/wiki/spaces/ENG"), None);
        assert_eq!(find("https://notlinear.app/acme/issue/PLAT-12"), key("PLAT-12"), "the key itself still matches");
        assert_eq!(find("https://example.com/acme/shop/issues/12"), None);
    }

    #[test]
    fn detection_tries_the_places_in_order() {
        let all = Places {
            flag: Some("PLAT-1".into()),
            spec: Some("PLAT-2".into()),
            pull_request_title: Some("PLAT-3: retry".into()),
            branch: Some("feature/PLAT-4".into()),
        };
        assert_eq!(all.detect().unwrap(), Some((Ticket::Key("PLAT-1".into()), Source::Flag)));
        let no_flag = Places { flag: None, ..all.clone() };
        assert_eq!(no_flag.detect().unwrap(), Some((Ticket::Key("PLAT-2".into()), Source::Spec)));
        let ci = Places { spec: None, ..no_flag.clone() };
        assert_eq!(ci.detect().unwrap(), Some((Ticket::Key("PLAT-3".into()), Source::PullRequestTitle)));
        let branch = Places { pull_request_title: Some("no ticket here".into()), ..ci.clone() };
        assert_eq!(branch.detect().unwrap(), Some((Ticket::Key("PLAT-4".into()), Source::Branch)));
        assert_eq!(Places { branch: Some("main".into()), ..branch }.detect().unwrap(), None);
        let bad = Places { flag: Some("plat-1".into()), ..Places::default() };
        assert_eq!(bad.detect().unwrap_err(), "--ticket: expected a ticket (PLAT-4471, owner/repo#12 or an issue URL), found \"plat-1\"");
    }

    #[test]
    fn display_reads_back() {
        for t in [Ticket::Key("PLAT-9".into()), Ticket::GitHub { repo: "acme/shop".into(), number: 4 }] {
            assert_eq!(Ticket::parse(&t.to_string()), Some(t));
        }
    }
}
