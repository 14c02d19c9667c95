//! `overt fmt`: prints Overt programs in canonical form, checks (`--check`) or rewrites
//! (`--write`) them. Exit codes: 0 ok, 1 some file not canonical (`--check`), 2 error.

use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use super::render::{FileDiagnostics, FullRenderer};
use crate::overt::parser::parse;
use crate::overt::printer::print;

#[derive(clap::Args)]
pub struct Args {
    /// Overt source files (`.ovt`).
    #[arg(required = true)]
    files: Vec<PathBuf>,
    /// Print nothing; exit 1 when some file is not in canonical form (shows a diff).
    #[arg(long, conflicts_with = "write")]
    check: bool,
    /// Rewrite the files in place.
    #[arg(long, short)]
    write: bool,
}

pub fn run(args: Args) -> ExitCode {
    let color = std::io::stderr().is_terminal();
    let renderer = FullRenderer::new(color);
    let mut status = 0u8;
    let mut stdout = std::io::stdout().lock();
    for path in &args.files {
        let shown = path.display().to_string();
        let source: Arc<str> = match std::fs::read_to_string(path) {
            Ok(s) => s.into(),
            Err(e) => {
                eprintln!("overt fmt: cannot read {shown}: {e}");
                status = 2;
                continue;
            }
        };
        let (tree, errors) = parse(&source);
        if !errors.is_empty() {
            let mut out = String::new();
            renderer.render(
                &FileDiagnostics {
                    path: &shown,
                    source: &source,
                    diagnostics: &errors,
                },
                &mut out,
            );
            eprint!("{out}");
            eprintln!("overt fmt: {shown} has syntax errors; left unchanged");
            status = 2;
            continue;
        }
        let printed = print(&tree);
        if args.check {
            if printed != *source {
                eprintln!("would reformat {shown}");
                let diff = similar::TextDiff::from_lines(&*source, &printed);
                eprint!(
                    "{}",
                    diff.unified_diff()
                        .header(&shown, &format!("{shown} (formatted)"))
                );
                status = status.max(1);
            }
        } else if args.write {
            if printed != *source {
                if let Err(e) = std::fs::write(path, &printed) {
                    eprintln!("overt fmt: cannot write {shown}: {e}");
                    status = 2;
                }
            }
        } else if stdout.write_all(printed.as_bytes()).is_err() {
            return ExitCode::from(2);
        }
    }
    ExitCode::from(status)
}
