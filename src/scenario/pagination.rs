//! Pagination: a list endpoint's results come in pages (the spec's `pagination:`), and
//! the client must follow every page and return all the items, stop at the last page, stop
//! with a clear error when a page points back at one it has read instead of spinning, retry a
//! failed page by its policy without fetching the pages before it again, and fail (never
//! pass a partial list off as the whole) when a page keeps failing.
//!
//! The mock provider makes three pages of two items each from the response example (the
//! last page, as the spec requires): each item the example's first, with its own `id`.

use std::sync::Arc;

use serde_json::Value;

use super::{Prepared, Setup, Verdict, expect_error, expect_ok, expect_retries};
use crate::binding::ErrorKind;
use crate::case::Kind;
use crate::server::{Reply, Route, Step};
use crate::spec::Pagination;
use crate::spec::pagination::set;
use crate::timeline::{Arrival, Target};

/// Pages the provider serves.
const PAGES: usize = 3;
/// Items per page.
const PER_PAGE: usize = 2;

/// The provider's pages: what each holds, how a request names one.
struct Book {
    pagination: Pagination,
    template: Value,
    status: u16,
    items: Vec<Vec<Value>>,
    /// Whether the last page points back at page 2 (a cycle a guard on the previous page alone misses).
    looped: bool,
}

/// The example's first item, made the `n`-th (from 1): its `id` its own.
fn item(template: &Value, n: usize) -> Value {
    let mut v = template.clone();
    match template.get("id") {
        Some(Value::String(id)) => v["id"] = Value::String(format!("{id}_{n}")),
        Some(Value::Number(id)) => v["id"] = serde_json::json!(id.as_u64().unwrap_or(0) + n as u64),
        _ => {}
    }
    v
}

/// The query parameter `name` of a request target.
fn query_param(a: &Arrival, name: &str) -> Option<String> {
    let query = a.path.split_once('?').map(|(_, q)| q)?;
    form_urlencoded::parse(query.as_bytes()).find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
}

impl Book {
    fn new(s: &Setup, pagination: Pagination, looped: bool) -> Book {
        let template = s.endpoint.response.example.clone();
        let first = pagination.items_of(&template).and_then(|v| v.first()).cloned().unwrap_or(Value::Null);
        let items = (0..PAGES).map(|p| (1..=PER_PAGE).map(|i| item(&first, p * PER_PAGE + i)).collect()).collect();
        Book { pagination, template, status: s.endpoint.response.status, items, looped }
    }

    /// Every item, in order.
    fn all(&self) -> Vec<Value> {
        self.items.concat()
    }

    /// The items page `k` (from 1) holds: on a looping last page with an id cursor, page 1's
    /// again (so its last id leads to page 2).
    fn items_on(&self, k: usize) -> &Vec<Value> {
        let by_id = matches!(&self.pagination, Pagination::Cursor { has_more: Some(_), .. });
        if self.looped && k == PAGES && by_id { &self.items[0] } else { &self.items[k - 1] }
    }

    /// The page a page `k` points to next, if any.
    fn next_of(&self, k: usize) -> Option<usize> {
        if self.looped && k == PAGES { Some(2) } else { (k < PAGES).then_some(k + 1) }
    }

    /// The page a request asks for (from 1); `None` for a cursor the provider never gave.
    fn page_of(&self, a: &Arrival) -> Option<usize> {
        match &self.pagination {
            Pagination::Link { .. } => query_param(a, "page").map_or(Some(1), |p| p.parse().ok().filter(|k| (1..=PAGES).contains(k))),
            Pagination::Page { param, .. } => query_param(a, param).map_or(Some(1), |p| p.parse().ok().filter(|k| (1..=PAGES).contains(k))),
            Pagination::Cursor { param, has_more: None, .. } => match query_param(a, param) {
                None => Some(1),
                Some(c) => (2..=PAGES).find(|k| cursor(*k) == c),
            },
            Pagination::Cursor { param, .. } => match query_param(a, param) {
                None => Some(1),
                // the cursor is the last item of the page before
                Some(c) => (1..PAGES)
                    .find(|k| self.items_on(*k).last().and_then(|i| i.get("id")).is_some_and(|id| id_text(id) == c))
                    .map(|k| k + 1),
            },
        }
    }

    /// Page `k` as the provider sends it to request `a`.
    fn page(&self, a: &Arrival, k: usize) -> Reply {
        let mut body = self.template.clone();
        set(&mut body, self.pagination.items(), Value::Array(self.items_on(k).clone()));
        let next = self.next_of(k);
        if let Some(flag) = self.pagination.has_more() {
            set(&mut body, flag, Value::Bool(next.is_some()));
        }
        if let Pagination::Cursor { next: Some(path), .. } = &self.pagination {
            set(&mut body, path, Value::String(next.map(cursor).unwrap_or_default()));
        }
        let reply = Reply::json(self.status, &body);
        match &self.pagination {
            // as GitHub orders them: the other relations before `next`, each URL the whole query
            Pagination::Link { .. } => {
                let host = a.header("host").unwrap_or("127.0.0.1");
                let (path, query) = a.path.split_once('?').unwrap_or((a.path.as_str(), ""));
                let url = |n: usize| {
                    let mut q = form_urlencoded::Serializer::new(String::new());
                    for (k, v) in form_urlencoded::parse(query.as_bytes()).filter(|(k, _)| k != "page") {
                        q.append_pair(&k, &v);
                    }
                    q.append_pair("page", &n.to_string());
                    format!("<http://{host}{path}?{}>", q.finish())
                };
                let mut links = Vec::new();
                if k > 1 {
                    links.push(format!("{}; rel=\"prev\"", url(k - 1)));
                }
                links.extend(next.map(|n| format!("{}; rel=\"next\"", url(n))));
                links.push(format!("{}; rel=\"last\"", url(PAGES)));
                links.push(format!("{}; rel=\"first\"", url(1)));
                reply.header("Link", links.join(", "))
            }
            _ => reply,
        }
    }
}

/// The opaque cursor of page `k`, base64 as providers make them (Slack's are), with the
/// `+`, `/` and `=` a client must percent-encode in a query (an unencoded `+` reads as a space).
fn cursor(k: usize) -> String {
    format!("b2M6cGFnZ{k}+/dGVhbQ==")
}

/// An id as it travels in a query: a string as is, a number in digits.
fn id_text(id: &Value) -> String {
    id.as_str().map(str::to_string).unwrap_or_else(|| id.to_string())
}

/// The items a call returned: the array it returned, or the items where a page has them.
fn returned_items(p: &Pagination, v: &Value) -> Option<Vec<Value>> {
    match v {
        Value::Array(items) => Some(items.clone()),
        _ => p.items_of(v).cloned(),
    }
}

/// `1, 2, 3` — the pages of the requests (`?` for a cursor the provider never gave).
fn show_pages(pages: &[Option<usize>]) -> String {
    pages.iter().map(|k| k.map(|k| k.to_string()).unwrap_or("?".into())).collect::<Vec<_>>().join(", ")
}

/// Whether the items returned are every item served, in order (by `id`, else by count).
fn items_problem(book: &Book, returned: Option<Vec<Value>>) -> Option<String> {
    let want = book.all();
    let where_ =
        if book.pagination.items().is_empty() { String::new() } else { format!(" (or a page with them at `{}`)", book.pagination.items()) };
    let Some(got) = returned else {
        return Some(format!("expected the call to return all {} items as an array{where_}, found no items", want.len()));
    };
    let ids = |v: &[Value]| v.iter().map(|i| i.get("id").map(id_text).unwrap_or_default()).collect::<Vec<_>>();
    let same = if want.first().and_then(|i| i.get("id")).is_some() { ids(&got) == ids(&want) } else { got.len() == want.len() };
    (!same).then(|| {
        format!(
            "expected all {} items of the {PAGES} pages, in order (ids {}), found {} (ids {})",
            want.len(),
            ids(&want).join(", "),
            got.len(),
            ids(&got).join(", ")
        )
    })
}

pub(super) fn prepare(kind: Kind, s: &Setup) -> Prepared {
    let Some(pagination) = s.endpoint.pagination.clone() else {
        return Prepared::cannot_run(
            s,
            format!("{kind} needs the endpoint's pagination"),
            format!("{kind} applies only to an endpoint with pagination"),
        );
    };
    let looped = kind == Kind::PaginationLoop;
    let fails = kind == Kind::PaginationPageFails;
    let persists = kind == Kind::PaginationPagePersists;
    // how often page 3 is asked for when it keeps failing: by the 500 row, for a call that may repeat
    let retried = s.endpoint.is_idempotent() && s.spec.action_for(500) == Some(crate::spec::Action::RetryWithBackoff);
    let page3_attempts = if retried { s.policy.retry.max_attempts as usize } else { 1 };
    let book = Arc::new(Book::new(s, pagination.clone(), looped));
    let error = s.error_reply(500);
    let route = {
        let book = book.clone();
        Route {
            target: Target::Api,
            path: None,
            behaviour: Arc::new(move |a: &Arrival, attempt| match book.page_of(a) {
                // the first request for page 3 fails (it is the fourth request of a client that follows the pages)
                Some(3) if (fails && attempt == PAGES - 1) || persists => Step::Reply(error.clone()),
                Some(k) => Step::Reply(book.page(a, k)),
                None => Step::Reply(Reply::json(
                    400,
                    &serde_json::json!({"error": {"type": "invalid_request_error", "message": "invalid cursor"}}),
                )),
            }),
            limit: 3 * PAGES,
            raw: false,
        }
    };
    let how = match &pagination {
        Pagination::Link { .. } => "a Link header rel=\"next\"".to_string(),
        Pagination::Cursor { param, next: Some(n), .. } => format!("the cursor at `{n}`, sent back as `{param}`"),
        Pagination::Cursor { param, has_more: Some(h), .. } => format!("`{h}` and the last item's id, sent back as `{param}`"),
        Pagination::Cursor { param, .. } => format!("a cursor sent back as `{param}`"),
        Pagination::Page { param, has_more, .. } => format!("`{param}` numbers while `{has_more}` is true"),
    };
    let n = PAGES * PER_PAGE;
    let expected = match kind {
        Kind::PaginationLoop => format!(
            "{PAGES} pages by {how}, but page 3 points back at page 2 → the client stops with an InvalidResponse error (a cursor or page it has read), at most one request repeating it; it does not spin"
        ),
        Kind::PaginationPageFails => format!(
            "{PAGES} pages by {how}; the first request for page 3 answered 500 → page 3 retried by the policy (after the backoff), pages 1 and 2 not fetched again → all {n} items returned"
        ),
        Kind::PaginationPagePersists => format!(
            "{PAGES} pages by {how}; page 3 answered 500 every time → page 3 asked for {page3_attempts} time(s) (the policy), pages 1 and 2 once → a Status error with 500, never the first pages' items passed off as the whole list"
        ),
        _ => format!(
            "{PAGES} pages of {PER_PAGE} items by {how} → each page requested once, in order, none past the last → all {n} items returned, in order"
        ),
    };
    let policy = s.policy.clone();
    Prepared::new(
        s,
        vec![route],
        expected,
        Box::new(move |o| {
            let mut p = Vec::new();
            let a = o.attempts(0);
            let pages: Vec<Option<usize>> = a.iter().map(|x| book.page_of(x)).collect();
            let r = &o.returned[0];
            let returned = r.value().and_then(|v| returned_items(&book.pagination, v));
            let got = returned.as_ref().map(Vec::len);
            match kind {
                Kind::PaginationPagePersists => {
                    let want: Vec<Option<usize>> =
                        [Some(1), Some(2)].into_iter().chain(std::iter::repeat_n(Some(PAGES), page3_attempts)).collect();
                    if pages != want {
                        p.push(format!(
                            "expected the pages requested in the order {} (page 3 as often as the policy allows, pages 1 and 2 once), found {}",
                            show_pages(&want),
                            show_pages(&pages)
                        ));
                    }
                    match got {
                        Some(n) => p.push(format!(
                            "expected an error (page 3 could not be read), found {n} items returned as if they were the whole list"
                        )),
                        None => expect_error(r, &[ErrorKind::Status], Some(500), &mut p),
                    }
                }
                Kind::PaginationLoop => {
                    expect_error(r, &[ErrorKind::InvalidResponse], None, &mut p);
                    if a.len() > PAGES + 1 {
                        p.push(format!(
                            "expected the client to stop at the page that points back (at most {} requests), found {} requests (pages {})",
                            PAGES + 1,
                            a.len(),
                            show_pages(&pages)
                        ));
                    }
                }
                _ => {
                    let mut want: Vec<Option<usize>> = (1..=PAGES).map(Some).collect();
                    if fails {
                        want.push(Some(PAGES));
                    }
                    if pages != want {
                        p.push(format!(
                            "expected the pages requested in the order {}{}, found {}",
                            show_pages(&want),
                            if fails { " (page 3 again after its 500, pages 1 and 2 once)" } else { " (each once, none past the last)" },
                            show_pages(&pages)
                        ));
                    }
                    if fails && a.len() == want.len() {
                        let retry = &a[a.len() - 2..];
                        let backoff = (&[policy.retry.backoff(0)][..], policy.retry.jitter);
                        expect_retries(retry, 2, true, "page 3, then its retry", backoff, "the retry policy's backoff after a 500", &mut p);
                        if retry[0].path != retry[1].path {
                            p.push(format!(
                                "expected the retry of page 3 to repeat its request, found {} then {}",
                                retry[0].path, retry[1].path
                            ));
                        }
                    }
                    expect_ok(r, &mut p);
                    if r.value().is_some() {
                        p.extend(items_problem(&book, returned));
                    }
                }
            }
            let actual = format!(
                "{} request(s) for pages {}; returned {}",
                a.len(),
                show_pages(&pages),
                match got {
                    Some(n) => format!("{n} items"),
                    None => r.describe(),
                }
            );
            Verdict { actual, problems: p, evidence: String::new() }
        }),
    )
}
