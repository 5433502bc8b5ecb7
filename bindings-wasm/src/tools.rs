//! Argument handling and report shapes of the policy tools (`egress_policy::tools`): lint,
//! reach and diff. Every finding and class is computed by the core; the reports are the
//! core's serde forms (the CLI's `--json` output) plus a few computed fields. Plain Rust,
//! unit-tested natively; `lib.rs` turns [`ArgError`] into JavaScript exceptions.

use egress_policy::request::{InvalidWorkload, Workload};
use egress_policy::tools::partition::{HostChoice, IdentityChoice};
use egress_policy::tools::reach::valid_authority;
use egress_policy::tools::{
    DiffOptions, DiffReport, Partition, Point, ReachOptions, TestReport, ValueClass,
};
use egress_policy::Engine;
use serde::Serialize;
use serde_json::{Map, Value};

/// A bad argument: `TypeError` (wrong shape) or `RangeError` (a value out of its domain).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ArgError {
    /// Thrown as a `TypeError`.
    Type(String),
    /// Thrown as a `RangeError`.
    Range(String),
}

/// A test report with `ok`: the file loaded and every case passed.
#[derive(Debug, Serialize)]
pub struct TestOutput {
    /// The core's report.
    #[serde(flatten)]
    pub report: TestReport,
    /// [`TestReport::ok`].
    pub ok: bool,
}

impl From<TestReport> for TestOutput {
    fn from(report: TestReport) -> Self {
        let ok = report.ok();
        TestOutput { report, ok }
    }
}

/// A diff report with its counts.
#[derive(Debug, Serialize)]
pub struct DiffOutput {
    /// The core's report.
    #[serde(flatten)]
    pub report: DiffReport,
    /// [`DiffReport::changed`].
    pub changed: bool,
    /// [`DiffReport::newly_allowed`].
    pub newly_allowed: usize,
    /// [`DiffReport::newly_denied`].
    pub newly_denied: usize,
}

impl From<DiffReport> for DiffOutput {
    fn from(report: DiffReport) -> Self {
        DiffOutput {
            changed: report.changed(),
            newly_allowed: report.newly_allowed(),
            newly_denied: report.newly_denied(),
            report,
        }
    }
}

/// What `engine.reach(query)` asks about.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Subject {
    /// Who may reach this authority.
    Host(String),
    /// Which hosts this identity may reach (`None`: plaintext).
    Identity(Option<String>),
}

/// The members of an options object, or a `TypeError`.
fn members<'v>(
    value: &'v Value,
    what: &str,
    allowed: &[&str],
) -> Result<&'v Map<String, Value>, ArgError> {
    let Value::Object(map) = value else {
        return Err(ArgError::Type(format!("{what} must be an object")));
    };
    if let Some(key) = map.keys().find(|k| !allowed.contains(&k.as_str())) {
        let expected: Vec<String> = allowed.iter().map(|k| format!("`{k}`")).collect();
        return Err(ArgError::Type(format!(
            "unknown field `{key}` in {what}; expected one of {}",
            expected.join(", ")
        )));
    }
    Ok(map)
}

fn flag(map: &Map<String, Value>, key: &str) -> Result<bool, ArgError> {
    match map.get(key) {
        None | Some(Value::Null) => Ok(false),
        Some(Value::Bool(b)) => Ok(*b),
        Some(_) => Err(ArgError::Type(format!("`{key}` must be a boolean"))),
    }
}

/// Parses `NS/NAME` (a Gateway-API gateway) or `NS/key=value,...` (pod labels), the syntax
/// of the CLI's `--workload` (the core's `Workload::from_str`).
pub fn parse_workload(value: &str) -> Result<Workload, String> {
    value
        .parse()
        .map_err(|e: InvalidWorkload| format!("invalid workload {value:?}: {e}"))
}

/// The points of `workloads`: each a string as the CLI's `--workload` or an object
/// `{namespace, labels}` as a request's `workload`.
fn workload_points(map: &Map<String, Value>) -> Result<Vec<Point>, ArgError> {
    let items =
        match map.get("workloads") {
            None | Some(Value::Null) => return Ok(Vec::new()),
            Some(Value::Array(items)) => items,
            Some(_) => return Err(ArgError::Type(
                "`workloads` must be a list of \"NS/NAME\" strings or {namespace, labels} objects"
                    .to_string(),
            )),
        };
    let mut points = Vec::new();
    for (index, item) in items.iter().enumerate() {
        let workload = match item {
            Value::String(text) => parse_workload(text)
                .map_err(|e| ArgError::Range(format!("workloads[{index}]: {e}")))?,
            other => <Workload as serde::Deserialize>::deserialize(other)
                .map_err(|e| ArgError::Type(format!("workloads[{index}]: {e}")))?,
        };
        points.push(Point::at(workload));
    }
    Ok(points)
}

/// Reads `{host} | {identity}` with optional `workloads` and `allGateways`, and the points
/// to decide at (as the CLI's `reach` builds them).
pub fn reach_query(engine: &Engine, query: &Value) -> Result<(Subject, ReachOptions), ArgError> {
    let map = members(
        query,
        "the reach query",
        &["host", "identity", "workloads", "allGateways"],
    )?;
    let subject = match (map.get("host"), map.get("identity")) {
        (Some(_), Some(_)) | (None, None) => {
            return Err(ArgError::Type(
                "reach() takes exactly one of `host` or `identity`".to_string(),
            ))
        }
        (Some(Value::String(host)), None) => {
            if !valid_authority(host) {
                return Err(ArgError::Range(format!(
                    "invalid host {host:?}: expected an authority as clients send it (`host` or `host:port`)"
                )));
            }
            Subject::Host(host.clone())
        }
        (Some(_), None) => return Err(ArgError::Type("`host` must be a string".to_string())),
        (None, Some(Value::Null)) => Subject::Identity(None),
        (None, Some(Value::String(identity))) => {
            Subject::Identity(egress_policy::request::sender_identity(identity).map(str::to_string))
        }
        (None, Some(_)) => {
            return Err(ArgError::Type(
                "`identity` must be a string, or null for plaintext".to_string(),
            ))
        }
    };
    let all_gateways = flag(map, "allGateways")?;
    let named = workload_points(map)?
        .into_iter()
        .filter_map(|p| p.workload)
        .collect();
    Ok((
        subject,
        ReachOptions::for_model(engine.model(), named, all_gateways),
    ))
}

/// Reads `{workloads, compareReason}` (both optional; `null` or absent = defaults).
pub fn diff_options(options: &Value) -> Result<DiffOptions, ArgError> {
    if options.is_null() {
        return Ok(DiffOptions::default());
    }
    let map = members(options, "the diff options", &["workloads", "compareReason"])?;
    Ok(DiffOptions {
        points: workload_points(map)?,
        compare_reason: flag(map, "compareReason")?,
    })
}

/// The request classes the policies tell apart at one point (`engine.requestClasses`): the
/// core's partition ([`Partition::cells`]) with its host, method and path classes listed once
/// each, in enumeration order. `any other host` is the class of hosts no policy or registry
/// entry names.
#[derive(Debug, Serialize, PartialEq)]
pub struct RequestClasses {
    /// Where the classes were computed (`routed`, `workload ns/labels`).
    pub point: String,
    /// Host (authority) classes.
    pub hosts: Vec<ValueClass>,
    /// Method classes.
    pub methods: Vec<ValueClass>,
    /// Path classes.
    pub paths: Vec<ValueClass>,
}

/// Reads `{workload}` (optional: a request `workload` object or an `NS/NAME` string) and
/// lists the classes of [`RequestClasses`] at that point (default: routed).
pub fn request_classes(engine: &Engine, options: &Value) -> Result<RequestClasses, ArgError> {
    let point = if options.is_null() {
        Point::routed()
    } else {
        let map = members(options, "the request-classes options", &["workload"])?;
        match map.get("workload") {
            None | Some(Value::Null) => Point::routed(),
            Some(Value::String(text)) => Point::at(
                parse_workload(text).map_err(|e| ArgError::Range(format!("workload: {e}")))?,
            ),
            Some(other) => Point::at(
                <Workload as serde::Deserialize>::deserialize(other)
                    .map_err(|e| ArgError::Type(format!("workload: {e}")))?,
            ),
        }
    };
    let partition = Partition::new(&[engine.model()]);
    let mut out = RequestClasses {
        point: point.label.clone(),
        hosts: Vec::new(),
        methods: Vec::new(),
        paths: Vec::new(),
    };
    partition.cells(&point, HostChoice::All, IdentityChoice::All, |cell| {
        for (list, class) in [
            (&mut out.hosts, cell.host),
            (&mut out.methods, cell.method),
            (&mut out.paths, cell.path),
        ] {
            if !list.contains(&class) {
                list.push(class);
            }
        }
    });
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use egress_policy::model::GATEWAY_NAME_LABEL;
    use serde_json::json;

    const WAYPOINT: &str = "apiVersion: gateway.networking.k8s.io/v1\nkind: Gateway\nmetadata: {name: wp, namespace: egress}\nspec:\n  gatewayClassName: istio-waypoint\n  listeners: [{name: mesh, port: 15008, protocol: HBONE}]\n";

    fn engine() -> Engine {
        Engine::from_yaml("wp.yaml", WAYPOINT).unwrap()
    }

    #[test]
    fn workloads_parse_like_the_cli() {
        let w = parse_workload("egress/wp").unwrap();
        assert_eq!(w.namespace, "egress");
        assert_eq!(
            w.labels.get(GATEWAY_NAME_LABEL).map(String::as_str),
            Some("wp")
        );
        let w = parse_workload("ns/app=gw, tier=edge").unwrap();
        assert_eq!(w.labels.len(), 2);
        assert!(parse_workload("nope").is_err());
        assert!(parse_workload("/x").is_err());
        assert!(parse_workload("a/b/c").is_err());
    }

    #[test]
    fn reach_queries() {
        let e = engine();
        let (s, o) = reach_query(&e, &json!({"host": "httpbin.org"})).unwrap();
        assert_eq!(s, Subject::Host("httpbin.org".into()));
        assert_eq!(o.points, [Point::routed()]);
        let (s, _) = reach_query(&e, &json!({"identity": null})).unwrap();
        assert_eq!(s, Subject::Identity(None));
        let (s, _) = reach_query(&e, &json!({"identity": "None"})).unwrap();
        assert_eq!(s, Subject::Identity(None));
        let (_, o) = reach_query(&e, &json!({"host": "a", "workloads": ["egress/wp"]})).unwrap();
        assert_eq!(o.points.len(), 1);
        assert!(o.points[0].workload.is_some());
        let (_, o) = reach_query(&e, &json!({"host": "a", "allGateways": true})).unwrap();
        assert_eq!(o.points.len(), 2);
        let (_, o) = reach_query(
            &e,
            &json!({"host": "a", "workloads": [{"namespace": "egress", "labels": {"app": "gw"}}]}),
        )
        .unwrap();
        assert_eq!(o.points[0].label, "workload egress/app=gw");
        let err = |q: Value| reach_query(&e, &q).unwrap_err();
        assert!(matches!(err(json!({})), ArgError::Type(_)));
        assert!(matches!(
            err(json!({"host": "a", "identity": "b"})),
            ArgError::Type(_)
        ));
        assert!(matches!(err(json!({"host": 1})), ArgError::Type(_)));
        assert!(matches!(err(json!({"host": "a b"})), ArgError::Range(_)));
        assert!(
            matches!(err(json!({"host": "a", "nope": 1})), ArgError::Type(m) if m.contains("`nope`"))
        );
        assert!(matches!(
            err(json!({"host": "a", "workloads": ["x"]})),
            ArgError::Range(_)
        ));
        assert!(matches!(
            err(json!({"host": "a", "workloads": [{"ns": "x"}]})),
            ArgError::Type(_)
        ));
        assert!(matches!(err(json!("a")), ArgError::Type(_)));
    }

    #[test]
    fn request_classes_list_each_class_once() {
        let files = [
            (
                "waypoint.yaml",
                include_str!("../../examples/policies/istio-waypoint/waypoint.yaml"),
            ),
            (
                "se.yaml",
                include_str!("../../examples/policies/istio-waypoint/httpbin-serviceentry.yaml"),
            ),
            (
                "authz.yaml",
                include_str!("../../examples/policies/istio-waypoint/httpbin-authz.yaml"),
            ),
        ];
        let e = Engine::from_files(files).unwrap();
        let c = request_classes(&e, &Value::Null).unwrap();
        assert_eq!(c.point, "routed");
        let labels = |l: &[ValueClass]| l.iter().map(|c| c.label.clone()).collect::<Vec<_>>();
        assert!(labels(&c.hosts).contains(&"httpbin.org".to_string()));
        assert!(labels(&c.hosts).contains(&"any other host".to_string()));
        assert!(labels(&c.methods).contains(&"GET".to_string()));
        assert!(labels(&c.paths).contains(&"/get".to_string()));
        let hosts = labels(&c.hosts);
        let mut unique = hosts.clone();
        unique.dedup();
        assert_eq!(hosts.len(), unique.len());
        let at = request_classes(&e, &json!({"workload": {"namespace": "egress"}})).unwrap();
        assert_eq!(at.point, "workload egress/");
        assert!(matches!(
            request_classes(&e, &json!({"nope": 1})),
            Err(ArgError::Type(_))
        ));
        assert!(matches!(
            request_classes(&e, &json!({"workload": "x"})),
            Err(ArgError::Range(_))
        ));
    }

    #[test]
    fn diff_option_defaults() {
        assert_eq!(diff_options(&Value::Null).unwrap(), DiffOptions::default());
        let o = diff_options(&json!({"compareReason": true, "workloads": ["egress/wp"]})).unwrap();
        assert!(o.compare_reason);
        assert_eq!(o.points.len(), 1);
        assert!(diff_options(&json!({"compare_reason": true})).is_err());
    }

    #[test]
    fn lints_are_located_in_the_sources() {
        let text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\nmetadata: {name: d, namespace: egress}\nspec:\n  action: DENY\n  rules:\n  - to:\n    - operation:\n        hosts: [\"api.example.com\"]\n";
        let engine = Engine::from_yaml("p.yaml", text).unwrap();
        let lints = egress_policy::tools::lint(engine.model());
        let lint = lints
            .iter()
            .find(|l| l.code.is_some_and(|c| c == "deny-host-without-port"))
            .unwrap();
        assert_eq!(lint.location.line, 9);
    }
}
