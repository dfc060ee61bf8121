//! Every error code the relay answers with has a sentence in the console's string table, so a
//! reader of Traditional Chinese never sees the relay's English message instead.

use std::path::Path;

use switchboard_shared::groups::Refusal;

fn rust_files(dir: &Path, out: &mut Vec<std::path::PathBuf>) {
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// The string literal right after each occurrence of `call(` (allowing a line break).
fn codes_after(source: &str, call: &str, out: &mut Vec<String>) {
    for (i, _) in source.match_indices(call) {
        let rest = source[i + call.len()..].trim_start();
        if let Some(rest) = rest.strip_prefix('"') {
            let code = &rest[..rest.find('"').unwrap()];
            if !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_') {
                out.push(code.to_owned());
            }
        }
    }
}

#[test]
fn every_error_code_the_relay_answers_with_has_a_translation() {
    let relay = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&relay.join("src"), &mut files);
    let mut codes = vec!["unauthorized", "forbidden", "not_found", "conflict", "too_many_attempts", "internal"]
        .into_iter()
        .map(str::to_owned)
        .collect::<Vec<_>>();
    for file in &files {
        let source = std::fs::read_to_string(file).unwrap();
        codes_after(&source, "bad_request(", &mut codes);
        codes_after(&source, "bad(", &mut codes);
        // `AppError::Refused(StatusCode::…, "code", …)`: the first literal after the status.
        for (i, _) in source.match_indices("Refused(") {
            let rest = source[i + "Refused(".len()..].trim_start();
            if let Some(rest) = rest.strip_prefix("StatusCode::") {
                let rest = rest[rest.find(',').unwrap() + 1..].trim_start();
                if let Some(rest) = rest.strip_prefix('"') {
                    codes.push(rest[..rest.find('"').unwrap()].to_owned());
                }
            }
        }
    }
    // A group action refused before any I/O answers with its refusal's code.
    for r in [Refusal::Provider, Refusal::NotAdmin, Refusal::AdminsOnly, Refusal::Offline, Refusal::LoggedOut, Refusal::Banned] {
        codes.push(r.code().to_owned());
    }
    codes.sort();
    codes.dedup();
    assert!(codes.len() > 30, "found only {codes:?}");
    let table = std::fs::read_to_string(relay.join("../app/src/i18n.rs")).unwrap();
    let missing: Vec<&String> = codes.iter().filter(|c| !table.contains(&format!("\"error.code.{c}\""))).collect();
    assert!(missing.is_empty(), "error codes without a sentence in app/src/i18n.rs: {missing:?}");
}
