//! The rules for each value a client may send at sign-up. Each rule takes the raw string and
//! returns the value to store or a problem phrased to follow the field's name ("full_name
//! must ..."). The SQL function `create_profile_on_signup` checks the same limits again, so a
//! request that skips the edge still cannot store a bad value.

use url::Url;

/// Longest name or workspace name, in characters (Unicode scalar values, as Postgres
/// `char_length` counts them).
pub const MAX_NAME_CHARS: usize = 120;
/// Longest avatar URL, in bytes, before and after normalisation. Generous for CDN URLs with
/// signed query strings, small enough to keep a profile row small.
pub const MAX_AVATAR_URL_BYTES: usize = 2048;
/// Longest time zone name. The longest IANA name today is 32 characters
/// (`America/Argentina/ComodRivadavia`).
pub const MAX_TIMEZONE_CHARS: usize = 64;
/// IANA names have an area and up to two more levels (`America/Argentina/Buenos_Aires`).
const MAX_TIMEZONE_SEGMENTS: usize = 3;
/// The IANA database limits each path component to 14 characters.
const MAX_TIMEZONE_SEGMENT_CHARS: usize = 14;

/// A person's or a workspace's name: trimmed, 1 to [`MAX_NAME_CHARS`] characters, with no
/// control characters (line breaks, tabs, NUL...) and none of the invisible characters that
/// reorder or break the text around a name when it is shown (bidirectional overrides and
/// isolates, line and paragraph separators).
pub fn name(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".to_string());
    }
    let length = trimmed.chars().count();
    if length > MAX_NAME_CHARS {
        return Err(format!(
            "must be at most {MAX_NAME_CHARS} characters long (this one has {length})"
        ));
    }
    if trimmed.chars().any(char::is_control) {
        return Err("must not contain control characters such as line breaks or tabs".to_string());
    }
    if trimmed.chars().any(is_layout_control) {
        return Err(
            "must not contain invisible text-direction or line-separator characters".to_string(),
        );
    }
    Ok(trimmed.to_string())
}

/// U+2028/2029 break lines; U+202A..202E and U+2066..2069 reorder the text that follows, which
/// lets a name display as something else. Zero-width joiners stay allowed: emoji and several
/// scripts need them.
fn is_layout_control(character: char) -> bool {
    matches!(character, '\u{2028}' | '\u{2029}' | '\u{202A}'..='\u{202E}' | '\u{2066}'..='\u{2069}')
}

/// An avatar URL: an absolute `https://` URL with a host and no user name or password, at most
/// [`MAX_AVATAR_URL_BYTES`] long. Returned in the URL parser's normalised form (lower-case
/// host, percent-encoding applied), which is what gets stored.
pub fn avatar_url(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".to_string());
    }
    if trimmed.len() > MAX_AVATAR_URL_BYTES {
        return Err(format!("must be at most {MAX_AVATAR_URL_BYTES} bytes long"));
    }
    // The URL parser silently drops tabs and line breaks inside a URL; refuse them instead, so
    // what is stored is what was sent.
    if trimmed
        .chars()
        .any(|character| character.is_whitespace() || character.is_control())
    {
        return Err("must not contain spaces or control characters".to_string());
    }
    let url = Url::parse(trimmed).map_err(|error| format!("is not a valid URL ({error})"))?;
    if url.scheme() != "https" {
        return Err("must be an https:// URL".to_string());
    }
    if url.host().is_none() {
        return Err("must name a host".to_string());
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err("must not contain a user name or password".to_string());
    }
    let normalised = String::from(url);
    if normalised.len() > MAX_AVATAR_URL_BYTES {
        return Err(format!(
            "must be at most {MAX_AVATAR_URL_BYTES} bytes long once percent-encoded"
        ));
    }
    Ok(normalised)
}

/// A time zone that looks like an IANA name: `UTC`, `Europe/Paris`, `Etc/GMT+5`,
/// `America/Argentina/Buenos_Aires`. Checked here: 1 to 3 `/`-separated components, each 1 to
/// 14 ASCII letters, digits, `_`, `-` or `+`, starting with a letter (which also rules out `.`,
/// `..` and empty components); at most [`MAX_TIMEZONE_CHARS`] in all. Not checked here: that
/// the zone exists. The SQL function looks the name up in Postgres's `pg_timezone_names`, and
/// an unknown zone comes back as a 400 naming `timezone` too. Names are case-sensitive there,
/// so `utc` is refused while `UTC` is accepted. Every one of the 600 names PostgreSQL 15 lists
/// (fixtures/pg_timezone_names.txt) passes; its `posix/...` and `right/...` copies need not.
pub fn timezone(raw: &str) -> Result<String, String> {
    let trimmed = raw.trim();
    if trimmed.is_empty() {
        return Err("must not be blank".to_string());
    }
    if trimmed.chars().count() > MAX_TIMEZONE_CHARS {
        return Err(format!(
            "must be at most {MAX_TIMEZONE_CHARS} characters long"
        ));
    }
    let segments: Vec<&str> = trimmed.split('/').collect();
    let well_formed = segments.len() <= MAX_TIMEZONE_SEGMENTS
        && segments.iter().all(|segment| is_timezone_segment(segment));
    if !well_formed {
        return Err("must be an IANA time zone name such as Europe/Paris or UTC".to_string());
    }
    Ok(trimmed.to_string())
}

fn is_timezone_segment(segment: &str) -> bool {
    let mut characters = segment.chars();
    let starts_with_letter = characters
        .next()
        .is_some_and(|first| first.is_ascii_alphabetic());
    starts_with_letter
        && segment.len() <= MAX_TIMEZONE_SEGMENT_CHARS
        && characters.all(|character| {
            character.is_ascii_alphanumeric() || matches!(character, '_' | '-' | '+')
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_are_trimmed_and_keep_unicode() {
        assert_eq!(name("  Ada Lovelace \n").unwrap(), "Ada Lovelace");
        assert_eq!(name("Zoë Ångström-Ñúñez").unwrap(), "Zoë Ångström-Ñúñez");
        assert_eq!(name("李小龍").unwrap(), "李小龍");
        // A family emoji is joined with U+200D; it must survive.
        assert_eq!(
            name("The 👨\u{200D}👩\u{200D}👧 team").unwrap(),
            "The 👨\u{200D}👩\u{200D}👧 team"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn blank_names_are_refused() {
        assert_eq!(name("").unwrap_err(), "must not be blank");
        assert_eq!(name(" \t\n ").unwrap_err(), "must not be blank");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_are_limited_to_120_characters_not_bytes() {
        let longest = "é".repeat(MAX_NAME_CHARS);
        assert_eq!(name(&longest).unwrap().chars().count(), 120);
        let too_long = "é".repeat(MAX_NAME_CHARS + 1);
        assert_eq!(
            name(&too_long).unwrap_err(),
            "must be at most 120 characters long (this one has 121)"
        );
        // Surrounding spaces do not count against the limit: they are trimmed first.
        assert!(name(&format!("  {longest}  ")).is_ok());
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_with_control_or_layout_characters_are_refused() {
        for bad in [
            "Ada\nLovelace",
            "Ada\tLovelace",
            "Ada\u{0}",
            "Ada\u{7f}",
            "Ada\u{85}x",
        ] {
            assert!(
                name(bad).unwrap_err().contains("control characters"),
                "{bad:?}"
            );
        }
        for bad in [
            "Ada\u{202E}ecalevoL",
            "Ada\u{2028}Lovelace",
            "\u{2066}Ada\u{2069}",
        ] {
            assert!(name(bad).unwrap_err().contains("text-direction"), "{bad:?}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn avatar_urls_must_be_https_with_a_host() {
        assert_eq!(
            avatar_url("https://cdn.example.com/a/b.png?s=64").unwrap(),
            "https://cdn.example.com/a/b.png?s=64"
        );
        assert_eq!(
            avatar_url(" https://CDN.Example.com ").unwrap(),
            "https://cdn.example.com/"
        );
        assert_eq!(
            avatar_url("http://cdn.example.com/a.png").unwrap_err(),
            "must be an https:// URL"
        );
        assert_eq!(
            avatar_url("javascript:alert(1)").unwrap_err(),
            "must be an https:// URL"
        );
        assert_eq!(
            avatar_url("data:image/png;base64,AAAA").unwrap_err(),
            "must be an https:// URL"
        );
        assert!(avatar_url("cdn.example.com/a.png")
            .unwrap_err()
            .starts_with("is not a valid URL"));
        assert!(avatar_url("https://")
            .unwrap_err()
            .starts_with("is not a valid URL"));
        assert!(avatar_url("https://exa mple.com/")
            .unwrap_err()
            .contains("spaces"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn avatar_urls_may_not_smuggle_credentials_or_hidden_characters() {
        assert_eq!(
            avatar_url("https://user:pw@cdn.example.com/a.png").unwrap_err(),
            "must not contain a user name or password"
        );
        assert_eq!(
            avatar_url("https://user@cdn.example.com/a.png").unwrap_err(),
            "must not contain a user name or password"
        );
        // The parser would drop these silently and store a different URL than the one sent.
        assert!(avatar_url("https://cdn.example.com/a\n.png")
            .unwrap_err()
            .contains("control"));
        assert!(avatar_url("https://cdn.example.com/a\t.png")
            .unwrap_err()
            .contains("control"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn avatar_urls_are_limited_in_length_also_after_encoding() {
        let prefix = "https://cdn.example.com/";
        let longest = format!(
            "{prefix}{}",
            "a".repeat(MAX_AVATAR_URL_BYTES - prefix.len())
        );
        assert_eq!(avatar_url(&longest).unwrap().len(), MAX_AVATAR_URL_BYTES);
        assert!(avatar_url(&format!("{longest}a"))
            .unwrap_err()
            .contains("2048"));
        // 700 characters that each become 6 bytes once percent-encoded.
        let expands = format!("{prefix}{}", "é".repeat(700));
        assert!(avatar_url(&expands)
            .unwrap_err()
            .contains("percent-encoded"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn real_iana_names_pass_the_shape_check() {
        for zone in [
            "UTC",
            "Europe/Paris",
            "America/Argentina/Buenos_Aires",
            "America/Argentina/ComodRivadavia",
            "America/Port-au-Prince",
            "America/North_Dakota/New_Salem",
            "Antarctica/DumontDUrville",
            "Etc/GMT+5",
            "Etc/GMT-14",
            "EST5EDT",
            "GMT0",
        ] {
            assert_eq!(timezone(zone).unwrap(), zone);
        }
        assert_eq!(timezone(" Asia/Tokyo ").unwrap(), "Asia/Tokyo");
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn every_zone_postgres_knows_passes_the_shape_check() {
        let zones: Vec<&str> = include_str!("../fixtures/pg_timezone_names.txt")
            .lines()
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect();
        assert!(zones.len() > 500, "fixture has {} zones", zones.len());
        for zone in zones {
            assert_eq!(timezone(zone).as_deref(), Ok(zone));
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn malformed_time_zones_are_refused() {
        for bad in [
            "Europe/",
            "/Europe/Paris",
            "Europe//Paris",
            "../../etc/passwd",
            "Europe/./Paris",
            "Europe/Paris; drop table x",
            "+05:00",
            "5/Paris",
            "Europe/Pa ris",
            "Europe/Parîs",
            "a/b/c/d",
            "Europe/Averyveryverylongcity",
        ] {
            assert!(timezone(bad).unwrap_err().contains("IANA"), "{bad:?}");
        }
        assert_eq!(timezone("  ").unwrap_err(), "must not be blank");
        assert!(timezone(&"A".repeat(65)).unwrap_err().contains("64"));
    }
}
