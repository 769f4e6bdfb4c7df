//! Sending one message on one channel. Every send is bounded by a timeout, so a channel
//! that hangs costs one timeout per attempt and nothing more.

use crate::message::{self, IDEMPOTENCY_HEADER, SIGNATURE_HEADER};
use crate::{Channel, ChannelKind, NotifyError, SmtpTarget};
use earshot_domain::Alert;
use std::time::Duration;

/// How much of a refusing receiver's body is kept in the error.
const ERROR_BODY_BYTES: usize = 500;

/// Sends messages; one per process, shared by every channel.
#[derive(Debug, Clone)]
pub struct Sender {
    client: reqwest::Client,
    timeout: Duration,
}

impl Sender {
    /// A sender whose every attempt gives up after `timeout` (connecting included).
    /// The one timeout is [`Sender::send`]'s, around the whole attempt, so that every
    /// kind of channel reports it alike ([`NotifyError::Timeout`]).
    pub fn new(timeout: Duration) -> Result<Self, NotifyError> {
        let client = reqwest::Client::builder()
            .user_agent(concat!(
                "Earshot/",
                env!("CARGO_PKG_VERSION"),
                " (notifications)"
            ))
            .redirect(reqwest::redirect::Policy::none())
            .build()?;
        Ok(Self { client, timeout })
    }

    /// Sends one message carrying `alerts` (one, or a digest's several) on `channel`,
    /// with `idempotency_key` in it (the `Idempotency-Key` header for webhooks, the
    /// Message-ID for email). Succeeds only when the receiver accepted it (HTTP 2xx, or
    /// the mail server took it).
    pub async fn send(
        &self,
        channel: &Channel,
        alerts: &[Alert],
        idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        let digest = channel.digest.is_some();
        let attempt = async {
            match &channel.kind {
                ChannelKind::Webhook { url, secret } => {
                    let body =
                        serde_json::to_vec(&message::webhook_body(alerts, idempotency_key, digest))
                            .unwrap_or_default();
                    let signature = message::signature(secret.expose(), &body);
                    let request = self
                        .client
                        .post(url.clone())
                        .header(SIGNATURE_HEADER, signature)
                        .header(reqwest::header::CONTENT_TYPE, "application/json")
                        .body(body);
                    self.post(request, idempotency_key).await
                }
                ChannelKind::Slack { url } => {
                    let request = self
                        .client
                        .post(url.clone())
                        .json(&message::slack_body(alerts));
                    self.post(request, idempotency_key).await
                }
                ChannelKind::Email(target) => self.email(target, alerts, idempotency_key).await,
            }
        };
        tokio::time::timeout(self.timeout, attempt)
            .await
            .map_err(|_| NotifyError::Timeout(self.timeout))?
    }

    async fn post(
        &self,
        request: reqwest::RequestBuilder,
        idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        let mut response = request
            .header(IDEMPOTENCY_HEADER, idempotency_key)
            .send()
            .await?;
        let status = response.status();
        if status.is_success() {
            return Ok(());
        }
        let mut body = Vec::new();
        while body.len() < ERROR_BODY_BYTES {
            match response.chunk().await {
                Ok(Some(chunk)) => body.extend_from_slice(&chunk),
                _ => break,
            }
        }
        body.truncate(ERROR_BODY_BYTES);
        Err(NotifyError::Rejected {
            status: status.as_u16(),
            body: String::from_utf8_lossy(&body).trim().to_owned(),
        })
    }

    async fn email(
        &self,
        target: &SmtpTarget,
        alerts: &[Alert],
        idempotency_key: &str,
    ) -> Result<(), NotifyError> {
        use lettre::message::header::ContentType;
        use lettre::{AsyncSmtpTransport, AsyncTransport, Message, Tokio1Executor};
        let bad = |e: lettre::address::AddressError| NotifyError::Email(e.to_string());
        let mut builder = Message::builder()
            .from(target.from.parse().map_err(bad)?)
            .subject(message::subject(alerts))
            .message_id(Some(format!("<{idempotency_key}@earshot>")))
            .header(ContentType::TEXT_PLAIN);
        for to in &target.to {
            builder = builder.to(to.parse().map_err(bad)?);
        }
        let email = builder
            .body(message::text(alerts))
            .map_err(|e| NotifyError::Email(e.to_string()))?;
        let builder = if target.starttls {
            AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(target.host.as_str())?
        } else {
            AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(target.host.as_str())
        };
        let mut transport = builder.port(target.port).timeout(Some(self.timeout));
        if let (Some(user), Some(password)) = (&target.username, &target.password) {
            transport =
                transport.credentials(lettre::transport::smtp::authentication::Credentials::new(
                    user.clone(),
                    password.expose().to_owned(),
                ));
        }
        transport.build().send(email).await?;
        Ok(())
    }
}
