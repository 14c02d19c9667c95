//! docs/language.md and the fixtures cannot drift: every ```overt block of the spec is a
//! fixture file (byte for byte), every fixture program is in the spec, and every builtin
//! and reduction is documented.

use std::path::PathBuf;

use overt::overt::builtins::BUILTINS;
use overt::overt::program::ReduceOp;

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn spec() -> String {
    std::fs::read_to_string(root().join("docs/language.md")).expect("docs/language.md")
}

/// The contents of every ```overt block.
fn overt_blocks(text: &str) -> Vec<String> {
    let mut blocks = Vec::new();
    let mut current: Option<String> = None;
    for line in text.lines() {
        match &mut current {
            None if line.trim_end() == "```overt" => current = Some(String::new()),
            None => {}
            Some(block) if line.trim_end() == "```" => {
                blocks.push(std::mem::take(block));
                current = None;
            }
            Some(block) => {
                block.push_str(line);
                block.push('\n');
            }
        }
    }
    assert!(current.is_none(), "unterminated ```overt block");
    blocks
}

#[test]
fn spec_examples_are_the_fixtures() {
    let blocks = overt_blocks(&spec());
    let dir = root().join("fixtures/overt");
    let mut fixtures = Vec::new();
    for entry in std::fs::read_dir(&dir).expect("fixtures/overt") {
        let path = entry.expect("entry").path();
        if path.extension().is_some_and(|x| x == "ovt") {
            let text = std::fs::read_to_string(&path).expect("fixture");
            fixtures.push((path, text));
        }
    }
    for (k, block) in blocks.iter().enumerate() {
        assert!(
            fixtures.iter().any(|(_, text)| text == block),
            "spec block {} is not a fixture file:\n{block}",
            k + 1
        );
    }
    for (path, text) in &fixtures {
        assert!(
            blocks.contains(text),
            "{} is not an example in docs/language.md",
            path.display()
        );
    }
}

#[test]
fn every_builtin_and_reduction_is_documented() {
    let text = spec();
    let names = BUILTINS
        .iter()
        .map(|b| b.name)
        .chain(ReduceOp::ALL.iter().map(|r| r.name()));
    for name in names {
        assert!(
            text.contains(&format!("`{name}`")),
            "`{name}` is missing from docs/language.md"
        );
    }
}
