//! `oc-integrate cases`: the trials each spec generates (mock cases, then sandbox trials),
//! as a listing with what each demands, bare names, or JSON.

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::case::Subject;
use oc_integrate::scenario::{self, Policy};
use oc_integrate::{sandbox, spec};
use serde_json::json;

use super::table::{Paint, fail, json, say};

/// List the cases each spec generates, with what each one demands.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
    /// Print only the trial names.
    #[arg(long)]
    names: bool,
    /// Print a JSON array: per trial its name, service, what it targets, kind, title and
    /// spec location (`file:line:col`), and whether it runs against mocks or the sandbox.
    #[arg(long, conflicts_with = "names")]
    json: bool,
}

pub fn run(args: Args, _: &Paint) -> ExitCode {
    let specs = match spec::load_dir(&args.dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut bad = false;
    let mut rows = Vec::new();
    for s in &specs {
        let s = match s {
            Ok(s) => s,
            Err(e) => {
                eprintln!("error: {e}");
                bad = true;
                continue;
            }
        };
        if args.json {
            rows.extend(scenario::plan(s).iter().map(|c| {
                json!({"name": c.name(), "service": s.id, "subject": c.subject.label(s), "kind": c.kind.name(),
                    "title": c.title(), "spec": s.locate(&c.subject.path()), "against": "mock"})
            }));
            rows.extend(sandbox::trial::plan(s).iter().map(|c| {
                json!({"name": c.name(), "service": s.id, "subject": if c.subject_id.is_empty() { "sandbox" } else { &c.subject_id },
                    "kind": c.kind(), "title": c.title(s), "spec": s.locate(&c.path()), "against": "sandbox"})
            }));
            continue;
        }
        for case in scenario::plan(s) {
            if args.names {
                say!("{}", case.name());
            } else {
                say!("{:<60} {} — {}", case.name(), case.subject.label(s), case.title());
            }
        }
        for case in sandbox::trial::plan(s) {
            if args.names {
                say!("{}", case.name());
            } else {
                say!("{:<60} sandbox — {}", case.name(), case.title(s));
            }
        }
        if !args.names {
            let policy = Policy::of(s, Subject::Endpoint(0));
            let sender = match &s.webhooks.sender {
                Some(_) => format!(", webhook sender {} attempts", Policy::of(s, Subject::Sender).retry.max_attempts),
                None => String::new(),
            };
            say!(
                "  ({}: time scale {}, attempt budget {:.3} s, {} attempts{sender}, Retry-After {} s)\n",
                s.id,
                policy.time_scale,
                policy.budget.as_secs_f64(),
                policy.retry.max_attempts,
                policy.retry_after.as_secs()
            );
        }
    }
    if args.json {
        json(&rows);
    }
    // the process ends here: a provider's spec (its examples, its compiled schemas) is not
    // taken apart value by value first, which was an eighth of listing Stripe's cases
    std::mem::forget(specs);
    if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}
