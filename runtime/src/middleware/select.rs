//! Kratos' `selector` middleware: middleware applied only to the operations that match a
//! prefix, a regular expression (matching the whole operation), an exact path or a predicate.

use std::sync::Arc;

use super::{Handler, Middleware, chain};

/// Why a selector could not be built.
#[derive(Debug, thiserror::Error)]
#[error("invalid selector regex '{pattern}': {reason}")]
pub struct SelectError {
    /// The pattern as given.
    pub pattern: String,
    /// The regex compiler's message.
    pub reason: String,
}

/// A selection predicate on the operation.
type Predicate = Arc<dyn Fn(&str) -> bool + Send + Sync>;

#[derive(Clone, Default)]
struct Rules {
    prefixes: Vec<String>,
    regexes: Vec<regex::Regex>,
    paths: Vec<String>,
    predicates: Vec<Predicate>,
}

impl Rules {
    fn matches(&self, operation: &str) -> bool {
        self.paths.iter().any(|p| p == operation)
            || self
                .prefixes
                .iter()
                .any(|p| operation.starts_with(p.as_str()))
            || self.regexes.iter().any(|r| r.is_match(operation))
            || self.predicates.iter().any(|f| f(operation))
    }
}

/// Builds a selector middleware: see [`select`].
#[derive(Clone)]
pub struct SelectBuilder {
    middleware: Vec<Middleware>,
    rules: Rules,
}

impl std::fmt::Debug for SelectBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SelectBuilder")
            .field("middleware", &self.middleware.len())
            .field("prefixes", &self.rules.prefixes)
            .field("regexes", &self.rules.regexes)
            .field("paths", &self.rules.paths)
            .field("predicates", &self.rules.predicates.len())
            .finish()
    }
}

/// Middleware `middleware` (in onion order) applied only to the operations the rules added
/// with [`SelectBuilder::prefix`], [`SelectBuilder::regex`], [`SelectBuilder::path`] and
/// [`SelectBuilder::matching`] select; other calls pass straight through.
///
/// ```
/// use kratos::middleware::{logging, select};
/// let only_admin = select(vec![logging()])
///     .prefix("/admin.v1.")
///     .regex("/shop\\.v1\\.Cart/(Add|Remove)")
///     .unwrap()
///     .build();
/// # let _ = only_admin;
/// ```
pub fn select(middleware: Vec<Middleware>) -> SelectBuilder {
    SelectBuilder {
        middleware,
        rules: Rules::default(),
    }
}

impl SelectBuilder {
    /// Selects operations starting with `prefix`.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.rules.prefixes.push(prefix.into());
        self
    }

    /// Selects operations that `pattern` matches entirely (it is anchored at both ends).
    pub fn regex(mut self, pattern: &str) -> Result<Self, SelectError> {
        let regex = regex::Regex::new(&format!("^(?:{pattern})$")).map_err(|e| SelectError {
            pattern: pattern.to_string(),
            reason: e.to_string(),
        })?;
        self.rules.regexes.push(regex);
        Ok(self)
    }

    /// Selects exactly the operation `path`.
    pub fn path(mut self, path: impl Into<String>) -> Self {
        self.rules.paths.push(path.into());
        self
    }

    /// Selects the operations `predicate` accepts.
    pub fn matching(mut self, predicate: impl Fn(&str) -> bool + Send + Sync + 'static) -> Self {
        self.rules.predicates.push(Arc::new(predicate));
        self
    }

    /// The middleware.
    pub fn build(self) -> Middleware {
        let SelectBuilder { middleware, rules } = self;
        let rules = Arc::new(rules);
        Middleware::new(move |next: Handler| {
            let selected = chain(&middleware, next.clone());
            let rules = rules.clone();
            Handler::from_fn(move |ctx, req| {
                if rules.matches(ctx.operation()) {
                    selected.call(ctx, req)
                } else {
                    next.call(ctx, req)
                }
            })
        })
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Mutex;

    use super::*;
    use crate::context::{Context, Kind};
    use crate::middleware::{Endpoint, Message};

    #[tokio::test]
    async fn applies_only_to_selected_operations() {
        let seen = Arc::new(Mutex::new(Vec::new()));
        let record = {
            let seen = seen.clone();
            Middleware::new(move |next: Handler| {
                let seen = seen.clone();
                Handler::new(move |ctx: Context, req: Message| {
                    seen.lock().unwrap().push(ctx.operation());
                    let next = next.clone();
                    async move { next.call(ctx, req).await }
                })
            })
        };
        // Kratos' case: Prefix("/hello/").Regex("/test/[0-9]+").Path("/example/kratos").
        let selector = select(vec![record])
            .prefix("/hello/")
            .regex("/test/[0-9]+")
            .unwrap()
            .path("/example/kratos")
            .build();
        let endpoint = Endpoint::new(&[selector], |_ctx, req: String| async move { Ok(req) });
        for op in [
            "/hello/world",
            "/test/1234",
            "/example/kratos",
            "/hi/world",
            "/test/12a",
            "/example/kratos/x",
        ] {
            let ctx = Context::new(Kind::Http, op, Default::default());
            assert_eq!(endpoint.call(ctx, op.to_string()).await.unwrap(), op);
        }
        assert_eq!(
            *seen.lock().unwrap(),
            ["/hello/world", "/test/1234", "/example/kratos"]
        );
        assert!(select(vec![]).regex("(").is_err());
    }
}
