//! Go formatting that validation messages reproduce (shared with the validate plugin).

pub use kratos_go_format::quote;
