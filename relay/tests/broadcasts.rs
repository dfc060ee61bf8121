//! Contacts, opt-out and broadcasts against a real relay, real storage and the sandbox over
//! HTTP: imports that name every rejected row, opt-out keywords honoured by every later
//! broadcast, and broadcasts that send to each recipient exactly once through faults, pause,
//! resume and cancel, within the portfolio's messaging limit and without starving live replies.

mod common;

use std::collections::HashMap;
use std::time::Duration;

use common::*;
use reqwest::Method;
use serde_json::{json, Value};
use switchboard_relay::access::auth;
use switchboard_relay::Backend;
use switchboard_sandbox::Faults;
use switchboard_shared::access::Scope;

on_both_backends!(
    contacts_import_normalises_merges_and_lists_every_rejected_row,
    broadcast_reaches_each_recipient_once_through_faults_and_reports_every_outcome,
    pause_resume_and_cancel_hold_exactly_once,
    the_messaging_limit_holds_what_exceeds_it_visibly,
    a_live_reply_overtakes_a_running_broadcast,
    a_relay_that_died_while_queueing_finishes_at_start_without_sending_twice,
    a_throughput_storm_is_waited_out_and_every_recipient_still_gets_one_send,
    a_wall_clock_start_begins_each_number_at_that_time_in_its_own_time_zone,
    sends_answered_after_the_timeout_are_settled_by_their_statuses_and_never_sent_twice,
    an_import_a_stopped_relay_left_unfinished_is_finished_at_start,
    a_number_falling_to_red_quality_pauses_its_broadcasts_until_someone_resumes,
    broadcast_progress_reaches_the_event_streams_of_those_who_may_see_it,
    metas_worst_case_of_one_status_per_webhook_is_counted_exactly_once,
);

const ADMIN: &str = "admin@example.com";

/// An administrator's session.
async fn admin(app: &TestApp) -> String {
    auth::upsert_user(&app.relay.state, ADMIN, "Admin", PASSWORD, "Administrator", &Scope::All).await.unwrap();
    app.login_as(ADMIN, PASSWORD).await
}

/// Uploads a CSV with a mapping and waits for the import to finish; returns its status.
async fn import(app: &TestApp, cookie: &str, csv: &str, mapping: &Value) -> Value {
    let url = format!("{}?mapping={}", app.url("/api/v1/contacts/import"), urlencode(&mapping.to_string()));
    let r = app
        .http
        .post(url)
        .header("cookie", cookie)
        .header("x-requested-with", "switchboard")
        .header("content-type", "text/csv")
        .body(csv.to_owned())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let id = r.json::<Value>().await.unwrap()["id"].as_i64().unwrap();
    for _ in 0..400 {
        let s = app.get_json(cookie, &format!("/api/v1/contacts/import/{id}")).await;
        if s["finished"] == true {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("import {id} did not finish");
}

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect()
}

async fn contacts_import_normalises_merges_and_lists_every_rejected_row(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    let mapping = json!({"phone": "Mobile", "name": "Name", "tags": "Tags", "opted_in": "Marketing",
        "attributes": [{"column": "City", "key": "city", "kind": "text"}, {"column": "Spend", "key": "spend", "kind": "number"},
                       {"column": "Joined", "key": "joined", "kind": "date"}],
        "add_tags": ["2026 fair"], "default_country": "HK"});
    let csv = "\u{feff}Mobile,Name,Tags,Marketing,City,Spend,Joined\n\
               9123 4567,陳大文,vip;gold,yes,Hong Kong,1200,2025-03-01\n\
               +852 9123-4567,,new,,,,\n\
               12345,Bad Number,,,,,\n\
               6123 4567,Lee,,no,Kowloon,lots,\n\
               6234 5678,Wong,,maybe,,,\n\
               5123 4567,Ho,,yes,,,2025-02-30\n\
               00886 912 345 678,Lin,,yes,Taipei,80,2024-12-31\n";
    let s = import(&app, &cookie, csv, &mapping).await;
    assert_eq!(s["error"], Value::Null, "{s}");
    assert_eq!(
        (s["total"].as_u64(), s["created"].as_u64(), s["merged"].as_u64(), s["rejected"].as_u64()),
        (Some(7), Some(2), Some(1), Some(4)),
        "{s}"
    );
    // Every rejected row, with its line and reason, as a CSV to download.
    let r = app.http.get(app.url("/api/v1/contacts/import/1/rejected")).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.status(), 200);
    let rejected = r.text().await.unwrap();
    for (line, why) in [("4", "12345"), ("5", "spend"), ("6", "maybe"), ("7", "not a date")] {
        assert!(rejected.lines().any(|l| l.starts_with(line) && l.contains(why)), "line {line} ({why}) missing from:\n{rejected}");
    }
    let contacts: Vec<Value> = serde_json::from_value(app.get_json(&cookie, "/api/v1/contacts").await).unwrap();
    assert_eq!(contacts.len(), 2);
    let chan = contacts.iter().find(|c| c["phone"] == "85291234567").expect("E.164 with the default country");
    assert_eq!(chan["name"], "陳大文");
    assert_eq!(chan["tags"], json!(["vip", "gold", "2026 fair", "new"]));
    assert_eq!(chan["opted_in"], true);
    assert_eq!(chan["attributes"]["spend"], json!({"type": "number", "value": 1200.0}));
    assert!(contacts.iter().any(|c| c["phone"] == "886912345678" && c["attributes"]["city"]["value"] == "Taipei"));

    // A second import merges into the same contacts: tags added, nothing duplicated.
    let s = import(&app, &cookie, "Mobile,Name,Tags,Marketing,City,Spend,Joined\n91234567,,returning,,,,\n", &mapping).await;
    assert_eq!((s["created"].as_u64(), s["merged"].as_u64()), (Some(0), Some(1)), "{s}");
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 2);
    let contacts = app.get_json(&cookie, "/api/v1/contacts").await;
    let chan = contacts.as_array().unwrap().iter().find(|c| c["phone"] == "85291234567").unwrap();
    assert_eq!(chan["tags"], json!(["vip", "gold", "2026 fair", "new", "returning"]));
    assert_eq!(chan["opted_in"], true, "a file without a consent value keeps the old one");

    // A mapping naming a column the file lacks is refused at once; nothing changes.
    let bad = json!({"phone": "Phone", "default_country": "HK"});
    let url = format!("{}?mapping={}", app.url("/api/v1/contacts/import"), urlencode(&bad.to_string()));
    let r = app
        .http
        .post(url)
        .header("cookie", &cookie)
        .header("x-requested-with", "switchboard")
        .body("Mobile\n61234567\n")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("no column \\\"Phone\\\""));
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 2);

    // Export lists them; segments are checked, and a bad one points at the character.
    let r = app.http.get(app.url("/api/v1/contacts/export")).header("cookie", &cookie).send().await.unwrap();
    let exported = r.text().await.unwrap();
    assert_eq!(exported.lines().count(), 3, "{exported}");
    assert!(exported.contains("+85291234567") && exported.contains("Hong Kong"));
    let r = app.post_api(&cookie, "/api/v1/segments", &json!({"name": "Big spenders", "expression": "spend >= 1000 and tag vip"})).await;
    assert_eq!(r.status(), 201);
    let r = app.post_api(&cookie, "/api/v1/segments", &json!({"name": "Broken", "expression": "spend >= 1000 and (tag vip"})).await;
    assert_eq!(r.status(), 400);
    let body = r.text().await.unwrap();
    assert!(body.contains("at character 27") && body.contains("^"), "{body}");
    assert_eq!(app.get_json(&cookie, "/api/v1/segments").await.as_array().unwrap().len(), 1);
}

/// Imports `n` opted-in contacts 852 6000 0000 + i with a `pick` attribute, tagged `list`.
async fn seed_contacts(app: &TestApp, cookie: &str, n: usize) {
    let mut csv = String::from("phone,name,pick,ok\n");
    for i in 0..n {
        csv.push_str(&format!("+8526{:07},Customer {i},Tea {i},yes\n", 100_000 + i));
    }
    let mapping = json!({"phone": "phone", "name": "name", "opted_in": "ok", "add_tags": ["list"],
                         "attributes": [{"column": "pick", "key": "pick", "kind": "text"}], "default_country": "HK"});
    let s = import(app, cookie, &csv, &mapping).await;
    assert_eq!(s["created"].as_u64(), Some(n as u64), "{s}");
}

async fn broadcast(app: &TestApp, cookie: &str, spec: Value) -> i64 {
    let r = app.post_api(cookie, "/api/v1/broadcasts", &spec).await;
    let status = r.status();
    let body: Value = r.json().await.unwrap();
    assert_eq!(status, 201, "{body}");
    body["id"].as_i64().unwrap()
}

async fn wait_done(app: &TestApp, cookie: &str, id: i64, secs: u64) -> Value {
    for _ in 0..secs * 10 {
        let b = app.get_json(cookie, &format!("/api/v1/broadcasts/{id}")).await;
        if b["state"] == "done" || b["state"] == "cancelled" {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("broadcast {id} did not finish: {}", app.get_json(cookie, &format!("/api/v1/broadcasts/{id}")).await);
}

/// Sends in the sandbox's ledger per broadcast key: every key must appear once.
fn ledger_keys(app: &TestApp, broadcast: i64) -> HashMap<String, usize> {
    let prefix = format!("bc:{broadcast}:");
    let mut keys: HashMap<String, usize> = HashMap::new();
    for e in app.sandbox.ledger() {
        if let Some(k) = e.biz_opaque_callback_data.filter(|k| k.starts_with(&prefix)) {
            *keys.entry(k).or_default() += 1;
        }
    }
    keys
}

fn daily_pick(numbers: &[&str], audience: Value) -> Value {
    json!({"name": "Daily pick", "numbers": numbers, "template": "daily_pick", "language": "zh_TW",
           "parameters": ["{name}", "{pick}"], "header_image_link": "https://example.com/pick.jpg", "audience": audience})
}

async fn broadcast_reaches_each_recipient_once_through_faults_and_reports_every_outcome(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 60).await;
    // One contact never receives anything (the sandbox fails numbers ending 0000), one has no
    // `pick`, one did not opt in, and one writes STOP.
    let extra = "phone,name,pick,ok\n+85261230000,Unreachable,Tea,yes\n+85261110001,No pick,,yes\n+85261110002,No consent,Tea,no\n";
    let mapping = json!({"phone": "phone", "name": "name", "opted_in": "ok", "add_tags": ["list"],
                         "attributes": [{"column": "pick", "key": "pick", "kind": "text"}], "default_country": "HK"});
    import(&app, &cookie, extra, &mapping).await;
    let stopper = "85260100005";
    app.sandbox.customer_writes(NUMBER, stopper, "Stopper", "STOP");
    eventually("the opt-out is recorded", || async {
        app.count("SELECT COUNT(*) FROM contacts WHERE opted_out_at IS NOT NULL").await == 1
    })
    .await;
    let confirmations = || app.sandbox.ledger().iter().filter(|e| e.to == stopper && e.kind == "text").count();
    eventually("the opt-out is confirmed", || async { confirmations() == 1 }).await;
    app.sandbox.customer_writes(NUMBER, stopper, "Stopper", "stop!");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(confirmations(), 1, "a second STOP is not confirmed again");

    // Templates are synced when a number is connected.
    let templates = app.get_json(&cookie, "/api/v1/templates").await;
    assert!(templates.as_array().unwrap().iter().any(|t| t["name"] == "daily_pick" && t["status"] == "APPROVED"), "{templates}");
    // A template whose values do not fit is refused before anything is queued.
    let mut wrong = daily_pick(&[NUMBER, NUMBER2], json!({"kind": "segment", "expression": "tag list"}));
    wrong["parameters"] = json!(["{name}"]);
    let r = app.post_api(&cookie, "/api/v1/broadcasts", &wrong).await;
    assert_eq!(r.status(), 400);
    let r = app.post_api(&cookie, "/api/v1/broadcasts", &json!({"name": "x", "numbers": [NUMBER], "template": "daily_pick", "language": "zh_TW",
        "parameters": ["{name}", "{pick}"], "header_image_link": "https://x/y.jpg", "audience": {"kind": "segment", "expression": "tag list and ("}})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(app.count("SELECT COUNT(*) FROM broadcasts").await, 0);

    // Faults: every 7th send a 500, every 11th answer lost after sending.
    app.sandbox.set_faults(Faults { server_error_every: Some(7), lost_answer_every: Some(11), ..Faults::default() });
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER, NUMBER2], json!({"kind": "segment", "expression": "tag list"}))).await;
    let b = wait_done(&app, &cookie, id, 90).await;
    app.sandbox.set_faults(Faults::default());
    let c = &b["counts"];
    assert_eq!(c["audience"], 63, "{b}");
    assert_eq!(c["skipped"], json!({"missing_value": 1, "not_opted_in": 1, "opted_out": 1}), "{b}");
    assert_eq!(c["accepted"], 60, "{b}");
    let keys = ledger_keys(&app, id);
    assert_eq!(keys.len(), 60, "every queued recipient reached");
    assert!(keys.values().all(|&n| n == 1), "a recipient got two sends: {:?}", keys.iter().filter(|(_, &n)| n > 1).collect::<Vec<_>>());
    let refused = app.sandbox.refusals();
    assert!(refused.get(&131000).copied().unwrap_or(0) >= 8, "the faults happened: {refused:?}");
    // Both numbers sent their share; the template carried each contact's values.
    assert!(b["accepted_by_number"][NUMBER].as_u64().unwrap() > 10 && b["accepted_by_number"][NUMBER2].as_u64().unwrap() > 10, "{b}");
    assert!(app.sandbox.ledger().iter().any(|e| e.to == "85260100003" && e.kind == "template"));
    let payload: (String,) = sqlx::query_as("SELECT payload FROM outbox WHERE idempotency_key = $1")
        .bind(format!("bc:{id}:85260100003"))
        .fetch_one(&app.relay.state.db.pool)
        .await
        .unwrap();
    assert!(payload.0.contains("Customer 3") && payload.0.contains("Tea 3") && payload.0.contains("pick.jpg"), "{}", payload.0);

    // Statuses arrive: delivered and read for all but the two unreachable ones (the sandbox
    // fails numbers ending 0000: 8526123 0000 and the first seeded, 8526010 0000) with 131026.
    let mut b = Value::Null;
    for _ in 0..100 {
        b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
        if b["counts"]["read"] == 58 && b["counts"]["failed"] == 2 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!((&b["counts"]["read"], &b["counts"]["failed"]), (&json!(58), &json!(2)), "statuses are counted: {b}");
    assert_eq!(b["counts"]["failed_by_code"], json!({"131026": 2}), "{b}");
    assert_eq!(b["counts"]["delivered"], 58);
    // A customer answers: replied within 24 h.
    app.sandbox.customer_writes(NUMBER, "85260100003", "Customer 3", "Thanks!");
    let number_of_3: (String,) = sqlx::query_as("SELECT number_id FROM broadcast_recipients WHERE contact = '85260100003'")
        .fetch_one(&app.relay.state.db.pool)
        .await
        .unwrap();
    if number_of_3.0 == NUMBER {
        eventually("the reply is counted", || async {
            app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await["counts"]["replied"] == 1
        })
        .await;
    }
    // Drill-down and export.
    let failed = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}/recipients?filter=failed")).await;
    assert_eq!(failed.as_array().unwrap().len(), 2);
    assert_eq!(failed[0]["phone"], "85260100000");
    assert_eq!(failed[1]["phone"], "85261230000");
    assert_eq!(failed[0]["error_code"], 131026);
    let r = app.http.get(app.url(&format!("/api/v1/broadcasts/{id}/export"))).header("cookie", &cookie).send().await.unwrap();
    assert_eq!(r.text().await.unwrap().lines().count(), 64);

    // The opted-out contact stays out of later broadcasts; a frequency cap of one marketing
    // message in 30 days skips everyone who just got one.
    let mut capped = daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}));
    capped["frequency_cap"] = json!({"max": 1, "days": 30});
    let id2 = broadcast(&app, &cookie, capped).await;
    let b2 = wait_done(&app, &cookie, id2, 30).await;
    assert_eq!(b2["counts"]["skipped"]["frequency_cap"], 60, "{b2}");
    assert_eq!(b2["counts"]["skipped"]["opted_out"], 1, "{b2}");
    assert_eq!(b2["counts"]["accepted"], 0);
    // "Send again" to those who did not read or failed for a transient reason: the only failure
    // failures were permanent (131026) and everyone else read it.
    let id3 = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "resend", "broadcast_id": id}))).await;
    let b3 = wait_done(&app, &cookie, id3, 30).await;
    assert_eq!(b3["counts"]["audience"], 0, "{b3}");
    // The list carries each broadcast's own report, newest first.
    let list = app.get_json(&cookie, "/api/v1/broadcasts").await;
    let listed: Vec<i64> = list.as_array().unwrap().iter().map(|b| b["id"].as_i64().unwrap()).collect();
    assert_eq!(listed, vec![id3, id2, id]);
    for b in list.as_array().unwrap() {
        let one = app.get_json(&cookie, &format!("/api/v1/broadcasts/{}", b["id"])).await;
        assert_eq!((&b["counts"], &b["accepted_by_number"]), (&one["counts"], &one["accepted_by_number"]), "{b}");
    }
}

async fn pause_resume_and_cancel_hold_exactly_once(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 400).await;
    // 400 recipients on one number at 80/s: about five seconds of sending.
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}))).await;
    eventually("sending starts", || async { ledger_keys(&app, id).len() > 20 }).await;
    let r = app.post_api(&cookie, &format!("/api/v1/broadcasts/{id}/control"), &json!({"action": "pause"})).await;
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(600)).await;
    let at_pause = ledger_keys(&app, id).len();
    tokio::time::sleep(Duration::from_millis(1500)).await;
    assert_eq!(ledger_keys(&app, id).len(), at_pause, "nothing is sent while paused");
    assert!(at_pause < 400);
    let r = app.post_api(&cookie, &format!("/api/v1/broadcasts/{id}/control"), &json!({"action": "pause"})).await;
    assert_eq!(r.status(), 409, "pausing twice is refused");
    let r = app.post_api(&cookie, &format!("/api/v1/broadcasts/{id}/control"), &json!({"action": "resume"})).await;
    assert_eq!(r.status(), 200);
    eventually("sending resumes", || async { ledger_keys(&app, id).len() > at_pause + 20 }).await;
    let r = app.post_api(&cookie, &format!("/api/v1/broadcasts/{id}/control"), &json!({"action": "cancel"})).await;
    assert_eq!(r.status(), 200);
    tokio::time::sleep(Duration::from_millis(800)).await;
    let b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
    assert_eq!(b["state"], "cancelled");
    let keys = ledger_keys(&app, id);
    assert!(keys.values().all(|&n| n == 1));
    let (accepted, cancelled) = (b["counts"]["accepted"].as_u64().unwrap(), b["counts"]["cancelled"].as_u64().unwrap());
    assert!(cancelled > 0 && accepted < 400, "{b}");
    assert_eq!(accepted + cancelled, 400, "{b}");
    assert_eq!(keys.len() as u64, accepted);
    let r = app.post_api(&cookie, &format!("/api/v1/broadcasts/{id}/control"), &json!({"action": "resume"})).await;
    assert_eq!(r.status(), 409, "a cancelled broadcast stays cancelled");
    assert_eq!(app.sandbox.refusals().get(&130429).copied().unwrap_or(0), 0, "never faster than the number's throughput");
}

async fn a_throughput_storm_is_waited_out_and_every_recipient_still_gets_one_send(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 120).await;
    // Meta refuses every send with 130429 for the first 1.5 s of the broadcast.
    let storm_until = switchboard_relay::clock::now_ms() + 1_500;
    app.sandbox.set_faults(Faults { throughput_storm_until: Some(storm_until), ..Faults::default() });
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}))).await;
    let b = wait_done(&app, &cookie, id, 60).await;
    let refused = app.sandbox.refusals().get(&130429).copied().unwrap_or(0);
    assert!(refused > 0, "the storm refused sends");
    let keys = ledger_keys(&app, id);
    assert_eq!(keys.len(), 120, "every recipient was sent to after the storm");
    assert!(keys.values().all(|&n| n == 1), "and only once");
    assert_eq!(b["counts"]["accepted"], 120, "{b}");
    // (One seeded number ends in 0000, which the sandbox never delivers: 131026 after acceptance.)
    assert!(b["counts"]["failed_by_code"].get("130429").is_none(), "130429 is transient, never a failure: {b}");
    let first = app.sandbox.ledger().iter().map(|e| e.at_ms).min().unwrap();
    assert!(first >= storm_until, "nothing was accepted during the storm");
}

async fn the_messaging_limit_holds_what_exceeds_it_visibly(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 300).await;
    // This portfolio may reach 250 unique users outside the service window per 24 hours.
    sqlx::query("UPDATE numbers SET messaging_limit = 'TIER_250'").execute(&app.relay.state.db.pool).await.unwrap();
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER, NUMBER2], json!({"kind": "segment", "expression": "tag list"}))).await;
    eventually("the budget is spent", || async { ledger_keys(&app, id).len() == 250 }).await;
    let mut b = Value::Null;
    for _ in 0..50 {
        b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
        if b["counts"]["waiting_for_limit"] == 50 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(b["counts"]["waiting_for_limit"], 50, "{b}");
    assert_eq!(b["counts"]["accepted"], 250, "{b}");
    assert_eq!(b["state"], "running");
    let opens = b["limit_window_opens_at"].as_i64().unwrap();
    let in_a_day = switchboard_relay::clock::now_ms() + 24 * 3600 * 1000;
    assert!((opens - in_a_day).abs() < 60_000, "the window opens a day after the first send: {opens}");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert_eq!(ledger_keys(&app, id).len(), 250, "nothing beyond the limit");
    assert_eq!(app.sandbox.refusals().get(&131048).copied().unwrap_or(0), 0);
}

async fn a_live_reply_overtakes_a_running_broadcast(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 400).await;
    let wamid = app.sandbox.customer_writes(NUMBER, "85290001234", "Walk-in", "Is the shop open?");
    let conversation = {
        let mut id = 0;
        for _ in 0..100 {
            let row: Option<(i64,)> = sqlx::query_as("SELECT conversation_id FROM messages WHERE wamid = $1")
                .bind(&wamid)
                .fetch_optional(&app.relay.state.db.pool)
                .await
                .unwrap();
            if let Some((c,)) = row {
                id = c;
                break;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        id
    };
    assert!(conversation > 0);
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}))).await;
    eventually("the broadcast is under way", || async { ledger_keys(&app, id).len() > 40 }).await;
    let r = app
        .call(Method::POST, &cookie, &format!("/api/v1/conversations/{conversation}/messages"), Some(&json!({"text": "Yes, until 8 pm."})))
        .await;
    assert_eq!(r.status(), 200);
    let sent_before = ledger_keys(&app, id).len();
    eventually("the reply goes out", || async { app.sandbox.ledger().iter().any(|e| e.to == "85290001234" && e.kind == "text") }).await;
    let ledger = app.sandbox.ledger();
    let reply_at = ledger.iter().position(|e| e.to == "85290001234" && e.kind == "text").unwrap();
    let broadcast_before_reply =
        ledger[..reply_at].iter().filter(|e| e.biz_opaque_callback_data.as_deref().is_some_and(|k| k.starts_with("bc:"))).count();
    // At 80/s a lane claims a fifth of a second (16 sends) at a time: the reply waits for at
    // most that batch and the sends already in flight.
    assert!(broadcast_before_reply <= sent_before + 40, "the reply waited behind {} broadcast sends", broadcast_before_reply - sent_before);
    assert!(broadcast_before_reply < 400, "the broadcast was still running");
}

async fn a_relay_that_died_while_queueing_finishes_at_start_without_sending_twice(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 300).await;
    let mut spec = daily_pick(&[NUMBER, NUMBER2], json!({"kind": "segment", "expression": "tag list"}));
    spec["send_at"] = json!(switchboard_relay::clock::now_ms() + 3_600_000);
    let id = broadcast(&app, &cookie, spec).await;
    // Start it by hand, then take back what was still waiting in the outbox: as if the relay
    // had died after freezing the audience but before queueing all of it.
    let state = &app.relay.state;
    switchboard_relay::broadcasts::freeze(state, id).await.unwrap();
    let removed = sqlx::query("DELETE FROM outbox WHERE broadcast_id = $1 AND state = 'queued'")
        .bind(id)
        .execute(&state.db.pool)
        .await
        .unwrap()
        .rows_affected();
    assert!(removed > 100, "{removed}");
    switchboard_relay::broadcasts::recover(state).await.unwrap();
    state.lanes.wake_all();
    let b = wait_done(&app, &cookie, id, 60).await;
    assert_eq!(b["counts"]["accepted"], 300, "{b}");
    let keys = ledger_keys(&app, id);
    assert_eq!(keys.len(), 300);
    assert!(keys.values().all(|&n| n == 1), "a recipient got two sends");
}

/// The wall-clock time `secs` from now in `zone`, as the composer sends it.
fn wall_clock_in(zone: &str, secs: i64) -> String {
    let tz = jiff::tz::TimeZone::get(zone).unwrap();
    let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(secs);
    at.to_zoned(tz).datetime().strftime("%Y-%m-%dT%H:%M:%S").to_string()
}

async fn a_wall_clock_start_begins_each_number_at_that_time_in_its_own_time_zone(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 40).await;

    // A number's time zone: an unknown one is refused and changes nothing.
    let r = app.call(Method::PATCH, &cookie, &format!("/api/v1/numbers/{NUMBER}"), Some(&json!({"time_zone": "Mars/Olympus"}))).await;
    assert_eq!(r.status(), 400);
    assert!(r.text().await.unwrap().contains("Mars/Olympus"));
    let numbers = app.get_json(&cookie, "/api/v1/numbers").await;
    assert!(numbers.as_array().unwrap().iter().all(|n| n["time_zone"] == "UTC"), "{numbers}");
    for (number, zone) in [(NUMBER, "Asia/Tokyo"), (NUMBER2, "Asia/Taipei")] {
        let r = app.call(Method::PATCH, &cookie, &format!("/api/v1/numbers/{number}"), Some(&json!({"time_zone": zone}))).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.json::<Value>().await.unwrap()["time_zone"], zone);
    }
    let audit = app.get_json(&cookie, "/api/v1/audit?action=number.time_zone").await;
    assert!(audit.to_string().contains("Asia/Taipei"), "{audit}");

    // Refused, naming what is wrong: not a time, already past where a number is, two starts.
    let mut spec = daily_pick(&[NUMBER, NUMBER2], json!({"kind": "segment", "expression": "tag list"}));
    for (local, send_at, says) in [
        (json!("tomorrow 9am"), json!(null), "not a date and time"),
        (json!(wall_clock_in("Asia/Tokyo", -3_900)), json!(null), "already passed in Asia/Tokyo"),
        (json!(wall_clock_in("Asia/Tokyo", 60)), json!(switchboard_relay::clock::now_ms() + 60_000), "not both"),
    ] {
        spec["send_local"] = local;
        spec["send_at"] = send_at;
        let r = app.post_api(&cookie, "/api/v1/broadcasts", &spec).await;
        assert_eq!(r.status(), 400);
        let body = r.text().await.unwrap();
        assert!(body.contains(says), "{body}");
    }
    assert_eq!(app.get_json(&cookie, "/api/v1/broadcasts").await.as_array().unwrap().len(), 0);

    // Two seconds from now in Tokyo is an hour later in Taipei (an hour behind).
    spec["send_local"] = json!(wall_clock_in("Asia/Tokyo", 2));
    spec["send_at"] = json!(null);
    let id = broadcast(&app, &cookie, spec).await;
    let b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
    let tokyo = b["spec"]["starts"][NUMBER].as_i64().unwrap();
    let taipei = b["spec"]["starts"][NUMBER2].as_i64().unwrap();
    assert_eq!(taipei - tokyo, 3_600_000, "{b}");
    assert_eq!(b["send_at"].as_i64(), Some(tokyo), "the broadcast starts with its first number");
    assert_eq!(b["state"], "scheduled");

    // Tokyo's share goes out; Taipei's waits, visibly, with nothing sent.
    eventually("the broadcast starts with Tokyo", || async {
        app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await["state"] == "running"
    })
    .await;
    let recipients = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}/recipients?limit=100")).await;
    let share = |n: &str| recipients.as_array().unwrap().iter().filter(|r| r["number_id"] == n).count() as u64;
    let (from_tokyo, from_taipei) = (share(NUMBER), share(NUMBER2));
    assert_eq!(from_tokyo + from_taipei, 40);
    assert!(from_tokyo > 0 && from_taipei > 0, "{recipients}");
    eventually("Tokyo's share is accepted", || async {
        app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await["counts"]["accepted"].as_u64() == Some(from_tokyo)
    })
    .await;
    let first = app
        .sandbox
        .ledger()
        .iter()
        .filter(|e| e.biz_opaque_callback_data.as_deref().is_some_and(|k| k.starts_with(&format!("bc:{id}:"))))
        .map(|e| e.at_ms)
        .min()
        .unwrap();
    assert!(first >= tokyo - 50, "sent {} ms before its start", tokyo - first);
    tokio::time::sleep(Duration::from_millis(1_500)).await;
    let b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
    assert_eq!(b["state"], "running");
    assert_eq!(b["counts"]["accepted"].as_u64(), Some(from_tokyo), "{b}");
    assert_eq!(b["counts"]["waiting"].as_u64(), Some(from_taipei), "{b}");
    assert!(!app.sandbox.ledger().iter().any(|e| e.phone_number_id == NUMBER2), "Taipei sent before its own start");
    let (waiting_until,): (i64,) = sqlx::query_as("SELECT MIN(next_attempt_at) FROM outbox WHERE broadcast_id = $1 AND number_id = $2")
        .bind(id)
        .bind(NUMBER2)
        .fetch_one(&app.relay.state.db.pool)
        .await
        .unwrap();
    assert_eq!(waiting_until, taipei);
}

async fn sends_answered_after_the_timeout_are_settled_by_their_statuses_and_never_sent_twice(backend: Backend) {
    // The relay gives up on a request after a second; every 4th send is answered after 2.5 s.
    let app = spawn_app_with(backend, |c| c.graph_timeout_secs = Some(1)).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 40).await;
    app.sandbox.set_faults(Faults { slow_answer_every: Some(4), slow_answer_ms: 2_500, ..Faults::default() });
    let started = std::time::Instant::now();
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}))).await;
    // Settled by the status webhooks that came first, not after the 30 s reconcile window.
    let b = wait_done(&app, &cookie, id, 20).await;
    app.sandbox.set_faults(Faults::default());
    assert!(started.elapsed() < Duration::from_secs(20));
    assert_eq!(b["counts"]["accepted"], 40, "{b}");
    // Only the number the sandbox never delivers to (ending 0000) fails, after acceptance.
    assert_eq!(b["counts"]["failed_by_code"], json!({"131026": 1}), "{b}");
    let keys = ledger_keys(&app, id);
    assert_eq!(keys.len(), 40);
    assert!(keys.values().all(|&n| n == 1), "a recipient got two sends: {:?}", keys.iter().filter(|(_, &n)| n > 1).collect::<Vec<_>>());
    // The timeouts did happen, and each was found already settled.
    // The slow answers may still be on their way when the broadcast is done.
    eventually("the relay gave up on every slow answer", || async {
        let metrics = app.http.get(app.url("/metrics")).send().await.unwrap().text().await.unwrap();
        metrics.lines().find(|l| l.contains("outcome=\"settled_by_status\"")).and_then(|l| l.rsplit(' ').next()?.parse::<u64>().ok())
            == Some(10)
    })
    .await;
    let (sent,): (i64,) = sqlx::query_as("SELECT COUNT(*) FROM outbox WHERE broadcast_id = $1 AND state = 'sent'")
        .bind(id)
        .fetch_one(&app.relay.state.db.pool)
        .await
        .unwrap();
    assert_eq!(sent, 40);
}

async fn an_import_a_stopped_relay_left_unfinished_is_finished_at_start(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    let pool = &app.relay.state.db.pool;
    // As the relay leaves an import it had accepted (stored, answered 202) when it stops before
    // saving the rows.
    let (owner,): (i64,) = sqlx::query_as("SELECT id FROM users WHERE email = $1").bind(ADMIN).fetch_one(pool).await.unwrap();
    let mapping = json!({"phone": "phone", "name": "name", "opted_in": "ok", "add_tags": ["resumed"], "default_country": "HK"});
    let csv = "phone,name,ok\n6123 4567,Chan Tai Man,yes\n+852 9876 5432,Lee Ka Yan,no\nnot a phone,Nobody,yes\n";
    let status = json!({"id": 0, "total": 0, "done": 0, "finished": false, "created": 0, "merged": 0, "rejected": 0, "error": null});
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO contact_imports (owner, mapping, body, status, finished, created_at) VALUES ($1, $2, $3, $4, FALSE, 0) RETURNING id",
    )
    .bind(owner)
    .bind(mapping.to_string())
    .bind(csv.as_bytes().to_vec())
    .bind(status.to_string())
    .fetch_one(pool)
    .await
    .unwrap();
    let waiting = app.get_json(&cookie, &format!("/api/v1/contacts/import/{id}")).await;
    assert_eq!(waiting["finished"], false, "{waiting}");

    switchboard_relay::contacts::resume_imports(&app.relay.state).await.unwrap();
    let mut done = Value::Null;
    for _ in 0..100 {
        done = app.get_json(&cookie, &format!("/api/v1/contacts/import/{id}")).await;
        if done["finished"] == true {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(
        (done["finished"].clone(), done["created"].clone(), done["rejected"].clone(), done["error"].clone()),
        (json!(true), json!(2), json!(1), json!(null)),
        "{done}"
    );
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts WHERE tags LIKE '%resumed%'").await, 2);
    let r = app.http.get(app.url(&format!("/api/v1/contacts/import/{id}/rejected"))).header("cookie", &cookie).send().await.unwrap();
    assert!(r.text().await.unwrap().contains("not a phone"));
    // The file is not kept once its rows are saved; running the resume again changes nothing.
    let (body,): (Option<Vec<u8>>,) =
        sqlx::query_as("SELECT body FROM contact_imports WHERE id = $1").bind(id).fetch_one(pool).await.unwrap();
    assert!(body.is_none());
    switchboard_relay::contacts::resume_imports(&app.relay.state).await.unwrap();
    assert_eq!(app.count("SELECT COUNT(*) FROM contacts").await, 2);
    // Another user cannot follow it.
    auth::upsert_user(&app.relay.state, "other@example.com", "Other", PASSWORD, "Administrator", &Scope::All).await.unwrap();
    let other = app.login_as("other@example.com", PASSWORD).await;
    let r = app.call(Method::GET, &other, &format!("/api/v1/contacts/import/{id}"), None).await;
    assert_eq!(r.status(), 404);
}

async fn a_number_falling_to_red_quality_pauses_its_broadcasts_until_someone_resumes(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 300).await;
    // One broadcast through the number that will fall (80/s: about 4 s), one through the other.
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}))).await;
    let mut later = daily_pick(&[NUMBER2], json!({"kind": "segment", "expression": "tag list"}));
    later["send_at"] = json!(switchboard_relay::clock::now_ms() + 3_600_000);
    let other = broadcast(&app, &cookie, later).await;
    eventually("sending has begun", || async { ledger_keys(&app, id).len() >= 20 }).await;

    // Meta rates the number RED and says so in a webhook: its broadcast stops, saying why.
    app.sandbox.set_quality(NUMBER, "RED");
    eventually("the broadcast is paused", || async {
        app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await["state"] == "paused"
    })
    .await;
    let b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
    assert_eq!(b["paused_reason"], format!("low_quality:{NUMBER}"), "{b}");
    // What was already claimed drains; then nothing more goes out.
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    let drained = ledger_keys(&app, id).len();
    tokio::time::sleep(Duration::from_millis(1_000)).await;
    assert_eq!(ledger_keys(&app, id).len(), drained, "sending went on after the pause");
    assert!(drained < 300, "the broadcast had finished before the pause");
    let numbers = app.get_json(&cookie, "/api/v1/numbers").await;
    let quality = |n: &str| numbers.as_array().unwrap().iter().find(|x| x["id"] == n).unwrap()["quality_rating"].clone();
    assert_eq!(quality(NUMBER), "RED", "{numbers}");
    // Only broadcasts through that number are paused; the pause is in the audit log.
    assert_eq!(app.get_json(&cookie, &format!("/api/v1/broadcasts/{other}")).await["state"], "scheduled");
    let audit = app.get_json(&cookie, "/api/v1/audit?action=broadcast.pause").await.to_string();
    assert!(audit.contains("system") && audit.contains("low_quality"), "{audit}");

    // A person resumes it while the number is still RED: later health checks do not pause it
    // again, and every recipient still gets exactly one send.
    let r = app.post_api(&cookie, &format!("/api/v1/broadcasts/{id}/control"), &json!({"action": "resume"})).await;
    assert_eq!(r.status(), 200);
    switchboard_relay::numbers::recheck(&app.relay.state, NUMBER).await;
    let b = wait_done(&app, &cookie, id, 30).await;
    assert_eq!(b["paused_reason"], Value::Null, "{b}");
    assert_eq!(b["counts"]["accepted"], 300, "{b}");
    let keys = ledger_keys(&app, id);
    assert_eq!(keys.len(), 300);
    assert!(keys.values().all(|&n| n == 1), "a recipient got two sends");
}

async fn broadcast_progress_reaches_the_event_streams_of_those_who_may_see_it(backend: Backend) {
    let app = spawn_app(backend).await;
    let cookie = admin(&app).await;
    let role = json!({"name": "Marketer", "permissions": ["broadcast", "send_templates"]});
    assert_eq!(app.post_api(&cookie, "/api/v1/roles", &role).await.status(), 201);
    let state = &app.relay.state;
    auth::upsert_user(state, "all@example.com", "All", PASSWORD, "Marketer", &Scope::All).await.unwrap();
    auth::upsert_user(state, "two@example.com", "Two", PASSWORD, "Marketer", &Scope::Numbers([NUMBER2.to_owned()].into())).await.unwrap();
    auth::upsert_user(state, "agent@example.com", "Agent", PASSWORD, "Agent", &Scope::All).await.unwrap();
    let marketer = app.login_as("all@example.com", PASSWORD).await;
    let other_number = app.login_as("two@example.com", PASSWORD).await;
    let agent = app.login_as("agent@example.com", PASSWORD).await;
    let mut streams = Vec::new();
    for who in [&marketer, &other_number, &agent] {
        streams.push(app.call(Method::GET, who, "/api/v1/events", None).await);
    }
    seed_contacts(&app, &cookie, 3).await;
    let phones = ["+85260100000", "+85260100001", "+85260100002"];
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "list", "phones": phones}))).await;

    // The marketer follows it to the end from the stream alone, without asking again.
    let mut seen = Vec::new();
    for _ in 0..60 {
        let batch = events_within(&mut streams[0], Duration::from_millis(500)).await;
        seen.extend(batch.into_iter().filter(|e| e["type"] == "broadcast" && e["progress"]["id"] == id));
        if seen.last().is_some_and(|e| e["progress"]["state"] == "done") {
            break;
        }
    }
    let last = seen.last().unwrap_or_else(|| panic!("no progress event for broadcast {id}"));
    assert_eq!(last["progress"]["state"], "done", "{last}");
    assert_eq!(last["progress"]["counts"]["accepted"], 3, "{last}");
    assert!(seen.windows(2).all(|w| w[0]["progress"] != w[1]["progress"]), "an unchanged report is not sent again");

    // Neither someone on another number nor someone who may not broadcast hears of it.
    for stream in &mut streams[1..] {
        let events = events_within(stream, Duration::from_millis(1_500)).await;
        assert!(events.iter().all(|e| e["type"] != "broadcast"), "{events:?}");
    }
    // Without the permission to see full numbers, the uploaded list is masked.
    let shown = app.get_json(&marketer, &format!("/api/v1/broadcasts/{id}")).await;
    let listed: Vec<&str> = shown["spec"]["audience"]["phones"].as_array().unwrap().iter().map(|p| p.as_str().unwrap()).collect();
    assert!(listed.iter().all(|p| p.contains('•')), "{listed:?}");
    let full = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
    assert_eq!(full["spec"]["audience"]["phones"][0], phones[0]);
}

/// Meta's worst case: every status in a POST of its own, several POSTs at once (so a later
/// status can arrive first). Each still counts once, and the report ends complete.
async fn metas_worst_case_of_one_status_per_webhook_is_counted_exactly_once(backend: Backend) {
    let app = spawn_app_with_sandbox(
        backend,
        |meta| {
            meta.updates_per_webhook = 1;
            meta.webhook_senders = 8;
        },
        |_| {},
    )
    .await;
    let cookie = admin(&app).await;
    seed_contacts(&app, &cookie, 150).await;
    let id = broadcast(&app, &cookie, daily_pick(&[NUMBER], json!({"kind": "segment", "expression": "tag list"}))).await;
    wait_done(&app, &cookie, id, 60).await;
    let keys = ledger_keys(&app, id);
    assert_eq!(keys.len(), 150, "every recipient was sent to");
    assert!(keys.values().all(|&n| n == 1), "once");
    // One seeded number ends in 0000: the sandbox fails it after acceptance (one status).
    let b = eventually_some("every status counted", || async {
        let b = app.get_json(&cookie, &format!("/api/v1/broadcasts/{id}")).await;
        (b["counts"]["read"] == 149 && b["counts"]["failed"] == 1).then_some(b)
    })
    .await;
    assert_eq!(b["counts"]["delivered"], 149, "{b}");
    assert_eq!(b["counts"]["accepted"], 150, "{b}");
    assert!(app.sandbox.delivered_webhooks() > 149 * 3, "one POST per status: {}", app.sandbox.delivered_webhooks());
    let logged = app.count("SELECT COUNT(*) FROM message_statuses").await;
    assert_eq!(logged, 149 * 3 + 1, "each (message, status) stored once");
    assert_eq!(app.count("SELECT COUNT(*) FROM webhook_inbox WHERE processed = FALSE").await, 0);
}
