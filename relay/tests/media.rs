//! Files in conversations: customers' photos, voice notes, documents and locations fetched
//! from the Graph media endpoint after the webhook, kept content-addressed under the data
//! directory and served only in scope; an agent's PDF checked, uploaded and sent by its id;
//! every bad file refused with its reason and nothing changed. Real relay, real sandbox over
//! HTTP, signed webhooks, both backends.

mod common;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_relay::Backend;
use switchboard_sandbox::media::{DOT_PNG, PARCEL_JPG, PRICE_LIST_PDF};
use switchboard_sandbox::Sample;
use switchboard_shared::access::Scope;

const CUSTOMER: &str = "85290001234";

/// The customer's latest message of this kind (image, audio, location, …), once its
/// attachment is in `state` (a file's state, or the attachment's type for the rest).
async fn arrived(app: &TestApp, cookie: &str, from: &str, kind: &str, state: &str) -> Value {
    eventually_some(&format!("a {state} {kind} from {from}"), || async {
        let inbox = app.get_json(cookie, "/api/v1/conversations").await;
        let c = inbox["conversations"].as_array()?.iter().find(|c| c["contact"] == from)?.clone();
        let messages = app.get_json(cookie, &format!("/api/v1/conversations/{}/messages", c["id"])).await;
        let last = messages.as_array()?.iter().rev().find(|m| m["kind"] == kind)?.clone();
        let shown = last["attachment"]["state"].as_str().or(last["attachment"]["type"].as_str().filter(|t| *t != "media"));
        (shown == Some(state)).then_some(last)
    })
    .await
}

/// An agent sends a file (the body) with this type to a conversation.
async fn send_file(app: &TestApp, cookie: &str, conversation: i64, query: &str, mime: &str, bytes: Vec<u8>) -> reqwest::Response {
    app.http
        .post(app.url(&format!("/api/v1/conversations/{conversation}/media{query}")))
        .header("cookie", cookie)
        .header("x-requested-with", "switchboard")
        .header("content-type", mime)
        .body(bytes)
        .send()
        .await
        .unwrap()
}

async fn get(app: &TestApp, cookie: &str, path: &str) -> reqwest::Response {
    app.http.get(app.url(path)).header("cookie", cookie).send().await.unwrap()
}

/// How many files the relay keeps under its data directory.
fn kept_files(app: &TestApp) -> usize {
    let root = app.relay.state.config.data_dir.join("media");
    let Ok(dirs) = std::fs::read_dir(root) else { return 0 };
    dirs.flatten().map(|d| std::fs::read_dir(d.path()).map_or(0, |f| f.count())).sum()
}

async fn customers_files_arrive_and_are_served_only_in_scope(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;

    // A photo with a caption: fetched after the webhook, shown with its caption.
    app.sandbox.customer_sends(NUMBER, CUSTOMER, "Mei", Sample::Photo);
    let photo = arrived(&app, &admin, CUSTOMER, "image", "ready").await;
    assert_eq!(photo["kind"], "image");
    let a = &photo["attachment"];
    assert_eq!((a["type"].as_str(), a["kind"].as_str(), a["mime_type"].as_str()), (Some("media"), Some("image"), Some("image/jpeg")));
    assert_eq!(a["size"].as_i64(), Some(PARCEL_JPG.len() as i64));
    assert_eq!(a["caption"], "包裹到了，但是角落壓壞了 😢");
    assert!(photo["body"].as_str().unwrap().starts_with("[image]"), "the inbox preview names it: {photo}");
    let id = photo["id"].as_i64().unwrap();
    let r = get(&app, &admin, &format!("/api/v1/media/{id}")).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.headers()["content-type"], "image/jpeg");
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("inline"));
    assert_eq!(r.headers()["x-content-type-options"], "nosniff");
    assert_eq!(r.headers()["cache-control"], "private, max-age=31536000, immutable", "a message's file never changes");
    assert!(r.headers()["content-security-policy"].to_str().unwrap().starts_with("sandbox"));
    assert_eq!(&r.bytes().await.unwrap()[..], PARCEL_JPG, "the same bytes the customer sent");
    assert_eq!(kept_files(&app), 1);

    // The same photo from someone else is kept once.
    app.sandbox.customer_sends(NUMBER, "85290005678", "Ken", Sample::Photo);
    let again = arrived(&app, &admin, "85290005678", "image", "ready").await;
    assert_eq!(&get(&app, &admin, &format!("/api/v1/media/{}", again["id"])).await.bytes().await.unwrap()[..], PARCEL_JPG);
    assert_eq!(kept_files(&app), 1, "content-addressed: one file for two messages");

    // A voice note, a document and a location.
    app.sandbox.customer_sends(NUMBER, CUSTOMER, "Mei", Sample::Voice);
    let voice = arrived(&app, &admin, CUSTOMER, "audio", "ready").await;
    assert_eq!((voice["attachment"]["kind"].as_str(), voice["attachment"]["voice"].as_bool()), (Some("audio"), Some(true)));
    // Deleting the message deletes its file (kept by nothing else).
    assert_eq!(kept_files(&app), 2);
    let r = app.call(Method::DELETE, &admin, &format!("/api/v1/messages/{}", voice["id"]), None).await;
    assert_eq!(r.status(), 204);
    assert_eq!(get(&app, &admin, &format!("/api/v1/media/{}", voice["id"])).await.status(), 404);
    assert_eq!(kept_files(&app), 1);
    app.sandbox.customer_sends(NUMBER, CUSTOMER, "Mei", Sample::Document);
    let doc = arrived(&app, &admin, CUSTOMER, "document", "ready").await;
    assert_eq!(doc["attachment"]["filename"], "price-list.pdf");
    let r = get(&app, &admin, &format!("/api/v1/media/{}", doc["id"])).await;
    assert!(r.headers()["content-disposition"].to_str().unwrap().starts_with("attachment"), "documents are downloaded, not shown");
    assert_eq!(&r.bytes().await.unwrap()[..], PRICE_LIST_PDF);
    app.sandbox.customer_sends(NUMBER, CUSTOMER, "Mei", Sample::Location);
    let place = arrived(&app, &admin, CUSTOMER, "location", "location").await;
    assert_eq!(place["attachment"]["name"], "Tsim Sha Tsui Star Ferry Pier");
    assert!((place["attachment"]["latitude"].as_f64().unwrap() - 22.2977).abs() < 1e-9);
    assert_eq!(get(&app, &admin, &format!("/api/v1/media/{}", place["id"])).await.status(), 404, "a location is not a file");

    // Someone whose numbers do not cover the conversation: 403 for its file.
    let numbers = Scope::Numbers([NUMBER2.to_owned()].into());
    auth::upsert_user(&app.relay.state, "other@example.com", "Other", PASSWORD, "Agent", &numbers).await.unwrap();
    let other = app.login_as("other@example.com", PASSWORD).await;
    let r = get(&app, &other, &format!("/api/v1/media/{id}")).await;
    assert_eq!(r.status(), 403);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "forbidden");
    // The agent of every number may see it; signed out, nobody.
    let agent = app.login().await;
    assert_eq!(get(&app, &agent, &format!("/api/v1/media/{id}")).await.status(), 200);
    assert_eq!(app.http.get(app.url(&format!("/api/v1/media/{id}"))).send().await.unwrap().status(), 401);
    assert_eq!(get(&app, &admin, "/api/v1/media/999999").await.status(), 404);
}

async fn a_failed_download_is_tried_again_and_a_lost_file_says_why(backend: Backend) {
    let app = spawn_app_with(backend, |c| c.media_max_mb = Some(1)).await;
    let admin = app.admin().await;

    // The first download fails (a 500): the next try, two seconds later, brings it.
    app.sandbox.fail_downloads(1);
    app.sandbox.customer_sends(NUMBER, CUSTOMER, "Mei", Sample::Photo);
    let photo = arrived(&app, &admin, CUSTOMER, "image", "ready").await;
    assert_eq!(&get(&app, &admin, &format!("/api/v1/media/{}", photo["id"])).await.bytes().await.unwrap()[..], PARCEL_JPG);

    // A media id WhatsApp does not know (expired after 7 days): failed at once, with why.
    let mut lost = text_message("wamid.LOST", "85290002222", "");
    lost["entry"][0]["changes"][0]["value"]["messages"][0] = json!({"from": "85290002222", "id": "wamid.LOST", "timestamp": "1767225600", "type": "image", "image": {"id": "404404", "mime_type": "image/jpeg"}});
    assert_eq!(app.post_webhook(&serde_json::to_vec(&lost).unwrap()).await.status(), 200);
    let failed = arrived(&app, &admin, "85290002222", "image", "failed").await;
    assert!(failed["attachment"]["error"].as_str().unwrap().contains("7 days"), "{failed}");
    assert_eq!(get(&app, &admin, &format!("/api/v1/media/{}", failed["id"])).await.status(), 409);

    // No media id at all: failed at once.
    let mut no_id = lost.clone();
    no_id["entry"][0]["changes"][0]["value"]["messages"][0]["id"] = json!("wamid.NOID");
    no_id["entry"][0]["changes"][0]["value"]["messages"][0]["from"] = json!("85290003333");
    no_id["entry"][0]["changes"][0]["value"]["messages"][0]["image"] = json!({"mime_type": "image/jpeg"});
    assert_eq!(app.post_webhook(&serde_json::to_vec(&no_id).unwrap()).await.status(), 200);
    let none = arrived(&app, &admin, "85290003333", "image", "failed").await;
    assert!(none["attachment"]["error"].as_str().unwrap().contains("no media id"), "{none}");

    // Larger than this relay keeps (1 MB here): refused with the sizes, nothing kept.
    let mut big = PARCEL_JPG.to_vec();
    big.resize(2 * 1024 * 1024, 0);
    app.sandbox.customer_sends_file(NUMBER, "85290004444", "Big", "video", "video/mp4", &big, None, None);
    let too_big = arrived(&app, &admin, "85290004444", "video", "failed").await;
    assert!(too_big["attachment"]["error"].as_str().unwrap().contains("2.0 MB"), "{too_big}");
    assert_eq!(kept_files(&app), 1, "only the photo is kept");
}

async fn an_agent_sends_a_pdf_and_a_bad_file_changes_nothing(backend: Backend) {
    let app = spawn_app(backend).await;
    let admin = app.admin().await;
    app.sandbox.customer_writes(NUMBER, CUSTOMER, "Mei", "Can you send me the price list?");
    let conversation = eventually_some("the conversation", || async {
        let inbox = app.get_json(&admin, "/api/v1/conversations").await;
        inbox["conversations"].as_array()?.iter().find(|c| c["contact"] == CUSTOMER).map(|c| c["id"].as_i64().unwrap())
    })
    .await;
    let send = |mime: &'static str, bytes: Vec<u8>, query: &'static str| send_file(&app, &admin, conversation, query, mime, bytes);
    let refused = |r: reqwest::Response| async move {
        let status = r.status().as_u16();
        let body: Value = r.json().await.unwrap();
        (
            status,
            body["error"]["code"].as_str().unwrap_or_default().to_owned(),
            body["error"]["message"].as_str().unwrap_or_default().to_owned(),
        )
    };
    let before = (app.count("SELECT COUNT(*) FROM messages").await, app.count("SELECT COUNT(*) FROM outbox").await);

    // Every bad file: refused with its reason, nothing recorded, queued or sent.
    let (s, code, message) = refused(send("text/html", b"<html></html>".to_vec(), "").await).await;
    assert_eq!((s, code.as_str()), (400, "unsupported_media_type"));
    assert!(message.contains("text/html"), "{message}");
    let mut huge = DOT_PNG.to_vec();
    huge.resize(6 * 1024 * 1024, 0);
    let (s, code, message) = refused(send("image/png", huge, "").await).await;
    assert_eq!((s, code.as_str()), (400, "media_too_large"));
    assert!(message.contains("5 MB"), "{message}");
    let (s, code, _) = refused(send("application/pdf", DOT_PNG.to_vec(), "").await).await;
    assert_eq!((s, code.as_str()), (400, "invalid_media"), "a PNG said to be a PDF");
    let (s, code, _) = refused(send("application/pdf", Vec::new(), "").await).await;
    assert_eq!((s, code.as_str()), (400, "invalid_media"), "an empty file");
    let long = format!("?caption={}", "x".repeat(1025));
    let r = send_file(&app, &admin, conversation, &long, "application/pdf", PRICE_LIST_PDF.to_vec()).await;
    assert_eq!(refused(r).await.1, "invalid_caption");
    let analyst = {
        auth::upsert_user(&app.relay.state, "analyst@example.com", "Ana", PASSWORD, "Analyst", &Scope::All).await.unwrap();
        app.login_as("analyst@example.com", PASSWORD).await
    };
    let r = send_file(&app, &analyst, conversation, "", "application/pdf", PRICE_LIST_PDF.to_vec()).await;
    assert_eq!(r.status(), 403, "an analyst does not reply");
    // Outside the 24-hour window only a template may go: the file is not even uploaded.
    let mut old = text_message("wamid.OLD", "85290009999", "from last week");
    old["entry"][0]["changes"][0]["value"]["messages"][0]["timestamp"] = json!("1700000000");
    app.post_webhook(&serde_json::to_vec(&old).unwrap()).await;
    let stale = eventually_some("the old conversation", || async {
        let inbox = app.get_json(&admin, "/api/v1/conversations").await;
        inbox["conversations"].as_array()?.iter().find(|c| c["contact"] == "85290009999").map(|c| c["id"].as_i64().unwrap())
    })
    .await;
    let r = send_file(&app, &admin, stale, "", "application/pdf", PRICE_LIST_PDF.to_vec()).await;
    assert_eq!(refused(r).await.1, "outside_service_window");
    let after_old = before.0 + 1; // the old customer's own message
    assert_eq!(
        (app.count("SELECT COUNT(*) FROM messages").await, app.count("SELECT COUNT(*) FROM outbox").await),
        (after_old, before.1),
        "no bad file left a message or a send"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM media").await, 0);
    assert!(app.sandbox.ledger().iter().all(|e| e.kind == "text"), "nothing but texts went out");

    // The price list as a PDF: checked, kept, uploaded, sent by its id with its name.
    let r = send("application/pdf", PRICE_LIST_PDF.to_vec(), "?filename=%E5%83%B9%E7%9B%AE%E8%A1%A8.pdf&caption=Our%20price%20list").await;
    assert_eq!(r.status(), 200);
    let message: Value = r.json().await.unwrap();
    assert_eq!((message["kind"].as_str(), message["body"].as_str()), (Some("document"), Some("[document] Our price list")));
    assert_eq!(message["attachment"]["state"], "ready");
    assert_eq!(message["attachment"]["filename"], "價目表.pdf");
    let sent = eventually_some("the document in the ledger", || async {
        app.sandbox.ledger().into_iter().find(|e| e.kind == "document" && e.to == CUSTOMER)
    })
    .await;
    let uploaded = app.sandbox.media(sent.media_id.as_deref().unwrap()).expect("sent by the id its upload gave");
    assert_eq!((uploaded.bytes.as_slice(), uploaded.mime_type.as_str()), (PRICE_LIST_PDF, "application/pdf"));
    assert_eq!(uploaded.filename.as_deref(), Some("價目表.pdf"));
    assert_eq!(sent.summary, "[document] Our price list");
    // Its status moves like any reply's, and the console can download what was sent.
    eventually("the document read", || async {
        let messages = app.get_json(&admin, &format!("/api/v1/conversations/{conversation}/messages")).await;
        messages.as_array().unwrap().iter().any(|m| m["id"] == message["id"] && m["status"] == "read")
    })
    .await;
    let r = get(&app, &admin, &format!("/api/v1/media/{}?download=1", message["id"])).await;
    assert!(r.headers()["content-disposition"].to_str().unwrap().contains("filename*=UTF-8''%E5%83%B9%E7%9B%AE%E8%A1%A8.pdf"));
    assert_eq!(&r.bytes().await.unwrap()[..], PRICE_LIST_PDF);

    // A photo goes out as an image; the same message id is never sent twice.
    let r = send("image/png", DOT_PNG.to_vec(), "").await;
    assert_eq!(r.status(), 200, "{:?}", r.text().await);
    eventually("the image in the ledger", || async { app.sandbox.ledger().iter().any(|e| e.kind == "image" && e.to == CUSTOMER) }).await;
    tokio::time::sleep(std::time::Duration::from_millis(300)).await;
    let files: Vec<_> = app.sandbox.ledger().into_iter().filter(|e| e.kind != "text").collect();
    assert_eq!(files.len(), 2, "one document and one image, each once: {files:#?}");
}

use switchboard_relay::access::auth;

on_both_backends!(
    customers_files_arrive_and_are_served_only_in_scope,
    a_failed_download_is_tried_again_and_a_lost_file_says_why,
    an_agent_sends_a_pdf_and_a_bad_file_changes_nothing,
);
