//! The editor grammar (editors/tree-sitter-overt) must accept every valid Overt program the
//! compiler accepts: every fixture and every example of the spec parses without an ERROR or
//! MISSING node, and the highlight query compiles against the grammar.

use std::path::{Path, PathBuf};

use tree_sitter::{Language, Node, Parser, Query};

fn language() -> Language {
    tree_sitter_overt::LANGUAGE.into()
}

/// Every node that is an error or was inserted by error recovery, as `row:col kind`.
fn problems(node: Node, out: &mut Vec<String>) {
    if node.is_error() || node.is_missing() {
        let p = node.start_position();
        out.push(format!("{}:{} {}", p.row + 1, p.column + 1, node.kind()));
    }
    let mut cursor = node.walk();
    for child in node.children(&mut cursor) {
        problems(child, out);
    }
}

fn check(name: &str, source: &str) -> Option<String> {
    let mut parser = Parser::new();
    parser
        .set_language(&language())
        .expect("grammar version is supported by the tree-sitter crate");
    let tree = parser.parse(source, None)?;
    let mut found = Vec::new();
    problems(tree.root_node(), &mut found);
    (!found.is_empty()).then(|| format!("{name}: {}", found.join(", ")))
}

fn valid_fixtures() -> Vec<PathBuf> {
    fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
        let Ok(entries) = std::fs::read_dir(dir) else {
            return;
        };
        for entry in entries.flatten() {
            let path = entry.path();
            if path.is_dir() {
                // Programs that must be rejected live under errors/.
                if path.file_name().is_some_and(|n| n != "errors") {
                    walk(&path, out);
                }
            } else if path.extension().is_some_and(|e| e == "ovt") {
                out.push(path);
            }
        }
    }
    let mut out = Vec::new();
    walk(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("fixtures"),
        &mut out,
    );
    out.sort();
    out
}

/// The ```overt blocks of the spec.
fn spec_examples() -> Vec<(String, String)> {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("docs/language.md");
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Vec::new();
    };
    let mut examples = Vec::new();
    let mut current: Option<(usize, String)> = None;
    for (i, line) in text.lines().enumerate() {
        match &mut current {
            None if line.trim_start() == "```overt" => current = Some((i + 1, String::new())),
            Some((start, body)) if line.trim_start() == "```" => {
                examples.push((format!("docs/language.md:{start}"), std::mem::take(body)));
                current = None;
            }
            Some((_, body)) => {
                body.push_str(line);
                body.push('\n');
            }
            None => {}
        }
    }
    examples
}

#[test]
fn every_valid_program_parses_without_errors() {
    let fixtures = valid_fixtures();
    assert!(
        fixtures.len() >= 10,
        "expected the Overt fixtures under fixtures/, found {}",
        fixtures.len()
    );
    let mut failures = Vec::new();
    let mut count = 0;
    for path in &fixtures {
        let source = std::fs::read_to_string(path).expect("fixture is readable");
        count += 1;
        failures.extend(check(&path.display().to_string(), &source));
    }
    for (name, source) in spec_examples() {
        count += 1;
        failures.extend(check(&name, &source));
    }
    assert!(
        failures.is_empty(),
        "the tree-sitter grammar rejects {} of {count} valid programs:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn invalid_programs_produce_error_nodes() {
    for source in [
        "input A: f64[n\n",
        "C[i, j] = sum(A[i, k] * for k)\n",
        "def f(x: f64[n]) -> f64[n]:\n    y[i] = x[i] +\n",
    ] {
        assert!(
            check("snippet", source).is_some(),
            "expected an ERROR node for {source:?}"
        );
    }
}

#[test]
fn highlight_query_compiles() {
    if let Err(e) = Query::new(&language(), tree_sitter_overt::HIGHLIGHTS_QUERY) {
        panic!("queries/highlights.scm does not compile: {e}");
    }
}
