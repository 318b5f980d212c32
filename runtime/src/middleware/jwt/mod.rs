//! JWT authentication (Kratos' `middleware/auth/jwt`), feature `jwt`: a server middleware
//! that verifies the `Authorization: Bearer <token>` of each call and hands the token's claims
//! to the handler, and a client middleware that signs a token for each call.
//!
//! The server accepts a token only if it is signed with **the one algorithm configured**
//! (HS256/384/512, RS256/384/512, PS256/384/512, ES256/384, EdDSA): the token's own `alg`
//! never chooses how it is verified, and `none` is never accepted. Its `exp` and `nbf` claims,
//! when present, are checked with the configured leeway (default none, as Kratos); issuer,
//! audience and required claims are optional checks. The claims are deserialized into the
//! user's own type and attached to the call's [`Context`] as an `Arc<C>`, read with [`claims`].
//!
//! Every failure is 401 `UNAUTHORIZED` (`Unauthenticated` on gRPC) with Kratos' message:
//!
//! | the call | message |
//! | --- | --- |
//! | no `Authorization`, or not `Bearer <token>` (the scheme in any case) | `JWT token is missing` |
//! | not three base64url parts with a JSON header and claims; an `alg` that names no algorithm; no key for it; claims that do not fit the claims type | `Token is invalid` |
//! | another algorithm than the configured one | `Wrong signing method` |
//! | `alg: none`, a wrong signature, a failed issuer/audience/required-claim check | `Fail to parse JWT token ` (Kratos' trailing space kept) |
//! | a valid signature but `exp` passed or `nbf` to come | `JWT token has expired` |
//! | the server middleware installed on a client, or the reverse | `Wrong context for middleware` |
//!
//! Kratos verifies with the token's algorithm first and rejects a different one after; here the
//! algorithm is checked first, so a token that names another algorithm is never verified at all
//! (the message is the same when its signature was otherwise valid).
//!
//! Keys ([`VerifyingKeys`], [`SigningKey`]) can be replaced while the service runs. Use
//! [`select`](super::select) to leave operations (a login, health) unauthenticated.
//!
//! ```
//! use kratos::middleware::jwt::{self, Algorithm, DecodingKey, VerifyingKeys};
//! use kratos::middleware::select;
//!
//! #[derive(Debug, serde::Deserialize)]
//! struct Claims { sub: String, exp: u64 }
//!
//! let keys = VerifyingKeys::new(DecodingKey::from_secret(b"secret"));
//! let auth = jwt::server::<Claims>(Algorithm::HS256, keys.clone()).build();
//! // Every operation but the login needs a token.
//! let login = "/auth.v1.Auth/Login";
//! let middleware = select(vec![auth]).matching(move |op| op != login).build();
//! # let _ = middleware;
//! // In a handler: `let claims = jwt::claims::<Claims>(&ctx);`
//! ```

mod keys;

/// The `jsonwebtoken` crate the middleware is built on (to make keys and tokens without
/// depending on it separately).
pub use jsonwebtoken;
pub use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey};
pub use keys::{SigningKey, VerifyingKeys};

use std::marker::PhantomData;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine as _;
use serde::Serialize;
use serde::de::DeserializeOwned;

use super::{Handler, Middleware};
use crate::context::{Context, Side};
use crate::errors::Error;

/// The reason of every JWT error.
pub const UNAUTHORIZED_REASON: &str = "UNAUTHORIZED";
/// No `Authorization: Bearer <token>` header.
pub const MISSING_TOKEN: &str = "JWT token is missing";
/// The token is malformed or cannot be verified.
pub const TOKEN_INVALID: &str = "Token is invalid";
/// The token's `exp` has passed or its `nbf` is to come.
pub const TOKEN_EXPIRED: &str = "JWT token has expired";
/// The token did not verify (signature, `none`, claim checks). Kratos' trailing space is kept.
pub const TOKEN_PARSE_FAIL: &str = "Fail to parse JWT token ";
/// The token names another algorithm than the configured one.
pub const WRONG_SIGNING_METHOD: &str = "Wrong signing method";
/// A server middleware on a client call, or a client middleware on a server call.
pub const WRONG_CONTEXT: &str = "Wrong context for middleware";
/// The client could not sign its token (a key that does not fit the algorithm).
pub const SIGN_TOKEN_FAILED: &str = "Can not sign token.Is the key correct?";

/// The 401 `UNAUTHORIZED` error with `message` (one of this module's message constants).
pub fn unauthorized(message: &'static str) -> Error {
    Error::new(401, UNAUTHORIZED_REASON, message)
}

/// The claims the server middleware attached to the call, if it verified a token whose claims
/// are a `C` (Kratos' `jwt.FromContext`).
pub fn claims<C: Send + Sync + 'static>(ctx: &Context) -> Option<Arc<C>> {
    ctx.get::<Arc<C>>()
}

/// Builds the server middleware: see [`server`].
#[derive(Debug)]
pub struct ServerBuilder<C> {
    algorithm: Algorithm,
    keys: VerifyingKeys,
    validation: jsonwebtoken::Validation,
    _claims: PhantomData<fn() -> C>,
}

/// The server middleware (Kratos' `jwt.Server`) verifying tokens signed with `algorithm`
/// with `keys`, their claims deserialized into `C` (a `serde_json::Value`, a map, or the
/// service's own type). Defaults as Kratos: no leeway, `exp`/`nbf` checked when present,
/// nothing required, no issuer or audience check.
pub fn server<C>(algorithm: Algorithm, keys: impl Into<VerifyingKeys>) -> ServerBuilder<C>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    let mut validation = jsonwebtoken::Validation::new(algorithm);
    validation.required_spec_claims.clear();
    validation.validate_nbf = true;
    validation.validate_aud = false;
    validation.leeway = 0;
    ServerBuilder {
        algorithm,
        keys: keys.into(),
        validation,
        _claims: PhantomData,
    }
}

impl<C> ServerBuilder<C>
where
    C: DeserializeOwned + Send + Sync + 'static,
{
    /// How far past `exp` and before `nbf` a token is still accepted (whole seconds; default
    /// none).
    pub fn leeway(mut self, leeway: Duration) -> Self {
        self.validation.leeway = leeway.as_secs();
        self
    }

    /// Accepts only tokens whose `iss` is one of `issuers`.
    pub fn issuers(mut self, issuers: &[&str]) -> Self {
        self.validation.set_issuer(issuers);
        self
    }

    /// Accepts only tokens whose `aud` names one of `audience`.
    pub fn audience(mut self, audience: &[&str]) -> Self {
        self.validation.set_audience(audience);
        self.validation.validate_aud = true;
        self
    }

    /// Accepts only tokens that have the registered claims `claims` (of `exp`, `nbf`, `sub`,
    /// `iss`, `aud`).
    pub fn require(mut self, claims: &[&str]) -> Self {
        self.validation.set_required_spec_claims(claims);
        self
    }

    /// The middleware.
    pub fn build(self) -> Middleware {
        let verifier = Arc::new(Verifier {
            algorithm: self.algorithm,
            keys: self.keys,
            validation: self.validation,
        });
        Middleware::new(move |next: Handler| {
            let verifier = verifier.clone();
            Handler::from_fn(move |ctx, req| match verifier.verify::<C>(&ctx) {
                Ok(claims) => {
                    ctx.insert(Arc::new(claims));
                    next.call(ctx, req)
                }
                Err(err) => Box::pin(std::future::ready(Err(err))),
            })
        })
    }
}

struct Verifier {
    algorithm: Algorithm,
    keys: VerifyingKeys,
    validation: jsonwebtoken::Validation,
}

/// The fields of a token's header the verifier reads before anything else.
#[derive(serde::Deserialize)]
struct RawHeader {
    alg: String,
    #[serde(default)]
    kid: Option<String>,
}

impl Verifier {
    fn verify<C: DeserializeOwned>(&self, ctx: &Context) -> Result<C, Error> {
        if ctx.side() != Side::Server {
            return Err(unauthorized(WRONG_CONTEXT));
        }
        let token = bearer(ctx.request_headers()).ok_or_else(|| unauthorized(MISSING_TOKEN))?;
        let header = raw_header(token).ok_or_else(|| unauthorized(TOKEN_INVALID))?;
        if header.alg == "none" {
            // No key verifies an unsigned token (Kratos: a signature error).
            return Err(unauthorized(TOKEN_PARSE_FAIL));
        }
        let alg: Algorithm = header
            .alg
            .parse()
            .map_err(|_| unauthorized(TOKEN_INVALID))?;
        if alg != self.algorithm {
            return Err(unauthorized(WRONG_SIGNING_METHOD));
        }
        let key = self
            .keys
            .key_for(header.kid.as_deref())
            .ok_or_else(|| unauthorized(TOKEN_INVALID))?;
        jsonwebtoken::decode::<C>(token, &key, &self.validation)
            .map(|data| data.claims)
            .map_err(|e| unauthorized(message_for(e.kind())))
    }
}

/// Kratos' message for a failed verification.
fn message_for(kind: &jsonwebtoken::errors::ErrorKind) -> &'static str {
    use jsonwebtoken::errors::ErrorKind as K;
    match kind {
        K::ExpiredSignature | K::ImmatureSignature => TOKEN_EXPIRED,
        K::InvalidAlgorithm | K::InvalidAlgorithmName => WRONG_SIGNING_METHOD,
        K::InvalidToken
        | K::Base64(_)
        | K::Json(_)
        | K::Utf8(_)
        | K::InvalidKeyFormat
        | K::InvalidEcdsaKey
        | K::InvalidRsaKey(_)
        | K::MissingAlgorithm => TOKEN_INVALID,
        _ => TOKEN_PARSE_FAIL,
    }
}

/// The token of `Authorization: Bearer <token>`: the value split at its first space, the
/// scheme compared without case, as Kratos.
fn bearer(headers: &http::HeaderMap) -> Option<&str> {
    let value = headers.get(http::header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme.eq_ignore_ascii_case("bearer").then_some(token)
}

/// The `alg` and `kid` of a token's header; `None` when the token is not three parts or its
/// header is not base64url JSON with a string `alg`.
fn raw_header(token: &str) -> Option<RawHeader> {
    let mut parts = token.split('.');
    let (header, _, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let json = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .decode(header)
        .ok()?;
    serde_json::from_slice(&json).ok()
}

/// The client middleware (Kratos' `jwt.Client`): signs `claims(&ctx)` with `key` and
/// `algorithm` for each call and sends it as `Authorization: Bearer <token>`. The key's `kid`,
/// if any, goes in the token's header. Failing to sign (a key that does not fit the algorithm)
/// fails the call with 401 "Can not sign token.Is the key correct?" before it is sent.
///
/// ```
/// use std::time::{SystemTime, UNIX_EPOCH};
/// use kratos::middleware::jwt::{self, Algorithm, EncodingKey, SigningKey};
///
/// #[derive(serde::Serialize)]
/// struct Claims { sub: &'static str, exp: u64 }
///
/// let key = SigningKey::new(EncodingKey::from_secret(b"secret"));
/// let sign = jwt::client(Algorithm::HS256, key, |_ctx| {
///     let now = SystemTime::now().duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
///     Claims { sub: "billing", exp: now + 60 }
/// });
/// let client = kratos::http::Client::builder("127.0.0.1:8000").middleware(sign).build();
/// # let _ = client;
/// ```
pub fn client<C, F>(algorithm: Algorithm, key: impl Into<SigningKey>, claims: F) -> Middleware
where
    C: Serialize,
    F: Fn(&Context) -> C + Send + Sync + 'static,
{
    let key = key.into();
    let claims = Arc::new(claims);
    Middleware::new(move |next: Handler| {
        let (key, claims) = (key.clone(), claims.clone());
        Handler::from_fn(move |ctx, req| {
            let signed = sign(algorithm, &key, &ctx, &*claims);
            match signed {
                Ok(value) => {
                    ctx.outgoing_headers()
                        .insert(http::header::AUTHORIZATION, value);
                    next.call(ctx, req)
                }
                Err(err) => Box::pin(std::future::ready(Err(err))),
            }
        })
    })
}

fn sign<C: Serialize>(
    algorithm: Algorithm,
    key: &SigningKey,
    ctx: &Context,
    claims: &dyn Fn(&Context) -> C,
) -> Result<http::HeaderValue, Error> {
    if ctx.side() != Side::Client {
        return Err(unauthorized(WRONG_CONTEXT));
    }
    let signing = key.current();
    let mut header = jsonwebtoken::Header::new(algorithm);
    header.kid = signing.kid.clone();
    let token = jsonwebtoken::encode(&header, &claims(ctx), &signing.key)
        .map_err(|_| unauthorized(SIGN_TOKEN_FAILED))?;
    http::HeaderValue::try_from(format!("Bearer {token}"))
        .map_err(|_| unauthorized(SIGN_TOKEN_FAILED))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::context::Kind;
    use crate::middleware::Endpoint;

    #[derive(Debug, Clone, PartialEq, Serialize, serde::Deserialize)]
    struct Claims {
        sub: String,
        #[serde(skip_serializing_if = "Option::is_none")]
        exp: Option<u64>,
        #[serde(skip_serializing_if = "Option::is_none")]
        nbf: Option<u64>,
    }

    fn now() -> u64 {
        jsonwebtoken::get_current_timestamp()
    }

    fn token(alg: Algorithm, secret: &[u8], claims: &impl Serialize) -> String {
        jsonwebtoken::encode(
            &jsonwebtoken::Header::new(alg),
            claims,
            &EncodingKey::from_secret(secret),
        )
        .unwrap()
    }

    fn alice(exp: Option<u64>, nbf: Option<u64>) -> Claims {
        Claims {
            sub: "alice".into(),
            exp,
            nbf,
        }
    }

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(s)
    }

    async fn call(
        endpoint: &Endpoint<(), String>,
        authorization: Option<&str>,
    ) -> Result<String, Error> {
        let mut headers = http::HeaderMap::new();
        if let Some(value) = authorization {
            headers.insert(http::header::AUTHORIZATION, value.parse().unwrap());
        }
        endpoint
            .call(Context::new(Kind::Http, "/a.B/C", headers), ())
            .await
    }

    fn endpoint(keys: VerifyingKeys, leeway: u64) -> Endpoint<(), String> {
        let auth = server::<Claims>(Algorithm::HS256, keys)
            .leeway(Duration::from_secs(leeway))
            .build();
        Endpoint::new(&[auth], |ctx: Context, ()| async move {
            Ok(claims::<Claims>(&ctx)
                .map(|c| c.sub.clone())
                .unwrap_or_default())
        })
    }

    fn message(result: Result<String, Error>) -> String {
        let err = result.unwrap_err();
        assert_eq!((err.code(), err.reason()), (401, UNAUTHORIZED_REASON));
        err.message().to_string()
    }

    #[tokio::test]
    async fn verification_outcomes_have_kratos_messages() {
        let keys = VerifyingKeys::new(DecodingKey::from_secret(b"k1"));
        let e = endpoint(keys, 0);
        let good = token(Algorithm::HS256, b"k1", &alice(Some(now() + 60), None));
        assert_eq!(
            call(&e, Some(&format!("Bearer {good}"))).await.unwrap(),
            "alice"
        );
        // The scheme in any case, as Kratos.
        assert_eq!(
            call(&e, Some(&format!("bEaReR {good}"))).await.unwrap(),
            "alice"
        );
        // No exp at all is accepted (nothing required by default).
        let forever = token(Algorithm::HS256, b"k1", &alice(None, None));
        assert_eq!(
            call(&e, Some(&format!("Bearer {forever}"))).await.unwrap(),
            "alice"
        );

        for missing in [None, Some("Basic abc"), Some(good.as_str()), Some("Bearer")] {
            assert_eq!(
                message(call(&e, missing).await),
                MISSING_TOKEN,
                "{missing:?}"
            );
        }
        let header = b64(r#"{"alg":"HS256","typ":"JWT"}"#);
        let body = b64(r#"{"sub":"alice"}"#);
        for malformed in [
            "Bearer ".to_string(),
            "Bearer a.b".to_string(),
            "Bearer a.b.c.d".to_string(),
            format!("Bearer !!.{body}.sig"),
            format!("Bearer {}.{body}.sig", b64("not json")),
            format!("Bearer {}.{body}.sig", b64(r#"{"alg":"HS999"}"#)),
            // A valid signature over claims that are not a `Claims` (no `sub`).
            format!(
                "Bearer {}",
                token(Algorithm::HS256, b"k1", &serde_json::json!({"x": 1}))
            ),
        ] {
            assert_eq!(
                message(call(&e, Some(&malformed)).await),
                TOKEN_INVALID,
                "{malformed}"
            );
        }
        // `none`, whatever its signature.
        let none = format!("Bearer {}.{body}.", b64(r#"{"alg":"none","typ":"JWT"}"#));
        assert_eq!(message(call(&e, Some(&none)).await), TOKEN_PARSE_FAIL);
        // A wrong key, a tampered payload.
        let wrong_key = token(Algorithm::HS256, b"k2", &alice(Some(now() + 60), None));
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {wrong_key}"))).await),
            TOKEN_PARSE_FAIL
        );
        let sig = good.rsplit('.').next().unwrap();
        let tampered = format!("Bearer {header}.{}.{sig}", b64(r#"{"sub":"mallory"}"#));
        assert_eq!(message(call(&e, Some(&tampered)).await), TOKEN_PARSE_FAIL);
        // Another algorithm, even with the right secret.
        let hs384 = token(Algorithm::HS384, b"k1", &alice(Some(now() + 60), None));
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {hs384}"))).await),
            WRONG_SIGNING_METHOD
        );
        // Expired, not yet valid.
        let expired = token(Algorithm::HS256, b"k1", &alice(Some(now() - 10), None));
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {expired}"))).await),
            TOKEN_EXPIRED
        );
        let early = token(
            Algorithm::HS256,
            b"k1",
            &alice(Some(now() + 600), Some(now() + 300)),
        );
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {early}"))).await),
            TOKEN_EXPIRED
        );
    }

    /// `(algorithm, signing key, verifying key, a signing key of the same kind that the
    /// verifying key does not match)` for every supported algorithm.
    fn key_pairs() -> Vec<(Algorithm, EncodingKey, DecodingKey, Option<EncodingKey>)> {
        let rsa = include_bytes!("testdata/rsa.pem");
        let rsa_pub = include_bytes!("testdata/rsa.pub.pem");
        let rsa2 = include_bytes!("testdata/rsa2.pem");
        let mut pairs = Vec::new();
        for alg in [Algorithm::HS256, Algorithm::HS384, Algorithm::HS512] {
            pairs.push((
                alg,
                EncodingKey::from_secret(b"s"),
                DecodingKey::from_secret(b"s"),
                Some(EncodingKey::from_secret(b"other")),
            ));
        }
        for alg in [
            Algorithm::RS256,
            Algorithm::RS384,
            Algorithm::RS512,
            Algorithm::PS256,
            Algorithm::PS384,
            Algorithm::PS512,
        ] {
            pairs.push((
                alg,
                EncodingKey::from_rsa_pem(rsa).unwrap(),
                DecodingKey::from_rsa_pem(rsa_pub).unwrap(),
                Some(EncodingKey::from_rsa_pem(rsa2).unwrap()),
            ));
        }
        pairs.push((
            Algorithm::ES256,
            EncodingKey::from_ec_pem(include_bytes!("testdata/ec256.pem")).unwrap(),
            DecodingKey::from_ec_pem(include_bytes!("testdata/ec256.pub.pem")).unwrap(),
            None,
        ));
        pairs.push((
            Algorithm::ES384,
            EncodingKey::from_ec_pem(include_bytes!("testdata/ec384.pem")).unwrap(),
            DecodingKey::from_ec_pem(include_bytes!("testdata/ec384.pub.pem")).unwrap(),
            None,
        ));
        pairs.push((
            Algorithm::EdDSA,
            EncodingKey::from_ed_pem(include_bytes!("testdata/ed25519.pem")).unwrap(),
            DecodingKey::from_ed_pem(include_bytes!("testdata/ed25519.pub.pem")).unwrap(),
            Some(EncodingKey::from_ed_pem(include_bytes!("testdata/ed25519b.pem")).unwrap()),
        ));
        pairs
    }

    #[tokio::test]
    async fn every_algorithm_verifies_only_its_own_tokens() {
        let claims = alice(Some(now() + 60), None);
        let pairs = key_pairs();
        for (alg, signing, verifying, wrong) in &pairs {
            let auth = server::<Claims>(*alg, VerifyingKeys::new(verifying.clone())).build();
            let e = Endpoint::new(&[auth], |ctx: Context, ()| async move {
                Ok(super::claims::<Claims>(&ctx).unwrap().sub.clone())
            });
            let sign = |key: &EncodingKey, alg: Algorithm| {
                let t = jsonwebtoken::encode(&jsonwebtoken::Header::new(alg), &claims, key);
                format!("Bearer {}", t.unwrap())
            };
            assert_eq!(
                call(&e, Some(&sign(signing, *alg))).await.unwrap(),
                "alice",
                "{alg:?}"
            );
            if let Some(wrong) = wrong {
                let bearer = sign(wrong, *alg);
                assert_eq!(
                    message(call(&e, Some(&bearer)).await),
                    TOKEN_PARSE_FAIL,
                    "{alg:?}"
                );
            }
            // Every other algorithm's valid token is refused before any verification.
            for (other, other_key, _, _) in &pairs {
                if other != alg {
                    let bearer = sign(other_key, *other);
                    let got = message(call(&e, Some(&bearer)).await);
                    assert_eq!(got, WRONG_SIGNING_METHOD, "{other:?} on {alg:?}");
                }
            }
        }
        // The classic confusion: an HS256 token keyed with the RSA public key, sent to an
        // RS256 server.
        let public_pem = include_bytes!("testdata/rsa.pub.pem");
        let forged = token(Algorithm::HS256, public_pem, &claims);
        let auth = server::<Claims>(
            Algorithm::RS256,
            DecodingKey::from_rsa_pem(public_pem).unwrap(),
        )
        .build();
        let e = Endpoint::new(
            &[auth],
            |_ctx: Context, ()| async move { Ok(String::new()) },
        );
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {forged}"))).await),
            WRONG_SIGNING_METHOD
        );
    }

    #[tokio::test]
    async fn leeway_accepts_slightly_expired_and_early_tokens() {
        let e = endpoint(VerifyingKeys::new(DecodingKey::from_secret(b"k")), 120);
        for claims in [alice(Some(now() - 60), None), alice(None, Some(now() + 60))] {
            let t = token(Algorithm::HS256, b"k", &claims);
            assert_eq!(
                call(&e, Some(&format!("Bearer {t}"))).await.unwrap(),
                "alice"
            );
        }
        let t = token(Algorithm::HS256, b"k", &alice(Some(now() - 300), None));
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {t}"))).await),
            TOKEN_EXPIRED
        );
    }

    #[tokio::test]
    async fn keys_rotate_at_run_time_and_by_kid() {
        let keys = VerifyingKeys::new(DecodingKey::from_secret(b"old"));
        let e = endpoint(keys.clone(), 0);
        let claims = alice(Some(now() + 60), None);
        let old = format!("Bearer {}", token(Algorithm::HS256, b"old", &claims));
        let new = format!("Bearer {}", token(Algorithm::HS256, b"new", &claims));
        assert!(call(&e, Some(&old)).await.is_ok());
        keys.set_default(DecodingKey::from_secret(b"new"));
        assert_eq!(message(call(&e, Some(&old)).await), TOKEN_PARSE_FAIL);
        assert!(call(&e, Some(&new)).await.is_ok());
        // A token naming a kid is verified with that key.
        keys.insert("v1", DecodingKey::from_secret(b"old"));
        let mut header = jsonwebtoken::Header::new(Algorithm::HS256);
        header.kid = Some("v1".into());
        let by_kid =
            jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(b"old")).unwrap();
        assert!(call(&e, Some(&format!("Bearer {by_kid}"))).await.is_ok());
        keys.remove("v1");
        assert_eq!(
            message(call(&e, Some(&format!("Bearer {by_kid}"))).await),
            TOKEN_PARSE_FAIL
        );
        // No key at all: unverifiable.
        let e = endpoint(VerifyingKeys::empty(), 0);
        assert_eq!(message(call(&e, Some(&new)).await), TOKEN_INVALID);
    }

    #[tokio::test]
    async fn client_signs_and_sides_are_checked() {
        let key = SigningKey::with_kid(EncodingKey::from_secret(b"k"), "v7");
        let sign = client(Algorithm::HS256, key.clone(), |ctx: &Context| Claims {
            sub: ctx.operation().to_string(),
            exp: Some(now() + 60),
            nbf: None,
        });
        // The innermost handler sees the header the middleware set.
        let seen = Endpoint::new(std::slice::from_ref(&sign), |ctx: Context, ()| async move {
            let value = ctx
                .outgoing_headers()
                .get("authorization")
                .unwrap()
                .to_str()
                .unwrap()
                .to_owned();
            Ok(value)
        });
        let ctx = Context::client(Kind::Grpc, "/a.B/C", Default::default(), Default::default());
        let value = seen.call(ctx, ()).await.unwrap();
        let token = value.strip_prefix("Bearer ").unwrap();
        assert_eq!(
            jsonwebtoken::decode_header(token).unwrap().kid.as_deref(),
            Some("v7")
        );
        let verified = jsonwebtoken::decode::<Claims>(
            token,
            &DecodingKey::from_secret(b"k"),
            &jsonwebtoken::Validation::new(Algorithm::HS256),
        )
        .unwrap();
        assert_eq!(verified.claims.sub, "/a.B/C");
        // The client middleware on a server call, the server middleware on a client call.
        let server_ctx = Context::new(Kind::Http, "/a.B/C", Default::default());
        assert_eq!(message(seen.call(server_ctx, ()).await), WRONG_CONTEXT);
        let e = endpoint(VerifyingKeys::new(DecodingKey::from_secret(b"k")), 0);
        let mut headers = http::HeaderMap::new();
        headers.insert("authorization", value.parse().unwrap());
        let client_ctx = Context::client(Kind::Http, "/a.B/C", headers, Default::default());
        assert_eq!(message(e.call(client_ctx, ()).await), WRONG_CONTEXT);
        // A key that does not fit the algorithm cannot sign.
        key.rotate(EncodingKey::from_secret(b"k"), None);
        let bad = client(Algorithm::RS256, key, |_: &Context| alice(None, None));
        let fails = Endpoint::new(&[bad], |_ctx: Context, ()| async move { Ok(String::new()) });
        let ctx = Context::client(Kind::Http, "/a.B/C", Default::default(), Default::default());
        assert_eq!(message(fails.call(ctx, ()).await), SIGN_TOKEN_FAILED);
    }
}
