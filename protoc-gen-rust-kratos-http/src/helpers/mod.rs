//! The per-file set of on-demand helpers: functions generated once per message for the whole
//! output file, the first time a renderer asks for them (form decoders for the server's binding,
//! form encoders for the client's query strings, Go views for XML replies).

mod form_decode;
mod form_encode;
mod go_view;
mod on_demand;

use kratos_codegen::{ItemSink, RustPaths, WktMapping};

pub(crate) use form_decode::FormDecoders;
pub(crate) use form_encode::FormEncoders;
pub(crate) use go_view::{GoViews, go_type_name};

/// The on-demand helpers of one output file.
pub(crate) struct FileHelpers<'a> {
    /// `__form_<message>`: set a field of a message from a form key path.
    pub(crate) decoders: FormDecoders<'a>,
    /// `__form_<message>_encode`: a message's populated fields as form pairs.
    pub(crate) encoders: FormEncoders<'a>,
    /// `__gov_<message>`: a message as the Go struct protoc-gen-go generates.
    pub(crate) go_views: GoViews<'a>,
}

impl<'a> FileHelpers<'a> {
    /// No helper yet, for the output file of `package`.
    pub(crate) fn new(paths: &'a RustPaths, wkt: WktMapping, package: &'a str) -> Self {
        FileHelpers {
            decoders: FormDecoders::new(paths, wkt, package),
            encoders: FormEncoders::new(paths, package),
            go_views: GoViews::new(paths, package),
        }
    }

    /// Every helper asked for (decoders, then encoders, then Go views), each generated once and
    /// pushed to `sink` as it is generated.
    pub(crate) fn finish(self, sink: &mut ItemSink) {
        self.decoders.finish(sink);
        self.encoders.finish(sink);
        self.go_views.finish(sink);
    }
}
