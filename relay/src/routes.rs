//! Every `/api/v1` route, declared once with the permission it needs. The declaration builds
//! the router and enforces the need before the handler runs, and the same list feeds
//! `/openapi.json` and the authorization test, so a route cannot exist without an entry.

use axum::extract::{FromRequestParts, Request, State};
use axum::handler::Handler;
use axum::http::Method;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{on, MethodFilter};
use axum::Router;
use switchboard_shared::access::Permission;
use switchboard_shared::api::*;
use switchboard_shared::broadcast::BroadcastSpec;
use switchboard_shared::groups;
use switchboard_shared::support;
use utoipa::ToSchema;

use crate::access::AuthUser;
use crate::access::{self, agents, audit, auth};
use crate::groups::http as gh;
use crate::numbers::templates;
use crate::{automation, broadcasts, canned, contacts, conversations, events, media, numbers, reports, AppState};

/// What a route needs from the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// Anyone (sign-in, sign-out, setting a password with a one-time link).
    Public,
    /// Any signed-in user; the handler limits what they see to their scope.
    SignedIn,
    /// A signed-in user whose role grants this permission.
    Permission(Permission),
    /// A signed-in user whose role grants every one of these (a broadcast sends templates).
    Permissions(&'static [Permission]),
}

impl Need {
    /// The permissions the route needs, none for public and signed-in routes.
    pub fn permissions(&self) -> &[Permission] {
        match self {
            Need::Public | Need::SignedIn => &[],
            Need::Permission(p) => std::slice::from_ref(p),
            Need::Permissions(ps) => ps,
        }
    }
}

/// One declared route.
#[derive(Debug, Clone)]
pub struct RouteSpec {
    pub method: Method,
    /// Below `/api/v1`, with `{name}` path parameters.
    pub path: &'static str,
    pub need: Need,
    pub summary: &'static str,
    /// The JSON body it takes, by its schema's name in `/openapi.json`.
    pub request: Option<&'static str>,
    /// The JSON it answers with, by schema name, and whether it is a list of them.
    pub response: Option<(&'static str, bool)>,
    /// Its query string's parameters, as `/openapi.json` lists them.
    pub query: Option<fn() -> Vec<utoipa::openapi::path::Parameter>>,
}

struct Api {
    state: AppState,
    router: Router<AppState>,
    specs: Vec<RouteSpec>,
}

impl Api {
    fn add<H, T>(mut self, method: Method, path: &'static str, need: Need, summary: &'static str, handler: H) -> Self
    where
        H: Handler<T, AppState>,
        T: 'static,
    {
        let filter = MethodFilter::try_from(method.clone()).expect("a routable method");
        let mut route = on(filter, handler);
        if need != Need::Public {
            route = route.route_layer(axum::middleware::from_fn_with_state(self.state.clone(), move |s, r, n| enforce(s, need, r, n)));
        }
        self.router = self.router.route(path, route);
        self.specs.push(RouteSpec { method, path, need, summary, request: None, response: None, query: None });
        self
    }

    /// The last route takes a `T` as its JSON body.
    fn takes<T: ToSchema>(mut self) -> Self {
        self.last().request = Some(schema_name::<T>());
        self
    }

    /// The last route answers with a `T`.
    fn gives<T: ToSchema>(mut self) -> Self {
        self.last().response = Some((schema_name::<T>(), false));
        self
    }

    /// The last route answers with a list of `T`.
    fn gives_list<T: ToSchema>(mut self) -> Self {
        self.last().response = Some((schema_name::<T>(), true));
        self
    }

    /// The last route reads a `T` from its query string.
    fn query<T: utoipa::IntoParams>(mut self) -> Self {
        self.last().query = Some(|| T::into_params(|| Some(utoipa::openapi::path::ParameterIn::Query)));
        self
    }

    fn last(&mut self) -> &mut RouteSpec {
        self.specs.last_mut().expect("a body is declared after its route")
    }
}

/// A schema's name as `/openapi.json` lists it (derived names are static).
fn schema_name<T: ToSchema>() -> &'static str {
    match T::name() {
        std::borrow::Cow::Borrowed(name) => name,
        std::borrow::Cow::Owned(name) => Box::leak(name.into_boxed_str()),
    }
}

/// Checks the declared need, and hands the signed-in user on to the handler.
async fn enforce(State(state): State<AppState>, need: Need, request: Request, next: Next) -> Response {
    let (mut parts, body) = request.into_parts();
    let user = match AuthUser::from_request_parts(&mut parts, &state).await {
        Ok(user) => user,
        Err(e) => return e.into_response(),
    };
    for p in need.permissions() {
        if let Err(e) = user.require(*p) {
            return e.into_response();
        }
    }
    parts.extensions.insert(user);
    next.run(Request::from_parts(parts, body)).await
}

/// The `/api/v1` router and the list of its routes.
pub fn api(state: &AppState) -> (Router<AppState>, Vec<RouteSpec>) {
    use Method as M;
    use Need::{Permission as P, Public, SignedIn};
    use Permission::*;
    let api = Api { state: state.clone(), router: Router::new(), specs: Vec::new() }
        .add(M::POST, "/session", Public, "Sign in; sets the session cookie", auth::login)
        .takes::<LoginRequest>()
        .gives::<Me>()
        .add(M::DELETE, "/session", Public, "Sign out", auth::logout)
        .add(M::POST, "/password", Public, "Set a password with a one-time link", agents::set_password)
        .takes::<SetPasswordRequest>()
        .add(M::GET, "/me", SignedIn, "The signed-in user: role, permissions, scope", access::me)
        .gives::<Me>()
        .add(M::PUT, "/me/away", SignedIn, "Set oneself away (on a break) or back on duty", access::set_away)
        .takes::<AwayRequest>()
        .gives::<Me>()
        .add(M::GET, "/numbers", SignedIn, "Business numbers in scope, with health", numbers::list)
        .gives_list::<Number>()
        .add(M::POST, "/numbers", P(ManageNumbers), "Connect a number (checked against the Graph API)", numbers::connect)
        .takes::<ConnectNumberRequest>()
        .gives::<Number>()
        .add(M::PATCH, "/numbers/{id}", P(ManageNumbers), "Disable or enable a number", numbers::update)
        .takes::<NumberChange>()
        .gives::<Number>()
        .add(M::DELETE, "/numbers/{id}", P(ManageNumbers), "Remove a number's credentials", numbers::remove)
        .add(M::GET, "/conversations", SignedIn, "Recent conversations in scope", conversations::list)
        .gives::<InboxSnapshot>()
        .add(M::GET, "/conversations/search", SignedIn, "Search conversations by name, phone or message text", conversations::search)
        .query::<SearchQuery>()
        .gives_list::<Conversation>()
        .add(M::GET, "/conversations/{id}/messages", SignedIn, "A conversation's messages", conversations::messages)
        .gives_list::<Message>()
        .add(M::POST, "/conversations/{id}/messages", P(Reply), "Reply inside the 24-hour window", conversations::reply)
        .takes::<ReplyRequest>()
        .gives::<Message>()
        .add(
            M::POST,
            "/conversations/{id}/template",
            Need::Permissions(&[Reply, SendTemplates]),
            "Send an approved template (also after the 24-hour window has closed)",
            conversations::send_template,
        )
        .takes::<TemplateReplyRequest>()
        .gives::<Message>()
        .add(
            M::POST,
            "/conversations/{id}/media",
            P(Reply),
            "Send a file inside the 24-hour window (the body is the file, Content-Type its type; WhatsApp's types and sizes)",
            media::send_file,
        )
        .query::<media::SendFileQuery>()
        .gives::<Message>()
        .add(
            M::GET,
            "/media/{id}",
            SignedIn,
            "A message's file (photo, document, voice note), to users whose scope covers its conversation",
            media::serve,
        )
        .query::<media::ServeQuery>()
        .add(M::POST, "/conversations/{id}/read", SignedIn, "Mark a conversation read", conversations::mark_read)
        .add(M::POST, "/conversations/{id}/assign", P(Reply), "Assign, take over or send back to the queue", conversations::assign)
        .takes::<AssignRequest>()
        .gives::<Conversation>()
        .add(M::PUT, "/conversations/{id}/labels", P(Reply), "Set a conversation's labels", conversations::set_labels)
        .takes::<LabelsRequest>()
        .gives::<Conversation>()
        .add(M::POST, "/conversations/{id}/status", P(Reply), "Open, pending, resolved, or snoozed until a time", conversations::set_status)
        .takes::<StatusRequest>()
        .gives::<Conversation>()
        .add(M::GET, "/conversations/{id}/activity", SignedIn, "Notes, assignment decisions and status changes", conversations::activity)
        .gives_list::<Activity>()
        .add(M::POST, "/conversations/{id}/notes", P(Reply), "An internal note, with @mentions", conversations::add_note)
        .takes::<NoteRequest>()
        .gives::<Activity>()
        .add(
            M::GET,
            "/conversations/{id}/colleagues",
            SignedIn,
            "Who may work on a conversation, and who is on duty",
            conversations::colleagues,
        )
        .gives_list::<Colleague>()
        .add(M::POST, "/conversations/assign", P(Reply), "A supervisor moves many conversations at once", conversations::assign_many)
        .takes::<BulkAssignRequest>()
        .gives_list::<Conversation>()
        .add(M::DELETE, "/messages/{id}", P(DeleteMessages), "Delete a message's content from the record", conversations::delete_message)
        .add(M::GET, "/events", SignedIn, "Live events (Server-Sent Events), resumable", events::stream)
        .query::<EventsQuery>()
        .gives::<Event>()
        .add(M::GET, "/agents", P(ManageAgents), "Every agent", agents::list)
        .gives_list::<Agent>()
        .add(M::POST, "/agents", P(ManageAgents), "Create one or many agents with set-password links", agents::create)
        .takes::<NewAgentsRequest>()
        .gives_list::<CreatedAgent>()
        .add(M::PATCH, "/agents/{id}", P(ManageAgents), "Change an agent's role, scope or state", agents::update)
        .takes::<AgentChange>()
        .gives::<Agent>()
        .add(M::POST, "/agents/bulk", P(ManageAgents), "One change for many agents (all or none)", agents::update_many)
        .takes::<BulkAgentChange>()
        .gives_list::<Agent>()
        .add(M::POST, "/agents/{id}/password-link", P(ManageAgents), "A new one-time set-password link", agents::reset_password)
        .gives::<CreatedAgent>()
        .add(M::GET, "/roles", P(ManageAgents), "Built-in and custom roles", access::list_roles)
        .gives_list::<Role>()
        .add(M::POST, "/roles", P(ManageAgents), "Create a custom role", access::create_role)
        .takes::<RoleRequest>()
        .gives::<Role>()
        .add(M::PUT, "/roles/{id}", P(ManageAgents), "Change a custom role", access::update_role)
        .takes::<RoleRequest>()
        .gives::<Role>()
        .add(M::DELETE, "/roles/{id}", P(ManageAgents), "Remove a custom role nobody holds", access::delete_role)
        .add(M::GET, "/audit", P(ViewReports), "The audit log, searched and filtered", audit::list)
        .query::<AuditQuery>()
        .gives_list::<AuditEntry>()
        .add(M::GET, "/supervisor", P(ViewReports), "Live load per number and per agent", reports::supervisor)
        .query::<SupervisorQuery>()
        .gives::<SupervisorView>()
        .add(
            M::GET,
            "/export/conversations",
            P(ExportConversations),
            "Messages as CSV or JSON, streamed",
            conversations::export::conversations,
        )
        .query::<ExportQuery>()
        .add(M::GET, "/contacts", P(ManageContacts), "Every contact in scope with tags, attributes and consent", contacts::list)
        .gives_list::<Contact>()
        .add(M::PATCH, "/contacts/{id}", P(ManageContacts), "Change a contact's tags or consent", contacts::update)
        .takes::<ContactChange>()
        .add(M::GET, "/contacts/export", P(ManageContacts), "Contacts as CSV", contacts::export)
        .add(M::POST, "/contacts/import", P(ManageContacts), "Start a CSV import (body: the file; mapping in the query)", contacts::import)
        .query::<ImportQuery>()
        .gives::<ImportStatus>()
        .add(M::GET, "/contacts/import/{id}", P(ManageContacts), "An import's progress and outcome", contacts::import_status)
        .gives::<ImportStatus>()
        .add(
            M::GET,
            "/contacts/import/{id}/rejected",
            P(ManageContacts),
            "The rows an import rejected, with reasons, as CSV",
            contacts::import_rejected,
        )
        .add(M::GET, "/segments", P(ManageContacts), "Saved segments", contacts::list_segments)
        .gives_list::<SavedSegment>()
        .add(M::POST, "/segments", P(ManageContacts), "Save a segment (checked; errors point at the character)", contacts::save_segment)
        .takes::<SegmentRequest>()
        .gives::<SavedSegment>()
        .add(M::DELETE, "/segments/{id}", P(ManageContacts), "Remove a saved segment", contacts::delete_segment)
        .add(M::GET, "/settings/opt-out", P(ManageContacts), "Opt-out keywords and confirmation", contacts::get_opt_out)
        .gives::<OptOutSettings>()
        .add(M::PUT, "/settings/opt-out", P(ManageContacts), "Change the opt-out keywords and confirmation", contacts::put_opt_out)
        .takes::<OptOutSettings>()
        .gives::<OptOutSettings>()
        .add(M::GET, "/canned-replies", SignedIn, "Canned replies offered on the user's numbers", canned::list)
        .gives_list::<support::CannedReply>()
        .add(M::POST, "/canned-replies", P(ManageNumbers), "Add a canned reply with its shortcut", canned::create)
        .takes::<support::CannedReplySpec>()
        .gives::<support::CannedReply>()
        .add(M::PUT, "/canned-replies/{id}", P(ManageNumbers), "Change a canned reply", canned::update)
        .takes::<support::CannedReplySpec>()
        .gives::<support::CannedReply>()
        .add(M::DELETE, "/canned-replies/{id}", P(ManageNumbers), "Remove a canned reply", canned::delete)
        .add(M::GET, "/auto-replies", P(ManageNumbers), "Auto-reply rules on the user's numbers", automation::rules)
        .gives_list::<switchboard_shared::support::AutoRule>()
        .add(M::POST, "/auto-replies", P(ManageNumbers), "Add an auto-reply rule (welcome, keyword or away)", automation::create_rule)
        .takes::<switchboard_shared::support::AutoRuleSpec>()
        .gives::<switchboard_shared::support::AutoRule>()
        .add(M::PUT, "/auto-replies/{id}", P(ManageNumbers), "Change an auto-reply rule", automation::update_rule)
        .takes::<switchboard_shared::support::AutoRuleSpec>()
        .gives::<switchboard_shared::support::AutoRule>()
        .add(M::DELETE, "/auto-replies/{id}", P(ManageNumbers), "Remove an auto-reply rule", automation::delete_rule)
        .add(M::GET, "/numbers/{id}/support", P(ManageNumbers), "A number's business hours and assignment", automation::support_settings)
        .gives::<switchboard_shared::support::SupportSettings>()
        .add(
            M::PUT,
            "/numbers/{id}/support",
            P(ManageNumbers),
            "Set a number's business hours and assignment",
            automation::update_support_settings,
        )
        .takes::<switchboard_shared::support::SupportSettings>()
        .gives::<switchboard_shared::support::SupportSettings>()
        .add(M::GET, "/templates", SignedIn, "Templates of the WABAs behind the user's numbers", templates::list)
        .gives_list::<Template>()
        .add(M::POST, "/templates/sync", P(Broadcast), "Sync templates from WhatsApp now", templates::sync)
        .gives_list::<Template>()
        .add(M::GET, "/broadcasts", P(Broadcast), "Broadcasts with their live reports", broadcasts::list)
        .gives_list::<switchboard_shared::api::Broadcast>()
        .add(
            M::POST,
            "/broadcasts",
            Need::Permissions(&[Broadcast, SendTemplates]),
            "Schedule a broadcast (now or at a time)",
            broadcasts::create,
        )
        .takes::<BroadcastSpec>()
        .gives::<switchboard_shared::api::Broadcast>()
        .add(M::GET, "/broadcasts/{id}", P(Broadcast), "A broadcast's live report", broadcasts::get)
        .gives::<switchboard_shared::api::Broadcast>()
        .add(M::POST, "/broadcasts/{id}/control", P(Broadcast), "Pause, resume or cancel a broadcast", broadcasts::control)
        .takes::<ControlRequest>()
        .gives::<switchboard_shared::api::Broadcast>()
        .add(M::GET, "/broadcasts/{id}/recipients", P(Broadcast), "Per-recipient outcomes, filtered", broadcasts::recipients)
        .query::<RecipientQuery>()
        .gives_list::<Recipient>()
        .add(M::GET, "/broadcasts/{id}/export", P(Broadcast), "Every recipient's outcome as CSV", broadcasts::export)
        .add(M::GET, "/groups", P(ManageGroups), "Every group of the user's numbers, with what may be done to each", gh::list)
        .gives_list::<groups::Group>()
        .add(M::POST, "/groups", P(ManageGroups), "Make a new group on a number (Cloud API or linked device)", gh::create)
        .takes::<groups::NewGroup>()
        .gives::<groups::GroupCreation>()
        .add(M::GET, "/groups/creations", P(ManageGroups), "Group creations still waiting for WhatsApp, or refused", gh::creations)
        .gives_list::<groups::GroupCreation>()
        .add(M::POST, "/groups/sync", P(ManageGroups), "Read every group from WhatsApp again", gh::sync)
        .gives::<groups::SyncReport>()
        .add(M::GET, "/groups/people", P(ManageGroups), "Where a person is, across every group", gh::people)
        .query::<groups::PeopleQuery>()
        .gives_list::<groups::PersonHit>()
        .add(M::GET, "/groups/{id}", P(ManageGroups), "A group with its members and join requests", gh::detail)
        .gives::<groups::GroupDetail>()
        .add(M::DELETE, "/groups/{id}", P(ManageGroups), "Delete a Cloud group for everyone, or leave a linked device's group", gh::delete)
        .add(M::PUT, "/groups/{id}/photo", P(ManageGroups), "Set a group's photo (the body is a square JPEG, at most 5 MB)", gh::set_photo)
        .add(M::GET, "/groups/{id}/photo", P(ManageGroups), "The group photo set through Switchboard", gh::photo)
        .add(M::POST, "/groups/{id}/members", P(ManageGroups), "Add, remove, promote or demote members", gh::members)
        .takes::<groups::MemberChange>()
        .gives_list::<groups::PerMember>()
        .add(M::POST, "/groups/{id}/settings", P(ManageGroups), "Change one setting of a group", gh::settings)
        .takes::<groups::GroupSetting>()
        .add(M::POST, "/groups/{id}/requests", P(ManageGroups), "Approve or reject join requests", gh::decide)
        .takes::<groups::DecideRequests>()
        .gives_list::<groups::PerMember>()
        .add(M::POST, "/groups/{id}/invite-link", P(ManageGroups), "Read or reset a group's invite link", gh::invite_link)
        .takes::<groups::InviteLinkRequest>()
        .gives::<groups::InviteLink>()
        .add(M::POST, "/groups/{id}/messages", P(ManageGroups), "Send a message to a group, with @mentions", gh::send)
        .takes::<groups::GroupMessage>()
        .gives::<groups::SentGroupMessage>()
        .add(M::POST, "/groups/{id}/messages/{message}/revoke", P(ManageGroups), "Delete a message for everyone", gh::revoke)
        .takes::<groups::RevokeMessage>()
        .add(M::POST, "/group-jobs/plan", P(ManageGroups), "Dry run of a bulk action across groups", gh::plan)
        .takes::<groups::BulkRequest>()
        .gives::<groups::BulkPlan>()
        .add(M::POST, "/group-jobs", P(ManageGroups), "Carry out a bulk action across groups", gh::start_job)
        .takes::<groups::BulkRequest>()
        .gives::<groups::GroupJob>()
        .add(M::GET, "/group-jobs", P(ManageGroups), "Recent bulk jobs", gh::list_jobs)
        .gives_list::<groups::GroupJob>()
        .add(M::GET, "/group-jobs/{id}", P(ManageGroups), "A bulk job with each group's outcome", gh::job)
        .gives::<groups::GroupJob>()
        .add(M::POST, "/group-jobs/{id}/cancel", P(ManageGroups), "Stop a bulk job (what has not started)", gh::cancel_job)
        .gives::<groups::GroupJob>()
        .add(M::POST, "/group-jobs/{id}/rerun", P(ManageGroups), "Run again the groups skipped while offline", gh::rerun_job)
        .gives::<groups::GroupJob>()
        .add(M::GET, "/linked-devices", P(ManageGroups), "Linked devices and their connection", gh::devices)
        .gives_list::<groups::LinkedDevice>()
        .add(M::POST, "/linked-devices", P(ManageNumbers), "Link a number's WhatsApp (QR code or pair code)", gh::link)
        .takes::<groups::LinkDevice>()
        .gives::<groups::LinkedDevice>()
        .add(M::DELETE, "/linked-devices/{number}", P(ManageNumbers), "Unlink a device", gh::unlink);
    (api.router.fallback(|| async { crate::error::AppError::NotFound }), api.specs)
}

/// The declared routes (for the OpenAPI document and the authorization test).
pub fn specs(state: &AppState) -> Vec<RouteSpec> {
    api(state).1
}
