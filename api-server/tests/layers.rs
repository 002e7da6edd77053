//! The API server's layering, checked from its source: no two modules import each other
//! (directly or around a loop), and no layer imports one above it.
//!
//! Layers, lowest first: `domain`, `clock`, `metrics` (no I/O); `db`; `store`, `runtime` and
//! outbound clients; `service`; `jobs`; `app` (the wired state); `http`; and the start-up
//! modules on top (`config` and `bootstrap`, then `server`, then `main`). See the crate docs (`src/lib.rs`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

/// Module path (`["service", "access"]`) -> file.
fn modules(src: &Path) -> BTreeMap<Vec<String>, PathBuf> {
    let mut out = BTreeMap::new();
    let mut stack = vec![src.to_path_buf()];
    while let Some(dir) = stack.pop() {
        for entry in std::fs::read_dir(&dir).unwrap() {
            let p = entry.unwrap().path();
            if p.is_dir() {
                stack.push(p);
                continue;
            }
            if p.extension().is_none_or(|e| e != "rs") {
                continue;
            }
            let rel = p.strip_prefix(src).unwrap().with_extension("");
            let mut parts: Vec<String> = rel
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if matches!(
                parts.last().map(String::as_str),
                Some("mod" | "lib" | "main")
            ) {
                parts.pop();
            }
            out.insert(parts, p);
        }
    }
    out
}

/// The source without its `#[cfg(test)]` tail and without comments.
fn code(text: &str) -> String {
    let text = text.find("#[cfg(test)]").map_or(text, |i| &text[..i]);
    text.lines()
        .map(|l| l.split("//").next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join("\n")
}

/// Paths named in `text` after `prefix` (`crate::`, `super::`), including those inside
/// `use crate::{a, b::c}`.
fn paths_after(text: &str, prefix: &str) -> Vec<Vec<String>> {
    let mut out = Vec::new();
    let ident = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        // `super::super::x` is read once, from its first `super::`.
        let before = &rest[..i];
        rest = &rest[i + prefix.len()..];
        if prefix == "super::" && before.ends_with("super::") {
            continue;
        }
        if rest.starts_with('{') {
            // A grouped import: each comma-separated head at depth one.
            let mut depth = 0;
            let mut item = String::new();
            for c in rest.chars() {
                match c {
                    '{' => {
                        depth += 1;
                        if depth > 1 {
                            item.push(c);
                        }
                    }
                    '}' => {
                        depth -= 1;
                        if depth == 0 {
                            out.push(split(&item));
                            break;
                        }
                        item.push(c);
                    }
                    ',' if depth == 1 => {
                        out.push(split(&item));
                        item.clear();
                    }
                    _ => item.push(c),
                }
            }
            continue;
        }
        let end = rest
            .find(|c: char| !(ident(c) || c == ':'))
            .unwrap_or(rest.len());
        out.push(split(&rest[..end]));
    }
    out
}

/// `crate::a::b::c` paths named in `text`.
fn crate_paths(text: &str) -> Vec<Vec<String>> {
    paths_after(text, "crate::")
}

fn split(path: &str) -> Vec<String> {
    path.split("::")
        .map(|s| s.trim().trim_start_matches('{').trim().to_string())
        .filter(|s| !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'))
        .collect()
}

/// The longest module prefix of `path`.
fn resolve(mods: &BTreeMap<Vec<String>, PathBuf>, path: &[String]) -> Option<Vec<String>> {
    (1..=path.len())
        .rev()
        .map(|n| path[..n].to_vec())
        .find(|p| mods.contains_key(p))
}

fn graph() -> BTreeMap<Vec<String>, BTreeSet<Vec<String>>> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mods = modules(&src);
    let mut edges = BTreeMap::new();
    for (m, file) in &mods {
        let text = code(&std::fs::read_to_string(file).unwrap());
        let mut to = BTreeSet::new();
        // `super::x` from module `a::b` (file `a/b.rs`) names `a::x`; from `a::b` as
        // `a/b/mod.rs` too (both have the parent `a`).
        let parent = &m[..m.len().saturating_sub(1)];
        let relative = paths_after(&text, "super::").into_iter().map(|p| {
            let mut full = parent.to_vec();
            full.extend(p.into_iter().filter(|s| s != "super"));
            full
        });
        // `use child::X` (a re-export, say) makes this module depend on its child.
        let children = text
            .split("use ")
            .skip(1)
            .filter_map(|u| u.trim_start_matches("self::").split("::").next())
            .map(|head| {
                let mut full = m.clone();
                full.push(head.trim().to_string());
                full
            })
            .filter(|c| mods.contains_key(c));
        for c in children {
            to.insert(c);
        }
        for p in crate_paths(&text).into_iter().chain(relative) {
            if let Some(target) = resolve(&mods, &p)
                && &target != m
                // A module naming its own children is the module tree, not an import.
                && (!target.starts_with(m) || m.is_empty())
                && !m.starts_with(&target)
            {
                to.insert(target);
            }
        }
        edges.insert(m.clone(), to);
    }
    edges
}

/// Strongly connected sets of more than one module (Tarjan).
fn cycles(edges: &BTreeMap<Vec<String>, BTreeSet<Vec<String>>>) -> Vec<Vec<String>> {
    struct T<'a> {
        edges: &'a BTreeMap<Vec<String>, BTreeSet<Vec<String>>>,
        index: BTreeMap<&'a Vec<String>, usize>,
        low: BTreeMap<&'a Vec<String>, usize>,
        stack: Vec<&'a Vec<String>>,
        on: BTreeSet<&'a Vec<String>>,
        next: usize,
        out: Vec<Vec<String>>,
    }
    fn visit<'a>(t: &mut T<'a>, v: &'a Vec<String>) {
        t.index.insert(v, t.next);
        t.low.insert(v, t.next);
        t.next += 1;
        t.stack.push(v);
        t.on.insert(v);
        for w in t.edges.get(v).into_iter().flatten() {
            let Some((w, _)) = t.edges.get_key_value(w) else {
                continue;
            };
            if !t.index.contains_key(w) {
                visit(t, w);
                let lw = t.low[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(lw);
            } else if t.on.contains(w) {
                let iw = t.index[w];
                let lv = t.low.get_mut(v).unwrap();
                *lv = (*lv).min(iw);
            }
        }
        if t.low[v] == t.index[v] {
            let mut set = Vec::new();
            while let Some(w) = t.stack.pop() {
                t.on.remove(w);
                set.push(w.join("::"));
                if w == v {
                    break;
                }
            }
            if set.len() > 1 {
                set.sort();
                t.out.push(set);
            }
        }
    }
    let mut t = T {
        edges,
        index: BTreeMap::new(),
        low: BTreeMap::new(),
        stack: Vec::new(),
        on: BTreeSet::new(),
        next: 0,
        out: Vec::new(),
    };
    for v in edges.keys() {
        if !t.index.contains_key(v) {
            visit(&mut t, v);
        }
    }
    t.out
}

#[test]
fn no_two_modules_import_each_other() {
    let found = cycles(&graph());
    assert!(
        found.is_empty(),
        "modules that import each other (directly or around a loop): {found:#?}"
    );
}

/// The rank of a top-level module: a module may import only modules of a lower or equal
/// rank (equal only inside its own folder, which the cycle check keeps acyclic).
fn rank(top: &str) -> Option<u8> {
    Some(match top {
        "domain" | "clock" | "metrics" | "telemetry" => 0,
        "db" => 1,
        "store" | "runtime" | "oidc" => 2,
        "service" => 3,
        "jobs" => 4,
        "app" => 5,
        "http" => 6,
        // Start-up: configuration and first-start bootstrap, then the server that wires
        // everything, then the binary.
        "config" | "bootstrap" => 7,
        "server" => 8,
        "main" => 9,
        _ => return None,
    })
}

#[test]
fn layers_import_only_downwards() {
    let mut wrong = Vec::new();
    for (from, to) in graph() {
        let Some(top) = from.first() else { continue };
        let Some(r) = rank(top) else {
            wrong.push(format!(
                "{} is in no layer (see tests/layers.rs)",
                from.join("::")
            ));
            continue;
        };
        for t in to {
            let other = &t[0];
            let Some(rt) = rank(other) else { continue };
            let allowed = rt < r || (rt == r && other == top);
            if !allowed {
                wrong.push(format!("{} imports {}", from.join("::"), t.join("::")));
            }
        }
    }
    assert!(wrong.is_empty(), "imports against the layering: {wrong:#?}");
}

#[test]
fn the_checker_finds_a_planted_cycle() {
    let a = vec!["a".to_string()];
    let b = vec!["b".to_string()];
    let edges = BTreeMap::from([
        (a.clone(), BTreeSet::from([b.clone()])),
        (b.clone(), BTreeSet::from([a.clone()])),
    ]);
    assert_eq!(cycles(&edges), vec![vec!["a".to_string(), "b".to_string()]]);
    assert_eq!(
        crate_paths("use crate::{domain::error::Error, store};"),
        vec![vec!["domain", "error", "Error"], vec!["store"]]
    );
}

/// The HTTP layer reads requests, calls a service and renders views: it names no store, no
/// entity module's queries and no ORM (every query is in `store`, every use case in
/// `service`).
#[test]
fn http_reaches_the_database_only_through_services() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut wrong = Vec::new();
    for (module, file) in modules(&src) {
        if module.first().map(String::as_str) != Some("http") {
            continue;
        }
        let text = code(&std::fs::read_to_string(&file).unwrap());
        for path in crate_paths(&text) {
            if path.first().map(String::as_str) == Some("store") {
                wrong.push(format!(
                    "{} uses crate::{}",
                    module.join("::"),
                    path.join("::")
                ));
            }
        }
        for orm in ["sea_orm::", "Entity::find", "ActiveModel"] {
            if text.contains(orm) {
                wrong.push(format!("{} uses {orm}", module.join("::")));
            }
        }
    }
    assert!(
        wrong.is_empty(),
        "database access outside store/service: {wrong:#?}"
    );
}

/// A handler module reads requests, calls a service and renders views, which takes little:
/// none is longer than 300 lines (views live in `http/views/`).
#[test]
fn handlers_stay_small() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("src/http/handlers");
    let mut long = Vec::new();
    for entry in std::fs::read_dir(&dir).unwrap() {
        let p = entry.unwrap().path();
        let lines = std::fs::read_to_string(&p).unwrap().lines().count();
        if lines > 300 {
            long.push(format!("{}: {lines} lines", p.display()));
        }
    }
    assert!(long.is_empty(), "handlers longer than 300 lines: {long:#?}");
}
