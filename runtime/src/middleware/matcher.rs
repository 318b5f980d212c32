//! Which middleware apply to an operation (Kratos' operation matcher).

use std::collections::HashMap;

use super::Middleware;

/// Middleware for every operation, plus groups matched by operation (Kratos' `matcher.Matcher`).
///
/// A pattern ending in `*` is a prefix (`/helloworld.v1.Greeter/*`, or `*` for everything);
/// any other pattern is an exact operation (`/helloworld.v1.Greeter/SayHello`). An operation
/// gets the defaults followed by one group: its exact match, else the longest matching prefix.
#[derive(Debug, Clone, Default)]
pub struct Matcher {
    defaults: Vec<Middleware>,
    exact: HashMap<String, Vec<Middleware>>,
    /// Sorted by descending prefix, so that the more specific prefix is found first.
    prefixes: Vec<(String, Vec<Middleware>)>,
}

impl Matcher {
    /// An empty matcher.
    pub fn new() -> Self {
        Matcher::default()
    }

    /// Adds middleware applied to every operation.
    pub fn with(&mut self, middleware: Middleware) -> &mut Self {
        self.defaults.push(middleware);
        self
    }

    /// Adds middleware for the operations `pattern` matches.
    pub fn add(&mut self, pattern: &str, middleware: Vec<Middleware>) -> &mut Self {
        match pattern.strip_suffix('*') {
            Some(prefix) => {
                match self.prefixes.iter_mut().find(|(p, _)| p == prefix) {
                    Some((_, list)) => list.extend(middleware),
                    None => self.prefixes.push((prefix.to_string(), middleware)),
                }
                self.prefixes.sort_by(|a, b| b.0.cmp(&a.0));
            }
            None => self
                .exact
                .entry(pattern.to_string())
                .or_default()
                .extend(middleware),
        }
        self
    }

    /// The method `f` behind the middleware this selector applies to `operation`, with the
    /// request type's validator: what generated gRPC adapters call, on a kratos server or on
    /// any tonic server.
    pub fn endpoint<Req, Rep, F, Fut>(
        &self,
        operation: &'static str,
        validator: Option<crate::validate::Validator>,
        f: F,
    ) -> super::Endpoint<Req, Rep>
    where
        Req: Send + Sync + std::fmt::Debug + 'static,
        Rep: Send + Sync + std::fmt::Debug + 'static,
        F: Fn(crate::Context, Req) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Rep, crate::errors::Error>> + Send + 'static,
    {
        super::Endpoint::with_validator(&self.matching(operation), validator, f)
    }

    /// The middleware for `operation`, in order.
    pub fn matching(&self, operation: &str) -> Vec<Middleware> {
        let mut out = self.defaults.clone();
        if let Some(list) = self.exact.get(operation) {
            out.extend(list.iter().cloned());
        } else if let Some((_, list)) = self
            .prefixes
            .iter()
            .find(|(p, _)| operation.starts_with(p.as_str()))
        {
            out.extend(list.iter().cloned());
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::middleware::Handler;
    use std::sync::Arc;

    fn named(matcher: &mut Matcher, sel: &str) -> Middleware {
        let m = Middleware::new(|h: Handler| h);
        matcher.add(sel, vec![m.clone()]);
        m
    }

    fn same(a: &[Middleware], b: &[&Middleware]) -> bool {
        a.len() == b.len() && a.iter().zip(b).all(|(x, y)| Arc::ptr_eq(&x.0, &y.0))
    }

    #[test]
    fn follows_kratos_matching_rules() {
        let mut s = Matcher::new();
        let logging = Middleware::new(|h: Handler| h);
        s.with(logging.clone());
        let all = named(&mut s, "*");
        let foo = named(&mut s, "/foo/*");
        let foo_bar_prefix = named(&mut s, "/foo/bar/*");
        let foo_bar = named(&mut s, "/foo/bar");
        assert!(same(&s.matching("/"), &[&logging, &all]));
        assert!(same(&s.matching("/foo/xxx"), &[&logging, &foo]));
        assert!(same(&s.matching("/foo/bar"), &[&logging, &foo_bar]));
        assert!(same(
            &s.matching("/foo/bar/x"),
            &[&logging, &foo_bar_prefix]
        ));
    }
}
