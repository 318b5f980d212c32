//! gRPC server reflection (tonic-reflection), served by default as Kratos' server does.
//!
//! Both versions of the protocol are served (grpcurl and most tools ask v1 first, older ones
//! v1alpha). The services listed are those the server serves (as grpc-go's reflection lists
//! `GetServiceInfo`), not every service of the registered descriptors; the descriptors are the
//! sets the application registered plus those of the health and both reflection services, so
//! each service listed but the application's own is always described.

use tonic::server::NamedService;

/// The name of the v1 reflection service.
pub const REFLECTION_V1: &str = "grpc.reflection.v1.ServerReflection";
/// The name of the v1alpha reflection service.
pub const REFLECTION_V1ALPHA: &str = "grpc.reflection.v1alpha.ServerReflection";

/// Adds both reflection services to `server` (each unless a service of its name was added),
/// describing `sets`. Called when the server starts, after every service was added.
pub(super) fn add(server: &mut super::Server, sets: &[bytes::Bytes]) -> Result<(), String> {
    let mut names: Vec<&'static str> = server.services.clone();
    for name in [REFLECTION_V1, REFLECTION_V1ALPHA] {
        if !names.contains(&name) {
            names.push(name);
        }
    }
    let builder = || {
        // Each version describes both (tonic-reflection adds only its own), so every service
        // listed can be described whichever version a tool speaks.
        let mut builder = tonic_reflection::server::Builder::configure()
            .register_encoded_file_descriptor_set(tonic_health::pb::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(tonic_reflection::pb::v1::FILE_DESCRIPTOR_SET)
            .register_encoded_file_descriptor_set(
                tonic_reflection::pb::v1alpha::FILE_DESCRIPTOR_SET,
            );
        for set in sets {
            builder = builder.register_encoded_file_descriptor_set(set);
        }
        for name in &names {
            builder = builder.with_service_name(*name);
        }
        builder
    };
    let fail = |e: tonic_reflection::server::Error| format!("reflection: {e}");
    let v1 = builder().build_v1().map_err(fail)?;
    let v1alpha = builder().build_v1alpha().map_err(fail)?;
    debug_assert_eq!(name_of(&v1), REFLECTION_V1);
    debug_assert_eq!(name_of(&v1alpha), REFLECTION_V1ALPHA);
    if !server.services.contains(&REFLECTION_V1) {
        server.add_service(v1).map_err(|e| e.to_string())?;
    }
    if !server.services.contains(&REFLECTION_V1ALPHA) {
        server.add_service(v1alpha).map_err(|e| e.to_string())?;
    }
    Ok(())
}

fn name_of<S: NamedService>(_: &S) -> &'static str {
    S::NAME
}
