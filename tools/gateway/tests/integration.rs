//! End-to-end tests over real HTTP against a real Postgres: every behaviour the gateway
//! promises, acted out by anonymous visitors and two users (alice, bob) who must only ever see
//! and change their own rows. A custom harness: one cluster and one gateway serve all cases,
//! and the cluster is stopped at the end whatever happened.

mod support;

use std::panic::AssertUnwindSafe;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use futures_util::FutureExt;
use serde_json::{json, Value};
use support::*;

struct T {
    api: Api,
    db_super: String,
    authenticator: String,
    alice: String,
    bob: String,
}

impl T {
    async fn superuser(&self) -> tokio_postgres::Client {
        let (client, connection) = tokio_postgres::connect(&self.db_super, tokio_postgres::NoTls)
            .await
            .unwrap();
        tokio::spawn(connection);
        client
    }
    async fn start_gateway(&self, overrides: &[(&'static str, &str)]) -> (gateway::Gateway, Api) {
        let mut settings = base_settings(&self.authenticator);
        for (k, v) in overrides {
            settings.insert(k, v.to_string());
        }
        let gw = gateway::start(gateway::Config::from_map(&settings).unwrap())
            .await
            .expect("gateway starts");
        let api = Api::new(gw.url());
        (gw, api)
    }
}

fn main() -> ExitCode {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (super_url, cluster) = superuser_url();
    let code = runtime.block_on(async {
        let (db_name, db_super, authenticator) = create_fixture_database(&super_url).await;
        let gw = gateway::start(gateway::Config::from_map(&base_settings(&authenticator)).unwrap()).await.expect("gateway starts");
        let t = T { api: Api::new(gw.url()), db_super, authenticator, alice: user_token(ALICE), bob: user_token(BOB) };
        let started = Instant::now();
        let mut passed = 0;
        let mut failed = Vec::new();
        macro_rules! cases {
            ($($name:ident),* $(,)?) => {$(
                let outcome = AssertUnwindSafe($name(&t)).catch_unwind().await;
                match outcome {
                    Ok(()) => { println!("test {} ... ok", stringify!($name)); passed += 1; }
                    Err(_) => { println!("test {} ... FAILED", stringify!($name)); failed.push(stringify!($name)); }
                }
            )*};
        }
        cases!(
            startup_refuses_bad_config_and_unreachable_database,
            anonymous_requests_use_the_anon_role,
            invalid_tokens_get_postgrest_jwt_errors,
            unknown_role_claim_is_401,
            each_user_sees_only_their_own_todos,
            each_user_changes_only_their_own_todos,
            request_settings_reach_sql,
            select_columns_aliases_casts_and_json_paths,
            comparison_and_pattern_filters,
            list_array_and_null_filters,
            full_text_search_filters,
            logic_trees_nest_and_negate,
            order_limit_offset_and_range,
            counts_content_range_and_partial_content,
            planned_and_estimated_counts,
            head_answers_headers_without_body,
            singular_object_or_406,
            embedding_many_to_one_one_to_many_one_to_one,
            embedding_many_to_many_filters_order_and_inner,
            embedding_through_views,
            embedding_errors,
            insert_object_array_and_return_modes,
            insert_columns_and_missing_default,
            writes_return_only_what_is_asked,
            insert_errors_map_to_postgrest_codes,
            upsert_merge_ignore_and_on_conflict,
            put_upserts_by_primary_key,
            patch_and_delete_with_filters,
            rpc_scalar_composite_setof_void,
            rpc_argument_styles_and_errors,
            custom_errors_and_response_gucs,
            unknown_table_and_column,
            schema_cache_reloads_on_notify,
            profiles_switch_schemas,
            tx_rollback_preference,
            repeated_statements_keep_transactions_whole,
            concurrent_users_never_see_each_other,
            permission_matrix_holds_on_one_connection_in_both_orders,
            a_pre_request_role_switch_keys_plans_by_the_running_role,
            hostile_nesting_and_long_targets_get_errors,
            casts_take_only_type_names,
            parse_errors_say_where_as_postgrest_does,
            client_hang_up_leaves_no_open_transaction,
            a_panic_mid_transaction_closes_the_connection,
            embedding_disambiguation_by_column_constraint_and_self_reference,
            csv_timezone_array_paths_and_form_bodies,
            geojson_from_postgis_geometry_columns,
            aggregates_when_enabled,
            aggregates_in_spreads_are_hoisted,
            spreading_to_many_relationships,
            openapi_root_follows_privileges_and_refuses_anon,
            execution_plans_when_enabled,
            bulk_columns_and_missing_default_for_post_and_patch,
            jwks_secrets_verify_es256_and_oct_keys,
            pre_request_function_runs_first,
            statement_timeout_from_role_settings,
            body_limit_and_max_rows,
            unsupported_features_answer_clearly,
        );
        println!();
        let result = if failed.is_empty() { "ok" } else { "FAILED" };
        println!(
            "test result: {result}. {passed} passed; {} failed; 0 ignored; 0 measured; 0 filtered out; finished in {:.2}s",
            failed.len(),
            started.elapsed().as_secs_f64()
        );
        drop(gw);
        drop_database(&super_url, &db_name).await;
        if failed.is_empty() { ExitCode::SUCCESS } else { ExitCode::FAILURE }
    });
    drop(runtime);
    drop(cluster);
    code
}

async fn startup_refuses_bad_config_and_unreachable_database(_t: &T) {
    let binary = env!("CARGO_BIN_EXE_gateway");
    let missing = std::process::Command::new(binary)
        .env_remove("PGRST_DB_URI")
        .output()
        .unwrap();
    assert_eq!(missing.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&missing.stderr).contains("PGRST_DB_URI"));
    let port = free_port();
    let unreachable = std::process::Command::new(binary)
        .env(
            "PGRST_DB_URI",
            format!("postgres://nobody@127.0.0.1:{port}/none"),
        )
        .args(["--port", "0"])
        .output()
        .unwrap();
    assert_eq!(unreachable.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&unreachable.stderr).contains("cannot reach the database"));
}

async fn anonymous_requests_use_the_anon_role(t: &T) {
    let books = t.api.get("/books?select=id&order=id").await;
    assert_eq!(books.status, 200);
    assert_eq!(books.ids(), vec![1, 2, 3, 4, 5, 6]);
    let refused = t.api.get("/todos").await;
    assert_eq!(refused.status, 401, "{}", refused.text);
    assert_eq!(refused.code(), "42501");
    assert_eq!(
        refused.header("www-authenticate").as_deref(),
        Some("Bearer")
    );
    let write = t
        .api
        .send("POST", "/todos", None, &[], Some(r#"{"title":"sneaky"}"#))
        .await;
    assert_eq!(write.status, 401);
}

async fn invalid_tokens_get_postgrest_jwt_errors(t: &T) {
    let forged = jsonwebtoken::encode(
        &jsonwebtoken::Header::new(jsonwebtoken::Algorithm::HS256),
        &json!({"sub": ALICE, "role": "gw_authenticated"}),
        &jsonwebtoken::EncodingKey::from_secret(b"another-secret-that-is-also-long-enough!!"),
    )
    .unwrap();
    let bad_signature = t.api.send("GET", "/todos", Some(&forged), &[], None).await;
    assert_eq!(bad_signature.status, 401);
    assert_eq!(bad_signature.code(), "PGRST301");
    assert!(bad_signature
        .header("www-authenticate")
        .unwrap()
        .starts_with("Bearer error=\"invalid_token\""));

    let expired = token_with(json!({"sub": ALICE, "role": "gw_authenticated", "exp": now() - 120}));
    let answer = t.api.send("GET", "/todos", Some(&expired), &[], None).await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, "PGRST303".to_string())
    );
    assert_eq!(answer.json()["message"], "JWT expired");

    let wrong_audience =
        token_with(json!({"sub": ALICE, "role": "gw_authenticated", "aud": "somebody-else"}));
    let answer = t
        .api
        .send("GET", "/todos", Some(&wrong_audience), &[], None)
        .await;
    assert_eq!(answer.json()["message"], "JWT not in audience");

    let two_parts = t
        .api
        .send("GET", "/todos", Some("abc.def"), &[], None)
        .await;
    assert_eq!(
        two_parts.json()["message"],
        "Expected 3 parts in JWT; got 2"
    );

    let unsigned = format!(
        "{}.{}.",
        b64(r#"{"alg":"none","typ":"JWT"}"#),
        b64(&json!({"sub": ALICE, "role": "gw_authenticated"}).to_string())
    );
    let answer = t
        .api
        .send("GET", "/todos", Some(&unsigned), &[], None)
        .await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, "PGRST301".to_string())
    );
}

fn b64(text: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(text)
}

async fn unknown_role_claim_is_401(t: &T) {
    let token = token_with(json!({"sub": ALICE, "role": "no_such_role", "aud": "authenticated"}));
    let answer = t.api.send("GET", "/books", Some(&token), &[], None).await;
    assert_eq!(answer.status, 401, "{}", answer.text);
    assert_eq!(answer.code(), "22023");
}

async fn each_user_sees_only_their_own_todos(t: &T) {
    let alice = t
        .api
        .send(
            "GET",
            "/todos?select=title,owner&order=id",
            Some(&t.alice),
            &[],
            None,
        )
        .await;
    assert_eq!(alice.status, 200);
    let rows = alice.json();
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["owner"] == ALICE),
        "{rows}"
    );
    assert!(rows
        .as_array()
        .unwrap()
        .iter()
        .any(|r| r["title"] == "alice: buy milk"));
    let bob = t
        .api
        .send("GET", "/todos?select=title,owner", Some(&t.bob), &[], None)
        .await;
    let rows = bob.json();
    assert!(!rows.as_array().unwrap().is_empty());
    assert!(
        rows.as_array().unwrap().iter().all(|r| r["owner"] == BOB),
        "{rows}"
    );
}

async fn each_user_changes_only_their_own_todos(t: &T) {
    let created = t
        .api
        .send(
            "POST",
            "/todos",
            Some(&t.bob),
            &[("Prefer", "return=representation")],
            Some(r#"{"title":"bob: private"}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let bob_todo = created.json()[0]["id"].as_i64().unwrap();
    assert_eq!(
        created.json()[0]["owner"],
        BOB,
        "owner defaults to auth.uid()"
    );

    let hijack = t
        .api
        .send(
            "PATCH",
            &format!("/todos?id=eq.{bob_todo}"),
            Some(&t.alice),
            &[("Prefer", "return=representation")],
            Some(r#"{"title":"alice was here"}"#),
        )
        .await;
    assert_eq!(hijack.status, 200);
    assert_eq!(
        hijack.json(),
        json!([]),
        "alice's update matches none of bob's rows"
    );
    let erase = t
        .api
        .send(
            "DELETE",
            &format!("/todos?id=eq.{bob_todo}"),
            Some(&t.alice),
            &[("Prefer", "return=representation")],
            None,
        )
        .await;
    assert_eq!(erase.json(), json!([]));
    let forged_owner = t
        .api
        .send(
            "POST",
            "/todos",
            Some(&t.alice),
            &[],
            Some(&format!(r#"{{"title":"for bob","owner":"{BOB}"}}"#)),
        )
        .await;
    assert_eq!(forged_owner.status, 403, "{}", forged_owner.text);
    assert_eq!(forged_owner.code(), "42501");

    let still = t
        .api
        .send(
            "GET",
            &format!("/todos?id=eq.{bob_todo}&select=title"),
            Some(&t.bob),
            &[],
            None,
        )
        .await;
    assert_eq!(still.json(), json!([{"title": "bob: private"}]));
    let own_update = t
        .api
        .send(
            "PATCH",
            &format!("/todos?id=eq.{bob_todo}"),
            Some(&t.bob),
            &[],
            Some(r#"{"done":true}"#),
        )
        .await;
    assert_eq!(own_update.status, 204);
    let own_delete = t
        .api
        .send(
            "DELETE",
            &format!("/todos?id=eq.{bob_todo}"),
            Some(&t.bob),
            &[("Prefer", "return=representation")],
            None,
        )
        .await;
    assert_eq!(own_delete.json()[0]["done"], true);
}

async fn request_settings_reach_sql(t: &T) {
    let answer = t
        .api
        .send(
            "POST",
            "/rpc/whoami",
            Some(&t.alice),
            &[("x-test", "hello")],
            Some("{}"),
        )
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    let me = answer.json();
    assert_eq!(me["role"], "gw_authenticated");
    assert_eq!(me["sub"], ALICE);
    assert_eq!(me["method"], "POST");
    assert_eq!(me["path"], "/rpc/whoami");
    assert_eq!(me["x_test"], "hello");
    assert_eq!(me["search_path"], "\"public\", \"public\", \"extensions\"");
    let anon = t.api.get("/rpc/whoami").await.json();
    assert_eq!(anon["role"], "gw_anon");
    assert_eq!(anon["sub"], Value::Null);
    assert_eq!(
        anon["claimed_role"], "gw_anon",
        "request.jwt.claims carries the anon role"
    );
    assert_eq!(anon["method"], "GET");
}

async fn select_columns_aliases_casts_and_json_paths(t: &T) {
    let answer = t.api.get("/books?id=eq.1&select=id,name:title,price::text,pages:info->pages,series:info->series->>name,no:info->series->no::int").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!([{"id": 1, "name": "A Wizard of Earthsea", "price": "9.99", "pages": 183, "series": "Earthsea", "no": 1}])
    );
    let all = t.api.get("/authors?id=eq.3").await;
    assert_eq!(all.json(), json!([{"id": 3, "name": "Octavia"}]));
    let computed = t
        .api
        .get("/books?select=id,label&label=like.*(19*&order=label.desc&limit=2")
        .await;
    assert_eq!(computed.status, 200, "{}", computed.text);
    assert_eq!(
        computed.json(),
        json!([{"id": 2, "label": "The Left Hand of Darkness (1969)"}, {"id": 5, "label": "Kindred (1979)"}]),
        "computed fields select, filter and order"
    );
    let embedded_computed = t.api.get("/authors?select=books(label)&id=eq.3").await;
    assert_eq!(
        embedded_computed.json(),
        json!([{"books": [{"label": "Kindred (1979)"}]}])
    );
    let first_genre = t.api.get("/books?id=eq.3&select=genres").await;
    assert_eq!(
        first_genre.json(),
        json!([{"genres": ["fantasy", "comedy"]}])
    );
}

async fn ids(t: &T, query: &str) -> Vec<i64> {
    let answer = t
        .api
        .get(&format!("/books?select=id&order=id&{query}"))
        .await;
    assert_eq!(answer.status, 200, "{query}: {}", answer.text);
    answer.ids()
}

async fn comparison_and_pattern_filters(t: &T) {
    assert_eq!(ids(t, "year=eq.1968").await, vec![1]);
    assert_eq!(ids(t, "year=neq.1968").await, vec![2, 3, 4, 5, 6]);
    assert_eq!(ids(t, "year=gt.2000").await, vec![4, 6]);
    assert_eq!(ids(t, "year=gte.2004").await, vec![4, 6]);
    assert_eq!(ids(t, "year=lt.1969").await, vec![1]);
    assert_eq!(ids(t, "year=lte.1969").await, vec![1, 2]);
    assert_eq!(ids(t, "title=like.*Earth*").await, vec![1]);
    assert_eq!(ids(t, "title=ilike.*going*").await, vec![4]);
    assert_eq!(ids(t, "title=match.^The").await, vec![2]);
    assert_eq!(ids(t, "title=imatch.^the").await, vec![2]);
    assert_eq!(ids(t, "year=not.eq.1968&year=lt.1980").await, vec![2, 5]);
    assert_eq!(
        ids(t, "title=like(any).{*Earth*,*Postal}").await,
        vec![1, 4]
    );
    assert_eq!(ids(t, "info->series->>name=eq.Discworld").await, vec![3, 4]);
    assert_eq!(ids(t, "info->>pages=eq.304").await, vec![2]);
}

async fn list_array_and_null_filters(t: &T) {
    assert_eq!(ids(t, "id=in.(2,4,6)").await, vec![2, 4, 6]);
    assert_eq!(
        ids(t, "title=in.(\"Guards! Guards!\",Kindred)").await,
        vec![3, 5]
    );
    assert_eq!(ids(t, "id=not.in.(1,2,3)").await, vec![4, 5, 6]);
    assert_eq!(ids(t, "price=is.null").await, vec![5]);
    assert_eq!(
        ids(t, "author_id=not.is.null&price=is.not_null").await,
        vec![1, 2, 3, 4]
    );
    assert_eq!(ids(t, "price=isdistinct.9.99").await, vec![2, 3, 4, 5, 6]);
    assert_eq!(ids(t, "genres=cs.{comedy}").await, vec![3, 4]);
    assert_eq!(ids(t, "genres=cd.{scifi,classic}").await, vec![2, 5, 6]);
    assert_eq!(ids(t, "genres=ov.{classic,comedy}").await, vec![1, 2, 3, 4]);
    assert_eq!(
        ids(t, "info=cs.{\"series\":{\"name\":\"Earthsea\"}}").await,
        vec![1]
    );
}

async fn full_text_search_filters(t: &T) {
    assert_eq!(ids(t, "body_tsv=fts.wizard").await, vec![1]);
    assert_eq!(ids(t, "body_tsv=fts(english).dragons").await, vec![3]);
    assert_eq!(ids(t, "body_tsv=plfts.post office").await, vec![4]);
    assert_eq!(ids(t, "body_tsv=phfts(english).night watch").await, vec![3]);
    assert_eq!(ids(t, "body_tsv=wfts.planet -dragon").await, vec![2]);
    assert_eq!(
        ids(t, "body_tsv=not.fts.wizard&body=not.is.null").await,
        vec![2, 3, 4, 5]
    );
    assert_eq!(
        ids(t, "body=fts.plantation").await,
        vec![5],
        "fts also works on text columns"
    );
}

async fn logic_trees_nest_and_negate(t: &T) {
    assert_eq!(ids(t, "or=(year.eq.1968,year.eq.2004)").await, vec![1, 4]);
    assert_eq!(
        ids(t, "or=(id.eq.6,and(year.gt.1960,year.lt.1970))").await,
        vec![1, 2, 6]
    );
    assert_eq!(
        ids(t, "not.or=(year.lt.1980,price.is.null)").await,
        vec![3, 4, 6]
    );
    assert_eq!(
        ids(
            t,
            "and=(year.gt.1960,or(title.like.*Earth*,id.in.(4,5)),not.and(id.eq.5))"
        )
        .await,
        vec![1, 4]
    );
    assert_eq!(
        ids(t, "or=(title.eq.\"Guards! Guards!\",title.not.like.*a*)").await,
        vec![3, 5],
        "Kindred has no lower-case a"
    );
    t.api
        .send("POST", "/items", None, &[], Some(r#"{"name":"stale"}"#))
        .await;
    let quoted_timestamp = t.api.get("/items?select=name&name=eq.stale&or=(added_at.is.null,added_at.lt.%222026-06-01T00:00:00.5%2B00:00%22)").await;
    assert_eq!(
        quoted_timestamp.json(),
        json!([{"name": "stale"}]),
        "quoted values may hold . and : inside logic trees"
    );
    let bad = t.api.get("/books?or=(year.bogus.1)").await;
    assert_eq!((bad.status, bad.code()), (400, "PGRST100".to_string()));
}

async fn order_limit_offset_and_range(t: &T) {
    let answer = t
        .api
        .get("/books?select=id&order=price.desc.nullslast,id")
        .await;
    assert_eq!(answer.ids(), vec![2, 4, 1, 3, 6, 5]);
    let answer = t
        .api
        .get("/books?select=id&order=price.asc.nullsfirst")
        .await;
    assert_eq!(answer.ids()[0], 5);
    let answer = t
        .api
        .get("/books?select=id&order=author_id.desc,year.asc&limit=3")
        .await;
    assert_eq!(
        answer.ids(),
        vec![6, 5, 3],
        "desc puts nulls first, as in Postgres"
    );
    let answer = t
        .api
        .get("/books?select=id&order=id&limit=2&offset=2")
        .await;
    assert_eq!(answer.ids(), vec![3, 4]);
    assert_eq!(answer.header("content-range").as_deref(), Some("2-3/*"));
    let ranged = t
        .api
        .send(
            "GET",
            "/books?select=id&order=id",
            None,
            &[("Range", "1-3")],
            None,
        )
        .await;
    assert_eq!(ranged.ids(), vec![2, 3, 4]);
    let bad = t
        .api
        .send("GET", "/books", None, &[("Range", "5-1")], None)
        .await;
    assert_eq!((bad.status, bad.code()), (416, "PGRST103".to_string()));
    // As PostgREST's getRanges: the header and limit/offset intersect; the header counts for GET
    // only and is ignored when it is not `first-last`; a negative offset alone reads from the
    // start, a limit that is not an integer is ignored, and a negative one is refused.
    let window = |method: &'static str, query: &'static str, range: &'static str| async move {
        let answer = t
            .api
            .send(
                method,
                &format!("/books?select=id&order=id&{query}"),
                None,
                &[("Range", range)],
                None,
            )
            .await;
        (
            answer.status,
            answer.header("content-range").unwrap_or_default(),
        )
    };
    assert_eq!(window("GET", "limit=2", "0-5").await, (200, "0-1/*".into()));
    assert_eq!(
        window("HEAD", "limit=2", "3-3").await,
        (200, "0-1/*".into())
    );
    assert_eq!(window("GET", "", "items=1-2").await, (200, "0-5/*".into()));
    assert_eq!(window("GET", "offset=-4", "").await, (200, "0-5/*".into()));
    assert_eq!(
        window("GET", "limit=abc&offset=4", "").await,
        (200, "4-5/*".into())
    );
    assert_eq!(window("GET", "limit=-1", "").await.0, 416);
    let far = t
        .api
        .get("/books?select=id&offset=9223372036854775807&limit=9223372036854775807")
        .await;
    assert_eq!(
        (far.status, far.json()),
        (200, json!([])),
        "huge windows neither overflow nor fail"
    );
    let by_json = t
        .api
        .get("/books?select=id&info=not.is.null&order=info->pages.desc&limit=1")
        .await;
    assert_eq!(by_json.ids(), vec![4], "394 pages is the longest");
}

async fn counts_content_range_and_partial_content(t: &T) {
    let exact = t
        .api
        .send(
            "GET",
            "/books?select=id&limit=2",
            None,
            &[("Prefer", "count=exact")],
            None,
        )
        .await;
    assert_eq!(exact.status, 206);
    assert_eq!(exact.header("content-range").as_deref(), Some("0-1/6"));
    assert_eq!(
        exact.header("preference-applied").as_deref(),
        Some("count=exact")
    );
    let whole = t
        .api
        .send(
            "GET",
            "/books?select=id&year=gt.2000",
            None,
            &[("Prefer", "count=exact")],
            None,
        )
        .await;
    assert_eq!(whole.status, 200);
    assert_eq!(whole.header("content-range").as_deref(), Some("0-1/2"));
    let empty = t
        .api
        .send(
            "GET",
            "/books?id=eq.999",
            None,
            &[("Prefer", "count=exact")],
            None,
        )
        .await;
    assert_eq!(empty.header("content-range").as_deref(), Some("*/0"));
    let past = t
        .api
        .send(
            "GET",
            "/books?offset=10",
            None,
            &[("Prefer", "count=exact")],
            None,
        )
        .await;
    assert_eq!((past.status, past.code()), (416, "PGRST103".to_string()));
}

/// What the planner estimates for a query, read straight from Postgres.
async fn planner_rows(t: &T, query: &str) -> i64 {
    let client = t.superuser().await;
    let row = client
        .query_one(&format!("explain (format json) {query}"), &[])
        .await
        .unwrap();
    let plan: Value = row.get(0);
    plan[0]["Plan"]["Plan Rows"].as_i64().unwrap()
}

/// The total in `Content-Range: a-b/total`.
fn range_total(answer: &Answer) -> String {
    let range = answer.header("content-range").expect("a Content-Range");
    range.split('/').nth(1).unwrap().to_string()
}

/// A request with `Prefer: count=<count>`.
async fn ask(api: &Api, method: &str, path: &str, query: &str, count: &str) -> Answer {
    let prefer = format!("count={count}");
    api.send(
        method,
        &format!("/{path}?{query}"),
        None,
        &[("Prefer", prefer.as_str())],
        None,
    )
    .await
}

/// `count=planned` is the planner's estimate and nothing is counted; `count=estimated` counts
/// only up to db-max-rows + 1 and trusts the planner past it, as PostgREST does. `counted`
/// (tests/fixture.sql) is built so that the planner misjudges filters on both columns.
async fn planned_and_estimated_counts(t: &T) {
    let over = "select 1 from public.counted where id <= 600 and n <= 600"; // 200 rows, ~360 planned
    let under = "select 1 from public.counted where id <= 200 and n >= 801"; // 200 rows, ~40 planned
    let (over_planned, under_planned) = (planner_rows(t, over).await, planner_rows(t, under).await);
    assert!(
        over_planned > 200 && under_planned < 200,
        "the fixture's estimates moved: {over_planned}, {under_planned}"
    );
    let (over_q, under_q) = (
        "select=id&id=lte.600&n=lte.600&limit=10",
        "select=id&id=lte.200&n=gte.801&limit=10",
    );

    let planned = ask(&t.api, "GET", "counted", over_q, "planned").await;
    assert_eq!(planned.status, 206, "{}", planned.text);
    assert_eq!(
        planned.header("content-range"),
        Some(format!("0-9/{over_planned}")),
        "the planner's figure, not the 200 rows that match"
    );
    assert_eq!(
        planned.header("preference-applied").as_deref(),
        Some("count=planned")
    );
    assert_eq!(planned.json().as_array().unwrap().len(), 10);
    let head = ask(&t.api, "HEAD", "counted", under_q, "planned").await;
    assert_eq!(
        (head.status, head.text.as_str(), range_total(&head)),
        (206, "", under_planned.to_string())
    );

    // Without db-max-rows PostgREST counts every row and reports the larger figure.
    let estimated = ask(&t.api, "GET", "counted", over_q, "estimated").await;
    assert_eq!(range_total(&estimated), over_planned.to_string());
    assert_eq!(
        estimated.header("preference-applied").as_deref(),
        Some("count=estimated")
    );
    let estimated = ask(&t.api, "HEAD", "counted", under_q, "estimated").await;
    assert_eq!(range_total(&estimated), "200");

    // With db-max-rows 50: exact up to 50, then at most 51 rows are counted.
    let (_gw, capped) = t.start_gateway(&[("PGRST_DB_MAX_ROWS", "50")]).await;
    let small = ask(&capped, "GET", "counted", "id=lte.30", "estimated").await;
    assert_eq!(small.header("content-range").as_deref(), Some("0-29/30"));
    let large = ask(&capped, "GET", "counted", over_q, "estimated").await;
    assert_eq!(
        large.header("content-range"),
        Some(format!("0-9/{over_planned}"))
    );
    let large = ask(&capped, "HEAD", "counted", under_q, "estimated").await;
    assert_eq!(
        (large.status, range_total(&large)),
        (206, "51".to_string()),
        "the count stops at db-max-rows + 1 and the planner's 40 is lower: neither 200 nor 40"
    );
    let exact = ask(&capped, "GET", "counted", under_q, "exact").await;
    assert_eq!(range_total(&exact), "200");

    // Calls: estimated counts every row, planned gives no total (PostgREST plans no call).
    let call = "rpc/counted_upto";
    let estimated_call = ask(&capped, "GET", call, "top=300&limit=5", "estimated").await;
    assert_eq!(
        estimated_call.header("content-range").as_deref(),
        Some("0-4/300")
    );
    let planned_call = ask(&capped, "GET", call, "top=300&limit=5", "planned").await;
    assert_eq!(
        (planned_call.status, planned_call.header("content-range")),
        (200, Some("0-4/*".to_string()))
    );
}

async fn head_answers_headers_without_body(t: &T) {
    let answer = t
        .api
        .send("HEAD", "/books", None, &[("Prefer", "count=exact")], None)
        .await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.text, "");
    assert_eq!(answer.header("content-range").as_deref(), Some("0-5/6"));
}

async fn singular_object_or_406(t: &T) {
    let object = [("Accept", "application/vnd.pgrst.object+json")];
    let one = t
        .api
        .send("GET", "/books?id=eq.1&select=id,title", None, &object, None)
        .await;
    assert_eq!(one.status, 200);
    assert_eq!(
        one.json(),
        json!({"id": 1, "title": "A Wizard of Earthsea"})
    );
    assert!(one
        .header("content-type")
        .unwrap()
        .starts_with("application/vnd.pgrst.object+json"));
    let none = t
        .api
        .send("GET", "/books?id=eq.99", None, &object, None)
        .await;
    assert_eq!((none.status, none.code()), (406, "PGRST116".to_string()));
    assert_eq!(none.json()["details"], "The result contains 0 rows");
    let many = t.api.send("GET", "/books", None, &object, None).await;
    assert_eq!(many.json()["details"], "The result contains 6 rows");
    let before = t.api.get("/items?select=id").await.ids().len();
    let insert_two = t
        .api
        .send(
            "POST",
            "/items",
            None,
            &object,
            Some(r#"[{"name":"single-a"},{"name":"single-b"}]"#),
        )
        .await;
    assert_eq!(
        insert_two.status, 406,
        "a singular insert of two rows is rolled back"
    );
    assert_eq!(t.api.get("/items?select=id").await.ids().len(), before);
}

async fn embedding_many_to_one_one_to_many_one_to_one(t: &T) {
    let books = t
        .api
        .get("/books?select=title,author:authors(name)&id=in.(1,6)&order=id")
        .await;
    assert_eq!(books.status, 200, "{}", books.text);
    assert_eq!(
        books.json(),
        json!([{"title": "A Wizard of Earthsea", "author": {"name": "Ursula"}}, {"title": "Anonymous Tales", "author": null}])
    );
    let authors = t
        .api
        .get("/authors?select=name,books(id,title)&id=eq.2&books.order=id.desc")
        .await;
    assert_eq!(
        authors.json(),
        json!([{"name": "Terry", "books": [{"id": 4, "title": "Going Postal"}, {"id": 3, "title": "Guards! Guards!"}]}])
    );
    let profile = t
        .api
        .get("/authors?select=name,profiles(bio)&id=in.(1,3)&order=id")
        .await;
    assert_eq!(
        profile.json(),
        json!([{"name": "Ursula", "profiles": {"bio": "Earthsea"}}, {"name": "Octavia", "profiles": null}])
    );
    let back = t
        .api
        .get("/profiles?select=bio,authors(name)&author_id=eq.2")
        .await;
    assert_eq!(
        back.json(),
        json!([{"bio": "Discworld", "authors": {"name": "Terry"}}])
    );
}

async fn embedding_many_to_many_filters_order_and_inner(t: &T) {
    let tags = t
        .api
        .get("/books?select=id,tags(name)&id=in.(2,3)&order=id&tags.order=name")
        .await;
    assert_eq!(
        tags.json(),
        json!([{"id": 2, "tags": [{"name": "award"}, {"name": "favourite"}]}, {"id": 3, "tags": []}])
    );
    let filtered = t
        .api
        .get("/authors?select=id,books(id)&books.year=gt.1970&books.limit=1&order=id")
        .await;
    assert_eq!(
        filtered.json(),
        json!([{"id": 1, "books": []}, {"id": 2, "books": [{"id": 3}]}, {"id": 3, "books": [{"id": 5}]}])
    );
    let inner = t
        .api
        .get("/authors?select=id,books!inner(id)&books.year=lt.1970")
        .await;
    assert_eq!(
        inner.json(),
        json!([{"id": 1, "books": [{"id": 1}, {"id": 2}]}])
    );
    let present = t
        .api
        .get("/authors?select=id,profiles(bio)&profiles=not.is.null&order=id")
        .await;
    assert_eq!(present.ids(), vec![1, 2]);
    let absent = t
        .api
        .get("/authors?select=id,profiles()&profiles=is.null")
        .await;
    assert_eq!(absent.json(), json!([{"id": 3}]));
    let related_order = t
        .api
        .get("/books?select=id,authors(name)&author_id=not.is.null&order=authors(name).desc,id")
        .await;
    assert_eq!(related_order.ids(), vec![1, 2, 3, 4, 5]);
    let spread = t
        .api
        .get("/books?select=title,...authors(author:name,profiles(bio))&id=in.(1,6)&order=id")
        .await;
    assert_eq!(spread.status, 200, "{}", spread.text);
    assert_eq!(
        spread.json(),
        json!([
            {"title": "A Wizard of Earthsea", "author": "Ursula", "profiles": {"bio": "Earthsea"}},
            {"title": "Anonymous Tales", "author": null, "profiles": null}
        ])
    );
    let counted = t
        .api
        .get("/authors?select=name,books(count)&order=id")
        .await;
    assert_eq!(
        counted.json(),
        json!([{"name": "Ursula", "books": [{"count": 2}]}, {"name": "Terry", "books": [{"count": 2}]}, {"name": "Octavia", "books": [{"count": 1}]}])
    );
    let top_count = t.api.get("/books?select=count&year=gt.1980").await;
    assert_eq!(
        top_count.json(),
        json!([{"count": 3}]),
        "legacy count without parentheses"
    );
    let by_hint = t
        .api
        .get("/books?select=id,writer:authors!books_author_id_fkey(name)&id=eq.5")
        .await;
    assert_eq!(
        by_hint.json(),
        json!([{"id": 5, "writer": {"name": "Octavia"}}])
    );
}

async fn embedding_through_views(t: &T) {
    let from_view = t
        .api
        .get("/recent_books?select=title,authors(name)&order=book_id&limit=2")
        .await;
    assert_eq!(from_view.status, 200, "{}", from_view.text);
    assert_eq!(
        from_view.json(),
        json!([{"title": "Guards! Guards!", "authors": {"name": "Terry"}}, {"title": "Going Postal", "authors": {"name": "Terry"}}])
    );
    let to_view = t
        .api
        .get("/authors?select=name,recent_books(book_id)&id=eq.2&recent_books.order=book_id")
        .await;
    assert_eq!(
        to_view.json(),
        json!([{"name": "Terry", "recent_books": [{"book_id": 3}, {"book_id": 4}]}])
    );
    let tags = t
        .api
        .get("/recent_books?select=book_id,tags(name)&book_id=eq.4")
        .await;
    assert_eq!(
        tags.json(),
        json!([{"book_id": 4, "tags": [{"name": "favourite"}]}]),
        "many-to-many through the view's key"
    );
    let filtered = t.api.get("/recent_books?select=book_id&writer=eq.3").await;
    assert_eq!(filtered.json(), json!([]), "Kindred (1979) is not recent");
}

async fn embedding_errors(t: &T) {
    let none = t.api.get("/books?select=*,users(*)").await;
    assert_eq!((none.status, none.code()), (400, "PGRST200".to_string()));
    let not_embedded = t.api.get("/books?authors.name=eq.x").await;
    assert_eq!(
        (not_embedded.status, not_embedded.code()),
        (400, "PGRST108".to_string())
    );
    let not_to_one = t
        .api
        .get("/authors?select=id,books(id)&order=books(id)")
        .await;
    assert_eq!(not_to_one.code(), "PGRST118");
    let bad_op = t.api.get("/authors?select=id,books(id)&books=eq.1").await;
    assert_eq!(bad_op.code(), "PGRST120");
}

async fn insert_object_array_and_return_modes(t: &T) {
    let minimal = t
        .api
        .send(
            "POST",
            "/items",
            None,
            &[],
            Some(r#"{"name":"apple","qty":3}"#),
        )
        .await;
    assert_eq!(minimal.status, 201);
    assert_eq!(minimal.text, "");
    assert_eq!(minimal.header("content-range").as_deref(), Some("*/*"));
    let headers_only = t
        .api
        .send(
            "POST",
            "/items",
            None,
            &[("Prefer", "return=headers-only")],
            Some(r#"{"name":"pear & plum"}"#),
        )
        .await;
    assert_eq!(headers_only.status, 201);
    let location = headers_only.header("location").unwrap();
    assert!(location.starts_with("/items?id=eq."), "{location}");
    assert_eq!(
        headers_only.header("preference-applied").as_deref(),
        Some("return=headers-only")
    );
    let found = t.api.get(&location).await;
    assert_eq!(found.json()[0]["name"], "pear & plum");
    let many = t
        .api
        .send(
            "POST",
            "/items?select=name,qty",
            None,
            &[("Prefer", "return=representation,count=exact")],
            Some(r#"[{"name":"fig","qty":1},{"name":"kiwi","qty":2}]"#),
        )
        .await;
    assert_eq!(many.status, 201);
    assert_eq!(
        many.json(),
        json!([{"name": "fig", "qty": 1}, {"name": "kiwi", "qty": 2}])
    );
    assert_eq!(many.header("content-range").as_deref(), Some("*/2"));
    assert_eq!(
        many.header("preference-applied").as_deref(),
        Some("return=representation, count=exact")
    );
}

async fn insert_columns_and_missing_default(t: &T) {
    let columns = t
        .api
        .send(
            "POST",
            "/items?columns=name&select=name,qty,note",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"name":"grape","qty":100,"ignored":"yes"}"#),
        )
        .await;
    assert_eq!(columns.status, 201, "{}", columns.text);
    assert_eq!(
        columns.json(),
        json!([{"name": "grape", "qty": 7, "note": "none"}])
    );
    let nulls = t
        .api
        .send(
            "POST",
            "/items?columns=name,note&select=note",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"name":"melon"}"#),
        )
        .await;
    assert_eq!(nulls.json(), json!([{"note": null}]));
    let defaults = t
        .api
        .send(
            "POST",
            "/items?columns=name,note&select=note",
            None,
            &[("Prefer", "return=representation,missing=default")],
            Some(r#"{"name":"lime"}"#),
        )
        .await;
    assert_eq!(defaults.json(), json!([{"note": "none"}]));
    assert_eq!(
        defaults.header("preference-applied").as_deref(),
        Some("return=representation, missing=default")
    );
}

async fn writes_return_only_what_is_asked(t: &T) {
    let minimal = t
        .api
        .send(
            "POST",
            "/drop_box",
            None,
            &[],
            Some(r#"{"id":1,"secret":"s1"}"#),
        )
        .await;
    assert_eq!(minimal.status, 201, "{}", minimal.text);
    let located = t
        .api
        .send(
            "POST",
            "/drop_box",
            None,
            &[("Prefer", "return=headers-only")],
            Some(r#"{"id":2,"secret":"s2"}"#),
        )
        .await;
    assert_eq!(
        located.header("location").as_deref(),
        Some("/drop_box?id=eq.2")
    );
    let ids_only = t
        .api
        .send(
            "POST",
            "/drop_box?select=id",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"id":3,"secret":"s3"}"#),
        )
        .await;
    assert_eq!(ids_only.json(), json!([{"id": 3}]));
    let everything = t
        .api
        .send(
            "POST",
            "/drop_box",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"id":4,"secret":"s4"}"#),
        )
        .await;
    assert_eq!(
        (everything.status, everything.code()),
        (401, "42501".to_string()),
        "reading back the secret needs SELECT on it"
    );
}

async fn insert_errors_map_to_postgrest_codes(t: &T) {
    let post = |body: &'static str| t.api.send("POST", "/items", None, &[], Some(body));
    let invalid = post("{not json").await;
    assert_eq!(
        (invalid.status, invalid.code()),
        (400, "PGRST102".to_string())
    );
    let mismatched = post(r#"[{"name":"a"},{"qty":1}]"#).await;
    assert_eq!(
        (mismatched.status, mismatched.json()["message"].clone()),
        (400, json!("All object keys must match"))
    );
    let unknown = post(r#"{"name":"x","colour":"red"}"#).await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "PGRST204".to_string())
    );
    let duplicate = post(r#"{"name":"apple"}"#).await;
    assert_eq!(
        (duplicate.status, duplicate.code()),
        (409, "23505".to_string())
    );
    assert!(duplicate.json()["details"]
        .as_str()
        .unwrap()
        .contains("already exists"));
    let not_null = post(r#"{"name":null}"#).await;
    assert_eq!(
        (not_null.status, not_null.code()),
        (400, "23502".to_string())
    );
    let bad_input = post(r#"{"name":"y","qty":"lots"}"#).await;
    assert_eq!(
        (bad_input.status, bad_input.code()),
        (400, "22P02".to_string())
    );
    let check = t
        .api
        .send(
            "POST",
            "/todos",
            Some(&t.alice),
            &[],
            Some(r#"{"title":""}"#),
        )
        .await;
    assert_eq!((check.status, check.code()), (400, "23514".to_string()));
    let foreign_key = t
        .api
        .send(
            "POST",
            "/todos",
            Some(&token_with(
                json!({"sub": "33333333-3333-3333-3333-333333333333", "role": "gw_authenticated"}),
            )),
            &[],
            Some(r#"{"title":"ghost"}"#),
        )
        .await;
    assert_eq!(
        (foreign_key.status, foreign_key.code()),
        (409, "23503".to_string())
    );
    let wrong_type = t
        .api
        .send(
            "POST",
            "/items",
            None,
            &[("Content-Type", "text/csv")],
            None,
        )
        .await;
    assert_eq!(wrong_type.status, 415);
}

async fn upsert_merge_ignore_and_on_conflict(t: &T) {
    let merge = [(
        "Prefer",
        "resolution=merge-duplicates,return=representation",
    )];
    let created = t
        .api
        .send(
            "POST",
            "/items?on_conflict=name&select=name,qty",
            None,
            &merge,
            Some(r#"{"name":"cherry","qty":1}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let merged = t
        .api
        .send(
            "POST",
            "/items?on_conflict=name&select=name,qty",
            None,
            &merge,
            Some(r#"[{"name":"cherry","qty":5}]"#),
        )
        .await;
    assert_eq!(merged.status, 200, "only updated rows answer 200");
    assert_eq!(merged.json(), json!([{"name": "cherry", "qty": 5}]));
    assert_eq!(
        merged.header("preference-applied").as_deref(),
        Some("resolution=merge-duplicates, return=representation")
    );
    let ignore = [(
        "Prefer",
        "resolution=ignore-duplicates,return=representation",
    )];
    let ignored = t
        .api
        .send(
            "POST",
            "/items?on_conflict=name&select=name,qty",
            None,
            &ignore,
            Some(r#"[{"name":"cherry","qty":9},{"name":"date","qty":2}]"#),
        )
        .await;
    assert_eq!(ignored.status, 201);
    assert_eq!(ignored.json(), json!([{"name": "date", "qty": 2}]));
    let cherry = t.api.get("/items?name=eq.cherry&select=qty").await;
    assert_eq!(cherry.json(), json!([{"qty": 5}]));
    let id = t.api.get("/items?name=eq.date&select=id").await.ids()[0];
    let by_pk = t
        .api
        .send(
            "POST",
            "/items?select=qty",
            None,
            &merge,
            Some(&format!(r#"{{"id":{id},"name":"date","qty":3}}"#)),
        )
        .await;
    assert_eq!(by_pk.json(), json!([{"qty": 3}]));
}

async fn put_upserts_by_primary_key(t: &T) {
    let created = t
        .api
        .send(
            "PUT",
            "/items?id=eq.500",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"id":500,"name":"put-new","qty":1}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    let replaced = t
        .api
        .send(
            "PUT",
            "/items?id=eq.500&select=name,qty",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"id":500,"name":"put-replaced","qty":2}"#),
        )
        .await;
    assert_eq!(replaced.status, 200);
    assert_eq!(replaced.json(), json!([{"name": "put-replaced", "qty": 2}]));
    let minimal = t
        .api
        .send(
            "PUT",
            "/items?id=eq.500",
            None,
            &[],
            Some(r#"{"id":500,"name":"put-replaced","qty":3}"#),
        )
        .await;
    assert_eq!(minimal.status, 204);
    let not_pk = t
        .api
        .send(
            "PUT",
            "/items?name=eq.x",
            None,
            &[],
            Some(r#"{"id":1,"name":"x"}"#),
        )
        .await;
    assert_eq!(
        (not_pk.status, not_pk.code()),
        (405, "PGRST105".to_string())
    );
    let mismatch = t
        .api
        .send(
            "PUT",
            "/items?id=eq.500",
            None,
            &[],
            Some(r#"{"id":501,"name":"x"}"#),
        )
        .await;
    assert_eq!(
        (mismatch.status, mismatch.code()),
        (400, "PGRST115".to_string())
    );
    let limited = t
        .api
        .send(
            "PUT",
            "/items?id=eq.500&limit=1",
            None,
            &[],
            Some(r#"{"id":500,"name":"x"}"#),
        )
        .await;
    assert_eq!(limited.code(), "PGRST114");
}

async fn patch_and_delete_with_filters(t: &T) {
    t.api
        .send(
            "POST",
            "/items",
            None,
            &[],
            Some(r#"[{"name":"pa1","qty":1},{"name":"pa2","qty":2},{"name":"pa3","qty":3}]"#),
        )
        .await;
    let patched = t
        .api
        .send(
            "PATCH",
            "/items?name=in.(pa1,pa2)&select=name,qty&order=name",
            None,
            &[("Prefer", "return=representation,count=exact")],
            Some(r#"{"qty":0}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.json(),
        json!([{"name": "pa1", "qty": 0}, {"name": "pa2", "qty": 0}])
    );
    assert_eq!(patched.header("content-range").as_deref(), Some("0-1/2"));
    let quiet = t
        .api
        .send(
            "PATCH",
            "/items?name=eq.pa3",
            None,
            &[],
            Some(r#"{"note":"patched"}"#),
        )
        .await;
    assert_eq!(quiet.status, 204);
    assert_eq!(
        t.api.get("/items?name=eq.pa3&select=note").await.json(),
        json!([{"note": "patched"}])
    );
    let limited = t
        .api
        .send(
            "PATCH",
            "/items?name=like.pa*&order=name.desc&limit=1&select=name",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"qty":9}"#),
        )
        .await;
    assert_eq!(limited.json(), json!([{"name": "pa3"}]));
    let strict = t
        .api
        .send(
            "DELETE",
            "/items?name=like.pa*",
            None,
            &[("Prefer", "handling=strict,max-affected=1")],
            None,
        )
        .await;
    assert_eq!(
        (strict.status, strict.code()),
        (400, "PGRST124".to_string())
    );
    let deleted = t
        .api
        .send(
            "DELETE",
            "/items?name=like.pa*&select=name",
            None,
            &[("Prefer", "return=representation")],
            None,
        )
        .await;
    assert_eq!(deleted.status, 200);
    assert_eq!(deleted.json().as_array().unwrap().len(), 3);
    let gone = t
        .api
        .send("DELETE", "/items?name=like.pa*", None, &[], None)
        .await;
    assert_eq!(gone.status, 204);
}

async fn rpc_scalar_composite_setof_void(t: &T) {
    let add = t
        .api
        .send("POST", "/rpc/add", None, &[], Some(r#"{"a":2,"b":3}"#))
        .await;
    assert_eq!((add.status, add.text.as_str()), (200, "5"));
    let get_add = t.api.get("/rpc/add?a=40&b=2").await;
    assert_eq!(get_add.text, "42");
    assert_eq!(t.api.get("/rpc/hello").await.json(), json!("hello world"));
    assert_eq!(
        t.api.get("/rpc/hello?name=gateway").await.json(),
        json!("hello gateway")
    );
    let composite = t.api.get("/rpc/book_by_id?book_id=5&select=id,title").await;
    assert_eq!(composite.json(), json!({"id": 5, "title": "Kindred"}));
    let setof = t.api.get("/rpc/books_since?min_year=1960&select=id,year&genres=cs.{fantasy}&order=year.desc&limit=2").await;
    assert_eq!(
        setof.json(),
        json!([{"id": 4, "year": 2004}, {"id": 3, "year": 1989}])
    );
    let embedded = t
        .api
        .get("/rpc/books_since?min_year=2004&select=id,authors(name)&author_id=not.is.null")
        .await;
    assert_eq!(
        embedded.json(),
        json!([{"id": 4, "authors": {"name": "Terry"}}])
    );
    let counted = t
        .api
        .send(
            "GET",
            "/rpc/books_since?min_year=1960&limit=1",
            None,
            &[("Prefer", "count=exact")],
            None,
        )
        .await;
    assert_eq!(
        (counted.status, counted.header("content-range")),
        (206, Some("0-0/6".to_string()))
    );
    let scalars = t.api.get("/rpc/book_titles?limit=2").await;
    assert_eq!(
        scalars.json(),
        json!(["A Wizard of Earthsea", "The Left Hand of Darkness"])
    );
    let table = t
        .api
        .send(
            "POST",
            "/rpc/titles_and_years?year=gt.2000",
            None,
            &[],
            Some(r#"{"min_year":1980}"#),
        )
        .await;
    assert_eq!(
        table.json(),
        json!([{"title": "Going Postal", "year": 2004}, {"title": "Anonymous Tales", "year": 2010}])
    );
    t.api
        .send(
            "POST",
            "/items",
            None,
            &[],
            Some(r#"{"name":"restock-me","qty":1}"#),
        )
        .await;
    let void = t
        .api
        .send(
            "POST",
            "/rpc/restock",
            None,
            &[],
            Some(r#"{"item_name":"restock-me","amount":4}"#),
        )
        .await;
    assert_eq!((void.status, void.text.as_str()), (204, ""));
    assert_eq!(
        t.api
            .get("/items?name=eq.restock-me&select=qty")
            .await
            .json(),
        json!([{"qty": 5}])
    );
    let single = t
        .api
        .send(
            "GET",
            "/rpc/books_since?min_year=2005&select=id",
            None,
            &[("Accept", "application/vnd.pgrst.object+json")],
            None,
        )
        .await;
    assert_eq!(single.json(), json!({"id": 6}));
}

async fn rpc_argument_styles_and_errors(t: &T) {
    let echo = t
        .api
        .send(
            "POST",
            "/rpc/echo",
            None,
            &[],
            Some(r#"{"any":["thing",1]}"#),
        )
        .await;
    assert_eq!(echo.json(), json!({"any": ["thing", 1]}));
    let variadic = t
        .api
        .get("/rpc/sum_all?numbers=1&numbers=2&numbers=39")
        .await;
    assert_eq!(variadic.text, "42");
    let missing = t.api.send("POST", "/rpc/nope", None, &[], Some("{}")).await;
    assert_eq!(
        (missing.status, missing.code()),
        (404, "PGRST202".to_string())
    );
    let wrong_args = t
        .api
        .send("POST", "/rpc/add", None, &[], Some(r#"{"a":1}"#))
        .await;
    assert_eq!(
        (wrong_args.status, wrong_args.code()),
        (404, "PGRST202".to_string())
    );
    let volatile_get = t.api.get("/rpc/restock?item_name=x").await;
    assert_eq!(
        (volatile_get.status, volatile_get.code()),
        (405, "25006".to_string())
    );
    let put = t.api.send("PUT", "/rpc/add", None, &[], Some("{}")).await;
    assert_eq!((put.status, put.code()), (405, "PGRST101".to_string()));
}

async fn custom_errors_and_response_gucs(t: &T) {
    let refuse = t.api.send("POST", "/rpc/refuse", None, &[], None).await;
    assert_eq!(refuse.status, 400);
    assert_eq!(
        refuse.json(),
        json!({"code": "P0001", "message": "I refuse!", "details": "Pretty simple", "hint": "There is nothing you can do."})
    );
    let pay = t.api.send("POST", "/rpc/pay", None, &[], None).await;
    assert_eq!((pay.status, pay.code()), (402, "PT402".to_string()));
    let teapot = t.api.send("POST", "/rpc/teapot", None, &[], None).await;
    assert_eq!((teapot.status, teapot.code()), (418, "123".to_string()));
    assert_eq!(teapot.header("x-brew").as_deref(), Some("tea"));
    let accepted = t.api.send("POST", "/rpc/accepted", None, &[], None).await;
    assert_eq!(accepted.status, 202);
    assert_eq!(accepted.header("x-custom").as_deref(), Some("yes"));
}

async fn unknown_table_and_column(t: &T) {
    let table = t.api.get("/nope").await;
    assert_eq!((table.status, table.code()), (404, "PGRST205".to_string()));
    assert_eq!(
        table.json()["message"],
        "Could not find the table 'public.nope' in the schema cache"
    );
    let column = t.api.get("/books?select=nope").await;
    assert_eq!((column.status, column.code()), (400, "42703".to_string()));
    let filter = t.api.get("/books?nope=eq.1").await;
    assert_eq!(filter.code(), "42703");
    let deep = t.api.get("/books/1").await;
    assert_eq!((deep.status, deep.code()), (404, "PGRST125".to_string()));
}

async fn schema_cache_reloads_on_notify(t: &T) {
    let db = t.superuser().await;
    db.batch_execute("create table public.late_arrival (id int primary key); insert into public.late_arrival values (1); grant select on public.late_arrival to gw_anon;").await.unwrap();
    assert_eq!(t.api.get("/late_arrival").await.status, 404);
    db.batch_execute("notify pgrst, 'reload schema'")
        .await
        .unwrap();
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        let answer = t.api.get("/late_arrival").await;
        if answer.status == 200 {
            assert_eq!(answer.json(), json!([{"id": 1}]));
            break;
        }
        assert!(Instant::now() < deadline, "schema cache did not reload");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn profiles_switch_schemas(t: &T) {
    let notes = t
        .api
        .send("GET", "/notes", None, &[("Accept-Profile", "extra")], None)
        .await;
    assert_eq!(notes.status, 200);
    assert_eq!(
        notes.json(),
        json!([{"id": 1, "body": "from the extra schema"}])
    );
    assert_eq!(notes.header("content-profile").as_deref(), Some("extra"));
    assert_eq!(t.api.get("/notes").await.status, 404);
    let bad = t
        .api
        .send("GET", "/notes", None, &[("Accept-Profile", "secret")], None)
        .await;
    assert_eq!((bad.status, bad.code()), (406, "PGRST106".to_string()));
    let write = t
        .api
        .send(
            "POST",
            "/notes",
            None,
            &[
                ("Content-Profile", "extra"),
                ("Prefer", "return=representation"),
            ],
            Some(r#"{"id":2,"body":"two"}"#),
        )
        .await;
    assert_eq!(write.status, 201, "{}", write.text);
}

async fn tx_rollback_preference(t: &T) {
    let answer = t
        .api
        .send(
            "POST",
            "/items?select=name",
            None,
            &[("Prefer", "tx=rollback,return=representation")],
            Some(r#"{"name":"phantom"}"#),
        )
        .await;
    assert_eq!(answer.status, 201);
    assert_eq!(answer.json(), json!([{"name": "phantom"}]));
    assert_eq!(
        answer.header("preference-applied").as_deref(),
        Some("return=representation, tx=rollback")
    );
    assert_eq!(t.api.get("/items?name=eq.phantom").await.json(), json!([]));
    let (_gw, strict_api) = t.start_gateway(&[("PGRST_DB_TX_END", "commit")]).await;
    let ignored = strict_api
        .send(
            "POST",
            "/items",
            None,
            &[("Prefer", "tx=rollback")],
            Some(r#"{"name":"kept"}"#),
        )
        .await;
    assert_eq!(ignored.header("preference-applied"), None);
    assert_eq!(
        t.api.get("/items?name=eq.kept&select=name").await.json(),
        json!([{"name": "kept"}])
    );
}

async fn repeated_statements_keep_transactions_whole(t: &T) {
    // Once a statement is prepared on a connection the request travels in one round trip with
    // its COMMIT; the pool has 8 connections, so 12 rounds reach every one of them twice.
    for round in 0..12 {
        let name = format!("repeat-{round}");
        let created = t
            .api
            .send(
                "POST",
                "/items",
                None,
                &[],
                Some(&format!(r#"{{"name":"{name}"}}"#)),
            )
            .await;
        assert_eq!(created.status, 201, "round {round}: {}", created.text);
        let duplicate = t
            .api
            .send(
                "POST",
                "/items",
                None,
                &[],
                Some(&format!(r#"{{"name":"{name}"}}"#)),
            )
            .await;
        assert_eq!(
            (duplicate.status, duplicate.code()),
            (409, "23505".to_string()),
            "round {round}"
        );
        let rolled_back = t
            .api
            .send(
                "POST",
                "/items",
                None,
                &[("Prefer", "tx=rollback")],
                Some(r#"{"name":"never-kept"}"#),
            )
            .await;
        assert_eq!(rolled_back.status, 201);
        let bob_reads = t
            .api
            .send("GET", "/todos?select=owner", Some(&t.bob), &[], None)
            .await;
        assert!(
            bob_reads
                .json()
                .as_array()
                .unwrap()
                .iter()
                .all(|r| r["owner"] == BOB),
            "round {round}: settings never leak between requests"
        );
        let anon_reads = t.api.get("/todos?select=owner").await;
        assert_eq!(anon_reads.status, 401, "round {round}");
    }
    let kept = t.api.get("/items?name=like.repeat-*&select=name").await;
    assert_eq!(kept.json().as_array().unwrap().len(), 12);
    assert_eq!(
        t.api.get("/items?name=eq.never-kept").await.json(),
        json!([])
    );
}

async fn concurrent_users_never_see_each_other(t: &T) {
    let mut requests = Vec::new();
    for i in 0..60 {
        let (token, owner) = match i % 3 {
            0 => (Some(t.alice.clone()), Some(ALICE)),
            1 => (Some(t.bob.clone()), Some(BOB)),
            _ => (None, None),
        };
        let api = Api::new(t.api.base.clone());
        requests.push(tokio::spawn(async move {
            let answer = api
                .send("GET", "/todos?select=owner", token.as_deref(), &[], None)
                .await;
            match owner {
                Some(owner) => {
                    assert_eq!(answer.status, 200);
                    let rows = answer.json();
                    assert!(!rows.as_array().unwrap().is_empty());
                    assert!(
                        rows.as_array().unwrap().iter().all(|r| r["owner"] == owner),
                        "{owner} saw {rows}"
                    );
                }
                None => assert_eq!(
                    answer.status, 401,
                    "anon must stay refused: {}",
                    answer.text
                ),
            }
        }));
    }
    for request in requests {
        request.await.expect("no request saw another user's rows");
    }
}

const EC_PRIVATE_KEY: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQghotZZBudhEGdpnS+
YOxGxCB+Fl+n/fr3kjKtkDvdavKhRANCAARzihCdlnqCbWdI9LO+CgPMO0omwabl
C4TVB6Jr09CzI7YbwdAgySjBa0dQ0ShQf1u3wDwODz6E7lNwDqNVf/2v
-----END PRIVATE KEY-----";

fn ec_key() -> jsonwebtoken::EncodingKey {
    use base64::Engine;
    let body: String = EC_PRIVATE_KEY
        .lines()
        .filter(|l| !l.starts_with("-----"))
        .collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap();
    jsonwebtoken::EncodingKey::from_ec_der(&der)
}

async fn jwks_secrets_verify_es256_and_oct_keys(t: &T) {
    let oct = b64(SECRET);
    let jwks = json!({"keys": [
        {"kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256", "use": "sig",
         "x": "c4oQnZZ6gm1nSPSzvgoDzDtKJsGm5QuE1Qeia9PQsyM", "y": "thvB0CDJKMFrR1DRKFB_W7fAPA4PPoTuU3AOo1V__a8"},
        {"kty": "oct", "kid": "legacy", "alg": "HS256", "k": oct}
    ]})
    .to_string();
    let (_gw, api) = t.start_gateway(&[("PGRST_JWT_SECRET", &jwks)]).await;
    let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
    header.kid = Some("ec-1".into());
    let claims = json!({"sub": ALICE, "role": "gw_authenticated", "aud": "authenticated", "exp": now() + 600});
    let es256 = jsonwebtoken::encode(&header, &claims, &ec_key()).unwrap();
    let answer = api
        .send("GET", "/todos?select=owner", Some(&es256), &[], None)
        .await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert!(answer
        .json()
        .as_array()
        .unwrap()
        .iter()
        .all(|r| r["owner"] == ALICE));
    let legacy = api
        .send("GET", "/todos?select=owner", Some(&t.alice), &[], None)
        .await;
    assert_eq!(
        legacy.status, 200,
        "HS256 tokens verify against the oct key: {}",
        legacy.text
    );
    header.kid = Some("unknown".into());
    let wrong_kid = jsonwebtoken::encode(&header, &claims, &ec_key()).unwrap();
    let answer = api.send("GET", "/todos", Some(&wrong_kid), &[], None).await;
    assert_eq!(
        (answer.status, answer.code()),
        (401, "PGRST301".to_string())
    );
}

async fn pre_request_function_runs_first(t: &T) {
    let blocked = t
        .api
        .send("GET", "/books", None, &[("x-block", "yes")], None)
        .await;
    assert_eq!(
        (blocked.status, blocked.json()["message"].clone()),
        (403, json!("blocked by pre-request"))
    );
    assert_eq!(
        t.api
            .send("GET", "/books", None, &[("x-block", "no")], None)
            .await
            .status,
        200
    );
}

async fn statement_timeout_from_role_settings(t: &T) {
    let timed = token_with(json!({"role": "gw_timed", "aud": "authenticated"}));
    let started = Instant::now();
    let answer = t
        .api
        .send("POST", "/rpc/sleepy", Some(&timed), &[], None)
        .await;
    assert_eq!((answer.status, answer.code()), (500, "57014".to_string()));
    assert!(
        started.elapsed() < Duration::from_millis(1500),
        "cancelled by the role's 300ms statement_timeout"
    );
    let (_gw, api) = t
        .start_gateway(&[("GATEWAY_STATEMENT_TIMEOUT_MS", "200")])
        .await;
    let answer = api.send("POST", "/rpc/sleepy", None, &[], None).await;
    assert_eq!(answer.code(), "57014");
}

async fn body_limit_and_max_rows(t: &T) {
    let big = format!(r#"{{"name":"{}"}}"#, "x".repeat(70_000));
    let answer = t.api.send("POST", "/items", None, &[], Some(&big)).await;
    assert_eq!(answer.status, 413);
    let (_gw, api) = t.start_gateway(&[("PGRST_DB_MAX_ROWS", "2")]).await;
    let capped = api
        .send(
            "GET",
            "/books?select=id&order=id",
            None,
            &[("Prefer", "count=exact")],
            None,
        )
        .await;
    assert_eq!(capped.ids(), vec![1, 2]);
    assert_eq!(capped.header("content-range").as_deref(), Some("0-1/6"));
}

async fn unsupported_features_answer_clearly(t: &T) {
    let xml = t
        .api
        .send("GET", "/books", None, &[("Accept", "text/xml")], None)
        .await;
    assert_eq!((xml.status, xml.code()), (406, "PGRST107".to_string()));
    let aggregate = t.api.get("/books?select=price.sum()").await;
    assert_eq!(
        (aggregate.status, aggregate.code()),
        (400, "PGRST123".to_string()),
        "aggregates are off by default, as on Supabase"
    );
    let embedded_aggregate = t.api.get("/authors?select=name,books(count())").await;
    assert_eq!(embedded_aggregate.code(), "PGRST123");

    let method = t.api.send("TRACE", "/books", None, &[], None).await;
    assert_eq!(
        (method.status, method.code()),
        (405, "PGRST117".to_string())
    );
}

/// One request of the permission matrix: method, path, body, the roles allowed and what they get.
type PermissionCase<'a> = (&'a str, &'a str, Option<&'a str>, &'a [&'a str], Value);

/// Who may do what, asked of one pooled connection by every role, granted roles first and then
/// refused ones, and the other way round. Each role asks seven times in a row: Postgres plans a
/// prepared statement with parameters generically from the sixth execution on (and at once when
/// it has none), and a generic plan built under one role must never serve another. Before the
/// statement cache was keyed by role, an inlined SQL function planned for gw_service answered
/// anon and authenticated callers too.
async fn permission_matrix_holds_on_one_connection_in_both_orders(t: &T) {
    let role_token =
        |role: &str| token_with(json!({"role": role, "aud": "authenticated", "exp": now() + 3600}));
    let roles: Vec<(&str, Option<String>)> = vec![
        ("gw_anon", None),
        ("gw_authenticated", Some(t.alice.clone())),
        ("gw_service", Some(role_token("gw_service"))),
        ("gw_ingest", Some(role_token("gw_ingest"))),
        ("gw_upkeep", Some(role_token("gw_upkeep"))),
    ];
    let service_and_upkeep: &[&str] = &["gw_service", "gw_upkeep"];
    let everyone: &[&str] = &[
        "gw_anon",
        "gw_authenticated",
        "gw_service",
        "gw_ingest",
        "gw_upkeep",
    ];
    // (method, path, body, roles allowed, what the allowed roles get back)
    let cases: Vec<PermissionCase> = vec![
        (
            "GET",
            "/vault?select=secret",
            None,
            service_and_upkeep,
            json!([{"secret": "the vault secret"}]),
        ),
        (
            "GET",
            "/vault_view?select=secret",
            None,
            &["gw_service", "gw_ingest"],
            json!([{"secret": "the vault secret"}]),
        ),
        (
            "GET",
            "/rpc/guarded_sql_immutable",
            None,
            service_and_upkeep,
            json!(42),
        ),
        (
            "GET",
            "/rpc/guarded_sql_stable",
            None,
            service_and_upkeep,
            json!(42),
        ),
        (
            "POST",
            "/rpc/guarded_sql_volatile",
            Some("{}"),
            service_and_upkeep,
            json!(42),
        ),
        (
            "GET",
            "/rpc/guarded_sql_setof",
            None,
            service_and_upkeep,
            json!([42]),
        ),
        (
            "GET",
            "/rpc/guarded_sql_arg?n=41",
            None,
            service_and_upkeep,
            json!(42),
        ),
        (
            "POST",
            "/rpc/guarded_sql_arg",
            Some(r#"{"n":41}"#),
            service_and_upkeep,
            json!(42),
        ),
        (
            "GET",
            "/rpc/guarded_plpgsql_immutable",
            None,
            service_and_upkeep,
            json!(42),
        ),
        (
            "GET",
            "/rpc/guarded_plpgsql_stable",
            None,
            service_and_upkeep,
            json!(42),
        ),
        (
            "POST",
            "/rpc/guarded_plpgsql_volatile",
            Some("{}"),
            service_and_upkeep,
            json!(42),
        ),
        (
            "GET",
            "/books?select=id,guarded_label&id=eq.1",
            None,
            service_and_upkeep,
            json!([{"id": 1, "guarded_label": "guarded A Wizard of Earthsea"}]),
        ),
        (
            "GET",
            "/books?select=id&guarded_label=like.guarded*&id=eq.1",
            None,
            service_and_upkeep,
            json!([{"id": 1}]),
        ),
        (
            "GET",
            "/books?select=id&order=guarded_label&id=eq.1",
            None,
            service_and_upkeep,
            json!([{"id": 1}]),
        ),
    ];
    for granted_first in [true, false] {
        let (_gw, api) = t.start_gateway(&[("PGRST_DB_POOL", "1")]).await;
        for (method, path, body, allowed, expected) in &cases {
            let mut order: Vec<&(&str, Option<String>)> = roles.iter().collect();
            order.sort_by_key(|(role, _)| allowed.contains(role) != granted_first);
            for (role, token) in order {
                for round in 0..7 {
                    let answer = api.send(method, path, token.as_deref(), &[], *body).await;
                    let context = format!("{method} {path} as {role}, round {round}, granted first: {granted_first}: {}", answer.text);
                    if allowed.contains(role) {
                        assert_eq!(answer.status, 200, "{context}");
                        assert_eq!(answer.json(), *expected, "{context}");
                    } else {
                        let status = if token.is_some() { 403 } else { 401 };
                        assert_eq!(
                            (answer.status, answer.code()),
                            (status, "42501".to_string()),
                            "{context}"
                        );
                    }
                }
            }
        }
        let mut rls_order: Vec<&(&str, Option<String>)> = roles.iter().collect();
        if !granted_first {
            rls_order.reverse();
        }
        for (role, token) in rls_order {
            let expected: Vec<Value> = if *role == "gw_service" {
                everyone.iter().map(|r| json!({"owner_role": r})).collect()
            } else {
                vec![json!({"owner_role": role})]
            };
            for round in 0..7 {
                let rows = api
                    .send(
                        "GET",
                        "/role_rows?select=owner_role&order=id",
                        token.as_deref(),
                        &[],
                        None,
                    )
                    .await;
                assert_eq!(
                    rows.json(),
                    Value::Array(expected.clone()),
                    "RLS as {role}, round {round}, granted first: {granted_first}"
                );
            }
        }
    }
}

async fn hostile_nesting_and_long_targets_get_errors(t: &T) {
    // About 60 KB of `or(or(or(...)))`: over the default 32 KB request-target cap.
    let levels = 15_000;
    let nested_or = format!(
        "/books?select=id&or=({}id.eq.1{})",
        "or(".repeat(levels),
        ")".repeat(levels)
    );
    assert!(nested_or.len() > 60_000);
    let too_long = t.api.get(&nested_or).await;
    assert_eq!(
        (too_long.status, too_long.code()),
        (414, "PGRST100".to_string()),
        "{}",
        too_long.text
    );
    assert!(too_long.json()["details"]
        .as_str()
        .unwrap()
        .contains("GATEWAY_MAX_URL_BYTES"));
    // With the cap raised the same request reaches the parser, which refuses the depth at once.
    let (_gw, api) = t.start_gateway(&[("GATEWAY_MAX_URL_BYTES", "65000")]).await;
    let deep = api.get(&nested_or).await;
    assert_eq!(
        (deep.status, deep.code()),
        (400, "PGRST100".to_string()),
        "{}",
        deep.text
    );
    assert!(
        deep.json()["details"]
            .as_str()
            .unwrap()
            .contains("at most 16 levels"),
        "{}",
        deep.text
    );
    assert!(
        deep.text.len() < 1_000,
        "the error quotes the filter abbreviated: {} bytes",
        deep.text.len()
    );
    let deep_not_and = api
        .get(&format!(
            "/books?and=({}id.eq.1{})",
            "not.and(".repeat(5_000),
            ")".repeat(5_000)
        ))
        .await;
    assert_eq!(
        (deep_not_and.status, deep_not_and.code()),
        (400, "PGRST100".to_string())
    );
    let deep_embed = api
        .get(&format!(
            "/authors?select=id,{}id{}",
            "books(id,authors(".repeat(2_000),
            "))".repeat(2_000)
        ))
        .await;
    assert_eq!(
        (deep_embed.status, deep_embed.code()),
        (400, "PGRST100".to_string()),
        "{}",
        deep_embed.text
    );
    assert!(deep_embed.json()["details"]
        .as_str()
        .unwrap()
        .contains("at most 16 levels"));
    // Within the cap, nesting and width still work.
    let nested = api
        .get("/books?select=id&order=id&or=(and(or(and(id.eq.1,year.eq.1968),id.eq.4),id.gt.0))")
        .await;
    assert_eq!(nested.ids(), vec![1, 4]);
    let embedded = api
        .get("/authors?select=id,books(id,authors(id,books(id)))&id=eq.3")
        .await;
    assert_eq!(
        embedded.json(),
        json!([{"id": 3, "books": [{"id": 5, "authors": {"id": 3, "books": [{"id": 5}]}}]}])
    );
    let wide: Vec<String> = (1..=3_000).map(|i| format!("id.eq.{i}")).collect();
    let wide = api
        .get(&format!(
            "/books?select=id&order=id&or=({})",
            wide.join(",")
        ))
        .await;
    assert_eq!(
        wide.ids(),
        vec![1, 2, 3, 4, 5, 6],
        "3000 alternatives in one logic tree"
    );
}

async fn casts_take_only_type_names(t: &T) {
    let injected = t
        .api
        .get("/books?select=id::int%20is%20not%20null%20or%20true")
        .await;
    assert_eq!(
        (injected.status, injected.code()),
        (400, "PGRST100".to_string()),
        "{}",
        injected.text
    );
    // PostgREST's select grammar stops at a top-level `)` and ignores the rest: none of it
    // reaches SQL.
    let ignored = t
        .api
        .get("/books?select=id::text)%20from%20pg_authid--&id=lt.3&order=id")
        .await;
    assert_eq!(
        (ignored.status, ignored.json()),
        (200, json!([{"id": "1"}, {"id": "2"}])),
        "{}",
        ignored.text
    );
    for bad in ["id::int4;select", "id::%22text%22", "id::a.b.c"] {
        let answer = t.api.get(&format!("/books?select={bad}")).await;
        assert_eq!(
            (answer.status, answer.code()),
            (400, "PGRST100".to_string()),
            "{bad}: {}",
            answer.text
        );
    }
    let answer = t.api.get("/books?select=id::text,price::double%20precision,year::bigint,genres::text[],when:year::pg_catalog.int2&id=eq.1").await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.json(),
        json!([{"id": "1", "price": 9.99, "year": 1968, "genres": ["fantasy", "classic"], "when": 1968}])
    );
    let unknown = t.api.get("/books?select=id::no_such_type").await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "42704".to_string()),
        "{}",
        unknown.text
    );
}

/// Bad query parameters fail where PostgREST's Parsec grammar fails, worded as it words them
/// (these inputs are PostgREST's own doctests in `ApiRequest/QueryParams.hs`).
async fn parse_errors_say_where_as_postgrest_does(t: &T) {
    let cases = [
        (
            "/books?select=id,authors(name[])",
            "\"failed to parse select parameter (id,authors(name[]))\" (line 1, column 16)",
            "unexpected '[' expecting letter, digit, \"-\", \"->>\", \"->\", \"::\", \".\", \")\", \",\" or end of input",
        ),
        (
            "/books?select=info->>-78xy",
            "\"failed to parse select parameter (info->>-78xy)\" (line 1, column 11)",
            "unexpected 'x' expecting digit, \"->\", \"::\", \".\", \",\" or end of input",
        ),
        (
            "/books?or=(id.in.1,2,id.eq.3)",
            "\"failed to parse logic tree ((id.in.1,2,id.eq.3))\" (line 1, column 10)",
            "unexpected \"1\" expecting \"(\"",
        ),
        (
            "/books?or=()",
            "\"failed to parse logic tree (())\" (line 1, column 4)",
            "unexpected \")\" expecting field name (* or [a..z0..9_$]), negation operator (not) or logic operator (and, or)",
        ),
        (
            "/books?or=(id.eq.1,not.xor(id.eq.2,id.eq.3))",
            "\"failed to parse logic tree ((id.eq.1,not.xor(id.eq.2,id.eq.3)))\" (line 1, column 16)",
            "unexpected \"x\" expecting logic operator (and, or)",
        ),
        (
            "/books?id=noop.0",
            "\"failed to parse filter (noop.0)\" (line 1, column 1)",
            "unexpected \"o\" expecting \"not\" or operator (eq, gt, ...)",
        ),
        (
            "/books?order=id.ac",
            "\"failed to parse order (id.ac)\" (line 1, column 4)",
            "unexpected \"c\" expecting \"asc\", \"desc\", \"nullsfirst\" or \"nullslast\"",
        ),
    ];
    for (path, message, details) in cases {
        let answer = t.api.get(path).await;
        assert_eq!(answer.status, 400, "{path}: {}", answer.text);
        assert_eq!(
            answer.json(),
            json!({"code": "PGRST100", "message": message, "details": details, "hint": null}),
            "{path}"
        );
    }
    // `not.and` is parsed as `not.and(...)`, so columns count from its first letter; `oops`
    // starts like `or`, and Parsec reports where that string began.
    let negated = t.api.get("/books?not.and=(id.eq.1,oops)").await;
    assert_eq!(
        (
            negated.json()["message"].clone(),
            negated.json()["details"].clone()
        ),
        (
            json!("\"failed to parse logic tree ((id.eq.1,oops))\" (line 1, column 17)"),
            json!("unexpected \"o\" expecting \"or\"")
        )
    );
}

/// A gateway whose pool has one connection, and an item to lock.
async fn one_connection_with_item(t: &T, name: &str, qty: i64) -> (gateway::Gateway, Api) {
    let (gw, api) = t.start_gateway(&[("PGRST_DB_POOL", "1")]).await;
    let item = json!({"name": name, "qty": qty}).to_string();
    let created = api.send("POST", "/items", None, &[], Some(&item)).await;
    assert_eq!(created.status, 201, "{}", created.text);
    (gw, api)
}

/// A panic between a request's statement and the end of its transaction (forced through the
/// `test-hooks` feature, which no normal build has) closes that connection: its transaction is
/// rolled back, its locks go, and the pool never lends it again still inside the transaction.
async fn a_panic_mid_transaction_closes_the_connection(t: &T) {
    let (gw, api) = one_connection_with_item(t, "panicky", 1).await;
    let backend = || async { api.get("/rpc/backend_pid").await.text };
    let first_backend = backend().await;

    gw.state.test_hooks.panic_next_transaction();
    let singular = [("Accept", "application/vnd.pgrst.object+json")];
    let panicked = api
        .send(
            "PATCH",
            "/items?name=eq.panicky",
            None,
            &singular,
            Some(r#"{"qty":999}"#),
        )
        .await;
    assert_eq!(
        (panicked.status, panicked.code()),
        (500, "PGRSTX00".to_string()),
        "{}",
        panicked.text
    );

    // The server process that ran the update is gone, and no session sits in a transaction.
    let admin = t.superuser().await;
    let mut gone = false;
    for _ in 0..50 {
        let alive = admin
            .query(
                "select 1 from pg_stat_activity where pid = $1::text::int",
                &[&first_backend],
            )
            .await
            .unwrap();
        if alive.is_empty() {
            gone = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert!(gone, "backend {first_backend} still connected");
    let idle_in_transaction = admin
        .query(
            "select pid from pg_stat_activity where usename = 'gw_authenticator' and state like 'idle in transaction%'",
            &[],
        )
        .await
        .unwrap();
    assert!(idle_in_transaction.is_empty());
    // The pool's one connection is a new one, outside any transaction: the update was rolled back
    // and its row lock released, so the same update now goes through at once.
    assert_ne!(backend().await, first_backend);
    let item = api.get("/items?name=eq.panicky&select=qty").await;
    assert_eq!(item.json(), json!([{"qty": 1}]));
    let started = Instant::now();
    let again = api
        .send(
            "PATCH",
            "/items?name=eq.panicky",
            None,
            &singular,
            Some(r#"{"qty":2}"#),
        )
        .await;
    assert_eq!(again.status, 204, "{}", again.text);
    assert!(started.elapsed() < Duration::from_secs(2));
}

/// A client that hangs up does not cancel its request (PostgREST finishes it too), and the
/// transaction still ends: its lock is released and no connection stays idle in a transaction.
async fn client_hang_up_leaves_no_open_transaction(t: &T) {
    let (_gw, api) = one_connection_with_item(t, "held", 0).await;
    let impatient = reqwest::Client::builder()
        .timeout(Duration::from_millis(150))
        .build()
        .unwrap();
    let hung_up = impatient
        .post(format!("{}/rpc/hold_item", api.base))
        .header("Content-Type", "application/json")
        .body(r#"{"item_name":"held"}"#)
        .send()
        .await;
    assert!(hung_up.is_err(), "the client gave up before the answer");
    let started = Instant::now();
    let next = api
        .send(
            "PATCH",
            "/items?name=eq.held&select=qty,note",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{"note":"after"}"#),
        )
        .await;
    assert_eq!(next.status, 200, "{}", next.text);
    assert_eq!(
        next.json(),
        json!([{"qty": 1, "note": "after"}]),
        "the abandoned call committed before the next write ran"
    );
    assert!(started.elapsed() < Duration::from_secs(5));
    let db = t.superuser().await;
    let idle: i64 = db
        .query_one("select count(*) from pg_stat_activity where usename = 'gw_authenticator' and state like 'idle in transaction%'", &[])
        .await
        .unwrap()
        .get(0);
    assert_eq!(idle, 0, "no connection is left inside a transaction");
}

async fn embedding_disambiguation_by_column_constraint_and_self_reference(t: &T) {
    let ambiguous = t.api.get("/messages?select=body,members(name)").await;
    assert_eq!(
        (ambiguous.status, ambiguous.code()),
        (300, "PGRST201".to_string()),
        "{}",
        ambiguous.text
    );
    assert_eq!(
        ambiguous.json()["message"],
        "Could not embed because more than one relationship was found for 'messages' and 'members'"
    );
    assert_eq!(
        ambiguous.json()["details"],
        json!([
            {"cardinality": "many-to-one", "embedding": "messages with members", "relationship": "messages_recipient_id_fkey using messages(recipient_id) and members(id)"},
            {"cardinality": "many-to-one", "embedding": "messages with members", "relationship": "messages_sender_id_fkey using messages(sender_id) and members(id)"}
        ])
    );
    assert_eq!(
        ambiguous.json()["hint"],
        "Try changing 'members' to one of the following: 'members!messages_recipient_id_fkey', 'members!messages_sender_id_fkey'. Find the desired relationship in the 'details' key."
    );
    let by_column = t.api.get("/messages?select=body,from:members!sender_id(name),to:members!recipient_id(name)&id=eq.1").await;
    assert_eq!(
        by_column.json(),
        json!([{"body": "hi bea", "from": {"name": "ada"}, "to": {"name": "bea"}}]),
        "{}",
        by_column.text
    );
    let by_constraint = t
        .api
        .get("/messages?select=body,members!messages_recipient_id_fkey(name)&id=eq.2")
        .await;
    assert_eq!(
        by_constraint.json(),
        json!([{"body": "hi ada", "members": {"name": "ada"}}])
    );
    let via_column = t
        .api
        .get("/messages?select=body,sender_id(name)&id=eq.3")
        .await;
    assert_eq!(
        via_column.json(),
        json!([{"body": "hey cy", "sender_id": {"name": "bea"}}]),
        "join select via column: {}",
        via_column.text
    );
    let via_constraint = t
        .api
        .get("/messages?select=body,messages_recipient_id_fkey(name)&id=eq.3")
        .await;
    assert_eq!(
        via_constraint.json(),
        json!([{"body": "hey cy", "messages_recipient_id_fkey": {"name": "cy"}}])
    );
    let sent = t
        .api
        .get("/members?select=name,sent:messages!sender_id(body)&id=eq.2&sent.order=id")
        .await;
    assert_eq!(
        sent.json(),
        json!([{"name": "bea", "sent": [{"body": "hi ada"}, {"body": "hey cy"}]}]),
        "one-to-many with a hint: {}",
        sent.text
    );
    let mentor = t
        .api
        .get("/members?select=name,mentor:mentor_id(name)&id=eq.4")
        .await;
    assert_eq!(
        mentor.json(),
        json!([{"name": "dee", "mentor": {"name": "bea"}}]),
        "self reference, many-to-one: {}",
        mentor.text
    );
    let mentees = t
        .api
        .get("/members?select=name,mentees:members(name)&id=eq.1&mentees.order=id")
        .await;
    assert_eq!(
        mentees.json(),
        json!([{"name": "ada", "mentees": [{"name": "bea"}, {"name": "cy"}]}]),
        "self reference, one-to-many: {}",
        mentees.text
    );
    let hinted = t
        .api
        .get("/members?select=name,mentees:members!mentor_id(name)&id=eq.2")
        .await;
    assert_eq!(
        hinted.json(),
        json!([{"name": "bea", "mentees": [{"name": "dee"}]}]),
        "{}",
        hinted.text
    );
    let chain = t
        .api
        .get("/members?select=name,mentor:mentor_id(name,mentor:mentor_id(name))&id=eq.4")
        .await;
    assert_eq!(
        chain.json(),
        json!([{"name": "dee", "mentor": {"name": "bea", "mentor": {"name": "ada"}}}])
    );
}

/// `Accept: application/geo+json` as PostgREST's PostGIS spec exercises it: each row a Feature
/// whose geometry is the row's geometry column and whose properties are the other columns.
async fn geojson_from_postgis_geometry_columns(t: &T) {
    let geo = [("Accept", "application/geo+json")];
    let feature = |id: i64, address: &str, lon: f64, lat: f64| {
        json!({"type": "Feature", "geometry": {"type": "Point", "coordinates": [lon, lat]},
               "properties": {"id": id, "address": address}})
    };
    let all = t.api.send("GET", "/shops?order=id", None, &geo, None).await;
    assert_eq!(all.status, 200, "{}", all.text);
    assert_eq!(
        all.header("content-type").as_deref(),
        Some("application/geo+json; charset=utf-8")
    );
    assert_eq!(
        all.json(),
        json!({"type": "FeatureCollection", "features": [
            feature(1, "1369 Cambridge St", -71.10044, 42.373695),
            feature(2, "757 Massachusetts Ave", -71.10543, 42.366432),
            feature(3, "605 W Kendall St", -71.081924, 42.36437),
        ]})
    );
    let none = t.api.send("GET", "/shops?id=gt.3", None, &geo, None).await;
    assert_eq!(
        none.json(),
        json!({"type": "FeatureCollection", "features": []})
    );
    let picked = t
        .api
        .send(
            "GET",
            "/shops?select=id,shop_geom&id=eq.1",
            None,
            &geo,
            None,
        )
        .await;
    assert_eq!(picked.json()["features"][0]["properties"], json!({"id": 1}));
    let no_geometry = t.api.send("GET", "/authors", None, &geo, None).await;
    assert_eq!(
        (no_geometry.status, no_geometry.json()),
        (
            400,
            json!({"code": "22023", "message": "geometry column is missing", "details": null, "hint": null})
        )
    );
    let embedded = t
        .api
        .send(
            "GET",
            "/shops?select=id,shop_geom,shop_beacons(id,name)&id=eq.1",
            None,
            &geo,
            None,
        )
        .await;
    assert_eq!(
        embedded.json()["features"][0]["properties"],
        json!({"id": 1, "shop_beacons": [{"id": 1, "name": "Beacon-1"}, {"id": 2, "name": "Beacon-2"}]}),
        "{}",
        embedded.text
    );
    // With several geometry columns the selected one is the Feature's geometry.
    let polygon = t
        .api
        .send(
            "GET",
            "/shop_beacons?select=id,range_area&id=eq.1",
            None,
            &geo,
            None,
        )
        .await;
    let area = &polygon.json()["features"][0];
    assert_eq!(area["geometry"]["type"], "Polygon");
    assert_eq!(area["properties"], json!({"id": 1}));
    let rpc = t
        .api
        .send("GET", "/rpc/get_shop?id=2", None, &geo, None)
        .await;
    assert_eq!(
        rpc.json(),
        json!({"type": "FeatureCollection", "features": [feature(2, "757 Massachusetts Ave", -71.10543, 42.366432)]})
    );
    let created = t
        .api
        .send(
            "POST",
            "/shops",
            None,
            &[geo[0], ("Prefer", "return=representation")],
            Some(r#"{"id": 4, "address": "1354 Massachusetts Ave", "shop_geom": "SRID=4326;POINT(-71.11834 42.373238)"}"#),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.text);
    assert_eq!(
        created.header("content-type").as_deref(),
        Some("application/geo+json; charset=utf-8")
    );
    assert_eq!(
        created.json()["features"],
        json!([feature(4, "1354 Massachusetts Ave", -71.11834, 42.373238)])
    );
    let updated = t
        .api
        .send(
            "PATCH",
            "/shops?id=eq.4",
            None,
            &[geo[0], ("Prefer", "return=representation")],
            Some(r#"{"address": "1354 Massachusetts Avenue"}"#),
        )
        .await;
    assert_eq!(
        updated.json()["features"][0]["properties"]["address"],
        "1354 Massachusetts Avenue"
    );
    let deleted = t
        .api
        .send(
            "DELETE",
            "/shops?id=eq.4",
            None,
            &[geo[0], ("Prefer", "return=representation")],
            None,
        )
        .await;
    assert_eq!(
        deleted.json()["features"],
        json!([feature(
            4,
            "1354 Massachusetts Avenue",
            -71.11834,
            42.373238
        )])
    );
    let head = t.api.send("HEAD", "/shops", None, &geo, None).await;
    assert_eq!(
        (head.status, head.text.as_str()),
        (200, ""),
        "HEAD answers no body"
    );
    // Plain JSON carries geometries through PostGIS' json cast, as in PostgREST.
    let json_out = t.api.get("/shops?select=shop_geom&id=eq.1").await;
    assert_eq!(
        json_out.json(),
        json!([{"shop_geom": {"type": "Point", "crs": {"type": "name", "properties": {"name": "EPSG:4326"}}, "coordinates": [-71.10044, 42.373695]}}])
    );
    // Without PostGIS on the search path, Postgres cannot find ST_AsGeoJSON: PostgREST's 42883.
    let (_gw, narrow) = t
        .start_gateway(&[("PGRST_DB_EXTRA_SEARCH_PATH", "public")])
        .await;
    let missing = narrow.send("GET", "/shops", None, &geo, None).await;
    assert_eq!(
        (missing.status, missing.code()),
        (404, "42883".to_string()),
        "{}",
        missing.text
    );
}

async fn csv_timezone_array_paths_and_form_bodies(t: &T) {
    let csv = t
        .api
        .send(
            "GET",
            "/books?select=id,title,price&id=in.(1,3)&order=id",
            None,
            &[("Accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(csv.status, 200, "{}", csv.text);
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("text/csv; charset=utf-8")
    );
    assert_eq!(
        csv.text,
        "id,title,price\n1,\"A Wizard of Earthsea\",9.99\n3,\"Guards! Guards!\",8.00"
    );
    let empty = t
        .api
        .send(
            "GET",
            "/books?select=id&id=eq.99",
            None,
            &[("Accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(empty.text, "\n");
    let rpc_csv = t
        .api
        .send(
            "GET",
            "/rpc/titles_and_years?min_year=2004",
            None,
            &[("Accept", "text/csv")],
            None,
        )
        .await;
    assert_eq!(
        rpc_csv.text,
        "title,year\n\"Going Postal\",2004\n\"Anonymous Tales\",2010"
    );

    let zoned = t
        .api
        .send(
            "GET",
            "/messages?select=sent_at&id=eq.1",
            None,
            &[("Prefer", "timezone=America/Los_Angeles")],
            None,
        )
        .await;
    assert_eq!(
        zoned.json(),
        json!([{"sent_at": "2026-03-01T04:00:00-08:00"}]),
        "{}",
        zoned.text
    );
    assert_eq!(
        zoned.header("preference-applied").as_deref(),
        Some("timezone=America/Los_Angeles")
    );
    let unknown = t
        .api
        .send(
            "GET",
            "/messages?select=sent_at&id=eq.1",
            None,
            &[("Prefer", "timezone=Mars/Olympus")],
            None,
        )
        .await;
    assert_eq!(
        unknown.json(),
        json!([{"sent_at": "2026-03-01T12:00:00+00:00"}]),
        "an unknown time zone is ignored"
    );
    assert_eq!(unknown.header("preference-applied"), None);
    let strict = t
        .api
        .send(
            "GET",
            "/messages?id=eq.1",
            None,
            &[("Prefer", "handling=strict, timezone=Mars/Olympus")],
            None,
        )
        .await;
    assert_eq!(
        (strict.status, strict.code()),
        (400, "PGRST122".to_string())
    );

    let arrays = t.api.get("/books?select=id,first:genres->0,second:genres->>1&genres->>0=eq.fantasy&order=genres->1.desc,id").await;
    assert_eq!(arrays.status, 200, "{}", arrays.text);
    assert_eq!(
        arrays.json(),
        json!([
            {"id": 3, "first": "fantasy", "second": "comedy"},
            {"id": 4, "first": "fantasy", "second": "comedy"},
            {"id": 1, "first": "fantasy", "second": "classic"}
        ])
    );
    // Without an alias an index names the field after the column; any non-JSON column is read
    // as JSON (a text becomes a JSON string, which jsonb reads as its own element 0); negative
    // indexes count from the end. A parameter without `=` is ignored, as PostgREST ignores it.
    let paths = t
        .api
        .get("/books?select=genres->0,title->>0,last:genres->>-1&id=eq.1&flag")
        .await;
    assert_eq!(
        paths.json(),
        json!([{"genres": "fantasy", "title": "A Wizard of Earthsea", "last": "classic"}]),
        "{}",
        paths.text
    );

    let form = [
        ("Content-Type", "application/x-www-form-urlencoded"),
        ("Prefer", "return=representation"),
    ];
    let inserted = t
        .api
        .send_raw(
            "POST",
            "/items?select=name,qty",
            &form,
            "name=form+item&qty=4",
        )
        .await;
    assert_eq!(inserted.status, 201, "{}", inserted.text);
    assert_eq!(inserted.json(), json!([{"name": "form item", "qty": 4}]));
    let updated = t
        .api
        .send_raw(
            "PATCH",
            "/items?name=eq.form%20item&select=qty,note",
            &form,
            "note=from+a+form",
        )
        .await;
    assert_eq!(updated.json(), json!([{"qty": 4, "note": "from a form"}]));
    let called = t
        .api
        .send_raw(
            "POST",
            "/rpc/add",
            &[("Content-Type", "application/x-www-form-urlencoded")],
            "a=40&b=2",
        )
        .await;
    assert_eq!((called.status, called.text.as_str()), (200, "42"));
    let xml = t
        .api
        .send_raw("POST", "/items", &[("Content-Type", "text/xml")], "<item/>")
        .await;
    assert_eq!((xml.status, xml.code()), (415, "PGRST107".to_string()));
}

async fn aggregates_when_enabled(t: &T) {
    let (_gw, api) = t
        .start_gateway(&[("PGRST_DB_AGGREGATES_ENABLED", "true")])
        .await;
    let sum = api.get("/books?select=price.sum()").await;
    assert_eq!(sum.json(), json!([{"sum": 45.49}]), "{}", sum.text);
    let grouped = api
        .get("/books?select=author_id,count()&order=author_id")
        .await;
    assert_eq!(
        grouped.json(),
        json!([
            {"author_id": 1, "count": 2}, {"author_id": 2, "count": 2}, {"author_id": 3, "count": 1}, {"author_id": null, "count": 1}
        ]),
        "{}",
        grouped.text
    );
    let named = api.get("/books?select=total:price.sum()::int,oldest:year.min(),newest:year.max(),mean:year.avg()::int4").await;
    assert_eq!(
        named.json(),
        json!([{"total": 45, "oldest": 1968, "newest": 2010, "mean": 1987}]),
        "{}",
        named.text
    );
    let cast_first = api.get("/books?select=year::text.max()").await;
    assert_eq!(cast_first.json(), json!([{"max": "2010"}]));
    let filtered = api.get("/books?select=count()&year=gt.2000").await;
    assert_eq!(filtered.json(), json!([{"count": 2}]));
    let embedded = api
        .get("/authors?select=name,books(count(),top:price.max())&order=id")
        .await;
    assert_eq!(
        embedded.json(),
        json!([
            {"name": "Ursula", "books": [{"count": 2, "top": 12.50}]},
            {"name": "Terry", "books": [{"count": 2, "top": 10.00}]},
            {"name": "Octavia", "books": [{"count": 1, "top": null}]}
        ]),
        "{}",
        embedded.text
    );
    let by_author = api
        .get("/books?select=count(),authors(name)&author_id=not.is.null")
        .await;
    assert_eq!(by_author.status, 200, "{}", by_author.text);
    let mut rows = by_author.json().as_array().unwrap().clone();
    rows.sort_by_key(|r| r["authors"]["name"].as_str().unwrap().to_string());
    assert_eq!(
        Value::Array(rows),
        json!([
            {"count": 1, "authors": {"name": "Octavia"}},
            {"count": 2, "authors": {"name": "Terry"}},
            {"count": 2, "authors": {"name": "Ursula"}}
        ]),
        "grouped by the embedded author"
    );
    let injected = api.get("/books?select=price.sum()::int%20or%20true").await;
    assert_eq!(
        (injected.status, injected.code()),
        (400, "PGRST100".to_string())
    );
}

/// PostgREST treats a to-one spread's columns as the parent's own: they group the parent's
/// aggregates, and an aggregate inside the spread is applied in the parent (hoisted up to the
/// nearest level that is not itself such a spread). Embedded resources group by their value.
async fn aggregates_in_spreads_are_hoisted(t: &T) {
    let (_gw, api) = t
        .start_gateway(&[("PGRST_DB_AGGREGATES_ENABLED", "true")])
        .await;
    let get = |path: &'static str| {
        let api = &api;
        async move {
            let answer = api.get(path).await;
            assert_eq!(answer.status, 200, "{path}: {}", answer.text);
            answer.json()
        }
    };
    // ann and bob both live in NY: one group, not one per shopper; the order without a shopper
    // is the null city.
    assert_eq!(
        get("/orders?select=amount.sum(),...shoppers(city)&order=shoppers(city)").await,
        json!([{"sum": 5, "city": "LA"}, {"sum": 37, "city": "NY"}, {"sum": 100, "city": null}])
    );
    // The aggregates inside the spread run over the orders of each day.
    assert_eq!(
        get("/orders?select=placed_on,...shoppers(joined_on.max(),first:joined_on.min())&order=placed_on").await,
        json!([
            {"placed_on": "2026-01-01", "max": "2021-06-01", "first": "2020-01-01"},
            {"placed_on": "2026-01-02", "max": "2020-01-01", "first": "2019-03-01"}
        ])
    );
    // count() in a spread counts the parent rows that have a related row.
    assert_eq!(
        get("/orders?select=...shoppers(count())").await,
        json!([{"count": 4}])
    );
    assert_eq!(
        get("/orders?select=placed_on,...shoppers(buyers:count(),id.max()::text)&order=placed_on")
            .await,
        json!([
            {"placed_on": "2026-01-01", "buyers": 2, "max": "2"},
            {"placed_on": "2026-01-02", "buyers": 2, "max": "3"}
        ])
    );
    // Through two spreads: grouped by a nested spread column, ordered by it from the outer one.
    assert_eq!(
        get("/order_lines?select=qty.sum(),...orders(...shoppers(city))&order=orders(city)").await,
        json!([{"sum": 2, "city": "LA"}, {"sum": 14, "city": "NY"}])
    );
    assert_eq!(
        get("/order_lines?select=...orders(placed_on,...shoppers(joined_on.min()))&order=orders(placed_on)").await,
        json!([
            {"placed_on": "2026-01-01", "min": "2020-01-01"},
            {"placed_on": "2026-01-02", "min": "2019-03-01"}
        ])
    );
    // Hoisted into an embedded resource, the nearest level that is not a spread.
    assert_eq!(
        get("/orders?select=id,order_lines(...products(total:price.sum()))&id=in.(1,2,5)&order=id")
            .await,
        json!([
            {"id": 1, "order_lines": [{"total": 7}]},
            {"id": 2, "order_lines": [{"total": 2}]},
            {"id": 5, "order_lines": [{"total": null}]}
        ])
    );
    // An embedded resource groups by its value: both NY shoppers' orders fall in one group,
    // and dan and eve (no orders) share the empty list.
    let mut by_city = get("/orders?select=amount.sum(),shoppers(city)&shopper_id=not.is.null")
        .await
        .as_array()
        .unwrap()
        .clone();
    by_city.sort_by_key(|row| row["sum"].as_i64());
    assert_eq!(
        Value::Array(by_city),
        json!([{"sum": 5, "shoppers": {"city": "LA"}}, {"sum": 37, "shoppers": {"city": "NY"}}])
    );
    let without_orders = get("/shoppers?select=count(),orders(id)").await;
    assert!(
        without_orders
            .as_array()
            .unwrap()
            .contains(&json!({"count": 2, "orders": []})),
        "{without_orders}"
    );
    // As in PostgREST v14, to-many spreads take no aggregates, not even hoisted ones.
    for path in [
        "/shoppers?select=name,...orders(amount.sum())",
        "/products?select=name,...order_lines(...orders(amount.sum()))",
    ] {
        let refused = api.get(path).await;
        assert_eq!(
            refused.json(),
            json!({"code": "PGRST127", "message": "Feature not implemented", "hint": null,
                   "details": "Aggregates are not implemented for one-to-many or many-to-many spreads."}),
            "{path}"
        );
        assert_eq!(refused.status, 400);
    }
    // Off by default, spreads included.
    let disabled = t.api.get("/orders?select=...shoppers(id.count())").await;
    assert_eq!(
        (disabled.status, disabled.code()),
        (400, "PGRST123".to_string())
    );
}

async fn spreading_to_many_relationships(t: &T) {
    let one_to_many = t
        .api
        .get("/authors?select=name,...books(titles:title,year)&id=eq.2&books.order=id")
        .await;
    assert_eq!(one_to_many.status, 200, "{}", one_to_many.text);
    assert_eq!(
        one_to_many.json(),
        json!([{"name": "Terry", "titles": ["Guards! Guards!", "Going Postal"], "year": [1989, 2004]}])
    );
    let many_to_many = t
        .api
        .get("/books?select=title,...tags(tag:name)&id=in.(2,3)&order=id&tags.order=name")
        .await;
    assert_eq!(
        many_to_many.json(),
        json!([
            {"title": "The Left Hand of Darkness", "tag": ["award", "favourite"]},
            {"title": "Guards! Guards!", "tag": []}
        ]),
        "{}",
        many_to_many.text
    );
}

async fn openapi_root_follows_privileges_and_refuses_anon(t: &T) {
    let role_token =
        |role: &str| token_with(json!({"role": role, "aud": "authenticated", "exp": now() + 3600}));
    let service = role_token("gw_service");
    let upkeep = role_token("gw_upkeep");
    let anon_default = t.api.get("/").await;
    assert_eq!(
        (anon_default.status, anon_default.code()),
        (401, "42501".to_string()),
        "{}",
        anon_default.text
    );
    assert_eq!(
        anon_default.json()["message"],
        "Access to schema is forbidden"
    );
    assert_eq!(
        anon_default.json()["hint"],
        "Accessing the schema via the Data API is only allowed using a secret API key."
    );
    let not_listed = t.api.send("GET", "/", Some(&service), &[], None).await;
    assert_eq!(
        not_listed.status, 403,
        "only service_role is served by default: {}",
        not_listed.text
    );

    let (_gw, api) = t
        .start_gateway(&[("GATEWAY_OPENAPI_ROLES", "gw_service,gw_upkeep")])
        .await;
    assert_eq!(api.get("/").await.status, 401);
    assert_eq!(
        api.send("GET", "/", Some(&t.alice), &[], None).await.status,
        403
    );
    let answer = api.send("GET", "/", Some(&service), &[], None).await;
    assert_eq!(answer.status, 200, "{}", answer.text);
    assert_eq!(
        answer.header("content-type").as_deref(),
        Some("application/openapi+json; charset=utf-8")
    );
    let doc = answer.json();
    assert_eq!(doc["swagger"], "2.0");
    assert_eq!(doc["basePath"], "/rest/v1");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths["/books"]["get"].is_object());
    assert!(
        paths["/books"].get("post").is_none(),
        "gw_service may only read books"
    );
    for method in ["get", "post", "patch", "delete"] {
        assert!(paths["/todos"][method].is_object(), "todos {method}");
    }
    assert!(
        !paths.contains_key("/items"),
        "gw_service has no privilege on items"
    );
    assert!(paths["/rpc/add"]["post"].is_object() && paths["/rpc/add"]["get"].is_object());
    assert!(
        paths["/rpc/restock"]["post"].is_object() && paths["/rpc/restock"].get("get").is_none(),
        "volatile: POST only"
    );
    assert_eq!(
        paths["/rpc/add"]["post"]["parameters"][0]["schema"]["required"],
        json!(["a", "b"])
    );
    assert!(paths.contains_key("/rpc/guarded_sql_stable"));
    let books = &doc["definitions"]["books"];
    assert_eq!(
        books["properties"]["id"],
        json!({"format": "integer", "type": "integer", "description": "Note:\nThis is a Primary Key.<pk/>"})
    );
    assert_eq!(books["properties"]["price"]["type"], "number");
    assert_eq!(books["properties"]["genres"]["type"], "array");
    assert!(books["properties"]["author_id"]["description"]
        .as_str()
        .unwrap()
        .contains("Foreign Key to `authors.id`"));
    assert_eq!(books["required"], json!(["id", "title"]));

    let upkeep_doc = api.send("GET", "/", Some(&upkeep), &[], None).await.json();
    let upkeep_paths = upkeep_doc["paths"].as_object().unwrap();
    assert!(upkeep_paths["/vault"]["get"].is_object());
    assert!(
        !upkeep_paths.contains_key("/todos"),
        "gw_upkeep has no privilege on todos"
    );
    assert!(upkeep_paths.contains_key("/rpc/guarded_sql_stable"));
    let ingest = api
        .send("GET", "/", Some(&role_token("gw_ingest")), &[], None)
        .await;
    assert_eq!(ingest.status, 403);
    let head = api.send("HEAD", "/", Some(&service), &[], None).await;
    assert_eq!((head.status, head.text.as_str()), (200, ""));
    let csv = api
        .send("GET", "/", Some(&service), &[("Accept", "text/csv")], None)
        .await;
    assert_eq!(csv.status, 406);

    let (_gw, disabled) = t.start_gateway(&[("PGRST_OPENAPI_MODE", "disabled")]).await;
    let root = disabled.get("/").await;
    assert_eq!((root.status, root.code()), (404, "PGRST126".to_string()));
}

async fn execution_plans_when_enabled(t: &T) {
    let json_plan = [("Accept", "application/vnd.pgrst.plan+json")];
    let refused = t
        .api
        .send("GET", "/books?id=eq.1", None, &json_plan, None)
        .await;
    assert_eq!(
        (refused.status, refused.code()),
        (406, "PGRST107".to_string()),
        "plans are off by default"
    );

    let (_gw, api) = t.start_gateway(&[("PGRST_DB_PLAN_ENABLED", "true")]).await;
    let plan = api
        .send(
            "GET",
            "/books?select=id,authors(name)&id=eq.1",
            None,
            &json_plan,
            None,
        )
        .await;
    assert_eq!(plan.status, 200, "{}", plan.text);
    assert_eq!(
        plan.header("content-type").as_deref(),
        Some("application/vnd.pgrst.plan+json; for=\"application/json\"; charset=utf-8")
    );
    assert!(
        plan.json()[0]["Plan"]["Node Type"].is_string(),
        "{}",
        plan.text
    );
    assert!(
        plan.json()[0].get("Execution Time").is_none(),
        "not analyzed"
    );

    let text = api
        .send(
            "GET",
            "/books?id=eq.1",
            None,
            &[("Accept", "application/vnd.pgrst.plan")],
            None,
        )
        .await;
    assert_eq!(
        text.header("content-type").as_deref(),
        Some("application/vnd.pgrst.plan+text; for=\"application/json\"; charset=utf-8")
    );
    assert!(text.text.contains("cost="), "{}", text.text);

    let analyzed = api
        .send(
            "GET",
            "/books?id=eq.1",
            None,
            &[(
                "Accept",
                "application/vnd.pgrst.plan+json; options=analyze|verbose|buffers|settings",
            )],
            None,
        )
        .await;
    let analyzed = analyzed.json();
    assert!(analyzed[0]["Execution Time"].is_number(), "{analyzed}");
    assert!(
        analyzed[0]["Plan"]["Output"].is_array(),
        "verbose lists outputs: {analyzed}"
    );
    assert!(
        analyzed[0]["Plan"]["Shared Hit Blocks"].is_number(),
        "buffers: {analyzed}"
    );

    let csv = api
        .send(
            "GET",
            "/books?id=eq.1",
            None,
            &[(
                "Accept",
                "application/vnd.pgrst.plan+json; for=\"text/csv\"",
            )],
            None,
        )
        .await;
    assert_eq!(
        csv.header("content-type").as_deref(),
        Some("application/vnd.pgrst.plan+json; for=\"text/csv\"; charset=utf-8")
    );

    let write = api
        .send(
            "POST",
            "/items",
            None,
            &[(
                "Accept",
                "application/vnd.pgrst.plan+json; options=analyze|wal",
            )],
            Some(r#"{"name":"planned only"}"#),
        )
        .await;
    assert_eq!(write.status, 200, "{}", write.text);
    assert!(write.text.contains("WAL Records"), "{}", write.text);
    assert_eq!(
        api.get("/items?name=eq.planned%20only").await.json(),
        json!([]),
        "an analyzed write is rolled back"
    );

    let rpc = api
        .send(
            "GET",
            "/rpc/books_since?min_year=2000",
            None,
            &json_plan,
            None,
        )
        .await;
    assert!(rpc.json()[0]["Plan"].is_object(), "{}", rpc.text);
    let bad_option = api
        .send(
            "GET",
            "/books",
            None,
            &[("Accept", "application/vnd.pgrst.plan; options=explode")],
            None,
        )
        .await;
    assert_eq!(bad_option.status, 406);
    let refused_role = api.send("GET", "/todos", None, &json_plan, None).await;
    assert_eq!(
        (refused_role.status, refused_role.code()),
        (401, "42501".to_string()),
        "a role gets no plan of what it may not read"
    );
}

async fn bulk_columns_and_missing_default_for_post_and_patch(t: &T) {
    let both = [("Prefer", "return=representation,missing=default")];
    let bulk = t
        .api
        .send(
            "POST",
            "/items?columns=name,qty,note&select=name,qty,note&order=name",
            None,
            &both,
            Some(r#"[{"name":"bulk-a","qty":1},{"name":"bulk-b","note":"set","extra":"ignored"}]"#),
        )
        .await;
    assert_eq!(bulk.status, 201, "{}", bulk.text);
    assert_eq!(
        bulk.json(),
        json!([{"name": "bulk-a", "qty": 1, "note": "none"}, {"name": "bulk-b", "qty": 7, "note": "set"}]),
        "unlisted keys are ignored, missing ones take defaults"
    );
    let upsert = t
        .api
        .send(
            "POST",
            "/items?columns=name,qty&on_conflict=name&select=name,qty,note&order=name",
            None,
            &[(
                "Prefer",
                "return=representation,missing=default,resolution=merge-duplicates",
            )],
            Some(r#"[{"name":"bulk-a","qty":5},{"name":"bulk-c"}]"#),
        )
        .await;
    assert_eq!(upsert.status, 201, "{}", upsert.text);
    assert_eq!(
        upsert.json(),
        json!([{"name": "bulk-a", "qty": 5, "note": "none"}, {"name": "bulk-c", "qty": 7, "note": "none"}])
    );
    let patched = t
        .api
        .send(
            "PATCH",
            "/items?name=eq.bulk-b&columns=qty,note&select=qty,note",
            None,
            &both,
            Some(r#"{"qty":3,"name":"not-listed"}"#),
        )
        .await;
    assert_eq!(patched.status, 200, "{}", patched.text);
    assert_eq!(
        patched.json(),
        json!([{"qty": 3, "note": "none"}]),
        "a listed column the payload lacks goes back to its default"
    );
    assert_eq!(
        patched.header("preference-applied").as_deref(),
        Some("return=representation, missing=default")
    );
    let nulled = t
        .api
        .send(
            "PATCH",
            "/items?name=eq.bulk-b&columns=note&select=note",
            None,
            &[("Prefer", "return=representation")],
            Some(r#"{}"#),
        )
        .await;
    assert_eq!(
        nulled.json(),
        json!([{"note": null}]),
        "without missing=default a listed column the payload lacks is set to null"
    );
    let unknown = t
        .api
        .send(
            "PATCH",
            "/items?name=eq.bulk-b&columns=colour",
            None,
            &[],
            Some(r#"{}"#),
        )
        .await;
    assert_eq!(
        (unknown.status, unknown.code()),
        (400, "PGRST204".to_string())
    );
}

/// A pre-request function may switch role: statements are then cached under the role that runs
/// them, so a plan made after anon became gw_upkeep never serves plain anon.
async fn a_pre_request_role_switch_keys_plans_by_the_running_role(t: &T) {
    let (_gw, api) = t
        .start_gateway(&[
            ("PGRST_DB_PRE_REQUEST", "public.become_requested_role"),
            ("PGRST_DB_POOL", "1"),
        ])
        .await;
    let become_upkeep = [("x-become", "gw_upkeep")];
    for round in 0..7 {
        let answer = api
            .send("GET", "/rpc/guarded_sql_stable", None, &become_upkeep, None)
            .await;
        assert_eq!(
            (answer.status, answer.text.as_str()),
            (200, "42"),
            "round {round}"
        );
    }
    for round in 0..3 {
        let answer = api.get("/rpc/guarded_sql_stable").await;
        assert_eq!(
            (answer.status, answer.code()),
            (401, "42501".to_string()),
            "round {round}: {}",
            answer.text
        );
    }
    let who = api
        .send("GET", "/rpc/whoami", None, &become_upkeep, None)
        .await;
    assert_eq!(who.json()["role"], "gw_upkeep");
}
