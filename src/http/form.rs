//! The `payload` field of an interaction's form body, decoded in one pass.
//!
//! Slack sends each click as `payload=` and 8 to 13 KB of percent-encoded JSON, about
//! a fifth of whose bytes start a `%XX` escape. serde_urlencoded decodes it in three
//! passes (`+` to space, then `%XX` one byte at a time through an iterator, then a
//! UTF-8 check), each with its own buffer: a fifth of acknowledging a click in the
//! profile (benches/README.md, Acknowledgements). This reads the form the same way
//! into one buffer sized up front, about half that; a property test holds it to
//! serde_urlencoded's reading of any body.

/// The value of the form's `payload` field, decoded as `application/x-www-form-
/// urlencoded` is (`+` is a space, `%XX` a byte, a `%` without two hex digits itself,
/// and bytes that are not UTF-8 replaced by U+FFFD). `None` without a `payload`
/// field, or with two (a struct with a repeated field is refused by serde too).
pub fn payload(body: &[u8]) -> Option<String> {
    let mut found = None;
    let mut rest = Some(body);
    while let Some(text) = rest {
        // The payload's own `&`s are escaped, so its pair is most of the body: the
        // separator is looked for a vector at a time, not byte by byte.
        let (pair, after) = match memchr::memchr(b'&', text) {
            Some(at) => (&text[..at], Some(&text[at + 1..])),
            None => (text, None),
        };
        rest = after;
        if pair.is_empty() {
            continue;
        }
        let (key, value) = match memchr::memchr(b'=', pair) {
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
    // Decoding never lengthens, so one buffer of the encoded length holds it, written
    // by index: the escapes come every few bytes, too often for copying plain runs
    // (or pushing byte by byte) to pay.
    let mut bytes = vec![0u8; encoded.len()];
    let mut written = 0;
    let mut i = 0;
    while i < encoded.len() {
        let mut byte = encoded[i];
        i += 1;
        if byte == b'+' {
            byte = b' ';
        } else if byte == b'%'
            && let (Some(&high), Some(&low)) = (encoded.get(i), encoded.get(i + 1))
        {
            let (high, low) = (HEX[usize::from(high)], HEX[usize::from(low)]);
            if high < 16 && low < 16 {
                byte = high << 4 | low;
                i += 2;
            }
        }
        bytes[written] = byte;
        written += 1;
    }
    bytes.truncate(written);
    String::from_utf8(bytes).unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned())
}

/// Each byte's value as a hex digit, or `NOT_HEX`.
static HEX: [u8; 256] = {
    let mut table = [NOT_HEX; 256];
    let mut digit = 0;
    while digit < 16 {
        table[b"0123456789abcdef"[digit] as usize] = digit as u8;
        table[b"0123456789ABCDEF"[digit] as usize] = digit as u8;
        digit += 1;
    }
    table
};
const NOT_HEX: u8 = 0xff;

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
            b"payload=%",
            b"payload=%%41+%4",
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
