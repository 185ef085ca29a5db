//! The skill bundle (`skill/SKILL.md`, `skill/references/*.md`) cannot rot: every
//! `oc-integrate` command it shows (in fenced blocks and in `code` spans) names verbs that
//! exist, with flags those verbs take (checked against each verb's `--help`); every verb the
//! binary has is in the bundle's command reference; the frontmatter names the skill and says
//! when to trigger it; the MCP tools it names are the server's.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_oc-integrate");

/// The bundle's files: SKILL.md, then the references.
fn bundle() -> Vec<(PathBuf, String)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("skill");
    let mut files = vec![dir.join("SKILL.md")];
    let mut refs: Vec<PathBuf> = std::fs::read_dir(dir.join("references")).unwrap().map(|e| e.unwrap().path()).collect();
    refs.sort();
    files.extend(refs);
    files.into_iter().map(|f| (f.clone(), std::fs::read_to_string(&f).unwrap_or_else(|e| panic!("{}: {e}", f.display())))).collect()
}

/// `oc-integrate … --help`'s text for the command path `words`.
fn help(words: &[&str]) -> String {
    let out = Command::new(BIN).args(words).arg("--help").output().unwrap();
    assert!(out.status.success(), "oc-integrate {} --help: {}", words.join(" "), String::from_utf8_lossy(&out.stderr));
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The subcommands a `--help` text lists.
fn subcommands(help: &str) -> BTreeSet<String> {
    help.lines()
        .skip_while(|l| !l.starts_with("Commands:"))
        .skip(1)
        .take_while(|l| l.starts_with("  "))
        .filter_map(|l| l.split_whitespace().next())
        .filter(|w| *w != "help")
        .map(str::to_string)
        .collect()
}

/// Each command the bundle shows, with where: the text after `oc-integrate ` up to the end
/// of its line, a `|`, `;`, `&&`, `)` or the closing backtick; in fenced blocks (the lines)
/// and in `code` spans of the prose (each on one line).
fn commands(files: &[(PathBuf, String)]) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for (file, text) in files {
        let mut fenced = false;
        for (n, line) in text.lines().enumerate() {
            let at = format!("{}:{}", file.file_name().unwrap().to_string_lossy(), n + 1);
            if line.trim_start().starts_with("```") {
                fenced = !fenced;
                continue;
            }
            assert!(fenced || line.matches('`').count() % 2 == 0, "{at}: a `code` span must open and close on one line");
            let pieces: Vec<&str> =
                if fenced { vec![line.split(" # ").next().unwrap_or(line)] } else { line.split('`').skip(1).step_by(2).collect() };
            for piece in pieces {
                let mut rest = piece;
                while let Some(i) = rest.find("oc-integrate ") {
                    let before_ok = i == 0 || !rest[..i].ends_with(|c: char| c.is_alphanumeric() || c == '/' || c == '-' || c == ':');
                    let tail = &rest[i + "oc-integrate ".len()..];
                    let end = tail.find(['|', ';', ')', '`']).unwrap_or(tail.len());
                    let end = tail.find("&&").map_or(end, |a| a.min(end));
                    if before_ok {
                        out.push((at.clone(), tail[..end].trim().to_string()));
                    }
                    rest = &tail[end..];
                }
            }
        }
        assert!(!fenced, "{}: a fenced block is not closed", file.display());
    }
    out
}

#[test]
fn every_command_the_bundle_shows_exists_with_its_flags() {
    let files = bundle();
    let shown = commands(&files);
    assert!(shown.len() >= 20, "expected the bundle to show its commands, found {}: {shown:?}", shown.len());
    let mut problems = Vec::new();
    for (at, command) in &shown {
        let words: Vec<&str> = command.split_whitespace().collect();
        // the verb path: words while they are subcommands of the one before
        let mut path: Vec<&str> = Vec::new();
        let mut text = help(&[]);
        for w in &words {
            if subcommands(&text).contains(*w) {
                path.push(w);
                text = help(&path);
            } else {
                break;
            }
        }
        if path.is_empty() {
            problems.push(format!("{at}: `oc-integrate {command}`: expected a verb, found {:?}", words.first().unwrap_or(&"nothing")));
            continue;
        }
        // a verb with subcommands takes one, or flags of its own (`pm --retry-pm`)
        if !subcommands(&text).is_empty() && path.len() == 1 && words.get(1).is_some_and(|w| !w.starts_with('-')) {
            problems.push(format!("{at}: `oc-integrate {command}`: expected a subcommand of {}", path[0]));
        }
        for flag in words.iter().skip(path.len()).filter(|w| w.starts_with('-') && w.len() > 1) {
            let name = flag.split('=').next().unwrap_or(flag).trim_matches(|c| c == '\'' || c == '"');
            let known = text.lines().any(|l| {
                let l = l.trim_start();
                l.starts_with(&format!("{name} ")) || l.starts_with(&format!("{name},")) || l.starts_with(&format!("{name}\n")) || l == name
            });
            if !known {
                problems.push(format!("{at}: `oc-integrate {command}`: {} has no flag {name}", path.join(" ")));
            }
        }
    }
    assert!(problems.is_empty(), "the skill bundle names commands that do not exist:\n{}", problems.join("\n"));
}

#[test]
fn every_verb_is_in_the_command_reference() {
    let skill = &bundle()[0].1;
    let reference: String =
        skill.lines().skip_while(|l| !l.starts_with("## Command reference")).take_while(|l| !l.starts_with("## The loop")).collect();
    for verb in subcommands(&help(&[])) {
        assert!(
            reference.contains(&format!("oc-integrate {verb}")) || reference.contains(&format!("`oc-integrate {verb} ")),
            "skill/SKILL.md's command reference does not name `oc-integrate {verb}`: add it (the command, what to read in its output, its MCP tool)"
        );
    }
}

#[test]
fn the_frontmatter_names_the_skill_and_when_to_use_it() {
    let skill = &bundle()[0].1;
    let front: Vec<&str> = skill.lines().skip(1).take_while(|l| *l != "---").collect();
    assert_eq!(skill.lines().next(), Some("---"), "SKILL.md starts with its frontmatter");
    assert!(front.contains(&"name: oc-integrate"), "{front:?}");
    let description = front.join(" ");
    for trigger in ["/oc-integrate", "connect to Stripe", "connect to Slack", "OAuth", "webhook", "API integration"] {
        assert!(description.contains(trigger), "the description must trigger on {trigger:?}: {description}");
    }
}

#[test]
fn the_mcp_tools_the_bundle_names_are_the_servers() {
    let skill = &bundle()[0].1;
    let named: BTreeSet<String> = skill
        .lines()
        .filter(|l| l.starts_with("| `/"))
        .filter_map(|l| l.trim_end_matches('|').rsplit('|').next().map(str::to_string))
        .flat_map(|cell| cell.split('`').skip(1).step_by(2).map(str::to_string).collect::<Vec<_>>())
        .collect();
    let help = help(&["mcp"]);
    let served = help.split("tools (").nth(1).and_then(|t| t.split(')').next()).unwrap_or_default().replace('\n', " ");
    let served: BTreeSet<String> = served.split(',').map(|t| t.trim().to_string()).collect();
    assert!(named.len() >= 10, "{named:?}");
    for tool in &named {
        assert!(served.contains(tool), "SKILL.md names the MCP tool `{tool}`, which `oc-integrate mcp` does not serve ({served:?})");
    }
}
