//! Group control end to end: the relay, a real sandbox over HTTP (Cloud Groups API and
//! simulated linked devices), real storage on both backends.

mod common;

use std::time::Duration;

use common::*;
use serde_json::{json, Value};
use switchboard_relay::Backend;
use switchboard_shared::groups::MemberRole;

const LINKED: &str = "85260000001";
const LINKED2: &str = "85260000002";

async fn app(backend: Backend) -> TestApp {
    spawn_app_with(backend, |c| {
        c.linked_devices = Some("sim".into());
        c.group_pace_ms = Some(20);
        c.group_confirm_secs = Some(3);
        c.group_daily_add_cap = Some(3);
    })
    .await
}

fn people(n: usize, start: usize) -> Vec<(String, String, MemberRole)> {
    (0..n).map(|i| (format!("8529{:07}", start + i), format!("Parent {}", start + i), MemberRole::Member)).collect()
}

/// Links a device whose session is already paired, and waits for its groups.
async fn link(t: &TestApp, cookie: &str, phone: &str, groups: usize) {
    let r = t.post_api(cookie, "/api/v1/linked-devices", &json!({"phone": phone, "label": "School office"})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let want = groups;
    for _ in 0..200 {
        let list = t.get_json(cookie, "/api/v1/groups").await;
        if list.as_array().unwrap().iter().filter(|g| g["number_id"] == phone).count() == want {
            return;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let list = t.get_json(cookie, "/api/v1/groups").await;
    let devices = t.get_json(cookie, "/api/v1/linked-devices").await;
    panic!("the linked groups of {phone} were not listed: {list} {devices}");
}

async fn group(t: &TestApp, cookie: &str, id: &str) -> Value {
    t.get_json(cookie, &format!("/api/v1/groups/{}", urlencode(id))).await
}

fn urlencode(id: &str) -> String {
    id.replace('@', "%40")
}

on_both_backends!(
    a_linked_group_is_run_from_the_console_and_every_refusal_says_why,
    a_cloud_group_offers_the_invite_link_instead_of_adding_and_removes_through_the_api,
    removing_a_spammer_from_forty_groups_on_three_numbers_survives_an_offline_number,
    a_change_accepted_but_never_applied_is_flagged,
    members_known_only_by_lid_are_reported_unresolved_never_guessed,
    a_bulk_job_cut_off_by_a_crash_resumes_without_doing_anything_twice,
    groups_are_created_and_ended_on_both_kinds_of_number,
    a_group_photo_is_checked_then_set_through_either_provider_and_shown,
);

async fn put_photo(t: &TestApp, cookie: &str, id: &str, body: Vec<u8>) -> reqwest::Response {
    t.http
        .put(t.url(&format!("/api/v1/groups/{}/photo", urlencode(id))))
        .header("cookie", cookie)
        .header("x-requested-with", "switchboard")
        .header("content-type", "image/jpeg")
        .body(body)
        .send()
        .await
        .unwrap()
}

async fn a_group_photo_is_checked_then_set_through_either_provider_and_shown(backend: Backend) {
    use switchboard_shared::groups::jpeg_header;
    let t = app(backend).await;
    let cookie = t.admin().await;
    let jid = t.sandbox.seed_linked_group(LINKED, "Choir", MemberRole::SuperAdmin, &people(2, 1), false);
    link(&t, &cookie, LINKED, 1).await;
    let cloud = t.sandbox.seed_cloud_group(NUMBER, "Orders", &["85291230001".into()], false);
    let r = t.post_api(&cookie, "/api/v1/groups/sync", &json!({})).await;
    assert_eq!(r.status(), 200);

    // What WhatsApp would refuse is refused here, before anything is sent.
    let mut too_big = jpeg_header(640, 640);
    too_big.resize(5 * 1024 * 1024 + 1, 0);
    for bad in [jpeg_header(640, 480), jpeg_header(100, 100), b"\x89PNG\r\n\x1a\n....".to_vec(), vec![], too_big] {
        let r = put_photo(&t, &cookie, &jid, bad).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_photo");
    }
    assert!(!t.sandbox.linked_applied().iter().any(|a| a.op == "photo"), "nothing reached WhatsApp");
    assert!(group(&t, &cookie, &jid).await["group"]["photo"].is_null());

    // A square JPEG goes through each provider and is shown.
    let photo = jpeg_header(640, 640);
    for id in [&jid, &cloud] {
        let r = put_photo(&t, &cookie, id, photo.clone()).await;
        assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
        let sha = group(&t, &cookie, id).await["group"]["photo"].as_str().expect("a photo").to_owned();
        assert_eq!(sha.len(), 64);
        let r = t.call(reqwest::Method::GET, &cookie, &format!("/api/v1/groups/{}/photo", urlencode(id)), None).await;
        assert_eq!(r.status(), 200);
        assert_eq!(r.headers()["content-type"], "image/jpeg");
        assert_eq!(r.bytes().await.unwrap().to_vec(), photo);
    }
    assert_eq!(t.sandbox.linked_applied().iter().filter(|a| a.op == "photo").count(), 1);
    assert_eq!(t.sandbox.cloud_applied().iter().filter(|a| a.op == "photo" && a.group == cloud).count(), 1);
    let audit = t.get_json(&cookie, "/api/v1/audit?limit=50").await.to_string();
    assert!(audit.contains("groups.photo"), "{audit}");
}

async fn create(t: &TestApp, cookie: &str, body: Value) -> reqwest::Response {
    t.post_api(cookie, "/api/v1/groups", &body).await
}

async fn groups_are_created_and_ended_on_both_kinds_of_number(backend: Backend) {
    let t = app(backend).await;
    let cookie = t.admin().await;
    t.sandbox.seed_linked_group(LINKED, "Staff", MemberRole::SuperAdmin, &people(2, 1), false);
    link(&t, &cookie, LINKED, 1).await;

    // A linked device makes the group at once, with us as its admin.
    let r = create(&t, &cookie, json!({"number_id": LINKED, "provider": "linked", "subject": " Exam week ", "join_approval": true})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let made: Value = r.json().await.unwrap();
    assert_eq!(made["state"], "created");
    let jid = made["group_id"].as_str().unwrap().to_owned();
    let g = group(&t, &cookie, &jid).await;
    assert_eq!(g["group"]["subject"], "Exam week");
    assert_eq!(g["group"]["is_admin"], true);
    // Our own number is named, so the console offers no "remove" on it.
    assert_eq!(g["us"]["pn"], LINKED);
    assert!(g["members"].as_array().unwrap().iter().any(|m| m["ids"]["pn"] == LINKED));
    assert_eq!(g["group"]["join_approval"], true);
    assert_eq!(g["group"]["actions"]["delete"], "provider", "a phone cannot delete a group: {}", g["group"]["actions"]);
    assert!(g["group"]["actions"]["leave"].is_null());
    assert!(t.sandbox.linked_groups(LINKED).contains(&jid));

    // The Cloud API answers a request; the group comes with its webhook.
    let r = create(&t, &cookie, json!({"number_id": NUMBER, "provider": "cloud", "subject": "Orders 12", "description": "Delivery"})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let asked: Value = r.json().await.unwrap();
    assert_eq!(asked["state"], "requested");
    let cloud_id = eventually_some("the group arrives by webhook", || async {
        let list = t.get_json(&cookie, "/api/v1/groups").await;
        list.as_array().unwrap().iter().find(|g| g["subject"] == "Orders 12").map(|g| g["id"].as_str().unwrap().to_owned())
    })
    .await;
    assert!(t.get_json(&cookie, "/api/v1/groups/creations").await.as_array().unwrap().is_empty(), "a made group is no longer waiting");
    let g = group(&t, &cookie, &cloud_id).await;
    assert_eq!(g["group"]["description"], "Delivery");
    assert!(g["us"].is_null(), "the Cloud API leaves the business out of its members");
    assert!(g["group"]["actions"]["delete"].is_null());
    assert_eq!(g["group"]["actions"]["leave"], "provider");

    // Meta refuses a creation (the number's group limit): the refusal is shown, nothing appears.
    t.sandbox.set_cloud_create_limit(0);
    let r = create(&t, &cookie, json!({"number_id": NUMBER, "provider": "cloud", "subject": "One too many"})).await;
    assert_eq!(r.status(), 200);
    let failed = eventually_some("the refusal arrives by webhook", || async {
        let c = t.get_json(&cookie, "/api/v1/groups/creations").await;
        c.as_array().unwrap().iter().find(|c| c["state"] == "failed").cloned()
    })
    .await;
    assert_eq!(failed["subject"], "One too many");
    assert!(failed["error"].as_str().unwrap().starts_with("131211"), "{failed}");
    let list = t.get_json(&cookie, "/api/v1/groups").await;
    assert!(!list.as_array().unwrap().iter().any(|g| g["subject"] == "One too many"));

    // Bad input changes nothing and says why.
    for bad in [
        json!({"number_id": NUMBER, "provider": "cloud", "subject": "   "}),
        json!({"number_id": NUMBER, "provider": "cloud", "subject": "x".repeat(129)}),
        json!({"number_id": NUMBER, "provider": "cloud", "subject": "ok", "description": "d".repeat(2049)}),
    ] {
        let r = create(&t, &cookie, bad).await;
        assert_eq!(r.status(), 400);
        assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_group");
    }
    let r = create(&t, &cookie, json!({"number_id": NUMBER, "provider": "cloud"})).await;
    assert_eq!(r.status(), 400, "a body without a subject is refused");
    // A number with no linked device cannot make a linked group.
    let r = create(&t, &cookie, json!({"number_id": LINKED2, "provider": "linked", "subject": "Nope"})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "group_number_logged_out");
    // An offline number refuses at once.
    t.sandbox.set_linked_state(LINKED, "offline", None);
    eventually("the device is offline", || async {
        t.get_json(&cookie, "/api/v1/linked-devices").await[0]["connection"]["state"] == "offline"
    })
    .await;
    let r = create(&t, &cookie, json!({"number_id": LINKED, "provider": "linked", "subject": "Later"})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "group_number_offline");
    let r = t.call(reqwest::Method::DELETE, &cookie, &format!("/api/v1/groups/{}", urlencode(&jid)), None).await;
    assert_eq!(r.status(), 409, "leaving needs the number online");
    t.sandbox.set_linked_state(LINKED, "online", None);
    eventually("the device is online", || async {
        t.get_json(&cookie, "/api/v1/linked-devices").await[0]["connection"]["state"] == "online"
    })
    .await;

    // Ending: the Cloud group is deleted for everyone, the linked device leaves its group;
    // each leaves the list when WhatsApp confirms it.
    let r = t.call(reqwest::Method::DELETE, &cookie, &format!("/api/v1/groups/{cloud_id}"), None).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    let r = t.call(reqwest::Method::DELETE, &cookie, &format!("/api/v1/groups/{}", urlencode(&jid)), None).await;
    assert_eq!(r.status(), 202, "{}", r.text().await.unwrap());
    eventually("both groups leave the list", || async {
        let list = t.get_json(&cookie, "/api/v1/groups").await;
        !list.as_array().unwrap().iter().any(|g| g["id"] == cloud_id.as_str() || g["id"] == jid.as_str())
    })
    .await;
    assert!(!t.sandbox.cloud_group_exists(&cloud_id));
    assert!(!t.sandbox.linked_groups(LINKED).contains(&jid));
    // Everything is in the audit log.
    let audit = t.get_json(&cookie, "/api/v1/audit?limit=50").await.to_string();
    for action in ["groups.create", "groups.delete", "groups.leave"] {
        assert!(audit.contains(action), "{action} is not in the audit log: {audit}");
    }
}

async fn a_linked_group_is_run_from_the_console_and_every_refusal_says_why(backend: Backend) {
    let t = app(backend).await;
    let cookie = t.admin().await;
    let mut school = people(5, 1);
    school[0].2 = MemberRole::Admin;
    let jid = t.sandbox.seed_linked_group(LINKED, "3B Parents", MemberRole::SuperAdmin, &school, true);
    let other = t.sandbox.seed_linked_group(LINKED, "Alumni", MemberRole::Member, &people(3, 50), false);
    link(&t, &cookie, LINKED, 2).await;

    let g = group(&t, &cookie, &jid).await;
    assert_eq!(g["group"]["provider"], "linked");
    assert_eq!(g["group"]["is_admin"], true);
    assert_eq!(g["group"]["member_count"], 6);
    assert_eq!(g["members"].as_array().unwrap().iter().filter(|m| m["role"] != "member").count(), 2);
    assert!(g["group"]["actions"]["promote"].is_null(), "an admin of a linked group may promote: {}", g["group"]["actions"]);

    // A parent asks to join; the admin approves from the console.
    t.sandbox.linked_ask_to_join(&jid, "85298887777", "New Parent").unwrap();
    eventually("the join request is listed", || async { group(&t, &cookie, &jid).await["join_requests"].as_array().unwrap().len() == 1 })
        .await;
    let r = t.post_api(&cookie, &format!("/api/v1/groups/{}/requests", urlencode(&jid)), &json!({"approve": true, "all": true})).await;
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    eventually("the parent is a member", || async {
        let g = group(&t, &cookie, &jid).await;
        g["join_requests"].as_array().unwrap().is_empty()
            && g["members"].as_array().unwrap().iter().any(|m| m["ids"]["pn"] == "85298887777")
    })
    .await;
    assert!(t.sandbox.linked_members(&jid).iter().any(|p| p.pn.as_deref() == Some("85298887777")));

    // Admins-only during exams, then back.
    for on in [true, false] {
        let r = t
            .post_api(
                &cookie,
                &format!("/api/v1/groups/{}/settings", urlencode(&jid)),
                &json!({"setting": "admins_only_messages", "value": on}),
            )
            .await;
        assert_eq!(r.status(), 202);
        eventually("the setting shows", || async { group(&t, &cookie, &jid).await["group"]["admins_only_messages"] == on }).await;
        assert_eq!(t.sandbox.linked_metadata(&jid).unwrap().announce, on);
    }

    // Promote, then remove; each change is in the audit log.
    let members_path = format!("/api/v1/groups/{}/members", urlencode(&jid));
    let r = t.post_api(&cookie, &members_path, &json!({"op": "promote", "people": ["+852 9000 0002"]})).await;
    assert_eq!(r.status(), 200);
    let r = t.post_api(&cookie, &members_path, &json!({"op": "remove", "people": ["85290000003"]})).await;
    let results: Value = r.json().await.unwrap();
    assert_eq!(results[0]["outcome"], "done", "{results}");
    eventually("the member is gone and the other promoted", || async {
        let g = group(&t, &cookie, &jid).await;
        let ms = g["members"].as_array().unwrap().clone();
        !ms.iter().any(|m| m["ids"]["pn"] == "85290000003") && ms.iter().any(|m| m["ids"]["pn"] == "85290000002" && m["role"] == "admin")
    })
    .await;
    let audit = t.get_json(&cookie, "/api/v1/audit").await.to_string();
    assert!(audit.contains("groups.promote") && audit.contains("groups.remove") && audit.contains("groups.approve"), "{audit}");

    // An add refused by privacy offers the invite link.
    t.http.post(format!("{}/_sandbox/linked/{LINKED}/privacy", t.sandbox.url)).json(&json!({"pn": "85291112222"})).send().await.unwrap();
    let r = t.post_api(&cookie, &members_path, &json!({"op": "add", "people": ["85291112222"]})).await;
    let results: Value = r.json().await.unwrap();
    assert_eq!(results[0]["outcome"], "privacy_refused", "{results}");
    assert!(results[0]["invite_link"].as_str().unwrap().starts_with("https://chat.whatsapp.com/"));
    // The daily add cap (3 here): one used, two more allowed, the fourth refused.
    let r = t.post_api(&cookie, &members_path, &json!({"op": "add", "people": ["85291110001", "85291110002", "85291110003"]})).await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "group_add_cap");

    // Not admin of the other group: promote is refused with the reason, and nothing is sent.
    let g = group(&t, &cookie, &other).await;
    assert_eq!(g["group"]["actions"]["promote"], "not_admin");
    let before = t.sandbox.linked_applied().len();
    let r = t
        .post_api(&cookie, &format!("/api/v1/groups/{}/members", urlencode(&other)), &json!({"op": "promote", "people": ["85290000050"]}))
        .await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "group_not_admin");

    // The number goes offline: every action fails at once with the reason; the list says so.
    t.sandbox.set_linked_state(LINKED, "offline", None);
    eventually("the number shows offline", || async { group(&t, &cookie, &jid).await["group"]["connection"]["state"] == "offline" }).await;
    let started = std::time::Instant::now();
    let r = t.post_api(&cookie, &members_path, &json!({"op": "remove", "people": ["85290000004"]})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "group_number_offline");
    assert!(started.elapsed() < Duration::from_secs(2), "an offline number must fail fast");
    assert_eq!(group(&t, &cookie, &jid).await["group"]["actions"]["remove_member"], "offline");
    assert_eq!(t.sandbox.linked_applied().len(), before, "nothing was done while refused");

    // Logged out (device removed on the phone): the device says so, for the re-pair banner.
    t.sandbox.set_linked_state(LINKED, "logged_out", Some("device_removed"));
    eventually("the device shows logged out", || async {
        let d = t.get_json(&cookie, "/api/v1/linked-devices").await;
        d[0]["connection"]["state"] == "logged_out" && d[0]["connection"]["reason"] == "device_removed"
    })
    .await;
    // Pairing again shows a QR code; scanning it brings the number back.
    let r = t.post_api(&cookie, "/api/v1/linked-devices", &json!({"phone": LINKED})).await;
    let device: Value = r.json().await.unwrap();
    assert!(device["qr_svg"].as_str().is_some_and(|s| s.starts_with("<?xml") || s.contains("<svg")), "{device}");
    t.http.post(format!("{}/_sandbox/linked/{LINKED}/scan", t.sandbox.url)).send().await.unwrap();
    eventually("online again", || async { group(&t, &cookie, &jid).await["group"]["connection"]["state"] == "online" }).await;

    // Without manage_groups: no group routes.
    let agent = {
        switchboard_relay::access::auth::upsert_user(
            &t.relay.state,
            "plain@example.com",
            "Plain",
            PASSWORD,
            "Agent",
            &switchboard_shared::access::Scope::All,
        )
        .await
        .unwrap();
        t.login_as("plain@example.com", PASSWORD).await
    };
    let r = t.http.get(t.url("/api/v1/groups")).header("cookie", &agent).send().await.unwrap();
    assert_eq!(r.status(), 403);
}

async fn a_cloud_group_offers_the_invite_link_instead_of_adding_and_removes_through_the_api(backend: Backend) {
    let t = app(backend).await;
    let cookie = t.admin().await;
    let id = t.sandbox.seed_cloud_group(NUMBER, "Orders", &["85291230001".into(), "85291230002".into()], true);
    let r = t.post_api(&cookie, "/api/v1/groups/sync", &json!({})).await;
    assert_eq!(r.status(), 200);
    let g = group(&t, &cookie, &id).await;
    assert_eq!(g["group"]["provider"], "cloud");
    assert_eq!(g["group"]["actions"]["add_member"], "provider");
    assert_eq!(g["group"]["actions"]["promote"], "provider");
    assert!(g["group"]["actions"]["invite_link"].is_null());
    assert_eq!(g["group"]["join_approval"], true);
    // Adding is refused with the reason; the invite link is offered.
    let r = t.post_api(&cookie, &format!("/api/v1/groups/{id}/members"), &json!({"op": "add", "people": ["85291230009"]})).await;
    assert_eq!(r.status(), 409);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "group_provider_cannot");
    let link: Value =
        t.post_api(&cookie, &format!("/api/v1/groups/{id}/invite-link"), &json!({"reset": false})).await.json().await.unwrap();
    assert!(link["link"].as_str().unwrap().starts_with("https://chat.whatsapp.com/"));
    // A customer asks to join through the link (webhook); approving adds them (webhook).
    t.sandbox.cloud_tap_link(&id, "85291230003").unwrap();
    eventually("the request arrives by webhook", || async {
        group(&t, &cookie, &id).await["join_requests"].as_array().unwrap().len() == 1
    })
    .await;
    let r = t.post_api(&cookie, &format!("/api/v1/groups/{id}/requests"), &json!({"approve": true, "all": true})).await;
    assert_eq!(r.status(), 200);
    eventually("they are a member", || async { group(&t, &cookie, &id).await["members"].as_array().unwrap().len() == 3 }).await;
    // Removal goes through Meta's API and its webhook.
    let r = t.post_api(&cookie, &format!("/api/v1/groups/{id}/members"), &json!({"op": "remove", "people": ["85291230001"]})).await;
    assert_eq!(r.status(), 200);
    eventually("removed", || async { group(&t, &cookie, &id).await["members"].as_array().unwrap().len() == 2 }).await;
    assert!(!t.sandbox.cloud_members(&id).contains(&"85291230001".to_owned()));
    // A bad body changes nothing and says why.
    let r = t.post_api(&cookie, &format!("/api/v1/groups/{id}/settings"), &json!({"setting": "subject", "value": " "})).await;
    assert_eq!(r.status(), 400);
    let r = t.post_api(&cookie, &format!("/api/v1/groups/{id}/members"), &json!({"op": "remove", "people": ["hello"]})).await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "invalid_person");
}

/// Forty groups on three numbers (two linked, one Cloud) hold a spammer.
async fn seed_forty(t: &TestApp) -> Vec<String> {
    let spammer = ("85299990000".to_owned(), "Spammer".to_owned(), MemberRole::Member);
    let mut ids = Vec::new();
    for i in 0..15 {
        let mut ms = people(3, i * 10);
        ms.push(spammer.clone());
        ids.push(t.sandbox.seed_linked_group(LINKED, &format!("Shop A{i}"), MemberRole::Admin, &ms, false));
        ids.push(t.sandbox.seed_linked_group(LINKED2, &format!("Shop B{i}"), MemberRole::Admin, &ms, false));
    }
    for i in 0..10 {
        ids.push(t.sandbox.seed_cloud_group(NUMBER, &format!("Shop C{i}"), &[format!("8529100{i:04}"), spammer.0.clone()], false));
    }
    ids
}

async fn job(t: &TestApp, cookie: &str, id: i64) -> Value {
    t.get_json(cookie, &format!("/api/v1/group-jobs/{id}")).await
}

fn count(job: &Value, state: &str) -> u64 {
    job["counts"][state].as_u64().unwrap_or(0)
}

async fn removing_a_spammer_from_forty_groups_on_three_numbers_survives_an_offline_number(backend: Backend) {
    let t = spawn_app_with(backend, |c| {
        c.linked_devices = Some("sim".into());
        c.group_pace_ms = Some(60);
        c.group_confirm_secs = Some(10);
    })
    .await;
    let cookie = t.admin().await;
    seed_forty(&t).await;
    link(&t, &cookie, LINKED, 15).await;
    link(&t, &cookie, LINKED2, 15).await;
    t.post_api(&cookie, "/api/v1/groups/sync", &json!({})).await;
    eventually("forty groups", || async { t.get_json(&cookie, "/api/v1/groups").await.as_array().unwrap().len() == 40 }).await;

    // The dry run first: every group acts.
    let request = json!({"action": {"kind": "remove_member", "person": "+852 9999 0000"}});
    let plan: Value = t.post_api(&cookie, "/api/v1/group-jobs/plan", &request).await.json().await.unwrap();
    assert_eq!(plan["counts"]["act"], 40, "{}", plan["counts"]);
    assert!(t.sandbox.linked_applied().is_empty() && t.sandbox.cloud_applied().is_empty(), "a dry run changes nothing");

    let started: Value = t.post_api(&cookie, "/api/v1/group-jobs", &request).await.json().await.unwrap();
    let id = started["id"].as_i64().unwrap();
    // The second linked number drops in the middle.
    eventually("some removals done", || async { t.sandbox.linked_applied().len() >= 4 }).await;
    t.sandbox.set_linked_state(LINKED2, "offline", None);
    eventually("the job finishes", || async { job(&t, &cookie, id).await["state"] == "done" }).await;
    let j = job(&t, &cookie, id).await;
    let offline = count(&j, "skipped_offline");
    assert!(offline > 0 && offline < 15, "some of the offline number's groups were skipped: {}", j["counts"]);
    // A removal made just as the number dropped is confirmed only when its update arrives after
    // the reconnection; until then it may be flagged.
    assert_eq!(count(&j, "confirmed") + offline + count(&j, "unconfirmed"), 40, "every group has its outcome: {}", j["counts"]);
    assert!(j["items"].as_array().unwrap().iter().all(|i| i["state"].is_string()));

    // Back online, re-run only the skipped ones.
    t.sandbox.set_linked_state(LINKED2, "online", None);
    eventually("online", || async {
        t.get_json(&cookie, "/api/v1/linked-devices").await.as_array().unwrap().iter().all(|d| d["connection"]["state"] == "online")
    })
    .await;
    let r = t.post_api(&cookie, &format!("/api/v1/group-jobs/{id}/rerun"), &json!({})).await;
    assert_eq!(r.status(), 200);
    eventually("the re-run finishes", || async { count(&job(&t, &cookie, id).await, "confirmed") == 40 }).await;

    // Exactly one removal per group, nothing twice.
    let mut removals: Vec<String> = t.sandbox.linked_applied().iter().filter(|a| a.op == "remove").map(|a| a.group.clone()).collect();
    removals.extend(t.sandbox.cloud_applied().iter().filter(|a| a.op == "remove").map(|a| a.group.clone()));
    let total = removals.len();
    removals.sort();
    removals.dedup();
    assert_eq!((total, removals.len()), (40, 40), "each group exactly once");
}

async fn a_change_accepted_but_never_applied_is_flagged(backend: Backend) {
    let t = app(backend).await;
    let cookie = t.admin().await;
    let jid = t.sandbox.seed_linked_group(LINKED, "Exam week", MemberRole::Admin, &people(3, 1), false);
    link(&t, &cookie, LINKED, 1).await;
    t.sandbox.set_linked_ignore_changes(true);
    let request = json!({"action": {"kind": "setting", "setting": {"setting": "admins_only_messages", "value": true}}, "groups": [jid]});
    let started: Value = t.post_api(&cookie, "/api/v1/group-jobs", &request).await.json().await.unwrap();
    let id = started["id"].as_i64().unwrap();
    eventually("flagged", || async { count(&job(&t, &cookie, id).await, "unconfirmed") == 1 }).await;
    let j = job(&t, &cookie, id).await;
    assert!(j["items"][0]["detail"].as_str().unwrap().contains("no update showed"), "{j}");
    assert_eq!(j["state"], "done");
}

async fn members_known_only_by_lid_are_reported_unresolved_never_guessed(backend: Backend) {
    let t = app(backend).await;
    let cookie = t.admin().await;
    let members = people(6, 1);
    let jid = t.sandbox.seed_linked_group(LINKED, "Moved to LID", MemberRole::Admin, &members, false);
    t.http.post(format!("{}/_sandbox/linked/groups/{}/lid", t.sandbox.url, urlencode(&jid))).send().await.unwrap();
    link(&t, &cookie, LINKED, 1).await;
    let g = group(&t, &cookie, &jid).await;
    assert_eq!(g["group"]["lid_addressing"], true);
    let lid_only = g["members"].as_array().unwrap().iter().filter(|m| m["ids"]["pn"].is_null() && m["ids"]["lid"].is_string()).count();
    assert!(lid_only > 0, "some members come without a phone: {}", g["members"]);
    // Someone not in the group, while some members are known only by LID: unresolved.
    let plan: Value = t
        .post_api(&cookie, "/api/v1/group-jobs/plan", &json!({"action": {"kind": "remove_member", "person": "85298765432"}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["items"][0]["verdict"], "unresolved", "{plan}");
    // A member whose phone is shown is found.
    let shown = g["members"].as_array().unwrap().iter().find_map(|m| m["ids"]["pn"].as_str().filter(|p| *p != LINKED)).unwrap().to_owned();
    let plan: Value = t
        .post_api(&cookie, "/api/v1/group-jobs/plan", &json!({"action": {"kind": "remove_member", "person": shown}}))
        .await
        .json()
        .await
        .unwrap();
    assert_eq!(plan["items"][0]["verdict"], "act", "{plan}");
}

/// A relay in a runtime of its own, so a test can end it the way `kill -9` does: every task
/// stops where it is, nothing is flushed or finished.
struct Crashable {
    url: String,
    crash: std::sync::mpsc::Sender<()>,
    thread: std::thread::JoinHandle<()>,
}

fn start_crashable(config: switchboard_relay::Config) -> Crashable {
    let (url_tx, url_rx) = std::sync::mpsc::channel();
    let (crash, crash_rx) = std::sync::mpsc::channel::<()>();
    let thread = std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap();
        runtime.block_on(async {
            let relay = switchboard_relay::Relay::start(config).await.unwrap();
            add_admin(&relay.state).await;
            url_tx.send(relay.url()).unwrap();
        });
        let _ = crash_rx.recv();
        runtime.shutdown_background();
    });
    Crashable { url: url_rx.recv().unwrap(), crash, thread }
}

async fn a_bulk_job_cut_off_by_a_crash_resumes_without_doing_anything_twice(backend: Backend) {
    let sandbox = switchboard_sandbox::Sandbox::spawn(switchboard_sandbox::SandboxConfig {
        webhook_batch_window: Duration::from_millis(2),
        ..Default::default()
    })
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let database = match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some(fresh_postgres_url().await.unwrap()),
    };
    let config = || {
        switchboard_relay::ConfigArgs {
            listen: Some("127.0.0.1:0".parse().unwrap()),
            data_dir: Some(dir.path().to_owned()),
            database_url: database.as_ref().map(|d| d.url.clone()),
            graph_base_url: Some(sandbox.url.clone()),
            console_dir: Some(dir.path().join("dist")),
            secret_key: Some(TEST_KEY.into()),
            linked_devices: Some("sim".into()),
            group_pace_ms: Some(30),
            group_confirm_secs: Some(20),
            ..Default::default()
        }
        .resolve()
        .unwrap()
    };
    let mut jids = Vec::new();
    for i in 0..12 {
        let members = vec![
            (format!("85261{i:06}"), "Friend".to_owned(), MemberRole::Member),
            ("85299990000".into(), "Spam".into(), MemberRole::Member),
        ];
        jids.push(sandbox.seed_linked_group(
            if i % 2 == 0 { LINKED } else { LINKED2 },
            &format!("Shop {i}"),
            MemberRole::Admin,
            &members,
            false,
        ));
    }
    let first = start_crashable(config());
    let http = reqwest::Client::new();
    let sign_in = |url: String| {
        let http = http.clone();
        async move {
            let r = http
                .post(format!("{url}/api/v1/session"))
                .header("x-requested-with", "switchboard")
                .json(&json!({"email": "admin@example.com", "password": PASSWORD}))
                .send()
                .await
                .unwrap();
            r.headers()["set-cookie"].to_str().unwrap().split(';').next().unwrap().to_owned()
        }
    };
    let post = |url: String, cookie: String, path: &'static str, body: Value| {
        let http = http.clone();
        async move {
            http.post(format!("{url}/api/v1{path}"))
                .header("cookie", cookie)
                .header("x-requested-with", "switchboard")
                .json(&body)
                .send()
                .await
                .unwrap()
        }
    };
    let cookie = sign_in(first.url.clone()).await;
    for phone in [LINKED, LINKED2] {
        let r = post(first.url.clone(), cookie.clone(), "/linked-devices", json!({"phone": phone})).await;
        assert_eq!(r.status(), 200);
    }
    for _ in 0..200 {
        let list: Value =
            http.get(format!("{}/api/v1/groups", first.url)).header("cookie", &cookie).send().await.unwrap().json().await.unwrap();
        if list.as_array().unwrap().len() == 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // Each removal is made at once but answered late: the crash comes while one is unanswered.
    sandbox.set_linked_answer_delay(400);
    let r =
        post(first.url.clone(), cookie.clone(), "/group-jobs", json!({"action": {"kind": "remove_member", "person": "85299990000"}})).await;
    assert_eq!(r.status(), 200);
    let job: Value = r.json().await.unwrap();
    for _ in 0..200 {
        if sandbox.linked_applied().iter().filter(|a| a.op == "remove").count() >= 3 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    first.crash.send(()).unwrap();
    first.thread.join().unwrap();
    let before = sandbox.linked_applied().iter().filter(|a| a.op == "remove").count();
    assert!((3..12).contains(&before), "the crash came in the middle: {before} removals made");
    sandbox.set_linked_answer_delay(0);

    // Started again on the same database: it picks up where it stopped.
    let second = switchboard_relay::Relay::start(config()).await.unwrap();
    let cookie = sign_in(second.url()).await;
    let id = job["id"].as_i64().unwrap();
    let mut last = Value::Null;
    for _ in 0..300 {
        last = http
            .get(format!("{}/api/v1/group-jobs/{id}", second.url()))
            .header("cookie", &cookie)
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap();
        if last["counts"]["confirmed"] == 12 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(last["counts"]["confirmed"], 12, "{last}");
    let mut removed: Vec<String> = sandbox.linked_applied().into_iter().filter(|a| a.op == "remove").map(|a| a.group).collect();
    assert_eq!(removed.len(), 12, "one removal per group, none twice: {removed:?}");
    removed.sort();
    removed.dedup();
    assert_eq!(removed.len(), 12);
    assert!(
        last["items"].as_array().unwrap().iter().any(|i| i["detail"] == "Already done."),
        "the item cut off in flight was checked, not redone: {last}"
    );
    drop(database);
}
