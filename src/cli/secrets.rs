//! `oc-integrate secrets`: the seed's secret audit. Judges each declared secret (storage,
//! rotation, age, its value found in the repository) and scans the working tree and the
//! whole git history for leaked credentials (`oc_integrate::secrets`); prints a table, or
//! JSON; exits 0 when clean, 1 on a finding, 2 when it cannot audit.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::{Instant, SystemTime};

use oc_integrate::secrets::{self, Audit, Declared, Detectors, Finding, Options, Scan, Verdict};
use oc_integrate::{checkpoint, redact};
use serde_json::{Value, json};

use super::table::{Paint, fail, project_name, say, table};

/// Audit the secrets declared under DIR (storage, rotation, age) and scan the working tree
/// and every commit of every ref of its git repository for leaked credentials. Findings show
/// commit, path, line and a masked preview, never the secret. Exit 0: clean (notes allowed);
/// 1: a finding; 2: the audit could not be made.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
    /// The git repository to scan (default: the one DIR is in, found as git finds it).
    #[arg(long)]
    repo: Option<PathBuf>,
    /// Scan the working tree only, not the history.
    #[arg(long)]
    no_history: bool,
    /// The allow-list of paths whose findings are expected, one glob a line (default:
    /// .oc-secrets-allow at the repository's root).
    #[arg(long, value_name = "FILE")]
    allow: Option<PathBuf>,
    /// Print JSON (the audit, the findings, what was scanned), for scripts.
    #[arg(long)]
    json: bool,
    /// The project name in the title (default: the current directory's name).
    #[arg(long)]
    project: Option<String>,
    /// The checkpoint, whose `rotated_at` dates (skill_state.integrations.<svc>.rotated_at.<secret
    /// name>) count as well as the spec's.
    #[arg(long, env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
    checkpoint: PathBuf,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let (specs, broken) = match super::loadable(&args.dir) {
        Ok((specs, errors)) => {
            for e in &errors {
                eprintln!("error: {e}");
            }
            (specs, !errors.is_empty())
        }
        Err(e) => return fail(e),
    };
    let state = checkpoint::read(&args.checkpoint).unwrap_or_else(|e| {
        eprintln!("warning: the checkpoint's rotated_at dates are not used: {e}");
        Value::Null
    });
    let envs: Vec<&str> = specs.iter().flat_map(|s| s.secrets.iter().filter_map(|r| r.env.as_deref())).collect();
    let declared: Vec<Declared> = envs.iter().filter_map(|e| Declared::from_env(e)).collect();
    let searched: Vec<String> = declared.iter().map(|d| d.env().to_string()).collect();
    let detectors = Detectors::new(declared);
    let options = Options { exact: args.repo.is_some(), history: !args.no_history, allow: args.allow.clone() };
    let started = Instant::now();
    let scan = match secrets::scan(args.repo.as_deref().unwrap_or(&args.dir), &options, &detectors) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let took = started.elapsed();
    let now = SystemTime::now().duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs() as i64);
    let searched: Vec<&str> = searched.iter().map(String::as_str).collect();
    let audits: Vec<Audit> = specs
        .iter()
        .flat_map(|s| {
            let rotated = |name: &str| state["skill_state"]["integrations"][s.id.as_str()]["rotated_at"][name].as_str().map(str::to_string);
            secrets::audit(s, &rotated, now, &searched, &scan.findings)
        })
        .collect();
    let finding = !scan.findings.is_empty() || audits.iter().any(|a| a.verdict == Verdict::Finding);
    if let Err(e) = record(&args.checkpoint, &specs, &audits, finding, scan.findings.len()) {
        eprintln!("warning: the audit is not recorded in the checkpoint: {e}");
    }
    if args.json {
        let all = json!({
            "project": project_name(args.project.as_deref()),
            "verdict": if finding { "findings" } else { "clean" },
            "secrets": audits,
            "scan": scan,
            "seconds": took.as_secs_f64(),
        });
        say!("{}", redact::redact(&serde_json::to_string_pretty(&all).unwrap_or_default()));
    } else {
        print_table(&project_name(args.project.as_deref()), &audits, &scan, took.as_secs_f64(), paint);
    }
    if finding {
        ExitCode::FAILURE
    } else if broken {
        ExitCode::from(2)
    } else {
        ExitCode::SUCCESS
    }
}

/// The declared secrets, the leaks, the numbered issues, what was scanned.
fn print_table(project: &str, audits: &[Audit], scan: &Scan, seconds: f64, paint: &Paint) {
    let rule = "━".repeat(39);
    let cell = |s: &str| redact::redact(s);
    say!("{}", paint.bold(&format!("SECRET AUDIT — {project}")));
    say!("{rule}");
    let rows: Vec<Vec<String>> = audits
        .iter()
        .map(|a| {
            let age = match (a.age_days, &a.schedule) {
                (Some(d), secrets::Rotation::Every { days }) => format!("{d} d of {days}"),
                (Some(d), _) => format!("{d} d"),
                (None, _) => "-".into(),
            };
            let found = match (&a.env, a.searched, a.found_at.len()) {
                (None, _, _) => "-".to_string(),
                (Some(_), false, _) => "not searched".into(),
                (Some(_), true, 0) => "no".into(),
                (Some(_), true, n) => format!("yes ({n})"),
            };
            vec![a.service.clone(), cell(&a.name), cell(&a.storage), cell(&a.rotation), age, found, a.verdict.word().into()]
        })
        .collect();
    table(paint, &["service", "secret", "storage", "rotation", "age", "value in repo", "verdict"], &rows, &[6]);
    say!("");
    let rows: Vec<Vec<String>> = scan
        .findings
        .iter()
        .map(|f| {
            let commit = f.commit.as_deref().map_or("-".to_string(), |c| c[..c.len().min(8)].to_string());
            vec![commit, cell(&f.path), f.line.to_string(), cell(&f.title), cell(&f.preview), now(f).into()]
        })
        .collect();
    if rows.is_empty() {
        say!("Leaks: none");
    } else {
        say!("Leaks:");
        table(paint, &["commit", "path", "line", "found", "preview", "now"], &rows, &[]);
    }
    say!("Issues:");
    let mut issues: Vec<String> = audits.iter().flat_map(|a| &a.issues).map(|i| format!("{}{}", lead(i.verdict), i.text)).collect();
    let unset: Vec<String> = audits.iter().filter(|a| !a.searched).filter_map(|a| a.env.as_ref().map(|e| format!("${e}"))).collect();
    if !unset.is_empty() {
        issues.push(format!("{}values not searched for, their variables unset here: {}", lead(Verdict::Note), unset.join(", ")));
    }
    if !scan.findings.is_empty() {
        let history = scan.findings.iter().filter(|f| f.commit.is_some()).count();
        issues.push(format!(
            "{}{} secret(s) in the repository, {history} of them committed: rotate each one (deleting a file does not remove it from the history), then remove it",
            lead(Verdict::Finding),
            scan.findings.len()
        ));
    }
    if issues.is_empty() {
        say!("none");
    }
    for (n, issue) in issues.iter().enumerate() {
        say!("{}. {}", n + 1, cell(issue));
    }
    say!("{rule}");
    let allowed = match (&scan.allow_file, scan.allowed) {
        (_, 0) => String::new(),
        (Some(f), n) => format!("; {n} finding(s) allowed by {}", f.display()),
        (None, n) => format!("; {n} finding(s) allowed"),
    };
    say!(
        "scanned {} commit(s) on {} ref(s) ({} blobs) and {} working-tree file(s) in {seconds:.2} s{allowed}",
        scan.commits,
        scan.refs,
        scan.blobs,
        scan.files
    );
}

/// `❌ ` for a finding, `⚠️ ` for a note.
fn lead(v: Verdict) -> &'static str {
    match v {
        Verdict::Finding => "❌ ",
        Verdict::Note => "⚠️ ",
        Verdict::Ok => "",
    }
}

/// Where a leaked secret is now.
fn now(f: &Finding) -> &'static str {
    match (&f.commit, f.in_worktree) {
        (Some(_), true) => "in the tree",
        (Some(_), false) => "history only",
        (None, _) => "uncommitted",
    }
}

/// Record the audit in the checkpoint (the seed's "secret audit": findings, rotation
/// schedule): each integration's worst verdict, issues and rotation schedules.
fn record(
    path: &std::path::Path,
    specs: &[oc_integrate::spec::Spec],
    audits: &[Audit],
    finding: bool,
    leaks: usize,
) -> Result<(), checkpoint::CheckpointError> {
    let entries: Vec<checkpoint::SecretsEntry> = specs
        .iter()
        .map(|s| {
            let own: Vec<&Audit> = audits.iter().filter(|a| a.service == s.id).collect();
            let verdict = match own.iter().map(|a| a.verdict).max() {
                Some(Verdict::Finding) => "findings",
                Some(Verdict::Note) => "notes",
                _ => "clean",
            };
            checkpoint::SecretsEntry {
                service: &s.id,
                verdict,
                rotation: own.iter().map(|a| (a.name.as_str(), a.rotation.as_str())).collect(),
                issues: own.iter().flat_map(|a| a.issues.iter().map(|i| format!("{}: {}", a.name, i.text))).collect(),
            }
        })
        .collect();
    let at = oc_integrate::text::rfc3339(SystemTime::now());
    checkpoint::record_secrets(path, &at, if finding { "findings" } else { "clean" }, leaks, &entries).map(|_| ())
}
