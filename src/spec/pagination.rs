//! How a list endpoint pages its results: the spec's `pagination:` for an endpoint, in the
//! three shapes providers use (a `Link` header, a cursor, page numbers). The client is to
//! follow every page and return all the items; the pagination cases hold it to that.

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// How a list endpoint pages its results.
///
/// ```yaml
/// pagination: {style: link}                                                 # GitHub
/// pagination: {style: cursor, param: starting_after, has_more: has_more, items: data}      # Stripe
/// pagination: {style: cursor, param: cursor, next: response_metadata.next_cursor, items: channels}  # Slack
/// pagination: {style: page, param: page, has_more: meta.has_next}
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(tag = "style", rename_all = "snake_case", deny_unknown_fields)]
pub enum Pagination {
    /// `Link: <url>; rel="next"` on every page but the last (RFC 8288; GitHub).
    Link {
        /// Where a page's items are: a dotted field path (`data`); empty when the page is the array.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        items: String,
    },
    /// A cursor sent back in the query parameter `param`: read from the page at `next`
    /// (Slack's `response_metadata.next_cursor`, empty or absent on the last page), or, with
    /// `has_more`, the last item's `id` while that flag is true (Stripe's `starting_after`).
    Cursor {
        /// The query parameter that carries the cursor.
        param: String,
        /// Where a page gives the next cursor (a dotted field path).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        next: Option<String>,
        /// Where a page says more pages follow (a dotted field path to a boolean); the cursor
        /// is then the last item's `id`.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        has_more: Option<String>,
        /// Where a page's items are: a dotted field path; empty when the page is the array.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        items: String,
    },
    /// Page numbers from 1 in the query parameter `param`, while the flag at `has_more` is true.
    Page {
        /// The query parameter that carries the page number.
        param: String,
        /// Where a page says more pages follow (a dotted field path to a boolean).
        has_more: String,
        /// Where a page's items are: a dotted field path; empty when the page is the array.
        #[serde(default, skip_serializing_if = "String::is_empty")]
        items: String,
    },
}

impl Pagination {
    /// The dotted path to a page's items (empty: the page is the array).
    pub fn items(&self) -> &str {
        match self {
            Pagination::Link { items } | Pagination::Cursor { items, .. } | Pagination::Page { items, .. } => items,
        }
    }

    /// `link`, `cursor` or `page`.
    pub fn style(&self) -> &'static str {
        match self {
            Pagination::Link { .. } => "link",
            Pagination::Cursor { .. } => "cursor",
            Pagination::Page { .. } => "page",
        }
    }

    /// Whether a page can point back at itself (a link or a cursor; page numbers only go on).
    pub fn can_loop(&self) -> bool {
        !matches!(self, Pagination::Page { .. })
    }

    /// The items of `page`, if they are where the spec says.
    pub fn items_of<'a>(&self, page: &'a Value) -> Option<&'a Vec<Value>> {
        at(page, self.items())?.as_array()
    }

    /// `page` made the last one: its next cursor (where it has one) empty, its flag false.
    pub fn last_page(&self, page: &Value) -> Value {
        let mut page = page.clone();
        if let Pagination::Cursor { next: Some(n), .. } = self
            && at(&page, n).is_some()
        {
            set(&mut page, n, Value::String(String::new()));
        }
        if let Some(h) = self.has_more() {
            set(&mut page, h, Value::Bool(false));
        }
        page
    }

    /// Where a page says more pages follow, if it does by a flag.
    pub fn has_more(&self) -> Option<&str> {
        match self {
            Pagination::Cursor { has_more, .. } => has_more.as_deref(),
            Pagination::Page { has_more, .. } => Some(has_more),
            Pagination::Link { .. } => None,
        }
    }

    /// What is wrong with `example` as a page of this pagination: items where the spec says
    /// (at least one, objects with an `id` for a `has_more` cursor), the flag a boolean, the
    /// page the last one. `None` when it fits.
    pub fn problem(&self, example: &Value) -> Option<(String, String)> {
        let where_ = if self.items().is_empty() { "the response example".to_string() } else { format!("`{}`", self.items()) };
        let items = match self.items_of(example) {
            None => return Some(("items".into(), format!("expected an array of items at {where_}, found none"))),
            Some(v) if v.is_empty() => {
                return Some((
                    "items".into(),
                    format!("expected at least one item at {where_} (the pages are made from it), found an empty array"),
                ));
            }
            Some(v) => v,
        };
        if let Pagination::Page { has_more, .. } = self
            && at(example, has_more) != Some(&Value::Bool(false))
        {
            let found = at(example, has_more).map(Value::to_string).unwrap_or_else(|| "nothing".into());
            return Some((
                "has_more".into(),
                format!("expected the response example to be the last page (`{has_more}: false`), found {found}"),
            ));
        }
        if let Pagination::Cursor { next, has_more, .. } = self {
            match (next, has_more) {
                (Some(_), Some(_)) | (None, None) => {
                    return Some(("param".into(), "expected either `next` (where a page gives the next cursor) or `has_more` (a flag; the cursor is the last item's id), found both or neither".into()));
                }
                (Some(n), None) => match at(example, n) {
                    Some(Value::String(s)) if s.is_empty() => {}
                    None | Some(Value::Null) => {}
                    Some(v) => {
                        return Some((
                            "next".into(),
                            format!("expected the response example to be the last page (`{n}` empty or absent), found {v}"),
                        ));
                    }
                },
                (None, Some(h)) => {
                    match at(example, h) {
                        Some(Value::Bool(false)) => {}
                        other => {
                            let found = other.map(Value::to_string).unwrap_or_else(|| "nothing".into());
                            return Some((
                                "has_more".into(),
                                format!("expected the response example to be the last page (`{h}: false`), found {found}"),
                            ));
                        }
                    }
                    if items.iter().any(|i| !i.get("id").is_some_and(|id| id.is_string() || id.is_number())) {
                        return Some((
                            "has_more".into(),
                            format!("expected every item at {where_} to have an `id` (the next cursor), found one without"),
                        ));
                    }
                }
            }
        }
        None
    }
}

/// The value at a dotted field path (`response_metadata.next_cursor`; empty: `v` itself).
pub fn at<'a>(v: &'a Value, path: &str) -> Option<&'a Value> {
    path.split('.').filter(|s| !s.is_empty()).try_fold(v, |v, k| v.get(k))
}

/// Set the value at a dotted field path, making the objects on the way (empty: replace `v`).
pub fn set(v: &mut Value, path: &str, value: Value) {
    let path = path.trim_start_matches('.');
    if path.is_empty() {
        *v = value;
        return;
    }
    let (key, rest) = path.split_once('.').unwrap_or((path, ""));
    if !v.is_object() {
        *v = Value::Object(Default::default());
    }
    if let Value::Object(m) = v {
        set(m.entry(key.to_string()).or_insert(Value::Null), rest, value);
    }
}
