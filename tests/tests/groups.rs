//! Group control in the browser: the demo's groups on linked devices and the Cloud API, driven
//! from the console in headless Chromium against the relay and the sandbox over real HTTP.

use std::time::Duration;

use fantoccini::{Client, Locator};
use switchboard_relay::demo::{self, ADMIN_EMAIL, DEMO_LINKED};
use switchboard_shared::groups::MemberRole;
use switchboard_tests::{eventually, open_signed_in, screenshot, wait_for, wait_for_text, Driver};

const PASSWORD: &str = "e2e-password-1";

async fn start_demo(dir: &std::path::Path) -> demo::Demo {
    switchboard_tests::start_demo(dir, PASSWORD, |c| c.group_pace_ms = Some(200)).await
}

/// Opens the group whose name contains `subject`. The list re-renders when a live event arrives,
/// so a row found a moment ago may be gone by the time it is read: look again until it is found.
async fn open_group(c: &Client, subject: &str) {
    for _ in 0..100 {
        if let Ok(rows) = c.find_all(Locator::Css("#groups .open-group")).await {
            for r in rows {
                match r.text().await {
                    Ok(text) if text.contains(subject) => {
                        if r.click().await.is_ok() {
                            wait_for_text(c, "#group-panel h2", subject).await.unwrap();
                            return;
                        }
                        break;
                    }
                    Ok(_) => {}
                    Err(_) => break,
                }
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    panic!("no group named {subject}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_administrator_runs_groups_from_the_console() {
    let dir = tempfile::tempdir().unwrap();
    let demo = start_demo(dir.path()).await;
    // A spammer in three groups on both linked numbers.
    let spammer = ("85298765432".to_owned(), "Spam Bot".to_owned(), MemberRole::Member);
    let mut spam_groups = Vec::new();
    for (i, (phone, _)) in DEMO_LINKED.iter().enumerate() {
        for k in 0..(2 - i) {
            let members = vec![(format!("852600{i}{k}001"), "Friend".to_owned(), MemberRole::Member), spammer.clone()];
            spam_groups.push(demo.sandbox.seed_linked_group(phone, &format!("Market {i}{k} 市集"), MemberRole::Admin, &members, false));
        }
    }
    let driver = Driver::start().await.unwrap();
    let c = driver.browser(1280, 900).await.unwrap();
    let base = demo.relay.url();
    open_signed_in(&c, &base, ADMIN_EMAIL, PASSWORD, "/groups").await.unwrap();
    wait_for_text(&c, "#groups", "3B 家長群").await.unwrap();
    // The spam groups came after the devices were linked: refresh from WhatsApp.
    c.find(Locator::Css("#groups-refresh")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#groups", "Market 00").await.unwrap();
    screenshot(&c, "groups-list").await.unwrap();

    // Approve a join request.
    open_group(&c, "3B 家長群").await;
    let request = wait_for(&c, "#join-requests .request").await.unwrap();
    let waiting = c.find_all(Locator::Css("#join-requests .request")).await.unwrap().len();
    request.find(Locator::Css(".approve")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#member-results", "done").await.unwrap();
    for _ in 0..200 {
        if c.find_all(Locator::Css("#join-requests .request")).await.unwrap().len() < waiting {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(c.find_all(Locator::Css("#join-requests .request")).await.unwrap().len(), waiting - 1, "the request left the queue");
    let approved: Vec<_> = demo.sandbox.linked_applied().into_iter().filter(|a| a.op == "approve").collect();
    assert_eq!(approved.len(), 1, "one approval reached WhatsApp: {approved:?}");
    screenshot(&c, "group-approved").await.unwrap();

    // Admins-only on, then back.
    c.find(Locator::Css("#set-admins-only input")).await.unwrap().click().await.unwrap();
    eventually("admins-only reached WhatsApp", || async {
        demo.sandbox.linked_applied().iter().any(|a| a.op == "settings" && a.target.contains("\"announce\":true"))
    })
    .await;
    wait_for(&c, "#set-admins-only input:checked").await.unwrap();
    c.find(Locator::Css("#set-admins-only input")).await.unwrap().click().await.unwrap();
    eventually("and back", || async {
        demo.sandbox.linked_applied().iter().any(|a| a.op == "settings" && a.target.contains("\"announce\":false"))
    })
    .await;
    c.find(Locator::Css("#close-group")).await.unwrap().click().await.unwrap();

    // A Cloud group offers the invite link instead of adding.
    open_group(&c, "Mong Kok pickup").await;
    wait_for_text(&c, "#add-why", "Cloud API cannot").await.unwrap();
    c.find(Locator::Css("#send-invite")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#invite-link", "https://chat.whatsapp.com/").await.unwrap();
    screenshot(&c, "group-cloud").await.unwrap();
    c.find(Locator::Css("#close-group")).await.unwrap().click().await.unwrap();

    // Remove the spammer from every group after a dry run.
    c.find(Locator::Css("#bulk summary")).await.unwrap().click().await.unwrap();
    wait_for(&c, "#bulk-person").await.unwrap().send_keys("+852 9876 5432").await.unwrap();
    c.find(Locator::Css("#dry-run")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#plan", "will change: 3").await.unwrap();
    assert!(!demo.sandbox.linked_applied().iter().any(|a| a.op == "remove"), "a dry run changes nothing");
    screenshot(&c, "groups-dry-run").await.unwrap();
    c.find(Locator::Css("#run-job")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#job", "done: 3").await.unwrap();
    let removed: Vec<_> = demo.sandbox.linked_applied().into_iter().filter(|a| a.op == "remove" && a.target == spammer.0).collect();
    assert_eq!(removed.len(), 3, "removed once from each group: {removed:?}");
    screenshot(&c, "groups-bulk-done").await.unwrap();

    // A new group on a linked device: made at once, opened, then left again.
    c.find(Locator::Css("#new-group")).await.unwrap().click().await.unwrap();
    wait_for(&c, "#new-group-number").await.unwrap();
    let options = c.find_all(Locator::Css("#new-group-number option")).await.unwrap();
    let mut picked = false;
    for o in options {
        if o.attr("value").await.unwrap().unwrap_or_default().starts_with("linked:") {
            o.click().await.unwrap();
            picked = true;
            break;
        }
    }
    assert!(picked, "a linked device is offered for new groups");
    c.find(Locator::Css("#new-group-subject")).await.unwrap().send_keys("Field trip 旅行").await.unwrap();
    c.find(Locator::Css("#new-group-approval")).await.unwrap().click().await.unwrap();
    screenshot(&c, "group-new").await.unwrap();
    c.find(Locator::Css("#new-group-create")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "#group-panel h2", "Field trip 旅行").await.unwrap();
    wait_for_text(&c, "#groups", "Field trip 旅行").await.unwrap();
    assert!(demo.sandbox.linked_applied().iter().any(|a| a.op == "create" && a.target == "Field trip 旅行"));
    wait_for(&c, "#set-approval input:checked").await.unwrap();
    // Our own number is the only member: no "remove" on it.
    wait_for_text(&c, "#members #member-us", "This number").await.unwrap();
    assert!(c.find_all(Locator::Css("#members .remove")).await.unwrap().is_empty(), "the number cannot remove itself");
    // A photo for it, chosen as a file.
    let photo = dir.path().join("trip.jpg");
    std::fs::write(&photo, switchboard_shared::groups::jpeg_header(480, 480)).unwrap();
    c.find(Locator::Css("#group-edit summary")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#group-photo-file")).await.unwrap().send_keys(&photo.to_string_lossy()).await.unwrap();
    wait_for(&c, "#group-photo").await.unwrap();
    assert!(demo.sandbox.linked_applied().iter().any(|a| a.op == "photo"), "the photo reached WhatsApp");
    screenshot(&c, "group-created").await.unwrap();
    c.find(Locator::Css("#end-group")).await.unwrap().click().await.unwrap();
    c.find(Locator::Css("#confirm-end")).await.unwrap().click().await.unwrap();
    eventually("the number left the group", || async { demo.sandbox.linked_applied().iter().any(|a| a.op == "leave") }).await;
    for _ in 0..200 {
        if !c.find(Locator::Css("#groups")).await.unwrap().text().await.unwrap().contains("Field trip") {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!c.find(Locator::Css("#groups")).await.unwrap().text().await.unwrap().contains("Field trip"), "the group left the list");
    c.find(Locator::Css("#close-group")).await.unwrap().click().await.unwrap();

    // The community number drops: a banner, and its group's actions say why they are refused.
    demo.sandbox.set_linked_state(DEMO_LINKED[1].0, "offline", None);
    wait_for_text(&c, ".notice", "offline since").await.unwrap();
    open_group(&c, "考試週通知").await;
    wait_for_text(&c, "#set-admins-only", "The number is offline").await.unwrap();
    let disabled = c.find(Locator::Css("#set-admins-only input")).await.unwrap().attr("disabled").await.unwrap();
    assert!(disabled.is_some(), "the toggle is off-limits while offline");
    screenshot(&c, "group-offline").await.unwrap();

    // In Traditional Chinese.
    c.find(Locator::Css("#lang-switch")).await.unwrap().click().await.unwrap();
    wait_for_text(&c, "h1", "群組").await.unwrap();
    wait_for_text(&c, "#set-admins-only", "號碼離線中").await.unwrap();
    screenshot(&c, "groups-zh-hant").await.unwrap();
    c.close().await.unwrap();
}
