//! The engine's behaviour through its public API: every operator, combinators, decay,
//! clamping, ties, the breakdown, forced zeros, validation errors and the built-in rules.
//! Runs natively and on wasm32.

use lead_scoring::{
    default_rule_definitions, FiredRule, GroupTotals, HalfLife, Lead, RuleGroup, RuleProblem,
    RuleSet, Timestamp, ZeroReason,
};
use serde_json::{json, Value};

const DAY: i64 = 86_400_000;

fn now() -> Timestamp {
    Timestamp::parse_rfc3339("2026-03-01T12:00:00Z").unwrap()
}

fn days_ago(days: f64) -> String {
    Timestamp::from_unix_millis(now().unix_millis() - (days * DAY as f64) as i64).to_rfc3339()
}

fn lead(value: Value) -> Lead {
    serde_json::from_value(value).unwrap()
}

fn rule(key: &str, group: &str, points: i32, condition: Value) -> Value {
    json!({"rule_key": key, "rule_group": group, "points": points, "condition": condition})
}

fn one_rule(condition: Value) -> RuleSet {
    RuleSet::from_json(&json!([rule("r", "fit", 10, condition)]), None).unwrap()
}

/// Does the single rule built from `condition` fire for `lead`?
fn fires(condition: Value, lead_json: Value) -> bool {
    let rules = one_rule(condition);
    !rules.score(&lead(lead_json), now()).fired.is_empty()
}

fn problem_of(rules: Value) -> (String, String, RuleProblem) {
    let errors = RuleSet::from_json(&rules, None).unwrap_err();
    let first = errors.errors()[0].clone();
    (first.rule, first.location, first.problem)
}

macro_rules! engine_test {
    ($(#[$meta:meta])* fn $name:ident() $body:block) => {
        $(#[$meta])*
        #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
        fn $name() $body
    };
}

// ---- operators -------------------------------------------------------------------------

engine_test! {
    fn equals_matches_status_text_flags_and_counts() {
        let status = json!({"field": "status", "op": "equals", "value": "qualified"});
        assert!(fires(status.clone(), json!({"status": "qualified"})));
        assert!(!fires(status, json!({"status": "active"})));

        let source = json!({"field": "source", "op": "equals", "value": "direct mail"});
        assert!(fires(source.clone(), json!({"source": "Direct_Mail"})));
        assert!(!fires(source.clone(), json!({"source": "direct mailer"})));
        assert!(!fires(source, json!({})), "a missing text never equals anything");

        let opted_in = json!({"field": "opt_status", "op": "equals", "value": "opted_in"});
        assert!(fires(opted_in.clone(), json!({"opt_status": "opted_in"})));
        assert!(!fires(opted_in, json!({"opt_status": null})));

        let phone_valid = json!({"field": "phone_valid", "op": "equals", "value": true});
        assert!(fires(phone_valid.clone(), json!({"phone": "(512) 555-0142"})));
        assert!(!fires(phone_valid, json!({"phone": "n/a"})));
        let email_invalid = json!({"field": "email_valid", "op": "equals", "value": false});
        assert!(fires(email_invalid.clone(), json!({"email": "jane@"})));
        assert!(fires(email_invalid.clone(), json!({})));
        assert!(!fires(email_invalid, json!({"email": "jane@example.com"})));
        assert!(fires(json!({"field": "is_deleted", "op": "equals", "value": false}), json!({})));

        let three_notes = json!({"field": "notes_count", "op": "equals", "value": 3});
        assert!(fires(three_notes.clone(), json!({"notes_count": 3})));
        assert!(!fires(three_notes, json!({"notes_count": 4})));
    }
}

engine_test! {
    fn in_matches_any_listed_value() {
        let statuses = json!({"field": "status", "op": "in", "value": ["active", "qualified"]});
        assert!(fires(statuses.clone(), json!({"status": "active"})));
        assert!(fires(statuses.clone(), json!({"status": "qualified"})));
        assert!(!fires(statuses.clone(), json!({"status": "new"})));
        assert!(!fires(statuses, json!({})), "a lead without a status is new");

        let consent = json!({"field": "opt_status", "op": "in", "value": ["opted_in", "pending"]});
        assert!(fires(consent.clone(), json!({"opt_status": "pending"})));
        assert!(!fires(consent, json!({})));

        let sources = json!({"field": "source", "op": "in", "value": ["referral", "website"]});
        assert!(fires(sources.clone(), json!({"source": "WEBSITE"})));
        assert!(!fires(sources, json!({"source": "cold call"})));

        let counts = json!({"field": "notes_count", "op": "in", "value": [0, 2]});
        assert!(fires(counts.clone(), json!({})), "a missing notes_count is 0");
        assert!(fires(counts.clone(), json!({"notes_count": 2})));
        assert!(!fires(counts, json!({"notes_count": 1})));
    }
}

engine_test! {
    fn contains_tag_matches_one_tag_or_any_of_several_loosely() {
        let probate = json!({"field": "tags", "op": "contains_tag", "value": "probate"});
        assert!(fires(probate.clone(), json!({"tags": ["vacant", "Probate"]})));
        assert!(!fires(probate.clone(), json!({"tags": ["probate-adjacent"]})));
        assert!(!fires(probate.clone(), json!({"tags": []})));
        assert!(!fires(probate, json!({"tags": null})));

        let foreclosure = json!({"field": "tags", "op": "contains_tag", "value": ["pre-foreclosure", "lis pendens"]});
        assert!(fires(foreclosure.clone(), json!({"tags": ["PRE_FORECLOSURE"]})));
        assert!(fires(foreclosure.clone(), json!({"tags": ["Lis-Pendens"]})));
        assert!(!fires(foreclosure, json!({"tags": ["foreclosure"]})));
    }
}

engine_test! {
    fn exists_means_present_and_not_blank() {
        let company = json!({"field": "company", "op": "exists"});
        assert!(fires(company.clone(), json!({"company": "Oak Street Holdings LLC"})));
        assert!(!fires(company.clone(), json!({"company": "   "})));
        assert!(!fires(company.clone(), json!({"company": " \u{a0}\t"})), "unicode spaces are blank too");
        assert!(fires(company.clone(), json!({"company": " \u{e9}"})));
        assert!(!fires(company.clone(), json!({"company": null})));
        assert!(!fires(company, json!({})));

        let tags = json!({"field": "tags", "op": "exists"});
        assert!(fires(tags.clone(), json!({"tags": ["vacant"]})));
        assert!(!fires(tags.clone(), json!({"tags": [""]})));
        assert!(!fires(tags, json!({"tags": []})));

        let contacted = json!({"field": "last_contacted_at", "op": "exists"});
        assert!(fires(contacted.clone(), json!({"last_contacted_at": days_ago(400.0)})));
        assert!(!fires(contacted, json!({"last_contacted_at": null})));

        let consent = json!({"field": "opt_status", "op": "exists"});
        assert!(fires(consent.clone(), json!({"opt_status": "pending"})));
        assert!(!fires(consent, json!({})));

        assert!(fires(json!({"field": "status", "op": "exists"}), json!({})));
    }
}

engine_test! {
    fn between_is_inclusive_and_either_bound_may_be_open() {
        let some = json!({"field": "notes_count", "op": "between", "min": 1, "max": 3});
        for (notes, expected) in [(0, false), (1, true), (3, true), (4, false)] {
            assert_eq!(fires(some.clone(), json!({"notes_count": notes})), expected, "{notes} notes");
        }
        let at_least_four = json!({"field": "notes_count", "op": "between", "min": 4});
        assert!(fires(at_least_four.clone(), json!({"notes_count": 4_000_000_000u32})));
        assert!(!fires(at_least_four, json!({"notes_count": 3})));
        let at_most_two = json!({"field": "notes_count", "op": "between", "max": 2});
        assert!(fires(at_most_two.clone(), json!({})));
        assert!(!fires(at_most_two, json!({"notes_count": 3})));
    }
}

engine_test! {
    fn older_and_newer_than_days_split_exactly_at_the_boundary() {
        let older = json!({"field": "last_contacted_at", "op": "older_than_days", "value": 7});
        let newer = json!({"field": "last_contacted_at", "op": "newer_than_days", "value": 7});
        for (age, is_older) in [(6.999, false), (7.0, false), (7.001, true), (30.0, true), (0.0, false), (-2.0, false)] {
            let lead_json = json!({"last_contacted_at": days_ago(age)});
            assert_eq!(fires(older.clone(), lead_json.clone()), is_older, "older_than_days 7 at {age} days");
            assert_eq!(fires(newer.clone(), lead_json), !is_older, "newer_than_days 7 at {age} days");
        }
        assert!(!fires(older, json!({})), "a missing timestamp is neither older nor newer");
        assert!(!fires(newer, json!({})));

        let half_day = json!({"field": "created_at", "op": "newer_than_days", "value": 0.5});
        assert!(fires(half_day.clone(), json!({"created_at": days_ago(0.4)})));
        assert!(!fires(half_day, json!({"created_at": days_ago(0.6)})));
        let stale = json!({"field": "updated_at", "op": "older_than_days", "value": 0});
        assert!(fires(stale.clone(), json!({"updated_at": days_ago(0.001)})));
        assert!(!fires(stale, json!({"updated_at": days_ago(0.0)})));
    }
}

engine_test! {
    fn all_any_and_not_combine_conditions() {
        let vacant = json!({"field": "tags", "op": "contains_tag", "value": "vacant"});
        let probate = json!({"field": "tags", "op": "contains_tag", "value": "probate"});
        let both = json!({"all": [vacant.clone(), probate.clone()]});
        let either = json!({"any": [vacant.clone(), probate.clone()]});
        let not_vacant = json!({"not": vacant});
        let cases = [
            (json!({"tags": ["vacant", "probate"]}), true, true, false),
            (json!({"tags": ["vacant"]}), false, true, false),
            (json!({"tags": ["probate"]}), false, true, true),
            (json!({"tags": []}), false, false, true),
        ];
        for (lead_json, expect_both, expect_either, expect_not) in cases {
            assert_eq!(fires(both.clone(), lead_json.clone()), expect_both, "all for {lead_json}");
            assert_eq!(fires(either.clone(), lead_json.clone()), expect_either, "any for {lead_json}");
            assert_eq!(fires(not_vacant.clone(), lead_json.clone()), expect_not, "not for {lead_json}");
        }
        let nested = json!({"any": [{"all": [probate, {"not": {"field": "phone", "op": "exists"}}]}, {"field": "status", "op": "equals", "value": "qualified"}]});
        assert!(fires(nested.clone(), json!({"tags": ["probate"]})));
        assert!(!fires(nested.clone(), json!({"tags": ["probate"], "phone": "5125550142"})));
        assert!(fires(nested, json!({"status": "qualified", "phone": "5125550142"})));
    }
}

// ---- breakdown, totals, clamping, ties ----------------------------------------------------

fn three_group_rules() -> Value {
    json!([
        rule(
            "fit_phone",
            "fit",
            10,
            json!({"field": "phone_valid", "op": "equals", "value": true})
        ),
        rule(
            "fit_bulk_list",
            "fit",
            -5,
            json!({"field": "source", "op": "equals", "value": "purchased list"})
        ),
        rule(
            "engagement_notes",
            "engagement",
            7,
            json!({"field": "notes_count", "op": "between", "min": 1})
        ),
        rule(
            "motivation_probate",
            "motivation",
            25,
            json!({"field": "tags", "op": "contains_tag", "value": "probate"})
        ),
        rule(
            "motivation_vacant",
            "motivation",
            15,
            json!({"field": "tags", "op": "contains_tag", "value": "vacant"})
        ),
    ])
}

engine_test! {
    fn the_breakdown_lists_every_fired_rule_and_adds_up() {
        let rules = RuleSet::from_json(&three_group_rules(), None).unwrap();
        let scored = rules.score(
            &lead(json!({"phone": "512-555-0142", "source": "Purchased List", "notes_count": 2, "tags": ["probate"]})),
            now(),
        );
        assert_eq!(
            scored.fired,
            vec![
                FiredRule { rule_key: "fit_phone", group: RuleGroup::Fit, points: 10, base_points: 10 },
                FiredRule { rule_key: "fit_bulk_list", group: RuleGroup::Fit, points: -5, base_points: -5 },
                FiredRule { rule_key: "engagement_notes", group: RuleGroup::Engagement, points: 7, base_points: 7 },
                FiredRule { rule_key: "motivation_probate", group: RuleGroup::Motivation, points: 25, base_points: 25 },
            ]
        );
        assert_eq!(scored.groups, GroupTotals { fit: 5, engagement: 7, motivation: 25 });
        assert_eq!(scored.raw_total, 37);
        assert_eq!(scored.score, 37);
        assert_eq!(scored.reason, None);
        assert_eq!(scored.decay, None);

        let stored = serde_json::to_value(&scored).unwrap();
        assert_eq!(
            stored,
            json!({
                "score": 37, "raw_total": 37,
                "groups": {"fit": 5, "engagement": 7, "motivation": 25},
                "fired": [
                    {"rule_key": "fit_phone", "group": "fit", "points": 10, "base_points": 10},
                    {"rule_key": "fit_bulk_list", "group": "fit", "points": -5, "base_points": -5},
                    {"rule_key": "engagement_notes", "group": "engagement", "points": 7, "base_points": 7},
                    {"rule_key": "motivation_probate", "group": "motivation", "points": 25, "base_points": 25}
                ]
            })
        );
    }
}

engine_test! {
    fn scores_are_clamped_to_0_and_100_with_the_raw_total_kept() {
        let generous = json!([
            rule("a", "motivation", 100, json!({"field": "tags", "op": "exists"})),
            rule("b", "motivation", 100, json!({"field": "tags", "op": "exists"})),
        ]);
        let rules = RuleSet::from_json(&generous, None).unwrap();
        let scored = rules.score(&lead(json!({"tags": ["x"]})), now());
        assert_eq!((scored.score, scored.raw_total), (100, 200));

        let harsh = json!([
            rule("a", "fit", 10, json!({"field": "status", "op": "exists"})),
            rule("b", "fit", -100, json!({"field": "status", "op": "equals", "value": "closed"})),
        ]);
        let rules = RuleSet::from_json(&harsh, None).unwrap();
        let scored = rules.score(&lead(json!({"status": "closed"})), now());
        assert_eq!((scored.score, scored.raw_total, scored.groups.fit), (0, -90, -90));
        assert_eq!(scored.fired.len(), 2, "clamping hides nothing from the breakdown");

        let exactly = json!([rule("a", "fit", 100, json!({"field": "status", "op": "exists"}))]);
        let rules = RuleSet::from_json(&exactly, None).unwrap();
        let scored = rules.score(&lead(json!({})), now());
        assert_eq!((scored.score, scored.raw_total), (100, 100));
        assert_eq!(RuleSet::from_json(&json!([]), None).unwrap().score(&lead(json!({})), now()).score, 0);
    }
}

engine_test! {
    fn ties_in_sort_order_are_broken_by_rule_key_whatever_the_input_order() {
        let condition = json!({"field": "status", "op": "exists"});
        let mut definitions = vec![
            json!({"rule_key": "zeta", "rule_group": "fit", "points": 1, "sort_order": 5, "condition": condition}),
            json!({"rule_key": "alpha", "rule_group": "fit", "points": 2, "sort_order": 5, "condition": condition}),
            json!({"rule_key": "late", "rule_group": "fit", "points": 3, "sort_order": 9, "condition": condition}),
            json!({"rule_key": "early", "rule_group": "fit", "points": 4, "sort_order": -1, "condition": condition}),
            json!({"rule_key": "beta", "rule_group": "fit", "points": 5, "sort_order": 0, "condition": condition}),
        ];
        let expected = ["early", "beta", "alpha", "zeta", "late"];
        for _ in 0..definitions.len() {
            definitions.rotate_left(1);
            let rules = RuleSet::from_json(&Value::Array(definitions.clone()), None).unwrap();
            assert_eq!(rules.rule_keys().collect::<Vec<_>>(), expected);
            let scored = rules.score(&lead(json!({})), now());
            assert_eq!(scored.fired.iter().map(|fired| fired.rule_key).collect::<Vec<_>>(), expected);
            assert_eq!(scored.score, 15);
        }
    }
}

engine_test! {
    fn rules_with_equal_points_in_different_groups_are_each_counted() {
        let same = json!({"field": "status", "op": "exists"});
        let rules = json!([
            rule("fit_same", "fit", 10, same.clone()),
            rule("engagement_same", "engagement", 10, same.clone()),
            rule("motivation_same", "motivation", 10, same),
        ]);
        let rules = RuleSet::from_json(&rules, None).unwrap();
        let scored = rules.score(&lead(json!({})), now());
        assert_eq!(scored.groups, GroupTotals { fit: 10, engagement: 10, motivation: 10 });
        assert_eq!(scored.score, 30);
    }
}

engine_test! {
    fn disabled_rules_never_fire_but_are_still_validated() {
        let rules = json!([
            {"rule_key": "off", "rule_group": "fit", "points": 50, "enabled": false, "condition": {"field": "status", "op": "exists"}},
            rule("on", "fit", 5, json!({"field": "status", "op": "exists"})),
        ]);
        let rules = RuleSet::from_json(&rules, None).unwrap();
        let scored = rules.score(&lead(json!({})), now());
        assert_eq!(scored.score, 5);
        assert_eq!(scored.fired.len(), 1);

        let broken_but_off = json!([
            {"rule_key": "off", "rule_group": "fit", "points": 50, "enabled": false, "condition": {"field": "colour", "op": "exists"}},
        ]);
        let (rule_name, _, problem) = problem_of(broken_but_off);
        assert_eq!(rule_name, "off");
        assert_eq!(problem, RuleProblem::UnknownField("colour".into()));
    }
}

engine_test! {
    fn deleted_and_opted_out_leads_score_zero_with_the_reason() {
        let rules = RuleSet::from_json(&three_group_rules(), None).unwrap();
        let hot = json!({"phone": "5125550142", "tags": ["probate", "vacant"], "notes_count": 9});
        assert_eq!(rules.score(&lead(hot.clone()), now()).score, 57);

        let mut opted_out = hot.clone();
        opted_out["opt_status"] = json!("opted_out");
        let scored = rules.score(&lead(opted_out), now());
        assert_eq!((scored.score, scored.raw_total, scored.reason), (0, 0, Some(ZeroReason::OptedOut)));
        assert!(scored.fired.is_empty());
        assert_eq!(serde_json::to_value(&scored).unwrap()["reason"], "opted_out");

        let mut deleted = hot.clone();
        deleted["is_deleted"] = json!(true);
        deleted["opt_status"] = json!("opted_out");
        let scored = rules.score(&lead(deleted), now());
        assert_eq!((scored.score, scored.reason), (0, Some(ZeroReason::Deleted)));

        let mut pending = hot;
        pending["opt_status"] = json!("pending");
        assert_eq!(rules.score(&lead(pending), now()).score, 57, "pending consent is not an opt-out");
    }
}

engine_test! {
    fn reusing_a_result_buffer_gives_the_same_answers() {
        let rules = RuleSet::from_json(&three_group_rules(), None).unwrap();
        let leads = [
            lead(json!({"phone": "5125550142", "tags": ["probate"]})),
            lead(json!({"is_deleted": true, "tags": ["probate"]})),
            lead(json!({"notes_count": 1, "tags": ["vacant"]})),
        ];
        let mut reused = Default::default();
        for lead in &leads {
            rules.score_into(lead, now(), &mut reused);
            assert_eq!(reused, rules.score(lead, now()));
        }
    }
}

// ---- decay ------------------------------------------------------------------------------

fn engagement_rules(half_life_days: Option<f64>) -> RuleSet {
    let rules = json!([
        rule(
            "engagement_notes",
            "engagement",
            20,
            json!({"field": "notes_count", "op": "between", "min": 1})
        ),
        rule(
            "engagement_cold",
            "engagement",
            -10,
            json!({"field": "notes_count", "op": "equals", "value": 0})
        ),
        rule(
            "fit_phone",
            "fit",
            10,
            json!({"field": "phone", "op": "exists"})
        ),
        rule(
            "motivation_vacant",
            "motivation",
            15,
            json!({"field": "tags", "op": "contains_tag", "value": "vacant"})
        ),
    ]);
    RuleSet::from_json(
        &rules,
        half_life_days.map(|days| HalfLife::from_days(days).unwrap()),
    )
    .unwrap()
}

engine_test! {
    fn engagement_points_halve_every_half_life_since_the_last_contact() {
        let rules = engagement_rules(Some(7.0));
        let lead_at = |age: f64| {
            lead(json!({"notes_count": 2, "phone": "x", "tags": ["vacant"], "last_contacted_at": days_ago(age), "created_at": days_ago(300.0)}))
        };
        for (age, engagement) in [(0.0, 20), (7.0, 10), (14.0, 5), (21.0, 3), (70.0, 0)] {
            let scored = rules.score(&lead_at(age), now());
            assert_eq!(scored.groups, GroupTotals { fit: 10, engagement, motivation: 15 }, "{age} days since contact");
            assert_eq!(scored.score as i32, 25 + engagement);
            let notes = scored.fired.iter().find(|fired| fired.rule_key == "engagement_notes").unwrap();
            assert_eq!((notes.points, notes.base_points), (engagement, 20), "decayed points are shown beside the base");
            let decay = scored.decay.unwrap();
            assert_eq!(decay.half_life_days, 7.0);
            assert!((decay.days_since_last_touch - age).abs() < 1e-6);
        }
        let without_decay = engagement_rules(None);
        let same_lead_without_decay = without_decay.score(&lead_at(70.0), now());
        assert_eq!(same_lead_without_decay.groups.engagement, 20);
        assert_eq!(same_lead_without_decay.decay, None);
    }
}

engine_test! {
    fn decay_counts_from_creation_when_never_contacted_and_spares_penalties() {
        let rules = engagement_rules(Some(10.0));
        let scored = rules.score(&lead(json!({"notes_count": 1, "created_at": days_ago(10.0)})), now());
        assert_eq!(scored.groups.engagement, 10, "no contact yet: the lead's arrival is its last touch");

        let cold = rules.score(&lead(json!({"notes_count": 0, "phone": "x", "created_at": days_ago(100.0)})), now());
        assert_eq!(cold.groups.engagement, -10, "a penalty does not fade");
        assert_eq!(cold.score, 0);

        let no_touch = rules.score(&lead(json!({"notes_count": 1})), now());
        assert_eq!((no_touch.groups.engagement, no_touch.decay), (20, None), "no timestamps, nothing to decay from");

        let future = rules.score(&lead(json!({"notes_count": 1, "last_contacted_at": days_ago(-3.0)})), now());
        assert_eq!(future.groups.engagement, 20, "a touch in the future does not boost or decay");
    }
}

engine_test! {
    fn decayed_halves_round_away_from_zero() {
        let rules = RuleSet::from_json(
            &json!([rule("engagement_one", "engagement", 1, json!({"field": "status", "op": "exists"}))]),
            Some(HalfLife::from_days(1.0).unwrap()),
        )
        .unwrap();
        let at = |age: f64| rules.score(&lead(json!({"last_contacted_at": days_ago(age)})), now()).score;
        assert_eq!(at(1.0), 1, "1 x 0.5 = 0.5 rounds to 1");
        assert_eq!(at(1.01), 0, "just under a half rounds to 0");
    }
}

// ---- determinism ------------------------------------------------------------------------

engine_test! {
    fn the_same_lead_rules_and_time_always_give_the_same_result() {
        let rules = RuleSet::compile(&default_rule_definitions(), Some(HalfLife::from_days(14.0).unwrap())).unwrap();
        let sample = lead(json!({
            "status": "active", "tags": ["Probate", "vacant"], "phone": "512-555-0142", "email": "heir@example.com",
            "source": "Direct Mail", "notes_count": 2, "created_at": days_ago(40.0), "last_contacted_at": days_ago(9.5)
        }));
        let first = serde_json::to_string(&rules.score(&sample, now())).unwrap();
        for _ in 0..100 {
            assert_eq!(serde_json::to_string(&rules.score(&sample, now())).unwrap(), first);
        }
        let rebuilt = RuleSet::compile(&default_rule_definitions(), Some(HalfLife::from_days(14.0).unwrap())).unwrap();
        assert_eq!(serde_json::to_string(&rebuilt.score(&sample, now())).unwrap(), first);
        let scored = rules.score(&sample, now());
        let factor = scored.decay.unwrap().factor;
        assert!((factor - 2f64.powf(-9.5 / 14.0)).abs() < 1e-15);
        // Bit-exact on every target: the decay maths avoids libm.
        assert_eq!(factor.to_bits(), FACTOR_BITS, "{:#x}", factor.to_bits());
        // fit: active 5, phone 10, email 5, direct mail 5; engagement: 8 x 0.6248 -> 5 and
        // 5 x 0.6248 -> 3; motivation: probate 25, vacant 15.
        assert_eq!(scored.groups, GroupTotals { fit: 25, engagement: 8, motivation: 40 });
        assert_eq!(scored.score, 73);
    }
}

/// 2^(-9.5/14) rounded to the nearest f64 (what glibc's `pow` returns too).
const FACTOR_BITS: u64 = 0x3fe3_fe3a_4025_5f00;

// ---- validation -------------------------------------------------------------------------

engine_test! {
    fn unknown_fields_and_operators_are_refused_naming_the_rule() {
        let (rule_name, location, problem) =
            problem_of(json!([rule("motivation_pool", "motivation", 5, json!({"field": "pool", "op": "exists"}))]));
        assert_eq!((rule_name.as_str(), location.as_str()), ("motivation_pool", "condition.field"));
        assert_eq!(problem, RuleProblem::UnknownField("pool".into()));
        assert!(problem.to_string().contains("known fields: status, opt_status, tags"));

        let (rule_name, location, problem) = problem_of(json!([
            rule("fine", "fit", 5, json!({"field": "status", "op": "exists"})),
            rule("fuzzy", "fit", 5, json!({"any": [{"field": "status", "op": "exists"}, {"field": "tags", "op": "like", "value": "x"}]})),
        ]));
        assert_eq!((rule_name.as_str(), location.as_str()), ("fuzzy", "condition.any[1].op"));
        assert_eq!(problem, RuleProblem::UnknownOperator("like".into()));

        let (_, location, problem) =
            problem_of(json!([rule("r", "fit", 5, json!({"field": "notes_count", "op": "contains_tag", "value": "x"}))]));
        assert_eq!(location, "condition.op");
        assert!(matches!(problem, RuleProblem::OperatorNotForField { .. }));
        assert!(problem.to_string().contains("it accepts: equals, in, between"), "{problem}");
    }
}

engine_test! {
    fn points_outside_the_range_are_refused() {
        for points in [101, -101, 1_000_000_000_000i64] {
            let (rule_name, location, problem) = problem_of(json!([
                {"rule_key": "greedy", "rule_group": "fit", "points": points, "condition": {"field": "status", "op": "exists"}}
            ]));
            assert_eq!((rule_name.as_str(), location.as_str()), ("greedy", "points"));
            assert_eq!(problem, RuleProblem::PointsOutOfRange(points));
        }
        for points in [json!(2.5), json!("10"), json!(null)] {
            let (_, location, _) = problem_of(json!([
                {"rule_key": "odd", "rule_group": "fit", "points": points, "condition": {"field": "status", "op": "exists"}}
            ]));
            assert_eq!(location, "points");
        }
        for points in [100, -100, 0] {
            let definitions = json!([{"rule_key": "edge", "rule_group": "fit", "points": points, "condition": {"field": "status", "op": "exists"}}]);
            assert!(RuleSet::from_json(&definitions, None).is_ok(), "{points} is allowed");
        }
        let mut programmatic = default_rule_definitions();
        programmatic[0].points = 250;
        let errors = RuleSet::compile(&programmatic, None).unwrap_err();
        assert_eq!(errors.errors()[0].problem, RuleProblem::PointsOutOfRange(250));
    }
}

engine_test! {
    fn malformed_conditions_are_refused_with_their_location() {
        let exists = json!({"field": "status", "op": "exists"});
        let cases = [
            (json!("status = new"), "condition", "must be a JSON object"),
            (json!({}), "condition", "a condition is"),
            (json!({"all": [], }), "condition.all", "non-empty array"),
            (json!({"any": exists.clone()}), "condition.any", "non-empty array"),
            (json!({"all": [exists.clone()], "field": "status"}), "condition", "exactly one key"),
            (json!({"not": [exists.clone()]}), "condition.not", "must be a JSON object"),
            (json!({"field": "status"}), "condition.op", "is required"),
            (json!({"op": "exists"}), "condition.field", "is required"),
            (json!({"field": 3, "op": "exists"}), "condition.field", "must be a string"),
            (json!({"field": "status", "op": "equals"}), "condition.value", "is required"),
            (json!({"field": "status", "op": "equals", "value": "hot"}), "condition.value", "unknown status \"hot\""),
            (json!({"field": "opt_status", "op": "in", "value": ["opted_in", "maybe"]}), "condition.value[1]", "unknown opt_status"),
            (json!({"field": "status", "op": "in", "value": []}), "condition.value", "non-empty array"),
            (json!({"field": "status", "op": "exists", "value": true}), "condition", "exists takes no value"),
            (json!({"field": "status", "op": "exists", "valeu": true}), "condition", "unexpected key \"valeu\""),
            (json!({"field": "notes_count", "op": "between", "value": 3}), "condition", "not value"),
            (json!({"field": "notes_count", "op": "between"}), "condition", "needs min, max or both"),
            (json!({"field": "notes_count", "op": "between", "min": 5, "max": 2}), "condition", "greater than max"),
            (json!({"field": "notes_count", "op": "between", "min": -1}), "condition.min", "whole number"),
            (json!({"field": "notes_count", "op": "equals", "value": 1, "max": 2}), "condition", "belong to the between"),
            (json!({"field": "notes_count", "op": "equals", "value": 1.5}), "condition.value", "whole number"),
            (json!({"field": "tags", "op": "contains_tag", "value": "--"}), "condition.value", "no letters or digits"),
            (json!({"field": "tags", "op": "contains_tag", "value": [1]}), "condition.value[0]", "must be a string"),
            (json!({"field": "phone_valid", "op": "equals", "value": "yes"}), "condition.value", "true or false"),
            (json!({"field": "created_at", "op": "older_than_days", "value": -1}), "condition.value", "number of days"),
            (json!({"field": "created_at", "op": "older_than_days", "value": "7"}), "condition.value", "number of days"),
            (json!({"field": "created_at", "op": "newer_than_days", "value": 36_501}), "condition.value", "number of days"),
        ];
        for (condition, expected_location, expected_message) in cases {
            let (rule_name, location, problem) = problem_of(json!([rule("broken", "fit", 5, condition.clone())]));
            assert_eq!(rule_name, "broken");
            assert_eq!(location, expected_location, "location for {condition}");
            assert!(problem.to_string().contains(expected_message), "{condition}: {problem}");
        }
    }
}

engine_test! {
    fn oversized_or_deeply_nested_conditions_are_refused() {
        let mut deep = json!({"field": "status", "op": "exists"});
        for _ in 0..8 {
            deep = json!({"not": deep});
        }
        let (_, location, problem) = problem_of(json!([rule("deep", "fit", 1, deep)]));
        assert_eq!(problem, RuleProblem::TooDeep { limit: 8 });
        assert!(location.starts_with("condition.not.not"));

        let many_tags: Vec<String> = (0..300).map(|n| format!("tag{n}")).collect();
        let (_, _, problem) =
            problem_of(json!([rule("wide", "fit", 1, json!({"field": "tags", "op": "contains_tag", "value": many_tags}))]));
        assert_eq!(problem, RuleProblem::TooLarge { limit: 256 });

        let wordy_tags: Vec<String> = (0..41).map(|n| format!("{}{n:03}", "x".repeat(97))).collect();
        let (_, location, problem) =
            problem_of(json!([rule("wordy", "fit", 1, json!({"field": "tags", "op": "contains_tag", "value": wordy_tags}))]));
        assert_eq!(problem, RuleProblem::TooMuchText { limit: 4096 });
        assert_eq!(location, "condition.value[40]", "the tag that goes over 4096 characters");
        let longest = json!({"any": [{"field": "tags", "op": "contains_tag", "value": "é".repeat(4095)},
                                     {"field": "source", "op": "equals", "value": "x"}]});
        assert!(RuleSet::from_json(&json!([rule("longest", "fit", 1, longest)]), None).is_ok(), "4096 characters in all, not bytes");

        let too_many: Vec<Value> =
            (0..201).map(|n| rule(&format!("r{n}"), "fit", 1, json!({"field": "status", "op": "exists"}))).collect();
        let (rule_name, _, problem) = problem_of(Value::Array(too_many));
        assert_eq!((rule_name.as_str(), problem), ("rules", RuleProblem::TooManyRules { limit: 200 }));
    }
}

engine_test! {
    fn rule_keys_groups_and_shapes_are_checked() {
        let exists = json!({"field": "status", "op": "exists"});
        let (rule_name, location, problem) =
            problem_of(json!([rule("a", "fit", 1, exists.clone()), rule("a", "fit", 2, exists.clone())]));
        assert_eq!((rule_name.as_str(), location.as_str(), problem), ("a", "rule_key", RuleProblem::DuplicateKey));

        for bad_key in ["Bad Key", "", "_private", "-dash", "ünïcode", &"k".repeat(65)] {
            let (rule_name, _, problem) = problem_of(json!([rule(bad_key, "fit", 1, exists.clone())]));
            assert_eq!((rule_name.as_str(), problem), ("#1", RuleProblem::InvalidKey), "{bad_key:?}");
        }
        for good_key in ["0", "fit.phone-valid_v2", &"k".repeat(64)] {
            assert!(RuleSet::from_json(&json!([rule(good_key, "fit", 1, exists.clone())]), None).is_ok(), "{good_key:?}");
        }

        let (rule_name, location, problem) = problem_of(json!([rule("ok", "fit", 1, exists.clone()), rule("hype", "buzz", 1, exists.clone())]));
        assert_eq!((rule_name.as_str(), location.as_str()), ("hype", "rule_group"));
        assert_eq!(problem, RuleProblem::UnknownGroup("buzz".into()));

        let (rule_name, location, _) = problem_of(json!([{"rule_group": "fit", "points": 1, "condition": exists}]));
        assert_eq!((rule_name.as_str(), location.as_str()), ("#1", "rule_key"));
        let (rule_name, _, problem) = problem_of(json!([7]));
        assert_eq!((rule_name.as_str(), problem), ("#1", RuleProblem::NotAnObject));
        let (_, _, problem) = problem_of(json!({"rules": []}));
        assert_eq!(problem, RuleProblem::NotAList);
    }
}

engine_test! {
    fn every_problem_in_a_rule_set_is_reported() {
        let errors = RuleSet::from_json(
            &json!([
                rule("one", "fit", 500, json!({"field": "status", "op": "exists"})),
                rule("two", "fit", 5, json!({"field": "status", "op": "exists"})),
                rule("three", "fit", 5, json!({"field": "mood", "op": "exists"})),
            ]),
            None,
        )
        .unwrap_err();
        let named: Vec<_> = errors.errors().iter().map(|error| error.rule.as_str()).collect();
        assert_eq!(named, ["one", "three"]);
        assert_eq!(
            errors.to_string(),
            "rule \"one\", points: points 500 is outside -100..100 (and 1 more problem(s))"
        );
    }
}

engine_test! {
    fn stored_rows_with_extra_columns_and_nulls_are_read() {
        let rows = json!([{
            "id": "7f1c0c56-7a36-4c59-9d4a-0d6d1b2a9c11", "workspace_id": "0d8f5c4e-1111-4c59-9d4a-0d6d1b2a9c11",
            "rule_key": "motivation_probate", "rule_group": "motivation", "points": 25,
            "condition": {"field": "tags", "op": "contains_tag", "value": "probate"},
            "enabled": null, "sort_order": null, "created_at": "2026-01-01T00:00:00+00:00"
        }]);
        let definitions = lead_scoring::RuleDefinition::list_from_json(&rows).unwrap();
        assert!(definitions[0].enabled);
        assert_eq!(definitions[0].sort_order, 0);
        let unordered = json!([
            rule("second_listed", "fit", 1, json!({"field": "status", "op": "exists"})),
            rule("a_first_listed", "fit", 1, json!({"field": "status", "op": "exists"})),
        ]);
        let orders: Vec<_> = lead_scoring::RuleDefinition::list_from_json(&unordered)
            .unwrap()
            .iter()
            .map(|definition| definition.sort_order)
            .collect();
        assert_eq!(orders, [0, 1], "without sort_order, rules keep the order they were listed in");
        let rules = RuleSet::from_json(&unordered, None).unwrap();
        assert_eq!(rules.rule_keys().collect::<Vec<_>>(), ["second_listed", "a_first_listed"]);
        let round_trip = serde_json::to_value(&definitions[0]).unwrap();
        assert_eq!(round_trip["condition"], rows[0]["condition"]);
        assert_eq!(round_trip["rule_group"], "motivation");
    }
}

// ---- built-in rules and lead input --------------------------------------------------------

engine_test! {
    fn the_built_in_rules_compile_and_rank_a_motivated_reachable_seller_first() {
        let definitions = default_rule_definitions();
        assert!(definitions.len() >= 20);
        for group in [RuleGroup::Fit, RuleGroup::Engagement, RuleGroup::Motivation] {
            assert!(definitions.iter().any(|definition| definition.rule_group == group));
        }
        let rules = RuleSet::compile(&definitions, None).unwrap();
        let score = |value: Value| rules.score(&lead(value), now()).score;

        let motivated = score(json!({
            "status": "active", "tags": ["Pre-Foreclosure", "Vacant"], "phone": "(512) 555-0142",
            "source": "Direct Mail", "notes_count": 2, "created_at": days_ago(20.0), "last_contacted_at": days_ago(2.0)
        }));
        let lukewarm = score(json!({
            "status": "new", "tags": ["high equity"], "email": "owner@example.com", "source": "website",
            "created_at": days_ago(20.0)
        }));
        let unreachable = score(json!({
            "status": "new", "tags": [], "phone": "n/a", "source": "purchased list", "created_at": days_ago(200.0)
        }));
        assert!(motivated > lukewarm && lukewarm > unreachable, "{motivated} > {lukewarm} > {unreachable}");
        // motivation 25 + 15; fit: phone 10, direct mail 5, active 5; engagement: contacted 15, notes 5.
        assert_eq!(motivated, 80);
        // motivation 10; fit: email 5, website 10.
        assert_eq!(lukewarm, 25);
        // fit: unreachable -20, bulk list -5; engagement: gone cold -10; clamped from -35.
        assert_eq!(unreachable, 0);
    }
}

engine_test! {
    fn every_motivation_signal_in_the_brief_has_a_built_in_rule() {
        let rules = RuleSet::compile(&default_rule_definitions(), None).unwrap();
        for (tag, rule_key) in [
            ("probate", "motivation_probate"),
            ("Tax Delinquent", "motivation_tax_delinquent"),
            ("vacant", "motivation_vacant"),
            ("pre_foreclosure", "motivation_pre_foreclosure"),
            ("high-equity", "motivation_high_equity"),
            ("divorce", "motivation_divorce"),
            ("tired landlord", "motivation_tired_landlord"),
            ("code violations", "motivation_code_violations"),
        ] {
            let scored = rules.score(&lead(json!({"tags": [tag]})), now());
            let motivation: Vec<_> =
                scored.fired.iter().filter(|fired| fired.group == RuleGroup::Motivation).map(|fired| fired.rule_key).collect();
            assert_eq!(motivation, [rule_key], "tag {tag:?}");
        }
    }
}

engine_test! {
    fn a_postgrest_row_is_read_as_a_lead() {
        let row = json!({
            "id": "2b1e7c1a-9f55-4a43-8a8e-1f2b3c4d5e6f", "user_id": "9a8b7c6d-0000-4a43-8a8e-1f2b3c4d5e6f",
            "workspace_id": null, "name": "Estate of R. Alvarez", "phone": "+1 512 555 0142", "email": null,
            "company": null, "status": "qualified", "score": null, "tags": ["probate"], "opt_status": null,
            "is_deleted": false, "source": "referral", "notes_count": 4, "created_at": "2026-02-01T09:30:00.123456+00:00",
            "updated_at": "2026-02-20T16:00:00+00:00", "last_contacted_at": null, "score_breakdown": null
        });
        let parsed = lead(row);
        assert_eq!(parsed.status, lead_scoring::LeadStatus::Qualified);
        assert_eq!(parsed.opt_status, None);
        assert_eq!(parsed.notes_count, 4);
        assert_eq!(parsed.created_at, Some(Timestamp::parse_rfc3339("2026-02-01T09:30:00.123Z").unwrap()));
        assert_eq!(parsed.last_touch(), parsed.created_at);

        let nulls = lead(json!({"status": null, "tags": null, "is_deleted": null, "notes_count": null}));
        assert_eq!((nulls.status, nulls.tags.len(), nulls.is_deleted, nulls.notes_count), (lead_scoring::LeadStatus::New, 0, false, 0));

        let embedded = lead(json!({"notes_count": [{"id": "a"}, {"id": "b"}, {"id": "c"}]}));
        assert_eq!(embedded.notes_count, 3, "PostgREST's embedded note rows are counted");
        assert_eq!(lead(json!({"notes_count": []})).notes_count, 0);
        assert!(serde_json::from_value::<Lead>(json!({"notes_count": -1})).is_err());

        let bad = serde_json::from_value::<Lead>(json!({"status": "hot"})).unwrap_err().to_string();
        assert!(bad.contains("hot"), "{bad}");
        let bad = serde_json::from_value::<Lead>(json!({"created_at": "last tuesday"})).unwrap_err().to_string();
        assert!(bad.contains("RFC 3339"), "{bad}");
    }
}
