//! What a load read: the source texts and, per resource, the located tree of its document.
//!
//! The [`crate::Loader`] keeps both by default ([`crate::Loader::keep_sources`] turns it
//! off for servers that only decide). Tools use the map to point at the exact value a field
//! path names (`spec.rules[0].to[0].operation.hosts[1]`) without reading or parsing any
//! file again; bindings use the texts to rebuild an engine (Python's pickling).
//!
//! Memory: the texts and the parse trees the importers already built are kept; the only
//! index added is one entry per resource (kind, name → document). Field paths are resolved
//! on demand by walking the tree.

use std::collections::HashMap;
use std::fmt;

use crate::diagnostic::Location;
#[cfg(feature = "yaml")]
use crate::source::{Node, Value};

use super::ResourceRef;

/// Where a resource's document is: file, document and `List` item.
#[derive(Debug, Clone, PartialEq)]
struct Entry {
    /// `metadata.namespace` as written (`None` when not written).
    namespace: Option<String>,
    /// Index into the files.
    file: usize,
    /// Index into that file's documents.
    doc: usize,
    /// The item of a `List` document.
    item: Option<usize>,
}

/// One source file: its name, its text and its parsed documents.
#[derive(Clone, PartialEq)]
struct File {
    name: String,
    text: String,
    #[cfg(feature = "yaml")]
    docs: Vec<Node>,
}

/// The source texts of a load and the located document of every resource in them.
///
/// ```
/// use egress_policy::model::ResourceRef;
/// let text = "apiVersion: security.istio.io/v1\nkind: AuthorizationPolicy\n\
///             metadata: {name: p, namespace: egress}\nspec:\n  rules:\n  - to:\n    \
///             - operation:\n        hosts: [a.com, b.com]\n";
/// let model = egress_policy::import::load_str("p.yaml", text).unwrap();
/// assert_eq!(model.sources.texts().collect::<Vec<_>>(), [("p.yaml", text)]);
/// let policy = ResourceRef::new("AuthorizationPolicy", "egress", "p");
/// let at = model.sources.locate(&policy, "spec.rules[0].to[0].operation.hosts[1]").unwrap();
/// assert_eq!((at.file.as_str(), at.line, at.column), ("p.yaml", 8, 24));
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct SourceMap {
    files: Vec<File>,
    /// `(kind, name)` → where documents of that kind and name are.
    index: HashMap<(String, String), Vec<Entry>>,
}

impl fmt::Debug for SourceMap {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SourceMap")
            .field(
                "files",
                &self.files.iter().map(|f| &f.name).collect::<Vec<_>>(),
            )
            .field(
                "resources",
                &self.index.values().map(Vec::len).sum::<usize>(),
            )
            .finish()
    }
}

impl SourceMap {
    #[cfg(feature = "yaml")]
    /// Adds a file with its text and parsed documents, indexing the resources in them (the
    /// top-level documents and the items of `List` documents).
    pub fn add(&mut self, name: String, text: String, docs: Vec<Node>) {
        let file = self.files.len();
        for (d, node) in docs.iter().enumerate() {
            self.index_node(node, file, d, None);
            if let Some(Value::Seq(items)) = node.get("items").map(|n| &n.value) {
                for (i, item) in items.iter().enumerate() {
                    self.index_node(item, file, d, Some(i));
                }
            }
        }
        self.files.push(File { name, text, docs });
    }

    #[cfg(feature = "yaml")]
    fn index_node(&mut self, node: &Node, file: usize, doc: usize, item: Option<usize>) {
        let meta = node.get("metadata");
        let kind = node.get("kind").and_then(Node::as_str);
        let name = meta.and_then(|m| m.get("name")).and_then(Node::as_str);
        if let (Some(kind), Some(name)) = (kind, name) {
            let namespace = meta
                .and_then(|m| m.get("namespace"))
                .and_then(Node::as_str)
                .map(str::to_string);
            self.index
                .entry((kind.to_string(), name.to_string()))
                .or_default()
                .push(Entry {
                    namespace,
                    file,
                    doc,
                    item,
                });
        }
    }

    /// Whether nothing is kept (an empty load, or [`crate::Loader::keep_sources`] off).
    pub fn is_empty(&self) -> bool {
        self.files.is_empty()
    }

    /// The `(file name, text)` pairs, in load order.
    pub fn texts(&self) -> impl ExactSizeIterator<Item = (&str, &str)> + '_ {
        self.files
            .iter()
            .map(|f| (f.name.as_str(), f.text.as_str()))
    }

    /// The text of file `name`.
    pub fn text(&self, name: &str) -> Option<&str> {
        self.files
            .iter()
            .find(|f| f.name == name)
            .map(|f| f.text.as_str())
    }

    #[cfg(feature = "yaml")]
    /// The located document of `resource` and its file name. A document written without a
    /// namespace matches any namespace (importers put such resources in `default` or in the
    /// namespace their TSB path or gateway gives them).
    pub fn document(&self, resource: &ResourceRef) -> Option<(&str, &Node)> {
        self.find(resource, None)
    }

    #[cfg(feature = "yaml")]
    /// Like [`SourceMap::document`], only in file `file` when given.
    fn find(&self, resource: &ResourceRef, file: Option<&str>) -> Option<(&str, &Node)> {
        let entries = self
            .index
            .get(&(resource.kind.clone(), resource.name.clone()))?;
        let candidates: Vec<(&File, &Entry)> = entries
            .iter()
            .filter(|e| {
                e.namespace
                    .as_deref()
                    .is_none_or(|ns| ns == resource.namespace)
            })
            .filter_map(|e| self.files.get(e.file).map(|f| (f, e)))
            .collect();
        let (f, entry) = candidates
            .into_iter()
            .find(|(f, _)| file.is_none_or(|name| name == f.name))?;
        let node = f.docs.get(entry.doc)?;
        let node = match entry.item {
            None => node,
            Some(i) => match node.get("items").map(|n| &n.value) {
                Some(Value::Seq(items)) => items.get(i)?,
                _ => return None,
            },
        };
        Some((f.name.as_str(), node))
    }

    /// Where field `path` (such as `spec.rules[0].to[0].operation.hosts[1]`) of `resource`
    /// was written: the deepest node of the path that exists (a path that leaves the
    /// document after `spec.rules[0]` locates `spec.rules[0]`). `None` when the resource's
    /// document is not kept or not even the first key of the path is in it.
    pub fn locate(&self, resource: &ResourceRef, path: &str) -> Option<Location> {
        self.locate_in(resource, path, None)
    }

    /// [`SourceMap::locate`] in the document written in file `file` (when a resource of that
    /// kind and name is written in several files, the one a location already names).
    pub fn locate_in(
        &self,
        resource: &ResourceRef,
        path: &str,
        file: Option<&str>,
    ) -> Option<Location> {
        #[cfg(feature = "yaml")]
        {
            let (name, doc) = self.find(resource, file)?;
            resolve(doc, path).map(|node| node.location(name))
        }
        // Without the YAML stack nothing adds files: the map is always empty.
        #[cfg(not(feature = "yaml"))]
        {
            let _ = (resource, path, file);
            None
        }
    }

    /// Drops the texts and trees (`shrink_to_fit` for a map that is not wanted).
    pub fn clear(&mut self) {
        self.files = Vec::new();
        self.index = HashMap::new();
    }
}

#[cfg(feature = "yaml")]
/// Follows `a.b[1].c` from `node`; stops at the deepest node that resolves.
fn resolve<'a>(node: &'a Node, path: &str) -> Option<&'a Node> {
    let mut current = node;
    let mut resolved = false;
    for part in path.split('.') {
        let (key, indexes) = match part.find('[') {
            Some(at) => (part.get(..at).unwrap_or(part), part.get(at..).unwrap_or("")),
            None => (part, ""),
        };
        let Some(next) = current.get(key) else {
            break;
        };
        current = next;
        resolved = true;
        for index in indexes.split('[').filter(|s| !s.is_empty()) {
            let Ok(i) = index.trim_end_matches(']').parse::<usize>() else {
                break;
            };
            match &current.value {
                Value::Seq(items) => match items.get(i) {
                    Some(item) => current = item,
                    None => return Some(current),
                },
                _ => return Some(current),
            }
        }
    }
    resolved.then_some(current)
}

#[cfg(all(test, feature = "yaml"))]
mod tests {
    use super::*;
    use crate::source::parse_documents;

    #[test]
    fn resolve_follows_paths() {
        let docs = parse_documents(
            "a.yaml",
            "kind: X\nspec:\n  rules:\n  - to:\n    - operation:\n        hosts: [a, b]\n",
        )
        .unwrap();
        let node = resolve(&docs[0], "spec.rules[0].to[0].operation.hosts[1]").unwrap();
        assert_eq!((node.line, node.as_str()), (6, Some("b")));
        let partial = resolve(&docs[0], "spec.rules[0].from[0]").unwrap();
        assert_eq!(partial.line, 4);
        assert!(resolve(&docs[0], "status.x").is_none());
    }

    #[test]
    fn list_items_and_namespaces_are_found() {
        let text = "apiVersion: v1\nkind: List\nitems:\n- kind: P\n  metadata: {name: a, namespace: one}\n  spec: {v: 1}\n- kind: P\n  metadata: {name: a, namespace: two}\n  spec: {v: 2}\n";
        let mut map = SourceMap::default();
        map.add(
            "l.yaml".into(),
            text.into(),
            parse_documents("l.yaml", text).unwrap(),
        );
        let at = |map: &SourceMap, ns| {
            map.locate(&ResourceRef::new("P", ns, "a"), "spec.v")
                .map(|l| l.line)
        };
        let found = (at(&map, "one"), at(&map, "two"), at(&map, "three"));
        assert_eq!(found, (Some(6), Some(9), None));
        assert_eq!(map.text("l.yaml"), Some(text));
        map.clear();
        assert!(map.is_empty() && at(&map, "one").is_none());
    }
}
