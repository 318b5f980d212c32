//! Kratos' `case2Camel` (cmd/protoc-gen-go-errors), and the Rust names derived from it.

use heck::ToSnakeCase;

/// Kratos' `case2Camel`: the Go name stem of an enum value (`USER_NOT_FOUND` → `UserNotFound`).
///
/// * Without `_`: an all-upper-case name is lower-cased first, then the first letter is
///   upper-cased (`UNKNOWN` → `Unknown`, `systemError` → `SystemError`).
/// * With `_`: each `_`-separated word without a lower-case letter is lower-cased, then each
///   word gets its first letter upper-cased, and the words are joined (`HTTP_fooBar` →
///   `HttpFooBar`).
///
/// Go title-cases with `cases.Title(language.AmericanEnglish, cases.NoLower)`: in a word made
/// of letters and digits (one Unicode word), the first *cased* character is upper-cased and the
/// rest is kept, so a leading digit is skipped (`2fa` → `2Fa`).
pub(crate) fn case_to_camel(name: &str) -> String {
    if !name.contains('_') {
        if name == name.to_uppercase() {
            return title(&name.to_lowercase());
        }
        return title(name);
    }
    name.split('_')
        .map(|word| {
            if word.chars().any(char::is_lowercase) {
                title(word)
            } else {
                title(&word.to_lowercase())
            }
        })
        .collect()
}

/// Upper-cases the first cased character of `word` and keeps the rest.
fn title(word: &str) -> String {
    let mut out = String::with_capacity(word.len());
    let mut done = false;
    for c in word.chars() {
        if !done && (c.is_lowercase() || c.is_uppercase()) {
            out.extend(c.to_uppercase());
            done = true;
        } else {
            out.push(c);
        }
    }
    out
}

/// The snake-case stem of the generated functions: `USER_NOT_FOUND` → `user_not_found`, so
/// that `error_user_not_found` and `is_user_not_found` are Kratos' `ErrorUserNotFound` and
/// `IsUserNotFound` in Rust case.
pub(crate) fn function_stem(value_name: &str) -> String {
    case_to_camel(value_name).to_snake_case()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kratos_case2camel_table() {
        // Kratos' Test_case2Camel cases (§13 case 18).
        for (input, expected) in [
            ("SYSTEM_ERROR", "SystemError"),
            ("System_Error", "SystemError"),
            ("system_error", "SystemError"),
            ("System_error", "SystemError"),
            ("UNKNOWN", "Unknown"),
            ("systemError", "SystemError"),
            ("SystemError", "SystemError"),
            ("system", "System"),
        ] {
            assert_eq!(case_to_camel(input), expected, "{input}");
        }
    }

    #[test]
    fn mixed_words_keep_their_interior() {
        assert_eq!(case_to_camel("HTTP_fooBar"), "HttpFooBar");
        assert_eq!(case_to_camel("USER_iD"), "UserID");
        assert_eq!(case_to_camel("V2"), "V2");
        assert_eq!(case_to_camel("ERROR_2FA"), "Error2Fa");
        assert_eq!(case_to_camel("error_2fa"), "Error2Fa");
        assert_eq!(case_to_camel("FOO__BAR_"), "FooBar");
        assert_eq!(case_to_camel("_LEADING"), "Leading");
    }

    #[test]
    fn stems_are_snake_case() {
        assert_eq!(function_stem("USER_NOT_FOUND"), "user_not_found");
        assert_eq!(function_stem("System_Error"), "system_error");
        assert_eq!(function_stem("systemError"), "system_error");
        assert_eq!(function_stem("UNKNOWN"), "unknown");
        assert_eq!(function_stem("HTTP_fooBar"), "http_foo_bar");
        assert_eq!(
            function_stem("ERROR_REASON_USER_NOT_FOUND"),
            "error_reason_user_not_found"
        );
    }
}
