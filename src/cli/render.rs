//! `oc-integrate render`: the seed's integration-spec.md and contract.md, rendered beside
//! every spec.yaml from it.

use std::path::PathBuf;
use std::process::ExitCode;

use oc_integrate::case::Case;
use oc_integrate::{plan, scenario, spec};

use super::each_spec;
use super::table::{Paint, say};

/// Write integration-spec.md and contract.md (the seed's templates) beside every spec.yaml under DIR.
#[derive(clap::Args)]
pub struct Args {
    /// Directory of integrations.
    #[arg(default_value = "integrations")]
    dir: PathBuf,
}

pub fn run(args: Args, _: &Paint) -> ExitCode {
    each_spec(&args.dir, |s| match write_documents(s, &scenario::plan(s)) {
        Ok(paths) => {
            for p in paths {
                say!("wrote {}", p.display());
            }
            true
        }
        Err(e) => {
            eprintln!("error: {e}");
            false
        }
    })
}

/// Write integration-spec.md and contract.md beside `spec`, whose cases are `cases`; `Err`
/// names the file that failed.
pub fn write_documents(spec: &spec::Spec, cases: &[Case]) -> Result<Vec<PathBuf>, String> {
    // the two documents rendered at once: a provider's contract (GitHub's 47,000 cases) takes a while
    let (integration_spec, contract) = std::thread::scope(|scope| {
        let integration_spec = scope.spawn(|| plan::document::integration_spec(spec));
        let contract = plan::contract::render_cases(spec, cases);
        (oc_integrate::cores::join(integration_spec), contract)
    });
    let docs = [(plan::document::path_for(spec), integration_spec), (plan::contract::path_for(spec), contract)];
    let mut written = Vec::new();
    for (path, text) in docs {
        std::fs::write(&path, text).map_err(|e| format!("{}: {e}", path.display()))?;
        written.push(path);
    }
    Ok(written)
}
