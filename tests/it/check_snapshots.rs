//! Snapshot tests of `overt check` output: every `fixtures/check/*.py` is checked with all
//! implemented rules, and its `concise` and `full` renderings are one insta snapshot
//! (`tests/snapshots/check_snapshots__<fixture>.snap`), so one review covers both.

use std::path::Path;
use std::process::Command;

fn overt_check(fixture: &str, format: &str) -> String {
    let output = Command::new(env!("CARGO_BIN_EXE_overt"))
        .args([
            "check",
            "--isolated",
            "--select",
            "ALL",
            "--output-format",
            format,
        ])
        .arg(fixture)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run overt");
    format!(
        "{}(exit {})",
        String::from_utf8_lossy(&output.stdout),
        output.status.code().unwrap_or(-1)
    )
}

/// The one helper: snapshot the rendered diagnostics of one fixture.
fn check(fixture: &Path) {
    let name = fixture
        .file_stem()
        .unwrap_or_default()
        .to_string_lossy()
        .to_string();
    let relative = format!("fixtures/check/{name}.py");
    let rendered = format!(
        "--- concise\n{}\n--- full\n{}",
        overt_check(&relative, "concise"),
        overt_check(&relative, "full")
    );
    insta::assert_snapshot!(name, rendered);
}

#[test]
fn fixtures() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/check");
    let mut fixtures: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/check exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "py"))
        .collect();
    fixtures.sort();
    assert!(!fixtures.is_empty());
    for fixture in &fixtures {
        check(fixture);
    }
}
