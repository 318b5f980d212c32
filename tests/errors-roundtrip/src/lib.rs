//! Generated code under test: prost messages, tonic services and the errors generator's
//! output, each `include!`d in the module of its proto package, as users do.

/// `helloworld.v1` (testdata/errors/basic).
pub mod helloworld {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/helloworld.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/helloworld.v1.kratos_errors.rs"));
    }
}

/// `shop.v1` (testdata/errors/multi): several enums over two files.
pub mod shop {
    /// Version 1.
    // Some fixture values have no comment on purpose (the generated helpers must still be
    // documented); prost leaves those variants undocumented.
    #[allow(missing_docs)]
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/shop.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/shop.v1.kratos_errors.rs"));
    }
}

/// `roundtrip.v1`: the users service of the gRPC round trip.
pub mod roundtrip {
    /// Version 1.
    pub mod v1 {
        include!(concat!(env!("OUT_DIR"), "/roundtrip.v1.rs"));
        include!(concat!(env!("OUT_DIR"), "/roundtrip.v1.kratos_errors.rs"));
    }
}
