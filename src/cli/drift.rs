//! `oc-integrate drift`: review the shapes the last drift checks left pending beside their
//! baselines (exit 0 none, 4 additive only, 5 breaking), or accept them as the new baselines.

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::drift::{self, Severity};

use super::each_spec;
use super::table::{Paint, say};

/// Review the drift the last drift checks found (shapes left beside their baselines as
/// `<endpoint>.json.new`): exit 0 none, 4 additive only, 5 breaking; `--accept` makes
/// them the new baselines.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
    /// Accept every pending shape as its endpoint's baseline (widening it).
    #[arg(long)]
    accept: bool,
}

/// The pending shapes under DIR against their baselines, or accepted.
pub fn run(args: Args, _: &Paint) -> ExitCode {
    let (dir, accept) = (args.dir.as_path(), args.accept);
    let mut worst = None;
    let code = each_spec(dir, |s| {
        let mut fine = true;
        for e in &s.endpoints {
            let base = drift::baseline_path(s, &e.id);
            let pending = drift::pending_path(&base);
            let live = match drift::read_baseline(&pending) {
                Ok(Some(l)) => l,
                Ok(None) => continue,
                Err(err) => {
                    eprintln!("error: {err}");
                    fine = false;
                    continue;
                }
            };
            if accept {
                match drift::accept(&base, &live).and_then(|()| {
                    std::fs::remove_file(&pending).map_err(|err| drift::BaselineError { path: pending.clone(), message: err.to_string() })
                }) {
                    Ok(()) => say!("accepted {}", base.display()),
                    Err(err) => {
                        eprintln!("error: {err}");
                        fine = false;
                    }
                }
                continue;
            }
            let baseline = match drift::read_baseline(&base) {
                Ok(b) => b.unwrap_or_default(),
                Err(err) => {
                    eprintln!("error: {err}");
                    fine = false;
                    continue;
                }
            };
            let changes = baseline.diff(&live);
            worst = worst.max(drift::worst(&changes));
            say!("{}::{} ({})", s.id, e.id, pending.display());
            for c in &changes {
                say!("  {c}");
            }
            say!("{}", drift::unified_diff(&baseline, &live));
        }
        fine
    });
    if code != ExitCode::SUCCESS || accept {
        return code;
    }
    match worst {
        None => {
            say!("no pending drift");
            ExitCode::SUCCESS
        }
        Some(Severity::Additive) => ExitCode::from(oc_integrate::harness::DRIFT_ADDITIVE),
        Some(Severity::Breaking) => ExitCode::from(oc_integrate::harness::DRIFT_BREAKING),
    }
}
