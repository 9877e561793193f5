//! Slack's request signature: v0 HMAC-SHA256 over `v0:{timestamp}:{raw body}`, within
//! five minutes either way, compared in constant time (slack-morphism's verifier does
//! the HMAC, the window and the comparison).

use axum::http::HeaderMap;
use slack_morphism::prelude::SlackSigningSecret;
use slack_morphism::signature_verifier::SlackEventSignatureVerifier;

use crate::config::Secret;

#[derive(Clone)]
pub struct Verifier {
    inner: Option<SlackEventSignatureVerifier>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// No signing secret is configured: every Slack request is refused.
    NoSecret,
    MissingHeaders,
    /// Wrong signature, or a timestamp outside the window.
    BadSignature,
}

impl Verifier {
    pub fn new(secret: &Secret) -> Self {
        Self {
            inner: (!secret.is_empty()).then(|| {
                SlackEventSignatureVerifier::new(&SlackSigningSecret::new(
                    secret.expose().to_string(),
                ))
            }),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.inner.is_some()
    }

    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Unverified> {
        let verifier = self.inner.as_ref().ok_or(Unverified::NoSecret)?;
        let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        let (Some(signature), Some(timestamp)) = (
            header(SlackEventSignatureVerifier::SLACK_SIGNED_HASH_HEADER),
            header(SlackEventSignatureVerifier::SLACK_SIGNED_TIMESTAMP),
        ) else {
            return Err(Unverified::MissingHeaders);
        };
        // Slack's bodies are form-encoded ASCII or JSON, so always UTF-8; anything else
        // cannot carry a valid signature.
        let body = std::str::from_utf8(body).map_err(|_| Unverified::BadSignature)?;
        verifier
            .verify(signature, body, timestamp)
            .map_err(|_| Unverified::BadSignature)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "8f742231b10e8888abcd99yyyzzz85a5";
    const BODY: &str = include_str!("../../tests/fixtures/slash_command.signing_vector.form.txt");
    const SIGNATURE: &str = "v0=a2114d57b48eac39b9ad189dd8316235a7b4a8d21a10bd27519666489c69b503";

    fn headers(signature: &str, timestamp: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert("X-Slack-Signature", signature.parse().unwrap());
        h.insert("x-slack-request-timestamp", timestamp.parse().unwrap());
        h
    }

    #[test]
    fn the_official_vector_is_signed_correctly_but_now_too_old() {
        let body = BODY.trim_end_matches('\n');
        let v = Verifier::new(&Secret::new(SECRET));
        // The vector's timestamp is from 2018: right signature, refused for its age.
        assert_eq!(
            v.verify(&headers(SIGNATURE, "1531420618"), body.as_bytes()),
            Err(Unverified::BadSignature)
        );
        // The HMAC itself matches the vector (checked independently of the window).
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(SECRET.as_bytes()).unwrap();
        mac.update(format!("v0:1531420618:{body}").as_bytes());
        assert_eq!(
            format!("v0={}", hex::encode(mac.finalize().into_bytes())),
            SIGNATURE
        );
    }

    fn sign(secret: &str, ts: &str, body: &str) -> String {
        use hmac::{Hmac, Mac};
        let mut mac = Hmac::<sha2::Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn fresh_signatures_pass_and_anything_else_fails() {
        let v = Verifier::new(&Secret::new(SECRET));
        let now = chrono::Utc::now().timestamp();
        let ts = now.to_string();
        let body = "text=hello";
        assert_eq!(
            v.verify(&headers(&sign(SECRET, &ts, body), &ts), body.as_bytes()),
            Ok(())
        );
        // Tampered body, wrong secret, stale or future timestamp, missing headers.
        assert!(
            v.verify(&headers(&sign(SECRET, &ts, body), &ts), b"text=hellO")
                .is_err()
        );
        assert!(
            v.verify(&headers(&sign("other", &ts, body), &ts), body.as_bytes())
                .is_err()
        );
        for skew in [-301, 301] {
            let t = (now + skew).to_string();
            assert!(
                v.verify(&headers(&sign(SECRET, &t, body), &t), body.as_bytes())
                    .is_err(),
                "{skew}"
            );
        }
        for skew in [-290, 290] {
            let t = (now + skew).to_string();
            assert!(
                v.verify(&headers(&sign(SECRET, &t, body), &t), body.as_bytes())
                    .is_ok(),
                "{skew}"
            );
        }
        assert_eq!(
            v.verify(&HeaderMap::new(), body.as_bytes()),
            Err(Unverified::MissingHeaders)
        );
        assert_eq!(
            Verifier::new(&Secret::default()).verify(&headers("v0=00", &ts), body.as_bytes()),
            Err(Unverified::NoSecret)
        );
    }
}
