//! Fuzzes the four protoc plugins' handling of `CodeGeneratorRequest`s.
//!
//! Inputs: the test protos with their source mutated at the token level (string literals such
//! as HTTP templates, bodies and rule values replaced by generated text, numbers by edge
//! values, identifiers by keywords and other names, lines dropped or repeated) and compiled
//! into real requests, with random plugin parameters; byte-level mutations of the encoded
//! requests; and structural mutations of their file descriptors (source-code-info spans,
//! syntax, type names, duplicate names, imports, truncation).
//!
//! Properties: no panic (the plugin entry point turns one into an "internal error" reply,
//! which counts as a failure here); a reply is either an error with no files or a complete
//! set of files (unique names, Rust that parses, OpenAPI that loads); the same request always
//! gets the same reply; an invalid descriptor is answered with an error naming one of the
//! request's files. The binaries write the encoded reply only after generation has
//! finished (`kratos_codegen::plugin_main`), so no partial output reaches protoc.

use std::path::{Path, PathBuf};

use fuzz::input::{self, pick};
use fuzz::{GenResult, Target, Unstructured};
use kratos_codegen::{Plugin, PluginRequest};
use prost::Message as _;
use prost_types::compiler::CodeGeneratorResponse;

const PLUGINS: [&Plugin; 4] = [
    &protoc_gen_rust_kratos_http::PLUGIN,
    &protoc_gen_rust_kratos_errors::PLUGIN,
    &protoc_gen_rust_kratos_validate::PLUGIN,
    &protoc_gen_openapi::PLUGIN,
];

/// Parameters each plugin understands, and some it does not.
const PARAMETERS: &[&str] = &[
    "",
    "omitempty=false",
    "omitempty=false,omitempty_prefix=/api",
    "omitempty=maybe",
    "grpc=false",
    "wkt=prost",
    "wkt=pbjson",
    "wkt=nope",
    "extern_path=.kratos.common=crate::common",
    "extern_path=.=x",
    "format=yaml",
    "format=json",
    "naming=proto",
    "naming=json",
    "fq_schema_naming=true",
    "enum_type=string",
    "enum_type=integer",
    "depth=0",
    "depth=-1",
    "depth=99999999999",
    "default_response=false",
    "output_mode=source_relative",
    "version=1.0,title=T,description=D",
    "unknown=1",
    "=",
    ",,",
];

/// A fixture proto: its include directory (under `testdata/`) and file name.
const FIXTURES: &[(&str, &str)] = &[
    ("errors/basic", "error_reason.proto"),
    ("errors/multi", "shop/v1/orders.proto"),
    ("http/greeter", "helloworld/v1/greeter.proto"),
    ("http/bindings", "kratos/test/v1/bindings.proto"),
    ("validate/basic", "example.proto"),
    ("openapi/rules", "rules.proto"),
];

/// Identifiers that are keywords or well-known names in Rust, proto or the generated code.
const IDENTS: &[&str] = &[
    "type", "self", "Self", "super", "crate", "fn", "match", "move", "r#type", "_", "__", "a", "A",
    "Option", "Result", "String", "Vec", "Box", "std", "kratos", "Error", "Context", "async",
    "await", "dyn", "impl", "in", "ref", "box", "try", "gen", "union", "abstract", "id", "name",
    "body", "string", "int64", "bytes", "repeated", "optional", "map", "oneof",
];

const NUMBERS: &[&str] = &[
    "0",
    "1",
    "-1",
    "2147483647",
    "-2147483648",
    "4294967295",
    "9223372036854775807",
    "18446744073709551615",
    "1e400",
    "-0",
    "0x7fffffff",
    "536870911",
    "19000",
    "3.5",
    "nan",
];

#[derive(Debug)]
enum Request {
    /// A fixture with its source mutated, compiled, for one plugin.
    Source {
        fixture: usize,
        source: String,
        parameter: String,
        plugin: usize,
    },
    /// Raw request bytes for one plugin.
    Raw { bytes: Vec<u8>, plugin: usize },
    /// A request whose file descriptors were mutated structurally (spans, syntax, type names,
    /// duplicate names, imports, truncation), for one plugin.
    Descriptors { bytes: Vec<u8>, plugin: usize },
}

/// Values for the elements of a source-code-info span.
const SPAN_VALUES: &[i32] = &[0, 1, 2, 7, 100, -1, -100, i32::MAX, i32::MIN];

/// Syntaxes, supported or not (prost-reflect 0.16 panics on unknown ones).
const SYNTAXES: &[&str] = &["proto2", "proto3", "editions", "proto4", "", "PROTO3"];

/// Mutates one file descriptor of a seed request the way invalid descriptors differ from valid
/// ones: source-code-info spans of any length and values, unknown syntaxes, dangling or
/// foreign type names, duplicated messages, enums, services and fields, dropped imports, and
/// a truncated encoding. The files are re-encoded with prost-types (options not in it are
/// dropped), so the generators still run on what stays valid.
fn mutate_descriptors(u: &mut Unstructured<'_>, seed: &[u8]) -> GenResult<Vec<u8>> {
    use prost_types::compiler::CodeGeneratorRequest;
    let Ok(mut request) = CodeGeneratorRequest::decode(seed) else {
        return Ok(seed.to_vec());
    };
    if request.proto_file.is_empty() {
        return Ok(seed.to_vec());
    }
    for _ in 0..u.int_in_range(1..=3)? {
        let i = u.int_in_range(0..=request.proto_file.len() - 1)?;
        let file = &mut request.proto_file[i];
        match u.int_in_range(0..=5)? {
            0 => {
                let info = file.source_code_info.get_or_insert_with(Default::default);
                if info.location.is_empty() {
                    info.location.push(Default::default());
                }
                for _ in 0..u.int_in_range(1..=4)? {
                    let at = u.int_in_range(0..=info.location.len() - 1)?;
                    let len = u.int_in_range(0..=5)?;
                    let mut span = Vec::with_capacity(len);
                    for _ in 0..len {
                        span.push(*pick(u, SPAN_VALUES)?);
                    }
                    info.location[at].span = span;
                }
            }
            1 => file.syntax = Some(pick(u, SYNTAXES)?.to_string()),
            2 => {
                let fields: Vec<&mut prost_types::FieldDescriptorProto> = file
                    .message_type
                    .iter_mut()
                    .flat_map(|m| m.field.iter_mut())
                    .filter(|f| f.type_name.is_some())
                    .collect();
                if !fields.is_empty() {
                    let at = u.int_in_range(0..=fields.len() - 1)?;
                    let name = pick(
                        u,
                        &[".nope.Missing", "Missing", ".google.protobuf.Nope", "", "."],
                    )?;
                    if let Some(field) = fields.into_iter().nth(at) {
                        field.type_name = Some(name.to_string());
                    }
                }
            }
            3 => match u.int_in_range(0..=3)? {
                0 if !file.message_type.is_empty() => {
                    let m = file.message_type[0].clone();
                    file.message_type.push(m);
                }
                1 if !file.enum_type.is_empty() => {
                    let e = file.enum_type[0].clone();
                    file.enum_type.push(e);
                }
                2 if !file.service.is_empty() => {
                    let s = file.service[0].clone();
                    file.service.push(s);
                }
                _ => {
                    if let Some(m) = file.message_type.iter_mut().find(|m| !m.field.is_empty()) {
                        let mut f = m.field[0].clone();
                        f.number = Some(f.number() + 1000);
                        m.field.push(f);
                    }
                }
            },
            4 if !file.dependency.is_empty() => {
                let at = u.int_in_range(0..=file.dependency.len() - 1)?;
                file.dependency.remove(at);
            }
            _ => {}
        }
    }
    let mut bytes = request.encode_to_vec();
    if u.ratio(1, 5)? && !bytes.is_empty() {
        let at = u.int_in_range(0..=bytes.len() - 1)?;
        bytes.truncate(at);
    }
    Ok(bytes)
}

fn testdata() -> PathBuf {
    kratos_codegen::testing::workspace_dir().join("testdata")
}

/// Serves one file from memory, the rest from the include directories.
struct Overlay {
    name: String,
    source: String,
    fallback: protox::file::ChainFileResolver,
}

impl protox::file::FileResolver for Overlay {
    fn open_file(&self, name: &str) -> Result<protox::file::File, protox::Error> {
        if name == self.name {
            return protox::file::File::from_source(name, &self.source);
        }
        self.fallback.open_file(name)
    }
}

/// Compiles `source` as fixture `fixture`; `None` when it does not compile.
fn compile(fixture: usize, source: &str, parameter: &str) -> Option<PluginRequest> {
    let (dir, file) = FIXTURES[fixture];
    let mut fallback = protox::file::ChainFileResolver::new();
    fallback.add(protox::file::IncludeFileResolver::new(testdata().join(dir)));
    fallback.add(protox::file::IncludeFileResolver::new(
        kratos_codegen::testing::option_protos_dir(),
    ));
    fallback.add(protox::file::GoogleFileResolver::new());
    let mut compiler = protox::Compiler::with_file_resolver(Overlay {
        name: file.to_string(),
        source: source.to_string(),
        fallback,
    });
    compiler.include_source_info(true).include_imports(true);
    compiler.open_file(file).ok()?;
    let pool =
        prost_reflect::DescriptorPool::decode(compiler.encode_file_descriptor_set().as_slice())
            .ok()?;
    PluginRequest::from_pool(pool, vec![file.to_string()], parameter).ok()
}

fn fixture_source(fixture: usize) -> String {
    let (dir, file) = FIXTURES[fixture];
    let path = testdata().join(dir).join(file);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// Byte ranges of tokens of one kind.
type Spans = Vec<(usize, usize)>;

/// The byte ranges of the source's string literals, numbers and identifiers.
fn tokens(source: &str) -> (Spans, Spans, Spans) {
    let (mut strings, mut numbers, mut idents) = (Vec::new(), Vec::new(), Vec::new());
    let bytes = source.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b == b'"' {
            let start = i + 1;
            let mut j = start;
            while j < bytes.len() && bytes[j] != b'"' && bytes[j] != b'\n' {
                j += if bytes[j] == b'\\' { 2 } else { 1 };
            }
            let end = j.min(bytes.len());
            strings.push((start, end));
            i = end + 1;
        } else if b.is_ascii_digit() {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'.') {
                i += 1;
            }
            numbers.push((start, i));
        } else if b.is_ascii_alphabetic() || b == b'_' {
            let start = i;
            while i < bytes.len() && (bytes[i].is_ascii_alphanumeric() || bytes[i] == b'_') {
                i += 1;
            }
            idents.push((start, i));
        } else if b == b'/' && bytes.get(i + 1) == Some(&b'/') {
            while i < bytes.len() && bytes[i] != b'\n' {
                i += 1;
            }
        } else {
            i += 1;
        }
    }
    (strings, numbers, idents)
}

/// Text for a proto string literal: templates and field paths most of the time.
fn string_value(u: &mut Unstructured<'_>) -> GenResult<String> {
    let v = match u.int_in_range(0..=3)? {
        0 => format!("/v1/{}", input::text(u, 5)?),
        1 => format!("/v1/{{{}}}", input::text(u, 3)?),
        2 => pick(
            u,
            &[
                "*",
                "",
                "name",
                "a.b",
                "book",
                "book.name",
                "missing",
                "*:x",
            ],
        )?
        .to_string(),
        _ => input::text(u, 6)?,
    };
    // Keep it a single literal (what protox accepts as text is its business).
    Ok(v.replace(['"', '\n', '\\'], ""))
}

fn mutate_source(u: &mut Unstructured<'_>, source: &str) -> GenResult<String> {
    let mut source = source.to_string();
    for _ in 0..u.int_in_range(1..=3)? {
        let (strings, numbers, idents) = tokens(&source);
        match u.int_in_range(0..=9)? {
            0..=2 if !strings.is_empty() => {
                let &(s, e) = pick(u, &strings)?;
                let v = string_value(u)?;
                source.replace_range(s..e, &v);
            }
            3 | 4 if !numbers.is_empty() => {
                let &(s, e) = pick(u, &numbers)?;
                source.replace_range(s..e, pick(u, NUMBERS)?);
            }
            5 | 6 if !idents.is_empty() => {
                let &(s, e) = pick(u, &idents)?;
                let new = if u.arbitrary()? {
                    pick(u, IDENTS)?.to_string()
                } else {
                    let &(a, b) = pick(u, &idents)?;
                    source[a..b].to_string()
                };
                source.replace_range(s..e, &new);
            }
            7 | 8 => {
                let mut lines: Vec<&str> = source.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let i = u.int_in_range(0..=lines.len() - 1)?;
                if u.arbitrary()? {
                    lines.remove(i);
                } else {
                    let j = u.int_in_range(0..=lines.len() - 1)?;
                    lines.insert(j, lines[i]);
                }
                source = lines.join("\n");
            }
            _ => {
                let bytes = input::mutate(u, source.as_bytes())?;
                source = String::from_utf8_lossy(&bytes).into_owned();
            }
        }
    }
    Ok(source)
}

fn generate(u: &mut Unstructured<'_>, seeds: &[Vec<u8>]) -> GenResult<Request> {
    let plugin = u.int_in_range(0..=PLUGINS.len() - 1)?;
    if u.ratio(1, 5)? {
        let seed = pick(u, seeds)?;
        return Ok(Request::Descriptors {
            bytes: mutate_descriptors(u, seed)?,
            plugin,
        });
    }
    if u.ratio(1, 4)? {
        let seed = pick(u, seeds)?;
        return Ok(Request::Raw {
            bytes: input::variant(u, seed)?,
            plugin,
        });
    }
    let fixture = u.int_in_range(0..=FIXTURES.len() - 1)?;
    let original = fixture_source(fixture);
    let source = if u.ratio(1, 8)? {
        original
    } else {
        mutate_source(u, &original)?
    };
    let parameter = if u.ratio(1, 6)? {
        input::text(u, 4)?
    } else {
        pick(u, PARAMETERS)?.to_string()
    };
    Ok(Request::Source {
        fixture,
        source,
        parameter,
        plugin,
    })
}

/// The reply to a request, checked: an error without files, or well-formed files.
fn check_response(plugin: &Plugin, response: &CodeGeneratorResponse) -> fuzz::Outcome {
    if let Some(error) = &response.error {
        if !response.file.is_empty() {
            return Err(format!("an error reply with {} files", response.file.len()));
        }
        if error.contains("internal error in") {
            return Err(format!("the plugin panicked: {error}"));
        }
        return Ok(format!("{}: error", plugin.name));
    }
    let mut names = std::collections::HashSet::new();
    for file in &response.file {
        let name = file.name.as_deref().unwrap_or_default();
        if name.is_empty() || !names.insert(name) {
            return Err(format!("a file with an empty or repeated name {name:?}"));
        }
        if file.insertion_point.is_some() {
            return Err(format!("{name}: an insertion point"));
        }
        let content = file.content.as_deref().unwrap_or_default();
        let ext = Path::new(name).extension().and_then(|e| e.to_str());
        let valid = match ext {
            Some("rs") => syn::parse_file(content)
                .map(drop)
                .map_err(|e| e.to_string()),
            Some("json") => serde_json::from_str::<serde_json::Value>(content)
                .map(drop)
                .map_err(|e| e.to_string()),
            Some("yaml") => yaml_serde::from_str::<serde_json::Value>(content)
                .map(drop)
                .map_err(|e| e.to_string()),
            _ => Err("an unexpected kind of file".to_string()),
        };
        if let Err(e) = valid {
            return Err(format!("{name} is not valid: {e}\n{content}"));
        }
    }
    Ok(format!(
        "{}: {}",
        plugin.name,
        if response.file.is_empty() {
            "no files"
        } else {
            "files"
        }
    ))
}

fn check(request: &Request) -> fuzz::Outcome {
    let (plugin, run): (&Plugin, Box<dyn Fn() -> CodeGeneratorResponse>) = match request {
        Request::Raw { bytes, plugin } | Request::Descriptors { bytes, plugin } => {
            let p = PLUGINS[*plugin];
            (p, Box::new(move || kratos_codegen::execute(p, bytes).0))
        }
        Request::Source {
            fixture,
            source,
            parameter,
            plugin,
        } => {
            let Some(req) = compile(*fixture, source, parameter) else {
                return Ok("does not compile".into());
            };
            let p = PLUGINS[*plugin];
            (
                p,
                Box::new(move || kratos_codegen::execute_request(p, &req).0),
            )
        }
    };
    let first = run();
    let outcome = check_response(plugin, &first)?;
    // An invalid descriptor is reported against a file of the request, by name.
    if let (Request::Descriptors { bytes, .. }, Some(error)) = (request, &first.error)
        && let Some((file, _)) = error.split_once(": cannot load the file descriptor")
        && !String::from_utf8_lossy(bytes).contains(file)
    {
        return Err(format!(
            "a descriptor error names no file of the request: {error}"
        ));
    }
    let outcome = match (request, &first.error) {
        (Request::Descriptors { .. }, Some(e))
            if e.contains(": cannot load the file descriptor") =>
        {
            "descriptors: invalid file named".to_string()
        }
        (Request::Descriptors { .. }, _) => format!("descriptors: {outcome}"),
        _ => outcome,
    };
    if run().encode_to_vec() != first.encode_to_vec() {
        return Err("the same request got a different reply".into());
    }
    Ok(outcome)
}

#[test]
fn plugins_reply_with_an_error_or_complete_files() {
    // The unmutated fixtures with every plugin and the CI parameters, as encoded requests:
    // the seed corpus (and the raw inputs' starting points).
    let mut seeds = Vec::new();
    let mut corpus = Vec::new();
    for (fixture, name) in FIXTURES.iter().enumerate() {
        let source = fixture_source(fixture);
        let Some(req) = compile(fixture, &source, "") else {
            panic!("fixture {name:?} does not compile");
        };
        seeds.push(req.encode());
        for plugin in 0..PLUGINS.len() {
            corpus.push(Request::Source {
                fixture,
                source: source.clone(),
                parameter: String::new(),
                plugin,
            });
        }
    }
    let report = Target {
        name: "plugins",
        ci_iters: 2_000,
        max_bytes: 1024,
        corpus,
    }
    .run(|u, _| generate(u, &seeds), check);
    // Structural descriptor mutations reach prost-reflect's validation (unknown syntaxes,
    // bad spans, dangling names, duplicates) and are answered with errors naming the file.
    assert!(
        report.count("descriptors: invalid file named") > 10,
        "{report:?}"
    );
    // Mutated protos still compile often enough to reach the generators, and each plugin both
    // generates files and refuses some requests.
    for plugin in PLUGINS {
        assert!(
            report.count(&format!("{}: files", plugin.name)) > 10,
            "{report:?}"
        );
        assert!(
            report.count(&format!("{}: error", plugin.name)) > 10,
            "{report:?}"
        );
    }
}
