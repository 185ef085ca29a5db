//! What each flawed example client must fail: the flaw → scenario table that tests/flaws.rs
//! proves on a quiet machine and tests/load.rs beside busy processes.

use oc_integrate::case::{Kind, Kind::*};
use oc_integrate::spec::{Endpoint, Method, SENDER};

use super::clients::flaw::Flaw;

/// The kinds a flaw must fail on a case's subject (before intersecting with what applies):
/// an endpoint or the webhook sender's delivery, or (`None`) the webhook handler.
pub fn should_fail(flaw: Option<Flaw>, subject: Option<&Endpoint>) -> Vec<Kind> {
    let Some(e) = subject else { return receiver_should_fail(flaw) };
    let sender = e.id == SENDER;
    let idem = e.is_idempotent();
    let keyed_post = e.method == Method::POST && e.idempotency_header.is_some() && idem;
    let only_if = |cond: bool, kinds: &[Kind]| if cond { kinds.to_vec() } else { Vec::new() };
    let timeouts = [TimeoutHeadersLate, TimeoutBodyStalls, TimeoutBodyTrickles, TimeoutNoAnswer];
    let server_errors = [ServerErrorRecovers, ServerErrorPersists, ServerErrorMaintenance];
    let resets = [ConnectionResetBeforeResponse, ConnectionResetDuringResponse, ConnectionTruncatedBody];
    // the cases whose retry waits are judged
    let judged_waits = [server_errors, resets].concat();
    let Some(flaw) = flaw else { return Vec::new() };
    match flaw {
        Flaw::NeverRefreshes | Flaw::ForgetsRotatedRefreshToken | Flaw::RefreshesWithBasicAuth => vec![AuthExpired],
        Flaw::RefreshLoop => vec![AuthRefreshFails],
        Flaw::IgnoresRetryAfter => vec![RateLimitRetryAfter, RateLimitRetryAfterDate, RateLimitStorm],
        Flaw::MisreadsRetryAfterDate => vec![RateLimitRetryAfterDate],
        Flaw::RetriesForever => [vec![RateLimitStorm], only_if(idem, &[ServerErrorPersists])].concat(),
        Flaw::NoBackoff => only_if(idem, &judged_waits),
        Flaw::ConstantBackoff => only_if(idem, &server_errors),
        Flaw::Treats503Like500 => only_if(idem, &[ServerErrorMaintenance]),
        Flaw::OverlongBackoff => only_if(idem, &judged_waits),
        Flaw::AuthErrorAsStatus => vec![AuthRejected, AuthExpired, AuthRefreshFails],
        Flaw::RetriesClientErrors => vec![ClientErrorNotRetried],
        Flaw::NoTimeout => timeouts.to_vec(),
        Flaw::TimeoutOnHeadersOnly => vec![TimeoutBodyStalls, TimeoutBodyTrickles],
        Flaw::PerReadTimeoutOnly => vec![TimeoutBodyTrickles],
        Flaw::TimeoutTooShort => vec![TimeoutSlowWithinBudget],
        Flaw::NewIdempotencyKeyPerRetry => only_if(keyed_post, &[DuplicatePost]),
        Flaw::RetriesNonIdempotent => only_if(!idem, &[judged_waits.as_slice(), &timeouts, &[DuplicatePost]].concat()),
        Flaw::NoRetryOnConnectionErrors => [only_if(idem, &resets), only_if(keyed_post, &[DuplicatePost])].concat(),
        Flaw::LoopsOnConnectRefused => vec![ConnectionRefused],
        Flaw::StrictUnknownFields => vec![DriftExtraField],
        Flaw::DefaultsMissingField => vec![DriftMissingField, DriftRenamedField],
        Flaw::CoercesTypes => vec![DriftTypeChanged],
        Flaw::NullAsDefault => vec![DriftNullValue],
        Flaw::PanicsOnMissingField => vec![DriftMissingField, DriftRenamedField, DriftNullValue, DriftTypeChanged],
        Flaw::PanicsOnInvalidJson => vec![DriftEmptyBody, DriftTruncatedJson, DriftNotJson],
        Flaw::IgnoresContentType => vec![DriftWrongContentType],
        Flaw::NoContentType => only_if(e.request_body().is_some(), &[Conformance]),
        Flaw::AuthWithoutPrefix => only_if(e.auth, &[Conformance, AuthExpired]),
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
        Some(Flaw::NeverRefreshes | Flaw::RefreshLoop | Flaw::ForgetsRotatedRefreshToken | Flaw::RefreshesWithBasicAuth) => &["tracker"],
        // only payments has a sender; only its Stripe handler sees several signatures; a
        // Linear handler must parse the body to verify it, so it never reaches its own JSON step
        Some(Flaw::NewIdempotencyKeyPerRetry | Flaw::SignsOtherBytes | Flaw::ChecksFirstSignatureOnly | Flaw::FailsOnMalformedJson) => {
            &["payments"]
        }
        _ => &["payments", "tracker"],
    }
}
