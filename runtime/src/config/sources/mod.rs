//! Configuration sources.
//!
//! A Kubernetes ConfigMap is consumed as a mounted directory with
//! [`file::FileSource`](crate::config::sources::file::FileSource): each key of the map is a file (`config.yaml`), the kubelet swaps the
//! directory's content atomically through a hidden `..data` link, and the directory watch
//! reloads the whole directory after such a swap.
//!
//! Keys of a key-value store (etcd, Consul KV): a key whose last `/` segment ends in `.json`,
//! `.yaml`, `.yml` or `.toml` is a document in that format; any other key is a plain value
//! (a string) whose configuration key is its path below the watched prefix with `/` as `.`
//! (prefix `/app/`: `/app/server/http/addr` → `server.http.addr`); a single watched key is
//! named by its last segment (`/app/greeting` → `greeting`).

pub mod env;
pub mod file;

#[cfg(feature = "etcd")]
pub mod etcd;

#[cfg(feature = "consul")]
pub mod consul;

#[cfg(any(feature = "etcd", feature = "consul", test))]
use super::KeyValue;

/// A key/value of a key-value store (etcd, Consul KV) read under `base` (the watched prefix, or
/// for a single key the key itself), by the rules of the module documentation.
#[cfg(any(feature = "etcd", feature = "consul", test))]
pub(crate) fn store_kv(base: &str, key: String, value: Vec<u8>) -> KeyValue {
    let last = key.rsplit('/').next().unwrap_or_default();
    let format = last
        .rsplit_once('.')
        .map(|(_, ext)| ext.to_ascii_lowercase())
        .filter(|ext| file::FORMATS.contains(&ext.as_str()))
        .unwrap_or_default();
    if !format.is_empty() {
        return KeyValue { key, value, format };
    }
    let relative = match key.strip_prefix(base) {
        Some(rest) if !rest.trim_matches('/').is_empty() => rest,
        _ => last,
    };
    KeyValue {
        key: relative.trim_matches('/').replace('/', "."),
        value,
        format,
    }
}

#[cfg(test)]
mod tests {
    use super::store_kv;

    #[test]
    fn store_keys_are_documents_or_plain_values() {
        let cases = [
            ("/app/", "/app/config.yaml", "/app/config.yaml", "yaml"),
            ("/app/", "/app/db.TOML", "/app/db.TOML", "toml"),
            ("/app/", "/app/server/http/addr", "server.http.addr", ""),
            ("/app", "/app/greeting", "greeting", ""),
            ("/app/greeting", "/app/greeting", "greeting", ""),
            ("config/", "config/server.http.addr", "server.http.addr", ""),
        ];
        for (base, key, want_key, want_format) in cases {
            let kv = store_kv(base, key.to_string(), b"v".to_vec());
            assert_eq!(
                (kv.key.as_str(), kv.format.as_str()),
                (want_key, want_format),
                "{key}"
            );
        }
    }
}
