//! Cross-module calls through the CLI: `overt check` on a package whose modules import each
//! other's annotated functions (relative, absolute and aliased imports), and `overt shapes`
//! on the importing module. The shapes were checked against NumPy by the differential test
//! of `fixtures/differential/package/` (same mechanism); these snapshots pin the user-facing
//! output. Review changes with `INSTA_UPDATE=always cargo test --test cross_module`.

use std::process::Command;

/// Runs `overt ARGS` from the repository root; returns exit code and stdout.
fn check(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_overt"))
        .args(args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .env("NO_COLOR", "1")
        .output()
        .expect("run overt");
    format!(
        "exit: {}\n{}",
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout)
    )
}

#[test]
fn check_follows_calls_between_modules() {
    insta::assert_snapshot!(
        "package_check",
        check(&[
            "check",
            "--isolated",
            "--output-format",
            "concise",
            "fixtures/package"
        ])
    );
}

#[test]
fn a_module_checked_alone_still_finds_its_imports() {
    // Only the importing file is named: the imported module is found under the same root.
    insta::assert_snapshot!(
        "package_check_one_file",
        check(&[
            "check",
            "--isolated",
            "--output-format",
            "concise",
            "fixtures/package/shop/train.py"
        ])
    );
}

#[test]
fn shapes_of_calls_into_another_module() {
    insta::assert_snapshot!(
        "package_shapes",
        check(&["shapes", "fixtures/package/shop/train.py"])
    );
}
