//! Lead scoring for the CRM: which seller leads to call first, and why.
//!
//! This crate is a pure, explainable rules engine. A workspace's rules (rows of
//! `crm_lead_scoring_rules`, or the built-in [`default_rule_definitions`]) are checked and
//! compiled once into a [`RuleSet`]; [`RuleSet::score`] then turns a [`Lead`] (a `crm_leads`
//! row as PostgREST returns it) and the current time into a [`LeadScore`]: a number from 0 to
//! 100 and the breakdown behind it (every rule that fired with its points, the fit /
//! engagement / motivation totals, the raw total before clamping, and the reason when a
//! deleted or opted-out lead is forced to 0). The same lead, rules and `now` always give the
//! same result, natively and on wasm32: nothing here reads a clock, the network or the
//! database, and no `worker` type appears.
//!
//! # Endpoints
//!
//! The edge layer ([`api`] translates HTTP, [`service`] rescores (also for cleanup's decay job),
//! [`store`] talks to PostgREST under the caller's JWT, so RLS decides what each caller sees
//! and writes) serves `/functions/v1/lead-scoring`:
//!
//! | route | who | what |
//! |---|---|---|
//! | `POST /leads/{id}` | members (viewers get 403) | score one lead, write `score`, `score_breakdown`, `scored_at`; return them |
//! | `POST /batch` `{"lead_ids": [...]}` or `{"stale_before": ts, "limit"?: n}` | members | score up to `LEAD_SCORING_BATCH_MAX` leads, one bulk write (`apply_lead_scores`), counts and top movers |
//! | `POST /preview` `{"lead": {...}, "rules"?, "workspace_id"?, "engagement_half_life_days"?, "now"?}` | anyone signed in | score a lead from the body, write nothing |
//! | `GET /rules?workspace_id=` | members | the workspace's rules (or the built-in ones) and half-life |
//! | `PUT /rules` `{"workspace_id", "rules": [...], "engagement_half_life_days"?}` | owners, admins | validate, then replace the rule set and half-life in one transaction (`save_lead_scoring_rules`) |
//!
//! A lead or workspace the caller cannot see is a 404. Settings: [`config`].
//!
//! # Rules
//!
//! A rule is `{"rule_key", "rule_group", "condition", "points", "enabled", "sort_order"}`:
//! - `rule_key`: 1-64 characters of `a-z`, `0-9`, `_`, `.`, `-`, starting with a letter or
//!   digit, unique in the set;
//! - `rule_group`: `fit`, `engagement` or `motivation`;
//! - `points`: a whole number from -100 to 100;
//! - `enabled` (default `true`): disabled rules are validated but never fire;
//! - `sort_order` (default: the rule's 0-based position in the list, as
//!   `replace_lead_scoring_rules` does): evaluation and breakdown order, ties broken by
//!   `rule_key`.
//!
//! # Conditions
//!
//! A leaf tests one field: `{"field": "tags", "op": "contains_tag", "value": "probate"}`.
//! Combinators hold exactly one key: `{"all": [..]}`, `{"any": [..]}`, `{"not": {..}}` (at
//! most 8 levels, 256 nodes and listed values, and 4096 characters of text per rule; the
//! database refuses to store anything else, see [`condition_json`]).
//!
//! | field | kind | operators |
//! |---|---|---|
//! | `status` | `new`, `active`, `qualified`, `unqualified`, `closed` | `equals`, `in`, `exists` |
//! | `opt_status` | `opted_in`, `opted_out`, `pending` (or null) | `equals`, `in`, `exists` |
//! | `tags` | list of text | `contains_tag`, `exists` (at least one tag) |
//! | `name`, `email`, `phone`, `company`, `source` | text | `equals`, `in`, `exists` (not blank) |
//! | `email_valid`, `phone_valid`, `is_deleted` | true / false | `equals` |
//! | `notes_count` | whole number | `equals`, `in`, `between` |
//! | `created_at`, `updated_at`, `last_contacted_at` | timestamp | `older_than_days`, `newer_than_days`, `exists` |
//!
//! Operators: `equals` takes one value, `in` a non-empty array (any may match),
//! `contains_tag` a tag or an array of tags (any may match), `exists` nothing, `between`
//! `"min"` and/or `"max"` (inclusive) instead of `value`, `older_than_days N` holds when the
//! timestamp is more than N days before `now` and `newer_than_days N` when it is at most N
//! days before `now` (or later), so exactly one of the two holds for a present timestamp; a
//! missing timestamp satisfies neither. Text and tags match loosely: case, spaces and
//! punctuation are ignored (`Pre-Foreclosure` = `pre_foreclosure` = `preforeclosure`).
//! `email_valid` and `phone_valid` are structural checks (see [`contact`]).
//!
//! # Decay
//!
//! With an engagement half-life of N days ([`HalfLife`]), positive engagement points are
//! multiplied by 2^(-days since last touch / N) and rounded to whole points; the last touch is
//! `last_contacted_at`, or `created_at` for a lead nobody has contacted. Penalties do not decay.

pub mod api;
pub mod batch;
pub mod condition;
pub mod condition_json;
pub mod config;
pub mod contact;
pub mod decay;
pub mod defaults;
pub mod error;
pub mod lead;
pub mod preview;
pub mod rules;
pub mod score;
pub mod service;
pub mod store;
pub mod text;
pub mod vocabulary;
pub mod workspace_rules;

pub use decay::{HalfLife, HalfLifeError};
pub use defaults::default_rule_definitions;
pub use error::{InvalidRules, RuleError, RuleProblem};
pub use lead::{Lead, LeadStatus, OptStatus};
pub use rules::{RuleDefinition, RuleGroup, RuleSet};
pub use score::{DecayApplied, FiredRule, GroupTotals, LeadScore, ZeroReason};
pub use shared::time::Timestamp;

use shared::error::ApiError;
use shared::http::{self, RequestContext};
use shared::registry::{Function, RateLimit};
use worker::{Method, Request, Response};

/// The function as a Worker registers it (`shared::registry`). Limit: 60 per 60 s per key, let
/// through while the limiter's store is down: RLS still bounds what a caller can touch.
pub const FUNCTION: Function = Function {
    name: "lead-scoring",
    handle: |req, context| Box::pin(handle(req, context)),
    scheduled: None,
    rate_limit: RateLimit::open(60, 60),
    config_check: |context| config::parsed(context.env()).err().unwrap_or_default(),
};

pub async fn handle(req: Request, context: RequestContext) -> Result<Response, ApiError> {
    match (req.method(), context.segments().as_slice()) {
        (Method::Post, ["leads", id]) => api::score_lead(req, &context, id).await,
        (_, ["leads", _]) => Err(http::method_not_allowed(&req, &["POST"])),
        (Method::Post, ["batch"]) => api::score_batch(req, &context).await,
        (_, ["batch"]) => Err(http::method_not_allowed(&req, &["POST"])),
        (Method::Post, ["preview"]) => api::preview(req, &context).await,
        (_, ["preview"]) => Err(http::method_not_allowed(&req, &["POST"])),
        (Method::Get, ["rules"]) => api::get_rules(req, &context).await,
        (Method::Put, ["rules"]) => api::put_rules(req, &context).await,
        (_, ["rules"]) => Err(http::method_not_allowed(&req, &["GET", "PUT"])),
        _ => Err(http::no_route(&context)),
    }
}
