//! The `payload` field of an interaction's form body, decoded in one pass.
//!
//! Slack sends each click as `payload=` and about 10 KB of percent-encoded JSON.
//! Decoding that through serde_urlencoded takes three passes over it (`+` to space,
//! then `%XX`, then a UTF-8 check), each with its own buffer, and was the largest
//! single cost of acknowledging a tick (benches/README.md, Acknowledgements). This
//! reads the form the same way in one pass; a property test holds it to
//! serde_urlencoded's reading of any body.

/// The value of the form's `payload` field, decoded as `application/x-www-form-
/// urlencoded` is (`+` is a space, `%XX` a byte, a `%` without two hex digits itself,
/// and bytes that are not UTF-8 replaced by U+FFFD). `None` without a `payload`
/// field, or with two (a struct with a repeated field is refused by serde too).
pub fn payload(body: &[u8]) -> Option<String> {
    let mut found = None;
    for pair in body.split(|&b| b == b'&').filter(|pair| !pair.is_empty()) {
        let (key, value) = match pair.iter().position(|&b| b == b'=') {
            Some(at) => (&pair[..at], &pair[at + 1..]),
            None => (pair, &pair[pair.len()..]),
        };
        if decode(key) != "payload" {
            continue;
        }
        if found.is_some() {
            return None;
        }
        found = Some(decode(value));
    }
    found
}

fn decode(encoded: &[u8]) -> String {
    let mut bytes = Vec::with_capacity(encoded.len());
    let mut i = 0;
    while i < encoded.len() {
        // The plain run up to the next `%` or `+`, copied at once.
        let run = encoded[i..]
            .iter()
            .position(|&b| b == b'%' || b == b'+')
            .unwrap_or(encoded.len() - i);
        bytes.extend_from_slice(&encoded[i..i + run]);
        i += run;
        match encoded.get(i) {
            Some(b'+') => {
                bytes.push(b' ');
                i += 1;
            }
            Some(_) => match (hex(encoded.get(i + 1)), hex(encoded.get(i + 2))) {
                (Some(high), Some(low)) => {
                    bytes.push(high << 4 | low);
                    i += 3;
                }
                _ => {
                    bytes.push(b'%');
                    i += 1;
                }
            },
            None => {}
        }
    }
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

fn hex(digit: Option<&u8>) -> Option<u8> {
    match digit? {
        d @ b'0'..=b'9' => Some(d - b'0'),
        d @ b'a'..=b'f' => Some(d - b'a' + 10),
        d @ b'A'..=b'F' => Some(d - b'A' + 10),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// serde_urlencoded's reading, which this replaces on the tick path.
    fn reference(body: &[u8]) -> Option<String> {
        #[derive(serde::Deserialize)]
        struct Form {
            payload: String,
        }
        serde_urlencoded::from_bytes::<Form>(body)
            .ok()
            .map(|f| f.payload)
    }

    #[test]
    fn a_slack_click_reads_as_its_json() {
        let json = include_str!("../../tests/fixtures/block_actions.checkboxes.COMPOSED.json");
        let body = serde_urlencoded::to_string([("payload", json)]).unwrap();
        assert_eq!(payload(body.as_bytes()).as_deref(), Some(json));
    }

    #[test]
    fn escapes_pluses_and_broken_escapes_read_as_forms_do() {
        for body in [
            &b"payload=%7B%22a%22%3A+1%7D"[..],
            b"payload=100%",
            b"payload=%zz%4",
            b"payload=%E3%81%82",
            b"payload=%FF",
            b"other=1&payload=x&",
            b"pay%6Coad=x",
            b"payload",
            b"payload=a&payload=b",
            b"",
        ] {
            assert_eq!(
                payload(body),
                reference(body),
                "{}",
                String::from_utf8_lossy(body)
            );
        }
    }

    proptest! {
        #[test]
        fn any_body_reads_as_serde_urlencoded_reads_it(
            body in proptest::collection::vec(
                prop_oneof![
                    Just(b'%'), Just(b'+'), Just(b'&'), Just(b'='), Just(b'a'),
                    Just(b'F'), Just(b'3'), Just(b'0'), Just(b'z'), Just(0xE3), Just(0x81),
                    any::<u8>(),
                ],
                0..64,
            ),
            with_key in any::<bool>(),
        ) {
            let mut body = body;
            if with_key {
                body.splice(0..0, b"payload=".iter().copied());
            }
            prop_assert_eq!(payload(&body), reference(&body));
        }
    }
}
