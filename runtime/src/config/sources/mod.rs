//! Configuration sources.
//!
//! A Kubernetes ConfigMap is consumed as a mounted directory with
//! [`file::FileSource`]: each key of the map is a file (`config.yaml`), the kubelet swaps the
//! directory's content atomically through a hidden `..data` link, and the directory watch
//! reloads the whole directory after such a swap.

pub mod env;
pub mod file;

#[cfg(feature = "etcd")]
pub mod etcd;
