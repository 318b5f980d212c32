//! The generation context: what every renderer needs about the file being generated (prost-build
//! passes a `Context` the same way), instead of long argument lists.

use kratos_codegen::FileComments;
use proc_macro2::TokenStream;
use prost_reflect::FileDescriptor;

use crate::helpers::FileHelpers;
use crate::options::Options;
use crate::plan::MethodPlan;

/// The context of one proto file of an output package.
pub(crate) struct Gen<'a, 'h> {
    /// The plugin's options.
    pub(crate) options: &'a Options,
    /// The proto file whose services are rendered.
    pub(crate) file: &'a FileDescriptor,
    /// The proto package of the output file, from which Rust paths are relative.
    pub(crate) package: &'a str,
    /// The file's comments, for documentation.
    pub(crate) comments: FileComments,
    /// The on-demand helper functions of the output file, shared by its proto files.
    pub(crate) helpers: &'a mut FileHelpers<'h>,
    /// Warnings for the user.
    pub(crate) warnings: &'a mut Vec<String>,
}

impl Gen<'_, '_> {
    /// The Rust type of a proto type, from the output file's module.
    pub(crate) fn ty(&self, full_name: &str) -> TokenStream {
        self.options.paths.type_tokens(full_name, self.package)
    }

    /// What the service method receives: the message, or a stream of them.
    pub(crate) fn request_type(&self, plan: &MethodPlan) -> TokenStream {
        crate::signature::request_type(&plan.method, &self.options.paths, self.package)
    }

    /// What the service method returns: the message, or a `ServerStream` of them.
    pub(crate) fn reply_type(&self, plan: &MethodPlan) -> TokenStream {
        crate::signature::reply_type(&plan.method, &self.options.paths, self.package)
    }
}
