// The soak's mixed traffic: people signing up through the local Auth and then using every
// endpoint as an app would, each request one step of a small life (sign up, create the profile,
// add leads, score them, store and check a key, get billed and emailed), plus rate-limited
// bursts. Each action sends exactly one request (Stripe and Resend deliveries: see webhooks.mjs),
// so the scheduler in run.mjs controls the request rate.
import { randomUUID } from "node:crypto";
import { roleToken } from "../../tests/e2e/keys.mjs";

const pick = (items) => items[Math.floor(Math.random() * items.length)];
const unique = () => randomUUID().slice(0, 8);
const alphanumeric = (length) => Array.from({ length }, () => "abcdefghijklmnopqrstuvwxyz0123456789"[Math.floor(Math.random() * 36)]).join("");

/** The plan the burst users carry in app_metadata; tools/soak/limits.sql gives it tight limits. */
export const BURST_PLAN = "soak-burst";
const BURST_SIZE = 12;
const LEAD_TAGS = ["probate", "vacant", "pre-foreclosure", "tired landlord", "absentee", "divorce"];
/** A small rule set an owner saves now and then (the database checks it as the engine would). */
const RULES = [
  { rule_key: "motivation_probate", rule_group: "motivation", points: 30, condition: { field: "tags", op: "contains_tag", value: "probate" } },
  { rule_key: "fit_phone", rule_group: "fit", points: 10, condition: { field: "phone_valid", op: "equals", value: true } },
  { rule_key: "engagement_recent", rule_group: "engagement", points: 15, condition: { field: "created_at", op: "newer_than_days", value: 7 } },
];

export class Traffic {
  /**
   * `env`: originUrl, functionsUrl, publishableKey, secretKey, checkSecret, cleanupSecret.
   * `webhooks`: a WebhookSender, whose deliveries are two of the actions.
   */
  constructor({ recorder, env, webhooks }) {
    Object.assign(this, { recorder, env, webhooks });
    this.run = `${Date.now().toString(36)}`;
    this.addresses = 0;
    /** Signed-up users: { id, email, token, ip, profile, workspace, leads, key }. */
    this.users = [];
    this.burstUsers = [];
    /** Per request of a burst: let through by the limiter (2xx, or the intake's own 4xx for a forged delivery), refused (429), or other. */
    this.bursts = { bursts: 0, requests: 0, let_through: 0, refused: 0, refused_without_retry_after: 0, other: {} };
    this.actions = [
      { name: "sign up (Auth)", weight: 1, run: () => this.signUp() },
      { name: "create profile", weight: 4, run: () => this.createProfile() },
      { name: "show profile", weight: 2, ready: () => this.withProfile().length > 0, run: () => this.showProfile() },
      { name: "add a lead (PostgREST)", weight: 3, ready: () => this.withProfile().length > 0, run: () => this.addLead() },
      { name: "score one lead", weight: 5, ready: () => this.withLeads().length > 0, run: () => this.scoreLead() },
      { name: "score a batch", weight: 3, ready: () => this.withLeads().length > 0, run: () => this.scoreBatch() },
      { name: "preview a score", weight: 3, ready: () => this.users.length > 0, run: () => this.preview() },
      { name: "read rules", weight: 2, ready: () => this.withProfile().length > 0, run: () => this.readRules() },
      { name: "save rules", weight: 0.5, ready: () => this.withProfile().length > 0, run: () => this.saveRules() },
      { name: "store a key", weight: 4, ready: () => this.withProfile().length > 0, run: () => this.storeKey() },
      { name: "list keys", weight: 4, ready: () => this.users.length > 0, run: () => this.listKeys() },
      { name: "check a key", weight: 3, ready: () => this.withKey().length > 0, run: () => this.checkKey() },
      { name: "delete a key", weight: 1.5, ready: () => this.withKey().length > 0, run: () => this.deleteKey() },
      { name: "rotate keys", weight: 0.2, run: () => this.rotate() },
      { name: "Stripe delivery", weight: 8, ready: () => this.withProfile().length > 0, run: () => this.webhook("stripe") },
      { name: "Resend delivery", weight: 6, ready: () => this.withProfile().length > 0, run: () => this.webhook("resend") },
      { name: "rate-limit check", weight: 3, run: () => this.rateLimitCheck() },
      { name: "rate-limit status", weight: 2, ready: () => this.users.length > 0, run: () => this.rateLimitStatus() },
      { name: "health", weight: 1, run: () => this.health() },
      { name: "cleanup run", weight: 0.2, run: () => this.cleanup() },
    ];
  }

  /** One request of the mix, chosen by weight among the actions that can run now. */
  next() {
    const ready = this.actions.filter((action) => !action.ready || action.ready());
    let roll = Math.random() * ready.reduce((sum, action) => sum + action.weight, 0);
    for (const action of ready) {
      roll -= action.weight;
      if (roll <= 0) return action.run();
    }
    return ready[ready.length - 1].run();
  }

  withProfile() {
    return this.users.filter((user) => user.profile);
  }

  withLeads() {
    return this.users.filter((user) => user.leads.length > 0);
  }

  withKey() {
    return this.users.filter((user) => user.key);
  }

  /** A client address of its own per user (198.18.0.0/15, set aside for benchmarks), sent as Cloudflare's CF-Connecting-IP. */
  address() {
    this.addresses += 1;
    return `198.${18 + Math.floor(this.addresses / 65_536)}.${Math.floor(this.addresses / 256) % 256}.${this.addresses % 256}`;
  }

  call(label, method, path, user, { json, headers = {} } = {}) {
    const init = { method, headers: { ...headers } };
    if (user) {
      init.headers.authorization = `Bearer ${user.token}`;
      init.headers["cf-connecting-ip"] = user.ip;
    }
    if (json !== undefined) {
      init.headers["content-type"] = "application/json";
      init.body = JSON.stringify(json);
    }
    return this.recorder.send(label, `${this.env.functionsUrl}/${path}`, init);
  }

  // ---- people ------------------------------------------------------------------------------

  /** A sign-up through the local Auth, as supabase-js does it; the session comes back at once. */
  async signUp() {
    const ip = this.address();
    const email = `soak-${this.run}-${this.addresses}@example.test`;
    const answer = await this.recorder.send(
      "POST auth/v1/signup",
      `${this.env.originUrl}/auth/v1/signup`,
      {
        method: "POST",
        headers: { apikey: this.env.publishableKey, "content-type": "application/json", "cf-connecting-ip": ip },
        body: JSON.stringify({ email, password: `pw-${randomUUID()}`, data: { full_name: `Soak ${this.addresses}` } }),
      },
      { worker: false },
    );
    if (answer.ok && answer.body?.access_token) {
      this.users.push({ id: answer.body.user.id, email, token: answer.body.access_token, ip, profile: false, workspace: null, leads: [], key: false });
    }
  }

  /** The first call creates the profile and workspace (201); a repeat answers 200 and changes nothing. */
  async createProfile() {
    const user = this.users.find((candidate) => !candidate.profile) ?? pick(this.withProfile());
    if (!user) return this.signUp();
    const answer = await this.call("POST signup", "POST", "signup", user, { json: { workspace_name: `Soak ${unique()}` } });
    if (answer.ok && answer.body?.workspace?.id) {
      user.profile = true;
      user.workspace = answer.body.workspace.id;
    }
  }

  showProfile() {
    return this.call("GET signup", "GET", "signup", pick(this.withProfile()));
  }

  /** Leads are the app's own data: written straight through PostgREST under the user's token. */
  async addLead() {
    const user = pick(this.withProfile());
    const lead = {
      workspace_id: user.workspace,
      user_id: user.id,
      name: `Seller ${unique()}`,
      phone: Math.random() < 0.6 ? `+1 512 555 ${String(1000 + Math.floor(Math.random() * 9000))}` : null,
      tags: LEAD_TAGS.filter(() => Math.random() < 0.3),
      status: pick(["new", "active", "qualified"]),
    };
    const answer = await this.recorder.send(
      "POST rest/v1/crm_leads",
      `${this.env.originUrl}/rest/v1/crm_leads`,
      {
        method: "POST",
        headers: {
          apikey: this.env.publishableKey,
          authorization: `Bearer ${user.token}`,
          "content-type": "application/json",
          prefer: "return=representation",
        },
        body: JSON.stringify(lead),
      },
      { worker: false },
    );
    if (answer.ok && Array.isArray(answer.body) && answer.body[0]?.id) user.leads.push(answer.body[0].id);
  }

  // ---- lead scoring ------------------------------------------------------------------------

  scoreLead() {
    const user = pick(this.withLeads());
    return this.call("POST lead-scoring/leads/{id}", "POST", `lead-scoring/leads/${pick(user.leads)}`, user);
  }

  scoreBatch() {
    const user = pick(this.withLeads());
    return this.call("POST lead-scoring/batch", "POST", "lead-scoring/batch", user, { json: { lead_ids: user.leads.slice(-10) } });
  }

  preview(user = pick(this.users), label = "POST lead-scoring/preview") {
    const lead = { name: "Preview", phone: "+1 512 555 0142", tags: LEAD_TAGS.filter(() => Math.random() < 0.4), status: "active" };
    return this.call(label, "POST", "lead-scoring/preview", user, { json: { lead } });
  }

  readRules() {
    const user = pick(this.withProfile());
    return this.call("GET lead-scoring/rules", "GET", `lead-scoring/rules?workspace_id=${user.workspace}`, user);
  }

  saveRules() {
    const user = pick(this.withProfile());
    return this.call("PUT lead-scoring/rules", "PUT", "lead-scoring/rules", user, { json: { workspace_id: user.workspace, rules: RULES } });
  }

  // ---- the vault ---------------------------------------------------------------------------

  /** Keys with "good" in them pass the fake provider's check (provider.mjs); the rest are refused. */
  async storeKey() {
    const user = pick(this.withProfile());
    const key = `sk-proj-${Math.random() < 0.7 ? "good" : "nope"}${alphanumeric(40)}`;
    const answer = await this.call("PUT api-keys/{service}", "PUT", "api-keys/openai", user, { json: { key } });
    if (answer.ok) user.key = true;
  }

  listKeys(user = pick(this.users), label = "GET api-keys") {
    return this.call(label, "GET", "api-keys", user);
  }

  checkKey() {
    return this.call("POST api-keys/{service}/check", "POST", "api-keys/openai/check", pick(this.withKey()));
  }

  async deleteKey() {
    const user = pick(this.withKey());
    const answer = await this.call("DELETE api-keys/{service}", "DELETE", "api-keys/openai", user);
    if (answer.ok || answer.status === 404) user.key = false;
  }

  /** Master-key rotation as the scheduler runs it: a `maintenance` role token, as tests/e2e/api-keys.test.mjs presents it. */
  async rotate() {
    const bearer = await roleToken("maintenance", "soak-key-rotation");
    return this.call("POST api-keys/rotate", "POST", "api-keys/rotate", null, { json: { limit: 50 }, headers: { authorization: `Bearer ${bearer}` } });
  }

  // ---- webhooks, the limiter, health, cleanup ----------------------------------------------

  /** The provider's next due delivery (a retry, a duplicate or a new event); a new flow when none is due. */
  webhook(provider) {
    let delivery = this.webhooks.due(provider);
    if (!delivery) {
      const user = pick(this.withProfile());
      if (provider === "stripe") this.webhooks.startStripe(user);
      else this.webhooks.startResend(user);
      delivery = this.webhooks.due(provider);
    }
    return delivery ? this.webhooks.deliver(delivery) : this.health();
  }

  rateLimitCheck() {
    return this.call("POST rate-limit/check", "POST", "rate-limit/check", null, {
      json: { key: `soak:${Math.floor(Math.random() * 500)}`, endpoint: "soak", cost: 1 },
      headers: { "x-api-key": this.env.checkSecret },
    });
  }

  rateLimitStatus(user = pick(this.users), label = "GET rate-limit/status") {
    return this.call(label, "GET", "rate-limit/status", user);
  }

  health() {
    return this.call("GET health", "GET", "health", null);
  }

  cleanup() {
    return this.call("POST cleanup/run", "POST", "cleanup/run", null, { json: { budget_ms: 5000 }, headers: { "x-cleanup-secret": this.env.cleanupSecret } });
  }

  // ---- rate-limited bursts -----------------------------------------------------------------

  /**
   * Users on the burst plan, created as an app's backend creates them (the Auth admin API with
   * the secret key, the plan in app_metadata), then signed in with their password.
   */
  async prepareBurstUsers(count = 3) {
    for (let index = 0; index < count; index += 1) {
      const email = `soak-burst-${this.run}-${index}@example.test`;
      const password = `pw-${randomUUID()}`;
      const auth = (path, apikey, body) =>
        this.recorder.send(
          `POST auth/v1/${path.split("?")[0].slice(1)}`,
          `${this.env.originUrl}/auth/v1${path}`,
          { method: "POST", headers: { apikey, "content-type": "application/json" }, body: JSON.stringify(body) },
          { worker: false },
        );
      const created = await auth("/admin/users", this.env.secretKey, { email, password, email_confirm: true, app_metadata: { plan: BURST_PLAN } });
      if (!created.ok) throw new Error(`creating a burst user: ${created.status} ${JSON.stringify(created.body)}`);
      const session = await auth("/token?grant_type=password", this.env.publishableKey, { email, password });
      if (!session.ok) throw new Error(`signing a burst user in: ${session.status} ${JSON.stringify(session.body)}`);
      this.burstUsers.push({ id: created.body.id, email, token: session.body.access_token, ip: this.address(), leads: [] });
    }
  }

  /**
   * BURST_SIZE requests at once from one caller over a tight budget: the guard must admit what
   * the budget holds and refuse the rest with 429, Retry-After and the one error shape. Turns
   * through a plan-limited endpoint on each store and failure mode (rate-limit: Durable Object,
   * closed; lead-scoring: Durable Object, open; api-keys: Postgres, closed) and forged webhook
   * deliveries, which spend their source IP's `webhooks.unverified` budget.
   */
  async burst() {
    const kinds = [
      (user) => this.rateLimitStatus(user, "burst: GET rate-limit/status"),
      (user) => this.preview(user, "burst: POST lead-scoring/preview"),
      (user) => this.listKeys(user, "burst: GET api-keys"),
      () => this.recorder.send("burst: POST webhooks/stripe (forged)", `${this.env.functionsUrl}/webhooks/stripe`, this.webhooks.forgedStripe(this.forgedSource)),
    ];
    const forged = this.bursts.bursts % kinds.length === kinds.length - 1;
    const kind = kinds[this.bursts.bursts % kinds.length];
    const user = this.burstUsers[this.bursts.bursts % this.burstUsers.length];
    this.forgedSource = `203.0.113.${1 + (this.bursts.bursts % 3)}`;
    this.bursts.bursts += 1;
    // Forged deliveries go back to back: the guard only peeks at the IP's budget before verifying
    // and charges it after a failed verification, so deliveries sent at the same moment all pass
    // the peek (guard.rs); the budget stops the ones that come after.
    const answers = [];
    if (forged) for (let index = 0; index < BURST_SIZE; index += 1) answers.push(await kind(user));
    else answers.push(...(await Promise.all(Array.from({ length: BURST_SIZE }, () => kind(user)))));
    this.bursts.requests += answers.length;
    for (const answer of answers) {
      if (answer.ok || answer.status === 400 || answer.status === 401) this.bursts.let_through += 1;
      else if (answer.status === 429) {
        this.bursts.refused += 1;
        if (!answer.headers.get("retry-after")) this.bursts.refused_without_retry_after += 1;
      } else this.bursts.other[answer.status] = (this.bursts.other[answer.status] ?? 0) + 1;
    }
  }
}
