//! The command line: the only layer that touches the file system, spawns threads or reads
//! configuration.

mod check;
mod fmt;
mod modules;
mod render;
mod rule;
mod run;
mod shapes;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

#[derive(Parser)]
#[command(
    name = "overt",
    version,
    about = "Understand, lint, translate and verify NumPy code"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Print the inferred shape and dtype of every NumPy-valued assignment.
    Shapes(shapes::Args),
    /// Lint Python files for shape bugs.
    Check(check::Args),
    /// Run an Overt program on .npy/.npz inputs.
    Run(run::Args),
    /// Print an Overt program in canonical form.
    Fmt(fmt::Args),
    /// Explain a rule: its documentation and examples.
    Rule(rule::Args),
    /// Write docs/rules/ from rules/*.toml (for maintainers).
    #[command(hide = true)]
    GenerateDocs(rule::GenerateDocsArgs),
}

pub fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Shapes(args) => shapes::run(args),
        Command::Check(args) => check::run(args),
        Command::Run(args) => run::run(args),
        Command::Fmt(args) => fmt::run(args),
        Command::Rule(args) => rule::run(args),
        Command::GenerateDocs(args) => rule::generate_docs(args),
    }
}
