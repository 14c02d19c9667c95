//! `overt check` end to end: file discovery, configuration, rule selection, output formats
//! and exit codes, by running the binary on small trees written to a temporary directory.

use std::path::PathBuf;
use std::process::Command;

/// Writes `files` (path, contents) into a fresh directory named after the test, runs
/// `overt check ARGS` there and compares exit code, stdout and stderr with `expected`.
/// The directory always holds a pyproject.toml so no outer configuration leaks in; a test
/// that provides its own replaces it.
fn check(name: &str, files: &[(&str, &str)], args: &[&str], expected: &str) {
    let dir = PathBuf::from(env!("CARGO_TARGET_TMPDIR"))
        .join("check_cli")
        .join(name);
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).expect("create test dir");
    std::fs::write(dir.join("pyproject.toml"), "[tool.overt]\n").expect("write pyproject");
    for (path, contents) in files {
        let path = dir.join(path);
        std::fs::create_dir_all(path.parent().expect("has parent")).expect("create dirs");
        std::fs::write(path, contents).expect("write file");
    }
    let output = Command::new(env!("CARGO_BIN_EXE_overt"))
        .arg("check")
        .args(args)
        .current_dir(&dir)
        .env("NO_COLOR", "1")
        .output()
        .expect("run overt");
    let actual = format!(
        "exit: {}\n--- stdout\n{}--- stderr\n{}",
        output.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    similar_asserts(expected, &without_line_numbers(&actual));
}

/// Panic locations (`src/cli/check.rs:443`) move with every edit; tests see `:LINE`.
fn without_line_numbers(text: &str) -> String {
    let mut out = String::new();
    let mut rest = text;
    while let Some(at) = rest.find(".rs:") {
        out.push_str(&rest[..at + 4]);
        rest = &rest[at + 4..];
        let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
        if digits > 0 {
            out.push_str("LINE");
            rest = &rest[digits..];
        }
    }
    out.push_str(rest);
    out
}

fn similar_asserts(expected: &str, actual: &str) {
    if expected != actual {
        let diff = similar::TextDiff::from_lines(expected, actual);
        panic!(
            "output differs (-expected +actual):\n{}",
            diff.unified_diff().header("expected", "actual")
        );
    }
}

const BROKEN: &str = "import numpy as np\nx = np.zeros((3, 4)\ny = 1\n";
const CLEAN: &str = "import numpy as np\nx = np.zeros((3, 4))\n";

#[test]
fn syntax_errors_are_reported_and_the_run_goes_on() {
    check(
        "syntax",
        &[("a.py", BROKEN), ("b.py", CLEAN), ("c.py", BROKEN)],
        &["--output-format", "concise"],
        "exit: 1
--- stdout
./a.py:3:1: E999 syntax error: Expected `,`, found name
./a.py:4:1: E999 syntax error: unexpected EOF while parsing
./c.py:3:1: E999 syntax error: Expected `,`, found name
./c.py:4:1: E999 syntax error: unexpected EOF while parsing
--- stderr
Found 4 errors.
",
    );
}

#[test]
fn clean_tree_exits_zero() {
    check(
        "clean",
        &[("pkg/a.py", CLEAN), ("pkg/notes.txt", "not python")],
        &["pkg"],
        "exit: 0\n--- stdout\n--- stderr\nAll checks passed!\n",
    );
}

#[test]
fn files_that_never_mention_numpy_are_skipped() {
    check(
        "no_numpy",
        &[("a.py", "x = (1,\n")],
        &[],
        "exit: 0\n--- stdout\n--- stderr\nAll checks passed!\n",
    );
}

#[test]
fn exit_zero_flag() {
    check(
        "exit_zero",
        &[("a.py", BROKEN)],
        &["--output-format", "concise", "--exit-zero", "a.py"],
        "exit: 0
--- stdout
a.py:3:1: E999 syntax error: Expected `,`, found name
a.py:4:1: E999 syntax error: unexpected EOF while parsing
--- stderr
Found 2 errors.
",
    );
}

#[test]
fn missing_path_is_an_io_error() {
    check(
        "missing",
        &[],
        &["nope.py"],
        "exit: 2\n--- stdout\n--- stderr\nerror: nope.py: No such file or directory (os error 2)\nAll checks passed!\n",
    );
}

#[test]
fn unknown_selector_is_a_usage_error() {
    check(
        "unknown_selector",
        &[("a.py", CLEAN)],
        &["--select", "OVT9999"],
        "exit: 2\n--- stdout\n--- stderr\nerror: unknown rule selector `OVT9999`\n",
    );
}

#[test]
fn selecting_a_planned_rule_warns() {
    check(
        "planned",
        &[("a.py", CLEAN)],
        &["--select", "OVT105,OVT101"],
        "exit: 0\n--- stdout\n--- stderr\nwarning: OVT101 (same-dim-outer-broadcast) is planned, not implemented yet: it reports nothing\nAll checks passed!\n",
    );
}

#[test]
fn config_exclude_skips_walked_files_but_not_explicit_ones() {
    let files = [
        (
            "pyproject.toml",
            "[tool.overt]\nexclude = [\"generated/\"]\n",
        ),
        ("generated/a.py", BROKEN),
        ("src/b.py", CLEAN),
    ];
    check(
        "exclude_walk",
        &files,
        &[],
        "exit: 0\n--- stdout\n--- stderr\nAll checks passed!\n",
    );
    check(
        "exclude_explicit",
        &files,
        &["--output-format", "concise", "generated/a.py"],
        "exit: 1
--- stdout
generated/a.py:3:1: E999 syntax error: Expected `,`, found name
generated/a.py:4:1: E999 syntax error: unexpected EOF while parsing
--- stderr
Found 2 errors.
",
    );
}

#[test]
fn gitignored_files_are_skipped() {
    check(
        "gitignore",
        &[
            (".gitignore", "build/\n"),
            ("build/a.py", BROKEN),
            (".git/HEAD", ""),
        ],
        &[],
        "exit: 0\n--- stdout\n--- stderr\nAll checks passed!\n",
    );
}

#[test]
fn config_errors_are_usage_errors() {
    check(
        "config_unknown_key",
        &[("pyproject.toml", "[tool.overt]\nselct = [\"OVT1\"]\n"), ("a.py", CLEAN)],
        &[],
        "exit: 2\n--- stdout\n--- stderr\nerror: pyproject.toml: [tool.overt]: unknown field `selct`, expected one of `select`, `extend-select`, `ignore`, `numpy-version`, `exclude`, `extend-exclude`\n",
    );
    check(
        "config_bad_version",
        &[("pyproject.toml", "[tool.overt]\nnumpy-version = 3\n"), ("a.py", CLEAN)],
        &[],
        "exit: 2\n--- stdout\n--- stderr\nerror: pyproject.toml: [tool.overt]: numpy-version must be 1 or 2, not 3\n",
    );
    check(
        "config_bad_selector",
        &[("pyproject.toml", "[tool.overt]\nignore = [\"NPY\"]\n"), ("a.py", CLEAN)],
        &[],
        "exit: 2\n--- stdout\n--- stderr\nerror: pyproject.toml: [tool.overt]: unknown rule selector `NPY`\n",
    );
}

#[test]
fn config_is_discovered_upward_from_the_paths() {
    // The nearest pyproject.toml with [tool.overt] wins; one without the table is skipped.
    check(
        "config_upward",
        &[
            ("pyproject.toml", "[tool.overt]\nnumpy-version = 7\n"),
            (
                "sub/pyproject.toml",
                "[tool.overt]\nselect = [\"OVT105\"]\n",
            ),
            ("sub/inner/pyproject.toml", "[project]\nname = \"x\"\n"),
            ("sub/inner/a.py", CLEAN),
        ],
        &["sub/inner"],
        "exit: 0\n--- stdout\n--- stderr\nAll checks passed!\n",
    );
}

#[test]
fn output_formats() {
    let files = [("a.py", "import numpy as np\nx = (1,\n")];
    check(
        "format_full",
        &files,
        &[],
        "exit: 1
--- stdout
E999

  × syntax error: unexpected EOF while parsing
   ╭─[./a.py:3:1]
 2 │ x = (1,
   ╰────

--- stderr
Found 1 error.
",
    );
    check(
        "format_github",
        &files,
        &["--output-format", "github"],
        "exit: 1
--- stdout
::error title=overt (E999),file=./a.py,line=3,col=1,endLine=3,endColumn=1::./a.py:3:1: E999 syntax error: unexpected EOF while parsing
--- stderr
Found 1 error.
",
    );
    check(
        "format_json",
        &files,
        &["--output-format", "json", "a.py"],
        r#"exit: 1
--- stdout
[
  {
    "code": "E999",
    "end_location": {
      "column": 1,
      "row": 3
    },
    "filename": "a.py",
    "fix": null,
    "help": null,
    "location": {
      "column": 1,
      "row": 3
    },
    "message": "syntax error: unexpected EOF while parsing",
    "severity": "error"
  }
]
--- stderr
Found 1 error.
"#,
    );
}

#[test]
fn noqa_never_hides_syntax_errors() {
    check(
        "noqa_syntax",
        &[("a.py", "import numpy as np\nx = (1,  # noqa\n")],
        &["--output-format", "concise"],
        "exit: 1\n--- stdout\n./a.py:3:1: E999 syntax error: unexpected EOF while parsing\n--- stderr\nFound 1 error.\n",
    );
}

#[test]
fn default_excludes_apply_below_the_given_paths() {
    let files = [
        ("venv/lib/a.py", BROKEN),
        ("build/b.py", BROKEN),
        ("src/c.py", CLEAN),
    ];
    check(
        "default_exclude",
        &files,
        &[],
        "exit: 0\n--- stdout\n--- stderr\nAll checks passed!\n",
    );
    check(
        "default_exclude_root",
        &files,
        &["--output-format", "concise", "build"],
        "exit: 1
--- stdout
build/b.py:3:1: E999 syntax error: Expected `,`, found name
build/b.py:4:1: E999 syntax error: unexpected EOF while parsing
--- stderr
Found 2 errors.
",
    );
}

#[test]
fn a_panic_on_one_file_is_an_internal_error_and_the_run_goes_on() {
    let panicking = "import numpy as np\n# overt-debug: panic here\n";
    check(
        "panic",
        &[("a.py", panicking), ("b.py", BROKEN)],
        &["--output-format", "concise"],
        "exit: 2
--- stdout
./a.py:1:1: E900 internal error: overt panicked on this file: requested by the source (debug builds only) at src/cli/check.rs:LINE
./b.py:3:1: E999 syntax error: Expected `,`, found name
./b.py:4:1: E999 syntax error: unexpected EOF while parsing
--- stderr
Found 3 errors.
overt failed internally on 1 file; please report it (code E900).
",
    );
}
