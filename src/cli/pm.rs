//! `oc-integrate pm`: PM write-back from the command line. Without a flag it shows what a
//! run would do (the `pm.yaml` read, the tracker, the ticket found and where, the deferred
//! actions); `--retry-pm` writes the deferred actions that are retriable, `--force` with it
//! clears those that are not; `pm init` writes `.opchain/pm.yaml`, asking once on a terminal.

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use oc_integrate::checkpoint;
use oc_integrate::pm::config::{self, PmConfig, Provider};
use oc_integrate::pm::deferred;
use oc_integrate::pm::ticket::Places;
use oc_integrate::pm::writeback::{self, Settings};

use super::table::{Paint, fail, say, table};

/// PM write-back: show the configuration, the ticket and the deferred actions; --retry-pm
/// writes the deferred actions again; `pm init` writes .opchain/pm.yaml.
#[derive(clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct Args {
    #[command(subcommand)]
    command: Option<Command>,
    /// Write the deferred tracker actions again (those that are retriable: 5xx, 429, network).
    #[arg(long)]
    retry_pm: bool,
    /// With --retry-pm: clear the deferred actions that are not retriable (403, 401, 422).
    #[arg(long, requires = "retry_pm")]
    force: bool,
    /// The ticket (PLAT-4471, owner/repo#12, or an issue URL), as a run would take it.
    #[arg(long, env = "OC_TICKET")]
    ticket: Option<String>,
    /// The checkpoint that keeps the deferred actions.
    #[arg(long, env = "OC_CHECKPOINT", default_value = checkpoint::DEFAULT_PATH)]
    checkpoint: PathBuf,
}

#[derive(clap::Subcommand)]
enum Command {
    /// Write .opchain/pm.yaml (the seed's shape); on a terminal, asks for what is not given.
    Init(Init),
}

#[derive(clap::Args)]
struct Init {
    /// linear, jira or github-issues.
    #[arg(long, value_enum)]
    provider: Option<ProviderArg>,
    /// The Jira project key or Linear team key (PLAT), or the GitHub repository (owner/repo).
    #[arg(long)]
    project: Option<String>,
    /// The configured MCP server (a name in .mcp.json) to drive instead of the tracker's API.
    #[arg(long)]
    mcp_server: Option<String>,
    /// Replace an existing file.
    #[arg(long)]
    force: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ProviderArg {
    Linear,
    Jira,
    GithubIssues,
}

impl From<ProviderArg> for Provider {
    fn from(p: ProviderArg) -> Provider {
        match p {
            ProviderArg::Linear => Provider::Linear,
            ProviderArg::Jira => Provider::Jira,
            ProviderArg::GithubIssues => Provider::GithubIssues,
        }
    }
}

pub fn run(args: Args, paint: &Paint) -> ExitCode {
    let project = std::env::current_dir().unwrap_or_default();
    if let Some(Command::Init(init)) = args.command {
        return self::init(init, &config::path_in(&project));
    }
    let settings = Settings { ticket: args.ticket.clone(), ..Settings::from_env(&project, Some(args.checkpoint.clone())) };
    if args.retry_pm {
        return retry(&settings, args.force);
    }
    show(&settings, &args.checkpoint, paint)
}

/// What a run would do.
fn show(settings: &Settings, checkpoint: &Path, paint: &Paint) -> ExitCode {
    match settings.load() {
        Ok(c) => {
            say!("{}: {} {}", c.file.display(), c.provider.name(), c.team_or_project);
            let states: Vec<String> = c.states.iter().map(|(k, v)| format!("{k} → {v}")).collect();
            say!("  states: {}", if states.is_empty() { "none (tickets are not moved)".into() } else { states.join(", ") });
            match settings.mcp_server(&c) {
                Ok(Some(server)) => say!("  tracker: MCP server {} ({} {})", server.name, server.command, server.args.join(" ")),
                Ok(None) => match settings.api(&c) {
                    Ok(api) => say!("  tracker: its API at {}, credentials set (not contacted)", api.base_url),
                    Err(note) => say!("  {note}"),
                },
                Err(note) => say!("  {note}"),
            }
        }
        Err(note) => say!("{note}"),
    }
    let places = Places { flag: settings.ticket.clone(), ..Places::from_env(&settings.project) };
    match places.detect() {
        Ok(Some((t, source))) => say!("ticket: {t} (from {})", source.describe()),
        Ok(None) => say!("ticket: none found (--ticket, OC_TICKET, a spec's ticket:, the branch, the pull request's title)"),
        Err(e) => say!("ticket: {e}"),
    }
    let pending = match deferred::list(checkpoint) {
        Ok(p) => p,
        Err(e) => return fail(e),
    };
    if pending.is_empty() {
        say!("deferred actions: none");
        return ExitCode::SUCCESS;
    }
    let rows: Vec<Vec<String>> = pending
        .iter()
        .map(|d| {
            vec![
                d.action.describe(),
                if d.retriable { "retriable".into() } else { "not retriable".into() },
                d.attempts.to_string(),
                d.deferred_at.clone(),
                oc_integrate::text::clip(&d.error),
            ]
        })
        .collect();
    table(paint, &["ACTION", "RETRY", "ATTEMPTS", "DEFERRED", "WHY"], &rows, &[]);
    ExitCode::SUCCESS
}

/// `--retry-pm`: exit 0 when nothing is left deferred, 1 otherwise.
fn retry(settings: &Settings, force: bool) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_current_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(e) => return fail(e),
    };
    match rt.block_on(writeback::retry(settings, force)) {
        Ok(flush) => {
            for note in &flush.notes {
                say!("{note}");
            }
            say!(
                "written {}, still deferred {} (retriable) + {} (not retriable){}",
                flush.written,
                flush.retriable,
                flush.kept,
                if flush.cleared > 0 { format!(", cleared {}", flush.cleared) } else { String::new() }
            );
            if flush.retriable + flush.kept == 0 { ExitCode::SUCCESS } else { ExitCode::FAILURE }
        }
        Err(e) => fail(e),
    }
}

/// `pm init`.
fn init(args: Init, file: &Path) -> ExitCode {
    if file.exists() && !args.force {
        return fail(format!("{}: already there (--force replaces it)", file.display()));
    }
    let terminal = std::io::stdin().is_terminal() && std::io::stderr().is_terminal();
    let ask = |question: &str| -> Option<String> {
        eprint!("{question}: ");
        let mut answer = String::new();
        std::io::stdin().read_line(&mut answer).ok()?;
        Some(answer.trim().to_string()).filter(|a| !a.is_empty())
    };
    let provider = match (args.provider, terminal) {
        (Some(p), _) => Provider::from(p),
        (None, true) => match ask("Tracker (linear, jira, github-issues)").as_deref() {
            Some("linear") => Provider::Linear,
            Some("jira") => Provider::Jira,
            Some("github-issues" | "github") => Provider::GithubIssues,
            other => return fail(format!("expected linear, jira or github-issues, found {:?}", other.unwrap_or(""))),
        },
        (None, false) => return fail("not a terminal: pass --provider and --project"),
    };
    let project = match (args.project, terminal) {
        (Some(p), _) => p,
        (None, true) => {
            match ask(if provider == Provider::GithubIssues { "Repository (owner/repo)" } else { "Project or team key (PLAT)" }) {
                Some(p) => p,
                None => return fail("expected a project, found nothing"),
            }
        }
        (None, false) => return fail("not a terminal: pass --project"),
    };
    let text = PmConfig::seed_default(provider, &project, args.mcp_server).to_yaml();
    // what is written must read back: a bad project is refused before the file exists
    if let Err(e) = config::parse(file, &text) {
        return fail(e);
    }
    match oc_integrate::file::write_atomic(file, &text) {
        Ok(()) => {
            say!("wrote {}", file.display());
            ExitCode::SUCCESS
        }
        Err(e) => fail(format!("{}: cannot write: {e}", file.display())),
    }
}
