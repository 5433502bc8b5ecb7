//! Where a rule's parts were written, in the terms of the file the user wrote.
//!
//! The model speaks Istio's shape (`from[0].source.principals`, `to[0].operation.hosts`,
//! `when[1]`) for every vendor. An [`Origin`] maps such model paths back to the user's
//! document: a Gloo `allowedClients` entry, a TSB `authorization[].to` list. Importers
//! fill it; explanations read it ([`Origin::user_path`]).

use serde::{Deserialize, Serialize};

/// One mapping from a model path to the path the user wrote.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OriginField {
    /// The model path, relative to the rule (`from[0].source`, `to[0].operation.methods`).
    pub model: String,
    /// The path in the user's resource (`spec.config.authz.allowedClients[0]`).
    pub user: String,
    /// Whether the rest of a longer model path is appended to `user` (a nested element
    /// whose fields keep Istio's names); otherwise every field under `model` maps to `user`
    /// itself (a value the importer turned into several model fields).
    pub nested: bool,
}

/// Where a rule was written: its own path and the model paths whose user path is not
/// `<rule path>.<model path>`.
///
/// A rule's equality ignores it ([`RuleOrigin`] always compares equal): two rules that mean the
/// same are the same rule wherever they were written.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// The rule's path in its resource (`spec.rules[0]`, `spec.authorization[2]`).
    pub rule: String,
    /// Exceptions to `<rule>.<model path>`.
    pub fields: Vec<OriginField>,
}

impl Origin {
    /// An origin whose parts keep Istio's names under `rule` (an AuthorizationPolicy rule).
    pub fn at(rule: String) -> Self {
        Origin {
            rule,
            fields: Vec::new(),
        }
    }

    /// Maps model path `model` (and, when `nested`, everything under it) to `user`.
    pub fn map(&mut self, model: impl Into<String>, user: impl Into<String>, nested: bool) {
        self.fields.push(OriginField {
            model: model.into(),
            user: user.into(),
            nested,
        });
    }

    /// The user's path of model path `model` (relative to the rule): the longest mapped
    /// prefix decides; without one, `<rule>.<model>`.
    ///
    /// ```
    /// use egress_policy::model::Origin;
    /// let mut origin = Origin::at("spec.config.authz".into());
    /// origin.map("from[0].source", "spec.config.authz.allowedClients[1]", true);
    /// origin.map("to[0].operation.methods", "spec.config.authz.allowedMethods", false);
    /// assert_eq!(
    ///     origin.user_path("from[0].source.serviceAccountSelector.labels"),
    ///     "spec.config.authz.allowedClients[1].serviceAccountSelector.labels"
    /// );
    /// assert_eq!(origin.user_path("to[0].operation.methods"), "spec.config.authz.allowedMethods");
    /// assert_eq!(origin.user_path("when[0]"), "spec.config.authz.when[0]");
    /// ```
    pub fn user_path(&self, model: &str) -> String {
        let best = self
            .fields
            .iter()
            .filter_map(|f| {
                let rest = model.strip_prefix(f.model.as_str())?;
                (rest.is_empty() || rest.starts_with('.') || rest.starts_with('['))
                    .then_some((f, rest))
            })
            .max_by_key(|(f, _)| f.model.len());
        match best {
            Some((f, rest)) if f.nested => format!("{}{rest}", f.user),
            Some((f, _)) => f.user.clone(),
            None if self.rule.is_empty() => model.to_string(),
            None => format!("{}.{model}", self.rule),
        }
    }
}

/// A rule's [`Origin`], boxed (one pointer per rule when present) and ignored by equality.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RuleOrigin(pub Option<Box<Origin>>);

impl RuleOrigin {
    /// Wraps an origin.
    pub fn new(origin: Origin) -> Self {
        RuleOrigin(Some(Box::new(origin)))
    }

    /// Whether no origin was recorded.
    pub fn is_none(&self) -> bool {
        self.0.is_none()
    }

    /// The origin, when the importer recorded one.
    pub fn get(&self) -> Option<&Origin> {
        self.0.as_deref()
    }
}

impl PartialEq for RuleOrigin {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for RuleOrigin {}
