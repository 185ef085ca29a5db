//! `oc-integrate connect <service>`: the seed's Quick Build Mode, for an API-key service with
//! one to three endpoints. Its spec (planned from the provider's document and the catalog,
//! as `plan` does, unless one is there already) → the typed client and its binding (as
//! `build` scaffolds them) → a smoke test: the conformance cases, and the sandbox trials
//! when the spec declares a sandbox (each ignored, saying why, without its credentials or an
//! answering sandbox; `harness::round::smoke`). No contract, no round report; the quick build
//! is recorded in the checkpoint. Any other service is refused, pointing to `plan` + `build`.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oc_integrate::harness::round::{self, Request, Trials};
use oc_integrate::plan::{self, catalog};
use oc_integrate::progress::Progress;
use oc_integrate::{checkpoint, spec};
use serde_json::Value;

use super::table::{Paint, fail, say};

/// The most endpoints a quick build takes (the seed: "API key auth, 1-3 endpoints").
const MOST_ENDPOINTS: usize = 3;

/// Quick build of SERVICE (an API-key service with 1 to 3 endpoints): plan its spec from the
/// provider's document and the catalog (unless integrations/<SERVICE>/spec.yaml exists), write
/// the typed client and its binding, then smoke-test it: the conformance cases, and the sandbox
/// trials when the sandbox's credentials are set. No contract, no round report. Exit 0 the
/// smoke test passed, 1 it failed, 2 refused or nothing run.
#[derive(clap::Args)]
pub struct Args {
    /// The service id: the catalog provider (sendgrid, slack, …) or the directory of an existing spec.
    service: String,
    /// The provider's API description (OpenAPI 3.x or Swagger 2.0) to plan the spec from.
    #[arg(long)]
    openapi: Option<PathBuf>,
    /// The endpoints to plan (ids like send_mail, or operationIds), comma-separated: at most three.
    #[arg(long, value_delimiter = ',', requires = "openapi")]
    endpoints: Vec<String>,
    #[command(flatten)]
    project: super::build::Project,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let mut request = Request::new(".", &args.service);
    request.target = args.project.target.clone();
    let spec = match spec_of(&args, &request.checkpoint) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if let Ok(Some(p)) = catalog::find(&args.service)
        && p.build.mode == catalog::BuildMode::Full
    {
        say!("note: the catalog advises the full harness for {} ({}): `oc-integrate build {}` runs it", p.name, p.build.why, spec.id);
    }
    let scaffolded = match super::build::scaffold(&spec, &args.project, paint) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !scaffolded.ready {
        say!("then: oc-integrate connect {} (the smoke test)", spec.id);
        return ExitCode::SUCCESS;
    }
    request.sandbox = spec.sandbox.is_some();
    say!(
        "smoke test: the conformance cases{} (this takes as long as the suite builds and runs)",
        match request.sandbox {
            true => ", then the sandbox trials",
            false => "",
        }
    );
    let smoke = match round::smoke(&request) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(2);
        }
    };
    let c = &smoke.conformance;
    let score = format!("{}/{}", c.passed.len(), c.passed.len() + c.failed.len());
    let (sandbox, said) = sandbox_verdict(&smoke.sandbox, request.sandbox);
    let verdict = if smoke.passed() { "PASS" } else { "FAIL" };
    for (name, account) in c.failed.iter().chain(&smoke.sandbox.failed) {
        say!("---- {name} ----\n{account}\n");
    }
    say!("{} of {}: {} ({score} conformance cases pass)", paint.bold("smoke test"), spec.id, paint.verdict(verdict, 4));
    match sandbox {
        "not run" => say!("sandbox trials: not run: {said}"),
        _ => say!("sandbox trials: {sandbox} ({said})"),
    }
    say!("ran: {}\noutput: {}", smoke.commands.join(" ; "), smoke.log.display());
    let failures = [smoke.conformance.to_do(), smoke.sandbox.to_do()].concat();
    let skipped = (sandbox == "not run").then_some(said.as_str());
    let record = checkpoint::Smoke { verdict, score, sandbox, sandbox_skipped: skipped, failures };
    if let Err(e) = checkpoint::record_connect(&request.checkpoint, &spec, &scaffolded.files, &record) {
        return fail(e);
    }
    if smoke.passed() {
        say!("{} is connected; `oc-integrate build {}` runs the full harness on it when it grows", spec.id, spec.id);
        ExitCode::SUCCESS
    } else {
        say!("fix what the failures name, then `oc-integrate connect {}` again", spec.id);
        ExitCode::FAILURE
    }
}

/// The sandbox trials' verdict (`PASS`, `FAIL`, `not run`) and what to say of it: how many
/// passed or failed, or why they did not run.
fn sandbox_verdict(t: &Trials, declared: bool) -> (&'static str, String) {
    if !declared {
        return ("not run", "the spec declares no sandbox".into());
    }
    let ran = t.passed.len() + t.failed.len();
    match (t.failed.len(), ran) {
        (0, 0) => ("not run", t.ignored.first().map_or_else(|| "none ran".into(), |(_, why)| why.clone())),
        (0, n) => ("PASS", format!("{n} passed")),
        (f, n) => ("FAIL", format!("{f} of {n} failed")),
    }
}

/// The service's spec: the one under `dir`, or one planned now from `--openapi` (written, and
/// recorded as `planned` in the checkpoint at `state`); refused unless it fits a quick build.
fn spec_of(args: &Args, state: &Path) -> Result<spec::Spec, String> {
    let file = args.project.dir.join(&args.service).join("spec.yaml");
    if file.is_file() {
        if args.openapi.is_some() {
            return Err(format!(
                "--openapi: expected no spec yet to plan, found {} (connect uses it; `oc-integrate plan {} --force --openapi …` plans it anew)",
                file.display(),
                args.service
            ));
        }
        let spec = spec::load_file(&file).map_err(|e| e.to_string())?;
        let auth = serde_json::to_value(&spec.overview.auth).unwrap_or_default();
        let build = format!("`oc-integrate build {}` runs the full harness on it", args.service);
        quick(&args.service, &auth["kind"], spec.endpoints.len(), &build)?;
        return Ok(spec);
    }
    let Some(openapi) = &args.openapi else {
        return Err(format!(
            "{}: expected the service's spec, or the provider's API description to plan it from (--openapi DOC --endpoints ids), found neither",
            file.display()
        ));
    };
    let select = plan::Select { endpoints: args.endpoints.clone(), progress: Progress::on_stderr(), ..plan::Select::default() };
    let mut planned = super::plan::make(&args.service, Some(openapi), select, true)?;
    let doc =
        spec::yaml::parse_document(&planned.yaml).map_err(|e| format!("the planned spec does not parse (a planner bug): {}", e.message))?;
    let endpoints = doc["endpoints"].as_array().map_or(0, Vec::len);
    let full = format!(
        "plan it with `oc-integrate plan {} --openapi {} --endpoints …`, then `oc-integrate build {}` (the full harness)",
        args.service,
        openapi.display(),
        args.service
    );
    quick(&args.service, &doc["overview"]["auth"]["kind"], endpoints, &full)?;
    super::plan::write(&args.service, &mut planned, true, &args.project.dir, false, state)
}

/// Whether a service authenticated by `auth` (the spec's `overview.auth.kind`) with
/// `endpoints` endpoints is one for the quick build; the refusal names what was expected and
/// found, and `instead`, the full harness's way.
fn quick(service: &str, auth: &Value, endpoints: usize, instead: &str) -> Result<(), String> {
    let auth = auth.as_str().unwrap_or("none");
    if auth != "api_key" {
        return Err(format!(
            "{service}: the quick build expected an API-key service, found {auth} auth (the seed gives anything with OAuth the full harness): {instead}"
        ));
    }
    if !(1..=MOST_ENDPOINTS).contains(&endpoints) {
        return Err(format!(
            "{service}: the quick build expected 1 to {MOST_ENDPOINTS} endpoints, found {endpoints} (keep the few the project calls with --endpoints, or {instead})"
        ));
    }
    Ok(())
}
