//! Slack's request signature: `v0=` + hex HMAC-SHA256 over `v0:{timestamp}:{raw
//! body}`, keyed by the signing secret, with the timestamp within five minutes of now
//! either way, compared in constant time.
//!
//! Written here on hmac/sha2/subtle rather than through slack-morphism's verifier
//! because that one reads the clock itself: taking `now` as a parameter is what lets
//! the official test vector (timestamp 1531420618) be checked against this code.

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use subtle::ConstantTimeEq;

use crate::config::Secret;

/// Slack's replay window, in seconds, either way.
pub const MAX_SKEW_SECONDS: i64 = 5 * 60;

#[derive(Clone)]
pub struct Verifier {
    secret: Option<Secret>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unverified {
    /// No signing secret is configured: every Slack request is refused.
    NoSecret,
    MissingHeaders,
    /// A timestamp that is not a number, or outside the window.
    Stale,
    BadSignature,
}

impl Verifier {
    pub fn new(secret: &Secret) -> Self {
        Self {
            secret: (!secret.is_empty()).then(|| secret.clone()),
        }
    }

    pub fn is_configured(&self) -> bool {
        self.secret.is_some()
    }

    pub fn verify(&self, headers: &HeaderMap, body: &[u8]) -> Result<(), Unverified> {
        // Exactly one of each: with two, which one a proxy or this code reads is a
        // guess, so a doubled header is refused like a missing one.
        let header = |name: &str| {
            let mut values = headers.get_all(name).iter();
            match (values.next(), values.next()) {
                (Some(value), None) => value.to_str().ok(),
                _ => None,
            }
        };
        let (Some(signature), Some(timestamp)) = (
            header("x-slack-signature"),
            header("x-slack-request-timestamp"),
        ) else {
            return Err(if self.secret.is_none() {
                Unverified::NoSecret
            } else {
                Unverified::MissingHeaders
            });
        };
        self.verify_at(signature, timestamp, body, chrono::Utc::now().timestamp())
    }

    /// Checks a signature as of `now` (Unix seconds).
    pub fn verify_at(
        &self,
        signature: &str,
        timestamp: &str,
        body: &[u8],
        now: i64,
    ) -> Result<(), Unverified> {
        let secret = self.secret.as_ref().ok_or(Unverified::NoSecret)?;
        // Plain decimal digits only (no sign, no spaces, at most 12 of them), compared
        // without arithmetic that could overflow: `i64::MIN`, `+1700000000` and an empty
        // header are all refused.
        if timestamp.is_empty()
            || timestamp.len() > 12
            || !timestamp.bytes().all(|b| b.is_ascii_digit())
        {
            return Err(Unverified::Stale);
        }
        let ts: i64 = timestamp.parse().map_err(|_| Unverified::Stale)?;
        if now.abs_diff(ts) > MAX_SKEW_SECONDS.unsigned_abs() {
            return Err(Unverified::Stale);
        }
        let expected = sign(secret.expose(), timestamp, body);
        if expected.as_bytes().ct_eq(signature.as_bytes()).into() {
            Ok(())
        } else {
            Err(Unverified::BadSignature)
        }
    }
}

/// The `x-slack-signature` Slack puts on `body` sent at `timestamp`: what the check
/// compares against, and what the shell signs its requests with.
pub fn sign(secret: &str, timestamp: &str, body: &[u8]) -> String {
    // HMAC takes a key of any length.
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(b"v0:");
    mac.update(timestamp.as_bytes());
    mac.update(b":");
    mac.update(body);
    format!("v0={}", hex::encode(mac.finalize().into_bytes()))
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
    fn the_official_vector_verifies_at_its_time_and_is_stale_now() {
        let body = BODY.trim_end_matches('\n').as_bytes();
        let v = Verifier::new(&Secret::new(SECRET));
        let ts = 1531420618;
        assert_eq!(v.verify_at(SIGNATURE, "1531420618", body, ts), Ok(()));
        assert_eq!(v.verify_at(SIGNATURE, "1531420618", body, ts + 300), Ok(()));
        assert_eq!(v.verify_at(SIGNATURE, "1531420618", body, ts - 300), Ok(()));
        assert_eq!(
            v.verify_at(SIGNATURE, "1531420618", body, ts + 301),
            Err(Unverified::Stale)
        );
        assert_eq!(
            v.verify_at(SIGNATURE, "1531420618", body, ts - 301),
            Err(Unverified::Stale)
        );
        // One bit off in the body, or one digit off in the signature, fails.
        let mut tampered = body.to_vec();
        tampered[10] ^= 1;
        assert_eq!(
            v.verify_at(SIGNATURE, "1531420618", &tampered, ts),
            Err(Unverified::BadSignature)
        );
        let wrong = SIGNATURE.replace("a2114", "a2115");
        assert_eq!(
            v.verify_at(&wrong, "1531420618", body, ts),
            Err(Unverified::BadSignature)
        );
        // Through the headers, today, the 2018 vector is stale.
        assert_eq!(
            v.verify(&headers(SIGNATURE, "1531420618"), body),
            Err(Unverified::Stale)
        );
    }

    fn sign(secret: &str, ts: &str, body: &str) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("v0:{ts}:{body}").as_bytes());
        format!("v0={}", hex::encode(mac.finalize().into_bytes()))
    }

    #[test]
    fn timestamps_at_the_edges_are_refused_without_overflow() {
        let v = Verifier::new(&Secret::new(SECRET));
        let body = b"text=hello";
        let now = 1_700_000_000_i64;
        for ts in [
            i64::MIN.to_string(),
            i64::MAX.to_string(),
            "+1700000000".to_string(),
            " 1700000000".to_string(),
            "1700000000 ".to_string(),
            "-1700000000".to_string(),
            String::new(),
            "1700000000.5".to_string(),
            "99999999999999999999999".to_string(),
        ] {
            let sig = sign(SECRET, &ts, "text=hello");
            assert_ne!(v.verify_at(&sig, &ts, body, now), Ok(()), "{ts:?}");
            // Nor does any `now` overflow, near either end.
            for at in [i64::MIN, i64::MAX, 0] {
                assert_ne!(v.verify_at(&sig, &ts, body, at), Ok(()), "{ts:?} at {at}");
            }
        }
        // The plain form of the same second passes.
        let ts = now.to_string();
        let sig = sign(SECRET, &ts, "text=hello");
        assert_eq!(v.verify_at(&sig, &ts, body, now), Ok(()));
    }

    #[test]
    fn doubled_headers_are_refused() {
        let v = Verifier::new(&Secret::new(SECRET));
        let ts = chrono::Utc::now().timestamp().to_string();
        let body = "text=hello";
        let good = sign(SECRET, &ts, body);
        let mut h = headers(&good, &ts);
        h.append("x-slack-signature", "v0=00".parse().unwrap());
        assert_eq!(
            v.verify(&h, body.as_bytes()),
            Err(Unverified::MissingHeaders)
        );
        let mut h = headers(&good, &ts);
        h.append("x-slack-request-timestamp", ts.parse().unwrap());
        assert_eq!(
            v.verify(&h, body.as_bytes()),
            Err(Unverified::MissingHeaders)
        );
    }

    proptest::proptest! {
        #[test]
        fn no_timestamp_or_clock_panics(ts in proptest::prelude::any::<i64>(), now in proptest::prelude::any::<i64>(), text in ".{0,24}") {
            let v = Verifier::new(&Secret::new(SECRET));
            let _ = v.verify_at("v0=00", &ts.to_string(), b"x", now);
            let _ = v.verify_at("v0=00", &text, b"x", now);
        }
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
