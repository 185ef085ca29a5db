//! What each flawed example client must fail: the flaw → scenario table that tests/flaws.rs
//! proves on a quiet machine and tests/load.rs beside busy processes.

use oc_integrate::case::{Kind, Kind::*};
use oc_integrate::spec::{Action, Endpoint, Method, SENDER};

use super::clients::flaw::Flaw;

/// The examples' own matrix rows: payments' 409, both specs' 5xx spread, the tracker's
/// rate-limited 403s (GitHub's primary limit with its reset header, its secondary limit with Retry-After).
const CONFLICT: Kind = Status { code: 409, when: 0, action: Action::Fail };
const BAD_GATEWAY: Kind = Status { code: 502, when: 0, action: Action::RetryWithBackoff };
const GATEWAY_TIMEOUT: Kind = Status { code: 504, when: 0, action: Action::RetryWithBackoff };
const FORBIDDEN_NO_REQUESTS_LEFT: Kind = Status { code: 403, when: 1, action: Action::RespectRetryAfter };
const FORBIDDEN_RETRY_AFTER: Kind = Status { code: 403, when: 2, action: Action::RespectRetryAfter };

/// The kinds a flaw must fail on a case's subject (before intersecting with what applies):
/// an endpoint or the webhook sender's delivery, or (`None`) the webhook handler.
pub fn should_fail(flaw: Option<Flaw>, subject: Option<&Endpoint>) -> Vec<Kind> {
    let Some(e) = subject else { return receiver_should_fail(flaw) };
    let sender = e.id == SENDER;
    let idem = e.is_idempotent();
    let keyed_post = e.method == Method::POST && e.idempotency_header.is_some() && idem;
    let only_if = |cond: bool, kinds: &[Kind]| if cond { kinds.to_vec() } else { Vec::new() };
    let timeouts = [TimeoutHeadersLate, TimeoutBodyStalls, TimeoutBodyTrickles, TimeoutLateHeadersThenStall, TimeoutNoAnswer];
    let server_errors = [ServerErrorRecovers, ServerErrorPersists, ServerErrorMaintenance, BAD_GATEWAY, GATEWAY_TIMEOUT];
    let resets = [ConnectionResetBeforeResponse, ConnectionResetDuringResponse, ConnectionTruncatedBody];
    // the cases whose retry waits are judged
    let judged_waits = [server_errors.as_slice(), &resets, &[PaginationPageFails]].concat();
    let rate_limits = [
        RateLimitRetryAfter,
        RateLimitRetryAfterDate,
        RateLimitNoRetryAfter,
        RateLimitReset,
        RateLimitStorm,
        RateLimitConcurrent,
        FORBIDDEN_NO_REQUESTS_LEFT,
        FORBIDDEN_RETRY_AFTER,
    ];
    // every case in which a correct client repeats a call (the invariants judge each repeat)
    let retried = [
        rate_limits.as_slice(),
        &only_if(idem, &[judged_waits.as_slice(), &timeouts, &[PaginationPagePersists]].concat()),
        &only_if(keyed_post, &[DuplicatePost, DuplicatePostReplayed]),
    ]
    .concat();
    let example = e.request.example.as_ref();
    let strings = |part: &str| -> Vec<String> {
        let fields = example.and_then(|x| x.get(part)).and_then(|v| v.as_object());
        fields.into_iter().flatten().filter(|(_, v)| v.is_string()).map(|(k, _)| k.clone()).collect()
    };
    let item = |s: &serde_json::Value| s.get("items").cloned().unwrap_or(s.clone());
    let nullable_object = e.response.schema.as_ref().map(|s| item(s.value())).and_then(|s| s.get("properties").cloned()).is_some_and(|p| {
        p.as_object().into_iter().flatten().any(|(_, f)| {
            f.get("type").is_some_and(|t| t.as_array().is_some_and(|a| a.iter().any(|x| x == "object") && a.iter().any(|x| x == "null")))
        })
    });
    let path_strings = strings("params").iter().any(|k| e.path.contains(&format!("{{{k}}}")));
    let Some(flaw) = flaw else { return Vec::new() };
    match flaw {
        Flaw::NeverRefreshes | Flaw::RefreshesWithBasicAuth => vec![AuthExpired, AuthExpiredConcurrent],
        // one refresh serves the concurrent calls: the rotated token is never needed there
        Flaw::ForgetsRotatedRefreshToken => vec![AuthExpired],
        Flaw::RefreshPerCall => vec![AuthExpiredConcurrent],
        Flaw::OneCallWaitsForAll => vec![RateLimitConcurrent],
        Flaw::FirstPageOnly => vec![PaginationAllPages, PaginationLoop, PaginationPageFails, PaginationPagePersists],
        Flaw::NoLoopGuard => vec![PaginationLoop],
        Flaw::RestartsListOnError => vec![PaginationPageFails, PaginationPagePersists],
        Flaw::PartialListOnError => vec![PaginationPagePersists],
        // the tracker pages by Link (URLs the provider writes): proven on the cursor fixture
        // (tests/flaws.rs, every_pagination_shape_is_proven)
        Flaw::CursorNotEncoded => Vec::new(),
        Flaw::RefreshLoop => vec![AuthRefreshFails],
        Flaw::IgnoresRetryAfter => {
            vec![RateLimitRetryAfter, RateLimitRetryAfterDate, RateLimitStorm, RateLimitConcurrent, FORBIDDEN_RETRY_AFTER]
        }
        Flaw::MisreadsRetryAfterDate => vec![RateLimitRetryAfterDate],
        Flaw::RetriesForever => [vec![RateLimitStorm], only_if(idem, &[ServerErrorPersists, PaginationPagePersists])].concat(),
        Flaw::NoBackoff => [only_if(idem, &judged_waits), vec![RateLimitNoRetryAfter]].concat(),
        Flaw::ConstantBackoff => only_if(idem, &server_errors),
        Flaw::Treats503Like500 => only_if(idem, &[ServerErrorMaintenance]),
        Flaw::OverlongBackoff => [only_if(idem, &judged_waits), vec![RateLimitNoRetryAfter]].concat(),
        Flaw::AuthErrorAsStatus => vec![AuthRejected, AuthExpired, AuthRefreshFails, AuthExpiredConcurrent],
        Flaw::RetriesClientErrors => vec![ClientErrorNotRetried, CONFLICT],
        Flaw::NoWaitWithoutRetryAfter => vec![RateLimitNoRetryAfter],
        // a gateway's 502 and 504 are HTML; the recovering 5xx's second answer is a 502
        Flaw::ParsesErrorBodyAsJson => [vec![BAD_GATEWAY, GATEWAY_TIMEOUT], only_if(idem, &[ServerErrorRecovers])].concat(),
        Flaw::IgnoresRateLimitReset => vec![RateLimitReset, FORBIDDEN_NO_REQUESTS_LEFT],
        Flaw::Treats403RateLimitAsForbidden => vec![FORBIDDEN_NO_REQUESTS_LEFT, FORBIDDEN_RETRY_AFTER],
        Flaw::RetriesOnly500And503 => only_if(idem, &[ServerErrorRecovers, BAD_GATEWAY, GATEWAY_TIMEOUT]),
        Flaw::NoTimeout => timeouts.to_vec(),
        Flaw::TimeoutOnHeadersOnly => vec![TimeoutBodyStalls, TimeoutBodyTrickles, TimeoutLateHeadersThenStall],
        Flaw::PerReadTimeoutOnly => vec![TimeoutBodyTrickles, TimeoutLateHeadersThenStall],
        Flaw::TimeoutPerPhase => vec![TimeoutLateHeadersThenStall],
        Flaw::TimeoutTooShort => vec![TimeoutSlowWithinBudget],
        Flaw::NewIdempotencyKeyPerRetry => only_if(keyed_post, &retried),
        Flaw::NewIdempotencyKeyAfterTransportFailure => {
            only_if(keyed_post, &[timeouts.as_slice(), &resets, &[DuplicatePost, DuplicatePostReplayed]].concat())
        }
        // a sender's signature header is its credential
        Flaw::DropsCredentialOnRetry => only_if(e.auth || sender, &retried),
        Flaw::DropsBodyOnRetry => only_if(e.request_body().is_some(), &retried),
        Flaw::RetriesNonIdempotent => only_if(!idem, &[judged_waits.as_slice(), &timeouts, &[DuplicatePost]].concat()),
        Flaw::NoRetryOnConnectionErrors => [only_if(idem, &resets), only_if(keyed_post, &[DuplicatePost, DuplicatePostReplayed])].concat(),
        Flaw::LoopsOnConnectRefused => vec![ConnectionRefused],
        Flaw::StrictUnknownFields => vec![DriftExtraField],
        Flaw::DefaultsMissingField => vec![DriftMissingField, DriftRenamedField],
        // every tracker response names its `user`
        Flaw::DefaultsNestedFields => vec![DriftMissingField, DriftRenamedField],
        Flaw::CoercesTypes => vec![DriftTypeChanged],
        Flaw::NullAsDefault => [vec![DriftNullValue], only_if(nullable_object, &[TolerateNull])].concat(),
        Flaw::PanicsOnMissingField => {
            [vec![DriftMissingField, DriftRenamedField, DriftNullValue, DriftTypeChanged], only_if(nullable_object, &[TolerateNull])]
                .concat()
        }
        Flaw::PanicsOnInvalidJson => vec![DriftEmptyBody, DriftTruncatedJson, DriftNotJson],
        Flaw::IgnoresContentType => vec![DriftWrongContentType],
        // a nullable object the client models as a plain type with a default (the tracker's `user`)
        Flaw::RequiresOptionalFields => [vec![TolerateOptionalAbsent], only_if(!nullable_object, &[TolerateNull])].concat(),
        Flaw::ExactContentType => vec![TolerateMediaTypeParameters],
        Flaw::StrictNestedFields => vec![TolerateUnknownNestedFields],
        Flaw::IndexesFirstItem => vec![TolerateEmptyArrays],
        Flaw::NumbersAsFloats => vec![TolerateLargeIntegers],
        Flaw::Latin1Body => vec![TolerateNonAscii],
        Flaw::NoContentType => only_if(e.request_body().is_some(), &[Conformance, HostileRequestValues]),
        Flaw::PathNotEncoded => only_if(path_strings && !sender, &[HostileRequestValues]),
        Flaw::QueryNotEncoded => only_if(!strings("query").is_empty(), &[HostileRequestValues]),
        Flaw::FormatsJsonByHand => only_if(!strings("body").is_empty() && !sender, &[HostileRequestValues]),
        Flaw::AuthWithoutPrefix => only_if(e.auth, &[Conformance, AuthExpired, AuthExpiredConcurrent]),
        // every delivery that reaches the subscriber carries a signature it rejects
        Flaw::SignsOtherBytes => only_if(
            sender,
            &[
                Conformance,
                RateLimitRetryAfter,
                ServerErrorRecovers,
                ServerErrorPersists,
                ServerErrorMaintenance,
                ClientErrorNotRetried,
                TimeoutHeadersLate,
                TimeoutNoAnswer,
                DuplicatePost,
                ConnectionResetBeforeResponse,
            ],
        ),
        _ => Vec::new(),
    }
}

/// The receiver kinds a flaw must fail on the webhook handler.
fn receiver_should_fail(flaw: Option<Flaw>) -> Vec<Kind> {
    // every case whose script needs a valid delivery acknowledged
    let valid = vec![
        WebhookAccepted,
        WebhookDuplicate,
        WebhookConcurrentDuplicate,
        WebhookRedeliveryWithinTtl,
        WebhookReplayAfterTtl,
        WebhookMalformedJson,
        WebhookOversized,
        WebhookUnknownEvent,
        WebhookSlowProcessing,
    ];
    match flaw {
        Some(Flaw::AcceptsAnySignature) => {
            vec![WebhookBadSignature, WebhookWrongSecret, WebhookStaleTimestamp, WebhookFutureTimestamp, WebhookReplayAfterTtl]
        }
        Some(Flaw::AcceptsMissingSignature) => vec![WebhookMissingSignature],
        Some(Flaw::VerifiesReserialisedBody) => [valid, vec![WebhookBadSignature, WebhookDistinctEvents, WebhookSecretRotation]].concat(),
        Some(Flaw::IgnoresTimestamps) => vec![WebhookStaleTimestamp, WebhookFutureTimestamp, WebhookReplayAfterTtl],
        Some(Flaw::ProcessesDuplicates) => vec![WebhookDuplicate, WebhookConcurrentDuplicate, WebhookRedeliveryWithinTtl],
        Some(Flaw::ChecksThenMarks) => vec![WebhookConcurrentDuplicate],
        Some(Flaw::ShortIdempotencyTtl) => vec![WebhookRedeliveryWithinTtl],
        Some(Flaw::FailsOnMalformedJson) => vec![WebhookMalformedJson],
        Some(Flaw::NoBodyLimit) => vec![WebhookOversized],
        Some(Flaw::RejectsUnknownEvents) => vec![WebhookUnknownEvent],
        Some(Flaw::ProcessesBeforeAnswering) => vec![WebhookSlowProcessing],
        Some(Flaw::KeysOnEventType) => vec![WebhookDistinctEvents],
        Some(Flaw::MarksBeforeVerifying) => vec![WebhookBadSignature],
        Some(Flaw::ChecksFirstSignatureOnly) => vec![WebhookSecretRotation],
        _ => Vec::new(),
    }
}

/// Which example services a flaw can exist in.
pub fn services(flaw: Option<Flaw>) -> &'static [&'static str] {
    match flaw {
        Some(
            Flaw::NeverRefreshes
            | Flaw::RefreshLoop
            | Flaw::ForgetsRotatedRefreshToken
            | Flaw::RefreshesWithBasicAuth
            | Flaw::RefreshPerCall
            | Flaw::FirstPageOnly
            | Flaw::NoLoopGuard
            | Flaw::RestartsListOnError
            | Flaw::PartialListOnError
            | Flaw::IgnoresRateLimitReset
            | Flaw::Treats403RateLimitAsForbidden
            | Flaw::DefaultsNestedFields
            | Flaw::StrictNestedFields
            | Flaw::IndexesFirstItem
            | Flaw::QueryNotEncoded,
        ) => &["tracker"],
        // only payments has a sender; only its Stripe handler sees several signatures; a
        // Linear handler must parse the body to verify it, so it never reaches its own JSON step
        Some(
            Flaw::NewIdempotencyKeyPerRetry
            | Flaw::NewIdempotencyKeyAfterTransportFailure
            | Flaw::SignsOtherBytes
            | Flaw::ChecksFirstSignatureOnly
            | Flaw::FailsOnMalformedJson,
        ) => &["payments"],
        _ => &["payments", "tracker"],
    }
}
