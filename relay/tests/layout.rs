//! The relay's feature folders depend on each other in one direction only: a feature may call
//! another, but never in a circle, so each can be read (and changed) from its own folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The feature folders under `relay/src`.
const FEATURES: [&str; 7] = ["access", "broadcasts", "contacts", "conversations", "inbound", "numbers", "outbox"];

fn sources(dir: &Path, out: &mut Vec<String>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            sources(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(std::fs::read_to_string(&path).unwrap());
        }
    }
}

/// Which features a feature's code names (`crate::x::…`, `use crate::{x, …}`, `crate::x;`).
fn dependencies(feature: &str, source: &str) -> BTreeSet<&'static str> {
    let mut out = BTreeSet::new();
    for (i, _) in source.match_indices("crate::") {
        let rest = &source[i + "crate::".len()..];
        let names: Vec<&str> = match rest.strip_prefix('{') {
            Some(list) => list[..list.find('}').unwrap_or(0)].split(',').map(|n| n.trim().split("::").next().unwrap_or("")).collect(),
            None => vec![rest.split(|c: char| !(c.is_ascii_alphanumeric() || c == '_')).next().unwrap_or("")],
        };
        for name in names {
            if let Some(other) = FEATURES.iter().find(|f| **f == name && **f != feature) {
                out.insert(*other);
            }
        }
    }
    out
}

/// A cycle in the graph, if there is one.
fn cycle(graph: &BTreeMap<&str, BTreeSet<&'static str>>) -> Option<Vec<String>> {
    fn visit<'a>(
        node: &'a str,
        graph: &BTreeMap<&'a str, BTreeSet<&'static str>>,
        path: &mut Vec<&'a str>,
        done: &mut BTreeSet<&'a str>,
    ) -> Option<Vec<String>> {
        if let Some(start) = path.iter().position(|n| *n == node) {
            return Some(path[start..].iter().chain(std::iter::once(&node)).map(|n| n.to_string()).collect());
        }
        if !done.insert(node) {
            return None;
        }
        path.push(node);
        for next in graph.get(node).into_iter().flatten() {
            if let Some(c) = visit(next, graph, path, done) {
                return Some(c);
            }
        }
        path.pop();
        None
    }
    let mut done = BTreeSet::new();
    graph.keys().find_map(|n| visit(n, graph, &mut Vec::new(), &mut done))
}

#[test]
fn feature_folders_depend_on_each_other_without_a_cycle() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut graph: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
    for feature in FEATURES {
        let dir = src.join(feature);
        assert!(dir.is_dir(), "{feature} is a folder");
        let mut files = Vec::new();
        sources(&dir, &mut files);
        graph.insert(feature, files.iter().flat_map(|f| dependencies(feature, f)).collect());
    }
    assert_eq!(cycle(&graph), None, "features depend on each other in a circle; the graph: {graph:?}");
    // The outbox carries everyone's sends and knows none of them: it reports outcomes through
    // `outbox::outcomes`.
    assert!(graph["outbox"].iter().all(|f| *f == "numbers"), "the outbox names {:?}", graph["outbox"]);
}

#[test]
fn the_cycle_check_finds_a_cycle() {
    let mut graph: BTreeMap<&str, BTreeSet<&'static str>> = BTreeMap::new();
    graph.insert("outbox", ["broadcasts"].into());
    graph.insert("broadcasts", ["contacts"].into());
    graph.insert("contacts", ["outbox"].into());
    assert_eq!(cycle(&graph), Some(vec!["broadcasts".into(), "contacts".into(), "outbox".into(), "broadcasts".into()]));
    assert_eq!(dependencies("outbox", "use crate::{broadcasts, AppState};\ncrate::numbers::x();"), ["broadcasts", "numbers"].into());
}
