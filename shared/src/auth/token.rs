//! Splitting a compact JWS (`header.payload.signature`) and decoding its parts. Nothing here is
//! trusted yet: the header only says which key to try, and the payload is read after the
//! signature has been checked.

use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::Deserialize;
use serde_json::Value;

use super::{AuthError, Claims};

/// Far above any real Supabase token (a few KB with metadata), low enough that decoding an
/// attacker's header cannot cost much.
pub const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// A token's header, unverified: it only says which key to try.
#[derive(Debug, Deserialize)]
pub struct Header {
    pub alg: String,
    #[serde(default)]
    pub kid: Option<String>,
    /// Critical extensions must be understood or the token refused (RFC 7515 4.1.11); this
    /// module understands none.
    #[serde(default)]
    crit: Option<Value>,
}

pub(super) struct CompactToken<'a> {
    pub header: Header,
    /// `base64url(header) . base64url(payload)`, the bytes the signature covers.
    pub signing_input: &'a str,
    pub signature: &'a str,
    payload: &'a str,
}

pub(super) fn parse(token: &str) -> Result<CompactToken<'_>, AuthError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(AuthError::MalformedToken(
            "the token is longer than any access token this project issues",
        ));
    }
    let (signing_input, signature) = token.rsplit_once('.').ok_or(AuthError::MalformedToken(
        "a JWT has three dot-separated parts",
    ))?;
    let (header, payload) = signing_input
        .split_once('.')
        .filter(|(_, payload)| !payload.contains('.'))
        .ok_or(AuthError::MalformedToken(
            "a JWT has three dot-separated parts",
        ))?;
    let header_json = URL_SAFE_NO_PAD
        .decode(header)
        .map_err(|_| AuthError::MalformedToken("the header is not base64url"))?;
    // RFC 7515 5.2: the header is UTF-8 JSON. serde_json skips the members `Header` does not
    // read without checking their bytes, so the text is checked first.
    let header: Header = std::str::from_utf8(&header_json)
        .ok()
        .and_then(|text| serde_json::from_str(text).ok())
        .ok_or(AuthError::MalformedToken(
            "the header is not a JSON object with an `alg`",
        ))?;
    if header.crit.is_some() {
        return Err(AuthError::MalformedToken(
            "the header lists critical extensions this project does not support",
        ));
    }
    Ok(CompactToken {
        header,
        signing_input,
        signature,
        payload,
    })
}

/// The header of `token` (checked for shape, size and `crit` like any token here), before any
/// signature is verified: for choosing which keys to verify it with.
pub fn header_of(token: &str) -> Result<Header, AuthError> {
    parse(token).map(|token| token.header)
}

impl CompactToken<'_> {
    /// The claims; call only after the signature has been verified.
    pub fn claims(&self) -> Result<Claims, AuthError> {
        let json = URL_SAFE_NO_PAD
            .decode(self.payload)
            .map_err(|_| AuthError::MalformedToken("the payload is not base64url"))?;
        serde_json::from_slice(&json).map_err(|_| {
            AuthError::MalformedToken(
                "the payload is not a JSON object of claims with a whole-number `exp`",
            )
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encode(json: &str) -> String {
        URL_SAFE_NO_PAD.encode(json)
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn splits_a_compact_token() {
        let token = format!(
            "{}.{}.c2ln",
            encode(r#"{"alg":"HS256","kid":"k1"}"#),
            encode(r#"{"exp":5}"#)
        );
        let parsed = parse(&token).unwrap();
        assert_eq!(parsed.header.alg, "HS256");
        assert_eq!(parsed.header.kid.as_deref(), Some("k1"));
        assert_eq!(parsed.signature, "c2ln");
        assert_eq!(parsed.signing_input, &token[..token.len() - 5]);
        assert_eq!(parsed.claims().unwrap().exp, 5);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn refuses_wrong_shapes_without_echoing_them() {
        let header = encode(r#"{"alg":"HS256"}"#);
        let body = encode(r#"{"exp":5}"#);
        let cases = [
            "secret-looking-garbage".to_string(),
            format!("{header}.{body}"),
            format!("{header}.{body}.sig.extra"),
            format!("%%%.{body}.sig"),
            format!("{}.{body}.sig", encode("not json")),
            format!(
                "{}.{body}.sig",
                encode(r#"{"alg":"HS256","crit":["b64"],"b64":false}"#)
            ),
            format!("{header}.{body}.{}", "A".repeat(MAX_TOKEN_BYTES)),
        ];
        for token in cases {
            let error = parse(&token).err().expect("token must be refused");
            assert!(matches!(error, AuthError::MalformedToken(_)), "{error:?}");
            assert!(!error.to_string().contains("secret-looking-garbage"));
        }
    }

    /// Found by the `jwt_claims` fuzz target (fuzz/corpus/jwt_claims/regression-header-not-utf8):
    /// a signed token whose header had bytes that are not UTF-8, in a member nothing reads, was
    /// accepted, though RFC 7515 5.2 refuses it and the same bytes in the claims were refused.
    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_header_that_is_not_utf8_is_malformed() {
        let header = URL_SAFE_NO_PAD.encode(b"{\"typ\":\"JWT\xff\xff\xff\xff\",\"alg\":\"HS256\"}");
        let token = format!("{header}.{}.sig", encode(r#"{"exp":5}"#));
        assert!(matches!(parse(&token), Err(AuthError::MalformedToken(_))));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn claims_without_exp_are_malformed() {
        let token = format!(
            "{}.{}.sig",
            encode(r#"{"alg":"HS256"}"#),
            encode(r#"{"sub":"u"}"#)
        );
        assert!(matches!(
            parse(&token).unwrap().claims(),
            Err(AuthError::MalformedToken(_))
        ));
    }
}
