//! `validate-harness`: a protoc-gen-validate harness executor. Reads one encoded
//! `tests.harness.TestCase` from stdin and writes one encoded `tests.harness.TestResult` to
//! stdout, as PGV's executor expects (`-external_harness`).

use std::io::{Read, Write};

fn main() {
    let mut input = Vec::new();
    let output = match std::io::stdin().read_to_end(&mut input) {
        Ok(_) => validate_harness::execute(&input),
        Err(e) => {
            use prost::Message as _;
            validate_harness::tests::harness::TestResult {
                valid: false,
                error: true,
                reasons: vec![format!("cannot read stdin: {e}")],
                allow_failure: false,
                check_multiple_errors: false,
            }
            .encode_to_vec()
        }
    };
    let mut stdout = std::io::stdout().lock();
    if stdout
        .write_all(&output)
        .and_then(|()| stdout.flush())
        .is_err()
    {
        std::process::exit(1);
    }
}
