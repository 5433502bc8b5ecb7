//! Requests without JSON: `packRequest` (`js/codec.js`) writes a request object of the
//! common shape as one string, read here into the core's borrowed
//! [`RequestRef`], whose `&str`s point into that string (one crossing, no copy per field).
//!
//! The common shape: `host`, `method`, `path`, `url`, `sni`, `destination_ip` (strings),
//! `port` (an integer 0–65535), `protocol` (`http`, `tls`, `tcp`), `source` (`principal`,
//! `namespace`, `ip`, `remote_ip`, `cluster`: strings; `labels`, `pod_labels`: string
//! maps), `workload` (`namespace`, optional `labels`), `headers` of string values, an empty
//! `custom`; any of them `null` where the Request JSON allows it, or `undefined` (absent).
//! Anything else is left to the JSON path (`JSON.stringify` and serde_json), which decides
//! it and words its errors as before: this reader never fails a request, and both paths
//! end in `Engine::prepare_ref` with the same view (headers in name order, as the
//! Request's sorted map gives them), so they decide alike (`tests/fast-path.test.mjs`
//! compares them).
//!
//! The string: fields one after the other, each a tag letter, a decimal number and `:`,
//! then for a text field that many UTF-16 units of text. Strings: `h` host, `m` method,
//! `p` path, `u` url, `s` sni, `d` destination_ip, `a` principal, `n` namespace, `i` ip,
//! `r` remote_ip, `c` cluster, `w` workload namespace. Numbers: `P` port, `t` protocol
//! (0 http, 1 tls, 2 tcp). Maps (the number is the count, then per entry `len:name` and
//! `len:value`): `L` source labels, `o` pod labels, `W` workload labels, `H` headers. In a
//! batch (`packRequests`) each request ends with `.`.

use std::cell::RefCell;
use std::rc::Rc;

use egress_policy::model::Labels;
use egress_policy::request::{Headers, Protocol, RequestRef, Workload};
use wasm_bindgen::prelude::*;

#[wasm_bindgen(raw_module = "./codec.js")]
extern "C" {
    /// `packRequest(request)` of `js/codec.js` (it never throws).
    #[wasm_bindgen(js_name = packRequest)]
    fn pack_request(request: &JsValue) -> Option<String>;
    /// `packRequests(requests)` of `js/codec.js` (it never throws).
    #[wasm_bindgen(js_name = packRequests)]
    fn pack_requests(requests: &JsValue) -> Option<String>;
}

/// One request's fields, borrowed from the packed string.
#[derive(Debug, Default)]
struct Parts<'a> {
    principal: Option<&'a str>,
    source_namespace: Option<&'a str>,
    cluster: Option<&'a str>,
    source_ip: Option<&'a str>,
    remote_ip: Option<&'a str>,
    source_labels: Option<Labels>,
    pod_labels: Option<Labels>,
    workload: Option<Rc<Workload>>,
    protocol: Option<Protocol>,
    url: Option<&'a str>,
    host: Option<&'a str>,
    port: Option<u16>,
    method: Option<&'a str>,
    path: Option<&'a str>,
    sni: Option<&'a str>,
    destination_ip: Option<&'a str>,
    headers: Vec<(&'a str, &'a str)>,
}

impl Parts<'_> {
    fn view(&self) -> RequestRef<'_> {
        RequestRef {
            principal: self.principal,
            source_ip: self.source_ip,
            remote_ip: self.remote_ip,
            source_labels: self.source_labels.as_ref(),
            cluster: self.cluster,
            source_namespace: self.source_namespace,
            pod_labels: self.pod_labels.as_ref(),
            workload: self.workload.as_deref(),
            protocol: self.protocol,
            url: self.url,
            host: self.host,
            port: self.port,
            method: self.method,
            path: self.path,
            headers: if self.headers.is_empty() {
                Headers::None
            } else {
                Headers::Pairs(&self.headers)
            },
            sni: self.sni,
            jwt: None,
            custom: None,
            destination_ip: self.destination_ip,
        }
    }
}

/// A cursor over the packed string.
struct Reader<'a> {
    text: &'a str,
    at: usize,
}

impl<'a> Reader<'a> {
    fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.at).copied()
    }

    /// A decimal number ended by `:`.
    fn number(&mut self) -> Option<u32> {
        let mut value: u32 = 0;
        loop {
            let byte = self.peek()?;
            self.at += 1;
            match byte {
                b':' => return Some(value),
                b'0'..=b'9' => {
                    value = value.checked_mul(10)?.checked_add(u32::from(byte - b'0'))?;
                }
                _ => return None,
            }
        }
    }

    /// `units` UTF-16 units of text.
    fn units(&mut self, units: u32) -> Option<&'a str> {
        let rest = self.text.get(self.at..)?;
        let units = usize::try_from(units).ok()?;
        let end = match rest.as_bytes().get(..units) {
            Some(bytes) if bytes.is_ascii() => units,
            _ => {
                let mut seen = 0;
                let mut end = 0;
                for c in rest.chars() {
                    if seen >= units {
                        break;
                    }
                    seen += c.len_utf16();
                    end += c.len_utf8();
                }
                if seen != units {
                    return None;
                }
                end
            }
        };
        let text = rest.get(..end)?;
        self.at += end;
        Some(text)
    }

    /// `len:text`.
    fn text(&mut self) -> Option<&'a str> {
        let units = self.number()?;
        self.units(units)
    }

    /// `count:` then `count` pairs of `len:text`.
    fn pairs(&mut self, mut with: impl FnMut(&'a str, &'a str)) -> Option<()> {
        for _ in 0..self.number()? {
            let name = self.text()?;
            with(name, self.text()?);
        }
        Some(())
    }

    fn labels(&mut self) -> Option<Labels> {
        let mut labels = Labels::new();
        self.pairs(|name, value| {
            labels.insert(name.to_string(), value.to_string());
        })?;
        Some(labels)
    }

    /// One request's fields, up to `.` or the end.
    fn request(&mut self) -> Option<Parts<'a>> {
        let mut parts = Parts::default();
        let mut workload: Option<(&str, Vec<(&str, &str)>)> = None;
        while let Some(tag) = self.peek().filter(|t| *t != b'.') {
            self.at += 1;
            match tag {
                b'h' => parts.host = Some(self.text()?),
                b'm' => parts.method = Some(self.text()?),
                b'p' => parts.path = Some(self.text()?),
                b'u' => parts.url = Some(self.text()?),
                b's' => parts.sni = Some(self.text()?),
                b'd' => parts.destination_ip = Some(self.text()?),
                b'a' => parts.principal = Some(self.text()?),
                b'n' => parts.source_namespace = Some(self.text()?),
                b'i' => parts.source_ip = Some(self.text()?),
                b'r' => parts.remote_ip = Some(self.text()?),
                b'c' => parts.cluster = Some(self.text()?),
                b'P' => parts.port = Some(u16::try_from(self.number()?).ok()?),
                b't' => {
                    parts.protocol = Some(match self.number()? {
                        0 => Protocol::Http,
                        1 => Protocol::Tls,
                        2 => Protocol::Tcp,
                        _ => return None,
                    })
                }
                b'L' => parts.source_labels = Some(self.labels()?),
                b'o' => parts.pod_labels = Some(self.labels()?),
                b'w' => workload = Some((self.text()?, Vec::new())),
                b'W' => {
                    let (_, labels) = workload.as_mut()?;
                    self.pairs(|name, value| labels.push((name, value)))?;
                }
                b'H' => {
                    let headers = &mut parts.headers;
                    self.pairs(|name, value| headers.push((name, value)))?;
                }
                _ => return None,
            }
        }
        if let Some((namespace, labels)) = workload {
            parts.workload = Some(shared_workload(namespace, &labels));
        }
        // The Request's headers are a map sorted by name: the engine checks and folds them
        // in that order (which invalid name it reports, how names equal but for case join).
        if parts.headers.len() > MAX_HEADERS {
            return None;
        }
        sort_by_name(&mut parts.headers);
        Some(parts)
    }
}

/// More headers than this are left to the JSON path ([`sort_by_name`] is quadratic).
const MAX_HEADERS: usize = 64;

/// Insertion sort by name: a request has a few headers, and the standard sorts would add
/// kilobytes of code to the module for them.
fn sort_by_name(pairs: &mut [(&str, &str)]) {
    for end in 1..pairs.len() {
        let mut at = end;
        while at > 0 && pairs.get(at - 1).map(|p| p.0) > pairs.get(at).map(|p| p.0) {
            pairs.swap(at - 1, at);
            at -= 1;
        }
    }
}

/// How many workloads are kept ([`shared_workload`]): a page names a handful.
const SHARED_WORKLOADS: usize = 16;

thread_local! {
    /// The last workloads built, newest first.
    static WORKLOADS: RefCell<Vec<Rc<Workload>>> = const { RefCell::new(Vec::new()) };
}

/// The workload `namespace` + `labels` (distinct names, as a JavaScript object's): one
/// built before with the same contents, else a new one, kept for the next requests.
fn shared_workload(namespace: &str, labels: &[(&str, &str)]) -> Rc<Workload> {
    WORKLOADS.with_borrow_mut(|kept| {
        let same = |w: &Workload| {
            w.namespace == namespace
                && w.labels.len() == labels.len()
                && labels
                    .iter()
                    .all(|(k, v)| w.labels.get(*k).is_some_and(|kept| kept == v))
        };
        if let Some(found) = kept.iter().find(|w| same(w)) {
            return found.clone();
        }
        // Inserted one by one: `collect` into a map would bring in a sort (kilobytes).
        let mut map = Labels::new();
        for (name, value) in labels {
            map.insert(name.to_string(), value.to_string());
        }
        let workload = Rc::new(Workload {
            namespace: namespace.to_string(),
            labels: map,
        });
        kept.truncate(SHARED_WORKLOADS - 1);
        kept.insert(0, workload.clone());
        workload
    })
}

/// Hands the view of `request` to `with` when `request` has the common shape; `None`
/// sends the caller to the JSON path.
pub(crate) fn with_request<T>(
    request: &JsValue,
    with: impl FnOnce(&RequestRef<'_>) -> T,
) -> Option<T> {
    let packed = pack_request(request)?;
    let mut reader = Reader {
        text: &packed,
        at: 0,
    };
    let parts = reader.request()?;
    if reader.at != packed.len() {
        return None;
    }
    Some(with(&parts.view()))
}

/// [`with_request`] for an array of requests: `with` gets all their views, in order;
/// `None` when some request is not of the common shape (the caller reads the whole array
/// as before).
pub(crate) fn with_requests<T>(
    requests: &JsValue,
    with: impl FnOnce(&[RequestRef<'_>]) -> T,
) -> Option<T> {
    let packed = pack_requests(requests)?;
    let mut reader = Reader {
        text: &packed,
        at: 0,
    };
    let mut all = Vec::new();
    while reader.at < packed.len() {
        let parts = reader.request()?;
        if reader.peek() != Some(b'.') {
            return None;
        }
        reader.at += 1;
        all.push(parts);
    }
    let views: Vec<RequestRef<'_>> = all.iter().map(|parts| parts.view()).collect();
    Some(with(&views))
}
