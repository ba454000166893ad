//! `vwo-webhook`: see VWO's deliveries arrive, send them the way VWO does, check any webhook
//! endpoint without a third-party request bin, and ask why a user got a flag.
//!
//! Exit codes scripts can rely on: 0 ok, 1 the check failed (a refused delivery, a failed
//! conformance check, stale settings), 2 bad usage.
#![forbid(unsafe_code)]
// Printing is this program's job.
#![allow(clippy::print_stdout, clippy::print_stderr)]
// The argument docs are the --help text, where URLs are examples to type, not links.
#![allow(rustdoc::bare_urls)]

mod check;
mod flag;
mod listen;
mod relay;
mod send;
mod status;
mod style;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// See VWO's webhook deliveries, send them like VWO does, and check any endpoint.
#[derive(Debug, Parser)]
#[command(name = "vwo-webhook", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    Listen(listen::Args),
    Send(send::Args),
    Check(check::Args),
    Status(status::Args),
    Flag(flag::Args),
    Relay(relay::Args),
}

/// What a command decided: success, or a failed check (exit 1). Usage errors exit 2 (clap).
pub(crate) type Outcome = Result<(), Failed>;

/// A failed check or operation, with what to tell the user.
#[derive(Debug)]
pub(crate) struct Failed(pub(crate) String);

fn main() -> ExitCode {
    let cli = Cli::parse();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(runtime) => runtime,
        Err(error) => {
            eprintln!("vwo-webhook: no async runtime: {error}");
            return ExitCode::FAILURE;
        }
    };
    let outcome = match cli.command {
        Command::Listen(args) => runtime.block_on(listen::run(args)),
        Command::Send(args) => runtime.block_on(send::run(args)),
        Command::Check(args) => check::run(&args),
        Command::Status(args) => runtime.block_on(status::run(args)),
        Command::Flag(args) => flag::run(args),
        Command::Relay(args) => runtime.block_on(relay::run(args)),
    };
    match outcome {
        Ok(()) => ExitCode::SUCCESS,
        Err(Failed(message)) => {
            if !message.is_empty() {
                anstream::eprintln!(
                    "{}vwo-webhook:{} {message}",
                    style::ERROR.render(),
                    style::ERROR.render_reset()
                );
            }
            ExitCode::from(1)
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_well_formed() {
        super::Cli::command().debug_assert();
    }
}
