//! Files hold one concern, or say at their top why they stay whole.

use super::*;

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
        "tests/tests",
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
