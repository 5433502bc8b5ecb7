//! Import of real Istio, TSB, Gloo and Kubernetes resources into the [`Model`].
//!
//! A load reads every file, parses every document, decodes every modelled resource and
//! reports *all* problems with file, line, column, resource and field path. Only a load
//! without errors yields a model: there is never a partial engine.

//!
//! Each vendor has an `Importer` (`istio`, `kubernetes`, `tsb`, `gloo`): `import` decodes
//! the documents of its kinds, `link` resolves references between them once every document
//! is read. What an importer keeps between the two lives in its own value, which
//! [`Loader::load`] creates for each load. A resource no importer takes is reported by
//! `kinds`. Decoding helpers shared by the importers are in `decode`.

pub(crate) mod decode;
mod gloo;
mod istio;
mod kinds;
mod kube_service;
mod kubernetes;
pub(crate) mod memory;
mod tsb;

pub use memory::MemoryFiles;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Location};
use crate::error::{Error, Result};
use crate::model::{Labels, Model};
use crate::source::{parse_documents, Node};

use decode::{map, Cx};

/// One vendor's importer. [`Loader::load`] creates one value per vendor for each load,
/// offers it every document, then lets it link: state kept between the two calls (where
/// an unresolved reference was written, say) belongs to that value and to that load only.
///
/// To read a new kind, add an arm to the vendor's `import` match (its decoder in a file of
/// its own) and make sure the kind is in the table of [`kinds`].
pub(crate) trait Importer {
    /// Decodes `doc` into `model` if it is one of this vendor's kinds; returns whether it
    /// was (problems go to `cx`, whatever the answer).
    fn import(&mut self, cx: &mut Cx, doc: &Doc, model: &mut Model) -> bool;

    /// Resolves references once every document is imported; reports what does not resolve.
    fn link(&mut self, model: &mut Model, diags: &mut Vec<Diagnostic>);
}

/// Most files one load reads (directories included).
pub const MAX_FILES: usize = 10_000;

/// Metadata common to every resource.
#[derive(Debug, Clone, Default)]
pub(crate) struct Meta {
    /// `metadata.name`.
    pub name: String,
    /// `metadata.namespace` (empty when not written).
    pub namespace: String,
    /// `metadata.labels`.
    pub labels: Labels,
    /// `metadata.annotations`.
    pub annotations: Labels,
    /// TSB `metadata.organization` (or annotation `tsb.tetrate.io/organization`).
    pub organization: Option<String>,
    /// TSB tenant.
    pub tenant: Option<String>,
    /// TSB workspace.
    pub workspace: Option<String>,
    /// TSB group.
    pub group: Option<String>,
}

impl Meta {
    /// The namespace, or `default` when not written (Kubernetes' rule).
    pub fn namespace_or_default(&self) -> &str {
        if self.namespace.is_empty() {
            "default"
        } else {
            &self.namespace
        }
    }
}

/// One document with its header decoded.
pub(crate) struct Doc<'a> {
    /// File name.
    pub file: &'a str,
    /// The whole document.
    pub node: &'a Node,
    /// API group (`security.istio.io`; empty for core `v1`).
    pub group: String,
    /// API version (`v1beta1`).
    pub version: String,
    /// Kind.
    pub kind: String,
    /// Metadata.
    pub meta: Meta,
}

impl Doc<'_> {
    /// `metadata.namespace` or `default`.
    pub fn namespace(&self) -> String {
        self.meta.namespace_or_default().to_string()
    }

    /// The document's location.
    pub fn location(&self) -> Location {
        self.node.location(self.file)
    }

    /// `spec`, checked against `allowed` keys; reports a missing spec when `required`.
    pub fn spec<'n>(
        &'n self,
        cx: &mut Cx,
        allowed: &[&str],
        required: bool,
    ) -> Option<decode::Map<'n>> {
        match self.node.get("spec") {
            Some(spec) if spec.value != crate::source::Value::Null => {
                map(cx, spec, "spec", allowed)
            }
            _ => {
                if required {
                    cx.error(self.node, "spec", "missing field `spec`");
                }
                None
            }
        }
    }
}

const METADATA_FIELDS: &[&str] = &[
    "name",
    "namespace",
    "labels",
    "annotations",
    "uid",
    "resourceVersion",
    "generation",
    "creationTimestamp",
    "deletionTimestamp",
    "deletionGracePeriodSeconds",
    "managedFields",
    "ownerReferences",
    "finalizers",
    "generateName",
    "selfLink",
    "organization",
    "tenant",
    "workspace",
    "group",
    "displayName",
    "description",
    "etag",
];

/// Reads files and directories and builds a [`Model`].
///
/// ```
/// let mut loader = egress_policy::Loader::new();
/// loader.add_str("inline.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
/// let model = loader.load().unwrap();
/// assert!(model.namespaces.contains_key("a"));
/// ```
///
/// By default the model keeps what was read ([`Model::sources`]): the texts and each
/// resource's located document, so tools point at exact values without reading files
/// again. A server that only decides turns that off with [`Loader::keep_sources`]:
///
/// ```
/// let mut loader = egress_policy::Loader::new();
/// loader.keep_sources(false).add_str("a.yaml", "apiVersion: v1\nkind: Namespace\nmetadata: {name: a}\n");
/// assert!(loader.load().unwrap().sources.is_empty());
/// ```
#[derive(Debug, Default)]
pub struct Loader {
    sources: Vec<(String, String)>,
    problems: Vec<Diagnostic>,
    /// Whether the model is built without its [`Model::sources`].
    discard_sources: bool,
}

impl Loader {
    /// An empty loader.
    pub fn new() -> Self {
        Loader::default()
    }

    /// Whether the loaded model keeps the source texts and the located document of every
    /// resource (default: yes). Lint then locates findings at the offending value and
    /// [`crate::Engine::sources`] returns the texts. Without them (`false`, for servers that
    /// only decide: the parse trees take several times the size of the texts) findings point
    /// at the rule or the resource, and `Engine::sources` is empty.
    pub fn keep_sources(&mut self, keep: bool) -> &mut Self {
        self.discard_sources = !keep;
        self
    }

    /// Adds in-memory text under a file name used in diagnostics.
    pub fn add_str(&mut self, name: &str, text: &str) -> &mut Self {
        self.sources.push((name.to_string(), text.to_string()));
        self
    }

    /// Adds a file, or every `*.yaml`, `*.yml` and `*.json` file under a directory
    /// (recursively, in sorted order).
    pub fn add_path(&mut self, path: impl AsRef<Path>) -> Result<&mut Self> {
        let path = path.as_ref();
        let mut files = Vec::new();
        collect_files(path, &mut files)?;
        if files.len() + self.sources.len() > MAX_FILES {
            return Err(Error::Invalid(vec![Diagnostic::error(
                Location::start_of(&path.display().to_string()),
                format!("more than {MAX_FILES} policy files"),
            )]));
        }
        for file in files {
            let name = file.display().to_string();
            let bytes = std::fs::read(&file).map_err(|source| Error::Io {
                path: name.clone(),
                source,
            })?;
            match String::from_utf8(bytes) {
                Ok(text) => {
                    self.sources.push((name, text));
                }
                Err(_) => self.problems.push(Diagnostic::error(
                    Location::start_of(&name),
                    "file is not valid UTF-8",
                )),
            }
        }
        Ok(self)
    }

    /// The `(file name, text)` pairs added so far, in order (what an engine was built from:
    /// bindings keep them to rebuild an engine, for example when unpickling).
    pub fn sources(&self) -> &[(String, String)] {
        &self.sources
    }

    /// Parses and decodes everything added. Fails with every error found; warnings are
    /// returned in [`Model::warnings`] on success.
    ///
    /// Files are parsed in parallel and imported in order as they come: unless the sources
    /// are kept, a file's tree is dropped as soon as its resources are imported, so a load
    /// holds the trees of a few files at a time, not of all of them. Mesh settings
    /// (`ConfigMap istio*`, `IstioOperator`) are imported before any other resource, as the
    /// principals of policies depend on the trust domain: files that may hold them are read
    /// first.
    pub fn load(&self) -> Result<Model> {
        let files = self.sources.len();
        let mut trees: Vec<Option<Parsed>> = (0..files).map(|_| None).collect();
        let mut model = Model::default();
        // Diagnostics in the order of a load that reads everything before importing: parse
        // errors of every file, then document headers, mesh settings, resources, links.
        let mut parse_diags: Vec<Vec<Diagnostic>> = (0..files).map(|_| Vec::new()).collect();
        let mut header_diags: Vec<Vec<Diagnostic>> = (0..files).map(|_| Vec::new()).collect();
        let mut mesh_diags = Vec::new();
        let mut import_diags = Vec::new();

        // Mesh settings first, from every file that may hold them.
        let mut istio = istio::IstioImporter::default();
        for (index, (name, text)) in self.sources.iter().enumerate() {
            if !may_hold_mesh_config(text) {
                continue;
            }
            let nodes = parse_documents(name, text);
            if let (Ok(nodes), Some(diags)) = (&nodes, header_diags.get_mut(index)) {
                let mut docs = Vec::new();
                for node in nodes {
                    collect_doc(name, node, &mut docs, diags);
                }
                for doc in docs.iter().filter(|doc| istio::is_mesh_config(doc)) {
                    let mut cx = cx_for(doc, &mut mesh_diags);
                    istio::import_mesh_config(&mut cx, doc, &mut model.mesh);
                }
            }
            if let Some(slot) = trees.get_mut(index) {
                *slot = Some(Parsed {
                    nodes,
                    headers_read: true,
                });
            }
        }

        let mut kubernetes = kubernetes::KubernetesImporter;
        let mut tsb = tsb::TsbImporter::default();
        let mut gloo = gloo::GlooImporter::default();
        let mut importers: [&mut dyn Importer; 4] =
            [&mut kubernetes, &mut istio, &mut tsb, &mut gloo];
        let mut kept: Vec<(String, String, Vec<Node>)> = Vec::new();
        let keep = !self.discard_sources;
        // Where each object was first defined: Kubernetes (and TSB's and Gloo's API servers)
        // keep one object per group, kind, namespace and name (and TSB tenancy), so a second
        // definition is ambiguous input — which one the cluster holds depends on the order
        // they were applied in. Refused, with both places.
        let mut defined: HashMap<DocKey, FirstDefinition> = HashMap::new();
        parse_in_order(&self.sources, &mut trees, |index, parsed| {
            let (name, text) = self.sources.get(index)?;
            let nodes = match parsed.nodes {
                Ok(nodes) => nodes,
                Err(diag) => {
                    if let Some(diags) = parse_diags.get_mut(index) {
                        diags.push(diag);
                    }
                    return None;
                }
            };
            let mut docs: Vec<Doc> = Vec::new();
            let mut ignored = Vec::new();
            let diags = match header_diags.get_mut(index) {
                Some(diags) if !parsed.headers_read => diags,
                // Headers already read (and reported) with the mesh settings.
                _ => &mut ignored,
            };
            for node in &nodes {
                collect_doc(name, node, &mut docs, diags);
            }
            for doc in docs.iter().filter(|doc| !istio::is_mesh_config(doc)) {
                let mut cx = cx_for(doc, &mut import_diags);
                match defined.entry(DocKey::of(doc)) {
                    std::collections::hash_map::Entry::Occupied(first) => {
                        cx.error(
                            doc.node,
                            "metadata.name",
                            format!(
                                "{} `{}` is defined twice (first at {}): a cluster holds one object \
                                 per kind, namespace and name, so which definition applies would \
                                 depend on the order they were applied in; keep one",
                                doc.kind,
                                doc.meta.name,
                                first.get().show(&self.sources)
                            ),
                        );
                        continue;
                    }
                    std::collections::hash_map::Entry::Vacant(slot) => {
                        slot.insert(FirstDefinition {
                            file: index,
                            line: doc.node.line,
                            column: doc.node.column,
                        });
                    }
                }
                let imported = model.policies.len();
                let handled = importers
                    .iter_mut()
                    .any(|importer| importer.import(&mut cx, doc, &mut model));
                if !handled {
                    kinds::report_skipped(&mut cx, doc);
                }
                // Spare capacity goes now, not at the end of the load: a `List` file of
                // 100 000 policies would otherwise hold every grown list at once.
                for policy in model.policies.get_mut(imported..).into_iter().flatten() {
                    policy.shrink_to_fit();
                }
            }
            drop(docs);
            if keep {
                kept.push((name.clone(), text.clone(), nodes));
                return None;
            }
            Some(nodes)
        });

        let mut diags = self.problems.clone();
        diags.extend(parse_diags.into_iter().flatten());
        diags.extend(header_diags.into_iter().flatten());
        diags.append(&mut mesh_diags);
        diags.append(&mut import_diags);
        for importer in &mut importers {
            importer.link(&mut model, &mut diags);
        }
        if diags.iter().any(Diagnostic::is_error) {
            diags.sort_by(|a, b| a.location.cmp(&b.location));
            return Err(Error::Invalid(diags));
        }
        model.warnings = diags;
        model.shrink_to_fit();
        for (name, text, nodes) in kept {
            model.sources.add(name, text, nodes);
        }
        Ok(model)
    }
}

/// A parsed file on its way to the importers.
struct Parsed {
    nodes: std::result::Result<Vec<Node>, Diagnostic>,
    /// Whether its document headers were read (and their problems reported) already.
    headers_read: bool,
}

/// Whether `text` may hold mesh settings: a `ConfigMap` or an `IstioOperator`, or a
/// backslash (a kind written with escapes in a quoted string).
fn may_hold_mesh_config(text: &str) -> bool {
    text.contains("ConfigMap") || text.contains("IstioOperator") || text.contains('\\')
}

/// Files a parsing thread may be ahead of the importer by: bounds the trees alive at once.
const PARSE_AHEAD: usize = 4;

/// Parses the files not parsed yet on up to two threads and hands every file to `import` in
/// order, as soon as it and every file before it are parsed. The trees `import` hands back are
/// freed by the parsing threads, off the importer's path (the importer is the load's critical
/// path; freeing a tree on the thread that allocated it is also cheaper for the allocator).
fn parse_in_order(
    sources: &[(String, String)],
    trees: &mut [Option<Parsed>],
    mut import: impl FnMut(usize, Parsed) -> Option<Vec<Node>>,
) {
    use std::sync::{Condvar, Mutex, PoisonError};

    struct Queue {
        /// The next file a thread takes.
        next: usize,
        /// Files handed to the importer.
        imported: usize,
        /// Parsed files waiting for the importer.
        ready: Vec<Option<Parsed>>,
        /// Imported trees waiting to be freed.
        spent: Vec<Vec<Node>>,
        /// Every file is imported.
        done: bool,
    }

    /// Sets [`Queue::done`] when dropped.
    struct Done<'q>(&'q Mutex<Queue>, &'q Condvar);

    impl Drop for Done<'_> {
        fn drop(&mut self) {
            self.0.lock().unwrap_or_else(PoisonError::into_inner).done = true;
            self.1.notify_all();
        }
    }

    let files = sources.len();
    let pending = trees.iter().filter(|t| t.is_none()).count();
    let threads = std::thread::available_parallelism()
        .map_or(1, usize::from)
        .clamp(1, 2)
        .min(pending);
    if threads <= 1 {
        for (index, slot) in trees.iter_mut().enumerate() {
            let parsed = slot.take().or_else(|| {
                sources.get(index).map(|(name, text)| Parsed {
                    nodes: parse_documents(name, text),
                    headers_read: false,
                })
            });
            if let Some(parsed) = parsed {
                drop(import(index, parsed));
            }
        }
        return;
    }
    let queue = Mutex::new(Queue {
        next: 0,
        imported: 0,
        ready: trees.iter_mut().map(Option::take).collect(),
        spent: Vec::new(),
        done: false,
    });
    let changed = Condvar::new();
    let lock = || queue.lock().unwrap_or_else(PoisonError::into_inner);
    std::thread::scope(|scope| {
        let mut parsers = Vec::with_capacity(threads);
        for _ in 0..threads {
            parsers.push(scope.spawn(|| loop {
                let (index, spent) = {
                    let mut q = lock();
                    loop {
                        if !q.spent.is_empty() {
                            break (None, std::mem::take(&mut q.spent));
                        }
                        while q.next < files && q.ready.get(q.next).is_some_and(Option::is_some) {
                            q.next += 1;
                        }
                        if q.next >= files && q.done {
                            return;
                        }
                        if q.next < files && q.next < q.imported + PARSE_AHEAD {
                            q.next += 1;
                            break (Some(q.next - 1), Vec::new());
                        }
                        q = changed.wait(q).unwrap_or_else(PoisonError::into_inner);
                    }
                };
                drop(spent);
                let Some(index) = index else {
                    continue;
                };
                let Some((name, text)) = sources.get(index) else {
                    return;
                };
                let parsed = Parsed {
                    nodes: parse_documents(name, text),
                    headers_read: false,
                };
                let mut q = lock();
                if let Some(slot) = q.ready.get_mut(index) {
                    *slot = Some(parsed);
                }
                changed.notify_all();
            }));
        }
        // Tells the parsing threads that no tree is coming any more, also when an import
        // panics (they would wait for trees to free forever, and the scope for them).
        let done = Done(&queue, &changed);
        for index in 0..files {
            let parsed = {
                let mut q = lock();
                loop {
                    if let Some(parsed) = q.ready.get_mut(index).and_then(Option::take) {
                        q.imported = index + 1;
                        changed.notify_all();
                        break parsed;
                    }
                    q = changed.wait(q).unwrap_or_else(PoisonError::into_inner);
                }
            };
            if let Some(tree) = import(index, parsed) {
                lock().spent.push(tree);
                changed.notify_all();
            }
        }
        drop(done);
        // Joined explicitly: the scope's implicit join returns once each closure is done,
        // before the OS thread has run its thread-local destructors, and a leak checker
        // run right after a load (the `import` fuzz target under LeakSanitizer) reports
        // those as leaks (rust-lang/miri#2629 describes the same race).
        for parser in parsers {
            if let Err(payload) = parser.join() {
                std::panic::resume_unwind(payload);
            }
        }
    });
}

/// What identifies an object in its API server: group, kind, namespace, name and the TSB
/// tenancy fields, in one string (each field length-prefixed, so two keys are equal
/// exactly when every field is): one allocation per document instead of eight, for a map
/// that holds every document of the load.
#[derive(Debug, PartialEq, Eq, Hash)]
struct DocKey(Box<str>);

impl DocKey {
    fn of(doc: &Doc<'_>) -> Self {
        use std::fmt::Write;
        let meta = &doc.meta;
        let fields = [
            Some(doc.group.as_str()),
            Some(doc.kind.as_str()),
            Some(meta.namespace_or_default()),
            Some(meta.name.as_str()),
            meta.organization.as_deref(),
            meta.tenant.as_deref(),
            meta.workspace.as_deref(),
            meta.group.as_deref(),
        ];
        let mut key = String::with_capacity(fields.iter().flatten().map(|f| f.len() + 4).sum());
        for field in fields {
            match field {
                Some(text) => {
                    let _ = write!(key, "{}:{text}", text.len());
                }
                None => key.push('-'),
            }
        }
        DocKey(key.into_boxed_str())
    }
}

/// Where an object was first defined: file (index into the loader's sources), line, column.
#[derive(Debug)]
struct FirstDefinition {
    file: usize,
    line: u32,
    column: u32,
}

impl FirstDefinition {
    /// `file:line:column`.
    fn show(&self, sources: &[(String, String)]) -> String {
        let file = sources.get(self.file).map_or("", |(name, _)| name.as_str());
        format!("{file}:{}:{}", self.line, self.column)
    }
}

fn cx_for<'a>(doc: &Doc<'a>, diags: &'a mut Vec<Diagnostic>) -> Cx<'a> {
    let resource = format!(
        "{} {}/{}",
        doc.kind,
        doc.meta.namespace_or_default(),
        doc.meta.name
    );
    Cx {
        file: doc.file,
        resource: Some(resource),
        diags,
    }
}

fn collect_files(path: &Path, out: &mut Vec<PathBuf>) -> Result<()> {
    let meta = std::fs::metadata(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    if meta.is_file() {
        out.push(path.to_path_buf());
        return Ok(());
    }
    let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
        .map_err(|source| Error::Io {
            path: path.display().to_string(),
            source,
        })?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    entries.sort();
    for entry in entries {
        if out.len() > MAX_FILES {
            break;
        }
        if entry.is_dir() {
            collect_files(&entry, out)?;
        } else if entry
            .extension()
            .and_then(|e| e.to_str())
            .is_some_and(|e| matches!(e, "yaml" | "yml" | "json"))
        {
            out.push(entry);
        }
    }
    Ok(())
}

/// Decodes the header of a document (or the items of a `List`) into [`Doc`]s.
fn collect_doc<'a>(
    file: &'a str,
    node: &'a Node,
    docs: &mut Vec<Doc<'a>>,
    diags: &mut Vec<Diagnostic>,
) {
    let mut cx = Cx {
        file,
        resource: None,
        diags,
    };
    let Some(top) = map(&mut cx, node, "", &["*"]) else {
        return;
    };
    let api_version = top.str(&mut cx, "apiVersion");
    let kind = top.str(&mut cx, "kind");
    let (Some(api_version), Some(kind)) = (
        api_version.filter(|v| !v.is_empty()),
        kind.filter(|k| !k.is_empty()),
    ) else {
        cx.error(node, "", "a resource needs `apiVersion` and `kind`");
        return;
    };
    if kind == "List" || kind.ends_with("List") && api_version == "v1" {
        for (item, _) in top.list(&mut cx, "items") {
            collect_doc(file, item, docs, cx.diags);
        }
        return;
    }
    let (group, version) = match api_version.split_once('/') {
        Some((g, v)) => (g.to_string(), v.to_string()),
        None => (String::new(), api_version.clone()),
    };
    let mut meta = Meta::default();
    if let Some(m) = top.map(&mut cx, "metadata", METADATA_FIELDS) {
        meta.name = m.str(&mut cx, "name").unwrap_or_default();
        meta.namespace = m.str(&mut cx, "namespace").unwrap_or_default();
        meta.labels = m.labels(&mut cx, "labels");
        meta.annotations = m.labels(&mut cx, "annotations");
        let tsb = |cx: &mut Cx, key: &str| {
            m.str(cx, key).or_else(|| {
                // Most resources have no annotations: no key to build then.
                if meta.annotations.is_empty() {
                    return None;
                }
                meta.annotations
                    .get(&format!("tsb.tetrate.io/{key}"))
                    .cloned()
            })
        };
        meta.organization = tsb(&mut cx, "organization");
        meta.tenant = tsb(&mut cx, "tenant");
        meta.workspace = tsb(&mut cx, "workspace");
        meta.group = tsb(&mut cx, "group");
        if meta.name.is_empty() {
            cx.error(m.node, "metadata.name", "missing field `name`");
        }
    } else if !top.has("metadata") {
        cx.error(node, "metadata", "missing field `metadata`");
    }
    docs.push(Doc {
        file,
        node,
        group,
        version,
        kind,
        meta,
    });
}

/// Loads files and directories (see [`Loader::add_path`]).
pub fn load_paths<P: AsRef<Path>>(paths: &[P]) -> Result<Model> {
    let mut loader = Loader::new();
    for path in paths {
        loader.add_path(path)?;
    }
    loader.load()
}

/// Loads one in-memory multi-document text.
pub fn load_str(name: &str, text: &str) -> Result<Model> {
    let mut loader = Loader::new();
    loader.add_str(name, text);
    loader.load()
}

#[cfg(test)]
mod test_support;
#[cfg(test)]
mod tests;
