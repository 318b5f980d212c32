//! `protoc-gen-rust-kratos-http`: HTTP routes and the transport-independent service trait from
//! `google.api.http` annotations, for the kratos runtime.
//!
//! For each service of the files to generate, the output (one file per package,
//! `<package>.kratos_http.rs`, included in the same module as prost's output) holds:
//!
//! - `OPERATION_<SERVICE>_<METHOD>` constants (`/package.Service/Method`);
//! - a trait named after the service, implemented once by the user and served on both
//!   transports;
//! - `register_<service>_http_server(&mut kratos::http::Server, Arc<impl Service>)`, one route
//!   per HTTP rule (additional bindings first, as Kratos), with generated binding code;
//! - `register_<service>_grpc_server(&mut kratos::grpc::Server, Arc<impl Service>)`, an adapter
//!   to tonic's generated server trait, returning `Result<(), RouteError>` as the HTTP one, and
//!   `<service>_grpc_service(Arc<impl Service>, &Matcher)`, the same adapter for any tonic
//!   server (parameter `grpc=false` turns both off);
//! - `<Service>HttpClient`, a typed client (`with_options` for per-call headers and timeout).
//!
//! Parameters: `omitempty` (default `true`), `omitempty_prefix`, `grpc` (default `true`),
//! `extern_path=.proto.pkg=::rust::path` (repeatable), `wkt=pbjson|prost`.

mod bind;
mod context;
mod helpers;
mod options;
mod plan;
mod render;
mod rule;
pub mod signature;

use kratos_codegen::{
    FileComments, GeneratorOutput, ParamSpec, Params, Plugin, PluginRequest, RUST_PATH_PARAMS,
    Result, files_by_package, package_rust_file,
};

pub use options::Options;

/// The plugin: name, version and generation function.
pub const PLUGIN: Plugin = kratos_codegen::plugin!(generate);

/// The parameters this plugin accepts.
pub const PARAMS: &[ParamSpec] = &[
    ParamSpec::single("omitempty"),
    ParamSpec::single("omitempty_prefix"),
    ParamSpec::single("grpc"),
    RUST_PATH_PARAMS[0],
    RUST_PATH_PARAMS[1],
];

/// Generates the HTTP code for every file of the request, one output file per package.
pub fn generate(request: &PluginRequest) -> Result<GeneratorOutput> {
    let options = Options::from_params(&Params::parse(request.parameter(), PARAMS)?)?;
    request.check_rust_names()?;
    let mut output = GeneratorOutput::default();
    for (package, files) in files_by_package(request.files_to_generate()) {
        let mut helpers = helpers::FileHelpers::new(&options.paths, options.wkt, &package);
        let warnings = &mut output.warnings;
        // Each part is formatted as soon as it is generated (see `render`).
        let file = package_rust_file(&PLUGIN, &package, "kratos_http", &files, |sink| {
            for file in &files {
                let mut ctx = context::Gen {
                    options: &options,
                    file,
                    package: &package,
                    comments: FileComments::new(file),
                    helpers: &mut helpers,
                    warnings: &mut *warnings,
                };
                for service in file.services() {
                    let plan = plan::service(&service, &options, ctx.warnings)?;
                    if !plan.is_empty() {
                        render::service(&mut ctx, &plan, sink);
                    }
                }
            }
            helpers.finish(sink);
            Ok(())
        })?;
        output.files.extend(file);
    }
    Ok(output)
}
