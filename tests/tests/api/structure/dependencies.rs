//! Every declared dependency is used.

use super::*;

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
