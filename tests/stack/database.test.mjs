// Tests of the stack's database commands (tools/scripts/db.sh, migrate.sh), run by `npm test`'s
// e2e stage in a throwaway stack dir with its own Postgres on TEST_STACK_PG_PORT and its own copy
// of sql/, so a migration can be added without touching the repository: rows survive a restart,
// a new migration file applies on the next start and only once, a failing one leaves no trace,
// `db.sh reset` (npm run db:reset) rebuilds from sql/ and the seed, and migrate.sh brings a
// database that got 0001-0017 before the history existed (a hosted project) up to date, and as
// root a cluster in a directory the postgres user cannot enter still starts.
import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync, spawnSync } from "node:child_process";
import { chmodSync, cpSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readlinkSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

const port = process.env.TEST_STACK_PG_PORT ?? "25433";
const dir = mkdtempSync(join(tmpdir(), "rls-edge-stack-"));
// Postgres runs as the postgres user when the tests run as root: it must reach the data dir.
chmodSync(dir, 0o755);
const sqlDir = join(dir, "sql");
// Stands for the local Auth's schema (tools/auth/migrations), which the stack applies first.
const authDir = join(dir, "auth-migrations");
const scriptEnv = { ...process.env, RLS_EDGE_DEV_DIR: join(dir, "dev"), DEV_PG_PORT: port, RLS_EDGE_SQL_DIR: sqlDir, RLS_EDGE_AUTH_SQL_DIR: authDir };
const shipped = readdirSync("sql/migrations").filter((f) => f.endsWith(".sql")).map((f) => f.split("_")[0]);
/** What the development database's history holds: sql/'s versions and the local Auth's, in version order. */
const local = [...shipped, "auth_0001"];

/** Runs a stack script; returns { status, output } with stdout and stderr together. */
function script(name, ...args) {
  const run = spawnSync("bash", [`tools/scripts/${name}`, ...args], { env: scriptEnv, encoding: "utf8" });
  return { status: run.status, output: `${run.stdout}${run.stderr}` };
}

function db(command) {
  const run = script("db.sh", command);
  assert.equal(run.status, 0, `db.sh ${command} failed:\n${run.output}`);
  return run.output;
}

function sql(query, database = "postgres") {
  return execFileSync("psql", [`postgres://postgres@127.0.0.1:${port}/${database}`, "-X", "-q", "-t", "-A", "-v", "ON_ERROR_STOP=1", "-c", query], {
    encoding: "utf8",
  }).trim();
}

const history = (database) => sql("select coalesce(string_agg(version, ',' order by version), '') from supabase_migrations.schema_migrations", database).split(",");
const tableExists = (name, database) => sql(`select to_regclass('public.${name}') is not null`, database) === "t";

before(() => {
  cpSync("sql", sqlDir, { recursive: true });
  mkdirSync(authDir);
  writeFileSync(join(authDir, "0001_local_auth_marker.sql"), "create table public.stack_test_local_auth (id int);\n");
});
after(() => {
  script("db.sh", "stop");
  rmSync(dir, { recursive: true, force: true });
});

describe("the development database", () => {
  test("the first start creates it with every migration recorded and the seed applied", () => {
    assert.match(db("start"), /applied seed\.sql/);
    assert.deepEqual(history(), local);
    // Each migration commits with its history row, so the rows' transaction ids give the order.
    const order = sql("select string_agg(version, ',' order by xmin::text::bigint) from supabase_migrations.schema_migrations").split(",");
    assert.deepEqual(order, ["auth_0001", ...shipped], "the local Auth's schema goes before sql/");
    assert.equal(tableExists("stack_test_local_auth"), true);
    assert.equal(sql("select email from auth.users where id = 'a11ce000-0000-4000-8000-000000000001'"), "alice@example.com");
    assert.match(sql("select hash from supabase_migrations.seed_files where path = 'sql/seed.sql'"), /^[0-9a-f]{64}$/);
  });

  test("a restart keeps its rows and applies nothing again", () => {
    sql("create table public.stack_test_rows (note text); insert into public.stack_test_rows values ('kept')");
    sql("delete from public.system_rate_limits where endpoint = 'signup'");
    db("stop");
    const output = db("start");
    assert.match(output, /0 new migration\(s\) applied/);
    assert.doesNotMatch(output, /applied seed\.sql/, "the seed must not run again on a restart");
    assert.equal(sql("select note from public.stack_test_rows"), "kept");
    assert.equal(sql("select count(*) from public.system_rate_limits where endpoint = 'signup'"), "0");
    assert.deepEqual(history(), local);
  });

  test("a new migration file applies on the next start, once", () => {
    writeFileSync(join(sqlDir, "migrations", "9999_stack_test.sql"), "create table public.stack_test_marker (id int);\ninsert into public.stack_test_marker values (1);\n");
    db("stop");
    assert.match(db("start"), /applied 9999_stack_test\.sql/);
    assert.equal(sql("select count(*) from public.stack_test_marker"), "1");
    assert.equal(sql("select name || ' ' || (statements[1] like 'create table public.stack_test_marker%') from supabase_migrations.schema_migrations where version = '9999'"), "stack_test true");
    db("stop");
    db("start");
    assert.equal(sql("select count(*) from public.stack_test_marker"), "1", "applied twice");
  });

  test("a failing migration stops the start and leaves neither its changes nor a history row", () => {
    const broken = join(sqlDir, "migrations", "99990_broken.sql");
    writeFileSync(broken, "create table public.stack_test_half (id int);\nselect 1 / 0;\n");
    const run = script("db.sh", "start");
    assert.notEqual(run.status, 0);
    assert.match(run.output, /failed in .*99990_broken\.sql/);
    assert.equal(tableExists("stack_test_half"), false);
    assert.ok(!history().includes("99990"));
    unlinkSync(broken);
    db("start");
  });

  test("db:reset drops the rows and rebuilds from sql/ and the seed, also while it runs", () => {
    const output = db("reset");
    assert.match(output, /applied seed\.sql/);
    assert.equal(tableExists("stack_test_rows"), false);
    assert.equal(sql("select count(*) from public.stack_test_marker"), "1");
    assert.ok(Number(sql("select count(*) from public.system_rate_limits where endpoint = 'signup'")) > 0, "seed rows are back");
    assert.deepEqual(history(), [...shipped, "9999", "auth_0001"]);
  });
});

describe("migrate.sh on a database migrated before the history existed", () => {
  test("records what it has, applies what is new, and is a no-op the second time", () => {
    sql("create database hosted");
    for (const file of readdirSync("sql/migrations").filter((f) => f.endsWith(".sql")).sort()) {
      execFileSync("psql", [`postgres://postgres@127.0.0.1:${port}/hosted`, "-X", "-q", "-v", "ON_ERROR_STOP=1", "-f", join("sql/migrations", file)], {
        env: { ...process.env, PGOPTIONS: "-c client_min_messages=warning" },
      });
    }
    assert.equal(sql("select to_regclass('supabase_migrations.schema_migrations') is null", "hosted"), "t");
    const url = `postgres://postgres@127.0.0.1:${port}/hosted`;
    const first = script("migrate.sh", url);
    assert.equal(first.status, 0, first.output);
    assert.deepEqual(history("hosted"), [...shipped, "9999"]);
    assert.equal(tableExists("stack_test_marker", "hosted"), true);
    const second = script("migrate.sh", url);
    assert.equal(second.status, 0, second.output);
    assert.match(second.output, /0 new migration\(s\) applied/);
  });
});

describe("a stack dir the postgres user cannot enter (a clone under /root)", { skip: process.getuid() !== 0 && "only as root" }, () => {
  test("the cluster is kept where that user can reach it and linked from the stack dir", () => {
    script("db.sh", "stop");
    const privateDir = mkdtempSync(join(tmpdir(), "rls-edge-private-")); // mode 0700, owned by root
    const dataDir = join(privateDir, "postgres");
    let kept;
    try {
      const started = script("postgres.sh", "start", dataDir, port);
      assert.equal(started.status, 0, started.output);
      assert.ok(lstatSync(dataDir).isSymbolicLink());
      kept = readlinkSync(dataDir);
      assert.match(kept, /\/rls-edge\/[0-9a-f]{16}$/);
      assert.equal(sql("select 1"), "1");
      assert.equal(script("postgres.sh", "status", dataDir).status, 0);
    } finally {
      script("postgres.sh", "stop", dataDir);
      rmSync(privateDir, { recursive: true, force: true });
      if (kept) rmSync(kept, { recursive: true, force: true });
    }
  });
});
