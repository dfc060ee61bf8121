//! The Cloud API client. Base URL and version are configuration, so the same client talks to
//! Meta and to the sandbox.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use serde::Serialize;
use switchboard_shared::wire::{GraphErrorResponse, GraphList, MediaInfo, MediaUploaded, PhoneNumberInfo, SendResponse, TemplateInfo};

/// How long connecting to the Graph API may take (the whole request has `graph_timeout`).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a Graph call did not succeed.
#[derive(Debug, thiserror::Error)]
pub enum CloudError {
    /// Meta answered with its error shape.
    #[error("Graph API error {code}: {title}", code = .error.error.code.unwrap_or_default(), title = .error.title())]
    Graph { status: u16, error: GraphErrorResponse },
    /// The request never reached Meta: nothing was sent.
    #[error("could not connect: {0}")]
    Connect(String),
    /// The request may have reached Meta but no answer came back: the outcome is unknown.
    #[error("no answer: {0}")]
    NoAnswer(String),
    /// Meta answered something we could not read.
    #[error("unreadable answer ({status}): {message}")]
    Decode { status: u16, message: String },
}

impl CloudError {
    /// Meta's error code, if Meta gave one.
    pub fn code(&self) -> Option<i64> {
        match self {
            CloudError::Graph { error, .. } => error.error.code,
            _ => None,
        }
    }
}

#[derive(Clone)]
pub struct CloudClient {
    http: reqwest::Client,
    base_url: String,
    version: String,
}

impl CloudClient {
    /// `timeout` bounds a whole request: past it, a send's outcome is unknown.
    pub fn new(base_url: &str, version: &str, timeout: Duration) -> anyhow::Result<Self> {
        let http = reqwest::Client::builder()
            .timeout(timeout)
            .connect_timeout(CONNECT_TIMEOUT)
            .pool_max_idle_per_host(256)
            .user_agent(concat!("switchboard/", env!("CARGO_PKG_VERSION")))
            .build()?;
        Ok(CloudClient { http, base_url: base_url.trim_end_matches('/').to_owned(), version: version.to_owned() })
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{}", self.base_url, self.version, path)
    }

    async fn read<T: DeserializeOwned>(result: reqwest::Result<reqwest::Response>) -> Result<T, CloudError> {
        let response =
            result.map_err(|e| if e.is_connect() { CloudError::Connect(e.to_string()) } else { CloudError::NoAnswer(e.to_string()) })?;
        let status = response.status().as_u16();
        let bytes = response.bytes().await.map_err(|e| CloudError::NoAnswer(e.to_string()))?;
        if (200..300).contains(&status) {
            serde_json::from_slice(&bytes).map_err(|e| CloudError::Decode { status, message: e.to_string() })
        } else {
            match serde_json::from_slice::<GraphErrorResponse>(&bytes) {
                Ok(error) => Err(CloudError::Graph { status, error }),
                Err(_) => Err(CloudError::Decode { status, message: String::from_utf8_lossy(&bytes).chars().take(200).collect() }),
            }
        }
    }

    /// `POST /{phone-number-id}/messages` with any body (a send or a mark-as-read).
    pub async fn post_messages<B: Serialize, T: DeserializeOwned>(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        body: &B,
    ) -> Result<T, CloudError> {
        let request =
            self.http.post(self.url(&format!("{phone_number_id}/messages"))).bearer_auth(token.expose_secret()).json(body).send().await;
        Self::read(request).await
    }

    /// Sends a message whose request is already JSON (the outbox's stored body, spliced with its
    /// key): no parsing and re-serialising on the way out.
    pub async fn send_json(&self, phone_number_id: &str, token: &SecretString, body: String) -> Result<SendResponse, CloudError> {
        let request = self
            .http
            .post(self.url(&format!("{phone_number_id}/messages")))
            .bearer_auth(token.expose_secret())
            .header(reqwest::header::CONTENT_TYPE, "application/json")
            .body(body)
            .send()
            .await;
        Self::read(request).await
    }

    /// Any Graph call with a JSON body (or none): the group endpoints use GET, POST and DELETE
    /// on `/{id}`, `/{id}/participants`, `/{id}/join_requests` and `/{id}/invite_link`.
    pub async fn call<T: DeserializeOwned>(
        &self,
        method: reqwest::Method,
        path: &str,
        query: &[(&str, &str)],
        token: &SecretString,
        body: Option<&serde_json::Value>,
    ) -> Result<T, CloudError> {
        let mut request = self.http.request(method, self.url(path)).query(query).bearer_auth(token.expose_secret());
        if let Some(body) = body {
            request = request.json(body);
        }
        Self::read(request.send().await).await
    }

    /// `POST /{path}` with a file, as `multipart/form-data` (`messaging_product=whatsapp` and the
    /// file in `field`): a group photo, and later media.
    pub async fn post_file<T: DeserializeOwned>(
        &self,
        path: &str,
        token: &SecretString,
        field: &'static str,
        file_name: &'static str,
        mime: &str,
        bytes: Vec<u8>,
    ) -> Result<T, CloudError> {
        let part =
            reqwest::multipart::Part::bytes(bytes).file_name(file_name).mime_str(mime).map_err(|e| CloudError::Connect(e.to_string()))?;
        let form = reqwest::multipart::Form::new().text("messaging_product", "whatsapp").part(field, part);
        Self::read(self.http.post(self.url(path)).bearer_auth(token.expose_secret()).multipart(form).send().await).await
    }

    /// `POST /{phone-number-id}/media`: uploads a file to send by its id (multipart, as Meta's
    /// example: `messaging_product`, `type` and the file with its name and type).
    pub async fn upload_media(
        &self,
        phone_number_id: &str,
        token: &SecretString,
        file_name: &str,
        mime: &str,
        bytes: bytes::Bytes,
    ) -> Result<MediaUploaded, CloudError> {
        let length = bytes.len() as u64;
        let part = reqwest::multipart::Part::stream_with_length(reqwest::Body::from(bytes), length)
            .file_name(file_name.to_owned())
            .mime_str(mime)
            .map_err(|e| CloudError::Connect(e.to_string()))?;
        let form = reqwest::multipart::Form::new().text("messaging_product", "whatsapp").text("type", mime.to_owned()).part("file", part);
        let request =
            self.http.post(self.url(&format!("{phone_number_id}/media"))).bearer_auth(token.expose_secret()).multipart(form).send().await;
        Self::read(request).await
    }

    /// `GET /{media-id}?phone_number_id=`: a file's download address (valid five minutes),
    /// type, size and hash.
    pub async fn media_info(&self, media_id: &str, phone_number_id: &str, token: &SecretString) -> Result<MediaInfo, CloudError> {
        let request = self
            .http
            .get(self.url(media_id))
            .query(&[("phone_number_id", phone_number_id)])
            .bearer_auth(token.expose_secret())
            .send()
            .await;
        Self::read(request).await
    }

    /// Downloads a file from the address [`media_info`](Self::media_info) gave, with the token,
    /// reading no more than `cap` bytes (`Ok(None)` when it is larger).
    pub async fn download(&self, url: &str, token: &SecretString, cap: u64) -> Result<Option<Vec<u8>>, CloudError> {
        let mut response = self.http.get(url).bearer_auth(token.expose_secret()).send().await.map_err(|e| {
            if e.is_connect() {
                CloudError::Connect(e.to_string())
            } else {
                CloudError::NoAnswer(e.to_string())
            }
        })?;
        let status = response.status().as_u16();
        if !(200..300).contains(&status) {
            // Meta's error shape if it gave one (a 404 means: ask for a fresh address).
            let error = Self::read::<serde_json::Value>(Ok(response)).await.err();
            return Err(error.unwrap_or(CloudError::Decode { status, message: "the download failed".into() }));
        }
        if response.content_length().is_some_and(|n| n > cap) {
            return Ok(None);
        }
        let mut bytes = Vec::new();
        while let Some(chunk) = response.chunk().await.map_err(|e| CloudError::NoAnswer(e.to_string()))? {
            if (bytes.len() + chunk.len()) as u64 > cap {
                return Ok(None);
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(Some(bytes))
    }

    /// `GET /{phone-number-id}`: display number, name, quality, throughput, messaging limit.
    pub async fn phone_number(&self, phone_number_id: &str, token: &SecretString) -> Result<PhoneNumberInfo, CloudError> {
        let fields = "id,display_phone_number,verified_name,quality_rating,code_verification_status,platform_type,throughput,status,whatsapp_business_manager_messaging_limit";
        let request = self.http.get(self.url(phone_number_id)).query(&[("fields", fields)]).bearer_auth(token.expose_secret()).send().await;
        Self::read(request).await
    }

    /// `GET /{waba-id}/phone_numbers`.
    pub async fn phone_numbers(&self, waba_id: &str, token: &SecretString) -> Result<Vec<PhoneNumberInfo>, CloudError> {
        let request = self.http.get(self.url(&format!("{waba_id}/phone_numbers"))).bearer_auth(token.expose_secret()).send().await;
        Self::read::<GraphList<PhoneNumberInfo>>(request).await.map(|l| l.data)
    }

    /// `GET /{waba-id}/message_templates`.
    pub async fn templates(&self, waba_id: &str, token: &SecretString) -> Result<Vec<TemplateInfo>, CloudError> {
        let request = self
            .http
            .get(self.url(&format!("{waba_id}/message_templates")))
            .query(&[("fields", "id,name,language,status,category,components"), ("limit", "250")])
            .bearer_auth(token.expose_secret())
            .send()
            .await;
        Self::read::<GraphList<TemplateInfo>>(request).await.map(|l| l.data)
    }
}
