//! `overt rule CODE` (print a rule's documentation) and the hidden `overt generate-docs`
//! (write `docs/rules/` from the catalogue).

use std::path::PathBuf;
use std::process::ExitCode;

use crate::lint::{catalogue, docs};

#[derive(clap::Args)]
pub struct Args {
    /// A rule code (`OVT105`) or name (`broadcast-error`); `--all` lists every rule.
    code: Option<String>,
    /// List every rule: code, name, status and summary.
    #[arg(long)]
    all: bool,
}

pub fn run(args: Args) -> ExitCode {
    if args.all || args.code.is_none() {
        for d in catalogue() {
            let status = match d.status {
                crate::lint::Status::Implemented => "",
                crate::lint::Status::Planned => " (planned)",
            };
            println!("{} {}{status}: {}", d.code, d.name, d.summary);
        }
        return ExitCode::SUCCESS;
    }
    let wanted = args.code.unwrap_or_default();
    let pages = docs::pages();
    let found = catalogue()
        .iter()
        .find(|d| d.code.eq_ignore_ascii_case(&wanted) || d.name == wanted)
        .and_then(|d| {
            pages
                .iter()
                .find(|(file, _)| *file == format!("{}.md", d.code))
        });
    match found {
        Some((_, page)) => {
            print!("{page}");
            ExitCode::SUCCESS
        }
        None => {
            eprintln!("error: unknown rule `{wanted}` (see `overt rule --all`)");
            ExitCode::from(2)
        }
    }
}

#[derive(clap::Args)]
pub struct GenerateDocsArgs {
    /// Output directory.
    #[arg(long, default_value = "docs/rules")]
    out: PathBuf,
}

pub fn generate_docs(args: GenerateDocsArgs) -> ExitCode {
    if let Err(e) = std::fs::create_dir_all(&args.out) {
        eprintln!("error: {}: {e}", args.out.display());
        return ExitCode::from(2);
    }
    for (name, text) in docs::pages() {
        let path = args.out.join(&name);
        if let Err(e) = std::fs::write(&path, text) {
            eprintln!("error: {}: {e}", path.display());
            return ExitCode::from(2);
        }
    }
    ExitCode::SUCCESS
}
