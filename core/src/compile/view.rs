//! The decision as a borrowed view: what [`Verdict::view`](super::Verdict::view) builds
//! and serializes exactly as the owned [`Decision`] serializes, while borrowing the
//! engine's resource names, the road's hops and caveats and the route from the verdict
//! instead of copying them. A binding that only writes the decision out (JSON text, a
//! JavaScript object) serializes the view; [`DecisionView::to_decision`] makes the owned
//! decision, so that both forms come from one computation.

use std::borrow::Cow;

use serde::ser::{Serialize, SerializeSeq, SerializeStruct, Serializer};

use crate::decision::{Caveat, Decision, DryRunOutcome, Hop, Reason, Route, RouteTls};
use crate::model::{HeaderMutations, ResourceRef};
use crate::road::ClosingHop;

use super::VerdictRoute;

/// A decision that borrows from the engine and the request: the same fields, in the same
/// order, serialized to the same JSON as [`Decision`].
#[derive(Debug, Clone, serde::Serialize)]
pub struct DecisionView<'a> {
    /// Whether the request may leave.
    pub allowed: bool,
    /// HTTP status.
    pub status: u16,
    /// Stable reason code.
    pub reason: Reason,
    /// What the client sees, or a short summary.
    pub message: Cow<'a, str>,
    /// The deciding policy.
    pub policy: Option<&'a ResourceRef>,
    /// The deciding rule's index in that policy.
    pub rule: Option<usize>,
    /// Outcome of dry-run policies, when any applied (rare: owned).
    pub dry_run: Option<DryRunOutcome>,
    /// Whether an AUDIT policy matched.
    pub audit: bool,
    /// The route, when allowed.
    pub route: Option<VerdictRoute<'a>>,
    /// The road, hop by hop.
    pub hops: HopsView<'a>,
    /// Every assumption made.
    pub caveats: CaveatsView<'a>,
}

impl DecisionView<'_> {
    /// The owned decision.
    pub fn to_decision(&self) -> Decision {
        Decision {
            allowed: self.allowed,
            status: self.status,
            reason: self.reason,
            message: self.message.to_string(),
            policy: self.policy.cloned(),
            rule: self.rule,
            dry_run: self.dry_run.clone(),
            audit: self.audit,
            route: self.route.as_ref().map(VerdictRoute::to_route),
            hops: self.hops.to_vec(),
            caveats: self.caveats.to_vec(),
        }
    }
}

impl VerdictRoute<'_> {
    /// The owned route.
    pub fn to_route(&self) -> Route {
        Route {
            gateway: self.gateway.cloned(),
            service: self.service.cloned(),
            host: self.host.to_string(),
            port: self.port,
            tls: self.tls.map(|t| RouteTls {
                mode: t.mode,
                sni: t.sni.to_string(),
                origin: t.origin.clone(),
            }),
            headers: self.headers.map(|(_, h)| h.clone()).unwrap_or_default(),
            virtual_service: self.headers.map(|(vs, _)| vs.clone()),
        }
    }
}

/// The same fields, in the same order, as [`Route`]'s derived form: the header mutations
/// (empty without a VirtualService) and the VirtualService apart.
impl Serialize for VerdictRoute<'_> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut route = serializer.serialize_struct("Route", 7)?;
        route.serialize_field("gateway", &self.gateway)?;
        route.serialize_field("service", &self.service)?;
        route.serialize_field("host", self.host)?;
        route.serialize_field("port", &self.port)?;
        route.serialize_field("tls", &self.tls)?;
        match self.headers {
            Some((_, headers)) => route.serialize_field("headers", headers)?,
            None => route.serialize_field("headers", &HeaderMutations::default())?,
        }
        route.serialize_field("virtual_service", &self.headers.map(|(vs, _)| vs))?;
        route.end()
    }
}

/// The hops: the road's own, borrowed, then those authorization closes it with
/// (authorization, then a response, or TLS origination and the exit).
pub type HopsView<'a> = RoadThen<'a, Hop, ClosingHop<'a>>;

/// The caveats: the road's, borrowed, then those the deciding proxy adds (assumptions of
/// the attached policies, a workload without a proxy, an undeclared CUSTOM provider).
pub type CaveatsView<'a> = RoadThen<'a, Caveat, Caveat>;

/// A list the road began, borrowed, and what the verdict added after it; serialized as
/// one sequence, the road's items first.
#[derive(Debug, Clone)]
pub struct RoadThen<'a, T, U> {
    /// The road's items.
    pub road: &'a [T],
    /// Added after the road.
    pub added: Vec<U>,
}

impl<T, U> Default for RoadThen<'_, T, U> {
    fn default() -> Self {
        RoadThen {
            road: &[],
            added: Vec::new(),
        }
    }
}

/// An added item's owned form.
pub trait ToItem<T> {
    /// The owned item.
    fn to_item(&self) -> T;
}

impl ToItem<Hop> for ClosingHop<'_> {
    fn to_item(&self) -> Hop {
        self.to_hop()
    }
}

impl ToItem<Caveat> for Caveat {
    fn to_item(&self) -> Caveat {
        self.clone()
    }
}

impl<T: Clone, U: ToItem<T>> RoadThen<'_, T, U> {
    /// How many items.
    pub fn len(&self) -> usize {
        self.road.len() + self.added.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The owned items.
    pub fn to_vec(&self) -> Vec<T> {
        let mut items = Vec::with_capacity(self.len());
        items.extend_from_slice(self.road);
        items.extend(self.added.iter().map(ToItem::to_item));
        items
    }
}

impl<T: Serialize, U: Serialize> Serialize for RoadThen<'_, T, U> {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut seq = serializer.serialize_seq(Some(self.road.len() + self.added.len()))?;
        for item in self.road {
            seq.serialize_element(item)?;
        }
        for item in &self.added {
            seq.serialize_element(item)?;
        }
        seq.end()
    }
}
