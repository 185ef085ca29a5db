//! The spec file: its published JSON Schema stays in sync with the Rust types, the
//! examples satisfy it, and every kind of bad input gets an error that says where
//! (file:line:col), at which path, what was expected and what was found.

use std::path::{Path, PathBuf};

use oc_integrate::Harness;
use oc_integrate::spec::{self, load_file};
use rstest::rstest;

const GOOD: &str = r#"name: Demo
overview:
  direction: outbound
  auth: {kind: api_key, prefix: "Bearer "}
  base_url: https://api.demo.example/v1
endpoints:
  - id: get_thing
    method: GET
    path: /things/{id}
    purpose: Read a thing
    request:
      example: {params: {id: t1}}
    response:
      example: {id: t1, size: 3}
      schema: {type: object, required: [id, size], properties: {id: {type: string}, size: {type: integer}}}
  - id: make_thing
    method: POST
    path: /things
    purpose: Make a thing
    idempotency_header: Idempotency-Key
    request:
      example: {body: {size: 3}}
    response:
      example: {id: t2, size: 3}
error_handling:
  - {status: 429, meaning: Rate limited, action: respect_retry_after}
  - {status: 5xx, meaning: Server error, action: retry_with_backoff}
retry: {max_attempts: 3, base_delay_ms: 100, max_delay_ms: 1000}
timeouts: {request_ms: 1000}
"#;

/// Write `text` as `<tmp>/<service>/spec.yaml` and return the file.
/// Run trials through libtest-mimic with its report written to a scratch file, so this
/// suite's own output carries no nested "test result" lines.
fn run_quietly(trials: Vec<libtest_mimic::Trial>) -> libtest_mimic::Conclusion {
    let log = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oc-spec-log-{}", uuid::Uuid::new_v4().simple()));
    let args = libtest_mimic::Arguments::from_iter(["t", "--quiet", "--logfile", log.to_str().unwrap()]);
    let conclusion = libtest_mimic::run(&args, trials);
    let _ = std::fs::remove_file(log);
    conclusion
}

fn write_spec(service: &str, text: &str) -> PathBuf {
    let dir = std::path::Path::new(env!("CARGO_TARGET_TMPDIR"))
        .join(format!("oc-spec-{}-{}", std::process::id(), uuid::Uuid::new_v4().simple()))
        .join(service);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("spec.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn published_schema_matches_the_rust_types() {
    let committed: serde_json::Value = serde_json::from_str(&std::fs::read_to_string("schemas/spec.schema.json").unwrap()).unwrap();
    assert_eq!(committed, spec::json_schema(), "schemas/spec.schema.json is stale: run `cargo run -- schema > schemas/spec.schema.json`");
}

#[rstest]
#[case("examples/integrations/payments/spec.yaml")]
#[case("examples/integrations/tracker/spec.yaml")]
fn example_specs_satisfy_the_published_schema(#[case] file: &str) {
    let (value, _) = spec::yaml::parse(&std::fs::read_to_string(file).unwrap()).unwrap();
    let validator = jsonschema::validator_for(&spec::json_schema()).unwrap();
    let errors: Vec<String> = validator.iter_errors(&value).map(|e| format!("{}: {e}", e.instance_path())).collect();
    assert!(errors.is_empty(), "{file}: {errors:?}");
    load_file(Path::new(file)).unwrap();
}

#[test]
fn a_good_spec_loads() {
    let s = load_file(&write_spec("demo", GOOD)).unwrap();
    assert_eq!(s.id, "demo");
    assert!(s.endpoints[1].is_idempotent());
    assert!(oc_integrate::scenario::plan(&s).len() > 20);
}

#[rstest]
#[case::bad_method(
    "method: GET",
    "method: FETCH",
    "8:13: endpoints[0].method: expected one of GET, POST, PUT, PATCH, DELETE, found \"FETCH\""
)]
#[case::unknown_field(
    "    purpose: Read a thing\n",
    "    purpose: Read a thing\n    idempotnet: true\n",
    "11:5: endpoints[0].idempotnet: expected one of id, method, path, purpose, auth, rate_limit, idempotent, idempotency_header, request, response, pagination, found unknown field \"idempotnet\" (did you mean \"idempotent\"?)"
)]
#[case::wrong_type(
    "max_attempts: 3,",
    "max_attempts: three,",
    "28:23: retry.max_attempts: expected a whole number from 0 to 4294967295, found string \"three\""
)]
#[case::missing_field("timeouts: {request_ms: 1000}\n", "", "1:1: expected field \"timeouts\", found none")]
#[case::bad_action(
    "action: respect_retry_after}",
    "action: back_off}",
    "26:50: error_handling[0].action: expected one of refresh_and_retry_once, respect_retry_after, retry_with_backoff, retry_with_longer_delays, fail, found \"back_off\""
)]
#[case::bad_status(
    "status: 5xx,",
    "status: 6xx,",
    "27:14: error_handling[1].status: expected a status (100-599) or a class like \"5xx\", found \"6xx\""
)]
#[case::bad_url(
    "https://api.demo.example/v1",
    "api.demo.example/v1",
    "5:13: overview.base_url: expected an absolute http(s) URL, found \"api.demo.example/v1\""
)]
#[case::duplicate_id(
    "id: make_thing",
    "id: get_thing",
    "16:9: endpoints[1].id: expected a unique id, found \"get_thing\" again (first at endpoints[0])"
)]
#[case::missing_param(
    "example: {params: {id: t1}}",
    "example: {params: {other: t1}}",
    "12:16: endpoints[0].request.example: expected params.id for the path \"/things/{id}\", found none"
)]
#[case::example_breaks_schema(
    "example: {id: t1, size: 3}",
    "example: {id: t1, size: big}",
    "14:16: endpoints[0].response.example: expected the response example to satisfy its schema, found at /size: \"big\" is not of type \"integer\""
)]
#[case::bad_schema("{type: object, required", "{type: 12, required", "15:15: endpoints[0].response.schema: expected a valid JSON Schema")]
#[case::idempotent_post_without_key(
    "    idempotency_header: Idempotency-Key\n",
    "    idempotent: true\n",
    "20:17: endpoints[1].idempotent: expected an idempotency_header for an idempotent POST, found none"
)]
#[case::yaml_syntax("  - id: get_thing\n", "  - id: [get_thing\n", "expected valid YAML, found a syntax error")]
#[case::zero_attempts("max_attempts: 3,", "max_attempts: 0,", "28:23: retry.max_attempts: expected 1 to 10 attempts, found 0")]
#[case::bad_rate(
    "base_url: https://api.demo.example/v1\n",
    "base_url: https://api.demo.example/v1\n  rate_limit: lots\n",
    "6:15: overview.rate_limit: expected a rate like \"100/min\" (units: s, sec, min, h, hour, day), found \"lots\""
)]
#[case::refresh_without_oauth(
    "{status: 429, meaning: Rate limited, action: respect_retry_after}",
    "{status: 401, meaning: Expired, action: refresh_and_retry_once}",
    "26:45: error_handling[0].action: expected overview.auth.kind oauth2 for refresh_and_retry_once, found no token endpoint"
)]
#[case::when_on_a_class(
    "action: retry_with_backoff}",
    "action: retry_with_backoff, when: {x-a: \"1\"}}",
    "27:76: error_handling[1].when: expected one status on a row with `when`, found the class 5xx"
)]
#[case::when_header_name(
    "{status: 429, meaning: Rate limited, action: respect_retry_after}",
    "{status: 403, meaning: Rate limited, action: respect_retry_after, when: {\"x a\": \"0\"}}",
    "error_handling[0].when.x a: expected a header name and a value (\"*\" for any), found \"x a\": \"0\""
)]
#[case::reset_on_a_fail_row(
    "{status: 429, meaning: Rate limited, action: respect_retry_after}",
    "{status: 429, meaning: Rate limited, action: fail, reset: {header: x-ratelimit-reset, unit: epoch_seconds}}",
    "error_handling[0].reset: expected a reset header only on a respect_retry_after row, found fail"
)]
#[case::reset_unit(
    "{status: 429, meaning: Rate limited, action: respect_retry_after}",
    "{status: 429, meaning: Rate limited, action: respect_retry_after, reset: {header: x-ratelimit-reset, unit: minutes}}",
    "error_handling[0].reset.unit: expected one of epoch_seconds, epoch_milliseconds, delta_seconds, found \"minutes\""
)]
fn a_bad_spec_names_file_line_column_path_expected_and_found(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert!(GOOD.contains(from), "fixture text {from:?} not in GOOD");
    let file = write_spec("demo", &GOOD.replacen(from, to, 1));
    let err = load_file(&file).expect_err("the spec must be rejected").to_string();
    let prefix = format!("{}:", file.display());
    assert!(err.starts_with(&prefix), "{err}");
    assert!(err.contains(want), "got:  {err}\nwant: …{want}…");
}

#[test]
fn a_missing_schema_file_is_named() {
    let file = write_spec(
        "demo",
        &GOOD.replacen(
            "      schema: {type: object, required: [id, size], properties: {id: {type: string}, size: {type: integer}}}",
            "      schema_file: nowhere.json",
            1,
        ),
    );
    let err = load_file(&file).unwrap_err().to_string();
    assert!(err.contains("endpoints[0].response.schema_file: expected a readable file at"), "{err}");
    assert!(err.contains("nowhere.json"), "{err}");
}

/// `schema_file: file#/pointer` names a schema inside a shared file: endpoints pointing into
/// one file share it (`#/` references resolve in the file); a pointer to nothing, or to what
/// is not a schema, is refused at the `schema_file` line, naming the file and the nearest key;
/// an example the part refuses is refused at the example, with the path inside it.
#[rstest]
#[case::found("#/$defs/thing", "")]
#[case::misspelt(
    "#/$defs/thng",
    "15:20: endpoints[0].response.schema_file: expected a schema at #/$defs/thng in schemas/shared.json, found nothing there (did you mean #/$defs/thing?)"
)]
#[case::not_a_pointer(
    "#$defs/thing",
    "endpoints[0].response.schema_file: expected a JSON pointer after # (#/$defs/name), found #$defs/thing"
)]
#[case::not_a_schema(
    "#/$defs/thing/required",
    "endpoints[0].response.schema_file: expected a schema (an object) at #/$defs/thing/required in schemas/shared.json, found a sequence"
)]
#[case::example_refused(
    "#/$defs/strict",
    "endpoints[0].response.example: expected the response example to satisfy its schema, found at /size: "
)]
fn a_schema_file_pointer_names_a_schema_inside_the_file(#[case] pointer: &str, #[case] want: &str) {
    let file = write_spec(
        "demo",
        &GOOD.replacen(
            "      schema: {type: object, required: [id, size], properties: {id: {type: string}, size: {type: integer}}}",
            &format!("      schema_file: \"schemas/shared.json{pointer}\""),
            1,
        ),
    );
    let dir = file.parent().unwrap();
    std::fs::create_dir_all(dir.join("schemas")).unwrap();
    let shared = serde_json::json!({"$defs": {
        "thing": {"type": "object", "required": ["id", "size"], "properties": {"id": {"type": "string"}, "size": {"$ref": "#/$defs/size"}}},
        "size": {"type": "integer"},
        "strict": {"type": "object", "properties": {"size": {"type": "string"}}}
    }});
    std::fs::write(dir.join("schemas/shared.json"), shared.to_string()).unwrap();
    match load_file(&file) {
        Ok(spec) => {
            assert!(want.is_empty(), "expected {want}");
            let schema = spec.endpoints[0].response.schema.as_ref().unwrap();
            assert_eq!(schema.value()["required"], serde_json::json!(["id", "size"]));
            assert!(!schema.accepts(&serde_json::json!({"id": "a", "size": "big"})), "the $ref resolves in the shared file");
        }
        Err(e) => {
            let err = e.to_string();
            assert!(!want.is_empty() && err.contains(want), "got:  {err}\nwant: …{want}…");
        }
    }
}

/// `example_file: file#/pointer` names an example inside a JSON file beside the spec (the
/// planner writes large ones there): loaded, it is the endpoint's example, checked against
/// its schema like one written inline; a pointer to nothing is refused at the line naming
/// it, with the nearest key; a response needs one of the two, never both; the file stays in
/// the spec's tree like a schema file.
#[rstest]
#[case::found("examples.json#/get_thing/response", "")]
#[case::request("examples.json#/get_thing/response", "")]
#[case::misspelt(
    "examples.json#/get_thng/response",
    "14:21: endpoints[0].response.example_file: expected an example at #/get_thng/response in examples.json, found nothing there (did you mean #/get_thing?)"
)]
#[case::refused_by_the_schema(
    "examples.json#/wrong",
    "14:21: endpoints[0].response.example_file: expected the response example (examples.json#/wrong) to satisfy its schema, found at /size: "
)]
#[case::outside("../examples.json#/get_thing/response", "expected a path inside the spec's directory (relative, without ..)")]
#[case::both("both", "15:21: endpoints[0].response.example_file: expected either example or example_file, found both")]
#[case::neither("neither", "endpoints[0].response: expected example or example_file, found neither")]
fn an_example_file_pointer_names_an_example_beside_the_spec(#[case] pointer: &str, #[case] want: &str) {
    let example = "      example: {id: t1, size: 3}\n";
    let text = match pointer {
        "both" => GOOD.replacen(example, &format!("{example}      example_file: examples.json#/get_thing/response\n"), 1),
        "neither" => GOOD.replacen(example, "", 1),
        p => GOOD.replacen(example, &format!("      example_file: \"{p}\"\n"), 1),
    };
    let file = write_spec("demo", &text);
    let dir = file.parent().unwrap();
    let examples = serde_json::json!({"get_thing": {"response": {"id": "t9", "size": 7}, "request": {"params": {"id": "t9"}}}, "wrong": {"id": "t1", "size": "big"}});
    std::fs::write(dir.join("examples.json"), examples.to_string()).unwrap();
    if pointer == "request" {
        // the request side too: the example handed to the binding comes from the file
        let file = write_spec(
            "demo",
            &GOOD.replacen("      example: {params: {id: t1}}", "      example_file: examples.json#/get_thing/request", 1),
        );
        std::fs::write(file.parent().unwrap().join("examples.json"), examples.to_string()).unwrap();
        let spec = load_file(&file).unwrap();
        assert_eq!(spec.endpoints[0].concrete_path(), "/things/t9");
        return;
    }
    match load_file(&file) {
        Ok(spec) => {
            assert!(want.is_empty(), "expected {want}");
            assert_eq!(spec.endpoints[0].response.example, serde_json::json!({"id": "t9", "size": 7}));
            assert!(oc_integrate::scenario::plan(&spec).len() > 20);
        }
        Err(e) => {
            let err = e.to_string();
            assert!(!want.is_empty() && err.contains(want), "got:  {err}\nwant: …{want}…");
        }
    }
}

/// Example files are read while the spec is typed, yet what is wrong with them is said before
/// what is wrong with the spec's types, as when they were read first; and a request example
/// that is `null` in its file is no example, as `example: null` is inline.
#[test]
fn example_files_resolve_as_if_read_before_the_spec_is_typed() {
    let examples = serde_json::json!({"get_thing": {"response": {"id": "t9", "size": 7}}, "make_thing": {"request": null}});
    let load = |text: &str| {
        let file = write_spec("demo", text);
        std::fs::write(file.parent().unwrap().join("examples.json"), examples.to_string()).unwrap();
        load_file(&file)
    };
    let response = "      example: {id: t1, size: 3}\n";
    let nowhere = GOOD.replacen(response, "      example_file: examples.json#/nothing\n", 1) + "bogus: 1\n";
    let err = load(&nowhere).unwrap_err().to_string();
    assert!(err.contains("expected an example at #/nothing in examples.json"), "{err}");
    let found = GOOD.replacen(response, "      example_file: examples.json#/get_thing/response\n", 1);
    let err = load(&(found.clone() + "bogus: 1\n")).unwrap_err().to_string();
    assert!(err.contains("bogus"), "the spec's own error once the examples are found: {err}");

    let request = "      example: {body: {size: 3}}";
    let in_file = load(&found.replacen(request, "      example_file: examples.json#/make_thing/request", 1)).unwrap();
    let inline = load(&found.replacen(request, "      example: null", 1)).unwrap();
    assert_eq!((&in_file.endpoints[1].request.example, &inline.endpoints[1].request.example), (&None, &None));
    assert_eq!(in_file.endpoints[0].response.example, serde_json::json!({"id": "t9", "size": 7}));
}

/// An example file's examples are each the value their pointer names, however they are named:
/// one named by two endpoints, one inside another that is named too, one named alone.
#[rstest]
#[case::named_twice(["#/req", "#/thing", "#/made", "#/thing"], [r#"{"params":{"id":"t9"}}"#, r#"{"id":"t9","size":7}"#, r#"{"body":{"size":5}}"#, r#"{"id":"t9","size":7}"#])]
#[case::one_inside_another(["#/req", "#/thing", "#/made", "#/made/body"], [r#"{"params":{"id":"t9"}}"#, r#"{"id":"t9","size":7}"#, r#"{"body":{"size":5}}"#, r#"{"size":5}"#])]
#[case::around_another(["#/req", "#/thing", "#/made", "#/thing/size"], [r#"{"params":{"id":"t9"}}"#, r#"{"id":"t9","size":7}"#, r#"{"body":{"size":5}}"#, "7"])]
fn each_example_of_a_file_is_what_its_pointer_names(#[case] pointers: [&str; 4], #[case] want: [&str; 4]) {
    let mut text = GOOD.to_string();
    for (inline, pointer) in [
        "      example: {params: {id: t1}}",
        "      example: {id: t1, size: 3}",
        "      example: {body: {size: 3}}",
        "      example: {id: t2, size: 3}",
    ]
    .into_iter()
    .zip(pointers)
    {
        text = text.replacen(inline, &format!("      example_file: \"examples.json{pointer}\""), 1);
    }
    let file = write_spec("demo", &text);
    let examples = serde_json::json!({"req": {"params": {"id": "t9"}}, "thing": {"id": "t9", "size": 7}, "made": {"body": {"size": 5}}});
    std::fs::write(file.parent().unwrap().join("examples.json"), examples.to_string()).unwrap();
    let spec = load_file(&file).unwrap();
    let (get, make) = (&spec.endpoints[0], &spec.endpoints[1]);
    let found = [
        get.request.example.clone().unwrap(),
        get.response.example.clone(),
        make.request.example.clone().unwrap(),
        make.response.example.clone(),
    ];
    assert_eq!(found.map(|v| v.to_string()), want);
}

/// `schema_file` stays in the spec's directory tree: no absolute path, no `..`, no device
/// or FIFO (which would block or never end), no link out of the tree; each refusal names the field.
#[rstest]
#[case::absolute("/etc/passwd", "expected a path inside the spec's directory (relative, without ..), found \"/etc/passwd\"")]
#[case::climbing("../../secrets.json", "expected a path inside the spec's directory (relative, without ..), found \"../../secrets.json\"")]
#[case::device("zero", "expected a regular file at")]
#[case::link_out("outside.json", "expected a file inside the spec's directory, found a link to")]
fn a_schema_file_outside_the_spec_is_refused(#[case] name: &str, #[case] want: &str) {
    let file = write_spec(
        "demo",
        &GOOD.replacen(
            "      schema: {type: object, required: [id, size], properties: {id: {type: string}, size: {type: integer}}}",
            &format!("      schema_file: {name}"),
            1,
        ),
    );
    let dir = file.parent().unwrap();
    std::os::unix::fs::symlink("/dev/zero", dir.join("zero")).unwrap();
    let outside = dir.parent().unwrap().join("outside-target.json");
    std::fs::write(&outside, "{}").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("outside.json")).unwrap();
    let err = load_file(&file).unwrap_err().to_string();
    assert!(err.contains("endpoints[0].response.schema_file: ") && err.contains(want), "got:  {err}\nwant: …{want}…");
}

/// Messages in the spec's terms, at the field: inside `overview.auth` (which serde reads as a
/// whole) the field itself, enum names listed whatever was given, no Rust type names.
#[rstest]
#[case::auth_field(
    "auth: {kind: api_key, prefix: \"Bearer \"}",
    "auth: {kind: oauth2, token_url: 5}",
    "4:35: overview.auth.token_url: expected a string, found 5"
)]
#[case::auth_kind(
    "auth: {kind: api_key, prefix: \"Bearer \"}",
    "auth: {kind: 5}",
    "overview.auth.kind: expected one of none, api_key, oauth2, found 5"
)]
#[case::enum_given_a_list(
    "direction: outbound",
    "direction: [a, b]",
    "overview.direction: expected one of inbound, outbound, both, found a list"
)]
#[case::unsigned("max_attempts: 3", "max_attempts: -3", "retry.max_attempts: expected a whole number from 0 to 4294967295, found -3")]
fn messages_name_the_field_in_the_specs_terms(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert_edit_rejected(GOOD, from, to, want);
}

/// A byte that is not UTF-8 is named with its line, column and byte offset.
#[test]
fn invalid_utf8_is_located() {
    let file = write_spec("demo", "name: x\n");
    std::fs::write(&file, b"name: x\nother: \"caf\xe9\"\n").unwrap();
    let err = load_file(&file).unwrap_err().to_string();
    assert!(err.ends_with("spec.yaml:2:12: expected UTF-8 text, found an invalid byte (0xe9) at byte offset 19"), "{err}");
}

/// Numbers a run could not honour are refused at their line, with the range.
#[rstest]
#[case::time_scale(
    "timeouts: {request_ms: 1000}",
    "timeouts: {request_ms: 1000}\ntest_profile: {time_scale: 5e-324}",
    "test_profile.time_scale: expected a factor from 0.001 to 1"
)]
#[case::retry_after(
    "timeouts: {request_ms: 1000}",
    "timeouts: {request_ms: 1000}\ntest_profile: {retry_after_s: 9223372036854775807}",
    "test_profile.retry_after_s: expected 1 to 3600 seconds"
)]
#[case::request_ms(
    "request_ms: 1000}",
    "request_ms: 9200000000000000000}",
    "timeouts.request_ms: expected a budget from 1 to 3600000 ms (an hour)"
)]
#[case::base_delay(
    "base_delay_ms: 100",
    "base_delay_ms: 86400000",
    "retry.base_delay_ms: expected at most 3600000 ms (an hour), found 86400000"
)]
#[case::multiplier(
    "max_delay_ms: 1000}",
    "max_delay_ms: 1000, multiplier: 1e300}",
    "retry.multiplier: expected a multiplier from 1 to 100"
)]
fn an_unhonourable_number_is_refused(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert_edit_rejected(GOOD, from, to, want);
}

#[test]
fn a_broken_spec_is_a_failing_trial_not_a_skip() {
    let file = write_spec("demo", &GOOD.replacen("method: GET", "method: FETCH", 1));
    let dir = file.parent().unwrap().parent().unwrap();
    let harness = Harness::new(dir);
    let trials = harness.trials().unwrap();
    assert_eq!(trials.iter().map(|t| t.name().to_string()).collect::<Vec<_>>(), vec!["demo::spec"]);
    assert_eq!(run_quietly(trials).num_failed, 1);
}

#[test]
fn an_unbound_service_and_an_orphan_binding_are_failing_trials() {
    let file = write_spec("demo", GOOD);
    let dir = file.parent().unwrap().parent().unwrap();
    let b = oc_integrate::Binding::new(|_| (), |_, call| async move { Err(oc_integrate::ClientError::unbound(call.endpoint())) });
    let trials = Harness::new(dir).bind("other", b).trials().unwrap();
    let names: Vec<String> = trials.iter().map(|t| t.name().to_string()).collect();
    // the minimal spec has no 401 row, edge cases or sandbox plan: the contract lint sends it back too
    assert_eq!(names, vec!["demo::contract", "demo::binding", "other::binding"]);
    assert_eq!(run_quietly(trials).num_failed, 3);
}

#[test]
fn a_missing_directory_is_a_clear_startup_error() {
    let err = Harness::new("no/such/dir").trials().expect_err("must fail").to_string();
    assert!(err.starts_with("no/such/dir: expected a directory of integrations, found"), "{err}");
}

/// `GOOD` with a webhook receiver and sender (and the secrets they name).
fn with_webhooks() -> String {
    GOOD.replacen("direction: outbound", "direction: both", 1)
        + r#"secrets:
  - {name: Hook secret, storage: vault, rotation: Yearly}
webhooks:
  receiver:
    scheme: stripe
    path: /webhooks/demo
    secret: Hook secret
    events:
      - type: thing.made
        example: {id: evt_1, type: thing.made}
  sender:
    scheme: generic
    path: /hooks
    secret: Hook secret
    event: {type: thing.made, example: {thing: t1}}
"#
}

#[rstest]
#[case::unknown_secret(
    "    secret: Hook secret\n    events",
    "    secret: Hook key\n    events",
    "36:13: webhooks.receiver.secret: expected the name of a row in secrets (Hook secret), found \"Hook key\""
)]
#[case::outbound_only(
    "direction: both",
    "direction: outbound",
    "3:14: overview.direction: expected inbound or both for a spec with webhooks.receiver, found outbound"
)]
#[case::twilio_receiver(
    "scheme: stripe",
    "scheme: twilio",
    "34:13: webhooks.receiver.scheme: expected a scheme that signs a JSON body, found twilio"
)]
#[case::relative_path(
    "path: /webhooks/demo",
    "path: webhooks/demo",
    "35:11: webhooks.receiver.path: expected a path starting with '/', without query or fragment, found \"webhooks/demo\""
)]
#[case::no_events(
    "    events:\n      - type: thing.made\n        example: {id: evt_1, type: thing.made}\n",
    "    events: []\n",
    "37:13: webhooks.receiver.events: expected at least one event type, found none"
)]
#[case::ttl_within_tolerance(
    "    events:",
    "    idempotency: {ttl_s: 60}\n    events:",
    "37:26: webhooks.receiver.idempotency.ttl_s: expected a TTL longer than the signature tolerance (300 s), found 60 s"
)]
#[case::bad_pointer(
    "    events:",
    "    idempotency: {key: {body: id}}\n    events:",
    "37:24: webhooks.receiver.idempotency.key: expected a JSON pointer such as /id, found \"id\""
)]
#[case::unknown_scheme(
    "scheme: generic",
    "scheme: webhookz",
    "webhooks.sender.scheme: expected one of stripe, github, slack, standard_webhooks, svix, shopify, twilio, linear, telegram, generic, found \"webhookz\""
)]
#[case::sender_retry(
    "    event: {type",
    "    retry: {max_attempts: 0, base_delay_ms: 1, max_delay_ms: 1}\n    event: {type",
    "webhooks.sender.retry.max_attempts: expected 1 to 10 attempts, found 0"
)]
#[case::reserved_id(
    "id: make_thing",
    "id: webhook_sender",
    "16:9: endpoints[1].id: expected an id other than \"webhook_sender\", which names the webhook cases"
)]
#[case::tolerance_without_timestamps(
    "scheme: stripe",
    "scheme: github\n    tolerance_s: 300",
    "webhooks.receiver.tolerance_s: expected no tolerance_s: github signs no timestamp, found 300"
)]
#[case::endless_timeout(
    "    events:",
    "    response_timeout_ms: 9000000000000000000\n    events:",
    "webhooks.receiver.response_timeout_ms: expected 1 to 300000 ms, found 9000000000000000000"
)]
#[case::path_with_query(
    "path: /webhooks/demo",
    "path: /webhooks/demo?x=1",
    "webhooks.receiver.path: expected a path starting with '/', without query or fragment"
)]
#[case::signed_id_header(
    "scheme: generic",
    "scheme: standard_webhooks\n    event_id_header: X-Webhook-Id",
    "webhooks.sender.event_id_header: expected webhook-id (standard_webhooks signs it), found \"X-Webhook-Id\""
)]
#[case::body_limit_below_examples(
    "    events:",
    "    max_body_bytes: 1024\n    events:\n      - type: big\n        example: {blob: \"xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx\"}",
    "webhooks.receiver.max_body_bytes: expected room for the example deliveries"
)]
#[case::field_with_two_keys(
    "    events:",
    "    idempotency: {key: {header: X-Id, body: /id}}\n    events:",
    "webhooks.receiver.idempotency.key: expected a mapping with one key ({header: NAME} or {body: /pointer}), found a mapping"
)]
fn a_bad_webhook_section_is_located(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert_edit_rejected(&with_webhooks(), from, to, want);
}

/// `good` loads; with `from` replaced by `to` it is rejected with an error containing `want`.
fn assert_edit_rejected(good: &str, from: &str, to: &str, want: &str) {
    assert!(load_file(&write_spec("demo", good)).is_ok(), "the fixture itself must load");
    assert!(good.contains(from), "fixture text {from:?} not in the fixture");
    let file = write_spec("demo", &good.replacen(from, to, 1));
    let err = load_file(&file).expect_err("the spec must be rejected").to_string();
    assert!(err.contains(want), "got:  {err}\nwant: …{want}…");
}

/// A paginated endpoint's section is checked where it is written: the example must be the
/// last page, the items where the spec says, one way to find the next cursor, a GET.
#[rstest]
#[case::not_the_last_page(
    "has_more: false, data",
    "has_more: true, data",
    "endpoints[0].pagination.has_more: expected the response example to be the last page (`has_more: false`), found true"
)]
#[case::items_elsewhere(
    "items: data}",
    "items: records}",
    "endpoints[0].pagination.items: expected an array of items at `records`, found none"
)]
#[case::no_cursor(
    "param: starting_after, has_more: has_more,",
    "param: starting_after,",
    "endpoints[0].pagination.param: expected either `next`"
)]
#[case::unknown_style("style: cursor", "style: offset", "endpoints[0].pagination")]
#[case::not_a_get(
    "method: GET",
    "method: POST",
    "endpoints[0].pagination.style: expected pagination on a GET endpoint, found it on a POST"
)]
#[case::bad_param(
    "param: starting_after",
    "param: \"a b\"",
    "endpoints[0].pagination.param: expected a query parameter name, found \"a b\""
)]
fn a_bad_pagination_section_is_located(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    let good = std::fs::read_to_string("tests/fixtures/paginated/by_last_id/spec.yaml").unwrap();
    assert_edit_rejected(&good, from, to, want);
}

/// A spec that only receives webhooks needs no endpoint.
#[test]
fn a_receiver_only_spec_loads() {
    let text = with_webhooks().replacen("direction: both", "direction: inbound", 1);
    let start = text.find("endpoints:\n").unwrap();
    let end = text.find("error_handling:").unwrap();
    let text = format!("{}endpoints: []\n{}", &text[..start], &text[end..]);
    let text = text.replace(
        "  sender:\n    scheme: generic\n    path: /hooks\n    secret: Hook secret\n    event: {type: thing.made, example: {thing: t1}}\n",
        "",
    );
    let spec = load_file(&write_spec("demo", &text)).unwrap();
    let cases = oc_integrate::scenario::plan(&spec);
    assert!(!cases.is_empty() && cases.iter().all(|c| c.subject == oc_integrate::case::Subject::Receiver), "{cases:?}");
}

/// `GOOD` with a sandbox section (and the secret it names).
fn with_sandbox() -> String {
    GOOD.to_string()
        + r#"secrets:
  - {name: Demo key, storage: vault, rotation: Yearly, env: DEMO_KEY}
  - {name: Other key, storage: vault, rotation: Yearly}
sandbox:
  url: https://sandbox.demo.example/v1
  credentials: {api_key: Demo key}
  auth_check: /things
  endpoints:
    get_thing:
      setup: [{name: made, method: POST, path: /things, body: {size: 3}}]
      params: {id: "${made.id}"}
"#
}

#[rstest]
#[case::production_url(
    "url: https://sandbox.demo.example/v1",
    "url: https://api.demo.example/v1",
    "34:8: sandbox.url: expected a sandbox on a host other than production's (api.demo.example), found \"https://api.demo.example/v1\": writes would reach production"
)]
#[case::production_host(
    "  credentials:",
    "  hosts: [sandbox.demo.example, api.demo.example]\n  credentials:",
    "35:33: sandbox.hosts[1]: expected sandbox hosts only, found production's host \"api.demo.example\""
)]
#[case::url_host_not_listed(
    "  credentials:",
    "  hosts: [localhost]\n  credentials:",
    "35:10: sandbox.hosts: expected the host of sandbox.url (sandbox.demo.example) among the hosts, found [\"localhost\"]"
)]
#[case::secret_without_env(
    "{api_key: Demo key}",
    "{api_key: Other key}",
    "35:26: sandbox.credentials.api_key: expected a secrets row with env:, found \"Other key\" without one"
)]
#[case::unknown_secret(
    "{api_key: Demo key}",
    "{api_key: Demo token}",
    "sandbox.credentials.api_key: expected the name of a secrets row with env: (Demo key), found \"Demo token\""
)]
#[case::unknown_endpoint(
    "    get_thing:",
    "    get_things:",
    "sandbox.endpoints.get_things: expected an endpoint id (get_thing, make_thing), found \"get_things\""
)]
#[case::unquoted_reference(
    "\"${made.id}\"",
    "\"${maid.id}\"",
    "sandbox.endpoints.get_thing.params.id: expected ${name.field} to quote an earlier setup request (made), found \"maid\""
)]
#[case::param_not_in_path(
    "      params: {id: ",
    "      params: {thing: ",
    "sandbox.endpoints.get_thing.params.thing: expected a parameter of the path \"/things/{id}\", found \"thing\""
)]
#[case::reserved_id(
    "id: make_thing",
    "id: auth",
    "16:9: endpoints[1].id: expected an id other than \"auth\", which names a sandbox trial, in a spec with a sandbox section"
)]
fn a_bad_sandbox_section_is_located(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert_edit_rejected(&with_sandbox(), from, to, want);
}

/// `with_sandbox()` with a health section.
fn with_health() -> String {
    with_sandbox() + "health:\n  endpoint: get_thing\n  latency_warn_ms: 300\n  timeout_ms: 2000\n  webhook_url_env: DEMO_WEBHOOK_URL\n"
}

/// The health section is checked where it is written: a GET endpoint (probes never write),
/// one target, a threshold below the timeout, a real status, names that can be used.
#[rstest]
#[case::a_write(
    "endpoint: get_thing",
    "endpoint: make_thing",
    "health.endpoint: expected a GET endpoint (probes never write), found \"make_thing\", a POST"
)]
#[case::unknown_endpoint(
    "endpoint: get_thing",
    "endpoint: get_things",
    "health.endpoint: expected the id of a GET endpoint (get_thing), found \"get_things\""
)]
#[case::both(
    "  endpoint: get_thing\n",
    "  endpoint: get_thing\n  path: /things\n",
    "health.path: expected either endpoint or path, found both"
)]
#[case::threshold_above_timeout(
    "latency_warn_ms: 300",
    "latency_warn_ms: 3000",
    "health.latency_warn_ms: expected a warning below the probe's timeout_ms (2000), found 3000"
)]
#[case::no_timeout("timeout_ms: 2000", "timeout_ms: 0", "health.timeout_ms: expected milliseconds from 1 to 600000 (ten minutes), found 0")]
#[case::status(
    "  timeout_ms: 2000\n",
    "  timeout_ms: 2000\n  status: 700\n",
    "health.status: expected an HTTP status (100-599), found 700"
)]
#[case::method("  timeout_ms: 2000\n", "  timeout_ms: 2000\n  method: POST\n", "health.method: expected GET or HEAD, found \"POST\"")]
#[case::env_name(
    "DEMO_WEBHOOK_URL",
    "demo-webhook",
    "health.webhook_url_env: expected an environment variable name such as PAYMENTS_WEBHOOK_URL, found \"demo-webhook\""
)]
#[case::introspection_without_oauth(
    "  timeout_ms: 2000\n",
    "  timeout_ms: 2000\n  introspection_path: /introspect\n",
    "health.introspection_path: expected introspection_path only with overview.auth.kind: oauth2, found it without"
)]
#[case::credentials(
    "  timeout_ms: 2000\n",
    "  timeout_ms: 2000\n  credentials: {api_key: Other key}\n",
    "health.credentials.api_key: expected a secrets row with env:, found \"Other key\" without one"
)]
fn a_bad_health_section_is_located(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert_edit_rejected(&with_health(), from, to, want);
}

/// Hostile YAML is refused at its line, never a crash or a runaway: aliases of aliases (a
/// "billion laughs"), nesting deeper than the reader allows (written out, or built from
/// aliases), while a large honest document (5,000 endpoints) still parses and a byte-order
/// mark is accepted.
#[test]
fn hostile_yaml_is_refused_at_its_line() {
    use oc_integrate::spec::yaml::{MAX_DEPTH, parse};
    let mut laughs = vec!["name: x".to_string(), "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol]".to_string()];
    for i in 1..10 {
        laughs.push(format!("a{i}: &a{i} [{}]", vec![format!("*a{}", i - 1); 9].join(", ")));
    }
    let e = parse(&laughs.join("\n")).unwrap_err();
    assert!(e.message.contains("once aliases are expanded") && e.message.contains("billion laughs"), "{e:?}");
    assert!(e.at.line >= 3 && e.at.line <= 11, "located at the alias that crosses the limit: {e:?}");

    let deep = format!("name: x\nfoo:\n{}x\n", "- ".repeat(4000));
    let e = parse(&deep).unwrap_err();
    assert_eq!(e.message, format!("expected at most {MAX_DEPTH} levels of nesting, found deeper"));
    assert_eq!(e.at.line, 3);

    let mut chain = vec!["l0: &l0 [x]".to_string()];
    chain.extend((1..3000).map(|i| format!("l{i}: &l{i} [*l{}]", i - 1)));
    let e = parse(&chain.join("\n")).unwrap_err();
    assert!(e.message.contains("levels of nesting, found deeper once this alias is expanded"), "{e:?}");

    let endpoint = "  - {id: e, method: GET, path: \"/things/{id}\", purpose: Read a thing, request: {example: {params: {id: t1}}}, response: {example: {id: t1, size: 3}, schema: {type: object, required: [id, size], properties: {id: {type: string}, size: {type: integer}}}}}\n";
    let big = format!("name: big\nendpoints:\n{}", endpoint.repeat(5000));
    let (v, _) = parse(&big).unwrap_or_else(|e| panic!("a large honest spec parses: {e:?}"));
    assert_eq!(v["endpoints"].as_array().map(Vec::len), Some(5000));

    let spec = load_file(&write_spec("demo", &format!("\u{feff}{GOOD}"))).unwrap_or_else(|e| panic!("a byte-order mark is accepted: {e}"));
    assert_eq!(spec.endpoints.len(), 2);
}

/// A secret's `rotated_at` is an RFC 3339 date or date-time, located where it is written.
#[rstest]
#[case::words(
    "last spring",
    ":32:69: secrets[1].rotated_at: expected an RFC 3339 date (2026-01-15) or date-time (2026-01-15T09:30:00Z), found \"last spring\""
)]
#[case::no_such_day(
    "2026-02-30",
    ": secrets[1].rotated_at: expected an RFC 3339 date (2026-01-15) or date-time (2026-01-15T09:30:00Z), found \"2026-02-30\""
)]
#[case::no_zone(
    "2026-01-15T09:30:00",
    ": secrets[1].rotated_at: expected an RFC 3339 date (2026-01-15) or date-time (2026-01-15T09:30:00Z), found \"2026-01-15T09:30:00\""
)]
fn a_bad_rotation_date_is_located(#[case] to: &str, #[case] want: &str) {
    let row = |at: &str| format!("{{name: Other key, storage: vault, rotation: Yearly, rotated_at: {at}}}");
    let good = with_sandbox().replacen("{name: Other key, storage: vault, rotation: Yearly}", &row("2026-01-15"), 1);
    assert_edit_rejected(&good, &row("2026-01-15"), &row(to), want);
}

/// YAML merge keys work as most YAML users expect (a newcomer's spec shared an endpoint's
/// fields with `<<: *issue`, and got "example is a required property").
#[test]
fn merge_keys_share_fields_between_endpoints() {
    let text = GOOD.replacen("    purpose: Read a thing\n", "    <<: &read {purpose: Read a thing}\n", 1).replacen(
        "    purpose: Make a thing\n",
        "    <<: *read\n",
        1,
    );
    let spec = load_file(&write_spec("demo", &text)).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(spec.endpoints[1].purpose, "Read a thing");
    let bad = GOOD.replacen("    purpose: Make a thing\n", "    <<: [1]\n", 1);
    let err = load_file(&write_spec("demo", &bad)).expect_err("a merge of a number is refused").to_string();
    assert!(
        err.contains(
            ":19:9: expected valid YAML, found a syntax error: expected a mapping (or a list of mappings) after <<, found a number"
        ),
        "{err}"
    );
}

/// A hint list in a message names a few choices and counts the rest: a spec with hundreds of
/// endpoints does not get them all on one line.
#[test]
fn a_long_hint_list_is_capped() {
    let more: String = (0..30)
        .map(|i| format!("  - {{id: list_{i}, method: GET, path: /l{i}, purpose: List, response: {{example: {{n: 1}}}}}}\n"))
        .collect();
    let text = with_sandbox().replacen("error_handling:", &format!("{more}error_handling:"), 1);
    assert_edit_rejected(
        &text,
        "    get_thing:",
        "    get_things:",
        "expected an endpoint id (get_thing, make_thing, list_0, list_1, list_2, list_3, list_4, list_5, … and 24 more), found \"get_things\"",
    );
}

/// `with_sandbox()` for OAuth 2.0: a token endpoint on a sandbox host, client credentials
/// and a refresh token from secrets rows, revocation and a token gate.
fn with_oauth_sandbox() -> String {
    with_sandbox()
        .replacen(r#"auth: {kind: api_key, prefix: "Bearer "}"#, "auth: {kind: oauth2, token_url: https://auth.demo.example/token}", 1)
        .replacen("  - {name: Other key, storage: vault, rotation: Yearly}\n", "  - {name: Demo secret, storage: vault, rotation: Yearly, env: DEMO_SECRET}\n  - {name: Demo refresh, storage: KV, rotation: Rotated on every refresh, env: DEMO_REFRESH}\n", 1)
        .replacen(
            "  credentials: {api_key: Demo key}\n",
            "  hosts: [sandbox.demo.example, localhost]\n  credentials: {client_id: Demo key, client_secret: Demo secret, refresh_token: Demo refresh}\n  token_url: http://localhost:4011/token\n  token_url_env: DEMO_TOKEN_URL\n  revocation_path: /token/revocation\n  token_gate: /token/introspection\n",
            1,
        )
}

#[test]
fn an_oauth_sandbox_section_loads_and_plans_a_token_refresh_trial() {
    let spec = load_file(&write_spec("demo", &with_oauth_sandbox())).unwrap_or_else(|e| panic!("{e}"));
    let names: Vec<String> = oc_integrate::sandbox::trial::plan(&spec).iter().map(|c| c.name()).collect();
    assert!(names.contains(&"demo::sandbox::token_refresh".to_string()), "{names:?}");
    // without a revocation endpoint the harness cannot make the client refresh
    let text = with_oauth_sandbox().replacen("  revocation_path: /token/revocation\n", "", 1);
    let spec = load_file(&write_spec("demo", &text)).unwrap();
    assert!(oc_integrate::sandbox::trial::plan(&spec).iter().all(|c| c.name() != "demo::sandbox::token_refresh"));
}

#[rstest]
#[case::no_token_url(
    "  token_url: http://localhost:4011/token\n",
    "",
    "sandbox: expected token_url (the sandbox's token endpoint; token_url_env only overrides it) for oauth2 auth, found none"
)]
#[case::token_url_on_production(
    "token_url: http://localhost:4011/token",
    "token_url: https://auth.demo.example/sandbox/token",
    "sandbox.token_url: expected a token endpoint on a host other than production's (auth.demo.example), found \"https://auth.demo.example/sandbox/token\""
)]
#[case::token_url_undeclared_host(
    "token_url: http://localhost:4011/token",
    "token_url: http://auth.elsewhere.example/token",
    "sandbox.token_url: expected a host among sandbox hosts (sandbox.demo.example, localhost), found \"auth.elsewhere.example\""
)]
#[case::api_key_for_oauth(
    "{client_id: Demo key, client_secret: Demo secret,",
    "{api_key: Demo key, client_id: Demo key, client_secret: Demo secret,",
    "sandbox.credentials.api_key: expected only client_id, client_secret and refresh_token for oauth2 auth, found api_key"
)]
#[case::no_client_secret(
    "client_secret: Demo secret, ",
    "",
    "sandbox.credentials: expected client_secret (the name of a secrets row with env:) for oauth2 auth, found none"
)]
#[case::relative_gate(
    "token_gate: /token/introspection",
    "token_gate: token/introspection",
    "sandbox.token_gate: expected a path on the token endpoint's origin, starting with '/', found \"token/introspection\""
)]
#[case::bad_env_name(
    "token_url_env: DEMO_TOKEN_URL",
    "token_url_env: demo-token",
    "sandbox.token_url_env: expected an environment variable name"
)]
#[case::reserved_id("id: make_thing", "id: token_refresh", "expected an id other than \"token_refresh\", which names a sandbox trial")]
#[case::revocation_without_refresh_token(
    ", refresh_token: Demo refresh}",
    "}",
    "sandbox.revocation_path: expected credentials.refresh_token with revocation_path (the token_refresh trial revokes the client's token and needs a user's refresh token), found none"
)]
fn a_bad_oauth_sandbox_section_is_located(#[case] from: &str, #[case] to: &str, #[case] want: &str) {
    assert_edit_rejected(&with_oauth_sandbox(), from, to, want);
}

#[test]
fn oauth_fields_need_oauth_auth() {
    let text = with_sandbox().replacen("  auth_check: /things\n", "  auth_check: /things\n  token_gate: /introspect\n", 1);
    let err = load_file(&write_spec("demo", &text)).expect_err("must be rejected").to_string();
    assert!(err.contains("sandbox.token_gate: expected token_gate only with overview.auth.kind: oauth2, found it with api_key"), "{err}");
}

/// Every row of the error matrix gets a case: exact rows no named kind covers, the statuses a
/// class row stands for (less those with a row of their own), and each `when` row.
#[test]
fn the_error_matrix_plans_a_case_per_row() {
    let rows = "  - {status: 408, meaning: Request timeout, action: retry_with_backoff}
  - {status: 409, meaning: Conflict, action: fail}
  - {status: 403, meaning: Rate limited, action: respect_retry_after, when: {x-ratelimit-remaining: \"0\"}}
  - {status: 503, meaning: Busy, action: retry_with_backoff}
  - {status: 5xx, meaning: Server error, action: retry_with_backoff}
  - {status: 4xx, meaning: Bad request, action: fail}
";
    let text = GOOD.replace("  - {status: 5xx, meaning: Server error, action: retry_with_backoff}\n", rows);
    let spec = load_file(&write_spec("demo", &text)).unwrap();
    let names: Vec<String> = oc_integrate::scenario::plan(&spec)
        .iter()
        .filter(|c| c.subject_id == "get_thing")
        .map(|c| c.kind.to_string())
        .filter(|n| n.starts_with("status_") || n.starts_with("client_error") || n.starts_with("server_error"))
        .collect();
    assert_eq!(
        names,
        [
            "server_error_recovers",
            "server_error_persists",
            "client_error_not_retried",
            "status_403_when_1",
            "status_408",
            "status_409",
            "status_502",
            "status_503",
            "status_504"
        ]
    );
    // the 4xx case leaves out the 409 that has a row of its own
    assert_eq!(oc_integrate::scenario::matrix::client_error_statuses(&spec), [400, 403, 404, 410, 422]);
}
