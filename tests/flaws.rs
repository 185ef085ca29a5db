//! The proof that the tester catches what it claims: the correct example clients pass
//! every generated case, and a client with exactly one flaw fails exactly the cases that
//! flaw should fail, and no others. Every scenario kind is failed by at least one flaw.

#[path = "../examples/clients/mod.rs"]
#[allow(dead_code)] // each target uses part of the shared example clients
mod clients;

use std::collections::{BTreeSet, HashMap};
use std::path::Path;
use std::time::Duration;

#[path = "support/expected.rs"]
mod expected;

use clients::flaw::Flaw;
use expected::{services, should_fail};
use oc_integrate::case::Kind;
use oc_integrate::results::CaseResult;
use oc_integrate::spec::{Action, Spec, load_dir};
use oc_integrate::{Binding, Harness};
use rstest::rstest;

const DIR: &str = "examples/integrations";

/// The cases of `results` that failed are exactly `expected` (for `what`, a flaw on a
/// service); else the assertion shows each case on the wrong side, with its message.
fn fails_exactly(results: &[CaseResult], expected: &BTreeSet<String>, what: &str) {
    let failed: BTreeSet<String> = results.iter().filter(|r| !r.outcome.passed).map(|r| r.case.name()).collect();
    let messages: Vec<String> = results
        .iter()
        .filter(|r| failed.contains(&r.case.name()) != expected.contains(&r.case.name()))
        .map(|r| format!("== {} (failed: {})\n{}{}", r.case.name(), !r.outcome.passed, r.message, r.outcome.actual))
        .collect();
    assert_eq!(&failed, expected, "{what}: failures differ from the flaw's scenarios\n{}", messages.join("\n"));
}

fn specs() -> HashMap<String, Spec> {
    load_dir(Path::new(DIR)).unwrap().into_iter().map(|s| s.unwrap()).map(|s| (s.id.clone(), s)).collect()
}

fn binding(service: &str, flaws: &'static [Flaw]) -> Binding {
    match service {
        "payments" => clients::payments::binding(flaws),
        _ => clients::tracker::binding(flaws),
    }
}

#[rstest]
#[case::correct(None)]
#[case(Some(Flaw::NeverRefreshes))]
#[case(Some(Flaw::RefreshLoop))]
#[case(Some(Flaw::ForgetsRotatedRefreshToken))]
#[case(Some(Flaw::RefreshesWithBasicAuth))]
#[case(Some(Flaw::RefreshPerCall))]
#[case(Some(Flaw::OneCallWaitsForAll))]
#[case(Some(Flaw::FirstPageOnly))]
#[case(Some(Flaw::NoLoopGuard))]
#[case(Some(Flaw::RestartsListOnError))]
#[case(Some(Flaw::PartialListOnError))]
#[case(Some(Flaw::IgnoresRetryAfter))]
#[case(Some(Flaw::MisreadsRetryAfterDate))]
#[case(Some(Flaw::RetriesForever))]
#[case(Some(Flaw::NoBackoff))]
#[case(Some(Flaw::ConstantBackoff))]
#[case(Some(Flaw::Treats503Like500))]
#[case(Some(Flaw::OverlongBackoff))]
#[case(Some(Flaw::AuthErrorAsStatus))]
#[case(Some(Flaw::RetriesClientErrors))]
#[case(Some(Flaw::ParsesErrorBodyAsJson))]
#[case(Some(Flaw::NoWaitWithoutRetryAfter))]
#[case(Some(Flaw::IgnoresRateLimitReset))]
#[case(Some(Flaw::Treats403RateLimitAsForbidden))]
#[case(Some(Flaw::RetriesOnly500And503))]
#[case(Some(Flaw::NoTimeout))]
#[case(Some(Flaw::TimeoutOnHeadersOnly))]
#[case(Some(Flaw::PerReadTimeoutOnly))]
#[case(Some(Flaw::TimeoutTooShort))]
#[case(Some(Flaw::TimeoutPerPhase))]
#[case(Some(Flaw::NewIdempotencyKeyPerRetry))]
#[case(Some(Flaw::NewIdempotencyKeyAfterTransportFailure))]
#[case(Some(Flaw::DropsCredentialOnRetry))]
#[case(Some(Flaw::DropsBodyOnRetry))]
#[case(Some(Flaw::RetriesNonIdempotent))]
#[case(Some(Flaw::NoRetryOnConnectionErrors))]
#[case(Some(Flaw::LoopsOnConnectRefused))]
#[case(Some(Flaw::StrictUnknownFields))]
#[case(Some(Flaw::DefaultsMissingField))]
#[case(Some(Flaw::DefaultsNestedFields))]
#[case(Some(Flaw::CoercesTypes))]
#[case(Some(Flaw::NullAsDefault))]
#[case(Some(Flaw::PanicsOnMissingField))]
#[case(Some(Flaw::PanicsOnInvalidJson))]
#[case(Some(Flaw::IgnoresContentType))]
#[case(Some(Flaw::RequiresOptionalFields))]
#[case(Some(Flaw::ExactContentType))]
#[case(Some(Flaw::StrictNestedFields))]
#[case(Some(Flaw::IndexesFirstItem))]
#[case(Some(Flaw::NumbersAsFloats))]
#[case(Some(Flaw::Latin1Body))]
#[case(Some(Flaw::NoContentType))]
#[case(Some(Flaw::PathNotEncoded))]
#[case(Some(Flaw::QueryNotEncoded))]
#[case(Some(Flaw::FormatsJsonByHand))]
#[case(Some(Flaw::AuthWithoutPrefix))]
#[case(Some(Flaw::AcceptsAnySignature))]
#[case(Some(Flaw::AcceptsMissingSignature))]
#[case(Some(Flaw::VerifiesReserialisedBody))]
#[case(Some(Flaw::IgnoresTimestamps))]
#[case(Some(Flaw::ProcessesDuplicates))]
#[case(Some(Flaw::ChecksThenMarks))]
#[case(Some(Flaw::ShortIdempotencyTtl))]
#[case(Some(Flaw::FailsOnMalformedJson))]
#[case(Some(Flaw::NoBodyLimit))]
#[case(Some(Flaw::RejectsUnknownEvents))]
#[case(Some(Flaw::ProcessesBeforeAnswering))]
#[case(Some(Flaw::SignsOtherBytes))]
#[case(Some(Flaw::KeysOnEventType))]
#[case(Some(Flaw::MarksBeforeVerifying))]
#[case(Some(Flaw::ChecksFirstSignatureOnly))]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flawed_client_fails_exactly_its_scenarios(#[case] flaw: Option<Flaw>) {
    let specs = specs();
    let flaws: &'static [Flaw] = Box::leak(flaw.into_iter().collect::<Vec<_>>().into_boxed_slice());
    for service in services(flaw) {
        let spec = &specs[*service];
        // a flaw's failures are deterministic, and deciding each again alone would serialise
        // hundreds of them: the quiet re-run is proven in tests/confirm.rs and, for a flawed
        // client under load, tests/load.rs; the correct client keeps it, as users run
        let harness = Harness::new(DIR).concurrency(32).bind(service, binding(service, flaws)).quiet_reruns(flaw.is_none());
        let prefix = format!("{service}::");
        let results = harness.evaluate(|n| n.starts_with(&prefix)).await.unwrap();
        assert!(!results.is_empty());
        let expected: BTreeSet<String> = results
            .iter()
            .filter(|r| should_fail(flaw, r.case.subject.endpoint(spec).as_ref()).contains(&r.case.kind))
            .map(|r| r.case.name())
            .collect();
        fails_exactly(&results, &expected, &format!("{flaw:?} on {service}"));
        if flaw.is_some() {
            assert!(!expected.is_empty(), "{flaw:?} must fail something on {service}");
        }
    }
}

/// Drift at depth: fields of nested objects and of array items drift like top-level ones,
/// and the failure names the JSON path of each.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nested_drift_names_the_json_path() {
    let harness = Harness::new(DIR).bind("tracker", binding("tracker", &[Flaw::DefaultsNestedFields]));
    let results = harness.evaluate(|n| n == "tracker::list_issues::drift_missing_field").await.unwrap();
    let r = &results[0];
    for path in ["`[0].id`", "`[0].user.login`", "`[0].user.id`"] {
        assert!(r.outcome.expected.contains(path), "{path} drifts: {}", r.outcome.expected);
    }
    // the flawed client defaults the user's fields, and only those
    let problems: Vec<&str> = r.outcome.problems.iter().map(|p| p.split(": expected").next().unwrap_or_default()).collect();
    assert_eq!(problems, ["`[0].user.login`", "`[0].user.id`"], "{:?}", r.outcome.problems);
}

/// The wait a case mandates is what its mock provider's answer said: the nominal Retry-After
/// for one in seconds; for a reset instant (an epoch in whole seconds, a Retry-After date), the
/// time from the answer to that instant, which lies past the nominal wait by up to a second.
/// The correct client waits all of it (judged on the server's clock), so the suite's floor
/// may count all of it and no more.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mandated_wait_is_what_the_answer_said() {
    let spec = &specs()["tracker"];
    let harness = Harness::new(DIR).bind("tracker", binding("tracker", &[]));
    let instants = ["rate_limit_retry_after_date", "rate_limit_reset", "status_403_when_1"];
    let results = harness
        .evaluate(|n| n.strip_prefix("tracker::get_issue::").is_some_and(|k| instants.contains(&k) || k == "rate_limit_retry_after"))
        .await
        .unwrap();
    assert_eq!(results.len(), 4, "{:?}", results.iter().map(|r| r.case.name()).collect::<Vec<_>>());
    for r in &results {
        assert!(r.outcome.passed, "{}", r.message);
        let nominal = r.case.mandated_wait(spec);
        let attempts = &r.trace.attempts;
        let gap = attempts[1].at - attempts[0].at;
        if instants.contains(&r.case.kind.name().as_ref()) {
            let beyond = r.mandated_wait.saturating_sub(nominal);
            assert!(
                r.mandated_wait > nominal && beyond <= Duration::from_secs(1),
                "{}: {:?} for {nominal:?}",
                r.case.name(),
                r.mandated_wait
            );
            // the correct client waited out the whole of it (the verdict's own slack aside)
            assert!(gap + Duration::from_millis(3) >= r.mandated_wait, "{}: retried after {gap:?} of {:?}", r.case.name(), r.mandated_wait);
        } else {
            assert_eq!(r.mandated_wait, nominal, "{}", r.case.name());
        }
    }
}

/// The other pagination shapes (Stripe's `has_more` with the last item's id, Slack's next
/// cursor, page numbers with a flag) through the generic client, which pages as each spec
/// says: the correct client passes every case of the three fixtures, and each pagination
/// flaw fails exactly its pagination cases (no loop case for page numbers).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_pagination_shape_is_proven() {
    const PAGED: &str = "tests/fixtures/paginated";
    let services = ["by_last_id", "by_next_cursor", "by_page_number"];
    let flaws: [Option<Flaw>; 6] = [
        None,
        Some(Flaw::FirstPageOnly),
        Some(Flaw::NoLoopGuard),
        Some(Flaw::RestartsListOnError),
        Some(Flaw::CursorNotEncoded),
        Some(Flaw::PartialListOnError),
    ];
    for flaw in flaws {
        let leaked: &'static [Flaw] = Box::leak(flaw.into_iter().collect::<Vec<_>>().into_boxed_slice());
        let mut harness = Harness::new(PAGED).concurrency(32).quiet_reruns(flaw.is_none());
        for s in services {
            harness = harness.bind(s, clients::generic::binding(leaked));
        }
        // the correct client runs every case; a flawed one the pagination cases
        let results = harness.evaluate(|n| !n.ends_with("::contract") && (flaw.is_none() || n.contains("::pagination_"))).await.unwrap();
        let expected: BTreeSet<String> = results
            .iter()
            .filter(|r| match flaw {
                Some(Flaw::FirstPageOnly) => true,
                Some(Flaw::NoLoopGuard) => r.case.kind == Kind::PaginationLoop,
                Some(Flaw::RestartsListOnError) => matches!(r.case.kind, Kind::PaginationPageFails | Kind::PaginationPagePersists),
                Some(Flaw::PartialListOnError) => r.case.kind == Kind::PaginationPagePersists,
                // only an opaque cursor carries characters to encode (ids and page numbers do not)
                Some(Flaw::CursorNotEncoded) => r.case.service == "by_next_cursor",
                _ => false,
            })
            .map(|r| r.case.name())
            .collect();
        fails_exactly(&results, &expected, &format!("{flaw:?}"));
        let ran: BTreeSet<&str> = results.iter().filter(|r| r.case.kind.is_pagination()).map(|r| r.case.service.as_str()).collect();
        assert_eq!(ran.len(), 3, "every shape ran its pagination cases: {ran:?}");
    }
}

/// GitHub's shapes through the generic client: a text/plain and an application/octet-stream
/// request body (sent as they are, under their own media type) and two path parameters in
/// one segment (`/compare/{base}...{head}`, each value filled and encoded in place). The
/// correct client passes every case; a client that sends its bodies with no Content-Type, or
/// its path values unencoded, fails exactly that flaw's cases.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bodies_that_are_not_json_and_shared_path_segments_are_proven() {
    const SHAPES: &str = "tests/fixtures/bodies";
    let spec = load_dir(Path::new(SHAPES)).unwrap().remove(0).unwrap();
    for flaw in [None, Some(Flaw::NoContentType), Some(Flaw::PathNotEncoded)] {
        let leaked: &'static [Flaw] = Box::leak(flaw.into_iter().collect::<Vec<_>>().into_boxed_slice());
        let harness = Harness::new(SHAPES).concurrency(32).quiet_reruns(flaw.is_none()).bind(&spec.id, clients::generic::binding(leaked));
        let results = harness.evaluate(|n| !n.ends_with("::contract")).await.unwrap();
        let expected: BTreeSet<String> = results
            .iter()
            .filter(|r| should_fail(flaw, r.case.subject.endpoint(&spec).as_ref()).contains(&r.case.kind))
            .map(|r| r.case.name())
            .collect();
        fails_exactly(&results, &expected, &format!("{flaw:?}"));
        let subjects: BTreeSet<&str> = expected.iter().filter_map(|n| n.split("::").nth(1)).collect();
        let want: &[&str] = match flaw {
            None => &[],
            Some(Flaw::NoContentType) => &["render_markdown", "upload_asset"],
            _ => &["compare"],
        };
        assert_eq!(subjects, want.iter().copied().collect(), "{flaw:?} fails the shapes it is about");
    }
}

/// Every flaw the example clients can be built with is proven above (a new one cannot be
/// left out of the list by mistake): by the examples, or on the pagination fixtures.
#[test]
fn every_flaw_is_proven() {
    let source = std::fs::read_to_string(file!()).unwrap();
    let shapes = &source[source.find("async fn every_pagination_shape_is_proven").unwrap()..];
    let shapes = &shapes[..shapes.find("\n}\n").unwrap()];
    let missing: Vec<Flaw> = Flaw::ALL
        .into_iter()
        .filter(|f| !source.contains(&format!("#[case(Some(Flaw::{f:?}))]")) && !shapes.contains(&format!("Some(Flaw::{f:?})")))
        .collect();
    assert!(missing.is_empty(), "flaws no test runs: {missing:?}");
}

/// Every scenario kind the examples generate is failed by at least one flawed client.
#[test]
fn every_generated_kind_has_a_flaw_that_fails_it() {
    let specs = specs();
    let all_flaws = Flaw::ALL;
    let mut uncovered = Vec::new();
    for spec in specs.values() {
        for case in oc_integrate::scenario::plan(spec) {
            let e = case.subject.endpoint(spec);
            let caught = all_flaws
                .iter()
                .any(|f| services(Some(*f)).contains(&spec.id.as_str()) && should_fail(Some(*f), e.as_ref()).contains(&case.kind));
            if !caught {
                uncovered.push(case.name());
            }
        }
    }
    assert!(uncovered.is_empty(), "generated cases no flawed client fails: {uncovered:?}");
    let kinds: BTreeSet<Kind> = specs.values().flat_map(oc_integrate::scenario::plan).map(|c| c.kind).collect();
    let missing: Vec<Kind> = Kind::ALL.into_iter().filter(|k| !kinds.contains(k)).collect();
    assert!(missing.is_empty(), "the examples must exercise every scenario kind, found none of {missing:?}");
    // and the matrix's own rows, each action a status case can take
    let actions: BTreeSet<Action> =
        kinds.iter().filter_map(|k| if let Kind::Status { action, .. } = k { Some(*action) } else { None }).collect();
    assert_eq!(actions, [Action::RespectRetryAfter, Action::RetryWithBackoff, Action::Fail].into(), "the examples' matrix rows");
}

/// Conformance with form and multipart request bodies (Stripe's API is form-encoded): a
/// client that sends the declared body passes; one that sends JSON instead, or a form that
/// lacks the example's fields, or no multipart body at all, fails, naming what differs.
#[test]
fn conformance_checks_form_and_multipart_bodies() {
    const SPEC: &str = r#"name: Forms
overview:
  direction: outbound
  auth: {kind: api_key, prefix: "Bearer "}
  base_url: https://api.forms.example/v1
endpoints:
  - id: create_charge
    method: POST
    path: /charges
    purpose: Charge a card
    request:
      content_type: application/x-www-form-urlencoded
      example: {body: {amount: 2000, metadata: {plan: pro}}}
    response:
      example: {id: ch_1}
  - id: upload_file
    method: POST
    path: /files
    purpose: Upload a receipt
    request:
      content_type: multipart/form-data
      example: {body: {purpose: receipt}}
    response:
      example: {id: file_1}
error_handling:
  - {status: 4xx, meaning: Bad request, action: fail}
retry: {max_attempts: 2, base_delay_ms: 100, multiplier: 2, max_delay_ms: 400}
timeouts: {request_ms: 2000}
secrets:
  - {name: Key, storage: vault, rotation: Yearly, env: FORMS_KEY}
"#;
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oc-forms-{}", uuid::Uuid::new_v4().simple()));
    std::fs::create_dir_all(dir.join("forms")).unwrap();
    std::fs::write(dir.join("forms/spec.yaml"), SPEC).unwrap();
    // how the client encodes: "form" (right), "json" (a JSON body), "short" (a form without metadata), "none" (no body)
    let client = |how: &'static str| {
        Binding::new(
            |ctx| (reqwest::Client::new(), ctx.base_url().to_string(), ctx.credentials().api_key.clone().unwrap_or_default()),
            move |c, call| async move {
                let (http, base, key) = &*c;
                let path = if call.endpoint() == "create_charge" { "/charges" } else { "/files" };
                let mut req = http.post(format!("{base}{path}")).bearer_auth(key);
                req = match (call.endpoint(), how) {
                    ("create_charge", "form") => req.form(&[("amount", "2000"), ("metadata[plan]", "pro")]),
                    ("create_charge", "short") => req.form(&[("amount", "2000")]),
                    (_, "json") => req.json(call.input().get("body").unwrap()),
                    (_, "none") => req,
                    _ => req
                        .header("content-type", "multipart/form-data; boundary=b")
                        .body("--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nreceipt\r\n--b--\r\n"),
                };
                let r = req.send().await.map_err(|e| oc_integrate::ClientError::new(oc_integrate::ErrorKind::Connection, e.to_string()))?;
                oc_integrate::outcome(
                    r.json::<serde_json::Value>()
                        .await
                        .map_err(|e| oc_integrate::ClientError::new(oc_integrate::ErrorKind::InvalidResponse, e.to_string())),
                )
            },
        )
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let conformance = |how: &'static str| {
        let h = Harness::new(&dir).bind("forms", client(how));
        let results = rt.block_on(h.evaluate(|n| n.ends_with("::conformance"))).unwrap();
        results
            .into_iter()
            .map(|r| (r.case.subject_id.clone(), (r.outcome.passed, r.outcome.problems.join("; "))))
            .collect::<HashMap<_, _>>()
    };
    let right = conformance("form");
    assert_eq!(right.len(), 2, "both endpoints' conformance cases ran: {right:?}");
    assert!(right.values().all(|(ok, _)| *ok), "{right:?}");
    let json = conformance("json");
    let (ok, why) = &json["create_charge"];
    assert!(!ok && why.contains("expected Content-Type application/x-www-form-urlencoded, found \"application/json\""), "{why}");
    assert!(why.contains("metadata[plan]=pro (absent)"), "{why}");
    let short = conformance("short");
    let (ok, why) = &short["create_charge"];
    assert!(
        !ok && why.contains("expected the form body to carry the request example's fields, found differences: metadata[plan]=pro (absent)"),
        "{why}"
    );
    let none = conformance("none");
    let (ok, why) = &none["upload_file"];
    assert!(!ok && why.contains("expected a multipart/form-data body, found none"), "{why}");
}
