//! The planned endpoints' schemas, written once: one shared file, [`FILE`], holds the
//! document's components the endpoints reach (converted, under `$defs`) and each endpoint's
//! own schema (under `endpoints/<id>/request` and `…/response`, or the component itself where
//! the schema is one), and the spec points into it (`schema_file: FILE#/$defs/customer`).
//! Every candidate example is checked against one validator compiled for them all.

use serde_json::{Map, Value, json};

use super::openapi::{self, Shared};
use crate::spec::{Schema, Side, escape};

/// The shared schema file, relative to the service directory.
pub(super) const FILE: &str = "schemas/components.json";

/// An endpoint's schema waiting for an example: the converted schema (a `$ref` to the
/// component it is, when it is one), and the document's examples to try, in order (then one
/// made from the schema, made only when none of them fits).
#[derive(Debug)]
pub(super) struct Wanted {
    /// The endpoint's id.
    pub(super) endpoint: String,
    pub(super) side: Side,
    pub(super) schema: Value,
    /// The `$defs` name of the component the schema is, when it is one.
    pub(super) component: Option<String>,
    pub(super) candidates: Vec<Value>,
}

/// What a [`Wanted`] schema became.
#[derive(Debug)]
pub(super) struct Settled {
    /// The first candidate the schema accepts, `None` when none does.
    pub(super) example: Option<Value>,
    /// The example made from the schema, when no documented one fits (else null).
    pub(super) made: Value,
    /// Where the schema is: `FILE#<pointer>`.
    pub(super) file: String,
    /// The schema made self-contained (its `$defs` inside), when asked for.
    pub(super) inline: Option<Value>,
}

/// Every wanted schema settled, in order, and the shared file (none when no schema is wanted):
/// its text and a part of its compiled document (the endpoints' own schemas and the components
/// they reach, nothing else). `inline`: each schema also made self-contained, for a spec that
/// carries its schemas itself.
pub(super) fn settle(shared: Shared, mut wanted: Vec<Wanted>, inline: bool) -> (Vec<Settled>, Option<(String, Schema)>) {
    // the components the endpoints reach, moved into the file (in name order), the rest dropped
    let reached = openapi::reached(shared.root(), wanted.iter().map(|w| &w.schema));
    let mut defs = shared.into_defs();
    defs.retain(|name, _| reached.contains(name));
    defs.sort_keys();
    let mut endpoints: Map<String, Value> = Map::new();
    let mut pointers = Vec::with_capacity(wanted.len());
    for w in &mut wanted {
        let pointer = match &w.component {
            Some(name) => format!("/$defs/{}", escape(name)),
            None => {
                let entry = endpoints.entry(w.endpoint.clone()).or_insert_with(|| json!({}));
                entry[w.side.name()] = std::mem::take(&mut w.schema);
                format!("/endpoints/{}/{}", escape(&w.endpoint), w.side.name())
            }
        };
        pointers.push(pointer);
    }
    let mut root = Map::new();
    root.insert("$comment".into(), json!(COMMENT));
    root.insert("$defs".into(), Value::Object(defs));
    root.insert("endpoints".into(), Value::Object(endpoints));
    let parts = Schema::parts(Value::Object(root), FILE.to_string(), pointers.clone());
    // one compile for every schema; a document with a schema the validator refuses is
    // checked endpoint by endpoint instead, so only the endpoints that reach it go unverified
    let together = parts.first().is_some_and(|p| p.check().is_ok());
    let jobs: Vec<_> = wanted.iter().zip(&parts).zip(pointers).collect();
    let settle_one = |((w, part), pointer): &((&Wanted, &Schema), String)| {
        // the schema itself (a component's own, not a reference to it), in the file
        let (top, root) = (part.value(), part.root());
        let alone = (!together || inline).then(|| openapi::self_contained(root, top));
        let checked = match (&alone, together) {
            (_, true) => Some((*part).clone()),
            (Some(schema), false) => Some(Schema::inline(schema.clone())),
            (None, false) => None,
        };
        let fits = |c: &Value| checked.as_ref().is_some_and(|s| s.accepts(c));
        let (example, made) = match w.candidates.iter().find(|c| fits(c)) {
            Some(c) => (Some(c.clone()), Value::Null),
            None => {
                let made = openapi::example(top, root, 0);
                (fits(&made).then(|| made.clone()), made)
            }
        };
        Settled { example, made, file: format!("{FILE}#{pointer}"), inline: alone.filter(|_| inline) }
    };
    // the file's text is written out on one core while the examples are checked on the others
    let (text, settled) = std::thread::scope(|scope| {
        let text = scope.spawn(|| parts.first().map(|p| serde_json::to_string_pretty(p.root()).unwrap_or_default() + "\n"));
        let settled = crate::cores::map(&jobs, settle_one);
        (crate::cores::join(text), settled)
    });
    (settled, text.zip(parts.into_iter().next()))
}

/// What the shared file says of itself.
const COMMENT: &str = "Written by `oc-integrate plan`: the document's schemas the planned endpoints reach, converted to JSON Schema 2020-12 (under $defs), and each endpoint's own schema (under endpoints/<id>/request and response); spec.yaml points into it with schema_file.";
