//! Writes the synthetic API of `n` methods (`benchmarks::synthetic`) to standard output, to
//! time the plugins through real protoc: `synthetic-proto 1000 > synthetic/v1/api.proto`.

use std::io::Write as _;
use std::process::ExitCode;

fn main() -> ExitCode {
    let n = match std::env::args().nth(1).map(|a| a.parse::<usize>()) {
        Some(Ok(n)) => n,
        _ => {
            eprintln!("usage: synthetic-proto <number of methods>");
            return ExitCode::from(2);
        }
    };
    let source = benchmarks::synthetic::proto(n);
    match std::io::stdout().write_all(source.as_bytes()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("synthetic-proto: {e}");
            ExitCode::FAILURE
        }
    }
}
