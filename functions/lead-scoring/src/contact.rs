//! Is this email or phone number worth trying? Structural checks only: no DNS, no carrier
//! lookups, nothing that needs the network. They exist so a lead with `n/a` or `555-CALL` in
//! its phone column does not earn the points of a reachable lead.

/// An address with one `@`, a plausible local part and a dotted domain ending in a real-looking
/// top-level label. Surrounding whitespace is ignored.
pub fn is_plausible_email(raw: &str) -> bool {
    let address = raw.trim();
    if address.len() > 254 {
        return false;
    }
    let Some((local, domain)) = address.split_once('@') else {
        return false;
    };
    is_plausible_local_part(local) && is_plausible_domain(domain)
}

fn is_plausible_local_part(local: &str) -> bool {
    !local.is_empty()
        && local.len() <= 64
        && !local.starts_with('.')
        && !local.ends_with('.')
        && !local.contains("..")
        && local
            .chars()
            .all(|c| !c.is_whitespace() && !c.is_control() && !"@()<>[]\\,;:\"".contains(c))
}

fn is_plausible_domain(domain: &str) -> bool {
    let mut labels = domain.split('.').peekable();
    let mut label_count = 0;
    while let Some(label) = labels.next() {
        label_count += 1;
        let is_top_level = labels.peek().is_none();
        let valid = !label.is_empty()
            && label.len() <= 63
            && !label.starts_with('-')
            && !label.ends_with('-')
            && label.chars().all(|c| c.is_alphanumeric() || c == '-')
            && (!is_top_level || is_plausible_top_level_label(label));
        if !valid {
            return false;
        }
    }
    label_count >= 2
}

fn is_plausible_top_level_label(label: &str) -> bool {
    label.starts_with("xn--")
        || (label.chars().count() >= 2 && label.chars().all(char::is_alphabetic))
}

/// A dialable number: digits with the usual punctuation (`+ ( ) - . space`). International
/// numbers need a leading `+` and 8 to 15 digits (E.164); without `+` the number is read as North
/// American (10 digits, or 11 starting with 1), the market the CRM's investors work in, and must
/// have a real area code and exchange (first digit 2-9, area code not N11 like 911).
pub fn is_plausible_phone(raw: &str) -> bool {
    let number = raw.trim();
    let (international, rest) = match number.strip_prefix('+') {
        Some(rest) => (true, rest),
        None => (false, number),
    };
    let mut digits = [0u8; 15];
    let mut count = 0usize;
    for byte in rest.bytes() {
        match byte {
            b'0'..=b'9' => {
                if count == digits.len() {
                    return false;
                }
                digits[count] = byte - b'0';
                count += 1;
            }
            b' ' | b'-' | b'.' | b'(' | b')' => {}
            _ => return false,
        }
    }
    let digits = &digits[..count];
    match (international, digits) {
        (true, [1, national @ ..]) if national.len() == 10 => is_north_american(national),
        (true, [1, ..]) => false,
        (true, [first, ..]) => *first != 0 && (8..=15).contains(&count),
        (false, [1, national @ ..]) if national.len() == 10 => is_north_american(national),
        (false, national) if national.len() == 10 => is_north_american(national),
        _ => false,
    }
}

fn is_north_american(national: &[u8]) -> bool {
    let (area, exchange) = (&national[0..3], &national[3..6]);
    area[0] >= 2 && exchange[0] >= 2 && !(area[1] == 1 && area[2] == 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plausible_emails_are_accepted() {
        for email in [
            "jane@example.com",
            " j.doe+crm@mail.example.co.uk ",
            "ana@xn--bcher-kva.example",
            "józef@poczta.pl",
        ] {
            assert!(is_plausible_email(email), "{email} should be plausible");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn implausible_emails_are_refused() {
        for email in [
            "",
            "n/a",
            "jane",
            "jane@",
            "@example.com",
            "jane@example",
            "jane@@example.com",
            "jane doe@example.com",
            "jane@exa mple.com",
            ".jane@example.com",
            "jane..doe@example.com",
            "jane@example.c",
            "jane@example.c0m",
            "jane@-example.com",
            "jane@example..com",
        ] {
            assert!(!is_plausible_email(email), "{email:?} should be refused");
        }
        let long_local = format!("{}@example.com", "a".repeat(65));
        assert!(!is_plausible_email(&long_local));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plausible_phones_are_accepted() {
        for phone in [
            "(512) 555-0142",
            "512.555.0142",
            "5125550142",
            "1-512-555-0142",
            "+1 512 555 0142",
            "+44 20 7946 0958",
            "+4930123456",
        ] {
            assert!(is_plausible_phone(phone), "{phone} should be plausible");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn implausible_phones_are_refused() {
        for phone in [
            "",
            "n/a",
            "555-CALL",
            "555-0142",
            "512555014",
            "51255501420",
            "2-512-555-0142",
            "(112) 555-0142",
            "(512) 155-0142",
            "(911) 555-0142",
            "+1 512 555 014",
            "+0 20 7946 0958",
            "+44 1234",
            "+4412345678901234",
            "512-555-0142 ext 9",
        ] {
            assert!(!is_plausible_phone(phone), "{phone:?} should be refused");
        }
    }
}
