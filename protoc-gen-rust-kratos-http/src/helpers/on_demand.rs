//! Functions generated once per message, on demand: the first request for a message names its
//! function and queues the message; the generator then drains the queue (which may grow as
//! functions ask for their nested messages).

use std::collections::BTreeMap;

use kratos_codegen::names::{ident, snake_word};
use proc_macro2::Ident;
use prost_reflect::MessageDescriptor;

/// The functions of one kind (`__form_*`, `__gov_*`, ...) of one output file.
pub(crate) struct OnDemand {
    prefix: &'static str,
    suffix: &'static str,
    names: BTreeMap<String, Ident>,
    pending: Vec<MessageDescriptor>,
}

impl OnDemand {
    /// Functions named `<prefix><message full name in snake case><suffix>`.
    pub(crate) fn new(prefix: &'static str, suffix: &'static str) -> Self {
        OnDemand {
            prefix,
            suffix,
            names: BTreeMap::new(),
            pending: Vec::new(),
        }
    }

    /// The function of `message`, queued for generation the first time it is asked for.
    pub(crate) fn of(&mut self, message: &MessageDescriptor) -> Ident {
        if let Some(ident) = self.names.get(message.full_name()) {
            return ident.clone();
        }
        let mangled = message
            .full_name()
            .split('.')
            .map(snake_word)
            .collect::<Vec<_>>()
            .join("_");
        let name = ident(&format!("{}{}{}", self.prefix, mangled, self.suffix));
        self.names
            .insert(message.full_name().to_string(), name.clone());
        self.pending.push(message.clone());
        name
    }

    /// The next message whose function is still to be generated.
    pub(crate) fn next(&mut self) -> Option<MessageDescriptor> {
        self.pending.pop()
    }
}
