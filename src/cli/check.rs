//! `overt check`.

use std::process::ExitCode;

#[derive(clap::Args)]
pub struct Args {}

pub fn run(_args: Args) -> ExitCode {
    eprintln!("overt check: not available yet");
    ExitCode::from(2)
}
