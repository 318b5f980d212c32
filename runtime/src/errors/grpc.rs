//! Errors over gRPC: a status with the mapped code and a `google.rpc.ErrorInfo` detail.

use tonic_types::{ErrorDetails, ErrorInfo, StatusExt};

use super::{Error, UNKNOWN_REASON, grpc_code_to_http, http_to_grpc_code};

/// The first `google.rpc.ErrorInfo` detail of `status`, if it has one that decodes.
pub(super) fn error_info(status: &tonic::Status) -> Option<ErrorInfo> {
    status.get_details_error_info()
}

impl Error {
    /// The gRPC status for this error, as Kratos' `GRPCStatus()`: the code mapped with
    /// [`http_to_grpc_code`] (codes without an entry become `Unknown`), the message as the
    /// status message, and a `google.rpc.ErrorInfo` detail with the reason and the metadata
    /// (empty domain). The cause is not transmitted.
    pub fn to_status(&self) -> tonic::Status {
        let metadata = self
            .metadata
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect::<std::collections::HashMap<_, _>>();
        let details = ErrorDetails::with_error_info(self.reason.clone(), "", metadata);
        tonic::Status::with_error_details(
            http_to_grpc_code(self.code),
            self.message.clone(),
            details,
        )
    }

    /// The error a gRPC status stands for, as Kratos' `FromError` on a status: the code mapped
    /// with [`grpc_code_to_http`], the status message, and reason and metadata from the first
    /// `google.rpc.ErrorInfo` detail (empty when there is none, as from a non-Kratos server).
    pub fn from_status(status: &tonic::Status) -> Error {
        let error = Error::new(
            grpc_code_to_http(status.code()),
            UNKNOWN_REASON,
            status.message(),
        );
        match error_info(status) {
            Some(info) => Error {
                reason: info.reason,
                ..error.with_metadata(info.metadata)
            },
            None => error,
        }
    }
}

impl From<Error> for tonic::Status {
    /// See [`Error::to_status`].
    fn from(error: Error) -> Self {
        error.to_status()
    }
}

impl From<&Error> for tonic::Status {
    /// See [`Error::to_status`].
    fn from(error: &Error) -> Self {
        error.to_status()
    }
}

impl From<tonic::Status> for Error {
    /// See [`Error::from_status`].
    fn from(status: tonic::Status) -> Self {
        Error::from_status(&status)
    }
}

impl From<&tonic::Status> for Error {
    /// See [`Error::from_status`].
    fn from(status: &tonic::Status) -> Self {
        Error::from_status(status)
    }
}
