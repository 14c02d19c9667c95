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

/// `overt fmt`: canonical files pass `--check`; a messy file fails it with a diff, prints
/// canonically, and `--write` fixes it; a syntax error exits 2 and leaves the file alone.
#[test]
fn fmt_cli_checks_prints_and_writes() {
    let bin = env!("CARGO_BIN_EXE_overt");
    let dir = std::env::temp_dir().join(format!("overt-fmt-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let run = |args: &[&str]| {
        let out = std::process::Command::new(bin)
            .arg("fmt")
            .args(args)
            .output()
            .expect("overt runs");
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let canonical: Vec<String> = fixtures().iter().map(|p| p.display().to_string()).collect();
    let mut args: Vec<&str> = vec!["--check"];
    args.extend(canonical.iter().map(String::as_str));
    assert_eq!(run(&args).0, Some(0));

    let messy = dir.join("messy.ovt");
    let messy_s = messy.display().to_string();
    std::fs::write(
        &messy,
        "input  A : f64[ n ]   # the data\nB[i]=((A[i]*2.0))+1.0\noutput B\n",
    )
    .expect("write");
    let want = "input A: f64[n]  # the data\n\nB[i] = A[i] * 2.0 + 1.0\n\noutput B\n";
    let (code, _, err) = run(&["--check", &messy_s]);
    assert_eq!(code, Some(1));
    assert!(err.contains("+B[i] = A[i] * 2.0 + 1.0"), "{err}");
    let (code, out, _) = run(&[&messy_s]);
    assert_eq!((code, out.as_str()), (Some(0), want));
    assert_eq!(run(&["--write", &messy_s]).0, Some(0));
    assert_eq!(std::fs::read_to_string(&messy).expect("read"), want);

    let broken = dir.join("broken.ovt");
    let broken_s = broken.display().to_string();
    std::fs::write(&broken, "B[i] = = 1\n").expect("write");
    let (code, _, err) = run(&["--write", &broken_s]);
    assert_eq!(code, Some(2));
    assert!(err.contains("expected an expression"), "{err}");
    assert_eq!(
        std::fs::read_to_string(&broken).expect("read"),
        "B[i] = = 1\n"
    );
    let _ = std::fs::remove_dir_all(&dir);
}
