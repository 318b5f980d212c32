//! The error every plugin step reports.

/// An error of code generation. It always says where (file and element) and why, because it is
/// shown to a user who must fix their `.proto` file or their plugin parameters.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CodegenError {
    /// The request bytes are not a valid `CodeGeneratorRequest`.
    #[error("cannot decode the CodeGeneratorRequest: {0}")]
    DecodeRequest(String),
    /// A `proto_file` entry cannot be added to the descriptor pool.
    #[error("{file}: cannot load the file descriptor: {reason}")]
    DecodeFile {
        /// The proto file name.
        file: String,
        /// What went wrong.
        reason: String,
    },
    /// A plugin parameter is unknown or has a bad value.
    #[error("invalid plugin parameter '{name}': {reason}")]
    Parameter {
        /// The parameter's name as written.
        name: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A construct in a proto file cannot be generated.
    #[error("{file}: {element}: {reason}")]
    Proto {
        /// The proto file name.
        file: String,
        /// The element, such as `method helloworld.v1.Greeter.SayHello` or `field pkg.Msg.name`.
        element: String,
        /// Why it cannot be generated.
        reason: String,
    },
    /// The generator panicked: a bug of the plugin, reported instead of unwinding.
    #[error("internal error in {plugin} {version} (please report it): {message}")]
    Internal {
        /// The plugin's binary name.
        plugin: &'static str,
        /// The plugin's version.
        version: &'static str,
        /// The panic's message.
        message: String,
    },
    /// Generated code is not valid Rust (a bug in the plugin, reported instead of written).
    #[error("{file}: generated code does not parse: {reason}")]
    Format {
        /// The output file name.
        file: String,
        /// The parser's message.
        reason: String,
    },
}

impl CodegenError {
    /// An error about an element of a proto file.
    pub fn proto(
        file: impl Into<String>,
        element: impl Into<String>,
        reason: impl Into<String>,
    ) -> Self {
        CodegenError::Proto {
            file: file.into(),
            element: element.into(),
            reason: reason.into(),
        }
    }

    /// An error about a plugin parameter.
    pub fn parameter(name: impl Into<String>, reason: impl Into<String>) -> Self {
        CodegenError::Parameter {
            name: name.into(),
            reason: reason.into(),
        }
    }
}

/// Result of a code generation step.
pub type Result<T, E = CodegenError> = std::result::Result<T, E>;
