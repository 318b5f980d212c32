//! `kratos`: Kratos' command in Rust. `kratos new` creates a project laid out like
//! kratos-layout, `kratos proto add|client|server` grow its API, `kratos run` runs it.

mod error;
mod new;
mod project;
mod proto_add;
mod proto_client;
mod proto_server;
mod run;
mod template;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use error::CliError;

/// Kratos' command for kratos-rs projects.
#[derive(Debug, Parser)]
#[command(name = "kratos", version, about, long_about = None, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Create a project in ./<NAME>, laid out like kratos-layout (the greeter on HTTP :8000
    /// and gRPC :9000).
    New(new::NewArgs),
    /// Add, check and implement proto APIs.
    Proto {
        #[command(subcommand)]
        command: ProtoCommand,
    },
    /// Build and run the project's server (from its root or any directory below it).
    Run(run::RunArgs),
}

#[derive(Debug, Subcommand)]
enum ProtoCommand {
    /// Write a proto template: package and service from the path, five CRUD methods with
    /// HTTP rules (`kratos proto add api/bookstore/v1/bookstore.proto`).
    Add {
        /// The file to create, such as api/bookstore/v1/bookstore.proto (never overwritten).
        path: PathBuf,
    },
    /// Check that protos compile as the project's build.rs compiles them, or generate code
    /// with the kratos-rs protoc plugins (`--plugin-out`).
    Client(proto_client::ClientArgs),
    /// Write, for each service of a proto, a Rust file implementing its service trait, every
    /// method answering 501 NOT_IMPLEMENTED.
    Server(proto_server::ServerArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::New(args) => new::run(&args),
        Command::Proto { command } => match command {
            ProtoCommand::Add { path } => proto_add::run(&path),
            ProtoCommand::Client(args) => proto_client::run(&args),
            ProtoCommand::Server(args) => proto_server::run(&args),
        },
        Command::Run(args) => run::run(&args),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("kratos: {e}");
            ExitCode::FAILURE
        }
    }
}
