//! One dependency for users: the code prost, tonic and pbjson generate names its crates
//! (`tonic::`, `serde::`, `pbjson::`) as if the user's crate depended on them. The build
//! integration points those paths at the runtime's re-exports (`::kratos::__codegen::tonic`,
//! ...), so a user's crate needs only `kratos-rs`, and the versions can never disagree with
//! the runtime's. prost and the well-known types are redirected through prost-build's and
//! pbjson-build's own options (`prost_path`, `extern_path`); tonic and pbjson have no such
//! option, so their output is rewritten here.
//!
//! The rule: a crate name followed by `::` is rewritten when it starts a path, i.e. when the
//! character before it is neither part of an identifier nor a `:`, and so is `::name::` when
//! the `::` does not continue a path (the character before it is neither part of an
//! identifier nor `>`). So `tonic::x` and `<::pbjson::x>` are rewritten, while `tonic_prost::`,
//! `my_tonic::`, `a::tonic::` and `::kratos::__codegen::tonic::` are left alone. A path
//! starts at a `:` or an ASCII identifier byte, so the text around paths (doc comments copied
//! from the protos, in any script) is copied unchanged and never cut inside a character.

/// Where generated code finds the runtime's re-exported crates.
pub(crate) const CODEGEN: &str = "::kratos::__codegen";

/// `source` with every path starting with one of `crates` rooted at [`CODEGEN`].
pub(crate) fn rewrite(source: &str, crates: &[&str]) -> String {
    let bytes = source.as_bytes();
    let is_ident = |b: u8| b.is_ascii_alphanumeric() || b == b'_';
    let mut out = String::with_capacity(source.len() + source.len() / 8);
    let mut copied = 0;
    let mut i = 0;
    while i < bytes.len() {
        // Only a `:` or an identifier can start a path; skipping every other byte also keeps
        // `i` off the inside of multi-byte characters (their bytes are all non-ASCII).
        if !(bytes[i] == b':' || is_ident(bytes[i])) {
            i += 1;
            continue;
        }
        let before = i.checked_sub(1).map(|j| bytes[j]);
        // `name::` starting a path, or `::name::` rooted at the crate list (not a path
        // continuing after an identifier or a `<T as Trait>` / generic argument list).
        let (rooted, start) = match source[i..].strip_prefix("::") {
            Some(rest) if before.is_none_or(|b| !is_ident(b) && b != b'>') => (true, rest),
            _ => (false, &source[i..]),
        };
        let starts_path = rooted || before.is_none_or(|b| !is_ident(b) && b != b':');
        if starts_path
            && let Some(name) = crates
                .iter()
                .find(|name| start.starts_with(*name) && start[name.len()..].starts_with("::"))
        {
            out.push_str(&source[copied..i]);
            out.push_str(CODEGEN);
            out.push_str("::");
            // Keep the name itself; drop a leading `::`, which CODEGEN replaces.
            copied = i + if rooted { 2 } else { 0 };
            i = copied + name.len();
            continue;
        }
        i += 1;
    }
    out.push_str(&source[copied..]);
    out
}

#[cfg(test)]
mod tests {
    use super::rewrite;

    #[test]
    fn paths_that_start_with_a_crate_are_rooted_at_the_runtime() {
        let crates = &["tonic", "serde", "pbjson"];
        assert_eq!(
            rewrite("use tonic::codegen::*;", crates),
            "use ::kratos::__codegen::tonic::codegen::*;"
        );
        assert_eq!(
            rewrite(
                "impl serde::Serialize for X {} fn f() -> pbjson::private::Identity",
                crates
            ),
            "impl ::kratos::__codegen::serde::Serialize for X {} fn f() -> \
             ::kratos::__codegen::pbjson::private::Identity"
        );
        assert_eq!(
            rewrite(
                "<T as tonic::client::GrpcService<tonic::body::Body>>",
                crates
            ),
            "<T as ::kratos::__codegen::tonic::client::GrpcService<\
             ::kratos::__codegen::tonic::body::Body>>"
        );
        assert_eq!(
            rewrite("tonic::Status", crates),
            "::kratos::__codegen::tonic::Status"
        );
        assert_eq!(
            rewrite(
                "map_.next_value::<::pbjson::private::NumberDeserialize<_>>()",
                crates
            ),
            "map_.next_value::<::kratos::__codegen::pbjson::private::NumberDeserialize<_>>()"
        );
        assert_eq!(
            rewrite("::serde::Serialize", crates),
            "::kratos::__codegen::serde::Serialize"
        );
    }

    #[test]
    fn other_paths_and_words_are_left_alone() {
        let crates = &["tonic", "serde", "pbjson"];
        for text in [
            "tonic_prost::ProstCodec",
            "my_tonic::x",
            "::kratos::__codegen::tonic::Status",
            "self::serde_json::x",
            "a::tonic::b",
            "<T as X>::serde::Y",
            "::tonic_prost::ProstCodec",
            "pbjson_types::Timestamp",
            "a tonic and serde, no path",
            "tonic:",
            "",
        ] {
            assert_eq!(rewrite(text, crates), text);
        }
        // Non-ASCII text (doc comments copied from a proto) around and between paths.
        assert_eq!(
            rewrite(
                "/// 1, 2, … up to `to`\nfn f(x: tonic::Status) -> «é» serde::X",
                crates
            ),
            "/// 1, 2, … up to `to`\nfn f(x: ::kratos::__codegen::tonic::Status) -> «é» \
             ::kratos::__codegen::serde::X"
        );
        assert_eq!(
            rewrite("…tonic::x", crates),
            "…::kratos::__codegen::tonic::x"
        );
        assert_eq!(rewrite("日本語", crates), "日本語");
        // Rewriting is idempotent: a rooted path is not rooted twice.
        let once = rewrite("serde::de::Error", crates);
        assert_eq!(rewrite(&once, crates), once);
    }
}
