use base64::Engine;

use super::*;

const TWILIO_SID: &str = "AC0123456789abcdef0123456789abcdef";
const TWILIO_TOKEN: &str = "fedcba9876543210fedcba9876543210";

fn spec(name: &str) -> ServiceSpec {
    Catalogue::default().service(name).unwrap().clone()
}

fn twilio_key() -> String {
    format!("{TWILIO_SID}:{TWILIO_TOKEN}")
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn well_formed_keys_of_every_known_service_pass() {
    let twilio = twilio_key();
    let keys = [
        ("openai", "sk-proj-Ab12Cd34Ef56Gh78Ij90KlMnOpQrStUv"),
        (
            "openai",
            "sk-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefghijkl",
        ),
        (
            "anthropic",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrStUvWx-yz0123456789",
        ),
        ("stripe", "sk_live_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ"),
        ("stripe", "sk_test_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ"),
        ("stripe", "rk_live_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ"),
        ("stripe", "rk_test_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ"),
        ("twilio", twilio.as_str()),
        (
            "sendgrid",
            "SG.AbCdEfGhIjKlMnOpQrStUv.WxYz0123456789AbCdEfGhIjKlMnOpQrStUvWxYz01234",
        ),
        ("resend", "re_AbCdEfGh_IjKlMnOpQrStUvWxYz012345"),
    ];
    for (service, key) in keys {
        let validated = spec(service).shape.validate(key);
        assert_eq!(validated.map(|k| k.as_str()), Ok(key), "{service}");
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn malformed_keys_are_refused_with_the_rule_they_broke() {
    let cases: [(&str, &str, KeyShapeError); 12] = [
        (
            "openai",
            "sk-short",
            KeyShapeError::TooShort { min_len: 20 },
        ),
        (
            "openai",
            "pk-AbCdEfGhIjKlMnOpQrStUvWx",
            KeyShapeError::WrongPrefix { expected: &["sk-"] },
        ),
        (
            "openai",
            "sk-ant-api03-AbCdEfGhIjKlMnOpQrSt",
            KeyShapeError::WrongKind {
                reason: "this is an anthropic key, not an openai key",
            },
        ),
        (
            "openai",
            "sk-AbCdEfGh IjKlMnOpQrStUvWx",
            KeyShapeError::Whitespace,
        ),
        (
            "openai",
            "sk-AbCdEfGhIjKlMnOpQrStUvWx\n",
            KeyShapeError::Whitespace,
        ),
        (
            "openai",
            "sk-AbCdEfGh\u{0}IjKlMnOpQrStUvWx",
            KeyShapeError::ControlCharacter,
        ),
        (
            "openai",
            "sk-AbCdEfGhIjKlMnOpQrStUvWxé",
            KeyShapeError::NotAscii,
        ),
        (
            "stripe",
            "pk_live_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ",
            KeyShapeError::WrongKind {
                reason:
                    "this is a stripe publishable key; store a secret (sk_) or restricted (rk_) key",
            },
        ),
        (
            "stripe",
            "sk_prod_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ",
            KeyShapeError::WrongPrefix {
                expected: &["sk_live_", "sk_test_", "rk_live_", "rk_test_"],
            },
        ),
        (
            "sendgrid",
            "sg.AbCdEfGhIjKlMnOpQrStUv.WxYz",
            KeyShapeError::WrongPrefix { expected: &["SG."] },
        ),
        ("resend", "re_Ab", KeyShapeError::TooShort { min_len: 20 }),
        (
            "resend",
            &format!("re_{}", "a".repeat(126)),
            KeyShapeError::TooLong { max_len: 128 },
        ),
    ];
    for (service, key, expected) in cases {
        assert_eq!(
            spec(service).shape.validate(key).map(|k| k.as_str()),
            Err(expected),
            "{key:?}"
        );
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn twilio_keys_need_sid_colon_token() {
    let shape = spec("twilio").shape;
    let refused = [
        format!("{TWILIO_SID}-{TWILIO_TOKEN}"),
        format!("{}:{TWILIO_TOKEN}", TWILIO_SID.replace('a', "g")),
        format!("{TWILIO_SID}:{}", TWILIO_TOKEN.replace('f', "z")),
        format!("AC{}", "0".repeat(65)),
    ];
    for key in &refused {
        assert_eq!(
            shape.validate(key).map(|k| k.as_str()),
            Err(KeyShapeError::TwilioLayout),
            "{key}"
        );
    }
    assert_eq!(
        shape
            .validate(&format!("SK{}", &twilio_key()[2..]))
            .map(|k| k.as_str()),
        Err(KeyShapeError::WrongPrefix { expected: &["AC"] })
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn shape_errors_never_echo_the_key() {
    let key = "sk-ThisIsTheSecretPart 1234";
    let message = spec("openai").shape.validate(key).unwrap_err().to_string();
    assert!(!message.contains("ThisIsTheSecretPart"), "{message}");
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn hint_is_the_last_four_characters_only() {
    let validated = spec("stripe")
        .shape
        .validate("sk_test_51Nq0aBcDeFgHiJkLmNoPqRsTuVwXyZ")
        .unwrap();
    assert_eq!(validated.hint(), "wXyZ");
    let twilio = twilio_key();
    assert_eq!(
        spec("twilio").shape.validate(&twilio).unwrap().hint(),
        "3210"
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn configured_list_decides_which_services_exist() {
    let catalogue = Catalogue::parse("openai, mailgun").unwrap();
    assert_eq!(catalogue.names().collect::<Vec<_>>(), ["openai", "mailgun"]);
    assert_eq!(
        catalogue.service("openai").unwrap().shape,
        spec("openai").shape
    );

    let mailgun = catalogue.service("mailgun").unwrap();
    assert_eq!(mailgun.shape, GENERIC_SHAPE);
    assert_eq!(mailgun.probe, None);
    assert!(mailgun.shape.validate("key-0123456789abcdef").is_ok());
    assert_eq!(
        mailgun.shape.validate("short").map(|k| k.as_str()),
        Err(KeyShapeError::TooShort { min_len: 16 })
    );

    let unknown = catalogue.service("stripe").unwrap_err();
    assert_eq!(
        unknown.to_string(),
        "unknown service; supported services are: openai, mailgun"
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn an_unknown_service_is_a_400_on_the_service_field_listing_the_supported_ones() {
    let unknown = UnknownService {
        configured: vec!["openai".to_string(), "mailgun".to_string()],
    };
    let error = ApiError::from(unknown);
    assert_eq!((error.status, error.code), (400, "invalid_field"));
    assert_eq!(
        error.message,
        "unknown service; supported services are: openai, mailgun"
    );
    assert_eq!(
        error.details,
        Some(json!({ "field": "service", "supported": ["openai", "mailgun"] }))
    );
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn service_lists_with_bad_or_repeated_names_are_refused() {
    for (list, expected) in [
        (
            "openai,",
            CatalogueError::InvalidName {
                name: String::new(),
            },
        ),
        (
            "OpenAI",
            CatalogueError::InvalidName {
                name: "OpenAI".into(),
            },
        ),
        (
            "open ai",
            CatalogueError::InvalidName {
                name: "open ai".into(),
            },
        ),
        (
            "1password",
            CatalogueError::InvalidName {
                name: "1password".into(),
            },
        ),
        (
            "../etc",
            CatalogueError::InvalidName {
                name: "../etc".into(),
            },
        ),
        (
            "openai,stripe,openai",
            CatalogueError::DuplicateName {
                name: "openai".into(),
            },
        ),
    ] {
        assert_eq!(Catalogue::parse(list), Err(expected), "{list:?}");
    }
    assert!(Catalogue::parse(&"a".repeat(33)).is_err());
    assert!(Catalogue::parse(&"a".repeat(32)).is_ok());
}

fn header<'a>(request: &'a ProbeRequest, name: &str) -> Option<&'a str> {
    request
        .headers
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, value)| value.as_str())
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn bearer_probes_send_the_key_as_a_bearer_token() {
    for (service, path) in [
        ("openai", "/v1/models"),
        ("stripe", "/v1/balance"),
        ("sendgrid", "/v3/scopes"),
        ("resend", "/domains"),
    ] {
        let request = spec(service)
            .probe
            .unwrap()
            .request("http://127.0.0.1:56401/", "KEY-123");
        assert_eq!(request.url, format!("http://127.0.0.1:56401{path}"));
        assert_eq!(header(&request, "authorization"), Some("Bearer KEY-123"));
        assert_eq!(request.headers.len(), 1, "{service}");
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn anthropic_probe_uses_its_own_headers() {
    let request = spec("anthropic")
        .probe
        .unwrap()
        .request("https://api.anthropic.com", "sk-ant-x");
    assert_eq!(request.url, "https://api.anthropic.com/v1/models");
    assert_eq!(header(&request, "x-api-key"), Some("sk-ant-x"));
    assert_eq!(header(&request, "anthropic-version"), Some("2023-06-01"));
    assert_eq!(header(&request, "authorization"), None);
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn twilio_probe_uses_basic_auth_and_the_account_path() {
    let request = spec("twilio")
        .probe
        .unwrap()
        .request("http://fake/twilio", &twilio_key());
    assert_eq!(
        request.url,
        format!("http://fake/twilio/2010-04-01/Accounts/{TWILIO_SID}.json")
    );
    let credentials = header(&request, "authorization")
        .unwrap()
        .strip_prefix("Basic ")
        .unwrap();
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(credentials)
        .unwrap();
    assert_eq!(String::from_utf8(decoded).unwrap(), twilio_key());
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn known_services_default_to_the_providers_production_hosts() {
    for name in Catalogue::default().names() {
        let url = spec(name).default_base_url.unwrap();
        assert!(
            url.starts_with("https://api.") && url.contains(name),
            "{name}: {url}"
        );
    }
}

#[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
fn probe_statuses_map_to_verdicts() {
    assert_eq!(ProbeVerdict::from_status(200), ProbeVerdict::Healthy);
    assert_eq!(ProbeVerdict::from_status(204), ProbeVerdict::Healthy);
    assert_eq!(
        ProbeVerdict::from_status(401),
        ProbeVerdict::Rejected { status: 401 }
    );
    assert_eq!(
        ProbeVerdict::from_status(403),
        ProbeVerdict::Rejected { status: 403 }
    );
    assert_eq!(ProbeVerdict::from_status(429), ProbeVerdict::RateLimited);
    assert_eq!(
        ProbeVerdict::from_status(503),
        ProbeVerdict::ProviderError { status: 503 }
    );
    assert_eq!(
        ProbeVerdict::from_status(404),
        ProbeVerdict::ProviderError { status: 404 }
    );
    assert!(ProbeVerdict::Healthy.reason().is_none());
    assert_eq!(
        ProbeVerdict::Rejected { status: 401 }.reason().as_deref(),
        Some("the provider rejected the key (HTTP 401)")
    );
    assert!(!ProbeVerdict::Unreachable.is_healthy());
    assert_eq!(
        ProbeVerdict::TimedOut { after_ms: 750 }.reason().as_deref(),
        Some("the provider did not answer within 750 ms")
    );
}
