//! Reading several values out of one fuzz input: header lines first, then the body.

/// Splits `data` into `N` lines (without their `\n`) and the bytes after them. Lines the input
/// does not reach are `None`, and so is the body when nothing follows the last line.
pub fn lines<const N: usize>(data: &[u8]) -> ([Option<&[u8]>; N], Option<&[u8]>) {
    let mut lines = [None; N];
    let mut rest = Some(data);
    for line in lines.iter_mut() {
        let Some(text) = rest else { break };
        match text.iter().position(|byte| *byte == b'\n') {
            Some(end) => {
                *line = Some(&text[..end]);
                rest = Some(&text[end + 1..]);
            }
            None => {
                *line = Some(text);
                rest = None;
            }
        }
    }
    (lines, rest)
}

/// A header value as the edge hands it over: text, with bytes that are not UTF-8 replaced.
pub fn header(line: Option<&[u8]>) -> Option<String> {
    line.map(|bytes| String::from_utf8_lossy(bytes).into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_lines_then_the_body() {
        let (lines, body) = lines::<2>(b"a\nb\nrest\nof body");
        assert_eq!(lines, [Some(&b"a"[..]), Some(&b"b"[..])]);
        assert_eq!(body, Some(&b"rest\nof body"[..]));
    }

    #[test]
    fn short_inputs_leave_the_rest_absent() {
        assert_eq!(lines::<2>(b"only"), ([Some(&b"only"[..]), None], None));
        assert_eq!(lines::<1>(b"h\n"), ([Some(&b"h"[..])], Some(&b""[..])));
        assert_eq!(lines::<1>(b""), ([Some(&b""[..])], None));
    }
}
