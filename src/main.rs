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
            if !e.use_stderr() {
                return ExitCode::SUCCESS; // --help and --version are not errors
            }
            if json_asked() {
                let message = first_line(&e.to_string());
                let err = anyhow::Error::new(ship::error::UsageError(message.clone()));
                print_json_error(&err, &message);
            }
            return ExitCode::from(ship::error::Exit::Usage.code());
        }
    };
    let json = cli.global.format == ship::cli::Format::Json;
    match ship::commands::run(cli) {
        Ok(exit) => ExitCode::from(exit.code()),
        Err(err) => {
            if is_broken_pipe(&err) {
                return ExitCode::SUCCESS;
            }
            let message = format_error(&err);
            // stderr may be closed too: never panic over it.
            let mut stderr = std::io::stderr().lock();
            let _ = writeln!(stderr, "error: {message}");
            if let Some(hint) = ship::error::hint_of(&err) {
                let _ = writeln!(stderr, "hint: {hint}");
            }
            // A script asked for JSON: it gets one document on stdout, refusals included.
            if json && !ship::ui::stdout_used() {
                print_json_error(&err, &message);
            }
            ExitCode::from(ship::error::exit_code_of(&err).code())
        }
    }
}

fn print_json_error(err: &anyhow::Error, message: &str) {
    let doc = ship::error::to_json(err, message);
    if let Ok(text) = serde_json::to_string_pretty(&doc) {
        let _ = writeln!(std::io::stdout(), "{text}");
    }
}

/// `--format json` (or `--format=json`) on a command line clap refused.
fn json_asked() -> bool {
    let args: Vec<String> = std::env::args().collect();
    args.windows(2).any(|w| w[0] == "--format" && w[1] == "json") || args.iter().any(|a| a == "--format=json")
}

fn first_line(text: &str) -> String {
    let line = text.lines().next().unwrap_or_default();
    line.strip_prefix("error: ").unwrap_or(line).to_string()
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
