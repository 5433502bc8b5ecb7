//! The scanner against the granit path (and the serde path where that one declines): the
//! same trees, values and locations whenever the scanner answers — on every YAML file of the
//! repository, on generated workloads of every profile and layout, on edge cases, and on
//! generated and mutated YAML-like text.

use proptest::prelude::*;

use super::super::{fast, parse_with_serde, Limits, Node, Value};
use super::parse;
use crate::workload::SplitMix64;

/// What `parse_documents` returned before the scanner: the granit path's documents, or the
/// serde path's when that one declines; `None` for an error.
fn reference(text: &str, limits: &Limits) -> Option<Vec<Node>> {
    match fast::parse(text, limits) {
        Some(docs) => Some(
            docs.into_iter()
                .filter(|n| n.value != Value::Null)
                .collect(),
        ),
        None => parse_with_serde("ref.yaml", text, limits).ok(),
    }
}

/// Checks one text under `limits`; returns whether the scanner answered.
fn same_with(name: &str, text: &str, limits: &Limits) -> bool {
    let Some(scanned) = parse(text, limits) else {
        return false;
    };
    match reference(text, limits) {
        Some(expected) => assert!(
            expected == scanned,
            "{name}: the scanner builds another tree for {text:?}: {}",
            difference(&scanned, &expected)
        ),
        None => panic!("{name}: the scanner accepts what the other paths refuse: {text:?}"),
    }
    true
}

/// Where two document lists first differ, for failure messages.
fn difference(got: &[Node], expected: &[Node]) -> String {
    fn shallow(n: &Node) -> String {
        let value = match &n.value {
            Value::Seq(items) => format!("seq of {}", items.len()),
            Value::Map(entries) => format!("map of {}", entries.len()),
            other => format!("{other:?}"),
        };
        format!("{value} at {}:{}", n.line, n.column)
    }
    fn walk(got: &Node, expected: &Node, path: &str) -> Option<String> {
        if shallow(got) != shallow(expected) {
            return Some(format!(
                "{path}: {} instead of {}",
                shallow(got),
                shallow(expected)
            ));
        }
        match (&got.value, &expected.value) {
            (Value::Seq(a), Value::Seq(b)) => a
                .iter()
                .zip(b)
                .enumerate()
                .find_map(|(i, (a, b))| walk(a, b, &format!("{path}[{i}]"))),
            (Value::Map(a), Value::Map(b)) => a.iter().zip(b).find_map(|((ka, a), (kb, b))| {
                if ka != kb {
                    return Some(format!("{path}: key {ka:?} instead of {kb:?}"));
                }
                walk(a, b, &format!("{path}.{}", ka.name))
            }),
            _ => None,
        }
    }
    if got.len() != expected.len() {
        return format!("{} documents instead of {}", got.len(), expected.len());
    }
    got.iter()
        .zip(expected)
        .enumerate()
        .find_map(|(i, (a, b))| walk(a, b, &format!("doc {i}")))
        .unwrap_or_default()
}

fn same(name: &str, text: &str) -> bool {
    same_with(name, text, &Limits::default())
}

#[test]
fn every_repository_yaml_file_parses_alike() {
    let files = super::super::corpus::repository_yaml_files(&[
        "tests",
        "examples",
        "docs",
        "deploy",
        "core",
        "cli",
        "bindings-python",
        "bindings-wasm",
        "fuzz",
        "benches",
    ]);
    let mut answered = 0;
    let mut yaml = 0;
    for file in &files {
        let Ok(text) = std::fs::read_to_string(file) else {
            continue;
        };
        yaml += 1;
        if same(&file.display().to_string(), &text) {
            answered += 1;
        }
        // Every prefix at a line end too: documents cut anywhere.
        let mut cut = 0;
        for (i, _) in text.match_indices('\n').step_by(7).take(60) {
            cut += 1;
            same(
                &format!("{}:{cut}", file.display()),
                text.get(..i).unwrap_or(""),
            );
        }
    }
    assert!(
        yaml >= 50,
        "only {yaml} YAML files under {}/..",
        env!("CARGO_MANIFEST_DIR")
    );
    assert!(
        answered * 2 >= yaml,
        "the scanner answered {answered} of {yaml}"
    );
}

#[test]
fn generated_workloads_parse_alike() {
    super::super::corpus::for_each_generated_file(|name, text, what| {
        assert!(same(name, text), "{what}: not answered");
    });
}

#[test]
fn edge_cases_parse_alike_or_go_to_the_other_paths() {
    let answered = [
        "a: 1\nb: -2\nc: 0\nd: -0\ne: true\nf: false\ng: null\nh: ~\nj: ''\nk: \"\"\n",
        "s: 'single'\nd: \"dou\\tble \\u00e9 \\\" \\\\ \\/ \\n\"\nq: 'it''s'\n",
        "nul: \"\\0\\r\\t\\u0041\"\nsq: 'a \\n b'\nhash: \"# not a comment\"\n",
        "url: http://a.b/c?d=e#f\nq: \"a: b\"\nc: x # comment\nh: a#b\nk: a,b[c]{d}\n",
        "a: |\n  one\n  two: # x\n\n   three\n\n\nb: |-\n    x\n    y\n",
        "k:\n  m: |\n    {\"json\": [1, 2]}\n  p: 2\nz: |\n x\n",
        "flow: {a: [1, 2, {b: c}], 'x y': z, \"q\": [ ]}\nempty: []\nnone: {}\nsp: [ a b , c ]\n",
        "# comment\n---\na: 1 # trailing\n---\n---\nb: [x, y]\n",
        "- 10s\n- 1.5\n- 0x1f\n- 0o17\n- 1_000\n- 010\n- +1\n- .5\n- 1e3\n- 123456789012345678901\n",
        "- yes\n- No\n- ON\n- off\n- y\n- True\n- FALSE\n- Null\n- NULL\n- nothing\n- Yesterday\n",
        "- 2024-01-01T00:00:00Z\n- 1.2.3\n- 5e1f3c2a-8b1c-4d2e-9f3a-1b2c3d4e5f60\n- -x\n- a#b\n- a:b\n",
        "top scalar\n",
        "\"quoted top\"\n",
        "",
        "---\n",
        "--- # start\na: b\n---\n# only a comment\n",
        "- - - deep\n  - [x]\n",
        "a:\n- x\n- w: 1\n  z: 2\nb:\n  - c\n  -   d\n",
        "- name: a\n  hosts:\n  - x\n  - y\n- name: b\n",
        "  indented: 1\n  top: 2\n",
        "a:\n  b:\n    c: 1\n\n\n  d: 2\n# c\ne: 3\n",
        "a:    # comment\n  b: 1\n'k': v\n\"k2\": v\n",
        "-\n  a: 1\n- \n  - b\n",
        "a: 1\n---\n- b\n---\nc\n",
        "key: value   \nother:   spaced  \n",
        "a: [\"x\", 'y', z]\nb: {'q': \"r\", s: [1, {t: u}]}\n",
    ];
    for (i, text) in answered.iter().enumerate() {
        assert!(
            same(&format!("case-{i}.yaml"), text),
            "case {i} not answered: {text:?}"
        );
    }
    let declined = [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "base: &b {x: 1}\nc:\n  <<: *b\n",
        "a: 1\na: 2\n",
        "{a: 1, a: 2}\n",
        "1: one\n",
        "true: x\n",
        "? [a]\n: b\n",
        "a: [1, 2\n",
        "a: [1, 2,\n  3]\n",
        "a: .inf\n",
        "a: b\n\tc: d\n",
        "a:\r\n  - x\r\n",
        "a: é\n",
        "\u{feff}a: 1\n",
        "a:\n",
        "a:\nb: 1\n",
        "- \n- a\n",
        "a: >-\n  text\n",
        "plain: multi\n  line\n",
        "q: \"multi\n  line\"\n",
        "a: b: c\n",
        "a : b\n",
        "a: 'x' y\n",
        "a: [x]y\n",
        "a: \"x\"#c\n",
        "- a\nb: 1\n",
        "a: 1\n- b\n",
        "a:\n    b: 1\n  c: 2\n",
        "a: 1\n  b: 2\n",
        "%YAML 1.2\n---\na: 1\n",
        "a: 1\n...\n",
        "--- a\n",
        "a: [x, ]\n",
        "a: {b}\n",
        "a: [b: c]\n",
        "a: [x # c\n  ]\n",
        "a: \"\\x41\"\n",
        "a: \"\\ud800\"\n",
        "a: - b\n",
        "? a\n",
        "a: @x\n",
        "{\"a\":1}\n",
        "---x: 1\n",
        "k: -\n",
        "-x: 2\n",
        "a: |2\n  x\n",
        "a: |+\n  x\n",
        "a: | # c\n  x\n",
        "- |\n  x\n",
        "a: |\n\n  x\n",
        "a: |\n  x\n  \n  y\n",
        "a: |\n  x",
        "a: |\nb: 1\n",
        "a:\n  b: |\n  x\n",
        "a: |\n  x\n# c\n",
    ];
    for (i, text) in declined.iter().enumerate() {
        assert!(
            parse(text, &Limits::default()).is_none(),
            "case {i} answered: {text:?}"
        );
    }
}

#[test]
fn limits_send_documents_to_the_other_paths() {
    let deep = "a:\n  b: {c: {d: [1]}}\n";
    let shallow = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(parse(deep, &shallow).is_none());
    assert!(same_with("deep", deep, &Limits::default()));
    let five = Limits {
        max_depth: 5,
        ..Limits::default()
    };
    assert!(same_with("deep", deep, &five));
    let few = Limits {
        max_documents: 3,
        ..Limits::default()
    };
    assert!(parse("a: 1\n---\nb: 2\n---\nc: 3\n---\nd: 4\n", &few).is_none());
    assert!(same_with("few", "a: 1\n---\nb: 2\n", &few));
    // Deeper than the scanner recurses, whatever the limits allow: the other paths decide.
    let lax = Limits {
        max_depth: 100_000,
        ..Limits::default()
    };
    let nested = "- ".repeat(5000) + "x\n";
    assert!(parse(&nested, &lax).is_none());
    let flow = "[".repeat(5000) + &"]".repeat(5000);
    assert!(parse(&flow, &lax).is_none());
}

#[test]
fn big_maps_with_duplicates_go_to_the_other_paths() {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("k{i}: {i}\n"));
    }
    assert!(same("big", &text));
    text.push_str("k7: again\n");
    assert!(parse(&text, &Limits::default()).is_none());
}

/// A random located tree rendered as block YAML in random styles.
struct Gen {
    rng: SplitMix64,
    out: String,
}

const SCALARS: [&str; 30] = [
    "x",
    "a b",
    "1",
    "-2",
    "0",
    "1.5",
    "true",
    "False",
    "null",
    "~",
    "yes",
    "'q'",
    "'it''s'",
    "\"d\\n\\u00e9\"",
    "\"\"",
    "''",
    "http://h/p?q#f",
    "a#b",
    "-x",
    "10.0.0.0/8",
    "\"*\"",
    "\"*.ext.com\"",
    "GET",
    "/api/{*}",
    "v1",
    "2024-01-01",
    "1e3",
    "0x10",
    "+1",
    "a,b",
];
const KEYS: [&str; 9] = [
    "a", "b", "name", "'q k'", "\"dq\"", "k-1", "x.y/z", "<<", "a b",
];
/// Keys the scanner leaves to the other paths (numbers, booleans, `-k` typed by serde).
const ODD_KEYS: [&str; 4] = ["1", "on", "-k", "y"];

impl Gen {
    fn pick<'a>(&mut self, from: &[&'a str]) -> &'a str {
        from.get(self.rng.below(from.len())).copied().unwrap_or("x")
    }

    /// The `i`-th key of a mapping (distinct from its siblings), odd ones now and then.
    fn key(&mut self, i: usize) -> String {
        let k = if self.rng.chance(3) {
            self.pick(&ODD_KEYS)
        } else {
            self.pick(&KEYS)
        };
        match k.strip_suffix(['\'', '"']) {
            Some(open) => format!("{open}{i}{}", &k[k.len() - 1..]),
            None => format!("{k}{i}"),
        }
    }

    fn comment(&mut self) {
        match self.rng.below(12) {
            0 => self.out.push_str(" # c"),
            1 => self.out.push_str("  "),
            _ => {}
        }
    }

    fn flow(&mut self, depth: usize) {
        match self.rng.below(if depth > 2 { 1 } else { 4 }) {
            0 => {
                let s = self.pick(&SCALARS);
                let s = if s.contains(['[', ']', '{', '}', ',', '#', ':']) {
                    "y"
                } else {
                    s
                };
                self.out.push_str(s);
            }
            1 => {
                self.out.push('[');
                for i in 0..self.rng.below(4) {
                    if i > 0 {
                        self.out
                            .push_str(if self.rng.chance(50) { ", " } else { "," });
                    }
                    self.flow(depth + 1);
                }
                self.out.push(']');
            }
            _ => {
                self.out.push('{');
                for i in 0..self.rng.below(4) {
                    if i > 0 {
                        self.out.push_str(", ");
                    }
                    let k = self.key(i);
                    self.out.push_str(&format!("{k}: "));
                    self.flow(depth + 1);
                }
                self.out.push('}');
            }
        }
    }

    /// A block node whose first line continues the current one; `indent` is the parent's.
    fn node(&mut self, indent: usize, depth: usize, in_seq: bool) {
        let kind = if depth > 3 { 0 } else { self.rng.below(6) };
        let step = 1 + self.rng.below(3);
        match kind {
            0 if !in_seq && self.rng.chance(10) => {
                let inner = indent + step;
                self.out
                    .push_str(if self.rng.chance(50) { " |\n" } else { " |-\n" });
                for i in 0..1 + self.rng.below(3) {
                    if i > 0 && self.rng.chance(30) {
                        self.out.push('\n');
                    }
                    let s = self.pick(&SCALARS);
                    self.out.push_str(&format!(
                        "{}{}{s}\n",
                        " ".repeat(inner),
                        " ".repeat(self.rng.below(2))
                    ));
                }
            }
            0 | 1 => {
                self.out.push(' ');
                if kind == 0 {
                    let s = self.pick(&SCALARS);
                    self.out.push_str(s);
                } else {
                    self.flow(depth);
                }
                self.comment();
                self.out.push('\n');
            }
            2 | 3 => {
                // A block mapping: on the next lines, or compact after `- `.
                let compact = in_seq && self.rng.chance(60);
                let inner = if compact { indent + 2 } else { indent + step };
                if !compact {
                    self.out.push('\n');
                }
                for i in 0..1 + self.rng.below(3) {
                    if i > 0 || !compact {
                        self.out.push_str(&" ".repeat(inner));
                    } else {
                        self.out.push(' ');
                    }
                    let k = self.key(i);
                    self.out.push_str(&format!("{k}:"));
                    self.node(inner, depth + 1, false);
                    if self.rng.chance(8) {
                        self.out.push_str("\n# between\n");
                    }
                }
            }
            _ => {
                // A block sequence: indented, indentless (a mapping's value) or compact.
                let compact = in_seq && self.rng.chance(50);
                let inner = if compact {
                    indent + 2
                } else if !in_seq && self.rng.chance(50) {
                    indent
                } else {
                    indent + step
                };
                if !compact {
                    self.out.push('\n');
                }
                for i in 0..1 + self.rng.below(3) {
                    if i > 0 || !compact {
                        self.out.push_str(&" ".repeat(inner));
                    } else {
                        self.out.push(' ');
                    }
                    self.out.push('-');
                    self.node(inner, depth + 1, true);
                }
            }
        }
    }

    fn document(&mut self) -> String {
        self.out.clear();
        for d in 0..1 + self.rng.below(3) {
            if d > 0 || self.rng.chance(30) {
                self.out.push_str("---\n");
            }
            for i in 0..1 + self.rng.below(5) {
                let k = self.key(i);
                self.out.push_str(&format!("{k}:"));
                self.node(0, 1, false);
            }
        }
        std::mem::take(&mut self.out)
    }
}

/// Bytes that make or break YAML constructs, for mutations.
const NOISE: [&str; 16] = [
    " ", "  ", "\n", "-", ": ", "#", "'", "\"", "[", "]", "{", "}", ",", "&a ", "*a", "\t",
];

#[test]
fn generated_block_yaml_parses_alike_and_mutations_never_differ() {
    let mut generator = Gen {
        rng: SplitMix64::new(13),
        out: String::new(),
    };
    let mut answered = 0;
    let total = 3000;
    for case in 0..total {
        let text = generator.document();
        if same(&format!("gen-{case}"), &text) {
            answered += 1;
        }
        for m in 0..4 {
            let mut mutated = text.clone();
            let at = generator.rng.below(mutated.len() + 1);
            let at = (at..=mutated.len())
                .find(|&i| mutated.is_char_boundary(i))
                .unwrap_or(mutated.len());
            match generator.rng.below(3) {
                0 => {
                    let noise = NOISE
                        .get(generator.rng.below(NOISE.len()))
                        .copied()
                        .unwrap_or(" ");
                    mutated.insert_str(at, noise);
                }
                1 => {
                    let end = (at + 1 + generator.rng.below(3)).min(mutated.len());
                    if mutated.is_char_boundary(end) {
                        mutated.replace_range(at..end, "");
                    }
                }
                _ => mutated.truncate(at),
            }
            same(&format!("gen-{case}-{m}"), &mutated);
        }
    }
    assert!(
        answered * 2 >= total,
        "the scanner answered {answered} of {total} generated documents"
    );
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    /// Lines of YAML-ish pieces: whenever the scanner answers, the other paths agree.
    #[test]
    fn yaml_like_lines_parse_alike(
        lines in proptest::collection::vec(
            (0usize..5, proptest::collection::vec(
                prop::sample::select(vec![
                    "a", "b", "-", "- ", ": ", ":", "x y", "1", "~", "'q'", "\"d\"", "[", "]",
                    "{", "}", ", ", "#c", " ", "---", "&a", "*a", "!t", "|", ">", "?", "<<",
                    "\"\\u0041\"", "''", "10.0.0.0/8", "true", "null",
                ]),
                0..6,
            )),
            0..10,
        )
    ) {
        let mut text = String::new();
        for (indent, pieces) in &lines {
            text.push_str(&" ".repeat(*indent));
            for piece in pieces {
                text.push_str(piece);
            }
            text.push('\n');
        }
        same("lines", &text);
    }
}

#[test]
fn big_lists_parse_in_parts_alike() {
    use crate::workload::{generate_profile, Layout, Profile};
    let workload = generate_profile(20_000, 3, Profile::Mixed, Layout::List);
    let (name, list) = workload
        .files
        .iter()
        .max_by_key(|(_, text)| text.len())
        .expect("a file");
    assert!(list.len() > 2 * super::SPLIT_BYTES, "{} bytes", list.len());
    let before = super::SPLITS.load(std::sync::atomic::Ordering::Relaxed);
    assert!(same(name, list));
    if std::thread::available_parallelism().map_or(1, usize::from) > 1 {
        assert!(super::SPLITS.load(std::sync::atomic::Ordering::Relaxed) > before);
    }
    // Items indented under `items:`, keys after them.
    let mut indented = String::from("apiVersion: v1\nitems:\n");
    for i in 0..100_000 {
        indented.push_str(&format!(
            "  - name: n{i}\n    hosts: [\"h{i}\", x]\n    # c\n\n"
        ));
    }
    indented.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    assert!(indented.len() > 2 * super::SPLIT_BYTES);
    assert!(same("indented", &indented));
    // A short sequence, then a long one at the same indentation: the cuts fall in the
    // second, so the parts of the first do not end at them and it is parsed in one go.
    let mut two = String::from("items:\n- a\n- b: 1\nother:\n");
    for i in 0..200_000 {
        two.push_str(&format!("- item-{i}\n"));
    }
    assert!(same("two", &two));
    // A document of a sequence of sequences, cut inside an item's nested sequence.
    let mut nested = String::from("- ");
    for i in 0..150_000 {
        nested.push_str(&format!("- {i}\n  "));
    }
    nested.push_str("- end\n- last\n");
    assert!(same("nested", &nested));
    // Something the scanner declines late in the last part.
    let late = format!("{indented}bad: &anchor x\n");
    assert!(parse(&late, &Limits::default()).is_none());
}
