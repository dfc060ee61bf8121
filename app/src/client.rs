//! The relay's `/api/v1`, one function per endpoint, on the shared request and answer types.
//! Pages call these; no page spells a path. (`relay/tests/client_paths.rs` checks that every
//! path here is a route the relay declares.)

use switchboard_shared::api::*;
use switchboard_shared::broadcast::{BroadcastSpec, ControlAction};
use switchboard_shared::groups::*;
use switchboard_shared::support::{AutoRule, AutoRuleSpec, CannedReply, CannedReplySpec, SupportSettings};

use crate::api::{self, ApiError};

type Answer<T> = Result<T, ApiError>;

/// A query string (`?a=1&b=x`), or nothing when every field is absent.
fn query<Q: serde::Serialize>(q: &Q) -> String {
    match serde_urlencoded::to_string(q) {
        Ok(s) if !s.is_empty() => format!("?{s}"),
        _ => String::new(),
    }
}

// ---- session

pub async fn sign_in(request: &LoginRequest) -> Answer<Me> {
    api::post("/api/v1/session", request).await
}

pub async fn sign_out() -> Answer<()> {
    api::send_empty("DELETE", "/api/v1/session").await
}

pub async fn me() -> Answer<Me> {
    api::get("/api/v1/me").await
}

pub async fn set_away(request: &AwayRequest) -> Answer<Me> {
    api::send("PUT", "/api/v1/me/away", request).await
}

pub async fn set_password(request: &SetPasswordRequest) -> Answer<()> {
    api::send_no_answer("POST", "/api/v1/password", request).await
}

// ---- numbers and templates

pub async fn numbers() -> Answer<Vec<Number>> {
    api::get("/api/v1/numbers").await
}

pub async fn connect_number(request: &ConnectNumberRequest) -> Answer<Number> {
    api::post("/api/v1/numbers", request).await
}

pub async fn change_number(id: &str, change: &NumberChange) -> Answer<Number> {
    api::send("PATCH", &format!("/api/v1/numbers/{id}"), change).await
}

pub async fn remove_number(id: &str) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/numbers/{id}")).await
}

pub async fn templates() -> Answer<Vec<Template>> {
    api::get("/api/v1/templates").await
}

pub async fn sync_templates() -> Answer<Vec<Template>> {
    api::post("/api/v1/templates/sync", &serde_json::json!({})).await
}

// ---- inbox

pub async fn inbox() -> Answer<InboxSnapshot> {
    api::get("/api/v1/conversations").await
}

pub async fn search(q: &SearchQuery) -> Answer<Vec<Conversation>> {
    api::get(&format!("/api/v1/conversations/search{}", query(q))).await
}

pub async fn messages(conversation: i64) -> Answer<Vec<Message>> {
    api::get(&format!("/api/v1/conversations/{conversation}/messages")).await
}

pub async fn reply(conversation: i64, request: &ReplyRequest) -> Answer<Message> {
    api::post(&format!("/api/v1/conversations/{conversation}/messages"), request).await
}

/// Sends an approved template with its values (also after the 24-hour window).
pub async fn send_template(conversation: i64, request: &TemplateReplyRequest) -> Answer<Message> {
    api::post(&format!("/api/v1/conversations/{conversation}/template"), request).await
}

/// Sends a file (with a caption) to the customer; the relay checks WhatsApp's types and sizes.
pub async fn send_file(conversation: i64, file: &web_sys::File, caption: &str) -> Answer<Message> {
    let mut q: Vec<(&str, String)> = vec![("filename", file.name())];
    if !caption.trim().is_empty() {
        q.push(("caption", caption.trim().to_owned()));
    }
    api::post_file(&format!("/api/v1/conversations/{conversation}/media{}", query(&q)), file).await
}

/// Where the console shows a message's file from (`download` saves it instead).
pub fn media_url(message: i64, download: bool) -> String {
    if download {
        format!("/api/v1/media/{message}?download=1")
    } else {
        format!("/api/v1/media/{message}")
    }
}

pub async fn mark_read(conversation: i64) -> Answer<()> {
    api::send_empty("POST", &format!("/api/v1/conversations/{conversation}/read")).await
}

pub async fn assign(conversation: i64, request: &AssignRequest) -> Answer<Conversation> {
    api::post(&format!("/api/v1/conversations/{conversation}/assign"), request).await
}

pub async fn set_status(conversation: i64, request: &StatusRequest) -> Answer<Conversation> {
    api::post(&format!("/api/v1/conversations/{conversation}/status"), request).await
}

pub async fn activity(conversation: i64) -> Answer<Vec<Activity>> {
    api::get(&format!("/api/v1/conversations/{conversation}/activity")).await
}

pub async fn add_note(conversation: i64, request: &NoteRequest) -> Answer<Activity> {
    api::post(&format!("/api/v1/conversations/{conversation}/notes"), request).await
}

pub async fn colleagues(conversation: i64) -> Answer<Vec<Colleague>> {
    api::get(&format!("/api/v1/conversations/{conversation}/colleagues")).await
}

pub async fn assign_many(request: &BulkAssignRequest) -> Answer<Vec<Conversation>> {
    api::post("/api/v1/conversations/assign", request).await
}

pub async fn set_labels(conversation: i64, request: &LabelsRequest) -> Answer<Conversation> {
    api::send("PUT", &format!("/api/v1/conversations/{conversation}/labels"), request).await
}

pub async fn delete_message(message: i64) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/messages/{message}")).await
}

/// Where the live event stream is read from, resuming after `after`.
pub fn events_url(q: &EventsQuery) -> String {
    format!("/api/v1/events{}", query(q))
}

// ---- agents, roles, audit, reports

pub async fn agents() -> Answer<Vec<Agent>> {
    api::get("/api/v1/agents").await
}

pub async fn create_agents(request: &NewAgentsRequest) -> Answer<Vec<CreatedAgent>> {
    api::post("/api/v1/agents", request).await
}

pub async fn change_agent(id: i64, change: &AgentChange) -> Answer<Agent> {
    api::send("PATCH", &format!("/api/v1/agents/{id}"), change).await
}

pub async fn change_agents(request: &BulkAgentChange) -> Answer<Vec<Agent>> {
    api::post("/api/v1/agents/bulk", request).await
}

pub async fn password_link(id: i64) -> Answer<CreatedAgent> {
    api::post(&format!("/api/v1/agents/{id}/password-link"), &serde_json::json!({})).await
}

pub async fn roles() -> Answer<Vec<Role>> {
    api::get("/api/v1/roles").await
}

pub async fn create_role(request: &RoleRequest) -> Answer<Role> {
    api::post("/api/v1/roles", request).await
}

pub async fn change_role(id: i64, request: &RoleRequest) -> Answer<Role> {
    api::send("PUT", &format!("/api/v1/roles/{id}"), request).await
}

pub async fn delete_role(id: i64) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/roles/{id}")).await
}

pub async fn audit(q: &AuditQuery) -> Answer<Vec<AuditEntry>> {
    api::get(&format!("/api/v1/audit{}", query(q))).await
}

pub async fn supervisor(q: &SupervisorQuery) -> Answer<SupervisorView> {
    api::get(&format!("/api/v1/supervisor{}", query(q))).await
}

/// The download link of a conversation export.
pub fn export_url(q: &ExportQuery) -> String {
    format!("/api/v1/export/conversations{}", query(q))
}

// ---- contacts and segments

pub async fn contacts() -> Answer<Vec<Contact>> {
    api::get("/api/v1/contacts").await
}

/// The download link of every contact as CSV.
pub fn contacts_export_url() -> String {
    "/api/v1/contacts/export".to_owned()
}

/// Starts importing a CSV file.
pub async fn import_contacts(mapping: &ImportMapping, csv: String) -> Answer<ImportStatus> {
    let q = ImportQuery { mapping: serde_json::to_string(mapping).unwrap_or_default() };
    api::send_text(&format!("/api/v1/contacts/import{}", query(&q)), csv).await
}

pub async fn import_status(id: i64) -> Answer<ImportStatus> {
    api::get(&format!("/api/v1/contacts/import/{id}")).await
}

/// The download link of an import's rejected rows.
pub fn rejected_rows_url(id: i64) -> String {
    format!("/api/v1/contacts/import/{id}/rejected")
}

pub async fn segments() -> Answer<Vec<SavedSegment>> {
    api::get("/api/v1/segments").await
}

pub async fn save_segment(request: &SegmentRequest) -> Answer<SavedSegment> {
    api::post("/api/v1/segments", request).await
}

pub async fn opt_out() -> Answer<OptOutSettings> {
    api::get("/api/v1/settings/opt-out").await
}

pub async fn save_opt_out(settings: &OptOutSettings) -> Answer<OptOutSettings> {
    api::send("PUT", "/api/v1/settings/opt-out", settings).await
}

// ---- the support day

pub async fn support_settings(number: &str) -> Answer<SupportSettings> {
    api::get(&format!("/api/v1/numbers/{number}/support")).await
}

pub async fn save_support_settings(number: &str, settings: &SupportSettings) -> Answer<SupportSettings> {
    api::send("PUT", &format!("/api/v1/numbers/{number}/support"), settings).await
}

pub async fn canned_replies() -> Answer<Vec<CannedReply>> {
    api::get("/api/v1/canned-replies").await
}

pub async fn create_canned_reply(spec: &CannedReplySpec) -> Answer<CannedReply> {
    api::post("/api/v1/canned-replies", spec).await
}

pub async fn change_canned_reply(id: i64, spec: &CannedReplySpec) -> Answer<CannedReply> {
    api::send("PUT", &format!("/api/v1/canned-replies/{id}"), spec).await
}

pub async fn delete_canned_reply(id: i64) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/canned-replies/{id}")).await
}

pub async fn auto_replies() -> Answer<Vec<AutoRule>> {
    api::get("/api/v1/auto-replies").await
}

pub async fn create_auto_reply(spec: &AutoRuleSpec) -> Answer<AutoRule> {
    api::post("/api/v1/auto-replies", spec).await
}

pub async fn change_auto_reply(id: i64, spec: &AutoRuleSpec) -> Answer<AutoRule> {
    api::send("PUT", &format!("/api/v1/auto-replies/{id}"), spec).await
}

pub async fn delete_auto_reply(id: i64) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/auto-replies/{id}")).await
}

// ---- broadcasts

pub async fn broadcasts() -> Answer<Vec<Broadcast>> {
    api::get("/api/v1/broadcasts").await
}

pub async fn broadcast(id: i64) -> Answer<Broadcast> {
    api::get(&format!("/api/v1/broadcasts/{id}")).await
}

pub async fn create_broadcast(spec: &BroadcastSpec) -> Answer<Broadcast> {
    api::post("/api/v1/broadcasts", spec).await
}

pub async fn control_broadcast(id: i64, action: ControlAction) -> Answer<Broadcast> {
    api::post(&format!("/api/v1/broadcasts/{id}/control"), &ControlRequest { action }).await
}

pub async fn recipients(id: i64, q: &RecipientQuery) -> Answer<Vec<Recipient>> {
    api::get(&format!("/api/v1/broadcasts/{id}/recipients{}", query(q))).await
}

/// The download link of a broadcast's outcomes as CSV.
pub fn broadcast_export_url(id: i64) -> String {
    format!("/api/v1/broadcasts/{id}/export")
}

pub async fn change_contact(id: i64, change: &ContactChange) -> Answer<()> {
    api::send_no_answer("PATCH", &format!("/api/v1/contacts/{id}"), change).await
}

pub async fn delete_segment(id: i64) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/segments/{id}")).await
}

// ---- groups

/// A group id in a path (a linked group's JID has an `@`).
fn gid(id: &str) -> String {
    js_sys::encode_uri_component(id).as_string().unwrap_or_default()
}

pub async fn groups() -> Answer<Vec<Group>> {
    api::get("/api/v1/groups").await
}

pub async fn create_group(g: &NewGroup) -> Answer<GroupCreation> {
    api::post("/api/v1/groups", g).await
}

pub async fn group_creations() -> Answer<Vec<GroupCreation>> {
    api::get("/api/v1/groups/creations").await
}

pub async fn set_group_photo(id: &str, jpeg: &[u8]) -> Answer<()> {
    let g = gid(id);
    api::put_bytes(&format!("/api/v1/groups/{g}/photo"), "image/jpeg", jpeg).await
}

/// Where the console shows a group's photo from (`v` changes with the photo, so a new one shows).
pub fn group_photo_url(id: &str, sha: &str) -> String {
    let g = gid(id);
    format!("/api/v1/groups/{g}/photo?v={sha}")
}

pub async fn delete_group(id: &str) -> Answer<()> {
    let g = gid(id);
    api::send_empty("DELETE", &format!("/api/v1/groups/{g}")).await
}

pub async fn sync_groups() -> Answer<SyncReport> {
    api::post("/api/v1/groups/sync", &()).await
}

pub async fn group_people(q: &PeopleQuery) -> Answer<Vec<PersonHit>> {
    api::get(&format!("/api/v1/groups/people{}", query(q))).await
}

pub async fn group(id: &str) -> Answer<GroupDetail> {
    let g = gid(id);
    api::get(&format!("/api/v1/groups/{g}")).await
}

pub async fn change_members(id: &str, change: &MemberChange) -> Answer<Vec<PerMember>> {
    let g = gid(id);
    api::post(&format!("/api/v1/groups/{g}/members"), change).await
}

pub async fn group_setting(id: &str, setting: &GroupSetting) -> Answer<()> {
    let g = gid(id);
    api::send_no_answer("POST", &format!("/api/v1/groups/{g}/settings"), setting).await
}

pub async fn decide_requests(id: &str, decision: &DecideRequests) -> Answer<Vec<PerMember>> {
    let g = gid(id);
    api::post(&format!("/api/v1/groups/{g}/requests"), decision).await
}

pub async fn invite_link(id: &str, request: &InviteLinkRequest) -> Answer<InviteLink> {
    let g = gid(id);
    api::post(&format!("/api/v1/groups/{g}/invite-link"), request).await
}

pub async fn send_to_group(id: &str, message: &GroupMessage) -> Answer<SentGroupMessage> {
    let g = gid(id);
    api::post(&format!("/api/v1/groups/{g}/messages"), message).await
}

pub async fn revoke_group_message(id: &str, message: &str, request: &RevokeMessage) -> Answer<()> {
    let (g, m) = (gid(id), gid(message));
    api::send_no_answer("POST", &format!("/api/v1/groups/{g}/messages/{m}/revoke"), request).await
}

pub async fn plan_group_job(request: &BulkRequest) -> Answer<BulkPlan> {
    api::post("/api/v1/group-jobs/plan", request).await
}

pub async fn start_group_job(request: &BulkRequest) -> Answer<GroupJob> {
    api::post("/api/v1/group-jobs", request).await
}

pub async fn group_jobs() -> Answer<Vec<GroupJob>> {
    api::get("/api/v1/group-jobs").await
}

pub async fn group_job(id: i64) -> Answer<GroupJob> {
    api::get(&format!("/api/v1/group-jobs/{id}")).await
}

pub async fn cancel_group_job(id: i64) -> Answer<GroupJob> {
    api::post(&format!("/api/v1/group-jobs/{id}/cancel"), &()).await
}

pub async fn rerun_group_job(id: i64) -> Answer<GroupJob> {
    api::post(&format!("/api/v1/group-jobs/{id}/rerun"), &()).await
}

pub async fn linked_devices() -> Answer<Vec<LinkedDevice>> {
    api::get("/api/v1/linked-devices").await
}

pub async fn link_device(request: &LinkDevice) -> Answer<LinkedDevice> {
    api::post("/api/v1/linked-devices", request).await
}

pub async fn unlink_device(number: &str) -> Answer<()> {
    api::send_empty("DELETE", &format!("/api/v1/linked-devices/{number}")).await
}
