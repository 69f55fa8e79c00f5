//! Splitting on a separator only at the top level: outside parentheses, braces and quotes.

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
    }
}
