//! The cap on how deep a client may nest parentheses, checked before any parsing recursion.

/// The deepest nesting of parentheses a `select` (embeds) or a logic tree (`or`, `and`, `not`)
/// may have. Parsing recurses per level, so without a cap a long URL of `or(or(or(...` would
/// overflow the stack. Sixteen levels is far more than any real query nests.
pub const MAX_NESTING: usize = 16;

/// The deepest nesting of `(`, `{` and `[` outside double quotes, in one linear pass.
pub fn nesting_depth(input: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_quotes, mut escaped) = (false, false);
    for ch in input.chars() {
        if escaped {
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quotes => escaped = true,
            '"' => in_quotes = !in_quotes,
            '(' | '{' | '[' if !in_quotes => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            ')' | '}' | ']' if !in_quotes => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The client's text as error messages quote it: whole when short, else its first 200
/// characters, so a 30 KB parameter is not echoed back whole.
pub fn abbreviate(text: &str) -> String {
    const SHOWN: usize = 200;
    match text.char_indices().nth(SHOWN) {
        Some((cut, _)) => format!("{}...", &text[..cut]),
        None => text.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn measures_nesting_outside_quotes() {
        assert_eq!(nesting_depth("a,b(c,d(e)),\"((((\""), 2);
        assert_eq!(nesting_depth(&"or(".repeat(40)), 40);
    }
}
