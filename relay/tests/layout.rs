//! The relay's feature folders depend on each other in one direction only: a feature may call
//! another, but never in a circle, so each can be read (and changed) from its own folder.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// The feature folders under `relay/src`.
const FEATURES: [&str; 12] = [
    "access",
    "assignment",
    "automation",
    "broadcasts",
    "canned",
    "contacts",
    "conversations",
    "groups",
    "inbound",
    "numbers",
    "outbox",
    "reports",
];

/// Who writes each table: only its owner's `store.rs` inserts, updates or deletes its rows
/// (`db/`, the database as a whole — migrations, backup and restore — aside).
const OWNERS: &[(&str, &[&str])] = &[
    ("access", &["users", "user_numbers", "roles", "sessions", "audit_log"]),
    ("assignment", &[]),
    ("automation", &["auto_rules", "auto_replies"]),
    ("broadcasts", &["broadcasts", "broadcast_recipients"]),
    ("canned", &["canned_replies"]),
    ("contacts", &["contacts", "contact_imports", "segments", "settings"]),
    ("conversations", &["conversations", "messages", "conversation_activity"]),
    ("media", &["media"]),
    ("events", &["events"]),
    (
        "groups",
        &[
            "groups",
            "group_members",
            "group_join_requests",
            "lid_map",
            "linked_devices",
            "group_jobs",
            "group_job_items",
            "group_adds",
            "group_creations",
        ],
    ),
    ("inbound", &["webhook_inbox", "dead_letters"]),
    ("numbers", &["numbers", "templates"]),
    ("outbox", &["outbox", "message_statuses"]),
    ("reports", &[]),
];

fn sources(dir: &Path, out: &mut Vec<String>) {
    out.extend(files(dir).into_iter().map(|(_, text)| text));
}

/// Every `.rs` file under `dir`: (path relative to `relay/src`, text).
fn files(dir: &Path) -> Vec<(String, String)> {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(files(&path));
        } else if path.extension().is_some_and(|e| e == "rs") {
            let name = path.strip_prefix(&src).unwrap().to_string_lossy().replace('\\', "/");
            out.push((name, std::fs::read_to_string(&path).unwrap()));
        }
    }
    out
}

/// The tables a piece of SQL writes (`INSERT INTO t`, `UPDATE t`, `DELETE FROM t`).
fn written_tables(source: &str) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for verb in ["INSERT INTO ", "UPDATE ", "DELETE FROM "] {
        for (i, _) in source.match_indices(verb) {
            let table: String = source[i + verb.len()..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '_').collect();
            // `ON CONFLICT … DO UPDATE SET` names no table.
            if !table.is_empty() && table != "SET" {
                out.insert(table);
            }
        }
    }
    out
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
    assert!(graph["outbox"].is_empty(), "the outbox names {:?}", graph["outbox"]);
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

#[test]
fn sql_lives_only_in_store_modules_and_each_table_is_written_by_its_owner() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    let mut stores = 0;
    for (name, text) in files(&src) {
        let has_sql = ["sqlx::query(", "sqlx::query_as(", "sqlx::query_as::<", "sqlx::query_scalar", "sqlx::query::<"]
            .iter()
            .any(|q| text.contains(q));
        if name.starts_with("db/") {
            continue;
        }
        if has_sql {
            assert!(name.ends_with("/store.rs"), "{name} runs SQL; SQL belongs in a feature's store.rs");
        }
        if !name.ends_with("/store.rs") {
            continue;
        }
        stores += 1;
        let feature = name.split('/').next().unwrap();
        let owned = OWNERS.iter().find(|(f, _)| *f == feature).unwrap_or_else(|| panic!("{name}: {feature} is not in OWNERS")).1;
        for table in written_tables(&text) {
            let owner = OWNERS.iter().find(|(_, tables)| tables.contains(&table.as_str())).map(|(f, _)| *f);
            assert!(
                owned.contains(&table.as_str()),
                "{name} writes {table}, which {} owns: call its function instead",
                owner.unwrap_or("nobody")
            );
        }
    }
    assert!(stores >= FEATURES.len(), "found only {stores} store modules");
}

#[test]
fn no_feature_reaches_into_another_features_store() {
    let src = Path::new(env!("CARGO_MANIFEST_DIR")).join("src");
    for (name, text) in files(&src) {
        let own = name.split('/').next().unwrap();
        for (feature, _) in OWNERS {
            if *feature != own {
                assert!(!text.contains(&format!("{feature}::store")), "{name} names {feature}::store; call {feature}'s own functions");
            }
        }
    }
}

#[test]
fn the_write_check_reads_sql_as_meant() {
    let sql = "INSERT INTO outbox (a) SELECT r.x FROM broadcast_recipients r ON CONFLICT (a) DO UPDATE SET a = 1;
               UPDATE broadcasts SET state = 'done'; DELETE FROM sessions WHERE 1 = 1";
    assert_eq!(written_tables(sql), ["broadcasts".to_owned(), "outbox".into(), "sessions".into()].into());
}
