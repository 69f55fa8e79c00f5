//! Synthetic `crm_leads` rows for the throughput benchmarks: a deterministic, realistic mix
//! (a few motivation tags each, mostly valid contact details, timestamps over the past year)
//! so that the numbers reflect the work a real batch does. Shared by the native and the
//! wasm32 benchmark through `#[path]`.

use lead_scoring::{default_rule_definitions, HalfLife, Lead, RuleSet, Timestamp};
use serde_json::{json, Value};

/// 2026-03-01T12:00:00Z, the `now` every benchmark scores at.
pub const NOW: Timestamp = Timestamp::from_unix_millis(1_772_366_400_000);

const TAGS: [&str; 14] = [
    "Probate",
    "tax delinquent",
    "vacant",
    "Pre-Foreclosure",
    "high equity",
    "divorce",
    "tired landlord",
    "code violations",
    "absentee owner",
    "cash buyer",
    "follow up",
    "warm",
    "out of state",
    "inherited",
];
const SOURCES: [&str; 8] = [
    "Direct Mail",
    "referral",
    "website",
    "driving for dollars",
    "purchased list",
    "cold call",
    "skip trace",
    "sms",
];
const STATUSES: [&str; 5] = ["new", "active", "qualified", "unqualified", "closed"];

/// xorshift64*: a fixed sequence on every platform, with no dependency.
struct Sequence(u64);

impl Sequence {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, bound: u64) -> u64 {
        self.next() % bound
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len() as u64) as usize]
    }
}

fn days_ago(sequence: &mut Sequence, max_days: u64) -> String {
    let millis = NOW.unix_millis() - (sequence.below(max_days * 86_400) as i64) * 1000;
    let seconds = millis / 1000;
    let z = seconds.div_euclid(86_400) + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    let second_of_day = seconds.rem_euclid(86_400);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}.{:06}+00:00",
        second_of_day / 3600,
        second_of_day / 60 % 60,
        second_of_day % 60,
        sequence.below(1_000_000)
    )
}

/// `count` rows shaped like a PostgREST `select=*` page of `crm_leads`.
pub fn lead_rows(count: usize) -> Vec<Value> {
    let mut sequence = Sequence(0x9e37_79b9_7f4a_7c15);
    (0..count)
        .map(|index| {
            let tags: Vec<&str> = (0..sequence.below(5)).map(|_| sequence.pick(&TAGS)).collect();
            let phone = match sequence.below(10) {
                0 => Value::Null,
                1 => json!("n/a"),
                _ => json!(format!("({}) 555-{:04}", 201 + sequence.below(700), sequence.below(10_000))),
            };
            let email = match sequence.below(10) {
                0..=3 => Value::Null,
                4 => json!("unknown"),
                _ => json!(format!("owner{index}@example.com")),
            };
            let opt_status = match sequence.below(20) {
                0 => json!("opted_out"),
                1..=10 => json!("opted_in"),
                11..=14 => json!("pending"),
                _ => Value::Null,
            };
            let last_contacted = if sequence.below(3) == 0 { Value::Null } else { json!(days_ago(&mut sequence, 180)) };
            json!({
                "id": format!("00000000-0000-4000-8000-{index:012}"),
                "workspace_id": "11111111-1111-4111-8111-111111111111",
                "name": format!("Owner {index}"),
                "status": sequence.pick(&STATUSES),
                "opt_status": opt_status,
                "tags": tags,
                "email": email,
                "phone": phone,
                "company": if sequence.below(4) == 0 { json!("Maple Holdings LLC") } else { Value::Null },
                "source": sequence.pick(&SOURCES),
                "is_deleted": sequence.below(50) == 0,
                "notes_count": sequence.below(8),
                "score": Value::Null,
                "created_at": days_ago(&mut sequence, 365),
                "updated_at": days_ago(&mut sequence, 30),
                "last_contacted_at": last_contacted,
            })
        })
        .collect()
}

pub fn leads(count: usize) -> Vec<Lead> {
    lead_rows(count)
        .into_iter()
        .map(|row| serde_json::from_value(row).expect("synthetic rows are valid leads"))
        .collect()
}

/// The built-in rules with a 14-day engagement half-life: the full amount of work per lead.
pub fn default_rule_set() -> RuleSet {
    let half_life = HalfLife::from_days(14.0).expect("14 days is a valid half-life");
    RuleSet::compile(&default_rule_definitions(), Some(half_life))
        .expect("the built-in rules compile")
}
