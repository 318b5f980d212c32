//! The validation middleware.

use crate::middleware::{Handler, Message, Middleware};

/// Kratos' `validate.Validator()` middleware: a request whose type has validation rules is
/// checked before the handler runs; a violation is answered with code 400, reason
/// [`super::VALIDATOR_REASON`] and the first violation's message (Go PGV's text, such as
/// `invalid HelloRequest.Name: value length must be at least 1 runes`). Requests of types
/// without rules pass through. The same chain serves HTTP and gRPC, so both are covered.
pub fn middleware() -> Middleware {
    Middleware::new(|next: Handler| {
        Handler::new(move |ctx, request: Message| {
            let next = next.clone();
            async move {
                request.validate()?;
                next.call(ctx, request).await
            }
        })
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::Context;
    #[allow(unused_imports)]
    use crate::validate::{Probe, ProbeNone as _, ProbeValidate as _, Validate, ValidationError};
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    #[derive(Debug)]
    struct Req(u32);

    impl Validate for Req {
        fn validate(&self) -> Result<(), ValidationError> {
            if self.0 > 10 {
                return Err(ValidationError {
                    field: "n".into(),
                    message: "invalid Req.N: value must be less than or equal to 10".into(),
                });
            }
            Ok(())
        }
        fn validate_all(&self) -> Result<(), Vec<ValidationError>> {
            self.validate().map_err(|e| vec![e])
        }
    }

    #[tokio::test]
    async fn rejects_before_the_handler_runs() {
        let calls = Arc::new(AtomicUsize::new(0));
        let counted = calls.clone();
        let handler = Handler::new(move |_ctx, req: Message| {
            counted.fetch_add(1, Ordering::SeqCst);
            async move { Ok(req) }
        });
        let chained = middleware().wrap(handler);
        let validator = (&&Probe::<Req>::new()).validator();
        assert!(validator.is_some(), "probe");
        let ok = chained
            .call(
                Context::new(crate::Kind::Http, "/t.S/M", http::HeaderMap::new()),
                Message::with_validator(Req(3), validator),
            )
            .await;
        assert!(ok.is_ok());
        let err = chained
            .call(
                Context::new(crate::Kind::Http, "/t.S/M", http::HeaderMap::new()),
                Message::with_validator(Req(11), validator),
            )
            .await
            .unwrap_err();
        assert_eq!(err.code(), 400);
        assert_eq!(err.reason(), crate::validate::VALIDATOR_REASON);
        assert_eq!(
            err.message(),
            "invalid Req.N: value must be less than or equal to 10"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);
        // A request without rules passes.
        let plain = chained
            .call(
                Context::new(crate::Kind::Http, "/t.S/M", http::HeaderMap::new()),
                Message::new(String::from("x")),
            )
            .await;
        assert!(plain.is_ok());
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }
}
