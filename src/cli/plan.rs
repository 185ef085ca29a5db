//! `oc-integrate plan`: make a service's spec from the provider's API description and the
//! provider catalog (or a skeleton from the catalog alone), list the catalog's providers,
//! or lint the contracts of the specs under a directory.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oc_integrate::plan::{self, catalog};
use oc_integrate::pm::{self, Ticket};
use oc_integrate::progress::Progress;
use oc_integrate::text::clip;
use oc_integrate::{checkpoint, scenario, spec};

use super::table::{Paint, fail, say, table};
use super::{each_spec, render};

/// Make integrations/<SERVICE>/spec.yaml from the provider's OpenAPI (3.0, 3.1) or
/// Swagger 2.0 document and the provider catalog, or a skeleton from the catalog alone;
/// what cannot be decided is written as TODOs and listed. `--catalog` lists the
/// providers the catalog knows; `--check` lints the contract of every spec under DIR.
#[derive(clap::Args)]
pub struct Args {
    /// The service id (lowercase letters, digits, _): the directory name, and the
    /// catalog provider when it names one (stripe, github, google, …).
    #[arg(required_unless_present_any = ["catalog", "check"])]
    service: Option<String>,
    /// The API description (JSON or YAML).
    #[arg(long)]
    openapi: Option<PathBuf>,
    /// Keep only these endpoints (ids like get_customer, or operationIds), comma-separated.
    #[arg(long, value_delimiter = ',', requires = "openapi")]
    endpoints: Vec<String>,
    /// Keep only operations with these tags, comma-separated.
    #[arg(long, value_delimiter = ',', requires = "openapi")]
    tag: Vec<String>,
    /// Keep at most N of the selected operations, in document order.
    #[arg(long, requires = "openapi")]
    limit: Option<usize>,
    /// Directory of integrations.
    #[arg(long, default_value = "integrations")]
    dir: PathBuf,
    /// Replace an existing spec.yaml.
    #[arg(long)]
    force: bool,
    /// Print the spec instead of writing it.
    #[arg(long)]
    stdout: bool,
    /// The PM ticket the work comes from (PLAT-4471, owner/repo#12, or an issue URL): read
    /// through .opchain/pm.yaml's tracker as planning context, and cited in the spec
    /// (`ticket:`, where test rounds are written back) and integration-spec.md.
    #[arg(long, conflicts_with_all = ["catalog", "check"])]
    ticket: Option<String>,
    /// List the providers of the built-in catalog (harness mode, auth, what it knows).
    #[arg(long, conflicts_with_all = ["service", "check"])]
    catalog: bool,
    /// Lint the contract of every spec under DIR (default: integrations): print each
    /// finding with its spec line and what to add; exit 1 when there are any.
    #[arg(long, value_name = "DIR", num_args = 0..=1, default_missing_value = "integrations", conflicts_with = "service")]
    check: Option<PathBuf>,
    /// The checkpoint, where a planned spec (`planned`) and the contract lint's answer are recorded.
    #[arg(long, env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
    checkpoint: PathBuf,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    if args.catalog {
        return list_providers(paint);
    }
    if let Some(dir) = &args.check {
        return lint(dir, &args.checkpoint);
    }
    let select = plan::Select {
        endpoints: args.endpoints,
        tags: args.tag,
        limit: args.limit,
        inline_schemas: args.stdout,
        progress: Progress::on_stderr(),
    };
    let ticket = match args.ticket.as_deref().map(|t| Ticket::parse(t).ok_or(t)).transpose() {
        Ok(t) => t,
        Err(t) => return fail(format!("--ticket: expected a ticket (PLAT-4471, owner/repo#12 or an issue URL), found {t:?}")),
    };
    let service = args.service.as_deref().unwrap_or_default();
    plan_spec(service, args.openapi.as_deref(), select, &args.dir, (args.force, args.stdout), &args.checkpoint, ticket.as_ref())
}

/// Read `ticket` through the configured tracker and print it as planning context: its title,
/// state, description and last comments, clipped and redacted. A tracker that cannot be read
/// is a note: planning goes on without the context.
fn ticket_context(ticket: &Ticket) {
    let settings = pm::Settings::from_env(&std::env::current_dir().unwrap_or_default(), None);
    let read = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| e.to_string())
        .and_then(|rt| rt.block_on(pm::writeback::read_ticket(&settings, ticket)));
    match read {
        Ok(issue) => {
            say!("ticket {} ({}): {}", issue.id, clip(&issue.status), clip(&issue.title));
            for line in clip(&issue.description).lines().filter(|l| !l.trim().is_empty()) {
                say!("  {line}");
            }
            for c in issue.comments.iter().rev().take(RECENT_COMMENTS).rev() {
                say!("  comment {}: {}", clip(&c.created), clip(&c.body).replace('\n', " "));
            }
        }
        Err(note) => say!("{note}"),
    }
}

/// How many of a ticket's latest comments planning shows.
const RECENT_COMMENTS: usize = 5;

/// Ask on the terminal which of the document's operations to plan.
fn pick_endpoints(doc: serde_json::Value) -> Result<Vec<String>, String> {
    let offered = plan::pick::offer(doc).map_err(|e| e.to_string())?;
    for (i, o) in offered.iter().enumerate() {
        let tags = if o.tags.is_empty() { String::new() } else { format!("  [{}]", o.tags.join(", ")) };
        eprintln!("{:>5}  {:<7} {:<60} {}{tags}", i + 1, o.method, o.path, o.id);
    }
    loop {
        eprint!("plan which endpoints? (1,3-5, tag:NAME, ids, or all): ");
        let mut answer = String::new();
        match std::io::stdin().read_line(&mut answer) {
            Ok(0) => return Err("expected a selection on the terminal, found end of input (use --endpoints or --tag)".into()),
            Ok(_) => {}
            Err(e) => return Err(format!("could not read the selection: {e}")),
        }
        match plan::pick::choose(&answer, &offered) {
            Ok(ids) => return Ok(ids),
            Err(e) => eprintln!("{e}"),
        }
    }
}

fn plan_spec(
    service: &str,
    openapi: Option<&Path>,
    select: plan::Select,
    dir: &Path,
    (force, to_stdout): (bool, bool),
    state: &Path,
    ticket: Option<&Ticket>,
) -> ExitCode {
    if let Some(t) = ticket {
        ticket_context(t);
    }
    let mut planned = match make(service, openapi, select, !to_stdout) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if let Some(t) = ticket {
        planned.yaml += &format!(
            "\n# The PM ticket this integration's work comes from (plan --ticket); each round is written back to it\nticket: {:?}\n",
            t.to_string()
        );
    }
    if to_stdout {
        say!("{}", planned.yaml);
        for t in &planned.todos {
            eprintln!("TODO {t}");
        }
        return ExitCode::SUCCESS;
    }
    // the document planned from is freed: its pages go before the spec is written and loaded
    crate::give_back_memory();
    let loaded = match write_and_load(service, &mut planned, dir, force) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    if let Err(e) = record(&planned, openapi.is_some(), &loaded, state) {
        return fail(e);
    }
    for f in plan::lint::check(&loaded) {
        say!("  contract: {f}");
    }
    // the process ends here: a provider's spec is not taken apart value by value first
    std::mem::forget(loaded);
    std::mem::forget(planned);
    ExitCode::SUCCESS
}

/// Plan `service`'s spec from the `openapi` document and the catalog (or a skeleton from the
/// catalog alone), not written yet; on a terminal, with nothing selected and `ask`, the
/// operations are offered to choose from.
pub(super) fn make(service: &str, openapi: Option<&Path>, select: plan::Select, ask: bool) -> Result<plan::Planned, String> {
    if plan::snake(service) != service {
        return Err(format!(
            "expected a service id of lowercase letters, digits and _, found {service:?} (try {:?})",
            plan::snake(service)
        ));
    }
    let Some(openapi) = openapi else {
        return catalog::get(service).map(|p| plan::from_catalog(&p, service)).map_err(|e| e.to_string());
    };
    let provider = catalog::find(service).map_err(|e| e.to_string())?;
    let doc = plan::read_document(openapi).map_err(|e| e.to_string())?;
    let mut select = select;
    let nothing_chosen = select.endpoints.is_empty() && select.tags.is_empty() && select.limit.is_none();
    if nothing_chosen && ask && std::io::stdin().is_terminal() && std::io::stderr().is_terminal() {
        select.endpoints = pick_endpoints(doc.clone())?;
    }
    plan::from_openapi(doc, service, &select, provider.as_ref()).map_err(|e| format!("{}: {e}", openapi.display()))
}

/// Write `planned` as `<dir>/<service>/spec.yaml` (an existing one only with `force`) with its
/// rendered documents, say so with its TODOs, and record it in the checkpoint at `state`
/// (`planned`; a checkpoint that cannot be written is a warning). The spec, loaded.
pub(super) fn write(
    service: &str,
    planned: &mut plan::Planned,
    from_document: bool,
    dir: &Path,
    force: bool,
    state: &Path,
) -> Result<spec::Spec, String> {
    let loaded = write_and_load(service, planned, dir, force)?;
    record(planned, from_document, &loaded, state)?;
    Ok(loaded)
}

/// Write `planned` as `<dir>/<service>/spec.yaml` (an existing one only with `force`) and the
/// files beside it, and load it back: the proof it is a spec.
fn write_and_load(service: &str, planned: &mut plan::Planned, dir: &Path, force: bool) -> Result<spec::Spec, String> {
    let path = dir.join(service).join("spec.yaml");
    if path.exists() && !force {
        return Err(format!("{}: expected no spec yet, found one (--force replaces it)", path.display()));
    }
    if force {
        // schema files an earlier plan wrote would otherwise linger beside the new spec
        let schemas = dir.join(service).join("schemas");
        for f in std::fs::read_dir(&schemas).into_iter().flatten().filter_map(Result::ok) {
            if f.file_name().to_string_lossy().contains(".response.schema.") {
                let _ = std::fs::remove_file(f.path());
            }
        }
    }
    planned.write(&dir.join(service)).map_err(|e| e.to_string())?;
    planned.load(&path).map_err(|e| format!("the generated spec does not load (a planner bug, please report it): {e}"))
}

/// The written spec `loaded`'s documents rendered, what was written said with its TODOs, and
/// the plan recorded in the checkpoint at `state` (`planned`; a checkpoint that cannot be
/// written is a warning).
fn record(planned: &plan::Planned, from_document: bool, loaded: &spec::Spec, state: &Path) -> Result<(), String> {
    let planned_cases = scenario::plan(loaded);
    let cases = planned_cases.len();
    render::write_documents(loaded, &planned_cases)?;
    drop(planned_cases);
    let path = loaded.file.display();
    match from_document {
        true => say!("wrote {path} ({} of {} operations, {cases} cases)", planned.selected, planned.available),
        false => say!("wrote {path} (a skeleton from the provider catalog, {cases} cases)"),
    }
    for t in &planned.todos {
        say!("  TODO {t}");
    }
    if let Err(e) = checkpoint::record_plan(state, loaded, planned.todos.len()) {
        eprintln!("warning: the plan is not recorded in the checkpoint: {e}");
    }
    Ok(())
}

/// `plan --catalog`: the providers of the built-in catalog.
fn list_providers(paint: &Paint) -> ExitCode {
    let providers = match catalog::providers() {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    let rows: Vec<Vec<String>> = providers
        .iter()
        .map(|p| {
            let known = |yes: bool, text: String| if yes { text } else { "-".into() };
            vec![
                p.id.clone(),
                p.name.clone(),
                p.build.mode.to_string(),
                p.auth.kind().to_string(),
                known(p.sandbox.is_some(), "yes".into()),
                p.rate_limit.as_ref().and_then(|r| r.limit).map(|l| l.to_string()).unwrap_or_else(|| "-".into()),
                known(p.idempotency.is_some(), p.idempotency.as_ref().map(|i| i.header.clone()).unwrap_or_default()),
                p.webhook
                    .as_ref()
                    .map(|w| w.scheme.map(|s| s.name().to_string()).unwrap_or_else(|| "none".into()))
                    .unwrap_or_else(|| "-".into()),
                p.aliases.join(", "),
            ]
        })
        .collect();
    table(paint, &["PROVIDER", "NAME", "BUILD", "AUTH", "SANDBOX", "RATE LIMIT", "IDEMPOTENCY", "WEBHOOK", "ALIASES"], &rows, &[]);
    ExitCode::SUCCESS
}

/// `plan --check`: the contract lint of every spec under `dir`, each answer recorded.
fn lint(dir: &Path, state: &Path) -> ExitCode {
    each_spec(dir, |s| {
        let findings = negotiate(s, state);
        if findings.is_empty() {
            say!("ok    {} (contract: nothing to push back on)", s.file.display());
        }
        for f in &findings {
            say!("{f}");
        }
        findings.is_empty()
    })
}

/// The Tester's pushback on `spec`'s contract (`plan::lint`), recorded in the checkpoint at
/// `state` with the contract's criteria (the seed's "contract negotiated": `agreed`, or
/// `sent back`; a checkpoint that cannot be written is a warning).
pub(super) fn negotiate(spec: &spec::Spec, state: &Path) -> Vec<plan::lint::Finding> {
    let findings = plan::lint::check(spec);
    let criteria: Vec<String> = plan::contract::criteria(spec).into_iter().map(|c| c.text).collect();
    let texts: Vec<String> = findings.iter().map(ToString::to_string).collect();
    if let Err(e) = checkpoint::record_contract(state, spec, &criteria, &texts) {
        eprintln!("warning: the contract's answer is not recorded in the checkpoint: {e}");
    }
    findings
}
