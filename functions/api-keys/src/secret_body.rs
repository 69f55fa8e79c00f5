//! The body of `PUT /api-keys/{service}`, `{"key": "..."}`, read so that no copy of the
//! plaintext key is left behind in freed Wasm memory, where any later bug that reads stale
//! memory (or a heap dump) would find it.
//!
//! Three copies would otherwise outlive the request: the buffer the body is collected in
//! (and, as it grows, each smaller buffer it was moved out of), the chunks the body stream
//! hands over, and the `String` (plus, for a key written with JSON escapes, the parser's
//! scratch buffer) that decoding produces. Here the body goes into one [`SecretBuffer`] of
//! fixed capacity that never reallocates and is wiped on drop, each chunk is wiped once
//! copied, and the key is decoded by [`key_from_body`]: serde_json only checks the body's
//! shape and hands back the key's JSON text in place ([`RawValue`]), and [`unescape`] writes
//! the key into a wiped string sized up front.
//!
//! What is out of reach from Wasm: the copies the Workers runtime keeps on the JavaScript side
//! of the request, and values that pass through the stack.

use futures_util::StreamExt;
use serde::Deserialize;
use serde_json::value::RawValue;
use shared::error::ApiError;
use shared::http::{self, RequestContext};
use worker::Request;
use zeroize::Zeroizing;

/// Largest store body accepted. The longest key any service takes is 512 characters; written
/// entirely as `\uXXXX` escapes that is 3 KiB, so 8 KiB leaves room for whitespace.
pub const MAX_STORE_BODY_BYTES: usize = 8 * 1024;

/// Bytes of a request body, in a buffer allocated once at its final capacity and wiped, spare
/// capacity included, when dropped.
pub struct SecretBuffer {
    bytes: Zeroizing<Vec<u8>>,
}

/// The body does not fit in the buffer's capacity.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BodyTooLarge;

impl SecretBuffer {
    pub fn with_capacity(capacity: usize) -> SecretBuffer {
        SecretBuffer {
            bytes: Zeroizing::new(Vec::with_capacity(capacity)),
        }
    }

    /// Appends `chunk`, refusing it rather than growing: growth would move the bytes and free
    /// the old allocation unwiped.
    pub fn push(&mut self, chunk: &[u8]) -> Result<(), BodyTooLarge> {
        if self.bytes.capacity() - self.bytes.len() < chunk.len() {
            return Err(BodyTooLarge);
        }
        self.bytes.extend_from_slice(chunk);
        Ok(())
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes
    }
}

/// Reads the store body: 415 unless JSON, 413 past [`MAX_STORE_BODY_BYTES`] (or the server's
/// smaller `MAX_BODY_BYTES`), 400 when it cannot be read.
pub async fn read(req: &mut Request, context: &RequestContext) -> Result<SecretBuffer, ApiError> {
    let limit = context.config()?.max_body_bytes.min(MAX_STORE_BODY_BYTES);
    if !http::is_json_content_type(http::header(req, "content-type").as_deref()) {
        return Err(ApiError::unsupported_media_type("application/json"));
    }
    if let Some(length) = http::header(req, "content-length") {
        if length
            .trim()
            .parse::<u64>()
            .map_or(true, |length| length > limit as u64)
        {
            return Err(ApiError::payload_too_large(limit));
        }
    }
    let mut buffer = SecretBuffer::with_capacity(limit);
    let Ok(mut stream) = req.stream() else {
        return Ok(buffer);
    };
    while let Some(chunk) = stream.next().await {
        let chunk = Zeroizing::new(chunk.map_err(|_| {
            ApiError::bad_request("invalid_body", "the request body could not be read")
        })?);
        buffer
            .push(&chunk)
            .map_err(|BodyTooLarge| ApiError::payload_too_large(limit))?;
    }
    Ok(buffer)
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct StoreKeyBody<'a> {
    #[serde(borrow)]
    key: &'a RawValue,
}

/// The key in a store body, decoded into a string that is wiped when dropped. Malformed JSON,
/// another shape or a key that is not a string is a 400; no message repeats the key.
pub fn key_from_body(body: &[u8]) -> Result<Zeroizing<String>, ApiError> {
    if body.iter().all(u8::is_ascii_whitespace) {
        return Err(ApiError::bad_request(
            "invalid_json",
            "the request body is empty; send a JSON object",
        ));
    }
    let parsed: StoreKeyBody<'_> = http::parse_json(body)?;
    unescape(parsed.key.get())
        .ok_or_else(|| ApiError::invalid_field("key", "key must be a JSON string"))
}

/// Decodes one JSON string literal (quotes included, as serde_json validated it) into a wiped
/// string with room for the whole result, so writing it never reallocates: decoding never
/// makes a literal longer. `None` when `literal` is not a string or holds an unpaired
/// surrogate escape.
pub fn unescape(literal: &str) -> Option<Zeroizing<String>> {
    let inner = literal.strip_prefix('"')?.strip_suffix('"')?;
    let mut decoded = Zeroizing::new(String::with_capacity(inner.len()));
    let mut characters = inner.chars();
    while let Some(character) = characters.next() {
        if character != '\\' {
            decoded.push(character);
            continue;
        }
        let escaped = match characters.next()? {
            '"' => '"',
            '\\' => '\\',
            '/' => '/',
            'b' => '\u{8}',
            'f' => '\u{c}',
            'n' => '\n',
            'r' => '\r',
            't' => '\t',
            'u' => {
                let unit = hex_unit(&mut characters)?;
                match unit {
                    0xD800..=0xDBFF => {
                        if characters.next()? != '\\' || characters.next()? != 'u' {
                            return None;
                        }
                        let low = hex_unit(&mut characters)?;
                        if !(0xDC00..=0xDFFF).contains(&low) {
                            return None;
                        }
                        char::from_u32(0x10000 + ((unit - 0xD800) << 10) + (low - 0xDC00))?
                    }
                    0xDC00..=0xDFFF => return None,
                    _ => char::from_u32(unit)?,
                }
            }
            _ => return None,
        };
        decoded.push(escaped);
    }
    Some(decoded)
}

fn hex_unit(characters: &mut std::str::Chars<'_>) -> Option<u32> {
    (0..4).try_fold(0u32, |unit, _| {
        Some(unit * 16 + characters.next()?.to_digit(16)?)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_key_is_read_plain_or_written_with_escapes() {
        let plain = key_from_body(br#"{"key":"sk-proj-abc/def"}"#).unwrap();
        assert_eq!(plain.as_str(), "sk-proj-abc/def");
        let escaped = key_from_body(br#" { "key" : "sk\u002dproj\u002Dabc\/def" } "#).unwrap();
        assert_eq!(escaped.as_str(), "sk-proj-abc/def");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_json_escape_decodes_as_serde_json_decodes_it() {
        let literal = r#""q\" b\\ s\/ \b\f\n\r\t \u00e9 \ud83d\ude00 plain é""#;
        let expected: String = serde_json::from_str(literal).unwrap();
        assert_eq!(unescape(literal).unwrap().as_str(), expected);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn decoding_never_needs_more_room_than_the_literal() {
        for literal in [
            r#""\ud83d\ude00""#,
            r#""\u00e9\u00e9""#,
            r#""ab""#,
            r#""\n""#,
        ] {
            let decoded = unescape(literal).unwrap();
            assert!(decoded.capacity() <= literal.len(), "{literal}");
            assert_eq!(
                decoded.capacity(),
                literal.len() - 2,
                "allocated once, up front: {literal}"
            );
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn lone_surrogates_and_non_strings_are_refused() {
        for literal in [
            r#""\ud83d""#,
            r#""\ude00x""#,
            r#""\ud83dx\ude00""#,
            "5",
            "null",
            r#"["a"]"#,
            r#""\q""#,
        ] {
            assert!(unescape(literal).is_none(), "{literal}");
        }
        let error = key_from_body(br#"{"key": 5}"#).unwrap_err();
        assert_eq!((error.status, error.code), (400, "invalid_field"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refusals_name_the_problem_and_never_the_key() {
        let secret = "sk-proj-do-not-echo-0123456789";
        for (body, code) in [
            (
                format!(r#"{{"key":"{secret}","role":"admin"}}"#),
                "invalid_body",
            ),
            (
                format!(r#"{{"key":"{secret}","key":"{secret}"}}"#),
                "invalid_body",
            ),
            (format!(r#"{{"key":"{secret}""#), "invalid_json"),
            (format!(r#"{{"secret":"{secret}"}}"#), "invalid_body"),
            ("   ".to_string(), "invalid_json"),
        ] {
            let error = key_from_body(body.as_bytes()).unwrap_err();
            assert_eq!((error.status, error.code), (400, code), "{body}");
            assert!(!error.body("r").to_string().contains(secret), "{body}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_buffer_refuses_to_grow() {
        let mut buffer = SecretBuffer::with_capacity(4);
        assert_eq!(buffer.push(b"ab"), Ok(()));
        assert_eq!(buffer.push(b"cd"), Ok(()));
        assert_eq!(buffer.push(b"e"), Err(BodyTooLarge));
        assert_eq!(buffer.as_bytes(), b"abcd");
    }
}
