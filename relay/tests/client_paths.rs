//! The console's typed client (`app/src/client.rs`) and the relay's route table name the same
//! endpoints: every call the console makes is a route the relay declares, with the same
//! method, and every declared route has its function in the client.

mod common;

use std::collections::BTreeSet;

use switchboard_relay::{routes, Backend};

/// (method, path below `/api/v1` with every parameter written `{id}`) for each call in the
/// client's source.
fn client_calls(source: &str) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for line in source.lines().filter(|l| !l.trim_start().starts_with("//")) {
        let Some(start) = line.find("\"/api/v1") else { continue };
        // The path up to its query string, if any.
        let path: String = line[start + 1..].chars().take_while(|c| *c != '"' && *c != '?').collect();
        let method = if line.contains("api::get(") {
            "GET".to_owned()
        } else if line.contains("api::put_bytes(") {
            "PUT".to_owned()
        } else if line.contains("api::post(") || line.contains("api::send_text(") || line.contains("api::post_file(") {
            "POST".to_owned()
        } else if let Some(i) = line.find("(\"").filter(|_| line.contains("api::send")) {
            line[i + 2..].chars().take_while(|c| *c != '"').collect()
        } else {
            // A link the browser follows (a download, the event stream).
            "GET".to_owned()
        };
        let mut normal = String::new();
        let mut rest = path.trim_start_matches("/api/v1");
        while let Some(open) = rest.find('{') {
            normal.push_str(&rest[..open]);
            let close = rest[open..].find('}').map_or(rest.len(), |c| open + c + 1);
            // `{}` at the end is the query string; any other `{name}` is a path parameter.
            if close - open > 2 {
                normal.push_str("{id}");
            }
            rest = &rest[close..];
        }
        normal.push_str(rest);
        out.insert((method, normal));
    }
    out
}

/// `/groups/{id}/messages/{message}` as the client's calls are read: every parameter `{id}`.
fn any_parameter_as_id(path: &str) -> String {
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        out.push_str("{id}");
        rest = &rest[open + rest[open..].find('}').unwrap() + 1..];
    }
    out.push_str(rest);
    out
}

#[tokio::test]
async fn the_console_client_calls_exactly_the_routes_the_relay_declares() {
    let source = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../app/src/client.rs")).unwrap();
    let calls = client_calls(&source);
    assert!(calls.len() > 40, "read only {} calls", calls.len());
    let app = common::spawn_app(Backend::Sqlite).await;
    let declared: BTreeSet<(String, String)> =
        routes::specs(&app.relay.state).iter().map(|s| (s.method.to_string(), any_parameter_as_id(s.path))).collect();
    let unknown: Vec<_> = calls.difference(&declared).collect();
    assert!(unknown.is_empty(), "the client calls routes the relay does not declare: {unknown:?}");
    let missing: Vec<_> = declared.difference(&calls).collect();
    assert!(missing.is_empty(), "routes without a client function: {missing:?}");
}

#[test]
fn calls_are_read_with_their_method_and_parameters() {
    let source = r#"
        api::get(&format!("/api/v1/conversations/{conversation}/messages")).await
        api::send("PATCH", &format!("/api/v1/numbers/{id}"), change).await
        api::get(&format!("/api/v1/audit{}", query(q))).await
        // api::get("/api/v1/not-a-call")
        format!("/api/v1/broadcasts/{id}/export")
    "#;
    let calls: Vec<(String, String)> = client_calls(source).into_iter().collect();
    assert_eq!(
        calls,
        [
            ("GET".to_owned(), "/audit".to_owned()),
            ("GET".into(), "/broadcasts/{id}/export".into()),
            ("GET".into(), "/conversations/{id}/messages".into()),
            ("PATCH".into(), "/numbers/{id}".into()),
        ]
    );
}
