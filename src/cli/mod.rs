//! The `oc-integrate` verbs, one file each: its arguments (a clap `Args` struct) and its
//! `run`, which prints what it finds and returns the exit status. `table` is what they
//! print with. A new verb is a new file here and one arm of `main.rs`'s `Command`.

pub mod build;
pub mod cases;
pub mod check;
pub mod checkpoint;
pub mod connect;
pub mod drift;
pub mod health;
pub mod list;
pub mod mcp;
pub mod oauth;
pub mod plan;
pub mod pm;
pub mod render;
pub mod report;
pub mod retry;
pub mod schema;
pub mod secrets;
pub mod table;
pub mod test;
pub mod webhook;

use std::path::Path;
use std::process::ExitCode;

use oc_integrate::spec;

use table::fail;

/// Run `each` on every spec under `dir` (it prints what it finds and says whether the spec
/// is fine); a broken spec is printed as an error. Exit 1 when any was not fine.
fn each_spec(dir: &Path, mut each: impl FnMut(&spec::Spec) -> bool) -> ExitCode {
    let specs = match spec::load_dir(dir) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut bad = false;
    for s in specs {
        match s {
            Ok(s) => bad |= !each(&s),
            Err(e) => {
                bad = true;
                eprintln!("error: {e}");
            }
        }
    }
    if bad { ExitCode::FAILURE } else { ExitCode::SUCCESS }
}

/// The specs under `dir` that load, and the errors of those that do not.
fn loadable(dir: &Path) -> Result<(Vec<spec::Spec>, Vec<spec::SpecError>), spec::SpecError> {
    let (mut specs, mut broken) = (Vec::new(), Vec::new());
    for s in spec::load_dir(dir)? {
        match s {
            Ok(s) => specs.push(s),
            Err(e) => broken.push(e),
        }
    }
    Ok((specs, broken))
}
