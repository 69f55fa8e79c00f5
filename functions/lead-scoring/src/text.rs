//! Loose text matching: case, spaces and punctuation do not count. CRM data is typed by hand
//! and imported from lists, so `Pre-Foreclosure`, `pre_foreclosure` and `preforeclosure` are
//! the same tag, and `Direct Mail` is the same source as `direct_mail`.
//!
//! Rule values are normalized once when the rule set is compiled; lead values are compared
//! on the fly, without allocating, because this runs for every rule on every lead.

/// A rule value in normalized form: only letters and digits, lowercase.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LooseText(Box<str>);

impl LooseText {
    /// `None` when nothing is left after normalizing (the value had no letters or digits).
    pub fn new(raw: &str) -> Option<Self> {
        let normalized: String = raw
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
            .collect();
        if normalized.is_empty() {
            None
        } else {
            Some(LooseText(normalized.into_boxed_str()))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Does `raw` (a lead's value, as stored) normalize to this value? One pass over the bytes
    /// while they are ASCII, which nearly all CRM text is; most mismatches end at the first
    /// letter. Text with other characters takes the slower `char` path.
    pub fn matches(&self, raw: &str) -> bool {
        let expected = self.0.as_bytes();
        let mut position = 0;
        for byte in raw.bytes() {
            if !byte.is_ascii() {
                return self.matches_unicode(raw);
            }
            if byte.is_ascii_alphanumeric() {
                if expected.get(position) != Some(&byte.to_ascii_lowercase()) {
                    return false;
                }
                position += 1;
            }
        }
        position == expected.len()
    }

    fn matches_unicode(&self, raw: &str) -> bool {
        let mut expected = self.0.chars();
        for c in raw
            .chars()
            .filter(|c| c.is_alphanumeric())
            .flat_map(char::to_lowercase)
        {
            if expected.next() != Some(c) {
                return false;
            }
        }
        expected.next().is_none()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn case_spaces_and_punctuation_do_not_count() {
        let tag = LooseText::new("pre-foreclosure").unwrap();
        assert_eq!(tag.as_str(), "preforeclosure");
        for raw in [
            "Pre-Foreclosure",
            "pre_foreclosure",
            "PREFORECLOSURE",
            " pre foreclosure ",
        ] {
            assert!(tag.matches(raw), "{raw} should match");
        }
        for raw in ["foreclosure", "pre-foreclosures", "", "pre-foreclosure 2"] {
            assert!(!tag.matches(raw), "{raw} should not match");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn non_ascii_text_is_lowercased_too() {
        let source = LooseText::new("Óbidos Büro").unwrap();
        assert_eq!(source.as_str(), "óbidosbüro");
        assert!(source.matches("ÓBIDOS-BÜRO"));
        assert!(!source.matches("obidos buro"));
        assert!(!LooseText::new("probate").unwrap().matches("próbate"));
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn a_value_without_letters_or_digits_is_refused() {
        assert_eq!(LooseText::new(" - _ "), None);
        assert_eq!(LooseText::new(""), None);
    }
}
