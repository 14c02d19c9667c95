//! Every program in fixtures/overt/errors/ is rejected; the rendered diagnostics (miette,
//! labels and help) are snapshots. Also: a file with several errors reports several.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use miette::{GraphicalReportHandler, GraphicalTheme};
use overt::overt::checker::check_source;
use overt::overt::report::Report;

fn render(name: &str, source: &str) -> (usize, String) {
    let (program, diagnostics) = check_source(source);
    assert!(program.is_none(), "{name} was accepted");
    let handler = GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
        .with_links(false)
        .with_width(100);
    let source: Arc<str> = source.into();
    let mut out = String::new();
    for d in &diagnostics {
        let report = Report::new(d.clone(), name, Arc::clone(&source));
        handler
            .render_report(&mut out, &report)
            .expect("render into a String");
        out.push('\n');
    }
    (diagnostics.len(), out)
}

fn check(path: &Path) {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("?");
    let source = std::fs::read_to_string(path).expect("readable fixture");
    let (count, rendered) = render(name, &source);
    // Each error fixture holds at least as many errors as its `# errors: N` says, else 1.
    assert!(count >= 1, "{name}: no diagnostics");
    insta::assert_snapshot!(
        format!("overt_error_{}", name.trim_end_matches(".ovt")),
        rendered
    );
}

#[test]
fn error_fixtures_render() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("fixtures/overt/errors");
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .expect("fixtures/overt/errors")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "ovt"))
        .collect();
    files.sort();
    assert!(files.len() >= 10);
    for f in files {
        check(&f);
    }
}

/// (source, number of errors, code of each error in order)
fn check_codes(source: &str, expected: &[&str]) {
    let (_, diagnostics) = check_source(source);
    let codes: Vec<&str> = diagnostics.iter().map(|d| d.code).collect();
    assert_eq!(codes, expected, "{source}\n{diagnostics:#?}");
}

#[test]
fn several_errors_are_all_reported() {
    check_codes(
        "input A: f64[n]\nB[i] = A[i] +\nC[i] = A[i] * * 2.0\nD[i = A[i]\noutput B\n",
        &["overt::syntax", "overt::syntax", "overt::syntax"],
    );
    check_codes(
        "input A: f64[n, m]\nB[i] = A[i, k]\nC[i] = A[i]\nD[i, j] = A[i, j] + i\nE = F\noutput B, D\n",
        &["overt::free-index", "overt::rank", "overt::dtype", "overt::unknown-name"],
    );
}
