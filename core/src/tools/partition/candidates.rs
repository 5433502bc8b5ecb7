//! Representative values per dimension (module docs of [`super`]): hosts, identities,
//! methods and paths built from the pattern texts, and the request they make.

#[allow(clippy::wildcard_imports)]
use super::*;
/// Trust domain, namespace and service account readable from (part of) a SPIFFE URI text.
pub(super) fn spiffe_parts(text: &str) -> (Option<String>, Option<String>, Option<String>) {
    let rest = text.strip_prefix("spiffe://");
    let td = rest
        .and_then(|r| r.split_once('/').map(|(td, _)| td))
        .filter(|td| !td.is_empty())
        .map(str::to_string);
    let segments: Vec<&str> = text.split('/').collect();
    let after = |key: &str| {
        segments
            .windows(3)
            .find(|w| w.first() == Some(&key) && w.get(2).is_some())
            .or_else(|| {
                segments
                    .windows(2)
                    .find(|w| w.first() == Some(&key) && w.get(1).is_some_and(|v| !v.is_empty()))
            })
            .and_then(|w| w.get(1))
            .filter(|v| !v.is_empty())
            .map(|v| v.to_string())
    };
    (td, after("ns"), after("sa"))
}

pub(super) fn host_candidates(
    preds: &[HostPred],
    registry_exact: &BTreeSet<String>,
    registry_wild: &BTreeSet<String>,
) -> Vec<(String, String)> {
    let mut forms = Forms::default();
    let mut ports: BTreeSet<u16> = BTreeSet::new();
    for p in preds {
        match p {
            HostPred::Authority(pattern) => forms.add(pattern),
            HostPred::Port(n) => {
                ports.insert(*n);
            }
            HostPred::Registry(_) => {}
        }
    }
    let mut used: BTreeSet<char> = BTreeSet::new();
    forms.chars(&mut used);
    for h in registry_exact.iter().chain(registry_wild) {
        used.extend(h.chars());
    }
    let c = filler(&used, "qzjxkvwyfbgh");
    // Ports written inside host patterns (`example.com:8080`, `*:8443`).
    for text in forms.exact.iter().chain(&forms.suffix) {
        if let Some((_, port)) = text.rsplit_once(':') {
            if let Ok(n) = port.parse::<u16>() {
                ports.insert(n);
            }
        }
    }
    let other_port = [80u16, 8080, 8443, 9999, 1]
        .into_iter()
        .find(|p| !ports.contains(p))
        .unwrap_or(1);
    ports.insert(other_port);

    // Host names (maybe with a port) and their labels.
    let mut bases: Vec<(String, String)> = Vec::new();
    for exact in &forms.exact {
        bases.push((exact.clone(), exact.clone()));
        if let Some((host, port)) = exact.rsplit_once(':') {
            if port.parse::<u16>().is_ok() {
                bases.push((host.to_string(), host.to_string()));
            }
        }
    }
    for host in registry_exact {
        bases.push((host.clone(), host.clone()));
    }
    for prefix in &forms.prefix {
        match prefix.strip_suffix(':') {
            Some(host) => bases.push((host.to_string(), host.to_string())),
            None => bases.push((
                format!("{prefix}{c}"),
                format!("other hosts matching `{prefix}*`"),
            )),
        }
        for suffix in &forms.suffix {
            bases.push((
                format!("{prefix}{c}{suffix}"),
                format!("other hosts matching `{prefix}*` and `*{suffix}`"),
            ));
        }
    }
    for suffix in &forms.suffix {
        bases.push((
            format!("{c}{suffix}"),
            format!("other hosts matching `*{suffix}`"),
        ));
    }
    for suffix in registry_wild {
        bases.push((
            format!("{c}{suffix}"),
            format!("other hosts matching `*{suffix}`"),
        ));
    }
    for common in ["example.com", "example.org"] {
        let matches_nothing = host_view(common).is_some_and(|v| {
            preds
                .iter()
                .all(|p| matches!(p, HostPred::Port(_)) || !p.holds(&v))
        });
        if matches_nothing {
            bases.push((common.to_string(), "any other host".to_string()));
        }
    }
    bases.push((c.to_string(), "any other host".to_string()));

    let mut out = Vec::new();
    for (base, label) in &bases {
        out.push((base.clone(), label.clone()));
    }
    for (base, label) in &bases {
        let has_port = base
            .rsplit_once(':')
            .is_some_and(|(_, p)| p.parse::<u16>().is_ok());
        if has_port {
            continue;
        }
        for port in &ports {
            let label = if label == base {
                format!("{base}:{port}")
            } else {
                format!("{label}, with explicit port {port}")
            };
            out.push((format!("{base}:{port}"), label));
        }
    }
    out
}

pub(super) fn method_candidates(preds: &[StringPattern]) -> Vec<(String, String)> {
    let mut forms = Forms::default();
    for p in preds {
        forms.add(p);
    }
    let mut used = BTreeSet::new();
    forms.chars(&mut used);
    let c = filler(&used, "QZJXKVWYFB");
    let mut out: Vec<(String, String)> = Vec::new();
    for exact in &forms.exact {
        out.push((exact.clone(), exact.clone()));
    }
    for prefix in &forms.prefix {
        out.push((
            format!("{prefix}{c}"),
            format!("other methods matching `{prefix}*`"),
        ));
        for suffix in &forms.suffix {
            out.push((
                format!("{prefix}{c}{suffix}"),
                format!("other methods matching `{prefix}*` and `*{suffix}`"),
            ));
        }
    }
    for suffix in &forms.suffix {
        out.push((
            format!("{c}{suffix}"),
            format!("other methods matching `*{suffix}`"),
        ));
    }
    let other = if out.is_empty() {
        "any method"
    } else {
        "other methods"
    };
    // Readable representatives first: one of them wins the "matches nothing" class when it
    // matches no pattern (any other class already has an earlier candidate).
    for common in ["GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS"] {
        if !preds.iter().any(|p| p.matches(common)) {
            out.push((common.to_string(), other.to_string()));
        }
    }
    out.push((c.to_string(), other.to_string()));
    out
}

pub(super) fn path_candidates(preds: &[PathPattern]) -> Vec<(String, String)> {
    let mut forms = Forms::default();
    let mut templates: Vec<(&str, &[TemplatePart])> = Vec::new();
    let mut used = BTreeSet::new();
    for p in preds {
        match p {
            PathPattern::String { pattern } => forms.add(pattern),
            PathPattern::Template { raw, parts } => {
                used.extend(raw.chars());
                templates.push((raw, parts));
            }
        }
    }
    forms.chars(&mut used);
    let c = filler(&used, "qzjxkvwyfbgh");
    let slash = |s: &str| {
        if s.starts_with('/') {
            s.to_string()
        } else {
            format!("/{s}")
        }
    };
    let mut out: Vec<(String, String)> = Vec::new();
    for exact in &forms.exact {
        out.push((slash(exact), exact.clone()));
    }
    for (raw, parts) in &templates {
        let fill = |one: &str, any: &str| -> String {
            parts
                .iter()
                .map(|part| match part {
                    TemplatePart::Literal(t) => t.clone(),
                    TemplatePart::OneSegment => one.to_string(),
                    TemplatePart::AnySegments => any.to_string(),
                })
                .collect()
        };
        let cs = c.to_string();
        out.push((slash(&fill(&cs, &cs)), format!("paths matching `{raw}`")));
        out.push((slash(&fill(&cs, "")), format!("paths matching `{raw}`")));
        out.push((
            slash(&fill(&cs, &format!("{c}/{c}"))),
            format!("paths matching `{raw}`"),
        ));
        // The last operator may absorb a suffix of another pattern.
        if matches!(
            parts.last(),
            Some(TemplatePart::OneSegment | TemplatePart::AnySegments)
        ) {
            for suffix in &forms.suffix {
                let head: String = parts
                    .iter()
                    .take(parts.len().saturating_sub(1))
                    .map(|part| match part {
                        TemplatePart::Literal(t) => t.clone(),
                        _ => cs.clone(),
                    })
                    .collect();
                out.push((
                    slash(&format!("{head}{c}{suffix}")),
                    format!("paths matching `{raw}` and `*{suffix}`"),
                ));
            }
        }
        // The first operator may absorb the rest of a longer prefix of another pattern.
        if let Some(TemplatePart::Literal(lead)) = parts.first() {
            for prefix in &forms.prefix {
                if let Some(rest) = prefix.strip_prefix(lead.as_str()) {
                    if !rest.is_empty() && !rest.contains('/') {
                        let tail: String = parts
                            .iter()
                            .skip(2)
                            .map(|part| match part {
                                TemplatePart::Literal(t) => t.clone(),
                                _ => cs.clone(),
                            })
                            .collect();
                        out.push((
                            slash(&format!("{prefix}{c}{tail}")),
                            format!("paths matching `{raw}` and `{prefix}*`"),
                        ));
                    }
                }
            }
        }
    }
    for prefix in &forms.prefix {
        out.push((
            slash(&format!("{prefix}{c}")),
            format!("other paths matching `{prefix}*`"),
        ));
        for suffix in &forms.suffix {
            out.push((
                slash(&format!("{prefix}{c}{suffix}")),
                format!("other paths matching `{prefix}*` and `*{suffix}`"),
            ));
        }
    }
    for suffix in &forms.suffix {
        out.push((
            slash(&format!("{c}{suffix}")),
            format!("other paths matching `*{suffix}`"),
        ));
    }
    let other = if out.is_empty() {
        "any path"
    } else {
        "other paths"
    };
    for common in ["/", "/index.html"] {
        if !preds.iter().any(|p| p.matches(common)) {
            out.push((common.to_string(), other.to_string()));
        }
    }
    out.push((format!("/{c}"), other.to_string()));
    out
}

pub(super) fn build_request(
    point: &Point,
    principal: Option<&str>,
    authority: &str,
    method: &str,
    path: &str,
) -> Request {
    Request {
        source: RequestSource {
            principal: principal.map(str::to_string),
            ..RequestSource::default()
        },
        workload: point.workload.clone(),
        host: Some(authority.to_string()),
        method: Some(method.to_string()),
        path: Some(path.to_string()),
        ..Request::default()
    }
}
