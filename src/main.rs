//! Parse, run, map the result to an exit code; nothing else.

use std::io::Write;
use std::process::ExitCode;

use clap::{CommandFactory, Parser};

fn main() -> ExitCode {
    // A shell asking for completions (`COMPLETE=bash ship ...`, see `ship::complete`):
    // answered here, and ship exits.
    clap_complete::CompleteEnv::with_factory(ship::cli::Cli::command).complete();
    let cli = match ship::cli::Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            let _ = e.print();
            // --help and --version are not errors.
            return ExitCode::from(if e.use_stderr() { ship::error::Exit::Usage.code() } else { 0 });
        }
    };
    match ship::commands::run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            // stderr may be closed too: never panic over it.
            let _ = writeln!(std::io::stderr(), "error: {}", format_error(&err));
            ExitCode::from(ship::error::exit_code_of(&err).code())
        }
    }
}

/// The error and its causes, without repeating a cause that its parent already says.
fn format_error(err: &anyhow::Error) -> String {
    let mut text = err.to_string();
    for cause in err.chain().skip(1) {
        let cause = cause.to_string();
        if !text.contains(&cause) {
            text.push_str(": ");
            text.push_str(&cause);
        }
    }
    text
}

fn is_broken_pipe(err: &anyhow::Error) -> bool {
    err.chain().filter_map(|c| c.downcast_ref::<std::io::Error>()).any(|e| e.kind() == std::io::ErrorKind::BrokenPipe)
}
