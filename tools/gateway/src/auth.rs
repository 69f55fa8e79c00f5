//! JWT verification as PostgREST does it: an HS secret or a JWKS document, claim checks with
//! 30 seconds of clock skew, and the role taken from the configured claim path.

use base64::Engine;
use jsonwebtoken::jwk::{AlgorithmParameters, Jwk, JwkSet};
use jsonwebtoken::{Algorithm, DecodingKey, Validation};
use serde_json::{Map, Value};

use crate::error::ApiError;

const CLOCK_SKEW_SECS: i64 = 30;

/// Who the request acts as, after the Authorization header was checked.
#[derive(Debug, Clone)]
pub struct Identity {
    pub role: String,
    /// The verified claims, `{}` for anonymous requests.
    pub claims: Value,
    /// True when a valid JWT was presented (decides 401 versus 403 on 42501).
    pub authenticated: bool,
}

struct VerificationKey {
    kid: Option<String>,
    key: DecodingKey,
    algorithms: Vec<Algorithm>,
}

pub struct Verifier {
    keys: Vec<VerificationKey>,
    audience: Option<String>,
    role_claim_path: Vec<String>,
    anon_role: Option<String>,
}

impl Verifier {
    /// Builds the verifier from PGRST_JWT_SECRET: JSON means a JWKS (or one JWK), anything else
    /// is an HMAC secret (base64 when `secret_is_base64`).
    pub fn new(
        secret: Option<&str>,
        secret_is_base64: bool,
        audience: Option<String>,
        role_claim_path: Vec<String>,
        anon_role: Option<String>,
    ) -> Result<Verifier, String> {
        let keys = match secret {
            None => Vec::new(),
            Some(s) if s.trim_start().starts_with('{') => keys_from_jwks(s)?,
            Some(s) => {
                let bytes = if secret_is_base64 {
                    base64::engine::general_purpose::STANDARD
                        .decode(s)
                        .map_err(|e| format!("PGRST_JWT_SECRET is not valid base64: {e}"))?
                } else {
                    s.as_bytes().to_vec()
                };
                if bytes.len() < 32 {
                    return Err("PGRST_JWT_SECRET must be at least 32 characters long".into());
                }
                vec![VerificationKey {
                    kid: None,
                    key: DecodingKey::from_secret(&bytes),
                    algorithms: vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512],
                }]
            }
        };
        Ok(Verifier {
            keys,
            audience,
            role_claim_path,
            anon_role,
        })
    }

    /// Resolves the Authorization header (if any) into an identity or a PostgREST JWT error.
    pub fn identify(&self, authorization: Option<&str>) -> Result<Identity, ApiError> {
        let token = match authorization {
            None => None,
            Some(value) => {
                let value = value.trim();
                match value.split_once(' ') {
                    Some((scheme, rest)) if scheme.eq_ignore_ascii_case("bearer") => {
                        Some(rest.trim())
                    }
                    None if value.eq_ignore_ascii_case("bearer") => Some(""),
                    _ => None,
                }
            }
        };
        let Some(token) = token else {
            return match &self.anon_role {
                Some(role) => Ok(Identity {
                    role: role.clone(),
                    claims: with_role(Value::Object(Map::new()), role),
                    authenticated: false,
                }),
                None => Err(
                    ApiError::new(401, "PGRST302", "Anonymous access is disabled")
                        .with_header("WWW-Authenticate", "Bearer"),
                ),
            };
        };
        let claims = self.verify(token)?;
        let role = claim_at(&claims, &self.role_claim_path)
            .and_then(Value::as_str)
            .map(str::to_string)
            .or_else(|| self.anon_role.clone());
        let Some(role) = role else {
            return Err(
                ApiError::new(401, "PGRST302", "Anonymous access is disabled")
                    .with_header("WWW-Authenticate", "Bearer"),
            );
        };
        let claims = with_role(claims, &role);
        Ok(Identity {
            role,
            claims,
            authenticated: true,
        })
    }

    fn verify(&self, token: &str) -> Result<Value, ApiError> {
        if token.is_empty() {
            return Err(decode_error(
                "Empty JWT is sent in Authorization header",
                None,
            ));
        }
        let parts = token.split('.').count();
        if parts != 3 {
            return Err(decode_error(
                &format!("Expected 3 parts in JWT; got {parts}"),
                None,
            ));
        }
        if self.keys.is_empty() {
            return Err(ApiError::new(500, "PGRST300", "Server lacks JWT secret"));
        }
        let header = jsonwebtoken::decode_header(token).map_err(|_| {
            decode_error(
                "Wrong or unsupported encoding algorithm",
                Some("JWT header could not be decoded"),
            )
        })?;
        let candidates: Vec<&VerificationKey> = self
            .keys
            .iter()
            .filter(|k| k.algorithms.contains(&header.alg))
            .filter(|k| match (&header.kid, &k.kid) {
                (Some(wanted), Some(have)) => wanted == have,
                _ => true,
            })
            .collect();
        if candidates.is_empty() {
            return Err(decode_error(
                "No suitable key or wrong key type",
                Some(&format!(
                    "No key for algorithm {:?} matches the token",
                    header.alg
                )),
            ));
        }
        let mut validation = Validation::new(header.alg);
        validation.validate_exp = false;
        validation.validate_nbf = false;
        validation.validate_aud = false;
        validation.required_spec_claims.clear();
        for candidate in candidates {
            if let Ok(data) = jsonwebtoken::decode::<Value>(token, &candidate.key, &validation) {
                return self.check_claims(data.claims);
            }
        }
        Err(decode_error("JWT cryptographic operation failed", None))
    }

    fn check_claims(&self, claims: Value) -> Result<Value, ApiError> {
        let Value::Object(map) = &claims else {
            return Err(claims_error("Parsing claims failed"));
        };
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        let number = |name: &str, message: &str| -> Result<Option<f64>, ApiError> {
            match map.get(name) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::Number(n)) => Ok(n.as_f64()),
                Some(_) => Err(claims_error(message)),
            }
        };
        if let Some(exp) = number("exp", "The JWT 'exp' claim must be a number")? {
            if (now - CLOCK_SKEW_SECS) as f64 > exp {
                return Err(claims_error("JWT expired"));
            }
        }
        if let Some(nbf) = number("nbf", "The JWT 'nbf' claim must be a number")? {
            if ((now + CLOCK_SKEW_SECS) as f64) < nbf {
                return Err(claims_error("JWT not yet valid"));
            }
        }
        if let Some(iat) = number("iat", "The JWT 'iat' claim must be a number")? {
            if ((now + CLOCK_SKEW_SECS) as f64) < iat {
                return Err(claims_error("JWT issued at future"));
            }
        }
        if let Some(expected) = &self.audience {
            let matches = match map.get("aud") {
                None | Some(Value::Null) => true,
                Some(Value::String(a)) => a == expected,
                Some(Value::Array(list)) => {
                    if !list.iter().all(Value::is_string) {
                        return Err(claims_error(
                            "The JWT 'aud' claim must be a string or an array of strings",
                        ));
                    }
                    list.is_empty() || list.iter().any(|a| a.as_str() == Some(expected))
                }
                Some(_) => {
                    return Err(claims_error(
                        "The JWT 'aud' claim must be a string or an array of strings",
                    ))
                }
            };
            if !matches {
                return Err(claims_error("JWT not in audience"));
            }
        }
        Ok(claims)
    }
}

/// Like PostgREST, `request.jwt.claims` always carries the role the request runs as.
fn with_role(mut claims: Value, role: &str) -> Value {
    if let Value::Object(map) = &mut claims {
        map.insert("role".to_string(), Value::String(role.to_string()));
    }
    claims
}

fn claim_at<'a>(claims: &'a Value, path: &[String]) -> Option<&'a Value> {
    path.iter().try_fold(claims, |v, key| v.get(key))
}

fn www_authenticate(message: &str) -> String {
    format!(
        "Bearer error=\"invalid_token\", error_description={}",
        Value::String(message.to_string())
    )
}

fn decode_error(message: &str, details: Option<&str>) -> ApiError {
    let mut e = ApiError::new(401, "PGRST301", message)
        .with_header("WWW-Authenticate", www_authenticate(message));
    if let Some(d) = details {
        e = e.with_details(d);
    }
    e
}

fn claims_error(message: &str) -> ApiError {
    ApiError::new(401, "PGRST303", message)
        .with_header("WWW-Authenticate", www_authenticate(message))
}

fn keys_from_jwks(document: &str) -> Result<Vec<VerificationKey>, String> {
    let value: Value = serde_json::from_str(document)
        .map_err(|e| format!("PGRST_JWT_SECRET looks like JSON but does not parse: {e}"))?;
    let jwks: Vec<Jwk> = if value.get("keys").is_some() {
        serde_json::from_value::<JwkSet>(value)
            .map_err(|e| format!("PGRST_JWT_SECRET is not a valid JWKS: {e}"))?
            .keys
    } else {
        vec![serde_json::from_value::<Jwk>(value)
            .map_err(|e| format!("PGRST_JWT_SECRET is not a valid JWK: {e}"))?]
    };
    let mut keys = Vec::new();
    for jwk in &jwks {
        let key = DecodingKey::from_jwk(jwk)
            .map_err(|e| format!("PGRST_JWT_SECRET has an unusable key: {e}"))?;
        let algorithms = match (&jwk.algorithm, jwk.common.key_algorithm) {
            (AlgorithmParameters::OctetKey(_), _) => {
                vec![Algorithm::HS256, Algorithm::HS384, Algorithm::HS512]
            }
            (AlgorithmParameters::RSA(_), Some(alg)) => format!("{alg:?}")
                .parse::<Algorithm>()
                .into_iter()
                .collect(),
            (AlgorithmParameters::RSA(_), None) => vec![
                Algorithm::RS256,
                Algorithm::RS384,
                Algorithm::RS512,
                Algorithm::PS256,
                Algorithm::PS384,
                Algorithm::PS512,
            ],
            (AlgorithmParameters::EllipticCurve(ec), _) => match format!("{:?}", ec.curve).as_str()
            {
                "P256" => vec![Algorithm::ES256],
                "P384" => vec![Algorithm::ES384],
                other => {
                    return Err(format!(
                        "PGRST_JWT_SECRET has an EC key on unsupported curve {other}"
                    ))
                }
            },
            (AlgorithmParameters::OctetKeyPair(_), _) => vec![Algorithm::EdDSA],
        };
        keys.push(VerificationKey {
            kid: jwk.common.key_id.clone(),
            key,
            algorithms,
        });
    }
    if keys.is_empty() {
        return Err("PGRST_JWT_SECRET is a JWKS without keys".into());
    }
    Ok(keys)
}
