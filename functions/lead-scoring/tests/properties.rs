//! Properties that must hold for any lead and any valid rule set: the score stays within
//! 0..=100 and agrees with its breakdown, adding a positive rule never lowers it, and decay
//! only ever takes points away. Native only (proptest does not run under wasm-bindgen-test).
#![cfg(not(target_arch = "wasm32"))]

use lead_scoring::{HalfLife, Lead, RuleSet, Timestamp};
use proptest::prelude::*;
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;
const NOW_MILLIS: i64 = 1_772_366_400_000; // 2026-03-01T12:00:00Z

const TAGS: [&str; 12] = [
    "probate",
    "Probate",
    "tax delinquent",
    "vacant",
    "pre-foreclosure",
    "high_equity",
    "divorce",
    "tired landlord",
    "code violations",
    "cash buyer",
    "",
    "hot",
];
const SOURCES: [&str; 6] = [
    "referral",
    "Direct Mail",
    "website",
    "purchased list",
    "",
    "cold call",
];
const EMAILS: [&str; 4] = [
    "owner@example.com",
    "n/a",
    "jane@",
    "heir@mail.example.co.uk",
];
const PHONES: [&str; 4] = ["(512) 555-0142", "555-CALL", "+44 20 7946 0958", "911"];
const STATUSES: [&str; 5] = ["new", "active", "qualified", "unqualified", "closed"];
const OPT_STATUSES: [&str; 3] = ["opted_in", "opted_out", "pending"];

fn timestamp_days_ago(days: i64) -> String {
    Timestamp::from_unix_millis(NOW_MILLIS - days * DAY).to_rfc3339()
}

fn optional<T: std::fmt::Debug + Clone + 'static>(
    strategy: impl Strategy<Value = T> + 'static,
) -> BoxedStrategy<Option<T>> {
    prop_oneof![1 => Just(None), 3 => strategy.prop_map(Some)].boxed()
}

fn any_lead() -> impl Strategy<Value = Value> {
    (
        (
            prop::sample::select(&STATUSES[..]),
            optional(prop::sample::select(&OPT_STATUSES[..])),
            prop::collection::vec(prop::sample::select(&TAGS[..]), 0..5),
            optional(prop::sample::select(&EMAILS[..])),
            optional(prop::sample::select(&PHONES[..])),
            optional(prop::sample::select(&SOURCES[..])),
            optional(Just("Oak Street Holdings LLC")),
        ),
        (
            prop::bool::weighted(0.1),
            0u32..12,
            optional(-5i64..400),
            optional(-5i64..400),
            optional(-5i64..400),
        ),
    )
        .prop_map(|((status, opt_status, tags, email, phone, source, company), (deleted, notes, created, updated, contacted))| {
            json!({
                "status": status, "opt_status": opt_status, "tags": tags, "email": email, "phone": phone,
                "source": source, "company": company, "is_deleted": deleted, "notes_count": notes,
                "created_at": created.map(timestamp_days_ago), "updated_at": updated.map(timestamp_days_ago),
                "last_contacted_at": contacted.map(timestamp_days_ago),
            })
        })
}

fn any_leaf() -> BoxedStrategy<Value> {
    let instant_fields =
        prop::sample::select(&["created_at", "updated_at", "last_contacted_at"][..]);
    let text_fields = prop::sample::select(&["name", "email", "phone", "company", "source"][..]);
    prop_oneof![
        prop::sample::select(&STATUSES[..]).prop_map(|value| json!({"field": "status", "op": "equals", "value": value})),
        prop::sample::subsequence(&STATUSES[..], 1..4).prop_map(|values| json!({"field": "status", "op": "in", "value": values})),
        prop::sample::select(&OPT_STATUSES[..]).prop_map(|value| json!({"field": "opt_status", "op": "equals", "value": value})),
        Just(json!({"field": "opt_status", "op": "exists"})),
        prop::sample::select(&TAGS[..10]).prop_map(|tag| json!({"field": "tags", "op": "contains_tag", "value": tag})),
        prop::sample::subsequence(&TAGS[..10], 1..4).prop_map(|tags| json!({"field": "tags", "op": "contains_tag", "value": tags})),
        Just(json!({"field": "tags", "op": "exists"})),
        (text_fields.clone(), prop::sample::select(&SOURCES[..4])).prop_map(|(field, value)| json!({"field": field, "op": "equals", "value": value})),
        text_fields.prop_map(|field| json!({"field": field, "op": "exists"})),
        (prop::sample::select(&["email_valid", "phone_valid", "is_deleted"][..]), any::<bool>())
            .prop_map(|(field, value)| json!({"field": field, "op": "equals", "value": value})),
        (0u32..6).prop_map(|value| json!({"field": "notes_count", "op": "equals", "value": value})),
        (0u32..6, 0u32..6).prop_map(|(a, b)| json!({"field": "notes_count", "op": "between", "min": a.min(b), "max": a.max(b)})),
        (instant_fields.clone(), 0u32..120).prop_map(|(field, days)| json!({"field": field, "op": "older_than_days", "value": days})),
        (instant_fields.clone(), 0u32..120).prop_map(|(field, days)| json!({"field": field, "op": "newer_than_days", "value": days})),
        instant_fields.prop_map(|field| json!({"field": field, "op": "exists"})),
    ]
    .boxed()
}

fn any_condition() -> impl Strategy<Value = Value> {
    any_leaf().prop_recursive(3, 12, 3, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 1..4).prop_map(|parts| json!({"all": parts})),
            prop::collection::vec(inner.clone(), 1..4).prop_map(|parts| json!({"any": parts})),
            inner.prop_map(|part| json!({"not": part})),
        ]
    })
}

fn any_group() -> impl Strategy<Value = &'static str> {
    prop::sample::select(&["fit", "engagement", "motivation"][..])
}

fn any_rules() -> impl Strategy<Value = Vec<Value>> {
    prop::collection::vec(
        (
            any_group(),
            -100i32..=100,
            any_condition(),
            prop::bool::weighted(0.9),
            -3i32..3,
        ),
        0..14,
    )
    .prop_map(|rules| {
        rules
            .into_iter()
            .enumerate()
            .map(|(index, (group, points, condition, enabled, sort_order))| {
                json!({"rule_key": format!("rule_{index}"), "rule_group": group, "points": points,
                           "condition": condition, "enabled": enabled, "sort_order": sort_order})
            })
            .collect()
    })
}

fn any_half_life() -> impl Strategy<Value = Option<HalfLife>> {
    optional(1u32..90)
        .prop_map(|days| days.map(|days| HalfLife::from_days(f64::from(days)).unwrap()))
}

fn now() -> Timestamp {
    Timestamp::from_unix_millis(NOW_MILLIS)
}

fn parse(lead: &Value) -> Lead {
    serde_json::from_value(lead.clone()).unwrap()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1_000, ..ProptestConfig::default() })]

    #[test]
    fn the_score_is_within_0_and_100_and_agrees_with_its_breakdown(
        lead in any_lead(), rules in any_rules(), half_life in any_half_life()
    ) {
        let rules = RuleSet::from_json(&Value::Array(rules), half_life).unwrap();
        let scored = rules.score(&parse(&lead), now());
        prop_assert!(scored.score <= 100);
        let fired_total: i32 = scored.fired.iter().map(|fired| fired.points).sum();
        prop_assert_eq!(fired_total, scored.raw_total);
        prop_assert_eq!(scored.groups.total(), scored.raw_total);
        if scored.reason.is_none() {
            prop_assert_eq!(i32::from(scored.score), scored.raw_total.clamp(0, 100));
        } else {
            prop_assert_eq!((scored.score, scored.raw_total), (0, 0));
        }
    }

    #[test]
    fn adding_a_positive_rule_never_lowers_the_score(
        lead in any_lead(), mut rules in any_rules(), half_life in any_half_life(),
        group in any_group(), points in 1i32..=100, condition in any_condition(), sort_order in -3i32..3,
    ) {
        let lead = parse(&lead);
        let before = RuleSet::from_json(&Value::Array(rules.clone()), half_life).unwrap();
        let before_score = before.score(&lead, now()).score;
        rules.push(json!({"rule_key": "added", "rule_group": group, "points": points,
                          "condition": condition, "sort_order": sort_order}));
        let after = RuleSet::from_json(&Value::Array(rules), half_life).unwrap();
        let after_score = after.score(&lead, now()).score;
        prop_assert!(after_score >= before_score, "{} -> {}", before_score, after_score);
    }

    #[test]
    fn decay_never_adds_points(lead in any_lead(), rules in any_rules(), half_life in 1u32..90) {
        let lead = parse(&lead);
        let rules = Value::Array(rules);
        let plain = RuleSet::from_json(&rules, None).unwrap();
        let decayed = RuleSet::from_json(&rules, Some(HalfLife::from_days(f64::from(half_life)).unwrap())).unwrap();
        let (plain, decayed) = (plain.score(&lead, now()), decayed.score(&lead, now()));
        prop_assert!(decayed.score <= plain.score);
        prop_assert_eq!(decayed.groups.fit, plain.groups.fit);
        prop_assert_eq!(decayed.groups.motivation, plain.groups.motivation);
        prop_assert!(decayed.groups.engagement <= plain.groups.engagement);
    }

    #[test]
    fn leads_out_of_play_always_score_zero(lead in any_lead(), rules in any_rules(), deleted in any::<bool>()) {
        let mut lead = lead;
        if deleted { lead["is_deleted"] = json!(true) } else { lead["opt_status"] = json!("opted_out") }
        let rules = RuleSet::from_json(&Value::Array(rules), None).unwrap();
        let scored = rules.score(&parse(&lead), now());
        prop_assert_eq!(scored.score, 0);
        prop_assert!(scored.reason.is_some() && scored.fired.is_empty());
    }
}
