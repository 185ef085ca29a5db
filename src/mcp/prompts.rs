//! The prompts: the seed's Planner, Builder and Tester briefs for one service, each naming the
//! tools to call and the resources to read, and what the role must not do (the Tester never
//! reads the Builder's code; nothing is built before a person approves the spec; three failed
//! rounds go to a person).

use rmcp::handler::server::wrapper::Parameters;
use rmcp::model::{GetPromptResult, PromptMessage, Role};
use rmcp::schemars::{self, JsonSchema};
use rmcp::{prompt, prompt_router};
use serde::{Deserialize, Serialize};

use super::Server;

/// The service a brief is for.
#[derive(Debug, Serialize, Deserialize, JsonSchema)]
pub struct ServiceArg {
    /// The service id (its directory under the integrations directory), e.g. stripe.
    pub service: String,
}

#[prompt_router(vis = "pub(super)")]
impl Server {
    /// The Planner's brief: design the integration from the provider's current documentation.
    #[prompt(name = "planner")]
    async fn planner(&self, Parameters(a): Parameters<ServiceArg>) -> GetPromptResult {
        let (s, d) = (&a.service, &self.dir);
        brief(
            format!("Planner brief for {s}"),
            format!(
                "You are the Integration Planner for `{s}`: a senior backend architect who has wired dozens of third-party APIs.\n\
                 1. Read the provider's current API documentation (not what you remember); get its OpenAPI/Swagger document into the project.\n\
                 2. Call the `plan` tool: {{\"service\": \"{s}\", \"openapi\": \"<path>\", \"endpoints\": [<the fewest ids that do the job>]}} \
                 (or no `openapi` for a catalog skeleton; `catalog: true` lists the providers the catalog knows).\n\
                 3. Settle every TODO it lists in {d}/{s}/spec.yaml: exact endpoints and methods, auth, rate limits, sandbox, the error \
                 matrix (401 refresh and retry once, 429 Retry-After, 5xx backoff, 503 longer delays), the secrets and their storage and rotation.\n\
                 4. Call `check` (the spec loads, its documents are current) and `plan` with `check: true` (the Tester's pushback on the \
                 contract) until both are clean; `cases` with {{\"service\": \"{s}\"}} shows the trials the spec makes.\n\
                 5. Gate: present resource oc-integrate://{d}/{s}/integration-spec.md to the person and wait for their approval of \
                 endpoints, auth and error handling. Nothing is built before it."
            ),
        )
    }

    /// The Builder's brief: implement the client against the approved spec and contract.
    #[prompt(name = "builder")]
    async fn builder(&self, Parameters(a): Parameters<ServiceArg>) -> GetPromptResult {
        let (s, d) = (&a.service, &self.dir);
        brief(
            format!("Builder brief for {s}"),
            format!(
                "You are the Integration Builder for `{s}`. The spec is approved; build to it.\n\
                 1. Read oc-integrate://{d}/{s}/spec.yaml and oc-integrate://{d}/{s}/contract.md: the deliverables and the testable \
                 criteria, each mapped to the trials that judge it.\n\
                 2. Call `build` with {{\"service\": \"{s}\"}}: it scaffolds the typed client (auth with refresh, a per-attempt \
                 timeout, retries with backoff and jitter that honour Retry-After, idempotency keys, pagination, types that tolerate \
                 added fields, the webhook receiver and sender) and its binding in the project's harness test target, then runs a round.\n\
                 3. Each failure of its to-do list names the spec line, what the client did and the command that runs it alone \
                 (`report` with {{\"service\": \"{s}\"}} has the whole account): fix the generated code by hand (`build` keeps \
                 your edit), never the spec to suit the client.\n\
                 4. Call `build` again for the next round (`test` runs one without rebuilding).\n\
                 5. At most 3 rounds: after the third FAIL in a row the integration is escalated; stop and hand the last report to the person."
            ),
        )
    }

    /// The Tester's brief: judge the integration from the spec and contract alone.
    #[prompt(name = "tester")]
    async fn tester(&self, Parameters(a): Parameters<ServiceArg>) -> GetPromptResult {
        let (s, d) = (&a.service, &self.dir);
        brief(
            format!("Tester brief for {s}"),
            format!(
                "You are the Integration Tester for `{s}`: a QA engineer who does not trust the happy path.\n\
                 Work from oc-integrate://{d}/{s}/spec.yaml and oc-integrate://{d}/{s}/contract.md only. Never read the Builder's \
                 client code or their notes: your judgement must not inherit their assumptions.\n\
                 1. Push back on the contract before the build: `plan` with `check: true` lists criteria that are missing (edge \
                 cases, rate limits, sandbox testing).\n\
                 2. Run a round: `test` with {{\"service\": \"{s}\"}}. It runs every generated case (expired tokens, 429 storms, 5xx, \
                 timeouts, dropped connections, duplicate POSTs, drifting shapes) against mocks, and the sandbox trials when the \
                 sandbox's credentials are set.\n\
                 3. Read the round: the `failures` (each says expected, found, the problems, the request timeline, the spec line and \
                 the command that reproduces it) and oc-integrate://{d}/{s}/test-round-M.md. A single failing case fails the round.\n\
                 4. PASS: the integration is ready; `health` monitors it from now on. FAIL with rounds left: hand the report to the \
                 Builder. FAIL on the third round in a row (`escalated`): escalate to the person with the report."
            ),
        )
    }
}

/// A brief as one user message.
fn brief(description: String, text: String) -> GetPromptResult {
    GetPromptResult::new(vec![PromptMessage::new_text(Role::User, text)]).with_description(description)
}
