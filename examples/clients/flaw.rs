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
    /// Refreshes on every 401 it gets, even while another call is already refreshing (no
    /// single flight): concurrent calls spend the refresh token one after another.
    RefreshPerCall,
    /// When calls are rate-limited at once, only the first waits out Retry-After; the others
    /// take its wait for theirs and retry at once.
    OneCallWaitsForAll,
    /// Reads the first page of a list and stops there.
    FirstPageOnly,
    /// Follows every next page it is given, even one it has already read (spins on a loop).
    NoLoopGuard,
    /// Retries a failed page by starting the whole listing again from page 1.
    RestartsListOnError,
    /// Pastes the next page's cursor into the query without percent-encoding it.
    CursorNotEncoded,
    /// Returns the items read so far, as a success, when a later page fails.
    PartialListOnError,
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
    /// Unwraps every error body as JSON, panicking on a gateway's HTML page.
    ParsesErrorBodyAsJson,
    /// Retries a 429 without Retry-After at once instead of backing off.
    NoWaitWithoutRetryAfter,
    /// Never reads the rate limit's reset header (falls back to its own backoff).
    IgnoresRateLimitReset,
    /// Takes GitHub's rate-limited 403 for a refusal and fails at once.
    Treats403RateLimitAsForbidden,
    /// Retries only the 5xx it was written for (500, 503); a 502 or 504 fails at once.
    RetriesOnly500And503,
    /// Sets no timeout at all.
    NoTimeout,
    /// Times out waiting for headers only; reading the body is unbounded.
    TimeoutOnHeadersOnly,
    /// Uses a per-read timeout, which a trickling body never trips.
    PerReadTimeoutOnly,
    /// Uses a quarter of the declared budget.
    TimeoutTooShort,
    /// Gives the headers the whole budget, then the body a fresh one.
    TimeoutPerPhase,
    /// Makes a new idempotency key for every attempt.
    NewIdempotencyKeyPerRetry,
    /// Keeps the idempotency key across a 5xx or 429 retry, but mints a new one after a
    /// timeout or a dropped connection.
    NewIdempotencyKeyAfterTransportFailure,
    /// Sends the credential on the first attempt only (the retry rebuilds the request without it).
    DropsCredentialOnRetry,
    /// Sends the body on the first attempt only (a consumed body stream is not re-sent).
    DropsBodyOnRetry,
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
    /// Checks the top level of a response strictly, but fills the fields of nested objects
    /// with defaults when they are missing.
    DefaultsNestedFields,
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
    /// Models every optional field as required and non-null (a type generated from one example).
    RequiresOptionalFields,
    /// Accepts `application/json` only, exactly: a `; charset=utf-8` is refused.
    ExactContentType,
    /// Denies unknown fields in nested objects (`#[serde(deny_unknown_fields)]` on a nested type).
    StrictNestedFields,
    /// Reads the first item of every array it gets, panicking on an empty one.
    IndexesFirstItem,
    /// Parses numbers as floats, so integers past 2^53 come back rounded.
    NumbersAsFloats,
    /// Decodes the body as Latin-1, so raw UTF-8 text comes back garbled.
    Latin1Body,
    /// Sends the JSON body without a Content-Type header.
    NoContentType,
    /// Pastes path parameters into the URL without percent-encoding them.
    PathNotEncoded,
    /// Builds the query string by concatenation, without encoding the values.
    QueryNotEncoded,
    /// Builds the JSON body from a template, pasting string values in unescaped.
    FormatsJsonByHand,
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
    pub const ALL: [Flaw; 71] = [
        Flaw::NeverRefreshes,
        Flaw::RefreshLoop,
        Flaw::ForgetsRotatedRefreshToken,
        Flaw::RefreshesWithBasicAuth,
        Flaw::RefreshPerCall,
        Flaw::OneCallWaitsForAll,
        Flaw::FirstPageOnly,
        Flaw::NoLoopGuard,
        Flaw::RestartsListOnError,
        Flaw::CursorNotEncoded,
        Flaw::PartialListOnError,
        Flaw::IgnoresRetryAfter,
        Flaw::MisreadsRetryAfterDate,
        Flaw::RetriesForever,
        Flaw::NoBackoff,
        Flaw::ConstantBackoff,
        Flaw::OverlongBackoff,
        Flaw::Treats503Like500,
        Flaw::RetriesClientErrors,
        Flaw::ParsesErrorBodyAsJson,
        Flaw::NoWaitWithoutRetryAfter,
        Flaw::IgnoresRateLimitReset,
        Flaw::Treats403RateLimitAsForbidden,
        Flaw::RetriesOnly500And503,
        Flaw::NoTimeout,
        Flaw::TimeoutOnHeadersOnly,
        Flaw::PerReadTimeoutOnly,
        Flaw::TimeoutTooShort,
        Flaw::TimeoutPerPhase,
        Flaw::NewIdempotencyKeyPerRetry,
        Flaw::NewIdempotencyKeyAfterTransportFailure,
        Flaw::DropsCredentialOnRetry,
        Flaw::DropsBodyOnRetry,
        Flaw::RetriesNonIdempotent,
        Flaw::NoRetryOnConnectionErrors,
        Flaw::LoopsOnConnectRefused,
        Flaw::StrictUnknownFields,
        Flaw::DefaultsMissingField,
        Flaw::DefaultsNestedFields,
        Flaw::CoercesTypes,
        Flaw::NullAsDefault,
        Flaw::PanicsOnMissingField,
        Flaw::PanicsOnInvalidJson,
        Flaw::IgnoresContentType,
        Flaw::RequiresOptionalFields,
        Flaw::ExactContentType,
        Flaw::StrictNestedFields,
        Flaw::IndexesFirstItem,
        Flaw::NumbersAsFloats,
        Flaw::Latin1Body,
        Flaw::NoContentType,
        Flaw::PathNotEncoded,
        Flaw::QueryNotEncoded,
        Flaw::FormatsJsonByHand,
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
