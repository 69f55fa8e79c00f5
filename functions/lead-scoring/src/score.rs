//! Scoring one lead against a rule set, and the explanation that comes with the number.
//!
//! The score is the sum of the points of every rule whose condition holds (positive
//! engagement points decayed when the workspace asks for it), clamped to 0..=100. Deleted and
//! opted-out leads score 0 without evaluating any rule: nobody should be calling them.
//! [`RuleSet::score_into`] reuses the caller's buffer, so a batch allocates nothing per lead.

use crate::condition::LeadFacts;
use crate::decay::decayed_points;
use crate::lead::{Lead, OptStatus};
use crate::rules::{RuleGroup, RuleSet};
use serde::Serialize;
use shared::time::{Timestamp, MILLIS_PER_DAY};

pub const MIN_SCORE: u8 = 0;
pub const MAX_SCORE: u8 = 100;

/// A lead's score and why: what is written to `crm_leads.score` / `score_breakdown`.
#[derive(Debug, Clone, PartialEq, Default, Serialize)]
pub struct LeadScore<'r> {
    /// `raw_total` clamped to 0..=100, or 0 when `reason` says the lead is out of play.
    pub score: u8,
    /// Sum of the group totals, before clamping.
    pub raw_total: i32,
    pub groups: GroupTotals,
    /// Every rule that fired, in evaluation order, with the points it contributed.
    pub fired: Vec<FiredRule<'r>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<ZeroReason>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub decay: Option<DecayApplied>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize)]
pub struct GroupTotals {
    pub fit: i32,
    pub engagement: i32,
    pub motivation: i32,
}

impl GroupTotals {
    fn add(&mut self, group: RuleGroup, points: i32) {
        match group {
            RuleGroup::Fit => self.fit += points,
            RuleGroup::Engagement => self.engagement += points,
            RuleGroup::Motivation => self.motivation += points,
        }
    }

    pub fn total(self) -> i32 {
        self.fit + self.engagement + self.motivation
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct FiredRule<'r> {
    pub rule_key: &'r str,
    pub group: RuleGroup,
    /// What the rule contributed to this score (after decay).
    pub points: i32,
    /// The rule's configured points.
    pub base_points: i32,
}

/// Why a lead was given 0 without looking at the rules.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum ZeroReason {
    Deleted,
    OptedOut,
}

/// The decay that was applied to positive engagement points.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct DecayApplied {
    pub half_life_days: f64,
    pub days_since_last_touch: f64,
    pub factor: f64,
}

impl RuleSet {
    pub fn score(&self, lead: &Lead, now: Timestamp) -> LeadScore<'_> {
        let mut result = LeadScore::default();
        self.score_into(lead, now, &mut result);
        result
    }

    /// Like [`RuleSet::score`], overwriting `result` and reusing its allocation.
    pub fn score_into<'r>(&'r self, lead: &Lead, now: Timestamp, result: &mut LeadScore<'r>) {
        result.score = MIN_SCORE;
        result.raw_total = 0;
        result.groups = GroupTotals::default();
        result.fired.clear();
        result.decay = None;
        result.reason = zero_reason(lead);
        if result.reason.is_some() {
            return;
        }

        result.decay =
            self.engagement_half_life
                .zip(lead.last_touch())
                .map(|(half_life, touch)| {
                    let elapsed = now.millis_since(touch).max(0);
                    DecayApplied {
                        half_life_days: half_life.days(),
                        days_since_last_touch: elapsed as f64 / MILLIS_PER_DAY as f64,
                        factor: half_life.factor_after(elapsed),
                    }
                });
        let facts = LeadFacts::new(lead, now);
        for rule in self.rules.iter() {
            if !rule.condition.holds(&facts) {
                continue;
            }
            // Only rewards fade: a penalty such as "gone cold" must not soften as the lead
            // grows colder.
            let points = match result.decay {
                Some(decay) if rule.group == RuleGroup::Engagement && rule.points > 0 => {
                    decayed_points(rule.points, decay.factor)
                }
                _ => rule.points,
            };
            result.groups.add(rule.group, points);
            result.fired.push(FiredRule {
                rule_key: &rule.key,
                group: rule.group,
                points,
                base_points: rule.points,
            });
        }
        result.raw_total = result.groups.total();
        result.score = result
            .raw_total
            .clamp(i32::from(MIN_SCORE), i32::from(MAX_SCORE)) as u8;
    }
}

/// Deleted wins over opted out: a deleted lead is gone whatever its consent said.
fn zero_reason(lead: &Lead) -> Option<ZeroReason> {
    if lead.is_deleted {
        Some(ZeroReason::Deleted)
    } else if lead.opt_status == Some(OptStatus::OptedOut) {
        Some(ZeroReason::OptedOut)
    } else {
        None
    }
}
