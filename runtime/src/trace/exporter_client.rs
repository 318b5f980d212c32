//! The HTTP client of the OTLP HTTP/protobuf exporter: our hyper client, run on the tokio
//! runtime the exporter was built in. The SDK's batch processor exports from a thread of its
//! own, outside any runtime, so each request is spawned onto the runtime and awaited there.

use std::future::Future;
use std::pin::Pin;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt as _, Full, Limited};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use opentelemetry_http::{HttpClient, HttpError};

/// How long one export request may take.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest collector answer read.
const MAX_RESPONSE_BYTES: usize = 4 * 1024 * 1024;

#[derive(Debug, Clone)]
pub(super) struct HyperExporterClient {
    client: Client<HttpConnector, Full<Bytes>>,
    runtime: tokio::runtime::Handle,
}

impl HyperExporterClient {
    /// A client bound to the current tokio runtime.
    pub(super) fn new() -> Result<Self, String> {
        let runtime = tokio::runtime::Handle::try_current()
            .map_err(|_| "the HTTP exporter must be built within a tokio runtime".to_string())?;
        Ok(HyperExporterClient {
            client: Client::builder(TokioExecutor::new()).build_http(),
            runtime,
        })
    }
}

impl HttpClient for HyperExporterClient {
    fn send_bytes<'a, 'b>(
        &'a self,
        request: http::Request<Bytes>,
    ) -> Pin<Box<dyn Future<Output = Result<http::Response<Bytes>, HttpError>> + Send + 'b>>
    where
        'a: 'b,
        Self: 'b,
    {
        let client = self.client.clone();
        let task = self.runtime.spawn(async move {
            let request = request.map(Full::new);
            let exchange = async {
                let response = client.request(request).await?;
                let (parts, body) = response.into_parts();
                let body = Limited::new(body, MAX_RESPONSE_BYTES)
                    .collect()
                    .await?
                    .to_bytes();
                Ok::<_, HttpError>(http::Response::from_parts(parts, body))
            };
            match tokio::time::timeout(REQUEST_TIMEOUT, exchange).await {
                Ok(answer) => answer,
                Err(_) => Err(HttpError::from(format!(
                    "no answer from the collector within {REQUEST_TIMEOUT:?}"
                ))),
            }
        });
        Box::pin(async move { task.await.map_err(HttpError::from)? })
    }
}
