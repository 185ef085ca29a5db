//! The tools: each is one `oc-integrate` verb (or, for `test`, the project's harness test
//! target under `cargo test`, as `harness::round` runs and reads a round), run as the CLI runs
//! it, its paths confined to the project, its answer structured and redacted; `build` and
//! `connect` say the step taken from their exit status and the service's checkpoint entry.
//! Each answer names the `command` a person would type for the same result.

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{ProgressNotificationParam, ProgressToken};
use rmcp::schemars::{self, JsonSchema};
use rmcp::service::RequestContext;
use rmcp::{Json, RoleServer, tool, tool_router};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use oc_integrate::case::SANDBOX_ENV;
use oc_integrate::checkpoint;
use oc_integrate::harness::round::{self, Request};

use super::child::{Child, Ran};
use super::{Server, deliver};

/// What a verb answered: its exit status and what that means, its JSON (for the verbs that
/// print JSON), its other output, and the command that gives the same at the terminal.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Outcome {
    /// The equivalent command line, run in the project directory.
    pub command: String,
    /// The verb's exit status.
    pub exit_code: i32,
    /// Whether the verb found nothing wrong (exit 0).
    pub ok: bool,
    /// What the exit status means for this verb.
    pub meaning: String,
    /// The verb's JSON output, for verbs that print JSON.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data: Option<Value>,
    /// The verb's standard output that is not JSON (tables, lines, diffs).
    pub text: String,
    /// The verb's errors and warnings (standard error).
    pub errors: String,
}

/// `dir` only: the integrations directory.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DirArgs {
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
}

/// `cases`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct CasesArgs {
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Only this service's trials.
    pub service: Option<String>,
}

/// `plan`'s arguments: plan one service, or list the catalog, or lint the contracts.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct PlanArgs {
    /// The service id (lowercase letters, digits, _); a catalog provider when it names one.
    pub service: Option<String>,
    /// The provider's OpenAPI 3.x / Swagger 2.0 document (JSON or YAML), a path in the project.
    pub openapi: Option<String>,
    /// Keep only these endpoints (ids like get_customer, or operationIds).
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// Keep only operations with these tags.
    #[serde(default)]
    pub tags: Vec<String>,
    /// Keep at most this many of the selected operations.
    pub limit: Option<u32>,
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Replace an existing spec.yaml.
    #[serde(default)]
    pub force: bool,
    /// Return the spec instead of writing it.
    #[serde(default)]
    pub preview: bool,
    /// List the providers of the built-in catalog instead.
    #[serde(default)]
    pub catalog: bool,
    /// Lint the contract of every spec under `dir` instead (the Tester's pushback).
    #[serde(default)]
    pub check: bool,
}

/// `test`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct TestArgs {
    /// The service whose round to run (every service when absent).
    pub service: Option<String>,
    /// The project's harness test target, as in `cargo test --test TARGET` (default: integrations).
    pub target: Option<String>,
    /// Add the sandbox trials (they run when the sandbox's credentials are set in the server's
    /// environment); without, they are left out, ignored with that reason.
    #[serde(default)]
    pub sandbox: bool,
}

/// `build`'s arguments: the build loop's next step for one service.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct BuildArgs {
    /// The service (its directory under the integrations directory).
    pub service: String,
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Replace generated files edited by hand (or not written by build).
    #[serde(default)]
    pub force: bool,
    /// Scaffold only: no contract lint, no round.
    #[serde(default)]
    pub no_test: bool,
    /// Add the sandbox trials to the round (when their credentials are set).
    #[serde(default)]
    pub sandbox: bool,
    /// The project's harness test target (default: integrations).
    pub target: Option<String>,
}

/// `connect`'s arguments: the quick build of an API-key service with 1 to 3 endpoints.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ConnectArgs {
    /// The service id: a catalog provider (sendgrid, slack, …) or the directory of an existing spec.
    pub service: String,
    /// The provider's OpenAPI/Swagger document, a path in the project (needed when there is no spec yet).
    pub openapi: Option<String>,
    /// The endpoints to plan from it (ids or operationIds): at most three.
    #[serde(default)]
    pub endpoints: Vec<String>,
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Replace generated files edited by hand (or not written by build).
    #[serde(default)]
    pub force: bool,
    /// The project's harness test target (default: integrations).
    pub target: Option<String>,
}

/// `report`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct ReportArgs {
    /// The service (every service's latest round when absent).
    pub service: Option<String>,
    /// The round number (default: the latest); needs `service`.
    pub round: Option<u32>,
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
}

/// Arguments of the verbs that read the checkpoint.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct StateArgs {
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// The checkpoint file (default: .checkpoints/oc-integrations-engineer.checkpoint.json).
    pub checkpoint: Option<String>,
}

/// `drift`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct DriftArgs {
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Accept every pending shape as its endpoint's new baseline.
    #[serde(default)]
    pub accept: bool,
}

/// What both webhook tools take.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct WebhookBody {
    /// stripe, github, slack, standard_webhooks, svix, shopify, twilio, linear, telegram, generic.
    pub scheme: String,
    /// The environment variable (in the server's environment) holding the secret; never the secret.
    pub secret_env: String,
    /// The raw body, exactly as sent.
    pub body: Option<String>,
    /// Or a file in the project holding the raw body.
    pub body_file: Option<String>,
    /// The full URL the provider posts to (Twilio signs it).
    pub url: Option<String>,
}

/// `webhook_sign`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SignArgs {
    #[serde(flatten)]
    pub common: WebhookBody,
    /// Unix seconds to sign (default: now).
    pub timestamp: Option<i64>,
    /// The message / event id (Standard Webhooks, Svix, the generic scheme).
    pub id: Option<String>,
}

/// `webhook_verify`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct VerifyArgs {
    #[serde(flatten)]
    pub common: WebhookBody,
    /// The received headers, each `Name: value`.
    #[serde(default)]
    pub headers: Vec<String>,
    /// Unix seconds to judge the timestamp against (default: now).
    pub now: Option<i64>,
    /// The scheme's timestamp tolerance, in seconds.
    pub tolerance: Option<i64>,
}

/// `health`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct HealthArgs {
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Probe production instead of the sandbox (GET/HEAD only).
    #[serde(default)]
    pub production: bool,
    /// The most one integration's probes may take, in seconds (default 15).
    pub budget: Option<u64>,
    /// The checkpoint file, where last_health is recorded.
    pub checkpoint: Option<String>,
}

/// `secrets`' arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct SecretsArgs {
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Scan the working tree only, not the git history.
    #[serde(default)]
    pub no_history: bool,
    /// The allow-list file (default: .oc-secrets-allow at the repository's root).
    pub allow: Option<String>,
}

/// `retry`'s arguments.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RetryArgs {
    /// The service.
    pub service: String,
    /// The integrations directory (default: the server's `--dir`).
    pub dir: Option<String>,
    /// Settings to change in spec.yaml, each KEY=VALUE (max_attempts, base_delay_ms, multiplier,
    /// max_delay_ms, jitter_ms, request_ms, delay_factor, or a spec path); all or none apply.
    #[serde(default)]
    pub set: Vec<String>,
}

/// One round a `test` run wrote.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct RoundWritten {
    /// The service.
    pub service: String,
    /// The round number M of test-round-M.md.
    pub round: u32,
    /// PASS or FAIL.
    pub verdict: String,
    /// The report, relative to the project.
    pub path: String,
    /// The report's score line (`Score: 12/12 cases pass. …`).
    pub score: String,
    /// Whether this was the third failed round in a row: escalate to a person.
    pub escalated: bool,
}

/// A trial that failed, and what the harness said about it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Failure {
    /// The trial (`service::subject::case`).
    pub name: String,
    /// Expected, found, problems, the request timeline, the spec line, how to reproduce.
    pub text: String,
}

/// What a `build` or `connect` step did, and where the integration stands after it.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct Step {
    /// The equivalent command line, run in the project directory.
    pub command: String,
    /// The verb's exit status.
    pub exit_code: i32,
    /// The step taken: `escalated` (the loop stops), `contract sent back`, `scaffolded`,
    /// `round M: PASS|FAIL` (`, escalated` after the third FAIL in a row), `smoke test: PASS|FAIL`,
    /// or `refused` / `nothing written` (the reason in `errors`).
    pub step: String,
    /// The files created, updated or kept (the Builder's fix).
    pub files: Vec<String>,
    /// The Builder's to-do list: each failure of the round or smoke test with its spec line,
    /// what the client did and the command that runs it alone.
    pub failures: Vec<oc_integrate::checkpoint::Failure>,
    /// The integration's checkpoint entry after the step: status, auth, endpoints, contract,
    /// test_rounds, last_test, score, last_round, smoke, sandbox (and why not run), …
    pub integration: Value,
    /// The verb's standard output (each file's fate, diffs, the round's lines).
    pub text: String,
    /// The verb's errors and warnings.
    pub errors: String,
}

/// What one `test` run found.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct TestRound {
    /// The equivalent command line.
    pub command: String,
    /// cargo test's exit status (0: every trial passed; 101: a trial failed or the build did).
    pub exit_code: i32,
    /// PASS when every trial passed, FAIL otherwise.
    pub verdict: String,
    /// Trials that passed, failed, were ignored (with the reason, e.g. a sandbox key unset).
    pub passed: usize,
    pub failed: usize,
    pub ignored: usize,
    /// The round reports the run wrote.
    pub rounds: Vec<RoundWritten>,
    /// Each failed trial with the harness's account of it.
    pub failures: Vec<Failure>,
    /// For one service's round: its score (mock cases passed/run), from the checkpoint.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub score: Option<String>,
    /// For one service's round: how its sandbox trials went (`PASS`, `FAIL`, `not run: <why>`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sandbox: Option<String>,
    /// For one service's round: the Builder's to-do list from the checkpoint (each failure's
    /// spec line, what the client did, the command that runs it alone).
    #[serde(default)]
    pub todo: Vec<oc_integrate::checkpoint::Failure>,
    /// The end of cargo's errors when the target did not build or run.
    pub errors: String,
    /// What PM write-back did after the rounds (`pm: …` notes: the ticket found, each comment
    /// or transition written, deferred or refused; see `.opchain/pm.yaml`).
    pub pm: Vec<String>,
}

#[tool_router(vis = "pub(super)")]
impl Server {
    #[tool(description = "Plan a service's integration spec (the Planner): from the provider's OpenAPI/Swagger document and the \
        built-in provider catalog, or a skeleton from the catalog alone; writes integrations/<service>/spec.yaml, integration-spec.md \
        and contract.md, and lists the TODOs a person must settle (spec approval comes before any build). `catalog: true` lists the \
        catalog's providers; `check: true` lints every spec's contract. `oc-integrate plan`.")]
    async fn plan(&self, Parameters(a): Parameters<PlanArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let dir = self.dir_or_default(a.dir.as_deref())?;
        let mut args: Vec<String> = vec!["plan".into()];
        if a.catalog {
            args.push("--catalog".into());
        } else if a.check {
            args.push(format!("--check={dir}"));
        } else {
            let service = a.service.ok_or("service: expected the service id to plan (or catalog: true, or check: true), found none")?;
            args.push(self.service(service)?);
            args.extend(["--dir".into(), dir]);
            if let Some(doc) = &a.openapi {
                args.extend(["--openapi".into(), self.path("openapi", doc)?]);
            }
            if !a.endpoints.is_empty() {
                args.push(format!("--endpoints={}", a.endpoints.join(",")));
            }
            if !a.tags.is_empty() {
                args.push(format!("--tag={}", a.tags.join(",")));
            }
            args.extend(a.limit.map(|n| format!("--limit={n}")));
            args.extend(a.force.then(|| "--force".into()));
            args.extend(a.preview.then(|| "--stdout".into()));
        }
        let meaning = |c| {
            if c == 0 {
                "done"
            } else if c == 1 {
                "contract findings to settle"
            } else {
                "could not plan (see errors)"
            }
        };
        self.verb(Child::verb(args), false, meaning, &ctx).await
    }

    #[tool(description = "Check every integrations/<service>/spec.yaml loads (errors name file:line:col) and that its \
        integration-spec.md and contract.md are rendered from it. `oc-integrate check DIR`.")]
    async fn check(&self, Parameters(a): Parameters<DirArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let dir = self.dir_or_default(a.dir.as_deref())?;
        let meaning = |c| if c == 0 { "every spec loads and its documents are current" } else { "a spec is broken or a document stale" };
        self.verb(Child::verb(["check".to_string(), dir]), false, meaning, &ctx).await
    }

    #[tool(description = "The trials each spec generates: per trial its name, service, subject, kind, title, spec location \
        (file:line:col) and whether it runs against mocks or the sandbox (`data` is the array). `oc-integrate cases DIR --json`.")]
    async fn cases(&self, Parameters(a): Parameters<CasesArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let dir = self.dir_or_default(a.dir.as_deref())?;
        let meaning = |c| if c == 0 { "every spec loads" } else { "a spec is broken (see errors); its cases are missing" };
        let Json(mut out) = self.verb(Child::verb(["cases".to_string(), dir, "--json".into()]), true, meaning, &ctx).await?;
        if let (Some(service), Some(Value::Array(rows))) = (&a.service, &mut out.data) {
            rows.retain(|r| r["service"] == service.as_str());
            if rows.is_empty() {
                return Err(format!("service: expected a service under the integrations directory, found {service:?} with no cases"));
            }
        }
        Ok(Json(out))
    }

    #[tool(description = "Run one round (the Tester): the project's harness test target under `cargo test`, for one service \
        (OC_SERVICE) or all. Returns the verdict, passed/failed/ignored counts, each failure with the harness's account \
        (expected, found, problems, request timeline, spec line, reproduce command), and the round reports written \
        (integrations/<service>/test-round-M.md, score, escalation after 3 failed rounds); for one service also its score, \
        sandbox verdict and the Builder's to-do list from the checkpoint; and what PM write-back did after the rounds \
        (`pm`: the round's comment on the ticket, when .opchain/pm.yaml is set up). The sandbox trials run with `sandbox: true` (when \
        their credentials are set). Sends progress per trial; cancelling stops the run. \
        `OC_SERVICE=<service> OC_SANDBOX=0|1 cargo test --test <target>` (`oc-integrate test <service> [--sandbox]`).")]
    async fn test(&self, Parameters(a): Parameters<TestArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<TestRound>, String> {
        let target = a.target.unwrap_or_else(|| "integrations".into());
        let request = match a.service {
            Some(service) => {
                let mut r = Request::new(self.project.root(), &self.service(service)?);
                (r.target, r.sandbox) = (target.clone(), a.sandbox);
                Some(r)
            }
            None => None,
        };
        let before = request.as_ref().map(Request::rounds_before).transpose().map_err(|e| e.to_string())?;
        // one service's round as `harness::round` runs it; every service's with the same switch
        let (args, env) = match &request {
            Some(r) => (r.args(None), r.env()),
            None => (vec!["test".into(), "--test".into(), target], vec![(SANDBOX_ENV, if a.sandbox { "1" } else { "0" }.to_string())]),
        };
        let child = env.iter().fold(Child::cargo(args), |c, (k, v)| c.env(k, v));
        let command = request.as_ref().map_or_else(|| child.command(), Request::command);
        let progress = Progress::of(&ctx);
        progress.send(0, None, format!("building and starting {command}")).await;
        let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(usize, Option<usize>, String)>();
        let forward = async {
            while let Some((done, total, message)) = rx.recv().await {
                progress.send(done, total, message).await;
            }
        };
        let (mut done, mut total) = (0, None);
        let run = child.run(&self.project, &ctx.ct, move |line| {
            if let Some(n) = line.strip_prefix("running ").and_then(|r| r.split(' ').next()).and_then(|n| n.parse().ok()) {
                total = Some(n);
            } else if let Some((name, verdict)) = round::trial_line(line) {
                done += 1;
                let _ = tx.send((done, total, format!("{name} {verdict}")));
            }
        });
        let (ran, ()) = tokio::join!(run, forward);
        let ran = ran.map_err(|e| e.to_string())?;
        let mut answer = TestRound::read(&command, &ran, &self.project);
        if let (Some(r), Some(before)) = (&request, before) {
            let out = round::Output { code: Some(ran.code), stdout: ran.stdout.clone(), stderr: ran.stderr.clone() };
            match r.read_back(before, &out) {
                Ok(back) => (answer.score, answer.sandbox, answer.todo) = (Some(back.score), Some(back.sandbox), back.failures),
                Err(e) => answer.errors = format!("{}\n{e}", answer.errors).trim().to_string(),
            }
        }
        deliver(answer).map(Json)
    }

    #[tool(description = "The build loop's next step for one service (the Builder, then the Tester): stops when the integration is \
        escalated; the contract lint (the Tester's pushback) must pass; scaffolds the typed Rust client, its transport, webhook \
        sender/receiver and harness binding from the spec (a file edited by hand since is kept as the Builder's fix); then runs \
        one round. Returns the step taken, the files, the round's verdict and score and the Builder's to-do list (each failure's \
        spec line and reproduce command), and the integration's checkpoint entry. 3 failed rounds escalate to a person. \
        `oc-integrate build SERVICE --dir DIR`.")]
    async fn build(&self, Parameters(a): Parameters<BuildArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Step>, String> {
        let service = self.service(a.service)?;
        let mut args = vec!["build".to_string(), service.clone(), "--dir".into(), self.dir_or_default(a.dir.as_deref())?];
        args.extend(a.target.map(|t| format!("--target={t}")));
        for (on, flag) in [(a.force, "--force"), (a.no_test, "--no-test"), (a.sandbox, "--sandbox")] {
            args.extend(on.then(|| flag.to_string()));
        }
        self.step(&service, Child::verb(args), &ctx).await
    }

    #[tool(description = "The seed's quick build for an API-key service with 1 to 3 endpoints (SendGrid mail send, a simple REST \
        API): plans its spec from the provider's document and the catalog (unless the spec exists), scaffolds the typed client and \
        its binding, and smoke-tests it: the conformance cases, and the sandbox trials when its credentials are set. No contract, \
        no round report. OAuth services and more endpoints are refused: use `plan` then `build`. Returns the step, the files, \
        the failures and the integration's checkpoint entry (smoke, sandbox). `oc-integrate connect SERVICE --dir DIR`.")]
    async fn connect(&self, Parameters(a): Parameters<ConnectArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Step>, String> {
        let service = self.service(a.service)?;
        let mut args = vec!["connect".to_string(), service.clone(), "--dir".into(), self.dir_or_default(a.dir.as_deref())?];
        if let Some(doc) = &a.openapi {
            args.extend(["--openapi".into(), self.path("openapi", doc)?]);
        }
        if !a.endpoints.is_empty() {
            args.push(format!("--endpoints={}", a.endpoints.join(",")));
        }
        args.extend(a.target.map(|t| format!("--target={t}")));
        args.extend(a.force.then(|| "--force".into()));
        self.step(&service, Child::verb(args), &ctx).await
    }

    #[tool(description = "Round reports: the latest of every service, or one service's latest or round M, each with its verdict, \
        escalation, path and markdown (the seed's test-round-M.md). `oc-integrate report [SERVICE] [--round M] --dir DIR --json`.")]
    async fn report(&self, Parameters(a): Parameters<ReportArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let dir = self.dir_or_default(a.dir.as_deref())?;
        let mut args: Vec<String> = vec!["report".into()];
        if let Some(service) = a.service {
            args.push(self.service(service)?);
        }
        args.extend(a.round.map(|m| format!("--round={m}")));
        args.extend(["--dir".into(), dir, "--json".into()]);
        let meaning = |c| if c == 0 { "the reports asked for" } else { "no such service or round (see errors)" };
        self.verb(Child::verb(args), true, meaning, &ctx).await
    }

    #[tool(description = "Every integration as its spec, round reports and the checkpoint show it: auth, endpoints, cases, rounds, \
        last test verdict, escalation, status, last health. `oc-integrate list DIR --json`.")]
    async fn list(&self, Parameters(a): Parameters<StateArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let mut args = vec!["list".to_string(), self.dir_or_default(a.dir.as_deref())?, "--json".into()];
        if let Some(c) = &a.checkpoint {
            args.extend(["--checkpoint".into(), self.path("checkpoint", c)?]);
        }
        self.verb(Child::verb(args), true, |c| if c == 0 { "listed" } else { "could not list (see errors)" }, &ctx).await
    }

    #[tool(description = "The seed's /checkpoint: each integration's state (status, auth, endpoints, rounds, last test, last \
        health) and the current build, from the checkpoint file. `oc-integrate checkpoint --json`.")]
    async fn checkpoint(&self, Parameters(a): Parameters<StateArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let mut args = vec!["checkpoint".to_string(), "--json".into()];
        if let Some(c) = &a.checkpoint {
            args.extend(["--checkpoint".into(), self.path("checkpoint", c)?]);
        }
        self.verb(Child::verb(args), true, |c| if c == 0 { "read" } else { "unreadable checkpoint (see errors)" }, &ctx).await
    }

    #[tool(description = "Review the response shapes the last drift checks left pending beside their baselines (exit 0: none, \
        4: additive only, 5: breaking), or accept them as the new baselines. `oc-integrate drift DIR [--accept]`.")]
    async fn drift(&self, Parameters(a): Parameters<DriftArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let mut args = vec!["drift".to_string(), self.dir_or_default(a.dir.as_deref())?];
        args.extend(a.accept.then(|| "--accept".into()));
        let meaning = |c| match c {
            0 => "no pending drift (or accepted)",
            4 => "additive drift: new fields or headers",
            5 => "breaking drift: fields gone or retyped",
            _ => "could not review (see errors)",
        };
        self.verb(Child::verb(args), false, meaning, &ctx).await
    }

    #[tool(description = "Sign a webhook delivery with a provider's scheme; `data` is the signing headers. The secret is read from \
        the server's environment variable `secret_env`, never passed. `oc-integrate webhook sign --scheme S --secret-env VAR --json`.")]
    async fn webhook_sign(&self, Parameters(a): Parameters<SignArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let (mut args, body) = self.webhook_args("sign", &a.common)?;
        args.extend(a.timestamp.map(|t| format!("--timestamp={t}")));
        args.extend(a.id.map(|i| format!("--id={i}")));
        args.push("--json".into());
        let meaning = |c| if c == 0 { "signed" } else { "could not sign (see errors)" };
        self.verb(Self::with_body(Child::verb(args), body), true, meaning, &ctx).await
    }

    #[tool(description = "Check a received webhook delivery's signature with a provider's scheme (exit 0 valid, 1 invalid with the \
        reason in `errors`). The secret is read from the server's environment variable `secret_env`. \
        `oc-integrate webhook verify --scheme S --secret-env VAR -H 'Name: value'`.")]
    async fn webhook_verify(
        &self,
        Parameters(a): Parameters<VerifyArgs>,
        ctx: RequestContext<RoleServer>,
    ) -> Result<Json<Outcome>, String> {
        let (mut args, body) = self.webhook_args("verify", &a.common)?;
        args.extend(a.headers.iter().map(|h| format!("--header={h}")));
        args.extend(a.now.map(|t| format!("--now={t}")));
        args.extend(a.tolerance.map(|t| format!("--tolerance={t}")));
        let meaning = |c| match c {
            0 => "valid signature",
            1 => "invalid signature (the reason is in errors)",
            _ => "could not verify (see errors)",
        };
        self.verb(Self::with_body(Child::verb(args), body), false, meaning, &ctx).await
    }

    #[tool(description = "The seed's health check: probe every integration live (its sandbox, or production with \
        `production: true`; GET/HEAD only), each with its credential and webhook receiver; `data` holds the state (healthy, \
        degraded, down) and the issues; last_health is recorded in the checkpoint. `oc-integrate health DIR --json`.")]
    async fn health(&self, Parameters(a): Parameters<HealthArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let mut args = vec!["health".to_string(), self.dir_or_default(a.dir.as_deref())?, "--json".into()];
        args.extend(a.production.then(|| "--production".into()));
        args.extend(a.budget.map(|b| format!("--budget={b}")));
        if let Some(c) = &a.checkpoint {
            args.extend(["--checkpoint".into(), self.path("checkpoint", c)?]);
        }
        let meaning = |c| match c {
            0 => "every integration healthy",
            3 => "an integration is degraded",
            4 => "an integration is down",
            _ => "could not check (see errors)",
        };
        self.verb(Child::verb(args), true, meaning, &ctx).await
    }

    #[tool(description = "The seed's secret audit: each declared secret's storage, rotation and age, and leaked credentials in \
        the working tree and every commit of every ref (masked previews, never values). `oc-integrate secrets DIR --json`.")]
    async fn secrets(&self, Parameters(a): Parameters<SecretsArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let mut args = vec!["secrets".to_string(), self.dir_or_default(a.dir.as_deref())?, "--json".into()];
        args.extend(a.no_history.then(|| "--no-history".into()));
        if let Some(f) = &a.allow {
            args.extend(["--allow".into(), self.path("allow", f)?]);
        }
        let meaning = |c| match c {
            0 => "clean",
            1 => "a finding: a leaked secret, or one stored or rotated badly",
            _ => "could not audit (see errors)",
        };
        self.verb(Child::verb(args), true, meaning, &ctx).await
    }

    #[tool(description = "A service's retry policy as the schedule it implies (each attempt's wait, the 503 factor, the worst \
        case per call, what each status does); `set` changes it in spec.yaml where it is written (comments kept, re-validated, \
        the diff in `text`). `oc-integrate retry SERVICE --dir DIR --json [--set KEY=VALUE]`.")]
    async fn retry(&self, Parameters(a): Parameters<RetryArgs>, ctx: RequestContext<RoleServer>) -> Result<Json<Outcome>, String> {
        let mut args =
            vec!["retry".to_string(), self.service(a.service)?, "--dir".into(), self.dir_or_default(a.dir.as_deref())?, "--json".into()];
        args.extend(a.set.iter().map(|s| format!("--set={s}")));
        self.verb(Child::verb(args), true, |c| if c == 0 { "the schedule" } else { "could not (see errors)" }, &ctx).await
    }
}

impl Server {
    /// Run `child` (a verb) and answer with its [`Outcome`]; `json` when it prints JSON
    /// (after any other lines, as `retry --set` prints its diff first). A client that asked for
    /// progress hears when it starts and ends (`health` and `secrets` take seconds).
    async fn verb(
        &self,
        child: Child,
        json: bool,
        meaning: impl Fn(i32) -> &'static str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Json<Outcome>, String> {
        let command = child.command();
        let progress = Progress::of(ctx);
        progress.send(0, Some(1), format!("running {command}")).await;
        let Ran { code, stdout, stderr } = child.run(&self.project, &ctx.ct, |_| {}).await.map_err(|e| e.to_string())?;
        progress.send(1, Some(1), format!("exit {code}: {}", meaning(code))).await;
        let (text, data) = if json { split_json(&stdout) } else { (stdout, None) };
        deliver(Outcome { command, exit_code: code, ok: code == 0, meaning: meaning(code).into(), data, text, errors: stderr }).map(Json)
    }

    /// Run `child` (`build` or `connect` of `service`) and answer with the [`Step`] it took,
    /// read from its exit status and the service's checkpoint entry before and after.
    async fn step(&self, service: &str, child: Child, ctx: &RequestContext<RoleServer>) -> Result<Json<Step>, String> {
        let request = Request::new(self.project.root(), service);
        let entry = || -> Result<Value, String> {
            let state = checkpoint::read(&request.checkpoint_file()).map_err(|e| e.to_string())?;
            Ok(state["skill_state"]["integrations"][service].clone())
        };
        let before = entry()?;
        let command = child.command();
        let progress = Progress::of(ctx);
        progress.send(0, Some(1), format!("running {command} (a round builds and runs the project's suite)")).await;
        let Ran { code, stdout, stderr } = child.run(&self.project, &ctx.ct, |_| {}).await.map_err(|e| e.to_string())?;
        let after = entry()?;
        let changed = |field: &str| after[field] != before[field] && !after[field].is_null();
        let step = if changed("test_rounds") {
            let escalated = if code == 3 { ", escalated" } else { "" };
            format!("round {}: {}{escalated}", after["test_rounds"], after["last_test"].as_str().unwrap_or("?"))
        } else if changed("smoke_at") {
            format!("smoke test: {}", after["smoke"].as_str().unwrap_or("?"))
        } else if code == 3 {
            "escalated".into()
        } else if changed("contract_at") && after["contract"] == "sent back" {
            "contract sent back".into()
        } else if code == 0 {
            "scaffolded".into()
        } else if changed("built_at") {
            "scaffolded; no round run (see errors)".into()
        } else {
            "refused: nothing written (see errors)".into()
        };
        progress.send(1, Some(1), format!("exit {code}: {step}")).await;
        let files = match changed("built_at") {
            true => {
                after["files"].as_array().map(|f| f.iter().filter_map(|p| p.as_str().map(str::to_string)).collect()).unwrap_or_default()
            }
            false => Vec::new(),
        };
        let failures = match step.starts_with("round") || step.starts_with("smoke") {
            true => serde_json::from_value(after["failures"].clone()).unwrap_or_default(),
            false => Vec::new(),
        };
        deliver(Step { command, exit_code: code, step, files, failures, integration: after, text: stdout, errors: stderr }).map(Json)
    }

    /// The arguments both webhook verbs share, and the body to give on stdin.
    fn webhook_args(&self, verb: &str, w: &WebhookBody) -> Result<(Vec<String>, Option<Vec<u8>>), String> {
        let mut args = vec!["webhook".to_string(), verb.into(), format!("--scheme={}", w.scheme), format!("--secret-env={}", w.secret_env)];
        args.extend(w.url.as_ref().map(|u| format!("--url={u}")));
        let body = match (&w.body, &w.body_file) {
            (Some(b), None) => Some(b.clone().into_bytes()),
            (None, Some(f)) => {
                args.push(format!("--body={}", self.path("body_file", f)?));
                None
            }
            (None, None) => return Err("body: expected the raw body (body) or a file holding it (body_file), found neither".into()),
            (Some(_), Some(_)) => return Err("body, body_file: expected one of them, found both".into()),
        };
        Ok((args, body))
    }

    /// `child` reading `body` on stdin, when there is one (else it reads a file, or nothing).
    fn with_body(child: Child, body: Option<Vec<u8>>) -> Child {
        match body {
            Some(b) => child.stdin(b),
            None => child.stdin(Vec::new()),
        }
    }
}

/// Standard output as the lines before its JSON and the JSON (the whole output, or from the
/// first line that opens a value that parses to the end).
fn split_json(stdout: &str) -> (String, Option<Value>) {
    let mut at = 0;
    for line in stdout.split_inclusive('\n') {
        if (line.starts_with('{') || line.starts_with('['))
            && let Ok(v) = serde_json::from_str::<Value>(&stdout[at..])
        {
            return (stdout[..at].to_string(), Some(v));
        }
        at += line.len();
    }
    (stdout.to_string(), None)
}

/// Progress notifications for one request, when the client asked for them (a progress token).
struct Progress<'a> {
    token: Option<ProgressToken>,
    ctx: &'a RequestContext<RoleServer>,
}

impl<'a> Progress<'a> {
    fn of(ctx: &'a RequestContext<RoleServer>) -> Progress<'a> {
        Progress { token: ctx.meta.get_progress_token(), ctx }
    }

    /// Tell the client `done` of `total`, the message redacted (a client that went away is not
    /// an error here).
    async fn send(&self, done: usize, total: Option<usize>, message: String) {
        let Some(token) = &self.token else { return };
        let mut p = ProgressNotificationParam::new(token.clone(), done as f64).with_message(oc_integrate::redact::redact(&message));
        if let Some(t) = total {
            p = p.with_total(t as f64);
        }
        let _ = self.ctx.peer.notify_progress(p).await;
    }
}

impl TestRound {
    /// What `cargo test` printed, read: the trials and the failures' accounts
    /// ([`round::Trials`]), the rounds the harness says it wrote (their score read from the report).
    fn read(command: &str, ran: &Ran, project: &super::Project) -> TestRound {
        let trials = round::Trials::read(&ran.stdout);
        let rounds =
            ran.stdout.lines().filter_map(|l| l.strip_prefix("round report: ").and_then(|r| RoundWritten::read(r, project))).collect();
        let tail: Vec<&str> = ran.stderr.lines().rev().take(40).collect();
        let errors = if ran.code == 0 { String::new() } else { tail.into_iter().rev().collect::<Vec<_>>().join("\n") };
        TestRound {
            command: command.into(),
            exit_code: ran.code,
            verdict: if ran.code == 0 && trials.failed.is_empty() { "PASS" } else { "FAIL" }.into(),
            passed: trials.passed.len(),
            failed: trials.failed.len(),
            ignored: trials.ignored.len(),
            rounds,
            failures: trials.failed.into_iter().map(|(name, text)| Failure { name, text }).collect(),
            score: None,
            sandbox: None,
            todo: Vec::new(),
            errors,
            pm: oc_integrate::pm::notes_in(&ran.stdout),
        }
    }
}

impl RoundWritten {
    /// A `round report: PATH (VERDICT)` line the harness printed.
    fn read(line: &str, project: &super::Project) -> Option<RoundWritten> {
        let (path, verdict) = line.rsplit_once(" (")?;
        let number = path.rsplit_once("test-round-")?.1.strip_suffix(".md")?.parse().ok()?;
        let full = project.root().join(path);
        let markdown = std::fs::read_to_string(&full).unwrap_or_default();
        let history = oc_integrate::report::history(full.parent()?);
        let service = full.parent()?.file_name()?.to_string_lossy().into_owned();
        Some(RoundWritten {
            service,
            round: number,
            verdict: verdict.trim_end_matches(')').into(),
            path: project.relative(&full),
            score: markdown.lines().find(|l| l.starts_with("Score: ")).unwrap_or_default().into(),
            escalated: history.iter().any(|r| r.number == number && r.escalated()),
        })
    }
}
