//! PostgREST's query-string grammars (`ApiRequest/QueryParams.hs`), rule for rule, on the
//! Parsec-like engine in `parsec.rs`: `select`, filters, `or`/`and` logic trees, `order`,
//! `columns`/`on_conflict` and filter keys. Following the rules exactly is what makes a bad
//! parameter fail where PostgREST's fails, with the same `(line 1, column N)` and
//! `unexpected ... expecting ...` (the PostgREST parsers' doctests are the tests below).
//!
//! One deliberate difference: a cast (`::type`) may also be schema-qualified and end in `[]`,
//! as the project's issue asks; those forms are parsed without adding to "expecting" lists.

use super::cast::Cast;
use super::filter::{CompareOp, Condition, FtsKind, IsValue, Operation};
use super::order::OrderTerm;
use super::parsec::{
    any_char, attempt, before, between, char_, choice, digit, eof, label, letter, look_ahead, many,
    many1_chars, many_chars, map, none_of, not_followed_by, one_of, option, option_maybe, or,
    parse, pure, sep_by, sep_by1, silent, step, string, then, zero, Input, ParseError, Parser,
    Reply, State, Steps,
};
use super::select::{Aggregate, Field, JsonKey, JsonStep, SelectItem};
use super::EmbedPath;
use crate::error::ApiError;

/// A PGRST100 for a parameter PostgREST's parser refuses: `"failed to parse <what> (<text>)"
/// (line 1, column N)`, the Parsec message in `details`.
fn refused(what: &str, text: &str, error: &ParseError) -> ApiError {
    ApiError::query_param(
        format!("\"failed to parse {what} ({text})\" {}", error.position()),
        error.describe(),
    )
}

/// `select=`.
pub fn select(text: &str) -> Result<Vec<SelectItem>, ApiError> {
    parse(field_forest, text)
        .map_err(|e| refused("select parameter", text, &e))?
        .into_iter()
        .map(|item| item.finish(text))
        .collect()
}

/// The value of a filter: `[not.]operator.value`.
pub fn filter(text: &str) -> Result<(bool, Operation), ApiError> {
    parse(op_expr(single_value), text).map_err(|e| refused("filter", text, &e))
}

/// The value of `or=`/`and=` (and `not.or=`, `not.and=`): PostgREST parses the operator and the
/// value together, `or(a.eq.1,...)`, so columns count from the operator's first letter.
pub fn logic_tree(operator: &str, value: &str) -> Result<Condition, ApiError> {
    parse(logic, &format!("{operator}{value}")).map_err(|e| refused("logic tree", value, &e))
}

/// `order=`.
pub fn order(text: &str) -> Result<Vec<OrderTerm>, ApiError> {
    parse(order_terms, text).map_err(|e| refused("order", text, &e))
}

/// `columns=` and `on_conflict=`: column names.
pub fn columns(parameter: &str, text: &str) -> Result<Vec<String>, ApiError> {
    parse(sep_by1(field_name, lexeme(char_(','))), text)
        .map_err(|e| refused(&format!("{parameter} parameter"), text, &e))
}

/// A filter's key: `embed.path.column->json->path`.
pub fn tree_path(key: &str) -> Result<(EmbedPath, Field), ApiError> {
    let steps = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let mut names = step!(steps, input, sep_by1(field_name, delimiter));
        let json_path = step!(steps, input, option(Vec::new(), json_path));
        let name = names.pop().unwrap_or_default();
        steps.done((names, Field { name, json_path }))
    };
    parse(steps, key).map_err(|e| refused("tree path", key, &e))
}

// ---- Tokens -----------------------------------------------------------------------------

fn ws(input: &Input, state: State) -> Reply<String> {
    many_chars(one_of(" \t"))(input, state)
}

/// `ws *> p <* ws`.
fn lexeme<T>(parser: impl Parser<T>) -> impl Parser<T> {
    then(ws, before(parser, ws))
}

fn delimiter(input: &Input, state: State) -> Reply<char> {
    label(char_('.'), "delimiter (.)")(input, state)
}

fn quoted_value(input: &Input, state: State) -> Reply<String> {
    let char_or_escaped = or(none_of("\\\""), then(char_('\\'), any_char()));
    between(char_('"'), char_('"'), many_chars(char_or_escaped))(input, state)
}

/// Without surrounding spaces, as PostgREST's `T.strip`.
fn trimmed(mut text: String) -> String {
    let end = text.trim_end().len();
    text.truncate(end);
    let start = text.len() - text.trim_start().len();
    text.drain(..start);
    text
}

fn identifier(input: &Input, state: State) -> Reply<String> {
    let identifier_char = or(or(letter(), digit()), one_of("_ $"));
    map(many1_chars(identifier_char), trimmed)(input, state)
}

/// Names joined by dashes that do not start an arrow: `my-column`, but `a->b` is `a`.
fn separated_by_dash(name: impl Parser<String>) -> impl Parser<String> {
    let dash = attempt(then(char_('-'), not_followed_by(char_('>'))));
    map(sep_by1(name, dash), |mut parts| {
        if parts.len() == 1 {
            parts.pop().unwrap_or_default()
        } else {
            parts.join("-")
        }
    })
}

fn field_name(input: &Input, state: State) -> Reply<String> {
    label(
        or(quoted_value, separated_by_dash(identifier)),
        "field name (* or [a..z0..9_$])",
    )(input, state)
}

fn json_key_name(input: &Input, state: State) -> Reply<String> {
    let key_identifier = map(many1_chars(none_of("(-:.,>)")), trimmed);
    label(
        or(quoted_value, separated_by_dash(key_identifier)),
        "any non reserved character different from: .,>()",
    )(input, state)
}

fn json_path(input: &Input, state: State) -> Reply<Vec<JsonStep>> {
    many(json_operation)(input, state)
}

/// `->key`, `->>key`, `->0`, `->>-1`.
fn json_operation(input: &Input, state: State) -> Reply<JsonStep> {
    let arrow = or(
        attempt(map(string("->>"), |_| true)),
        attempt(map(string("->"), |_| false)),
    );
    let mut steps = Steps::new(state);
    let text = step!(steps, input, arrow);
    let key = step!(
        steps,
        input,
        or(
            attempt(json_index),
            attempt(map(json_key_name, JsonKey::Key))
        )
    );
    steps.done(if text {
        JsonStep::DoubleArrow(key)
    } else {
        JsonStep::Arrow(key)
    })
}

/// An array index, which must end where a key would: before `->`, `::`, `.`, `,` or the end.
fn json_index(input: &Input, state: State) -> Reply<JsonKey> {
    let end = or(
        or(
            or(
                attempt(look_ahead(string("->"))),
                attempt(look_ahead(string("::"))),
            ),
            or(
                attempt(look_ahead(string("."))),
                attempt(look_ahead(string(","))),
            ),
        ),
        attempt(map(eof(), |_| "")),
    );
    let mut steps = Steps::new(state);
    let sign = step!(steps, input, option('+', char_('-')));
    let digits = step!(steps, input, many1_chars(digit()));
    step!(steps, input, end);
    steps.done(JsonKey::Index(format!("{sign}{digits}")))
}

fn field(input: &Input, state: State) -> Reply<Field> {
    let name_and_path = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let name = step!(steps, input, field_name);
        let json_path = step!(steps, input, option(Vec::new(), json_path));
        steps.done(Field { name, json_path })
    };
    lexeme(name_and_path)(input, state)
}

fn alias_separator(input: &Input, state: State) -> Reply<()> {
    then(char_(':'), not_followed_by(char_(':')))(input, state)
}

/// `alias:` before a field or an embed.
fn alias(input: &Input, state: State) -> Reply<Option<String>> {
    option_maybe(attempt(before(field_name, alias_separator)))(input, state)
}

/// What follows `::`: PostgREST's identifier (letters, digits, `_`, ` `, `$`) and, beyond
/// PostgREST, `.name` after it (a schema-qualified type; `.sum()` stays an aggregate) and `[]`,
/// parsed silently so that PostgREST's error messages stay as they are.
fn cast_type(input: &Input, state: State) -> Reply<String> {
    let qualified = attempt(then(
        char_('.'),
        before(identifier, not_followed_by(char_('('))),
    ));
    let mut steps = Steps::new(state);
    let mut name = step!(steps, input, identifier);
    if let Some(inner) = step!(steps, input, silent(option_maybe(qualified))) {
        name = format!("{name}.{inner}");
    }
    let brackets = step!(steps, input, silent(many(attempt(string("[]")))));
    steps.done(format!("{name}{}", "[]".repeat(brackets.len())))
}

fn optional_cast(input: &Input, state: State) -> Reply<Option<String>> {
    option_maybe(then(string("::"), cast_type))(input, state)
}

// ---- select -----------------------------------------------------------------------------

/// A select item as parsed, before its casts are checked.
#[derive(Debug, Clone)]
enum Parsed {
    Star,
    Column {
        field: Field,
        alias: Option<String>,
        cast: Option<String>,
        aggregate: Option<Aggregate>,
        aggregate_cast: Option<String>,
    },
    Embed {
        name: String,
        alias: Option<String>,
        hint: Option<String>,
        inner: bool,
        spread: bool,
        children: Vec<Parsed>,
    },
}

impl Parsed {
    /// Casts must name a type (`request/cast.rs`); anything else is refused here.
    fn finish(self, text: &str) -> Result<SelectItem, ApiError> {
        let check = |cast: Option<String>| -> Result<Option<Cast>, ApiError> {
            cast.map(|c| {
                Cast::parse(&c).ok_or_else(|| {
                    ApiError::query_param(
                        format!("\"failed to parse select parameter ({text})\""),
                        format!("'{c}' is not a type name; a cast takes a type, optionally schema-qualified, with optional []"),
                    )
                })
            })
            .transpose()
        };
        Ok(match self {
            Parsed::Star => SelectItem::Star,
            Parsed::Column {
                field,
                alias,
                cast,
                aggregate,
                aggregate_cast,
            } => SelectItem::Column {
                field,
                alias,
                cast: check(cast)?,
                aggregate,
                aggregate_cast: check(aggregate_cast)?,
            },
            Parsed::Embed {
                name,
                alias,
                hint,
                inner,
                spread,
                children,
            } => SelectItem::Embed {
                name,
                alias,
                hint,
                inner,
                spread,
                children: children
                    .into_iter()
                    .map(|c| c.finish(text))
                    .collect::<Result<_, _>>()?,
            },
        })
    }
}

fn field_forest(input: &Input, state: State) -> Reply<Vec<Parsed>> {
    sep_by(field_tree, lexeme(char_(',')))(input, state)
}

fn field_tree(input: &Input, state: State) -> Reply<Parsed> {
    let embedded = |head: fn(&Input, State) -> Reply<Parsed>| {
        move |input: &Input, state: State| {
            let mut steps = Steps::new(state);
            let mut embed = step!(steps, input, attempt(head));
            let children = step!(steps, input, between(char_('('), char_(')'), field_forest));
            if let Parsed::Embed { children: c, .. } = &mut embed {
                *c = children;
            }
            steps.done(embed)
        }
    };
    or(
        or(embedded(spread_relation), embedded(relation)),
        field_select,
    )(input, state)
}

/// `!hint` and `!inner`/`!left`, in either order.
fn embed_params(input: &Input, state: State) -> Reply<(Option<String>, bool)> {
    #[derive(Clone)]
    enum Param {
        Inner(bool),
        Hint(String),
    }
    let param = then(
        char_('!'),
        or(
            or(
                attempt(map(string("left"), |_| Param::Inner(false))),
                attempt(map(string("inner"), |_| Param::Inner(true))),
            ),
            attempt(map(field_name, Param::Hint)),
        ),
    );
    let mut steps = Steps::new(state);
    let first = step!(steps, input, option_maybe(&param));
    let second = step!(steps, input, option_maybe(&param));
    let params = [first, second];
    let hint = params.iter().find_map(|p| match p {
        Some(Param::Hint(h)) => Some(h.clone()),
        _ => None,
    });
    let inner = params.iter().find_map(|p| match p {
        Some(Param::Inner(inner)) => Some(*inner),
        _ => None,
    });
    steps.done((hint, inner.unwrap_or(false)))
}

fn opens_embed(input: &Input, state: State) -> Reply<&'static str> {
    attempt(look_ahead(string("(")))(input, state)
}

fn relation(input: &Input, state: State) -> Reply<Parsed> {
    let head = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let alias = step!(steps, input, alias);
        let name = step!(steps, input, field_name);
        if name == "count" {
            step!(steps, input, zero::<()>());
        }
        let (hint, inner) = step!(steps, input, embed_params);
        step!(steps, input, opens_embed);
        steps.done(Parsed::Embed {
            name,
            alias,
            hint,
            inner,
            spread: false,
            children: Vec::new(),
        })
    };
    lexeme(head)(input, state)
}

fn spread_relation(input: &Input, state: State) -> Reply<Parsed> {
    let head = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let name = step!(steps, input, then(string("..."), field_name));
        let (hint, inner) = step!(steps, input, embed_params);
        step!(steps, input, opens_embed);
        steps.done(Parsed::Embed {
            name,
            alias: None,
            hint,
            inner,
            spread: true,
            children: Vec::new(),
        })
    };
    lexeme(head)(input, state)
}

/// The end of a select item: `)`, `,` or the end of the input, without consuming it.
fn item_end(input: &Input, state: State) -> Reply<()> {
    let ahead = |s: &'static str| attempt(map(look_ahead(string(s)), |_| ()));
    or(or(ahead(")"), ahead(",")), attempt(eof()))(input, state)
}

fn aggregation(input: &Input, state: State) -> Reply<Aggregate> {
    // `max` and `min` share their first letter, hence their `try`, as in PostgREST.
    let plain = |text, aggregate| keyword(text, aggregate);
    let tried = |text, aggregate| attempt(keyword(text, aggregate));
    or(
        choice([
            plain("sum", Aggregate::Sum),
            plain("avg", Aggregate::Avg),
            plain("count", Aggregate::Count),
        ]),
        choice([tried("max", Aggregate::Max), tried("min", Aggregate::Min)]),
    )(input, state)
}

fn field_select(input: &Input, state: State) -> Reply<Parsed> {
    let star = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        step!(steps, input, string("*"));
        step!(steps, input, item_end);
        steps.done(Parsed::Star)
    };
    let count = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let alias = step!(steps, input, alias);
        step!(steps, input, string("count()"));
        let aggregate_cast = step!(steps, input, optional_cast);
        step!(steps, input, item_end);
        steps.done(Parsed::Column {
            field: Field {
                name: "*".to_string(),
                json_path: Vec::new(),
            },
            alias,
            cast: None,
            aggregate: Some(Aggregate::Count),
            aggregate_cast,
        })
    };
    let column = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let alias = step!(steps, input, alias);
        let field = step!(steps, input, field);
        let cast = step!(steps, input, optional_cast);
        let aggregate = step!(
            steps,
            input,
            option_maybe(attempt(then(char_('.'), before(aggregation, string("()")))))
        );
        let aggregate_cast = step!(steps, input, optional_cast);
        step!(steps, input, item_end);
        steps.done(Parsed::Column {
            field,
            alias,
            cast,
            aggregate,
            aggregate_cast,
        })
    };
    lexeme(or(or(attempt(star), attempt(count)), column))(input, state)
}

// ---- filters and logic trees ------------------------------------------------------------

/// A case-insensitive word, letter by letter (Parsec's `traverse ciChar`).
fn any_case(word: &'static str) -> impl Parser<&'static str> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        for c in word.chars() {
            step!(steps, input, or(char_(c), char_(c.to_ascii_uppercase())));
        }
        steps.done(word)
    }
}

/// `string text $> value`.
fn keyword<T: Clone>(text: &'static str, value: T) -> impl Parser<T> {
    map(string(text), move |_| value.clone())
}

/// `try (string text $> value)`.
fn word<T: Clone>(text: &'static str, value: T) -> impl Parser<T> {
    attempt(keyword(text, value))
}

/// `try "a" <|> try "b" <|> ...` over a table of words.
fn first_word<T: Clone, const N: usize>(words: [(&'static str, T); N]) -> impl Parser<T> {
    choice(words.map(|(text, value)| word(text, value)))
}

fn simple_operator(input: &Input, state: State) -> Reply<CompareOp> {
    let operators = [
        ("neq", CompareOp::Neq),
        ("cs", CompareOp::Contains),
        ("cd", CompareOp::ContainedIn),
        ("ov", CompareOp::Overlaps),
        ("sl", CompareOp::StrictlyLeft),
        ("sr", CompareOp::StrictlyRight),
        ("nxr", CompareOp::NotExtendRight),
        ("nxl", CompareOp::NotExtendLeft),
        ("adj", CompareOp::Adjacent),
    ];
    label(first_word(operators), "unknown single value operator")(input, state)
}

fn quantifiable_operator(input: &Input, state: State) -> Reply<CompareOp> {
    let operators = [
        ("eq", CompareOp::Eq),
        ("gte", CompareOp::Gte),
        ("gt", CompareOp::Gt),
        ("lte", CompareOp::Lte),
        ("lt", CompareOp::Lt),
        ("like", CompareOp::Like),
        ("ilike", CompareOp::Ilike),
        ("match", CompareOp::Match),
        ("imatch", CompareOp::Imatch),
    ];
    label(first_word(operators), "unknown single value operator")(input, state)
}

/// `[not.]operator.value` with `value` read by `value_parser` (the rest of a filter's value, or
/// one value of a logic tree).
fn op_expr(value_parser: fn(&Input, State) -> Reply<String>) -> impl Parser<(bool, Operation)> {
    move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let negated = step!(
            steps,
            input,
            or(
                attempt(map(then(string("not"), delimiter), |_| true)),
                pure(false)
            )
        );
        let operation = step!(
            steps,
            input,
            label(operation(value_parser), "operator (eq, gt, ...)")
        );
        steps.done((negated, operation))
    }
}

fn operation(value_parser: fn(&Input, State) -> Reply<String>) -> impl Parser<Operation> {
    let in_list = then(
        attempt(then(string("in"), delimiter)),
        map(list_values, |values| {
            // `in.()` parses as one empty element: an empty list, as PostgREST's `= ANY('{}')`.
            if values.len() == 1 && values[0].is_empty() {
                Operation::In(Vec::new())
            } else {
                Operation::In(values)
            }
        }),
    );
    let is = then(
        attempt(then(string("is"), delimiter)),
        map(is_value, Operation::Is),
    );
    let is_distinct = then(
        attempt(then(string("isdistinct"), delimiter)),
        map(value_parser, |value| Operation::Compare {
            op: CompareOp::IsDistinct,
            value,
        }),
    );
    let fts = move |input: &Input, state: State| {
        let kinds = [
            ("fts", FtsKind::ToTsquery),
            ("plfts", FtsKind::Plain),
            ("phfts", FtsKind::Phrase),
            ("wfts", FtsKind::Websearch),
        ];
        let mut steps = Steps::new(state);
        let kind = step!(steps, input, first_word(kinds));
        let language = step!(
            steps,
            input,
            option_maybe(attempt(between(char_('('), char_(')'), identifier)))
        );
        step!(steps, input, delimiter);
        let value = step!(steps, input, value_parser);
        steps.done(Operation::Fts {
            kind,
            language,
            value,
        })
    };
    let simple = move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let op = step!(steps, input, simple_operator);
        step!(steps, input, delimiter);
        let value = step!(steps, input, value_parser);
        steps.done(Operation::Compare { op, value })
    };
    let quantified = move |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let op = step!(steps, input, quantifiable_operator);
        let quantifier = step!(
            steps,
            input,
            option_maybe(attempt(between(
                char_('('),
                char_(')'),
                or(word("any", false), keyword("all", true))
            )))
        );
        step!(steps, input, delimiter);
        let value = step!(steps, input, value_parser);
        let value = if matches!(op, CompareOp::Like | CompareOp::Ilike) {
            value.replace('*', "%")
        } else {
            value
        };
        steps.done(match quantifier {
            None => Operation::Compare { op, value },
            Some(all) => Operation::Quantified {
                op,
                all,
                array_literal: value,
            },
        })
    };
    or(
        or(or(or(in_list, is), is_distinct), attempt(fts)),
        or(attempt(simple), attempt(quantified)),
    )
}

fn is_value(input: &Input, state: State) -> Reply<IsValue> {
    let values = [
        ("null", IsValue::Null),
        ("not_null", IsValue::NotNull),
        ("true", IsValue::True),
        ("false", IsValue::False),
        ("unknown", IsValue::Unknown),
    ];
    let alternatives = values.map(|(text, value)| attempt(map(any_case(text), move |_| value)));
    label(
        choice(alternatives),
        "isVal: (null, not_null, true, false, unknown)",
    )(input, state)
}

/// The rest of a plain filter's value.
fn single_value(input: &Input, state: State) -> Reply<String> {
    many_chars(any_char())(input, state)
}

/// A quoted value that ends at `,` or `)`.
fn quoted_element(input: &Input, state: State) -> Reply<String> {
    attempt(before(quoted_value, not_followed_by(none_of(",)"))))(input, state)
}

fn unquoted_element(input: &Input, state: State) -> Reply<String> {
    many_chars(none_of(",)"))(input, state)
}

fn list_values(input: &Input, state: State) -> Reply<Vec<String>> {
    then(
        lexeme(char_('(')),
        before(
            sep_by1(or(quoted_element, unquoted_element), char_(',')),
            lexeme(char_(')')),
        ),
    )(input, state)
}

/// One value in a logic tree: quoted, a `{...}` array literal, or up to `,`/`)`.
fn logic_value(input: &Input, state: State) -> Reply<String> {
    let array = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        step!(steps, input, string("{"));
        let body = step!(steps, input, many_chars(none_of("{}")));
        step!(steps, input, string("}"));
        steps.done(format!("{{{body}}}"))
    };
    or(or(quoted_element, attempt(array)), unquoted_element)(input, state)
}

/// A logic tree: a filter, or `[not.]and|or(...)` of logic trees.
fn logic(input: &Input, state: State) -> Reply<Condition> {
    let filter = |input: &Input, state: State| {
        let mut steps = Steps::new(state);
        let field = step!(steps, input, field);
        step!(steps, input, delimiter);
        let (negated, operation) = step!(steps, input, op_expr(logic_value));
        steps.done(Condition::Filter {
            field,
            negated,
            operation,
        })
    };
    let tree = |input: &Input, state: State| {
        let not = label(
            or(
                attempt(map(then(string("not"), delimiter), |_| true)),
                pure(false),
            ),
            "negation operator (not)",
        );
        let operator = label(
            or(word("and", true), keyword("or", false)),
            "logic operator (and, or)",
        );
        let mut steps = Steps::new(state);
        let negated = step!(steps, input, not);
        let and = step!(steps, input, operator);
        step!(steps, input, lexeme(char_('(')));
        let children = step!(steps, input, sep_by1(logic, lexeme(char_(','))));
        step!(steps, input, lexeme(char_(')')));
        steps.done(Condition::Logic {
            and,
            negated,
            children,
        })
    };
    or(attempt(filter), tree)(input, state)
}

// ---- order ------------------------------------------------------------------------------

fn order_terms(input: &Input, state: State) -> Reply<Vec<OrderTerm>> {
    sep_by1(
        lexeme(or(attempt(related_order_term), order_term)),
        char_(','),
    )(input, state)
}

fn order_term(input: &Input, state: State) -> Reply<OrderTerm> {
    let mut steps = Steps::new(state);
    let field = step!(steps, input, field);
    let descending = step!(steps, input, option_maybe(order_direction));
    let nulls_first = step!(steps, input, order_nulls_then_end);
    steps.done(OrderTerm {
        relation: None,
        field,
        descending,
        nulls_first,
    })
}

/// `relation(column)`, ordering by a column of an embedded to-one relation.
fn related_order_term(input: &Input, state: State) -> Reply<OrderTerm> {
    let mut steps = Steps::new(state);
    let relation = step!(steps, input, field_name);
    let field = step!(steps, input, between(char_('('), char_(')'), field));
    let descending = step!(steps, input, option_maybe(order_direction));
    let nulls_first = step!(steps, input, order_nulls_then_end);
    steps.done(OrderTerm {
        relation: Some(relation),
        field,
        descending,
        nulls_first,
    })
}

/// `.asc` (false) or `.desc` (true).
fn order_direction(input: &Input, state: State) -> Reply<bool> {
    or(
        attempt(then(delimiter, keyword("asc", false))),
        attempt(then(delimiter, keyword("desc", true))),
    )(input, state)
}

/// `[.nullsfirst|.nullslast]` and the end of the term (a `,` ahead, or the end of the input).
fn order_nulls_then_end(input: &Input, state: State) -> Reply<Option<bool>> {
    let end = || or(attempt(map(look_ahead(char_(',')), |_| ())), attempt(eof()));
    let nulls = or(
        attempt(then(delimiter, keyword("nullsfirst", true))),
        attempt(then(delimiter, keyword("nullslast", false))),
    );
    or(before(option_maybe(nulls), end()), map(end(), |_| None))(input, state)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `(line 1, column N) details`, as PostgREST's doctests show a failed parse.
    fn failure<T: std::fmt::Debug>(parser: impl Parser<T>, text: &str) -> String {
        match parse(parser, text) {
            Ok(value) => panic!("{text:?} parsed as {value:?}"),
            Err(e) => format!("{} {}", e.position(), e.describe()),
        }
    }

    #[test]
    fn select_failures_match_postgrest() {
        assert_eq!(
            failure(field_forest, "id,clients(name[])"),
            "(line 1, column 16) unexpected '[' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input"
        );
        assert_eq!(
            failure(field_forest, "data->>-78xy"),
            "(line 1, column 11) unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input"
        );
        assert_eq!(
            failure(field_name, ":"),
            "(line 1, column 1) unexpected \":\" expecting field name (* or [a..z0..9_$])"
        );
        assert_eq!(
            failure(json_path, "->>-78xy"),
            "(line 1, column 7) unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input"
        );
        assert_eq!(
            failure(json_path, "->>--34"),
            "(line 1, column 5) unexpected \"-\" expecting digit"
        );
        assert_eq!(
            failure(json_path, "->>-xy-4"),
            "(line 1, column 5) unexpected \"x\" expecting digit"
        );
        assert_eq!(
            failure(relation, "rel->jsonpath(*)"),
            "(line 1, column 6) unexpected '>'"
        );
        assert_eq!(
            failure(relation, "rel->jsonpath!hint(*)"),
            "(line 1, column 6) unexpected '>'"
        );
        assert_eq!(
            failure(field_select, "name!hint"),
            "(line 1, column 5) unexpected '!' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input"
        );
        assert_eq!(
            failure(field_select, "*!hint"),
            "(line 1, column 2) unexpected '!' expecting \")\", \",\" or end of input"
        );
        assert_eq!(
            failure(field_select, "name::"),
            "(line 1, column 7) unexpected end of input expecting letter or digit"
        );
        assert_eq!(
            failure(spread_relation, "rel(*)"),
            "(line 1, column 1) unexpected \"r\" expecting \"...\""
        );
        assert_eq!(
            failure(spread_relation, "alias:...rel(*)"),
            "(line 1, column 1) unexpected \"a\" expecting \"...\""
        );
        assert_eq!(
            failure(spread_relation, "...rel->jsonpath(*)"),
            "(line 1, column 9) unexpected '>'"
        );
    }

    #[test]
    fn select_parses_like_postgrest() {
        let items = parse(field_forest, "*,...client(*),other(*)").unwrap();
        assert!(matches!(items[1], Parsed::Embed { spread: true, .. }));
        assert!(parse(field_forest, "").unwrap().is_empty());
        // A first item that fails without consuming ends `sepBy` with nothing: PostgREST then
        // selects every column.
        assert!(parse(field_forest, "...name").unwrap().is_empty());
        let items = parse(
            field_forest,
            "alias:rel!inner!hint(*),x:name->>!@#$%^&*_a::cast",
        )
        .unwrap();
        match &items[0] {
            Parsed::Embed {
                name,
                alias,
                hint,
                inner,
                ..
            } => {
                assert_eq!(
                    (name.as_str(), alias.as_deref(), hint.as_deref(), *inner),
                    ("rel", Some("alias"), Some("hint"), true)
                )
            }
            other => panic!("{other:?}"),
        }
        match &items[1] {
            Parsed::Column { field, cast, .. } => {
                assert_eq!(
                    field.json_path,
                    vec![JsonStep::DoubleArrow(JsonKey::Key("!@#$%^&*_a".into()))]
                );
                assert_eq!(cast.as_deref(), Some("cast"));
            }
            other => panic!("{other:?}"),
        }
        // Beyond PostgREST: schema-qualified and array casts.
        match &parse(field_forest, "a::public.mood[],b::numeric.sum()::int").unwrap()[..] {
            [Parsed::Column { cast: a, .. }, Parsed::Column {
                cast: b,
                aggregate,
                aggregate_cast,
                ..
            }] => {
                assert_eq!(a.as_deref(), Some("public.mood[]"));
                assert_eq!(b.as_deref(), Some("numeric"));
                assert_eq!(*aggregate, Some(Aggregate::Sum));
                assert_eq!(aggregate_cast.as_deref(), Some("int"));
            }
            other => panic!("{other:?}"),
        }
        // `count` cannot name a relation, so `count()` is the aggregate.
        assert!(matches!(
            &parse(field_forest, "count()").unwrap()[0],
            Parsed::Column {
                aggregate: Some(Aggregate::Count),
                ..
            }
        ));
        assert!(matches!(
            &parse(field_forest, "x:id.min(),y:id.max()").unwrap()[1],
            Parsed::Column {
                aggregate: Some(Aggregate::Max),
                ..
            }
        ));
    }

    #[test]
    fn filter_failures_match_postgrest() {
        let expr = op_expr(single_value);
        assert_eq!(
            failure(&expr, "noop.0"),
            "(line 1, column 1) unexpected \"o\" expecting \"not\" or operator (eq, gt, ...)"
        );
        assert_eq!(
            failure(&expr, "val"),
            "(line 1, column 1) unexpected \"v\" expecting \"not\" or operator (eq, gt, ...)"
        );
        let bare = label(operation(single_value), "operator (eq, gt, ...)");
        assert_eq!(
            failure(&bare, "fts().value"),
            "(line 1, column 5) unexpected \")\" expecting operator (eq, gt, ...)"
        );
        assert_eq!(
            failure(&bare, "eq().value"),
            "(line 1, column 4) unexpected \")\" expecting operator (eq, gt, ...)"
        );
        assert_eq!(
            failure(&bare, "is().value"),
            "(line 1, column 3) unexpected \"(\" expecting operator (eq, gt, ...)"
        );
        assert_eq!(
            failure(&bare, "in().value"),
            "(line 1, column 3) unexpected \"(\" expecting operator (eq, gt, ...)"
        );
    }

    #[test]
    fn filters_parse_like_postgrest() {
        let (negated, operation) = parse(op_expr(single_value), "not.eq(all).value").unwrap();
        assert!(negated);
        assert_eq!(
            operation,
            Operation::Quantified {
                op: CompareOp::Eq,
                all: true,
                array_literal: "value".into()
            }
        );
        let (_, in_list) = parse(op_expr(single_value), "in.(1,\"b,c\",3)").unwrap();
        assert_eq!(
            in_list,
            Operation::In(vec!["1".into(), "b,c".into(), "3".into()])
        );
        assert_eq!(
            parse(op_expr(single_value), "in.()").unwrap().1,
            Operation::In(Vec::new())
        );
        assert_eq!(
            parse(op_expr(single_value), "is.NULL").unwrap().1,
            Operation::Is(IsValue::Null)
        );
        assert_eq!(
            parse(op_expr(single_value), "isdistinct.5").unwrap().1,
            Operation::Compare {
                op: CompareOp::IsDistinct,
                value: "5".into()
            }
        );
        assert_eq!(
            parse(op_expr(single_value), "like.*a.b*").unwrap().1,
            Operation::Compare {
                op: CompareOp::Like,
                value: "%a.b%".into()
            }
        );
        assert!(matches!(
            parse(op_expr(single_value), "wfts(english).cat dog").unwrap().1,
            Operation::Fts { kind: FtsKind::Websearch, language: Some(ref l), .. } if l == "english"
        ));
    }

    #[test]
    fn logic_tree_failures_match_postgrest() {
        assert_eq!(
            failure(logic, "or()"),
            "(line 1, column 4) unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)"
        );
        assert_eq!(
            failure(logic, "or(id.in.1,2,id.eq.3)"),
            "(line 1, column 10) unexpected \"1\" expecting \"(\""
        );
        assert_eq!(
            failure(logic, "or)("),
            "(line 1, column 3) unexpected \")\" expecting \"(\""
        );
        assert_eq!(
            failure(logic, "and(ord(id.eq.1,id.eq.1),id.eq.2)"),
            "(line 1, column 7) unexpected \"d\" expecting \"(\""
        );
        assert_eq!(
            failure(logic, "or(id.eq.1,not.xor(id.eq.2,id.eq.3))"),
            "(line 1, column 16) unexpected \"x\" expecting logic operator (and, or)"
        );
    }

    #[test]
    fn logic_trees_parse_like_postgrest() {
        let tree = parse(
            logic,
            "not.or(a.eq.1,and(b.gt.2,c.in.(1,2)),d.eq.\"x,y\",e.cs.{1,2})",
        )
        .unwrap();
        let Condition::Logic {
            and: false,
            negated: true,
            children,
        } = tree
        else {
            panic!("{tree:?}")
        };
        assert_eq!(children.len(), 4);
        assert!(matches!(
            &children[2],
            Condition::Filter { operation: Operation::Compare { value, .. }, .. } if value == "x,y"
        ));
        assert!(matches!(
            &children[3],
            Condition::Filter { operation: Operation::Compare { value, .. }, .. } if value == "{1,2}"
        ));
    }

    #[test]
    fn order_failures_match_postgrest() {
        let cases = [
            ("clients(name,id)", "(line 1, column 8) unexpected '(' expecting letter, digit, \"-\", \"->>\", \"->\", delimiter (.), \",\" or end of input"),
            ("id.ac", "(line 1, column 4) unexpected \"c\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
            ("id.descc", "(line 1, column 8) unexpected 'c' expecting delimiter (.), \",\" or end of input"),
            ("id.nulsfist", "(line 1, column 4) unexpected \"n\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
            ("id.nullslasttt", "(line 1, column 13) unexpected 't' expecting \",\" or end of input"),
            ("id.smth34", "(line 1, column 4) unexpected \"s\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\""),
            ("id.asc.nlsfst", "(line 1, column 8) unexpected \"l\" expecting \"nullsfirst\" or \"nullslast\""),
            ("id.asc.nullslasttt", "(line 1, column 17) unexpected 't' expecting \",\" or end of input"),
            ("id.asc.smth34", "(line 1, column 8) unexpected \"s\" expecting \"nullsfirst\" or \"nullslast\""),
        ];
        for (text, expected) in cases {
            assert_eq!(failure(order_terms, text), expected, "{text}");
        }
    }

    #[test]
    fn orders_parse_like_postgrest() {
        let terms = parse(
            order_terms,
            "name.desc.nullsfirst,json_col->key.asc.nullslast,clients(json_col->key).desc,id",
        )
        .unwrap();
        assert_eq!(terms.len(), 4);
        assert_eq!(
            (terms[0].descending, terms[0].nulls_first),
            (Some(true), Some(true))
        );
        assert_eq!(terms[1].field.json_path.len(), 1);
        assert_eq!(terms[2].relation.as_deref(), Some("clients"));
        assert_eq!(terms[3].descending, None);
    }

    #[test]
    fn messages_name_the_parameter_and_position() {
        let error = select("id,clients(name[])").unwrap_err();
        assert_eq!(
            error.message,
            "\"failed to parse select parameter (id,clients(name[]))\" (line 1, column 16)"
        );
        let error = logic_tree("or", "(id.in.1,2)").unwrap_err();
        assert_eq!(
            error.message,
            "\"failed to parse logic tree ((id.in.1,2))\" (line 1, column 10)"
        );
        assert_eq!(error.details.unwrap(), "unexpected \"1\" expecting \"(\"");
        assert_eq!(
            tree_path("a.b->c").unwrap(),
            (
                vec!["a".to_string()],
                Field {
                    name: "b".into(),
                    json_path: vec![JsonStep::Arrow(JsonKey::Key("c".into()))]
                }
            )
        );
        assert!(select("id::int is not null or true").is_err());
    }
}
