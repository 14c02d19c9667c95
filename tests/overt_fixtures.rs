//! Every fixture program parses, checks, is in canonical form, and survives a
//! print/parse round trip unchanged (modulo byte ranges).

use std::path::{Path, PathBuf};

use overt::overt::checker::check_source;
use overt::overt::parser::parse;
use overt::overt::printer::print;

fn fixtures() -> Vec<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures/overt");
    let mut files: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("fixtures/overt exists")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ovt"))
        .collect();
    files.sort();
    assert!(
        files.len() >= 10,
        "expected the spec fixtures, found {files:?}"
    );
    files
}

/// The tree's debug form with every byte range (`12..15`) blanked.
fn without_ranges(tree: &impl std::fmt::Debug) -> String {
    let text = format!("{tree:?}");
    let mut out = String::new();
    let mut chars = text.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_ascii_digit() {
            let mut run = String::from(c);
            while let Some(&d) = chars.peek() {
                if d.is_ascii_digit() || d == '.' {
                    run.push(d);
                    chars.next();
                } else {
                    break;
                }
            }
            if run.contains("..") {
                out.push('R');
            } else {
                out.push_str(&run);
            }
        } else {
            out.push(c);
        }
    }
    out
}

fn check(path: &Path) {
    let source = std::fs::read_to_string(path).expect("readable fixture");
    let (tree, errors) = parse(&source);
    assert!(errors.is_empty(), "{}: {errors:?}", path.display());
    let printed = print(&tree);
    assert_eq!(
        printed,
        source,
        "{} is not in canonical form",
        path.display()
    );
    let (again, errors) = parse(&printed);
    assert!(errors.is_empty(), "{}: reparse: {errors:?}", path.display());
    assert_eq!(
        without_ranges(&again),
        without_ranges(&tree),
        "{}",
        path.display()
    );
    assert_eq!(
        print(&again),
        printed,
        "{}: print is not idempotent",
        path.display()
    );
    let (program, errors) = check_source(&source);
    assert!(errors.is_empty(), "{}: {errors:#?}", path.display());
    assert!(program.is_some_and(|p| !p.outputs.is_empty()));
}

#[test]
fn every_fixture_parses_checks_and_round_trips() {
    for path in fixtures() {
        check(&path);
    }
}
