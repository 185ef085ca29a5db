//! Choosing the endpoints to plan, on a terminal: the operations of a document listed with
//! numbers, and the answer (`1,3-5`, `tag:issues`, an id, `all`) turned into a selection.
//! A project calls a handful of a provider's hundreds of operations; picking them keeps the
//! spec small.

use serde_json::Value;

use super::openapi::Document;
use super::{PlanError, operations};

/// One operation of a document, as offered for picking.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Offered {
    /// The endpoint id it would get (`issues_list_for_repo`).
    pub id: String,
    /// `GET`, `POST`, …
    pub method: String,
    /// The path, e.g. `/repos/{owner}/{repo}/issues`.
    pub path: String,
    /// Its tags.
    pub tags: Vec<String>,
}

/// Every operation of the document, in document order, numbered from 1 by position.
///
/// ```
/// let doc = serde_json::json!({"openapi": "3.0.0", "info": {"title": "t", "version": "1"},
///     "paths": {"/things": {"get": {"operationId": "listThings", "tags": ["things"], "responses": {}}}}});
/// let offered = oc_integrate::plan::pick::offer(doc).unwrap();
/// assert_eq!(offered[0].id, "list_things");
/// assert_eq!(offered[0].tags, ["things"]);
/// ```
pub fn offer(root: Value) -> Result<Vec<Offered>, PlanError> {
    let doc = Document::new(root).map_err(PlanError::Unsupported)?;
    Ok(operations(&doc)
        .0
        .into_iter()
        .map(|o| Offered {
            id: o.id.clone(),
            method: o.method.to_uppercase(),
            path: o.path,
            tags: o.op.get("tags").and_then(Value::as_array).into_iter().flatten().filter_map(Value::as_str).map(str::to_string).collect(),
        })
        .collect())
}

/// The endpoint ids an answer picks: comma- or space-separated numbers (`3`), ranges
/// (`3-5`), `tag:NAME`, endpoint ids, or `all`. An empty answer or an unknown item is an
/// error that says what was expected.
///
/// ```
/// use oc_integrate::plan::pick::{Offered, choose};
/// let op = |id: &str, tag: &str| Offered { id: id.into(), method: "GET".into(), path: "/".into(), tags: vec![tag.into()] };
/// let offered = [op("a", "x"), op("b", "y"), op("c", "y")];
/// assert_eq!(choose("1, tag:y", &offered).unwrap(), ["a", "b", "c"]);
/// assert_eq!(choose("2-3", &offered).unwrap(), ["b", "c"]);
/// assert!(choose("7", &offered).is_err());
/// ```
pub fn choose(answer: &str, offered: &[Offered]) -> Result<Vec<String>, String> {
    let mut picked: Vec<usize> = Vec::new();
    let items: Vec<&str> = answer.split([',', ' ']).map(str::trim).filter(|s| !s.is_empty()).collect();
    if items.is_empty() {
        return Err("expected numbers (1,3-5), tag:NAME, endpoint ids or all; found nothing".into());
    }
    let number = |s: &str| match s.parse::<usize>() {
        Ok(n) if (1..=offered.len()).contains(&n) => Ok(n - 1),
        _ => Err(format!("expected a number from 1 to {}, found {s:?}", offered.len())),
    };
    for item in items {
        if item == "all" {
            picked.extend(0..offered.len());
        } else if let Some(tag) = item.strip_prefix("tag:") {
            let before = picked.len();
            picked.extend(offered.iter().enumerate().filter(|(_, o)| o.tags.iter().any(|t| t == tag)).map(|(i, _)| i));
            if picked.len() == before {
                return Err(format!("expected a tag of some operation, found {tag:?}"));
            }
        } else if let Some((a, b)) = item.split_once('-').filter(|(a, _)| a.chars().all(|c| c.is_ascii_digit())) {
            let (a, b) = (number(a)?, number(b)?);
            if a > b {
                return Err(format!("expected a range from low to high, found {item:?}"));
            }
            picked.extend(a..=b);
        } else if item.chars().all(|c| c.is_ascii_digit()) {
            picked.push(number(item)?);
        } else {
            match offered.iter().position(|o| o.id == item) {
                Some(i) => picked.push(i),
                None => return Err(format!("expected a number, a range, tag:NAME, an endpoint id or all; found {item:?}")),
            }
        }
    }
    picked.sort_unstable();
    picked.dedup();
    Ok(picked.into_iter().map(|i| offered[i].id.clone()).collect())
}
