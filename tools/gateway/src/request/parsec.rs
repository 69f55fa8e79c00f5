//! A small parser-combinator engine with Parsec's error semantics, so that the query-string
//! grammars in `grammar.rs` fail where PostgREST's Parsec parsers fail and say what they say:
//! `(line 1, column N)` and `unexpected ... expecting ...`.
//!
//! What it reproduces from Parsec 3 (the library PostgREST parses with):
//! - every reply says whether input was consumed; `or` tries its second branch only when the
//!   first failed without consuming, and `attempt` (Parsec's `try`) turns a consuming failure
//!   into a non-consuming one;
//! - errors carry a position and messages (system "unexpected", "unexpected", "expecting");
//!   when two errors meet, the one further into the input wins and equal positions pool their
//!   messages, in order;
//! - `string` reports a mismatch at the position where the string started;
//! - `label` replaces the "expecting" messages of a failure that consumed nothing;
//! - the final text is built as Parsec's `showErrorMessages` builds it, with Haskell's `show`
//!   for characters and strings.

/// A position in the input, 1-based, as Parsec's `SourcePos` (tabs move to the next multiple of
/// eight plus one, newlines start a line).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Pos {
    pub line: u32,
    pub column: u32,
}

impl Pos {
    const START: Pos = Pos { line: 1, column: 1 };

    fn after(self, c: char) -> Pos {
        match c {
            '\n' => Pos {
                line: self.line + 1,
                column: 1,
            },
            '\t' => Pos {
                line: self.line,
                column: self.column + 8 - ((self.column - 1) % 8),
            },
            _ => Pos {
                line: self.line,
                column: self.column + 1,
            },
        }
    }
}

/// What was expected, shown only when an error is described (so failing, which parsing does
/// at every alternative, allocates nothing).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Label {
    /// Shown as written: `letter`, `operator (eq, gt, ...)`; `""` shows nothing.
    Text(&'static str),
    /// A character, shown as Parsec's `char` labels it: `"("`.
    Char(char),
    /// A string, shown as Parsec's `string` labels it: `"not"`.
    Word(&'static str),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Message {
    /// The character found where a token was expected (`None`: the end of the input).
    SysUnExpect(Option<char>),
    /// A character `notFollowedBy` refused.
    UnExpect(char),
    Expect(Label),
}

impl Message {
    fn rank(&self) -> u8 {
        match self {
            Message::SysUnExpect(_) => 0,
            Message::UnExpect(_) => 1,
            Message::Expect(_) => 2,
        }
    }

    fn text(&self) -> String {
        match *self {
            Message::SysUnExpect(None) => String::new(),
            Message::SysUnExpect(Some(c)) => show_string(&c.to_string()),
            Message::UnExpect(c) => show_char(c),
            Message::Expect(Label::Text(text)) => text.to_string(),
            Message::Expect(Label::Char(c)) => show_string(&c.to_string()),
            Message::Expect(Label::Word(word)) => show_string(word),
        }
    }
}

/// An error's messages. Replies travel through every combinator, so an error stays small (an
/// empty `Vec` does not allocate) and is filled only when errors are recorded.
type Messages = Vec<Message>;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub pos: Pos,
    messages: Messages,
}

impl ParseError {
    fn unknown(pos: Pos) -> ParseError {
        ParseError {
            pos,
            messages: Messages::new(),
        }
    }

    fn is_unknown(&self) -> bool {
        self.messages.is_empty()
    }

    /// Parsec's `mergeError`: a meaningful error beats an empty one, then the further position
    /// wins, and at equal positions the messages are pooled. A message already there is not
    /// added again: the description keeps only the first of each anyway.
    fn merge(self, other: ParseError) -> ParseError {
        if other.messages.is_empty() && !self.messages.is_empty() {
            return self;
        }
        if self.messages.is_empty() && !other.messages.is_empty() {
            return other;
        }
        match self.pos.cmp(&other.pos) {
            std::cmp::Ordering::Equal => {
                let mut messages = self.messages;
                for message in other.messages {
                    if !messages.contains(&message) {
                        messages.push(message);
                    }
                }
                ParseError {
                    pos: self.pos,
                    messages,
                }
            }
            std::cmp::Ordering::Greater => self,
            std::cmp::Ordering::Less => other,
        }
    }

    /// Parsec's `setExpectErrors` for one label: the label replaces every "expecting".
    fn expecting_only(mut self, label: Label) -> ParseError {
        self.messages.retain(|m| !matches!(m, Message::Expect(_)));
        self.messages.insert(0, Message::Expect(label));
        self
    }

    /// `(line 1, column 16)`.
    pub fn position(&self) -> String {
        format!("(line {}, column {})", self.pos.line, self.pos.column)
    }

    /// Parsec's `showErrorMessages "or" "unknown parse error" "expecting" "unexpected" "end of
    /// input"`, on one line as PostgREST joins it.
    pub fn describe(&self) -> String {
        if self.messages.is_empty() {
            return "unknown parse error".to_string();
        }
        let mut sorted = self.messages.clone();
        sorted.sort_by_key(Message::rank);
        let of = |rank: u8| -> Vec<String> {
            sorted
                .iter()
                .filter(|m| m.rank() == rank)
                .map(Message::text)
                .collect()
        };
        let (system, unexpected, expected) = (of(0), of(1), of(2));
        let show_system = match system.first().map(String::as_str) {
            Some(_) if !unexpected.is_empty() => String::new(),
            None => String::new(),
            Some("") => "unexpected end of input".to_string(),
            Some(first) => format!("unexpected {first}"),
        };
        let show_many = |prefix: &str, texts: &[String]| {
            let texts: Vec<&str> = texts.iter().map(String::as_str).collect();
            let cleaned = clean(&texts);
            if cleaned.is_empty() {
                String::new()
            } else {
                format!("{prefix} {}", commas_or(&cleaned))
            }
        };
        let sections = [
            show_system,
            show_many("unexpected", &unexpected),
            show_many("expecting", &expected),
        ];
        clean(&sections.iter().map(String::as_str).collect::<Vec<_>>()).join(" ")
    }
}

/// Drops empty texts and repeats, keeping the first of each.
fn clean<'a>(texts: &[&'a str]) -> Vec<&'a str> {
    let mut kept: Vec<&str> = Vec::new();
    for text in texts {
        if !text.is_empty() && !kept.contains(text) {
            kept.push(text);
        }
    }
    kept
}

/// `a`, `a or b`, `a, b or c`.
fn commas_or(items: &[&str]) -> String {
    match items {
        [] => String::new(),
        [one] => one.to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    }
}

/// Haskell's `show` of a `Char`: `'a'`, `'\''`, `'\233'`.
pub fn show_char(c: char) -> String {
    match c {
        '\'' => "'\\''".to_string(),
        '"' => "'\"'".to_string(),
        _ => format!("'{}'", escape(c, None)),
    }
}

/// Haskell's `show` of a `String`: `"a\"b"`, `"\233"`.
pub fn show_string(s: &str) -> String {
    let mut out = String::from("\"");
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        if c == '"' {
            out.push_str("\\\"");
        } else {
            out.push_str(&escape(c, chars.peek().copied()));
        }
    }
    out.push('"');
    out
}

/// One character as Haskell escapes it; `next` decides whether a numeric escape (or `\SO`
/// before `H`) needs the empty escape `\&` after it.
fn escape(c: char, next: Option<char>) -> String {
    const CONTROL: [&str; 32] = [
        "NUL", "SOH", "STX", "ETX", "EOT", "ENQ", "ACK", "a", "b", "t", "n", "v", "f", "r", "SO",
        "SI", "DLE", "DC1", "DC2", "DC3", "DC4", "NAK", "SYN", "ETB", "CAN", "EM", "SUB", "ESC",
        "FS", "GS", "RS", "US",
    ];
    match c {
        '\\' => "\\\\".to_string(),
        '\u{7f}' => "\\DEL".to_string(),
        c if (c as u32) < 32 => {
            let name = CONTROL[c as usize];
            let empty = if name == "SO" && next == Some('H') {
                "\\&"
            } else {
                ""
            };
            format!("\\{name}{empty}")
        }
        c if (c as u32) > 127 => {
            let empty = if next.is_some_and(|n| n.is_ascii_digit()) {
                "\\&"
            } else {
                ""
            };
            format!("\\{}{empty}", c as u32)
        }
        c => c.to_string(),
    }
}

/// Where a parser stands: an index into the input's characters and its position.
#[derive(Debug, Clone, Copy)]
pub struct State {
    at: usize,
    pos: Pos,
}

/// What a parser gives back: a value and the state after it, or nothing; whether it consumed
/// input; and the error it carries (on success, what would have let it go further).
pub struct Reply<T> {
    pub value: Option<(T, State)>,
    pub consumed: bool,
    pub error: ParseError,
}

impl<T> Reply<T> {
    fn ok(value: T, state: State, consumed: bool, error: ParseError) -> Reply<T> {
        Reply {
            value: Some((value, state)),
            consumed,
            error,
        }
    }

    fn fail(consumed: bool, error: ParseError) -> Reply<T> {
        Reply {
            value: None,
            consumed,
            error,
        }
    }

    fn map<U>(self, f: impl FnOnce(T) -> U) -> Reply<U> {
        Reply {
            value: self.value.map(|(v, s)| (f(v), s)),
            consumed: self.consumed,
            error: self.error,
        }
    }
}

/// The input, as characters (Parsec counts columns in characters).
pub struct Input {
    chars: Vec<char>,
    /// Whether failures record what they expected. Which alternative succeeds never depends on
    /// the messages, so a parse runs without them first and again with them only if it fails.
    tracking: bool,
}

impl Input {
    pub fn new(text: &str) -> Input {
        Input {
            chars: text.chars().collect(),
            tracking: true,
        }
    }

    pub fn start(&self) -> State {
        State {
            at: 0,
            pos: Pos::START,
        }
    }

    fn peek(&self, state: State) -> Option<char> {
        self.chars.get(state.at).copied()
    }

    /// An error at `pos` with `messages`, when errors are being recorded.
    fn error(&self, pos: Pos, messages: impl FnOnce() -> Messages) -> ParseError {
        ParseError {
            pos,
            messages: if self.tracking {
                messages()
            } else {
                Messages::new()
            },
        }
    }
}

/// A parser: anything that reads the input from a state.
pub trait Parser<T>: Fn(&Input, State) -> Reply<T> {}
impl<T, F: Fn(&Input, State) -> Reply<T>> Parser<T> for F {}

/// Runs a parser over a whole text (trailing input is left alone, as `Parsec.parse` leaves it).
pub fn parse<T>(parser: impl Parser<T>, text: &str) -> Result<T, ParseError> {
    let mut input = Input::new(text);
    input.tracking = false;
    if let Some((value, _)) = parser(&input, input.start()).value {
        return Ok(value);
    }
    input.tracking = true;
    let reply = parser(&input, input.start());
    match reply.value {
        Some((value, _)) => Ok(value),
        None => Err(reply.error),
    }
}

/// The steps of a `do` block, combined as Parsec's bind combines them: consumption adds up,
/// and an error a step carries is merged into the next step's unless that step consumed.
pub struct Steps {
    state: State,
    consumed: bool,
    error: ParseError,
}

impl Steps {
    pub fn new(state: State) -> Steps {
        Steps {
            state,
            consumed: false,
            error: ParseError::unknown(state.pos),
        }
    }

    /// Runs the next step; `Err` is the failed block's reply, to return at once.
    pub fn run<T, U>(&mut self, input: &Input, parser: impl Parser<T>) -> Result<T, Reply<U>> {
        let reply = parser(input, self.state);
        let carried = std::mem::replace(&mut self.error, ParseError::unknown(self.state.pos));
        let error = if reply.consumed || carried.is_unknown() {
            reply.error
        } else {
            carried.merge(reply.error)
        };
        let consumed = self.consumed || reply.consumed;
        match reply.value {
            Some((value, state)) => {
                self.state = state;
                self.consumed = consumed;
                self.error = error;
                Ok(value)
            }
            None => Err(Reply::fail(consumed, error)),
        }
    }

    pub fn done<T>(self, value: T) -> Reply<T> {
        Reply::ok(value, self.state, self.consumed, self.error)
    }
}

/// `let x = step!(steps, input, parser);`: one step of a `do` block, returning on failure.
macro_rules! step {
    ($steps:expr, $input:expr, $parser:expr) => {
        match $steps.run($input, $parser) {
            Ok(value) => value,
            Err(reply) => return reply,
        }
    };
}
pub(crate) use step;

/// Succeeds with `value`, consuming nothing.
pub fn pure<T: Clone>(value: T) -> impl Parser<T> {
    move |_: &Input, state: State| {
        Reply::ok(value.clone(), state, false, ParseError::unknown(state.pos))
    }
}

/// Parsec's `parserZero` (`guard False`): fails with no message.
pub fn zero<T>() -> impl Parser<T> {
    |_: &Input, state: State| Reply::fail(false, ParseError::unknown(state.pos))
}

/// One character satisfying `test`; a mismatch is "unexpected" with nothing expected.
pub fn satisfy(test: impl Fn(char) -> bool) -> impl Parser<char> {
    move |input: &Input, state: State| match input.peek(state) {
        Some(c) if test(c) => {
            let next = State {
                at: state.at + 1,
                pos: state.pos.after(c),
            };
            Reply::ok(c, next, true, ParseError::unknown(next.pos))
        }
        found => Reply::fail(
            false,
            input.error(state.pos, || vec![Message::SysUnExpect(found)]),
        ),
    }
}

pub fn char_(wanted: char) -> impl Parser<char> {
    labelled(satisfy(move |c| c == wanted), Label::Char(wanted))
}

pub fn letter() -> impl Parser<char> {
    label(satisfy(char::is_alphabetic), "letter")
}

pub fn digit() -> impl Parser<char> {
    label(satisfy(|c| c.is_ascii_digit()), "digit")
}

pub fn one_of(set: &'static str) -> impl Parser<char> {
    satisfy(move |c| set.contains(c))
}

pub fn none_of(set: &'static str) -> impl Parser<char> {
    satisfy(move |c| !set.contains(c))
}

pub fn any_char() -> impl Parser<char> {
    satisfy(|_| true)
}

/// Parsec's `string` (`tokens`): a mismatch anywhere is reported at the string's start, as a
/// consuming failure once the first character matched.
pub fn string(wanted: &'static str) -> impl Parser<&'static str> {
    move |input: &Input, state: State| {
        let mismatch = |found: Option<char>| {
            input.error(state.pos, || {
                vec![
                    Message::SysUnExpect(found),
                    Message::Expect(Label::Word(wanted)),
                ]
            })
        };
        let mut current = state;
        for (i, expected) in wanted.chars().enumerate() {
            match input.peek(current) {
                Some(c) if c == expected => {
                    current = State {
                        at: current.at + 1,
                        pos: current.pos.after(c),
                    };
                }
                found => return Reply::fail(i > 0, mismatch(found)),
            }
        }
        Reply::ok(
            wanted,
            current,
            !wanted.is_empty(),
            ParseError::unknown(current.pos),
        )
    }
}

/// Parsec's `try`.
pub fn attempt<T>(parser: impl Parser<T>) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let reply = parser(input, state);
        if reply.value.is_none() {
            Reply::fail(false, reply.error)
        } else {
            reply
        }
    }
}

/// Parsec's `<?>`: names what was expected where the parser failed without consuming. An empty
/// name hides the parser from "expecting" lists.
pub fn label<T>(parser: impl Parser<T>, name: &'static str) -> impl Parser<T> {
    labelled(parser, Label::Text(name))
}

fn labelled<T>(parser: impl Parser<T>, name: Label) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let mut reply = parser(input, state);
        if input.tracking && !reply.consumed && (reply.value.is_none() || !reply.error.is_unknown())
        {
            reply.error = reply.error.expecting_only(name);
        }
        reply
    }
}

/// Parsec's `<|>`.
pub fn or<T>(first: impl Parser<T>, second: impl Parser<T>) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let reply = first(input, state);
        if reply.value.is_some() || reply.consumed {
            return reply;
        }
        let other = second(input, state);
        if other.consumed {
            other
        } else {
            Reply {
                error: reply.error.merge(other.error),
                ..other
            }
        }
    }
}

/// Parsec's `choice`: the first alternative that succeeds or consumes.
pub fn choice<T, const N: usize>(alternatives: [impl Parser<T>; N]) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let mut error = ParseError::unknown(state.pos);
        for alternative in &alternatives {
            let reply = alternative(input, state);
            if reply.consumed {
                return reply;
            }
            error = error.merge(reply.error);
            if let Some(value) = reply.value {
                return Reply {
                    value: Some(value),
                    consumed: false,
                    error,
                };
            }
        }
        Reply::fail(false, error)
    }
}

/// Runs `parser` but lets none of its errors out: for grammar this gateway accepts beyond
/// PostgREST's, which must not change PostgREST's own error messages.
pub fn silent<T>(parser: impl Parser<T>) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let mut reply = parser(input, state);
        let pos = reply
            .value
            .as_ref()
            .map_or(state.pos, |(_, after)| after.pos);
        reply.error = ParseError::unknown(pos);
        reply
    }
}

/// Parsec's `lookAhead`: succeeds without consuming when `parser` succeeds.
pub fn look_ahead<T>(parser: impl Parser<T>) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let reply = parser(input, state);
        match reply.value {
            Some((value, _)) => Reply::ok(value, state, false, ParseError::unknown(state.pos)),
            None => reply,
        }
    }
}

/// Parsec's `notFollowedBy` on a character parser: fails, reporting the character as
/// unexpected, when `parser` succeeds here. Like Parsec, the failure is placed where `parser`
/// stopped.
pub fn not_followed_by(parser: impl Parser<char>) -> impl Parser<()> {
    move |input: &Input, state: State| {
        let reply = parser(input, state);
        match reply.value {
            Some((c, after)) => {
                Reply::fail(false, input.error(after.pos, || vec![Message::UnExpect(c)]))
            }
            None => Reply::ok(
                (),
                state,
                false,
                reply.error.merge(ParseError::unknown(state.pos)),
            ),
        }
    }
}

/// Parsec's `anyToken`, which takes a character without moving the position.
fn any_token() -> impl Parser<char> {
    |input: &Input, state: State| match input.peek(state) {
        Some(c) => {
            let next = State {
                at: state.at + 1,
                pos: state.pos,
            };
            Reply::ok(c, next, true, ParseError::unknown(next.pos))
        }
        None => Reply::fail(
            false,
            input.error(state.pos, || vec![Message::SysUnExpect(None)]),
        ),
    }
}

/// Parsec's `eof`.
pub fn eof() -> impl Parser<()> {
    label(not_followed_by(any_token()), "end of input")
}

pub fn map<T, U>(parser: impl Parser<T>, f: impl Fn(T) -> U) -> impl Parser<U> {
    move |input: &Input, state: State| parser(input, state).map(&f)
}

/// Parsec's `many`, for parsers that consume when they succeed, gathering into `A` (a `Vec`,
/// or a `String` of characters).
fn many_into<T, A: Default + Extend<T>>(parser: impl Parser<T>) -> impl Parser<A> {
    move |input: &Input, state: State| {
        let mut items = A::default();
        let mut consumed = false;
        let mut current = state;
        loop {
            let reply = parser(input, current);
            match reply.value {
                Some((item, next)) if reply.consumed => {
                    items.extend(Some(item));
                    consumed = true;
                    current = next;
                }
                Some(_) => unreachable!("many over a parser that succeeded without consuming"),
                None if reply.consumed => return Reply::fail(true, reply.error),
                None => return Reply::ok(items, current, consumed, reply.error),
            }
        }
    }
}

/// Parsec's `many`.
pub fn many<T>(parser: impl Parser<T>) -> impl Parser<Vec<T>> {
    many_into(parser)
}

/// Parsec's `many` over characters, gathered straight into a `String`.
pub fn many_chars(parser: impl Parser<char>) -> impl Parser<String> {
    many_into(parser)
}

/// Parsec's `many1` over characters, gathered into a `String`.
pub fn many1_chars(parser: impl Parser<char>) -> impl Parser<String> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let first = step!(steps, input, &parser);
        let mut text = step!(steps, input, many_chars(&parser));
        text.insert(0, first);
        steps.done(text)
    }
}

/// Parsec's `option`.
pub fn option<T: Clone>(default: T, parser: impl Parser<T>) -> impl Parser<T> {
    or(parser, pure(default))
}

/// Parsec's `optionMaybe`.
pub fn option_maybe<T: Clone>(parser: impl Parser<T>) -> impl Parser<Option<T>> {
    option(None, map(parser, Some))
}

/// Parsec's `sepBy1`.
pub fn sep_by1<T, S>(item: impl Parser<T>, separator: impl Parser<S>) -> impl Parser<Vec<T>> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let first = step!(steps, input, &item);
        let next = then(&separator, &item);
        let mut rest = step!(steps, input, many(next));
        rest.insert(0, first);
        steps.done(rest)
    }
}

/// Parsec's `sepBy`.
pub fn sep_by<T: Clone, S>(item: impl Parser<T>, separator: impl Parser<S>) -> impl Parser<Vec<T>> {
    or(sep_by1(item, separator), pure(Vec::new()))
}

/// Parsec's `between`.
pub fn between<A, B, T>(
    open: impl Parser<A>,
    close: impl Parser<B>,
    parser: impl Parser<T>,
) -> impl Parser<T> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        step!(steps, input, &open);
        let value = step!(steps, input, &parser);
        step!(steps, input, &close);
        steps.done(value)
    }
}

/// `first *> second`.
pub fn then<A, B>(first: impl Parser<A>, second: impl Parser<B>) -> impl Parser<B> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        step!(steps, input, &first);
        let value = step!(steps, input, &second);
        steps.done(value)
    }
}

/// `first <* second`.
pub fn before<A, B>(first: impl Parser<A>, second: impl Parser<B>) -> impl Parser<A> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let value = step!(steps, input, &first);
        step!(steps, input, &second);
        steps.done(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn failure<T>(parser: impl Parser<T>, text: &str) -> String {
        match parse(parser, text) {
            Ok(_) => panic!("{text:?} parsed"),
            Err(e) => format!("{} {}", e.position(), e.describe()),
        }
    }

    #[test]
    fn shows_like_haskell() {
        assert_eq!(show_char('['), "'['");
        assert_eq!(show_char('\''), "'\\''");
        assert_eq!(show_string("x"), "\"x\"");
        assert_eq!(show_string("a\"b\\"), "\"a\\\"b\\\\\"");
        assert_eq!(show_string("é1"), "\"\\233\\&1\"");
        assert_eq!(show_string("\n\u{e}H"), "\"\\n\\SO\\&H\"");
    }

    #[test]
    fn string_mismatches_are_reported_where_the_string_starts() {
        let not_or_digit = or(attempt(string("not")), map(digit(), |_| "digit"));
        assert_eq!(
            failure(not_or_digit, "noop"),
            "(line 1, column 1) unexpected \"o\" expecting \"not\" or digit"
        );
        assert_eq!(
            failure(string("abc"), "ab"),
            "(line 1, column 1) unexpected end of input expecting \"abc\""
        );
    }

    #[test]
    fn the_furthest_error_wins_and_labels_replace_expectations() {
        let parser = or(
            attempt(then(char_('a'), char_('b'))),
            label(char_('c'), "the letter c"),
        );
        assert_eq!(
            failure(parser, "ax"),
            "(line 1, column 2) unexpected \"x\" expecting \"b\""
        );
        let eof_after_a = then(char_('a'), eof());
        assert_eq!(
            failure(eof_after_a, "a!"),
            "(line 1, column 2) unexpected '!' expecting end of input"
        );
        assert_eq!(
            failure(then(char_('\t'), char_('x')), "\ty"),
            "(line 1, column 9) unexpected \"y\" expecting \"x\""
        );
    }
}
