//! `oc-integrate report`: print round reports (every service's latest, or one service's
//! latest or round M), headings and verdicts highlighted, or as JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::{report, spec};
use serde_json::json;

use super::table::{Paint, fail, json, say, text};

/// Print a round report: the latest of every service, or SERVICE's latest or round M.
#[derive(clap::Args)]
pub struct Args {
    /// The service (its directory name); all services when absent.
    service: Option<String>,
    /// The round number (default: the latest).
    #[arg(long, requires = "service")]
    round: Option<u32>,
    /// Directory of integrations.
    #[arg(long, default_value = "integrations")]
    dir: PathBuf,
    /// Print JSON (service, round, verdict, path, markdown), for scripts.
    #[arg(long)]
    json: bool,
}

/// Print the chosen round reports.
pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let (dir, service, round, as_json) = (args.dir.as_path(), args.service.as_deref(), args.round, args.json);
    let services: Vec<String> = match service {
        Some(s) => vec![s.to_string()],
        None => match spec::load_dir(dir) {
            Ok(specs) => specs.iter().filter_map(|s| s.as_ref().ok().map(|s| s.id.clone())).collect(),
            Err(e) => return fail(e),
        },
    };
    let mut shown = Vec::new();
    for id in services {
        if !dir.join(&id).join("spec.yaml").is_file() {
            return fail(format!("{}: expected a service with a spec.yaml, found none", dir.join(&id).display()));
        }
        let history = report::history(&dir.join(&id));
        let picked = match round {
            Some(m) => history.iter().find(|r| r.number == m),
            None => history.last(),
        };
        let Some(r) = picked else {
            let have = if history.is_empty() {
                "no rounds yet (a complete harness run writes them)".to_string()
            } else {
                format!("rounds {}", ranges(history.iter().map(|r| r.number)))
            };
            let want = round.map(|m| format!("round {m}")).unwrap_or_else(|| "a round".into());
            if service.is_some() {
                return fail(format!("{}: expected {want} of {id:?}, found {have}", dir.join(&id).display()));
            }
            eprintln!("{id}: {have}");
            continue;
        };
        let markdown = match std::fs::read_to_string(&r.path) {
            Ok(t) => t,
            Err(e) => return fail(format!("{}: {e}", r.path.display())),
        };
        shown.push(json!({
            "service": id,
            "round": r.number,
            "verdict": if r.passed { "PASS" } else { "FAIL" },
            "escalated": r.escalated(),
            "path": r.path.display().to_string(),
            "markdown": markdown,
        }));
    }
    if as_json {
        return json(&shown);
    }
    for (i, r) in shown.iter().enumerate() {
        if i > 0 {
            say!();
        }
        say!("{}", paint.bold(&format!("# {}", text(&r["path"]))));
        for line in text(&r["markdown"]).lines() {
            match line.strip_prefix("### Verdict: ") {
                Some(v) => say!("### Verdict: {}", paint.verdict(v, 0)),
                None if line.starts_with('#') => say!("{}", paint.bold(line)),
                None => say!("{line}"),
            }
        }
    }
    ExitCode::SUCCESS
}

/// Ascending numbers as ranges: `1-4, 6, 8-20`.
fn ranges(numbers: impl IntoIterator<Item = u32>) -> String {
    let mut spans: Vec<(u32, u32)> = Vec::new();
    for n in numbers {
        match spans.last_mut() {
            Some((_, end)) if *end + 1 == n => *end = n,
            _ => spans.push((n, n)),
        }
    }
    spans.iter().map(|(a, b)| if a == b { a.to_string() } else { format!("{a}-{b}") }).collect::<Vec<_>>().join(", ")
}
