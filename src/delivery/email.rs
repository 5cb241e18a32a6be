//! E-mail through an SMTP relay (`lettre`, async on tokio, rustls): the verification mail
//! of a new recipient and alert mails with a plain-text and an HTML part, the snapshot
//! inline in the HTML (`multipart/alternative` → `multipart/related`). Every attempt of a
//! delivery carries the same `Message-ID` (`<delivery-<idempotency key>@visionflow>`), so a
//! mail sent twice after an unanswered attempt is recognisable as one.
//!
//! Verification links carry `<id>.<expiry>.<HMAC(id, e-mail, expiry)>` (base64url): no
//! token is stored, and a link stops working when the address changes or after 7 days.

use std::time::Duration;

use lettre::{
    AsyncSmtpTransport, AsyncTransport as _, Tokio1Executor,
    message::{Attachment, Mailbox, MultiPart, SinglePart, header::ContentType},
    transport::smtp::authentication::Credentials,
};
use secrecy::ExposeSecret as _;
use uuid::Uuid;

use super::{
    Message, SendError,
    settings::{SmtpSettings, SmtpTls},
};
use crate::{crypto::SecretBox, db::entities::email_recipient, media::html_escape};

/// How long a verification link works, seconds.
pub const VERIFY_TTL_SECS: i64 = 7 * 24 * 3600;

/// The SMTP transport and sender.
pub struct Mailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
}

impl Mailer {
    /// The configured relay, `None` without `smtp.host`.
    ///
    /// # Errors
    /// An invalid `smtp.from` or host.
    pub fn from_settings(s: &SmtpSettings) -> anyhow::Result<Option<Self>> {
        let Some(host) = s.host.as_deref().filter(|h| !h.trim().is_empty()) else {
            return Ok(None);
        };
        let from: Mailbox = s
            .from
            .parse()
            .map_err(|e| anyhow::anyhow!("smtp.from {:?}: {e}", s.from))?;
        let mut b = match s.tls {
            SmtpTls::None => AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host).port(25),
            SmtpTls::Starttls => AsyncSmtpTransport::<Tokio1Executor>::starttls_relay(host)?,
            SmtpTls::Tls => AsyncSmtpTransport::<Tokio1Executor>::relay(host)?,
        };
        if let Some(p) = s.port {
            b = b.port(p);
        }
        if let (Some(u), Some(p)) = (&s.username, &s.password) {
            b = b.credentials(Credentials::new(u.clone(), p.expose_secret().to_owned()));
        }
        b = b.timeout(Some(Duration::from_secs_f64(s.timeout_secs)));
        Ok(Some(Self {
            transport: b.build(),
            from,
        }))
    }

    fn to(r: &email_recipient::Model) -> Result<Mailbox, SendError> {
        let addr = r
            .email
            .parse()
            .map_err(|e| SendError::Permanent(format!("address {:?}: {e}", r.email)))?;
        Ok(Mailbox::new(r.name.clone(), addr))
    }

    async fn deliver(&self, m: lettre::Message) -> Result<(), SendError> {
        match self.transport.send(m).await {
            Ok(_) => Ok(()),
            Err(e) if e.is_permanent() => Err(SendError::Permanent(format!("SMTP: {e}"))),
            Err(e) => Err(SendError::retry(format!("SMTP: {e}"))),
        }
    }

    fn builder(&self, to: Mailbox, subject: &str, key: Uuid) -> lettre::message::MessageBuilder {
        lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(subject)
            .message_id(Some(format!("<delivery-{}@visionflow>", key.simple())))
    }

    /// Sends the verification mail with `link`.
    ///
    /// # Errors
    /// [`SendError`] by the relay's answer.
    pub async fn send_verification(
        &self,
        r: &email_recipient::Model,
        link: &str,
        key: Uuid,
    ) -> Result<(), SendError> {
        let text = format!(
            "請確認此信箱以接收 VisionFlow 通知 / Confirm this address to receive VisionFlow notifications:\n\n{link}\n\n此連結 7 天內有效 / The link works for 7 days."
        );
        let html = format!(
            "<p>請確認此信箱以接收 VisionFlow 通知 / Confirm this address to receive VisionFlow notifications:</p><p><a href=\"{l}\">{l}</a></p>",
            l = html_escape(link)
        );
        let m = self
            .builder(
                Self::to(r)?,
                "VisionFlow：請驗證您的電子郵件 / verify your e-mail",
                key,
            )
            .multipart(MultiPart::alternative_plain_html(text, html))
            .map_err(|e| SendError::Permanent(format!("mail: {e}")))?;
        self.deliver(m).await
    }

    /// Sends an alert, status or report mail; `image` (a JPEG) goes inline in the HTML.
    ///
    /// # Errors
    /// [`SendError`] by the relay's answer.
    pub async fn send_message(
        &self,
        r: &email_recipient::Model,
        msg: &Message,
        image: Option<Vec<u8>>,
        key: Uuid,
    ) -> Result<(), SendError> {
        let mut html = format!(
            "<h2>{}</h2><pre style=\"font-family:inherit\">{}</pre>",
            html_escape(&msg.subject),
            html_escape(&msg.text)
        );
        let body = if let Some(jpeg) = image {
            html.push_str(
                "<p><img src=\"cid:snapshot\" alt=\"snapshot\" style=\"max-width:100%\"></p>",
            );
            let name = msg
                .image_path
                .as_deref()
                .and_then(|p| p.rsplit('/').next())
                .unwrap_or("snapshot.jpg")
                .to_owned();
            MultiPart::alternative()
                .singlepart(SinglePart::plain(msg.text.clone()))
                .multipart(
                    MultiPart::related()
                        .singlepart(SinglePart::html(html))
                        .singlepart(
                            Attachment::new_inline_with_name("snapshot".into(), name)
                                .body(jpeg, ContentType::parse("image/jpeg").expect("valid")),
                        ),
                )
        } else {
            MultiPart::alternative_plain_html(msg.text.clone(), html)
        };
        let m = self
            .builder(Self::to(r)?, &msg.subject, key)
            .multipart(body)
            .map_err(|e| SendError::Permanent(format!("mail: {e}")))?;
        self.deliver(m).await
    }
}

fn token_message(id: i32, email: &str, exp: i64) -> String {
    format!("verify-recipient:{id}:{email}:{exp}")
}

/// The verification token of a recipient, valid for [`VERIFY_TTL_SECS`].
pub fn verification_token(secrets: &SecretBox, r: &email_recipient::Model) -> String {
    let exp = chrono::Utc::now().timestamp() + VERIFY_TTL_SECS;
    let sig = secrets.sign(&token_message(r.id, &r.email, exp));
    format!("{}.{exp}.{sig}", r.id)
}

/// The link a verification mail carries.
pub fn verification_link(secrets: &SecretBox, base: &str, r: &email_recipient::Model) -> String {
    format!(
        "{base}/email_recipients/verify?token={}",
        verification_token(secrets, r)
    )
}

/// The recipient id and expiry a token names (not yet checked against its e-mail).
pub fn parse_token(token: &str) -> Option<(i32, i64, &str)> {
    let mut it = token.trim().splitn(3, '.');
    let id = it.next()?.parse().ok()?;
    let exp = it.next()?.parse().ok()?;
    Some((id, exp, it.next()?))
}

/// Whether `token` verifies recipient `r` now.
pub fn token_valid(secrets: &SecretBox, token: &str, r: &email_recipient::Model) -> bool {
    parse_token(token).is_some_and(|(id, exp, sig)| {
        id == r.id
            && exp >= chrono::Utc::now().timestamp()
            && secrets.verify(&token_message(id, &r.email, exp), sig)
    })
}
