//! The rule catalogue (`rules/*.toml`) against the code: every file parses and matches the
//! registry, every example of an implemented rule behaves as documented, and the generated
//! docs in `docs/rules/` are up to date.

use std::collections::BTreeSet;
use std::path::Path;

use overt::lint::{self, catalogue, Selection, Settings, Status, RULES};

fn root() -> &'static Path {
    Path::new(env!("CARGO_MANIFEST_DIR"))
}

/// Every implemented rule enabled, so an example that fires another rule is caught.
fn all_rules() -> Settings {
    Settings {
        selection: Selection::only(&RULES.iter().map(|r| r.code).collect::<Vec<_>>()),
        ..Settings::default()
    }
}

#[test]
fn catalogue_matches_rules_directory() {
    let mut on_disk = BTreeSet::new();
    for entry in std::fs::read_dir(root().join("rules")).expect("rules/ exists") {
        let path = entry.expect("readable entry").path();
        if path.extension().is_some_and(|x| x == "toml") {
            let stem = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .to_string();
            let text = std::fs::read_to_string(&path).expect("readable rule file");
            let table: toml::Table = toml::from_str(&text).expect("valid TOML");
            assert_eq!(
                table.get("code").and_then(|c| c.as_str()),
                Some(stem.as_str()),
                "{}: `code` must equal the file name",
                path.display()
            );
            on_disk.insert(stem);
        }
    }
    let embedded: BTreeSet<String> = catalogue().iter().map(|d| d.code.clone()).collect();
    assert_eq!(
        on_disk, embedded,
        "every rules/*.toml must be listed in src/lint/catalogue.rs SOURCES"
    );
}

#[test]
fn catalogue_is_well_formed() {
    let mut names = BTreeSet::new();
    for d in catalogue() {
        assert!(
            d.name.split('-').all(|w| !w.is_empty()
                && w.bytes()
                    .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())),
            "{}: name `{}` must be kebab-case",
            d.code,
            d.name
        );
        assert!(
            names.insert(d.name.clone()),
            "duplicate rule name {}",
            d.name
        );
        assert!(!d.summary.trim().is_empty(), "{}: empty summary", d.code);
        if d.status == Status::Implemented {
            assert!(
                !d.invalid.is_empty(),
                "{}: an implemented rule needs invalid examples",
                d.code
            );
            assert!(
                !d.valid.is_empty(),
                "{}: an implemented rule needs valid examples",
                d.code
            );
        }
    }
}

#[test]
fn registry_matches_catalogue_status() {
    let registered: BTreeSet<&str> = RULES.iter().map(|r| r.code).collect();
    let implemented: BTreeSet<&str> = catalogue()
        .iter()
        .filter(|d| d.status == Status::Implemented)
        .map(|d| d.code.as_str())
        .collect();
    assert_eq!(
        registered, implemented,
        "a rule is `status = \"implemented\"` in rules/ exactly when it has a row in src/lint/registry.rs"
    );
}

/// The codes `source` fires with every implemented rule enabled.
fn fired(source: &str) -> Vec<&'static str> {
    lint::check(source, &all_rules())
        .iter()
        .map(|d| d.code)
        .collect()
}

#[test]
fn examples_fire_as_documented() {
    let mut failures = Vec::new();
    for d in catalogue()
        .iter()
        .filter(|d| d.status == Status::Implemented)
    {
        for (i, example) in d.invalid.iter().enumerate() {
            let codes = fired(example);
            if codes.is_empty() || codes.iter().any(|c| *c != d.code) {
                failures.push(format!(
                    "{} invalid example {}: expected only {}, got {:?}\n{}",
                    d.code,
                    i + 1,
                    d.code,
                    codes,
                    example
                ));
            }
        }
        for (i, example) in d.valid.iter().enumerate() {
            let codes = fired(example);
            if !codes.is_empty() {
                failures.push(format!(
                    "{} valid example {}: expected nothing, got {:?}\n{}",
                    d.code,
                    i + 1,
                    codes,
                    example
                ));
            }
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn generated_docs_are_fresh() {
    let dir = root().join("docs/rules");
    let pages = lint::docs::pages();
    let mut stale = Vec::new();
    for (name, expected) in &pages {
        let actual = std::fs::read_to_string(dir.join(name)).unwrap_or_default();
        if actual != *expected {
            let diff = similar::TextDiff::from_lines(&actual, expected);
            stale.push(format!(
                "docs/rules/{name}:\n{}",
                diff.unified_diff().header("committed", "generated")
            ));
        }
    }
    let expected: BTreeSet<&str> = pages.iter().map(|(n, _)| n.as_str()).collect();
    for entry in std::fs::read_dir(&dir).expect("docs/rules exists") {
        let name = entry
            .expect("readable entry")
            .file_name()
            .to_string_lossy()
            .to_string();
        if !expected.contains(name.as_str()) {
            stale.push(format!("docs/rules/{name} is not generated by any rule"));
        }
    }
    assert!(
        stale.is_empty(),
        "docs/rules is stale; run `cargo run -- generate-docs`\n{}",
        stale.join("\n")
    );
}
