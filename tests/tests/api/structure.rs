//! The shape of the code, checked like behaviour: modules depend one way,
//! files hold one concern (or say at their top why they stay whole), and
//! every declared dependency is used.

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// Every `.rs` file under `dir`.
fn rust_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return out;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(rust_files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// A file's text without its `#[cfg(test)] mod tests { … }` (always last).
fn without_tests(text: &str) -> &str {
    match text.find("#[cfg(test)]\nmod tests") {
        Some(i) => &text[..i],
        None => text,
    }
}

/// The modules a text names under `prefix` (`crate::x`, `crate::{x, y::z}`).
fn referenced(text: &str, prefix: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    let mut rest = text;
    while let Some(i) = rest.find(prefix) {
        rest = &rest[i + prefix.len()..];
        if let Some(group) = rest.strip_prefix('{') {
            let end = group.find('}').unwrap_or(group.len());
            for item in group[..end].split(',') {
                let name: String = item
                    .trim()
                    .chars()
                    .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                    .collect();
                if !name.is_empty() {
                    out.insert(name);
                }
            }
        } else {
            let name: String = rest
                .chars()
                .take_while(|c| c.is_ascii_lowercase() || *c == '_')
                .collect();
            if !name.is_empty() {
                out.insert(name);
            }
        }
    }
    out
}

/// The graph of the modules directly under `dir` (a module's files all count
/// as it): which of its siblings each one names through `prefix`, and, for
/// files directly in `dir`, through `super::`.
fn module_graph(dir: &Path, prefix: &str) -> BTreeMap<String, BTreeSet<String>> {
    let mut graph: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
    for file in rust_files(dir) {
        let rel = file.strip_prefix(dir).expect("under dir");
        let parts: Vec<String> = rel
            .with_extension("")
            .iter()
            .map(|p| p.to_string_lossy().into_owned())
            .collect();
        let top = parts[0].clone();
        if parts.len() == 1 && matches!(top.as_str(), "lib" | "main" | "mod") {
            continue;
        }
        let text = std::fs::read_to_string(&file).expect("read");
        let code = without_tests(&text);
        let mut deps = referenced(code, prefix);
        if parts.len() == 1 {
            deps.extend(referenced(code, "super::"));
        }
        deps.remove(&top);
        graph.entry(top).or_default().extend(deps);
    }
    let names: BTreeSet<String> = graph.keys().cloned().collect();
    for deps in graph.values_mut() {
        deps.retain(|d| names.contains(d));
    }
    graph
}

/// A cycle of the graph, if it has one.
fn find_cycle(graph: &BTreeMap<String, BTreeSet<String>>) -> Option<Vec<String>> {
    fn visit(
        node: &str,
        graph: &BTreeMap<String, BTreeSet<String>>,
        path: &mut Vec<String>,
        done: &mut BTreeSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(i) = path.iter().position(|p| p == node) {
            let mut cycle = path[i..].to_vec();
            cycle.push(node.to_owned());
            return Some(cycle);
        }
        if done.contains(node) {
            return None;
        }
        path.push(node.to_owned());
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        done.insert(node.to_owned());
        None
    }
    let mut done = BTreeSet::new();
    graph
        .keys()
        .find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn modules_depend_one_way() {
    let root = workspace();
    for (dir, prefix) in [
        ("service/src", "crate::"),
        ("service/src/cache", "crate::cache::"),
        ("service/src/queries", "crate::queries::"),
        ("api/src", "crate::"),
        ("api/src/graphql", "crate::graphql::"),
        ("api/src/graphql/engine", "crate::graphql::engine::"),
        ("api/src/graphql/schema", "crate::graphql::schema::"),
        ("api/src/routes", "crate::routes::"),
    ] {
        let graph = module_graph(&root.join(dir), prefix);
        assert!(graph.len() > 2, "{dir}: {graph:?}");
        if let Some(cycle) = find_cycle(&graph) {
            panic!("{dir} has a module cycle: {}", cycle.join(" -> "));
        }
    }
    // The layering the style guide names, inside `service`.
    let service = module_graph(&root.join("service/src"), "crate::");
    for (lower, higher) in [
        ("queries", "bulk"),
        ("bulk", "cache"),
        ("cache", "customers"),
        ("customers", "seed"),
        ("orders", "import"),
    ] {
        assert!(
            !service[lower].contains(higher),
            "service::{lower} must not use service::{higher}"
        );
    }
    // GraphQL: the engine runs the schema, the schema runs under the
    // runtime; nothing below calls up, and nothing in GraphQL calls back
    // into a transport.
    let graphql = module_graph(&root.join("api/src/graphql"), "crate::graphql::");
    for (lower, higher) in [
        ("schema", "engine"),
        ("runtime", "schema"),
        ("runtime", "engine"),
    ] {
        assert!(
            !graphql[lower].contains(higher),
            "graphql::{lower} must not use graphql::{higher}"
        );
    }
    let api = module_graph(&root.join("api/src"), "crate::");
    assert!(
        !api["graphql"].contains("routes") && !api["graphql"].contains("startup"),
        "graphql must not use the transports or startup: {:?}",
        api["graphql"]
    );
}

#[test]
fn transports_enter_the_engine_through_its_doors() {
    // The HTTP and WebSocket transports reach the engine only through
    // `run_batch` and `subscribe`: no step of the pipeline is called from
    // a transport.
    let root = workspace();
    let code: String = rust_files(&root.join("api/src/routes"))
        .into_iter()
        .map(|p| without_tests(&std::fs::read_to_string(p).expect("read")).to_owned())
        .collect();
    for step in [
        ".prepare(",
        ".execute(",
        "execute_stream(",
        "DbGate",
        "too_costly",
    ] {
        assert!(
            !code.contains(step),
            "a transport calls `{step}`: route it through the engine's doors"
        );
    }
    assert!(code.contains(".run_batch(") && code.contains(".subscribe("));
}

/// Lines before a file's tests.
fn code_lines(text: &str) -> usize {
    without_tests(text).lines().count()
}

#[test]
fn long_files_say_why_they_stay_whole() {
    let root = workspace();
    let mut long = Vec::new();
    for dir in [
        "api/src",
        "service/src",
        "entity/src",
        "migration/src",
        "bench/src",
    ] {
        for file in rust_files(&root.join(dir)) {
            let text = std::fs::read_to_string(&file).expect("read");
            let header: String = text
                .lines()
                .take_while(|l| l.starts_with("//!"))
                .collect::<Vec<_>>()
                .join(" ");
            if code_lines(&text) > 350 && !header.contains("stays whole") {
                long.push(format!("{} ({} lines)", file.display(), code_lines(&text)));
            }
        }
    }
    assert!(
        long.is_empty(),
        "split these, or say why they stay whole: {long:?}"
    );
}

/// The dependency names of one section of a member's `Cargo.toml`.
fn dependencies(manifest: &str, section: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut inside = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            inside = line == format!("[{section}]");
            continue;
        }
        if !inside || line.is_empty() || line.starts_with('#') {
            continue;
        }
        let name = line
            .split(['=', '.'])
            .next()
            .unwrap_or_default()
            .trim()
            .to_owned();
        if !name.is_empty() {
            out.push(name);
        }
    }
    out
}

/// Whether `code` holds `pattern` as a path of its own (not the tail of
/// another path, as `indexmap::` in `async_graphql::indexmap::`).
fn names_crate(code: &str, pattern: &str) -> bool {
    code.match_indices(pattern).any(|(i, _)| {
        code[..i]
            .chars()
            .next_back()
            .is_none_or(|c| !(c.is_ascii_alphanumeric() || c == '_' || c == ':'))
    })
}

#[test]
fn every_declared_dependency_is_used() {
    let root = workspace();
    let mut unused = Vec::new();
    for member in ["api", "service", "entity", "migration", "tests", "bench"] {
        let dir = root.join(member);
        let manifest = std::fs::read_to_string(dir.join("Cargo.toml")).expect("Cargo.toml");
        let read_all = |paths: Vec<PathBuf>| {
            paths
                .into_iter()
                .filter_map(|p| std::fs::read_to_string(p).ok())
                .collect::<Vec<_>>()
                .join("\n")
        };
        let src = read_all(rust_files(&dir.join("src")));
        let tests = read_all(rust_files(&dir.join("tests")));
        let build = std::fs::read_to_string(dir.join("build.rs")).unwrap_or_default();
        for (section, code) in [
            ("dependencies", src.clone()),
            ("dev-dependencies", format!("{src}\n{tests}")),
            ("build-dependencies", build),
        ] {
            for dep in dependencies(&manifest, section) {
                let krate = dep.replace('-', "_");
                let used = [
                    format!("{krate}::"),
                    format!("use {krate}"),
                    format!("{krate}!"),
                ]
                .iter()
                .any(|p| names_crate(&code, p));
                if !used {
                    unused.push(format!("{member} [{section}] {dep}"));
                }
            }
        }
    }
    assert!(unused.is_empty(), "declared but never used: {unused:?}");
}

#[test]
fn every_workspace_dependency_is_declared_by_a_member() {
    let root = workspace();
    let manifest = std::fs::read_to_string(root.join("Cargo.toml")).expect("Cargo.toml");
    let declared = dependencies(&manifest, "workspace.dependencies");
    assert!(declared.len() > 10, "{declared:?}");
    let members: Vec<String> = ["api", "service", "entity", "migration", "tests", "bench"]
        .iter()
        .map(|m| std::fs::read_to_string(root.join(m).join("Cargo.toml")).expect("Cargo.toml"))
        .collect();
    let unused: Vec<&String> = declared
        .iter()
        .filter(|dep| {
            !members.iter().any(|m| {
                ["dependencies", "dev-dependencies", "build-dependencies"]
                    .iter()
                    .any(|section| dependencies(m, section).contains(dep))
            })
        })
        .collect();
    assert!(
        unused.is_empty(),
        "[workspace.dependencies] names crates no member declares: {unused:?}"
    );
}
