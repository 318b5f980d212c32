//! Reading an extension option (`google.api.http`, `validate.rules`, `openapi.v3.operation`,
//! ...) from a descriptor's options.

use prost_reflect::{DescriptorPool, DynamicMessage, Value};

/// The value of the extension `name` set in `options` (a descriptor's options message), or
/// `None` when `options` does not set it or the request's files do not define it (a file that
/// never imports the extension's definition cannot use it).
pub fn extension_value(
    pool: &DescriptorPool,
    options: &DynamicMessage,
    name: &str,
) -> Option<Value> {
    let ext = pool.get_extension_by_name(name)?;
    if !options.has_extension(&ext) {
        return None;
    }
    Some(options.get_extension(&ext).into_owned())
}
