//! `oc-integrate build <service>`: the seed's build loop, one step per call, over the
//! checkpoint. An escalated integration stops it (exit 3). The contract lint must pass (the
//! Tester's pushback, exit 1). Then the Builder: the typed client of the service from its spec
//! (`build::scaffold`), formatted with the project's rustfmt settings and stamped as generated,
//! with its harness binding and the `tests/integrations.rs` target that binds every generated
//! service. A rebuild shows each file's diff; a file edited by hand since it was made from the
//! spec as it is now is the Builder's fix, kept; one edited before a spec change (or not
//! written by `build`) is refused unless `--force`, and then nothing is written (exit 2). The
//! Builder's step is recorded in the checkpoint, then the Tester's round runs (`cli::test`):
//! PASS ends the loop, FAIL prints the to-do list (exit 1), the third FAIL escalates (exit 3).

use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use oc_integrate::build::marker::{self, State};
use oc_integrate::build::{self, File, Options};
use oc_integrate::harness::round::Request;
use oc_integrate::results::MAX_FAILED_ROUNDS;
use oc_integrate::{checkpoint, spec};

use super::table::{Paint, fail, say};

/// The build loop's next step for SERVICE: the contract lint, the typed Rust client scaffolded
/// from its spec with its harness binding (a hand edit made since is the Builder's fix, kept),
/// then the Tester's round (`oc-integrate test`). Exit 0 PASS (or scaffolded with
/// --no-test), 1 FAIL or a contract sent back, 2 nothing written or no round run, 3 escalated.
#[derive(clap::Args)]
pub struct Args {
    /// The service (its directory name).
    service: String,
    #[command(flatten)]
    project: Project,
    /// Scaffold only: no contract lint, no round.
    #[arg(long)]
    no_test: bool,
    /// Add the sandbox trials to the round (they run when the sandbox's credentials are set).
    #[arg(long)]
    sandbox: bool,
}

/// Where a service's spec is and its client goes, and the harness target that tests it
/// (`build`'s and `connect`'s arguments).
#[derive(clap::Args)]
pub(super) struct Project {
    /// Directory of integrations.
    #[arg(long, default_value = "integrations")]
    pub dir: PathBuf,
    /// Where the client's module goes, under src/ [default: src/integrations/<service>].
    #[arg(long)]
    pub out: Option<String>,
    /// The crate's name [default: the package name in ./Cargo.toml].
    #[arg(long = "crate")]
    pub crate_name: Option<String>,
    /// Replace generated files edited by hand (or not written by build).
    #[arg(long)]
    pub force: bool,
    /// The project's harness test target the round (or smoke test) runs.
    #[arg(long, default_value = "integrations")]
    pub target: String,
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let file = args.project.dir.join(&args.service).join("spec.yaml");
    if !file.is_file() {
        return fail(format!("{}: expected the service's spec.yaml, found none", file.display()));
    }
    let spec = match spec::load_file(&file) {
        Ok(s) => s,
        Err(e) => return fail(e),
    };
    let mut request = Request::new(".", &args.service);
    request.target = args.project.target.clone();
    request.sandbox = args.sandbox;
    if !args.no_test {
        let state = match checkpoint::read(&request.checkpoint) {
            Ok(s) => s,
            Err(e) => return fail(e),
        };
        let entry = &state["skill_state"]["integrations"][args.service.as_str()];
        if entry["status"] == "escalated" {
            eprintln!(
                "escalated: {} failed rounds in a row for {} (the limit is {MAX_FAILED_ROUNDS}); the build loop stops here and a person decides: see {}; `oc-integrate test {}` runs another round by hand",
                entry["failed_rounds_in_a_row"],
                args.service,
                entry["last_round"].as_str().unwrap_or("its last round report"),
                args.service
            );
            return ExitCode::from(3);
        }
        let findings = super::plan::negotiate(&spec, &request.checkpoint);
        if !findings.is_empty() {
            for f in &findings {
                eprintln!("contract: {f}");
            }
            eprintln!("error: the Tester sends the contract back ({} findings): fix the spec, then build again", findings.len());
            return ExitCode::FAILURE;
        }
    }
    let scaffolded = match scaffold(&spec, &args.project, paint) {
        Ok(s) => s,
        Err(code) => return code,
    };
    if !scaffolded.ready || args.no_test {
        say!("then: oc-integrate build {} (the contract, then the next round of the build loop)", args.service);
        return ExitCode::SUCCESS;
    }
    if let Err(e) = checkpoint::record_build(&request.checkpoint, &spec, &scaffolded.files) {
        return fail(e);
    }
    super::test::run_round(&request, paint)
}

/// What [`scaffold`] wrote.
pub(super) struct Scaffolded {
    /// The files created, updated or kept (the Builder's fix), as paths from the project.
    pub files: Vec<String>,
    /// Whether the project can run the service's suite now (nothing left to add by hand).
    pub ready: bool,
}

/// The Builder's scaffold of `spec`'s service in `project`: the typed client under its `out`
/// (default `src/integrations/<service>`) of its crate (default: ./Cargo.toml's package), its
/// harness binding and the shared files, formatted and stamped; a file edited by hand since it
/// was made from this spec is kept, one edited before is refused unless `force` (then nothing
/// is written: exit 2). Each file's fate is said, with what the project still needs.
pub(super) fn scaffold(spec: &spec::Spec, project: &Project, paint: &Paint) -> Result<Scaffolded, ExitCode> {
    let (dir, force) = (project.dir.as_path(), project.force);
    let Some(crate_name) = project.crate_name.clone().or_else(package_name) else {
        return Err(fail("expected a Cargo.toml with a [package] name here (or --crate NAME), found none"));
    };
    let out = project.out.clone().unwrap_or_else(|| format!("src/integrations/{}", spec.id));
    let options = Options::at(&out, &crate_name).map_err(fail)?;
    let mut files = build::scaffold(spec, &options).map_err(fail)?;
    // the service's own files, stamped with its spec; then the ones every service shares
    let service_files = files.len();
    let module = options.module.last().cloned().unwrap_or_default();
    let (more, yours) = shared(dir, &options, &module);
    files.extend(more);
    let origin = marker::origin(spec);
    let mut planned = Vec::new();
    let (mut refused, mut kept) = (Vec::new(), Vec::new());
    for (i, f) in files.into_iter().enumerate() {
        let text = format(&f).map_err(fail)?;
        let from = if i < service_files { origin.as_str() } else { "every generated service" };
        let stamped = marker::stamp(&text, from);
        let existing = std::fs::read_to_string(&f.path).ok();
        match (marker::state(existing.as_deref()), existing.as_deref()) {
            (State::Edited, Some(old)) if !force && marker::stamped_from(old, from) => {
                kept.push(f.path);
                continue;
            }
            (State::Edited | State::HandWritten, _) if !force => refused.push(f.path.clone()),
            _ => {}
        }
        planned.push((f.path, existing, stamped));
    }
    if !refused.is_empty() {
        for p in &refused {
            eprintln!("error: {}: edited by hand (or not written by build); kept", p.display());
        }
        eprintln!("error: {} file(s) would be replaced: nothing written (--force replaces them)", refused.len());
        return Err(ExitCode::from(2));
    }
    for path in &kept {
        say!("kept {} (edited by hand since it was made from this spec: the Builder's fix)", path.display());
    }
    for (path, existing, text) in &planned {
        let name = path.display().to_string();
        match existing {
            Some(old) if old == text => say!("unchanged {name}"),
            // the same code from another spec: only the stamp differs
            Some(old) if old.split_once('\n').map(|(_, body)| body) == text.split_once('\n').map(|(_, body)| body) => {
                say!("restamped {name}")
            }
            Some(old) => {
                say!("{} {name}", paint.bold("updated"));
                say!("{}", similar::TextDiff::from_lines(old, text).unified_diff().context_radius(2).header(&name, &name));
            }
            None => say!("{} {name}", paint.bold("created")),
        }
        if existing.as_deref() != Some(text.as_str())
            && let Err(e) = oc_integrate::file::write_atomic(path, text)
        {
            return Err(fail(format!("{name}: {e}")));
        }
    }
    let ready = yours.is_empty();
    for note in yours {
        say!("\nnext: {note}");
    }
    let signs = spec.webhooks.sender.is_some() || spec.webhooks.receiver.is_some();
    let ready = next_steps(&options, signs, spec.webhooks.receiver.is_some()) && ready;
    let files = planned.iter().map(|(p, _, _)| p).chain(&kept).map(|p| p.display().to_string()).collect();
    Ok(Scaffolded { files, ready })
}

/// The files every generated service shares: `tests/integrations.rs`, binding every generated
/// binding module, and the parent module declaring every generated service module; each
/// unless the project wrote its own, which is left alone (what to add to it said instead).
fn shared(dir: &Path, options: &Options, module: &str) -> (Vec<File>, Vec<String>) {
    let generated = |path: &Path| matches!(marker::state(std::fs::read_to_string(path).ok().as_deref()), State::Generated);
    let listed = |parent: &Path, each: &dyn Fn(&Path) -> Option<String>| {
        let mut names: Vec<String> = std::fs::read_dir(parent).into_iter().flatten().filter_map(|e| each(&e.ok()?.path())).collect();
        names.push(module.to_string());
        names.sort();
        names.dedup();
        names
    };
    let (mut files, mut yours) = (Vec::new(), Vec::new());
    let mut offer = |file: File, what: String| match marker::state(std::fs::read_to_string(&file.path).ok().as_deref()) {
        State::HandWritten => yours.push(format!("{} is the project's own: {what}", file.path.display())),
        _ => files.push(file),
    };
    let bindings = listed(Path::new("tests/integrations"), &|p| {
        (p.extension().is_some_and(|x| x == "rs") && generated(p)).then(|| p.file_stem()?.to_str().map(str::to_string)).flatten()
    });
    offer(
        File { path: PathBuf::from("tests/integrations.rs"), text: build::harness_main(&dir.display().to_string(), &bindings) },
        format!("add `mod {module};` and `.bind({module}::SERVICE, {module}::binding())` to its Harness"),
    );
    let parent = options.module[..options.module.len() - 1].iter().fold(PathBuf::from("src"), |p, m| p.join(m));
    if parent != Path::new("src") {
        let modules = listed(&parent, &|p| generated(&p.join("mod.rs")).then(|| p.file_name()?.to_str().map(str::to_string)).flatten());
        offer(File { path: parent.join("mod.rs"), text: build::parent_module(&modules) }, format!("add `pub mod {module};` to it"));
    }
    (files, yours)
}

/// `f`'s text through rustfmt with the project's settings (found from here); as it is when
/// rustfmt is not installed. Text rustfmt cannot parse is a bug of `build`, reported as such.
fn format(f: &File) -> Result<String, String> {
    let child = Command::new("rustfmt")
        .args(["--edition", "2024", "--emit", "stdout", "--quiet"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn();
    let Ok(mut child) = child else {
        eprintln!("warning: rustfmt not found: {} written unformatted", f.path.display());
        return Ok(f.text.clone());
    };
    let written = child.stdin.take().map(|mut stdin| std::io::Write::write_all(&mut stdin, f.text.as_bytes()));
    let out = child.wait_with_output().map_err(|e| format!("rustfmt: {e}"))?;
    match (written, out.status.success()) {
        (Some(Ok(())), true) => Ok(String::from_utf8_lossy(&out.stdout).into_owned()),
        _ => Err(format!(
            "{}: the generated code does not parse (a bug in oc-integrate build; please report it with the spec): {}",
            f.path.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        )),
    }
}

/// The package name in ./Cargo.toml.
fn package_name() -> Option<String> {
    let text = std::fs::read_to_string("Cargo.toml").ok()?;
    let package = text.split("[package]").nth(1)?;
    let line = package.lines().take_while(|l| !l.trim_start().starts_with('[')).find(|l| l.trim_start().starts_with("name"))?;
    Some(line.split_once('=')?.1.trim().trim_matches('"').to_string())
}

/// What the project still needs for `cargo test --test integrations`: the module declared in
/// src/lib.rs, and the Cargo.toml lines it lacks (those for signing webhooks when `signs`, for
/// serving the receiver when `receives`). Whether it needs nothing.
fn next_steps(options: &Options, signs: bool, receives: bool) -> bool {
    let lib = std::fs::read_to_string("src/lib.rs").unwrap_or_default();
    let top = &options.module[0];
    let declared = lib.contains(&format!("pub mod {top};"));
    if !declared {
        say!("\nnext: add `pub mod {top};` to src/lib.rs");
    }
    let manifest = std::fs::read_to_string("Cargo.toml").unwrap_or_default();
    let mut needed = vec!["httpdate", "reqwest", "serde", "serde_json", "tokio", "uuid", "oc-integrate", "name = \"integrations\""];
    let mut lines = build::CARGO_LINES.to_string();
    if signs {
        needed.extend(["base64", "hex", "hmac", "sha2"]);
        lines = lines.replace("[dev-dependencies]", &format!("{}\n[dev-dependencies]", build::WEBHOOK_LINES));
    }
    if receives {
        needed.push("axum");
        lines = lines.replace("[dev-dependencies]", &format!("{}\n[dev-dependencies]", build::RECEIVER_LINES));
    }
    let missing: Vec<&str> = needed.into_iter().filter(|d| !manifest.contains(d)).collect();
    if !missing.is_empty() {
        say!("\nnext: Cargo.toml lacks {}; the client and its binding need:\n{lines}", missing.join(", "));
    }
    declared && missing.is_empty()
}
