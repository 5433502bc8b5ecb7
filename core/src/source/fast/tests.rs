//! The fast path against the serde path: same trees and locations whenever the fast path
//! answers, on every YAML file of the repository, on generated workloads and on edge cases.

use super::super::{parse_with_serde, Limits, Node, Value};
use super::parse;

/// The fast path's documents as `parse_documents` returns them.
fn fast(text: &str) -> Option<Vec<Node>> {
    parse(text, &Limits::default()).map(|docs| {
        docs.into_iter()
            .filter(|n| n.value != Value::Null)
            .collect()
    })
}

/// Checks one text; returns whether the fast path answered.
fn same(name: &str, text: &str) -> bool {
    let Some(fast) = fast(text) else {
        return false;
    };
    match parse_with_serde(name, text, &Limits::default()) {
        Ok(slow) => assert!(slow == fast, "{name}: the fast path builds another tree"),
        Err(e) => panic!("{name}: the fast path accepts what the serde path refuses: {e}"),
    }
    true
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
    }
    assert!(
        yaml >= 50,
        "only {yaml} YAML files found under {}/..",
        env!("CARGO_MANIFEST_DIR")
    );
    assert!(
        answered * 10 >= yaml * 8,
        "fast path answered {answered} of {yaml}"
    );
}

#[test]
fn generated_workloads_parse_alike() {
    super::super::corpus::for_each_generated_file(|name, text, what| {
        assert!(same(name, text), "{what}: not answered");
    });
}

#[test]
fn edge_cases_parse_alike_or_go_to_serde() {
    let answered = [
        "a: 1\nb: -2\nc: 0\nd: -0\ne: true\nf: false\ng: null\nh: ~\ni:\nj: ''\nk: \"\"\n",
        "s: 'single'\nd: \"dou\\tble \\u00e9\"\nl: |\n  one\n  two\nf: >-\n  folded\n  text\n",
        "plain: multi\n  line\n  scalar\nurl: http://a.b/c?d=e#f\nq: \"a: b\"\n",
        "flow: {a: [1, 2, {b: c}], 'x y': z}\nempty: []\nnone: {}\n",
        "# comment\n---\na: 1 # trailing\n---\n---\nb: [x,\n  y]\n...\n",
        "a:\r\n  - x\r\n  - y\r\n",
        "{\n\t\"kind\": \"X\",\n\t\"n\": [1, 2.5, -3e2, null, true]\n}\n",
        "- 10s\n- 1.5\n- 0x1f\n- 0o17\n- 1_000\n- 010\n- +1\n- .5\n- 1e3\n- 123456789012345678901\n",
        "- yes\n- No\n- ON\n- off\n- y\n- True\n- FALSE\n- Null\n- NULL\n- nothing\n- Yesterday\n",
        "- 2024-01-01T00:00:00Z\n- 1.2.3\n- 5e1f3c2a-8b1c-4d2e-9f3a-1b2c3d4e5f60\n- -x\n- a#b\n- a:b\n",
        "a: é\nü: 1\n\"quoted key\": v\n'k': w\n",
        "top scalar\n",
        "",
        "---\n",
        "a: b\n---\n# only a comment\n",
        "- - - deep\n  - [x]\n",
    ];
    for (i, text) in answered.iter().enumerate() {
        assert!(
            same(&format!("case-{i}.yaml"), text),
            "case {i} not answered: {text:?}"
        );
    }
    let to_serde = [
        "a: &x 1\nb: *x\n",
        "a: !!str 1\n",
        "base: &b {x: 1}\nc:\n  <<: *b\n",
        "a: 1\na: 2\n",
        "1: one\n",
        "? [a]\n: b\n",
        "a: [1, 2\n",
        "a: .inf\n",
        "a: b\n\tc: d\n",
        "true: x\n",
    ];
    for (i, text) in to_serde.iter().enumerate() {
        assert!(fast(text).is_none(), "case {i} answered: {text:?}");
        assert!(!same(&format!("serde-{i}.yaml"), text));
    }
}

#[test]
fn big_maps_with_duplicates_go_to_serde() {
    let mut text = String::new();
    for i in 0..40 {
        text.push_str(&format!("k{i}: {i}\n"));
    }
    assert!(fast(&text).is_some());
    text.push_str("k7: again\n");
    assert!(fast(&text).is_none());
}

#[test]
fn limits_send_documents_to_serde() {
    let deep = "a:\n  b: {c: {d: [1]}}\n";
    let shallow = Limits {
        max_depth: 3,
        ..Limits::default()
    };
    assert!(parse(deep, &shallow).is_none());
    assert!(parse(deep, &Limits::default()).is_some());
    let few = Limits {
        max_documents: 2,
        ..Limits::default()
    };
    assert!(parse("a: 1\n---\nb: 2\n---\nc: 3\n", &few).is_none());
}
