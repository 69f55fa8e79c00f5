//! Which limit applies to a request, which store keeps its state, and what happens when that
//! store cannot be reached.
//!
//! Limits come from rows of `system_rate_limits` (endpoint, plan, max_requests,
//! window_seconds), with built-in defaults per endpoint when the table has nothing to say.
//! The resolution order, most specific first:
//!
//! 1. a row for this endpoint and this plan;
//! 2. a row for this endpoint and any plan (plan `'default'`, the column's default in
//!    migration 0011, or `'*'` or `NULL`);
//! 3. the default for this endpoint, if it has one (from `RATE_LIMIT_DEFAULTS`, else built in);
//! 4. a row for endpoint `default` and this plan, then for `default` and any plan;
//! 5. the default for `default` (again `RATE_LIMIT_DEFAULTS` first).
//!
//! A table row for an endpoint always beats the code's defaults, but a `default` row never
//! loosens an endpoint that has a default of its own (signup stays strict even when `default`
//! is generous). Rows that cannot be a quota (a count or window below 1, or too large) are
//! ignored. When two rows are equally specific the stricter one wins.
//!
//! Store and failure mode are configuration (see [`StoreSettings::parse`]); the defaults are
//! in [`BuiltIns`].

use crate::gcra::Quota;
use serde::Deserialize;
use shared::registry::{Function, RateLimit};
use std::fmt;

/// The plan assumed when neither the caller's token nor `user_plans` names theirs.
pub const DEFAULT_PLAN: &str = "free";

/// Plan values in `system_rate_limits` that mean "every plan without a row of its own".
const ANY_PLAN: [&str; 2] = ["default", "*"];

/// The endpoint whose limits apply to endpoints with none of their own.
pub const DEFAULT_ENDPOINT: &str = "default";

/// Webhook intake: verified deliveries are charged per provider under this policy.
pub const WEBHOOKS_ENDPOINT: &str = "webhooks";
/// Deliveries that fail verification, charged per client IP; a source whose budget is used up
/// is refused before its next delivery is even verified.
pub const UNVERIFIED_WEBHOOKS_POLICY: &str = "webhooks.unverified";
/// Requests made with a personal key (functions/personal-keys), charged per key on every
/// endpoint, besides the owner's budget for the endpoint itself.
pub const PERSONAL_KEY_POLICY: &str = "personal-key";

/// The longest endpoint name accepted, matching the column's practical use.
const MAX_ENDPOINT_LENGTH: usize = 64;

/// Endpoint names are lower-case letters, digits, `-`, `_` and `.`, up to 64 characters: they
/// become policy names in response headers and part of Durable Object names.
pub fn is_endpoint_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= MAX_ENDPOINT_LENGTH
        && name.bytes().all(|byte| {
            byte.is_ascii_lowercase() || byte.is_ascii_digit() || matches!(byte, b'-' | b'_' | b'.')
        })
}

/// A `system_rate_limits` row as PostgREST returns it.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct RateLimitRow {
    pub endpoint: String,
    pub plan: Option<String>,
    pub max_requests: i64,
    pub window_seconds: i64,
}

impl RateLimitRow {
    fn quota(&self) -> Option<Quota> {
        let max_requests = u32::try_from(self.max_requests).ok()?;
        let window_seconds = u32::try_from(self.window_seconds).ok()?;
        Quota::new(max_requests, window_seconds).ok()
    }

    fn matches_endpoint(&self, endpoint: &str) -> bool {
        self.endpoint.trim().eq_ignore_ascii_case(endpoint)
    }

    fn plan_match(&self, plan: &str) -> Option<PlanMatch> {
        match self.plan.as_deref().map(str::trim) {
            None => Some(PlanMatch::AnyPlan),
            Some(row_plan)
                if ANY_PLAN
                    .iter()
                    .any(|any| row_plan.eq_ignore_ascii_case(any)) =>
            {
                Some(PlanMatch::AnyPlan)
            }
            Some(row_plan) if row_plan.eq_ignore_ascii_case(plan) => Some(PlanMatch::ThisPlan),
            Some(_) => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum PlanMatch {
    ThisPlan,
    AnyPlan,
}

/// What to do when the store holding the limiter state cannot be reached.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureMode {
    /// Let the request through unlimited (and log it): availability beats the limit.
    Open,
    /// Refuse the request with a 503: the limit protects something that matters more.
    Closed,
}

/// Where the limiter state lives.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StoreChoice {
    /// The Durable Object when its binding is configured, else the Postgres RPC.
    Auto,
    /// Only the Durable Object; a missing binding counts as an unreachable store.
    DurableObject,
    /// Only the Postgres RPC `check_rate_limit`.
    Postgres,
}

/// A built-in limit and failure mode for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BuiltInDefault {
    pub endpoint: &'static str,
    pub quota: Quota,
    pub failure_mode: FailureMode,
}

const fn built_in(
    endpoint: &'static str,
    max_requests: u32,
    window_seconds: u32,
    failure_mode: FailureMode,
) -> BuiltInDefault {
    let quota = match Quota::new(max_requests, window_seconds) {
        Ok(quota) => quota,
        Err(_) => panic!("built-in quotas are at least 1 request per 1 second"),
    };
    BuiltInDefault {
        endpoint,
        quota,
        failure_mode,
    }
}

/// The limiter's own policies, which are not functions: failed webhook verifications per
/// source IP, requests made with a personal key per key, and the `default` budget of every
/// endpoint without a limit of its own (kept last).
pub const LIMITER_DEFAULTS: [BuiltInDefault; 3] = [
    built_in(PERSONAL_KEY_POLICY, 120, 60, FailureMode::Closed),
    built_in(UNVERIFIED_WEBHOOKS_POLICY, 60, 60, FailureMode::Open),
    built_in(DEFAULT_ENDPOINT, 60, 60, FailureMode::Closed),
];

/// The defaults when `system_rate_limits` has no row for an endpoint: each served function's
/// own limit (its `FUNCTION.rate_limit` in its crate, gathered by the Worker's registry), then
/// [`LIMITER_DEFAULTS`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BuiltIns(Vec<BuiltInDefault>);

impl BuiltIns {
    /// The built-in defaults of a Worker serving functions with these names and limits.
    pub fn new<'a>(functions: impl IntoIterator<Item = (&'static str, &'a RateLimit)>) -> BuiltIns {
        let own = functions
            .into_iter()
            .filter_map(|(endpoint, limit)| match limit {
                RateLimit::Own(limit) => Some(BuiltInDefault {
                    endpoint,
                    quota: Quota::new(limit.max_requests, limit.window_seconds).ok()?,
                    failure_mode: if limit.fails_closed {
                        FailureMode::Closed
                    } else {
                        FailureMode::Open
                    },
                }),
                RateLimit::Unguarded | RateLimit::SharedDefault => None,
            });
        BuiltIns(own.chain(LIMITER_DEFAULTS).collect())
    }

    /// The built-in defaults of a Worker serving `functions`.
    pub fn of(functions: &[Function]) -> BuiltIns {
        BuiltIns::new(
            functions
                .iter()
                .map(|function| (function.name, &function.rate_limit)),
        )
    }

    pub fn iter(&self) -> impl Iterator<Item = &BuiltInDefault> {
        self.0.iter()
    }

    fn for_endpoint(&self, endpoint: &str) -> Option<&BuiltInDefault> {
        self.0.iter().find(|default| default.endpoint == endpoint)
    }
}

/// Only the limiter's own policies: a Worker serving no function with a limit of its own.
impl Default for BuiltIns {
    fn default() -> Self {
        BuiltIns(LIMITER_DEFAULTS.to_vec())
    }
}

fn default_built_in() -> &'static BuiltInDefault {
    &LIMITER_DEFAULTS[LIMITER_DEFAULTS.len() - 1]
}

/// The quotas used when `system_rate_limits` has no row for an endpoint: the built-in ones,
/// each replaceable through [`DEFAULTS_VARIABLE`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DefaultQuotas {
    overrides: Vec<(String, Quota)>,
    built_ins: BuiltIns,
}

/// The variable replacing built-in quotas, e.g. `signup=10/60,default=120/60` (requests per
/// seconds).
pub const DEFAULTS_VARIABLE: &str = "RATE_LIMIT_DEFAULTS";

impl DefaultQuotas {
    pub fn parse(text: Option<&str>, built_ins: BuiltIns) -> Result<DefaultQuotas, SettingsError> {
        let overrides = parse_pairs(
            DEFAULTS_VARIABLE,
            text,
            "<max requests>/<window seconds>, both at least 1",
            |value| {
                let (max_requests, window_seconds) = value.split_once('/')?;
                Quota::new(
                    max_requests.trim().parse().ok()?,
                    window_seconds.trim().parse().ok()?,
                )
                .ok()
            },
        )?;
        Ok(DefaultQuotas {
            overrides,
            built_ins,
        })
    }

    fn for_endpoint(&self, endpoint: &str) -> Option<Quota> {
        self.overrides
            .iter()
            .find(|(name, _)| name == endpoint)
            .map(|(_, quota)| *quota)
            .or_else(|| {
                self.built_ins
                    .for_endpoint(endpoint)
                    .map(|default| default.quota)
            })
    }
}

/// Where a resolved quota came from, for logs and for explaining a limit to an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuotaSource {
    Table {
        endpoint: String,
        plan: Option<String>,
    },
    /// A built-in default or its replacement from [`DEFAULTS_VARIABLE`].
    Default { endpoint: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ResolvedQuota {
    pub quota: Quota,
    pub source: QuotaSource,
    /// The endpoint the quota is defined for: the one asked about, or `default` when it fell
    /// through to the default limits. It names the policy in the `RateLimit` fields.
    pub policy: String,
}

/// The quota for `endpoint` and `plan` (both compared case-insensitively), following the order
/// in the module documentation.
pub fn resolve_quota(
    rows: &[RateLimitRow],
    defaults: &DefaultQuotas,
    endpoint: &str,
    plan: &str,
) -> ResolvedQuota {
    let endpoint = endpoint.trim().to_ascii_lowercase();
    if let Some(found) = best_row(rows, &endpoint, plan) {
        return found;
    }
    if let Some(quota) = defaults.for_endpoint(&endpoint) {
        return ResolvedQuota {
            quota,
            source: QuotaSource::Default {
                endpoint: endpoint.clone(),
            },
            policy: endpoint,
        };
    }
    if let Some(found) = best_row(rows, DEFAULT_ENDPOINT, plan) {
        return found;
    }
    let quota = defaults
        .for_endpoint(DEFAULT_ENDPOINT)
        .unwrap_or(default_built_in().quota);
    ResolvedQuota {
        quota,
        source: QuotaSource::Default {
            endpoint: DEFAULT_ENDPOINT.to_string(),
        },
        policy: DEFAULT_ENDPOINT.to_string(),
    }
}

/// Whether the caller's plan can change the quota of `endpoint`: only a usable row for it, or
/// for `default`, that names one plan can. When none does, every plan gets the same limit and
/// the guard need not find out which plan the caller is on.
pub fn plan_can_matter(rows: &[RateLimitRow], endpoint: &str) -> bool {
    let endpoint = endpoint.trim().to_ascii_lowercase();
    rows.iter()
        .filter(|row| row.matches_endpoint(&endpoint) || row.matches_endpoint(DEFAULT_ENDPOINT))
        .filter(|row| row.quota().is_some())
        .any(|row| row.plan_match("").is_none())
}

fn best_row(rows: &[RateLimitRow], endpoint: &str, plan: &str) -> Option<ResolvedQuota> {
    rows.iter()
        .filter(|row| row.matches_endpoint(endpoint))
        .filter_map(|row| Some((row.plan_match(plan)?, row.quota()?, row)))
        .min_by(|(match_a, quota_a, _), (match_b, quota_b, _)| {
            match_a
                .cmp(match_b)
                .then_with(|| compare_rates(*quota_a, *quota_b))
        })
        .map(|(_, quota, row)| ResolvedQuota {
            quota,
            source: QuotaSource::Table {
                endpoint: row.endpoint.clone(),
                plan: row.plan.clone(),
            },
            policy: endpoint.to_string(),
        })
}

/// Orders quotas by sustained rate, slowest first: `L1 / W1 < L2 / W2` iff `L1 * W2 < L2 * W1`.
fn compare_rates(a: Quota, b: Quota) -> std::cmp::Ordering {
    let a_rate = u64::from(a.max_requests()) * u64::from(b.window_seconds());
    let b_rate = u64::from(b.max_requests()) * u64::from(a.window_seconds());
    a_rate.cmp(&b_rate)
}

/// How the guard asks the Durable Object (`crate::lease` states what each guarantees).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// Requests are charged a few at a time ahead of need and admitted from the isolate's
    /// lease: no round trip in the common case, at most a tenth of the limit over it.
    Lease,
    /// One round trip to the object per request: never over the limit.
    Exact,
}

/// Store, failure mode and mode for one endpoint.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EndpointSettings {
    pub store: StoreChoice,
    pub failure_mode: FailureMode,
    pub mode: Mode,
}

/// The store, failure-mode and mode configuration: built-in defaults plus per-endpoint
/// overrides.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StoreSettings {
    stores: Vec<(String, StoreChoice)>,
    failure_modes: Vec<(String, FailureMode)>,
    modes: Vec<(String, Mode)>,
    built_ins: BuiltIns,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SettingsError {
    pub variable: &'static str,
    pub entry: String,
    pub expected: &'static str,
}

impl fmt::Display for SettingsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: cannot read entry `{}`; write comma-separated `endpoint=value` pairs where value is {}",
            self.variable, self.entry, self.expected
        )
    }
}

impl std::error::Error for SettingsError {}

/// The variable naming per-endpoint stores, e.g. `webhooks=postgres,default=auto`.
pub const STORE_VARIABLE: &str = "RATE_LIMIT_STORE";
/// The variable naming per-endpoint failure modes, e.g. `lead-scoring=closed`.
pub const FAILURE_MODE_VARIABLE: &str = "RATE_LIMIT_FAILURE_MODE";
/// The variable naming per-endpoint modes, e.g. `signup=exact` (default `lease`).
pub const MODE_VARIABLE: &str = "RATE_LIMIT_MODE";

impl StoreSettings {
    /// Reads the two optional override lists ([`STORE_VARIABLE`], [`FAILURE_MODE_VARIABLE`]).
    /// Stores: `auto`, `durable-object`, `postgres`; failure modes: `open`, `closed`.
    /// Precedence follows the quota resolution: an endpoint's own entry, then its built-in
    /// default, then the `default` entry, then the built-in `default`. So `default=open`
    /// opens unknown endpoints but never signup or api-keys; they need their own entry.
    pub fn parse(
        stores: Option<&str>,
        failure_modes: Option<&str>,
        built_ins: BuiltIns,
    ) -> Result<StoreSettings, SettingsError> {
        Ok(StoreSettings {
            built_ins,
            stores: parse_pairs(
                STORE_VARIABLE,
                stores,
                "auto, durable-object or postgres",
                |value| match value {
                    "auto" => Some(StoreChoice::Auto),
                    "durable-object" => Some(StoreChoice::DurableObject),
                    "postgres" => Some(StoreChoice::Postgres),
                    _ => None,
                },
            )?,
            failure_modes: parse_pairs(
                FAILURE_MODE_VARIABLE,
                failure_modes,
                "open or closed",
                |value| match value {
                    "open" => Some(FailureMode::Open),
                    "closed" => Some(FailureMode::Closed),
                    _ => None,
                },
            )?,
            modes: Vec::new(),
        })
    }

    /// Adds the mode overrides ([`MODE_VARIABLE`]): `lease` or `exact` per endpoint, the
    /// endpoint's own entry first, then the `default` entry, then `lease`.
    pub fn with_modes(self, modes: Option<&str>) -> Result<StoreSettings, SettingsError> {
        let modes = parse_pairs(
            MODE_VARIABLE,
            modes,
            "lease or exact",
            |value| match value {
                "lease" => Some(Mode::Lease),
                "exact" => Some(Mode::Exact),
                _ => None,
            },
        )?;
        Ok(StoreSettings { modes, ..self })
    }

    pub fn for_endpoint(&self, endpoint: &str) -> EndpointSettings {
        let endpoint = endpoint.trim().to_ascii_lowercase();
        let store = lookup(&self.stores, &endpoint).unwrap_or(StoreChoice::Auto);
        let failure_mode = self
            .failure_modes
            .iter()
            .find(|(name, _)| *name == endpoint)
            .map(|(_, mode)| *mode)
            .or_else(|| {
                self.built_ins
                    .for_endpoint(&endpoint)
                    .map(|default| default.failure_mode)
            })
            .or_else(|| lookup(&self.failure_modes, DEFAULT_ENDPOINT))
            .unwrap_or(default_built_in().failure_mode);
        EndpointSettings {
            store,
            failure_mode,
            mode: lookup(&self.modes, &endpoint).unwrap_or(Mode::Lease),
        }
    }
}

fn lookup<T: Copy>(pairs: &[(String, T)], endpoint: &str) -> Option<T> {
    let find = |name: &str| {
        pairs
            .iter()
            .find(|(entry, _)| entry == name)
            .map(|(_, value)| *value)
    };
    find(endpoint).or_else(|| find(DEFAULT_ENDPOINT))
}

fn parse_pairs<T>(
    variable: &'static str,
    text: Option<&str>,
    expected: &'static str,
    parse_value: impl Fn(&str) -> Option<T>,
) -> Result<Vec<(String, T)>, SettingsError> {
    let Some(text) = text else {
        return Ok(Vec::new());
    };
    text.split(',')
        .map(str::trim)
        .filter(|entry| !entry.is_empty())
        .map(|entry| {
            let error = || SettingsError {
                variable,
                entry: entry.to_string(),
                expected,
            };
            let (endpoint, value) = entry.split_once('=').ok_or_else(error)?;
            let endpoint = endpoint.trim().to_ascii_lowercase();
            if endpoint.is_empty() {
                return Err(error());
            }
            let value = parse_value(&value.trim().to_ascii_lowercase()).ok_or_else(error)?;
            Ok((endpoint, value))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::test_support::quota;

    fn row(
        endpoint: &str,
        plan: Option<&str>,
        max_requests: i64,
        window_seconds: i64,
    ) -> RateLimitRow {
        RateLimitRow {
            endpoint: endpoint.into(),
            plan: plan.map(Into::into),
            max_requests,
            window_seconds,
        }
    }

    /// The built-in limits of the bundle's functions when these tests were written (their
    /// `FUNCTION.rate_limit`), plus the limiter's own.
    fn built_ins() -> BuiltIns {
        BuiltIns::new([
            ("signup", &RateLimit::closed(5, 60)),
            ("api-keys", &RateLimit::closed(30, 60)),
            ("lead-scoring", &RateLimit::open(60, 60)),
            ("webhooks", &RateLimit::open(6_000, 60)),
            ("rate-limit", &RateLimit::closed(1_000, 60)),
            ("cleanup", &RateLimit::SharedDefault),
            ("health", &RateLimit::Unguarded),
        ])
    }

    fn defaults() -> DefaultQuotas {
        DefaultQuotas::parse(None, built_ins()).unwrap()
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn empty_table_falls_back_to_each_endpoints_built_in_default() {
        for default in built_ins().iter() {
            let resolved = resolve_quota(&[], &defaults(), default.endpoint, DEFAULT_PLAN);
            assert_eq!(resolved.quota, default.quota);
            assert_eq!(
                resolved.source,
                QuotaSource::Default {
                    endpoint: default.endpoint.to_string()
                }
            );
        }
        assert_eq!(
            resolve_quota(&[], &defaults(), "signup", "free").quota,
            quota(5, 60)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn unknown_endpoint_gets_the_default_limit() {
        let resolved = resolve_quota(&[], &defaults(), "reports", "free");
        assert_eq!(resolved.quota, quota(60, 60));
        assert_eq!(resolved.policy, "default");
        assert_eq!(
            resolved.source,
            QuotaSource::Default {
                endpoint: "default".into()
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn plan_row_beats_any_plan_row_which_beats_built_in() {
        let rows = vec![
            row("lead-scoring", None, 100, 60),
            row("lead-scoring", Some("pro"), 1_000, 60),
            row("lead-scoring", Some("team"), 5_000, 60),
        ];
        assert_eq!(
            resolve_quota(&rows, &defaults(), "lead-scoring", "pro").quota,
            quota(1_000, 60)
        );
        assert_eq!(
            resolve_quota(&rows, &defaults(), "lead-scoring", "free").quota,
            quota(100, 60)
        );
        assert_eq!(
            resolve_quota(&rows, &defaults(), "lead-scoring", "pro").source,
            QuotaSource::Table {
                endpoint: "lead-scoring".into(),
                plan: Some("pro".into())
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn the_plan_matters_only_where_a_row_names_one() {
        let rows = [
            row("signup", Some("default"), 10, 60),
            row("webhooks", None, 600, 60),
            row("exports", Some("*"), 5, 60),
            row("api-keys", Some("default"), 30, 60),
            row("api-keys", Some("pro"), 120, 60),
            row("reports", Some("team"), 0, 60),
        ];
        for endpoint in ["signup", "webhooks", "exports", "reports", "unknown"] {
            assert!(
                !plan_can_matter(&rows, endpoint),
                "{endpoint}: every plan gets the same limit"
            );
        }
        assert!(plan_can_matter(&rows, "API-Keys"));
        let with_default_plan_row = [row("default", Some("pro"), 600, 60)];
        assert!(
            plan_can_matter(&with_default_plan_row, "unknown"),
            "a plan row for `default` covers endpoints without limits"
        );
        let with_plan = resolve_quota(&rows, &defaults(), "api-keys", "pro");
        let without = resolve_quota(&rows, &defaults(), "api-keys", DEFAULT_PLAN);
        assert_ne!(with_plan.quota, without.quota);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn default_star_or_null_plan_means_any_plan() {
        for any in [Some("default"), Some("*"), None] {
            let rows = vec![row("signup", any, 3, 3_600)];
            assert_eq!(
                resolve_quota(&rows, &defaults(), "signup", "enterprise").quota,
                quota(3, 3_600),
                "{any:?}"
            );
        }
        let rows = vec![
            row("signup", Some("default"), 3, 3_600),
            row("signup", Some("enterprise"), 9, 3_600),
        ];
        assert_eq!(
            resolve_quota(&rows, &defaults(), "signup", "enterprise").quota,
            quota(9, 3_600)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn names_compare_case_insensitively() {
        let rows = vec![row("Lead-Scoring", Some("PRO"), 7, 60)];
        assert_eq!(
            resolve_quota(&rows, &defaults(), "lead-scoring", "pro").quota,
            quota(7, 60)
        );
        assert_eq!(
            resolve_quota(&rows, &defaults(), " LEAD-SCORING ", "Pro").quota,
            quota(7, 60)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn default_rows_cover_unknown_endpoints_but_never_loosen_a_built_in_one() {
        let rows = vec![
            row("default", None, 10_000, 60),
            row("default", Some("pro"), 20_000, 60),
        ];
        assert_eq!(
            resolve_quota(&rows, &defaults(), "reports", "free").quota,
            quota(10_000, 60)
        );
        assert_eq!(
            resolve_quota(&rows, &defaults(), "reports", "pro").quota,
            quota(20_000, 60)
        );
        assert_eq!(
            resolve_quota(&rows, &defaults(), "signup", "pro").quota,
            quota(5, 60)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rows_that_cannot_be_a_quota_are_ignored() {
        let rows = vec![
            row("signup", None, 0, 60),
            row("signup", Some("free"), 10, 0),
            row("signup", Some("free"), -5, 60),
            row("signup", Some("free"), i64::from(u32::MAX) + 1, 60),
        ];
        let resolved = resolve_quota(&rows, &defaults(), "signup", "free");
        assert_eq!(
            resolved.source,
            QuotaSource::Default {
                endpoint: "signup".into()
            }
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn equally_specific_duplicates_resolve_to_the_stricter_rate() {
        let rows = vec![
            row("webhooks", None, 100, 10),
            row("webhooks", None, 500, 60),
            row("webhooks", None, 20, 1),
        ];
        assert_eq!(
            resolve_quota(&rows, &defaults(), "webhooks", "free").quota,
            quota(500, 60)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn rows_deserialize_from_postgrest_json_including_null_plan() {
        let rows: Vec<RateLimitRow> = serde_json::from_str(
            r#"[{"endpoint":"signup","plan":null,"max_requests":3,"window_seconds":60},
                {"endpoint":"signup","plan":"pro","max_requests":9,"window_seconds":60}]"#,
        )
        .unwrap();
        assert_eq!(rows[0].plan, None);
        assert_eq!(
            resolve_quota(&rows, &defaults(), "signup", "pro").quota,
            quota(9, 60)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn default_failure_modes_follow_the_documented_table() {
        let settings = StoreSettings::parse(None, None, built_ins()).unwrap();
        let mode = |endpoint| settings.for_endpoint(endpoint).failure_mode;
        assert_eq!(mode("webhooks"), FailureMode::Open);
        assert_eq!(mode("signup"), FailureMode::Closed);
        assert_eq!(mode("api-keys"), FailureMode::Closed);
        assert_eq!(mode("lead-scoring"), FailureMode::Open);
        assert_eq!(mode("reports"), FailureMode::Closed);
        assert_eq!(settings.for_endpoint("signup").store, StoreChoice::Auto);
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn modes_default_to_lease_and_are_overridden_per_endpoint_then_by_default() {
        let settings = StoreSettings::parse(None, None, built_ins()).unwrap();
        assert_eq!(settings.for_endpoint("signup").mode, Mode::Lease);
        let settings = settings
            .with_modes(Some("Signup=exact, default=exact, webhooks=lease"))
            .unwrap();
        assert_eq!(settings.for_endpoint("signup").mode, Mode::Exact);
        assert_eq!(settings.for_endpoint("reports").mode, Mode::Exact);
        assert_eq!(settings.for_endpoint("webhooks").mode, Mode::Lease);
        let error = StoreSettings::default()
            .with_modes(Some("signup=sometimes"))
            .unwrap_err();
        assert_eq!(
            (error.variable, error.entry.as_str()),
            (MODE_VARIABLE, "signup=sometimes")
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn overrides_replace_defaults_per_endpoint() {
        let settings = StoreSettings::parse(
            Some("webhooks=postgres, default=durable-object"),
            Some("Signup=open,default=open"),
            built_ins(),
        )
        .unwrap();
        assert_eq!(
            settings.for_endpoint("webhooks").store,
            StoreChoice::Postgres
        );
        assert_eq!(
            settings.for_endpoint("signup").store,
            StoreChoice::DurableObject
        );
        assert_eq!(
            settings.for_endpoint("signup").failure_mode,
            FailureMode::Open
        );
        assert_eq!(
            settings.for_endpoint("reports").failure_mode,
            FailureMode::Open
        );
        assert_eq!(
            settings.for_endpoint("api-keys").failure_mode,
            FailureMode::Closed,
            "a default override must not loosen an endpoint's own built-in"
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn malformed_overrides_name_the_variable_and_the_entry() {
        let error = StoreSettings::parse(Some("webhooks=redis"), None, built_ins()).unwrap_err();
        assert_eq!(error.variable, STORE_VARIABLE);
        assert_eq!(error.entry, "webhooks=redis");
        assert!(error.to_string().contains("durable-object"));

        let error = StoreSettings::parse(None, Some("signup"), built_ins()).unwrap_err();
        assert_eq!(error.variable, FAILURE_MODE_VARIABLE);
        assert!(StoreSettings::parse(None, Some("=open"), built_ins()).is_err());
        assert_eq!(
            StoreSettings::parse(Some(" , "), Some(""), built_ins()).unwrap(),
            StoreSettings::parse(None, None, built_ins()).unwrap()
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn defaults_variable_replaces_built_in_quotas_but_not_table_rows() {
        let defaults = DefaultQuotas::parse(
            Some("signup=100/60, reports=7/10, default=1000/60"),
            built_ins(),
        )
        .unwrap();
        assert_eq!(
            resolve_quota(&[], &defaults, "signup", "free").quota,
            quota(100, 60)
        );
        assert_eq!(
            resolve_quota(&[], &defaults, "api-keys", "free").quota,
            quota(30, 60)
        );
        let reports = resolve_quota(&[], &defaults, "reports", "free");
        assert_eq!(
            (reports.quota, reports.policy.as_str()),
            (quota(7, 10), "reports")
        );
        assert_eq!(
            resolve_quota(&[], &defaults, "other", "free").quota,
            quota(1_000, 60)
        );
        let rows = vec![row("signup", None, 2, 60)];
        assert_eq!(
            resolve_quota(&rows, &defaults, "signup", "free").quota,
            quota(2, 60)
        );
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn malformed_defaults_are_refused_by_name() {
        for bad in [
            "signup=0/60",
            "signup=5/0",
            "signup=5",
            "signup=five/60",
            "=5/60",
        ] {
            let error = DefaultQuotas::parse(Some(bad), built_ins()).unwrap_err();
            assert_eq!(error.variable, DEFAULTS_VARIABLE, "{bad}");
        }
    }

    #[wasm_bindgen_test::wasm_bindgen_test(unsupported = test)]
    fn endpoint_names_are_short_lower_case_words() {
        for good in ["signup", "api-keys", "lead_scoring", "v2.reports"] {
            assert!(is_endpoint_name(good), "{good}");
        }
        for bad in ["", "Signup", "a/b", "a b", "caf\u{e9}", &"x".repeat(65)] {
            assert!(!is_endpoint_name(bad), "{bad:?}");
        }
    }
}
