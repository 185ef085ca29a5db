//! The layout of `src/`: no import cycles between the library's top-level modules (nor
//! between the CLI's verb files), and the outputs (round reports, CI outputs, the
//! checkpoint, drift reports) reach nothing of how trials are planned, run or judged: they
//! read the results model. Read from the `crate::` / `super::` paths each file names, with
//! comments and strings left out; `.ci/run` runs this first.
//!
//! Proven on planted trees: a cycle, a cycle through a grouped `use`, a copy of `src/` with
//! one import added, and an output that reaches a trial's internals all fail with the files
//! and lines that tie them.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::{Path, PathBuf};

/// The output modules, and what none of them may reach, directly or through others.
const OUTPUTS: [&str; 4] = ["report", "ci", "checkpoint", "drift"];
const INTERNALS: [&str; 10] = ["binding", "harness", "health", "plan", "sandbox", "scenario", "server", "standin", "timeline", "trial"];

/// A dependency of one module on another, with where it is written.
#[derive(Debug, Clone)]
struct Use {
    from: String,
    to: String,
    at: String,
}

/// `text` with comments, string and character literals blanked out (lines kept).
fn code_only(text: &str) -> String {
    let c: Vec<char> = text.chars().collect();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let blank = |out: &mut String, ch: char| out.push(if ch == '\n' { '\n' } else { ' ' });
    while i < c.len() {
        match c[i] {
            '/' if c.get(i + 1) == Some(&'/') => {
                while i < c.len() && c[i] != '\n' {
                    i += 1;
                    out.push(' ');
                }
            }
            '/' if c.get(i + 1) == Some(&'*') => {
                let mut depth = 0;
                while i < c.len() {
                    if c[i] == '/' && c.get(i + 1) == Some(&'*') {
                        depth += 1;
                        out.push_str("  ");
                        i += 2;
                    } else if c[i] == '*' && c.get(i + 1) == Some(&'/') {
                        depth -= 1;
                        out.push_str("  ");
                        i += 2;
                        if depth == 0 {
                            break;
                        }
                    } else {
                        blank(&mut out, c[i]);
                        i += 1;
                    }
                }
            }
            'r' if matches!(c.get(i + 1), Some('"') | Some('#')) && (i == 0 || !is_ident(c[i - 1])) => {
                // a raw string: r"…", r#"…"#
                let mut j = i + 1;
                let mut hashes = 0;
                while c.get(j) == Some(&'#') {
                    hashes += 1;
                    j += 1;
                }
                if c.get(j) != Some(&'"') {
                    out.push(c[i]);
                    i += 1;
                    continue;
                }
                j += 1;
                while j < c.len() && !(c[j] == '"' && (0..hashes).all(|k| c.get(j + 1 + k) == Some(&'#'))) {
                    j += 1;
                }
                let end = (j + 1 + hashes).min(c.len());
                for &ch in &c[i..end] {
                    blank(&mut out, ch);
                }
                i = end;
            }
            '"' => {
                blank(&mut out, c[i]);
                i += 1;
                while i < c.len() && c[i] != '"' {
                    if c[i] == '\\' {
                        blank(&mut out, c[i]);
                        i += 1;
                    }
                    if i < c.len() {
                        blank(&mut out, c[i]);
                        i += 1;
                    }
                }
                if i < c.len() {
                    out.push(' ');
                    i += 1;
                }
            }
            // a character literal ('x', '\n', '\''), not a lifetime ('a)
            '\'' if c.get(i + 1) == Some(&'\\') || c.get(i + 2) == Some(&'\'') => {
                let mut j = i + 1;
                if c.get(j) == Some(&'\\') {
                    j += 2;
                }
                while j < c.len() && c[j] != '\'' {
                    j += 1;
                }
                for &ch in &c[i..(j + 1).min(c.len())] {
                    blank(&mut out, ch);
                }
                i = j + 1;
            }
            ch => {
                out.push(ch);
                i += 1;
            }
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The identifier at the start of `s`.
fn ident(s: &str) -> &str {
    let end = s.find(|c: char| !is_ident(c)).unwrap_or(s.len());
    &s[..end]
}

/// The first identifier of each item of a `{a, b::c, d::{e, f}}` group at the start of `s`.
fn group_heads(s: &str) -> Vec<&str> {
    let mut heads = Vec::new();
    let (mut depth, mut start) = (0, 1);
    for (i, ch) in s.char_indices() {
        match ch {
            '{' => {
                depth += 1;
                if depth == 1 {
                    start = i + 1;
                }
            }
            '}' | ',' if depth == 1 => {
                let head = ident(s[start..i].trim_start());
                if !head.is_empty() {
                    heads.push(head);
                }
                start = i + 1;
                if ch == '}' {
                    break;
                }
            }
            '}' => depth -= 1,
            _ => {}
        }
    }
    heads
}

/// The names that follow `prefix` (`crate::`, `super::`) in `code`, with their line numbers.
fn named_after<'a>(code: &'a str, prefix: &str) -> Vec<(usize, &'a str)> {
    let mut found = Vec::new();
    for (n, line) in code.lines().enumerate() {
        let mut rest = line;
        while let Some(p) = rest.find(prefix) {
            let before = rest[..p].chars().next_back();
            let after = rest[p + prefix.len()..].trim_start();
            rest = &rest[p + prefix.len()..];
            if before.is_some_and(|b| is_ident(b) || b == ':') {
                continue;
            }
            if after.starts_with('{') {
                // a group may span lines: read it from the whole remaining code
                let offset = code.lines().take(n).map(|l| l.len() + 1).sum::<usize>() + (line.len() - rest.len());
                let whole = code[offset..].trim_start();
                found.extend(group_heads(whole).into_iter().map(|h| (n + 1, h)));
            } else {
                let name = ident(after);
                if !name.is_empty() {
                    found.push((n + 1, name));
                }
            }
        }
    }
    found
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let mut todo = vec![dir.to_path_buf()];
    while let Some(d) = todo.pop() {
        for e in std::fs::read_dir(&d).unwrap_or_else(|e| panic!("{}: {e}", d.display())).map(Result::unwrap) {
            let p = e.path();
            if p.is_dir() {
                todo.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }
    out.sort();
    out
}

/// The library's top-level modules under `src` and the uses between them: a file
/// `src/x.rs` or `src/x/…` belongs to `x`; `crate::y` in it is a use of `y`. The crate
/// roots and the binary's own modules (`cli/`, the MCP server `mcp/`) are left out.
fn library_uses(src: &Path) -> (BTreeSet<String>, Vec<Use>) {
    let mut modules = BTreeSet::new();
    let mut uses = Vec::new();
    for file in rust_files(src) {
        let rel = file.strip_prefix(src).unwrap_or(&file);
        let first = rel.components().next().map(|c| c.as_os_str().to_string_lossy().into_owned()).unwrap_or_default();
        let module = first.trim_end_matches(".rs").to_string();
        if ["lib", "main", "cli", "mcp"].contains(&module.as_str()) {
            continue;
        }
        modules.insert(module.clone());
        let code = code_only(&std::fs::read_to_string(&file).unwrap());
        for (line, name) in named_after(&code, "crate::") {
            if name != module {
                uses.push(Use { from: module.clone(), to: name.to_string(), at: format!("{}:{line}", file.display()) });
            }
        }
    }
    (modules, uses)
}

/// The CLI's files under `cli` and the uses between them: `super::x` in a verb file is a
/// use of its sibling `x` (or of `cli/mod.rs`, named `mod`, when `x` is an item of it).
fn cli_uses(cli: &Path) -> (BTreeSet<String>, Vec<Use>) {
    let files = rust_files(cli);
    let modules: BTreeSet<String> =
        files.iter().map(|f| f.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()).collect();
    let mut uses = Vec::new();
    for file in &files {
        let module = file.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default();
        let code = code_only(&std::fs::read_to_string(file).unwrap());
        let mut add = |to: &str, line: usize| {
            if to != module {
                uses.push(Use { from: module.clone(), to: to.to_string(), at: format!("{}:{line}", file.display()) });
            }
        };
        if module == "mod" {
            // `mod.rs` names its children directly (`table::fail`, `use table::…`)
            for (n, line) in code.lines().enumerate() {
                let line = line.trim_start();
                if let Some(rest) = line.strip_prefix("use ") {
                    let name = ident(rest);
                    if modules.contains(name) {
                        add(name, n + 1);
                    }
                }
            }
            continue;
        }
        for (line, name) in named_after(&code, "super::") {
            add(if modules.contains(name) { name } else { "mod" }, line);
        }
    }
    (modules, uses)
}

/// A path of uses from `from` to `to`, if there is one.
fn path(uses: &[Use], from: &str, to: &str) -> Option<Vec<Use>> {
    let mut came: BTreeMap<&str, &Use> = BTreeMap::new();
    let mut queue = VecDeque::from([from]);
    while let Some(m) = queue.pop_front() {
        for u in uses.iter().filter(|u| u.from == m) {
            if u.to == to {
                let mut chain = vec![u.clone()];
                let mut at = m;
                while at != from {
                    let prev = came[at];
                    chain.push(prev.clone());
                    at = &prev.from;
                }
                chain.reverse();
                return Some(chain);
            }
            if !came.contains_key(u.to.as_str()) && u.to != from {
                came.insert(&u.to, u);
                queue.push_back(&u.to);
            }
        }
    }
    None
}

fn show(chain: &[Use]) -> String {
    let names: Vec<&str> = chain.iter().map(|u| u.from.as_str()).chain(chain.last().map(|u| u.to.as_str())).collect();
    let lines: Vec<String> = chain.iter().map(|u| format!("    {} uses {} ({})", u.from, u.to, u.at)).collect();
    format!("{}\n{}", names.join(" → "), lines.join("\n"))
}

/// Each cycle among `modules` (one per group of modules that reach each other), shown with
/// the lines that make it.
fn cycles(modules: &BTreeSet<String>, uses: &[Use]) -> Vec<String> {
    let uses: Vec<Use> = uses.iter().filter(|u| modules.contains(&u.to)).cloned().collect();
    let mut seen: BTreeSet<String> = BTreeSet::new();
    let mut out = Vec::new();
    for m in modules {
        if seen.contains(m) {
            continue;
        }
        if let Some(chain) = path(&uses, m, m) {
            seen.extend(chain.iter().map(|u| u.from.clone()));
            out.push(show(&chain));
        }
    }
    out
}

/// What is wrong with the layout of the tree at `src`: cycles, and outputs that reach internals.
fn problems(src: &Path) -> Vec<String> {
    let (modules, uses) = library_uses(src);
    let mut out: Vec<String> = cycles(&modules, &uses).into_iter().map(|c| format!("a cycle between modules: {c}")).collect();
    for output in OUTPUTS.iter().filter(|o| modules.contains(**o)) {
        for internal in INTERNALS {
            if let Some(chain) = path(&uses, output, internal) {
                out.push(format!("an output reaches how trials run (it must read `results` only): {}", show(&chain)));
            }
        }
    }
    let cli = src.join("cli");
    if cli.is_dir() {
        let (modules, uses) = cli_uses(&cli);
        out.extend(cycles(&modules, &uses).into_iter().map(|c| format!("a cycle between CLI files: {c}")));
    }
    out
}

#[test]
fn src_has_no_module_cycles_and_outputs_read_only_results() {
    let found = problems(Path::new("src"));
    assert!(found.is_empty(), "expected no cycles, found:\n{}", found.join("\n\n"));
    // the check sees the real tree: the harness reaches every output, the outputs the results
    let (modules, uses) = library_uses(Path::new("src"));
    for m in ["results", "report", "ci", "checkpoint", "harness", "case", "standin", "sandbox"] {
        assert!(modules.contains(m), "expected module {m} in {modules:?}");
    }
    for (from, to) in [("harness", "report"), ("report", "results"), ("ci", "results"), ("checkpoint", "results"), ("results", "case")] {
        assert!(uses.iter().any(|u| u.from == from && u.to == to), "expected {from} to use {to}");
    }
    let (cli, cli_uses) = cli_uses(Path::new("src/cli"));
    assert!(cli.contains("table") && cli_uses.iter().any(|u| u.from == "check" && u.to == "table"), "{cli_uses:?}");
}

/// A scratch tree with these files (path, text).
fn tree(files: &[(&str, &str)]) -> PathBuf {
    let root = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("oc-layout-{}", uuid::Uuid::new_v4().simple()));
    for (path, text) in files {
        let p = root.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }
    root
}

#[test]
fn a_planted_cycle_fails_with_the_lines_that_make_it() {
    let root = tree(&[
        ("lib.rs", "pub mod a;\npub mod b;\npub mod c;\n"),
        ("a.rs", "//! mentions crate::c in a comment only\nuse crate::b::Thing;\nconst S: &str = \"crate::c\";\n"),
        ("b/mod.rs", "mod inner;\n"),
        ("b/inner.rs", "fn f() -> char { '\"' }\nfn g<'a>(x: &'a str) -> &'a str { x }\nuse crate::{\n    c::{X, Y},\n    a,\n};\n"),
        ("c.rs", "pub struct X;\npub struct Y;\n"),
    ]);
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].starts_with("a cycle between modules: a → b → a\n"), "{}", found[0]);
    assert!(found[0].contains(&format!("a uses b ({}:2)", root.join("a.rs").display())), "{}", found[0]);
    assert!(found[0].contains(&format!("b uses a ({}:3)", root.join("b/inner.rs").display())), "{}", found[0]);
    // without the grouped import of `a`, no cycle (and comments and strings never counted)
    std::fs::write(root.join("b/inner.rs"), "use crate::{c::{X, Y}};\n").unwrap();
    assert_eq!(problems(&root), Vec::<String>::new());
    std::fs::remove_dir_all(root).ok();
}

#[test]
fn the_real_tree_with_one_import_added_fails() {
    let copy = tree(&[]);
    for file in rust_files(Path::new("src")) {
        let to = copy.join(file.strip_prefix("src").unwrap());
        std::fs::create_dir_all(to.parent().unwrap()).unwrap();
        std::fs::copy(&file, &to).unwrap();
    }
    assert_eq!(problems(&copy), Vec::<String>::new(), "the copy is clean before the plant");
    // results is read by report: results reading report closes a circle
    let results = copy.join("results.rs");
    let text = std::fs::read_to_string(&results).unwrap();
    std::fs::write(&results, format!("{text}\n#[allow(unused_imports)]\nuse crate::report::write;\n")).unwrap();
    let found = problems(&copy);
    assert!(found.iter().any(|p| p.starts_with("a cycle between modules: ") && p.contains("results uses report")), "{found:#?}");
    // a verb file that its sibling uses, using it back
    let render = copy.join("cli/render.rs");
    let text = std::fs::read_to_string(&render).unwrap();
    std::fs::write(&render, format!("{text}\n#[allow(unused_imports)]\nuse super::plan::run;\n")).unwrap();
    let found = problems(&copy);
    assert!(found.iter().any(|p| p.starts_with("a cycle between CLI files: ")), "{found:#?}");
    std::fs::remove_dir_all(copy).ok();
}

#[test]
fn an_output_that_reaches_a_trial_internal_fails() {
    let root = tree(&[
        ("report.rs", "use crate::results::Run;\n"),
        ("results.rs", "use crate::case::Case;\n"),
        ("case.rs", "use crate::scenario::Policy;\n"),
        ("scenario/mod.rs", "pub struct Policy;\n"),
    ]);
    let found = problems(&root);
    assert_eq!(found.len(), 1, "{found:?}");
    assert!(found[0].contains("report → results → case → scenario"), "{}", found[0]);
    std::fs::remove_dir_all(root).ok();
}
