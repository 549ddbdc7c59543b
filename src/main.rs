//! The `pgsafeguard` binary: parses the command line and hands over to the
//! library. Every error is printed once, as one line, with exit code 2.

use std::process::ExitCode;

fn main() -> ExitCode {
    pgsafeguard::cli::main_with_args(std::env::args_os())
}
