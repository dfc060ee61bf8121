//! Calls to the relay's `/api/v1`, with its error shape turned into something to show.

use crate::key;
use gloo_net::http::{Request, RequestBuilder, Response};
use leptos::prelude::Get;
use serde::de::DeserializeOwned;
use serde::Serialize;
use switchboard_shared::api::{ErrorBody, CSRF_HEADER, CSRF_VALUE};

/// Why a call failed.
#[derive(Debug, Clone, PartialEq)]
pub enum ApiError {
    /// Not signed in (or the session ended).
    Unauthorized,
    /// The relay said no, with its code and message.
    Refused { status: u16, code: String, message: String },
    /// The relay could not be reached.
    Network,
    /// Not sent: the browser found the input incomplete or wrong, and this says why.
    Invalid(crate::i18n::Key),
}

/// The error a non-2xx answer stands for, with the relay's code and message when it sent them.
async fn refusal(response: Response) -> ApiError {
    let status = response.status();
    if status == 401 {
        return ApiError::Unauthorized;
    }
    let body = response.json::<ErrorBody>().await.ok();
    ApiError::Refused {
        status,
        code: body.as_ref().map_or_else(|| "http".into(), |b| b.error.code.clone()),
        message: body.map_or_else(|| format!("HTTP {status}"), |b| b.error.message),
    }
}

/// An answer's JSON body, read as `T`. Only the last step depends on `T`: what reads the
/// answer is compiled once, not once per kind of answer.
async fn read<T: DeserializeOwned>(response: Result<Response, gloo_net::Error>) -> Result<T, ApiError> {
    let text = read_text(response).await?;
    serde_json::from_str(&text).map_err(bad_response)
}

async fn read_text(response: Result<Response, gloo_net::Error>) -> Result<String, ApiError> {
    let response = response.map_err(|_| ApiError::Network)?;
    match response.status() {
        200..=299 => response.text().await.map_err(|_| ApiError::Network),
        _ => Err(refusal(response).await),
    }
}

fn bad_response(e: serde_json::Error) -> ApiError {
    ApiError::Refused { status: 200, code: "bad_response".into(), message: e.to_string() }
}

fn changing(builder: RequestBuilder) -> RequestBuilder {
    builder.header(CSRF_HEADER, CSRF_VALUE)
}

pub async fn get<T: DeserializeOwned>(path: &str) -> Result<T, ApiError> {
    read(Request::get(path).send().await).await
}

pub async fn post<B: Serialize, T: DeserializeOwned>(path: &str, body: &B) -> Result<T, ApiError> {
    let request = changing(Request::post(path)).json(body).map_err(|_| ApiError::Network)?;
    read(request.send().await).await
}

fn builder(method: &str, path: &str) -> RequestBuilder {
    changing(match method {
        "DELETE" => Request::delete(path),
        "PATCH" => Request::patch(path),
        "PUT" => Request::put(path),
        _ => Request::post(path),
    })
}

/// A POST of plain text (a CSV file) with a JSON answer.
pub async fn send_text<T: DeserializeOwned>(path: &str, body: String) -> Result<T, ApiError> {
    let request =
        changing(Request::post(path)).header("content-type", "text/csv; charset=utf-8").body(body).map_err(|_| ApiError::Network)?;
    read(request.send().await).await
}

/// A PUT of a file's bytes as they are (a group photo) whose answer has no body.
pub async fn put_bytes(path: &str, content_type: &str, bytes: &[u8]) -> Result<(), ApiError> {
    let body = js_sys::Uint8Array::from(bytes);
    let request = builder("PUT", path).header("content-type", content_type).body(body).map_err(|_| ApiError::Network)?;
    read_empty(request.send().await).await
}

/// A POST of a file as it is (the browser streams it from disk; nothing is copied into the
/// page's memory) with a JSON answer.
pub async fn post_file<T: DeserializeOwned>(path: &str, file: &web_sys::Blob) -> Result<T, ApiError> {
    let content_type = file.type_();
    let request = changing(Request::post(path)).header("content-type", &content_type).body(file).map_err(|_| ApiError::Network)?;
    read(request.send().await).await
}

/// A state-changing call with a JSON body and a JSON answer (POST, PUT, PATCH, DELETE).
pub async fn send<B: Serialize, T: DeserializeOwned>(method: &str, path: &str, body: &B) -> Result<T, ApiError> {
    let request = builder(method, path).json(body).map_err(|_| ApiError::Network)?;
    read(request.send().await).await
}

async fn read_empty(response: Result<Response, gloo_net::Error>) -> Result<(), ApiError> {
    let response = response.map_err(|_| ApiError::Network)?;
    match response.status() {
        200..=299 => Ok(()),
        _ => Err(refusal(response).await),
    }
}

/// A state-changing call with a JSON body whose answer has no body.
pub async fn send_no_answer<B: Serialize>(method: &str, path: &str, body: &B) -> Result<(), ApiError> {
    let request = builder(method, path).json(body).map_err(|_| ApiError::Network)?;
    read_empty(request.send().await).await
}

/// A POST or DELETE without a body whose answer has no body.
pub async fn send_empty(method: &str, path: &str) -> Result<(), ApiError> {
    read_empty(builder(method, path).send().await).await
}

impl ApiError {
    /// What to show, in the reader's language: when the relay refused, its own message (which
    /// is English, and names the detail) for English readers, and the sentence for its error
    /// code for everyone else (its message only when the code is unknown here).
    pub fn text(&self, i18n: crate::i18n::I18n) -> String {
        match self {
            ApiError::Refused { code, message, .. } => match i18n.lang.get() {
                crate::i18n::Lang::En => message.clone(),
                _ => i18n.lookup(&format!("error.code.{code}")).unwrap_or_else(|| message.clone()),
            },
            ApiError::Network => i18n.t(key!("error.network")),
            ApiError::Unauthorized => i18n.t(key!("error.signed_out")),
            ApiError::Invalid(why) => i18n.t(*why),
        }
    }
}
