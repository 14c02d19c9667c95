//! Snapshot of `overt shapes` (text) on every fixture in fixtures/shapes/: the symbolic
//! shapes overt infers from jaxtyping annotations, asserts, guards, `.shape` unpacking,
//! control flow and calls. Review changes with `INSTA_UPDATE=always cargo test --test
//! shapes_snapshots` and `git diff tests/snapshots/`.

use std::path::Path;
use std::process::Command;

fn check(fixture: &Path) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_overt"))
        .arg("shapes")
        .arg(fixture)
        .output()
        .expect("run overt shapes");
    assert!(
        out.status.success(),
        "{}: exit {:?}",
        fixture.display(),
        out.status
    );
    assert!(
        out.stderr.is_empty(),
        "{}: unexpected diagnostics:\n{}",
        fixture.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).expect("utf-8 output")
}

#[test]
fn fixtures_shapes() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/shapes");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("fixtures/shapes exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|e| e == "py"))
        .collect();
    files.sort();
    assert!(!files.is_empty());
    for file in files {
        let name = file
            .file_stem()
            .and_then(|s| s.to_str())
            .expect("fixture name")
            .to_string();
        let output = check(&file);
        insta::assert_snapshot!(name, output);
    }
}
