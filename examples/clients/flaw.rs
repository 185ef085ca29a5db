//! The flaws the example clients can be built with: each is one realistic mistake,
//! switched on alone, so the proof test can show the harness catches exactly it.

/// One mistake a client builder makes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Flaw {
    /// On 401, gives up instead of refreshing the token.
    NeverRefreshes,
    /// When the refresh is rejected, refreshes again, and again.
    RefreshLoop,
    /// Keeps using the first refresh token after the provider rotated it.
    ForgetsRotatedRefreshToken,
    /// Authenticates at the token endpoint with HTTP Basic where the provider wants the
    /// credentials in the form (`client_secret_post`).
    RefreshesWithBasicAuth,
    /// Backs off by its own schedule on 429, ignoring Retry-After.
    IgnoresRetryAfter,
    /// Understands Retry-After in seconds only, not as an HTTP-date.
    MisreadsRetryAfterDate,
    /// Keeps retrying 429/5xx past its declared maximum.
    RetriesForever,
    /// Retries at once, without waiting.
    NoBackoff,
    /// Waits the base delay before every retry, never longer.
    ConstantBackoff,
    /// Waits ten times the declared backoff, past its cap.
    OverlongBackoff,
    /// Waits for 503 as for 500.
    Treats503Like500,
    /// Retries 4xx like 5xx.
    RetriesClientErrors,
    /// Sets no timeout at all.
    NoTimeout,
    /// Times out waiting for headers only; reading the body is unbounded.
    TimeoutOnHeadersOnly,
    /// Uses a per-read timeout, which a trickling body never trips.
    PerReadTimeoutOnly,
    /// Uses a quarter of the declared budget.
    TimeoutTooShort,
    /// Makes a new idempotency key for every attempt.
    NewIdempotencyKeyPerRetry,
    /// Retries non-idempotent calls after ambiguous failures.
    RetriesNonIdempotent,
    /// Never retries a reset or cut-off connection.
    NoRetryOnConnectionErrors,
    /// Retries a refused connection until it connects.
    LoopsOnConnectRefused,
    /// Rejects responses with fields it does not know.
    StrictUnknownFields,
    /// Fills missing fields with defaults.
    DefaultsMissingField,
    /// Converts values of the wrong type instead of rejecting them.
    CoercesTypes,
    /// Treats null as the field's default.
    NullAsDefault,
    /// Unwraps fields, panicking when one is missing or of another type.
    PanicsOnMissingField,
    /// Unwraps the JSON parse, panicking on a body that is not JSON.
    PanicsOnInvalidJson,
    /// Parses any content type as JSON.
    IgnoresContentType,
    /// Sends the JSON body without a Content-Type header.
    NoContentType,
    /// Sends the credential without its `Bearer ` prefix.
    AuthWithoutPrefix,
    /// Reports a 401 as a plain status error, not as an auth failure.
    AuthErrorAsStatus,
    /// Webhook handler: accepts any signature it is given (skips verification when the header is there).
    AcceptsAnySignature,
    /// Webhook handler: lets deliveries without a signature header through.
    AcceptsMissingSignature,
    /// Webhook handler: verifies the signature over the re-serialised JSON, not the raw body.
    VerifiesReserialisedBody,
    /// Webhook handler: never checks the signed timestamp's age.
    IgnoresTimestamps,
    /// Webhook handler: has no idempotency store; every delivery is processed.
    ProcessesDuplicates,
    /// Webhook handler: checks the event id, processes, and only then marks it (a race).
    ChecksThenMarks,
    /// Webhook handler: forgets event ids after an hour instead of the declared TTL.
    ShortIdempotencyTtl,
    /// Webhook handler: answers 500 to a body that is not JSON.
    FailsOnMalformedJson,
    /// Webhook handler: reads bodies of any size.
    NoBodyLimit,
    /// Webhook handler: answers 400 to event types it does not handle.
    RejectsUnknownEvents,
    /// Webhook handler: does the slow work before answering.
    ProcessesBeforeAnswering,
    /// Webhook sender: signs a pretty-printed body but sends the compact one.
    SignsOtherBytes,
    /// Webhook handler: deduplicates by event type instead of event id.
    KeysOnEventType,
    /// Webhook handler: marks the event id as seen before checking the signature.
    MarksBeforeVerifying,
    /// Webhook handler: checks only the first of several signatures (breaks during a secret rotation).
    ChecksFirstSignatureOnly,
}

impl Flaw {
    /// Every flaw.
    pub const ALL: [Flaw; 45] = [
        Flaw::NeverRefreshes,
        Flaw::RefreshLoop,
        Flaw::ForgetsRotatedRefreshToken,
        Flaw::RefreshesWithBasicAuth,
        Flaw::IgnoresRetryAfter,
        Flaw::MisreadsRetryAfterDate,
        Flaw::RetriesForever,
        Flaw::NoBackoff,
        Flaw::ConstantBackoff,
        Flaw::OverlongBackoff,
        Flaw::Treats503Like500,
        Flaw::RetriesClientErrors,
        Flaw::NoTimeout,
        Flaw::TimeoutOnHeadersOnly,
        Flaw::PerReadTimeoutOnly,
        Flaw::TimeoutTooShort,
        Flaw::NewIdempotencyKeyPerRetry,
        Flaw::RetriesNonIdempotent,
        Flaw::NoRetryOnConnectionErrors,
        Flaw::LoopsOnConnectRefused,
        Flaw::StrictUnknownFields,
        Flaw::DefaultsMissingField,
        Flaw::CoercesTypes,
        Flaw::NullAsDefault,
        Flaw::PanicsOnMissingField,
        Flaw::PanicsOnInvalidJson,
        Flaw::IgnoresContentType,
        Flaw::NoContentType,
        Flaw::AuthWithoutPrefix,
        Flaw::AuthErrorAsStatus,
        Flaw::AcceptsAnySignature,
        Flaw::AcceptsMissingSignature,
        Flaw::VerifiesReserialisedBody,
        Flaw::IgnoresTimestamps,
        Flaw::ProcessesDuplicates,
        Flaw::ChecksThenMarks,
        Flaw::ShortIdempotencyTtl,
        Flaw::FailsOnMalformedJson,
        Flaw::NoBodyLimit,
        Flaw::RejectsUnknownEvents,
        Flaw::ProcessesBeforeAnswering,
        Flaw::SignsOtherBytes,
        Flaw::KeysOnEventType,
        Flaw::MarksBeforeVerifying,
        Flaw::ChecksFirstSignatureOnly,
    ];

    /// The flaw called `name` in snake case (`ignores_retry_after`), as `OC_EXAMPLE_FLAWS` takes it.
    pub fn named(name: &str) -> Option<Flaw> {
        Flaw::ALL.into_iter().find(|f| f.name() == name.trim())
    }

    /// This flaw's name in snake case.
    pub fn name(self) -> String {
        // a word starts at a capital, and a number is a word of its own: Treats503Like500 → treats_503_like_500
        let mut out = String::new();
        let mut prev: Option<char> = None;
        for c in format!("{self:?}").chars() {
            let starts_word = match prev {
                None => false,
                Some(p) => c.is_ascii_uppercase() || (c.is_ascii_digit() != p.is_ascii_digit()) && !(p.is_ascii_uppercase()),
            };
            if starts_word {
                out.push('_');
            }
            out.push(c.to_ascii_lowercase());
            prev = Some(c);
        }
        out
    }
}
