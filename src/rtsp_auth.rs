//! RTSP credentials of a camera (devices-api-v1.zh-TW.txt "RTSP 認證方式(二擇一)": Basic
//! `rtspUsername` + `rtspPassword`, or a Bearer `rtspToken`), stored sealed in
//! `cameras.rtsp_auth` ([`SecretBox`], like the LINE tokens) and never answered. The
//! devices group writes them; the capture workers and the RTSP probe read them.

use serde::{Deserialize, Serialize};

use crate::crypto::SecretBox;

/// One of the two RTSP authentication methods.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum RtspAuth {
    /// Basic (or Digest, when the server asks) with a user name and password.
    Basic {
        /// User name.
        username: String,
        /// Password.
        password: String,
    },
    /// `Authorization: Bearer <token>`.
    Bearer {
        /// The token.
        token: String,
    },
}

impl std::fmt::Debug for RtspAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Basic { username, .. } => write!(f, "Basic({username}, <redacted>)"),
            Self::Bearer { .. } => f.write_str("Bearer(<redacted>)"),
        }
    }
}

impl RtspAuth {
    /// The sealed JSON stored in `cameras.rtsp_auth`.
    pub fn seal(&self, secrets: &SecretBox) -> String {
        let plain = serde_json::to_string(self).unwrap_or_default();
        secrets.seal(&plain)
    }

    /// Opens a stored value; `None` when absent or unreadable (another key, altered), which
    /// is logged.
    pub fn open(sealed: Option<&str>, secrets: &SecretBox) -> Option<Self> {
        let sealed = sealed?;
        match secrets
            .open(sealed)
            .map_err(|e| e.to_string())
            .and_then(|p| serde_json::from_str(&p).map_err(|e| e.to_string()))
        {
            Ok(a) => Some(a),
            Err(e) => {
                tracing::warn!("stored RTSP credentials do not open: {e}");
                None
            }
        }
    }

    /// The URL a capture worker opens: Basic credentials go into the userinfo (FFmpeg
    /// answers Basic and Digest challenges with them); a Bearer token cannot be given to
    /// FFmpeg's RTSP client, so the URL stays as is. An unparsable URL is returned as is.
    pub fn connect_url(auth: Option<&Self>, url: &str) -> String {
        let Some(Self::Basic { username, password }) = auth else {
            return url.to_owned();
        };
        let Ok(mut u) = url::Url::parse(url) else {
            return url.to_owned();
        };
        if u.set_username(username).is_err() || u.set_password(Some(password)).is_err() {
            return url.to_owned();
        }
        u.into()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn credentials_seal_open_and_go_into_the_connect_url_only() {
        let secrets = SecretBox::new(&[7; 32]);
        let basic = RtspAuth::Basic {
            username: "admin".into(),
            password: "p@ss:word".into(),
        };
        let sealed = basic.seal(&secrets);
        assert!(!sealed.contains("admin") && !sealed.contains("word"));
        assert_eq!(RtspAuth::open(Some(&sealed), &secrets), Some(basic.clone()));
        assert_eq!(
            RtspAuth::open(Some(&sealed), &SecretBox::new(&[8; 32])),
            None
        );
        assert_eq!(
            RtspAuth::connect_url(Some(&basic), "rtsp://127.0.0.1:8554/gate"),
            "rtsp://admin:p%40ss%3Aword@127.0.0.1:8554/gate"
        );
        let bearer = RtspAuth::Bearer {
            token: "t0k".into(),
        };
        let sealed = bearer.seal(&secrets);
        assert_eq!(
            RtspAuth::open(Some(&sealed), &secrets),
            Some(bearer.clone())
        );
        assert_eq!(
            RtspAuth::connect_url(Some(&bearer), "rtsp://127.0.0.1/a"),
            "rtsp://127.0.0.1/a"
        );
        assert_eq!(format!("{basic:?}"), "Basic(admin, <redacted>)");
    }
}
