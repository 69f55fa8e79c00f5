//! Splitting on a separator only at the top level: outside parentheses, braces and quotes; and
//! the cap on how deep a client may nest them.

/// The deepest nesting of parentheses a `select` (embeds) or a logic tree (`or`, `and`, `not`)
/// may have. Parsing recurses per level and each level rescans its text, so without a cap a
/// long URL of `or(or(or(...` costs quadratic time and overflows the stack. Sixteen levels is
/// far more than any real query nests.
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

pub fn split_top_level(input: &str, separator: char) -> Vec<String> {
    let mut parts = Vec::new();
    let mut current = String::new();
    let mut depth = 0i32;
    let mut in_quotes = false;
    let mut escaped = false;
    for ch in input.chars() {
        if escaped {
            current.push(ch);
            escaped = false;
            continue;
        }
        match ch {
            '\\' if in_quotes => {
                current.push(ch);
                escaped = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                current.push(ch);
            }
            '(' | '{' | '[' if !in_quotes => {
                depth += 1;
                current.push(ch);
            }
            ')' | '}' | ']' if !in_quotes => {
                depth -= 1;
                current.push(ch);
            }
            c if c == separator && depth == 0 && !in_quotes => {
                parts.push(std::mem::take(&mut current))
            }
            c => current.push(c),
        }
    }
    parts.push(current);
    parts
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

/// Removes surrounding double quotes and backslash escapes: `"a,\"b\""` -> `a,"b"`.
pub fn unquote(value: &str) -> String {
    let trimmed = value;
    if trimmed.len() >= 2 && trimmed.starts_with('"') && trimmed.ends_with('"') {
        let inner = &trimmed[1..trimmed.len() - 1];
        let mut out = String::with_capacity(inner.len());
        let mut chars = inner.chars();
        while let Some(c) = chars.next() {
            if c == '\\' {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            } else {
                out.push(c);
            }
        }
        out
    } else {
        value.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn respects_nesting_and_quotes() {
        assert_eq!(
            split_top_level("a,b(c,d),\"e,f\"", ','),
            vec!["a", "b(c,d)", "\"e,f\""]
        );
        assert_eq!(unquote("\"a,\\\"b\\\"\""), "a,\"b\"");
        assert_eq!(nesting_depth("a,b(c,d(e)),\"((((\""), 2);
        assert_eq!(nesting_depth(&"or(".repeat(40)), 40);
    }
}
