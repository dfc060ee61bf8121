//! `GET /openapi.json`: generated from the route declarations (`routes.rs`) and the schemas
//! derived on the shared API types, so it cannot drift from what the relay serves.

use axum::extract::State;
use axum::Json;
use switchboard_shared::access::{Permission, Scope};
use switchboard_shared::api::*;
use switchboard_shared::broadcast::{
    Audience, BroadcastCounts, BroadcastSpec, BroadcastState, ControlAction, FrequencyCap, RecipientState,
};
use switchboard_shared::groups;
use switchboard_shared::support;
use switchboard_shared::MessageStatus;
use utoipa::openapi::path::{HttpMethod, OperationBuilder, ParameterBuilder, ParameterIn};
use utoipa::openapi::request_body::RequestBodyBuilder;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, SecurityRequirement, SecurityScheme};
use utoipa::openapi::{
    ComponentsBuilder, ContentBuilder, InfoBuilder, OpenApi, OpenApiBuilder, PathItem, PathsBuilder, Ref, RefOr, Required, ResponseBuilder,
    Schema, ServerBuilder,
};
use utoipa::{PartialSchema, ToSchema};

use crate::routes::{self, Need, RouteSpec};
use crate::AppState;

fn schema<T: ToSchema>() -> (String, RefOr<Schema>) {
    (T::name().into_owned(), T::schema())
}

fn json_content(name: &str, array: bool) -> utoipa::openapi::Content {
    let reference: RefOr<Schema> = Ref::from_schema_name(name).into();
    let schema: RefOr<Schema> = if array { utoipa::openapi::schema::ArrayBuilder::new().items(reference).into() } else { reference };
    ContentBuilder::new().schema(Some(schema)).build()
}

fn operation(spec: &RouteSpec) -> utoipa::openapi::path::Operation {
    let method = spec.method.as_str();
    let id = format!(
        "{}{}",
        method.to_lowercase(),
        spec.path
            .replace(['{', '}'], "")
            .split(['/', '-'])
            .map(|w| {
                let mut c = w.chars();
                c.next().map(|f| f.to_uppercase().collect::<String>() + c.as_str()).unwrap_or_default()
            })
            .collect::<String>()
    );
    let tag = spec.path.trim_start_matches('/').split('/').next().unwrap_or("api").to_owned();
    let needs = match spec.need {
        Need::Public => "Open to anyone.".to_owned(),
        Need::SignedIn => "Any signed-in user; results are limited to their numbers.".to_owned(),
        Need::Permission(p) => format!("Needs the `{}` permission.", p.as_str()),
        Need::Permissions(ps) => {
            let names: Vec<String> = ps.iter().map(|p| format!("`{}`", p.as_str())).collect();
            format!("Needs the {} permissions.", names.join(" and "))
        }
    };
    let mut op = OperationBuilder::new().operation_id(Some(id)).summary(Some(spec.summary)).description(Some(needs)).tag(tag);
    if spec.path.contains("{id}") {
        op = op.parameter(
            ParameterBuilder::new()
                .name("id")
                .parameter_in(ParameterIn::Path)
                .required(Required::True)
                .schema(Some(if spec.path.starts_with("/numbers") { String::schema() } else { i64::schema() })),
        );
    }
    for parameter in spec.query.map(|params| params()).unwrap_or_default() {
        op = op.parameter(parameter);
    }
    if spec.need != Need::Public {
        op = op.security(SecurityRequirement::new("session", Vec::<String>::new()));
    }
    let (request, response) = (spec.request, spec.response);
    if let Some(name) = request {
        op = op.request_body(Some(
            RequestBodyBuilder::new().content("application/json", json_content(name, false)).required(Some(Required::True)).build(),
        ));
    }
    let ok_status = match (method, response) {
        ("POST", Some(_)) if matches!(spec.path, "/numbers" | "/agents" | "/roles") => "201",
        (_, Some(_)) => "200",
        _ => "204",
    };
    let mut ok = ResponseBuilder::new().description("Success");
    if let Some((name, array)) = response {
        let media = match spec.path {
            "/events" => "text/event-stream",
            _ => "application/json",
        };
        ok = ok.content(media, json_content(name, array));
    }
    if spec.path == "/export/conversations" {
        ok = ok.content("text/csv", ContentBuilder::new().build()).content("application/json", ContentBuilder::new().build());
    }
    op = op.response(ok_status, ok.build());
    let error = |description: &str| {
        ResponseBuilder::new().description(description).content("application/json", json_content("ErrorBody", false)).build()
    };
    op = op.response("400", error("Invalid input; nothing changed"));
    if spec.need != Need::Public {
        op = op.response("401", error("Not signed in")).response("403", error("Not allowed (role), or missing the CSRF header"));
    }
    if spec.path.contains("{id}") {
        op = op.response("404", error("Not found, or outside your scope"));
    }
    op.build()
}

/// The document.
pub fn document(state: &AppState) -> OpenApi {
    let mut paths = PathsBuilder::new();
    for spec in routes::specs(state) {
        let method = match spec.method.as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            "PATCH" => HttpMethod::Patch,
            "DELETE" => HttpMethod::Delete,
            other => unreachable!("no {other} routes are declared"),
        };
        paths = paths.path(format!("/api/v1{}", spec.path), PathItem::new(method, operation(&spec)));
    }
    let components = ComponentsBuilder::new()
        .schemas_from_iter([
            schema::<ErrorBody>(),
            schema::<ErrorDetail>(),
            schema::<LoginRequest>(),
            schema::<Me>(),
            schema::<AwayRequest>(),
            schema::<Permission>(),
            schema::<Scope>(),
            schema::<Role>(),
            schema::<RoleRequest>(),
            schema::<Agent>(),
            schema::<NewAgentsRequest>(),
            schema::<CreatedAgent>(),
            schema::<AgentChange>(),
            schema::<BulkAgentChange>(),
            schema::<SetPasswordRequest>(),
            schema::<AuditEntry>(),
            schema::<SupervisorView>(),
            schema::<Backlog>(),
            schema::<Load>(),
            schema::<AssignRequest>(),
            schema::<LabelsRequest>(),
            schema::<Number>(),
            schema::<ConnectNumberRequest>(),
            schema::<NumberChange>(),
            schema::<Direction>(),
            schema::<Conversation>(),
            schema::<ConversationStatus>(),
            schema::<StatusRequest>(),
            schema::<BulkAssignRequest>(),
            schema::<Activity>(),
            schema::<ActivityKind>(),
            schema::<NoteRequest>(),
            schema::<Colleague>(),
            schema::<Message>(),
            schema::<switchboard_shared::media::Attachment>(),
            schema::<switchboard_shared::media::ContactCard>(),
            schema::<switchboard_shared::media::MediaState>(),
            schema::<MessageStatus>(),
            schema::<ReplyRequest>(),
            schema::<TemplateReplyRequest>(),
            schema::<Event>(),
            schema::<EventKind>(),
            schema::<Contact>(),
            schema::<ContactChange>(),
            schema::<ImportMapping>(),
            schema::<AttributeColumn>(),
            schema::<AttributeKind>(),
            schema::<ImportStatus>(),
            schema::<SavedSegment>(),
            schema::<SegmentRequest>(),
            schema::<OptOutSettings>(),
            schema::<support::CannedReply>(),
            schema::<support::CannedReplySpec>(),
            schema::<support::AutoRule>(),
            schema::<support::AutoRuleSpec>(),
            schema::<support::Trigger>(),
            schema::<support::AutoAnswer>(),
            schema::<support::SupportSettings>(),
            schema::<support::BusinessHours>(),
            schema::<support::Span>(),
            schema::<support::AssignmentMode>(),
            schema::<Template>(),
            schema::<Broadcast>(),
            schema::<BroadcastProgress>(),
            schema::<InboxSnapshot>(),
            schema::<Recipient>(),
            schema::<BroadcastSpec>(),
            schema::<Audience>(),
            schema::<FrequencyCap>(),
            schema::<BroadcastCounts>(),
            schema::<BroadcastState>(),
            schema::<RecipientState>(),
            schema::<ControlRequest>(),
            schema::<ControlAction>(),
            schema::<groups::Group>(),
            schema::<groups::GroupDetail>(),
            schema::<groups::GroupMember>(),
            schema::<groups::MemberIds>(),
            schema::<groups::MemberRole>(),
            schema::<groups::JoinRequest>(),
            schema::<groups::Connection>(),
            schema::<groups::LogoutReason>(),
            schema::<groups::ProviderKind>(),
            schema::<groups::GroupAction>(),
            schema::<groups::Refusal>(),
            schema::<groups::GroupSetting>(),
            schema::<groups::MemberOp>(),
            schema::<groups::MemberChange>(),
            schema::<groups::MemberOutcome>(),
            schema::<groups::PerMember>(),
            schema::<groups::DecideRequests>(),
            schema::<groups::InviteLinkRequest>(),
            schema::<groups::InviteLink>(),
            schema::<groups::GroupMessage>(),
            schema::<groups::SentGroupMessage>(),
            schema::<groups::RevokeMessage>(),
            schema::<groups::LinkDevice>(),
            schema::<groups::NewGroup>(),
            schema::<groups::GroupCreation>(),
            schema::<groups::LinkedDevice>(),
            schema::<groups::PersonHit>(),
            schema::<groups::SyncReport>(),
            schema::<groups::BulkAction>(),
            schema::<groups::BulkRequest>(),
            schema::<groups::BulkItem>(),
            schema::<groups::BulkPlan>(),
            schema::<groups::Verdict>(),
            schema::<groups::ItemState>(),
            schema::<groups::JobState>(),
            schema::<groups::GroupJob>(),
            schema::<groups::GroupJobProgress>(),
        ])
        .security_scheme(
            "session",
            SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::with_description(
                crate::access::auth::SESSION_COOKIE,
                "Set by POST /api/v1/session. State-changing requests also need the header X-Requested-With: switchboard.",
            ))),
        )
        .build();
    OpenApiBuilder::new()
        .info(InfoBuilder::new().title("Switchboard relay API").version(env!("CARGO_PKG_VERSION")).description(Some(
            "The console's API. Every route lists the permission it needs; lists and the event stream are limited to the caller's numbers.",
        )))
        .servers(Some([ServerBuilder::new().url("/").build()]))
        .paths(paths.build())
        .components(Some(components))
        .build()
}

/// `GET /openapi.json`
pub async fn serve(State(state): State<AppState>) -> Json<OpenApi> {
    Json(document(&state))
}
