//! Loopback benchmark (not a test): the same four queries through the gateway over HTTP and
//! straight through tokio-postgres, reporting req/s, p50 and p99 and their ratio.
//!
//! Usage: bench <superuser URL of a database loaded with fixture.sql + bench.sql> <out.json>
//! (bench/gateway/run.sh prepares the database and calls this.)

use std::sync::Arc;
use std::time::{Duration, Instant};

use serde_json::{json, Value};
use tokio_postgres::NoTls;

const RUN_FOR: Duration = Duration::from_secs(3);
const WARM_UP: Duration = Duration::from_millis(500);

struct Workload {
    name: &'static str,
    method: &'static str,
    path: &'static str,
    body: Option<&'static str>,
    sql: &'static str,
    params: fn(u64) -> Vec<Box<dyn tokio_postgres::types::ToSql + Sync + Send>>,
}

fn workloads() -> Vec<Workload> {
    vec![
        Workload {
            name: "point read",
            method: "GET",
            path: "/bench_rows?id=eq.777&select=id,label,amount",
            body: None,
            sql: "select id, label, amount from public.bench_rows where id = $1",
            params: |_| vec![Box::new(777i64)],
        },
        Workload {
            name: "100-row filtered list",
            method: "GET",
            path: "/bench_rows?category=eq.7&order=id&limit=100",
            body: None,
            sql: "select id, category, label, amount from public.bench_rows where category = $1 order by id limit 100",
            params: |_| vec![Box::new(7i32)],
        },
        Workload {
            name: "insert",
            method: "POST",
            path: "/bench_rows",
            body: Some(r#"{"category":99,"label":"bench insert","amount":1.5}"#),
            sql: "insert into public.bench_rows (category, label, amount) values ($1, $2, $3::float8)",
            params: |_| vec![Box::new(99i32), Box::new("bench insert".to_string()), Box::new(1.5f64)],
        },
        Workload {
            name: "rpc",
            method: "POST",
            path: "/rpc/add",
            body: Some(r#"{"a":20,"b":22}"#),
            sql: "select public.add($1, $2)",
            params: |_| vec![Box::new(20i32), Box::new(22i32)],
        },
    ]
}

#[derive(Debug)]
struct Figures {
    requests: usize,
    rps: f64,
    p50_ms: f64,
    p99_ms: f64,
}

fn figures(mut latencies: Vec<Duration>, elapsed: Duration) -> Figures {
    latencies.sort();
    let pick = |q: f64| {
        latencies
            .get(((latencies.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    Figures {
        requests: latencies.len(),
        rps: latencies.len() as f64 / elapsed.as_secs_f64(),
        p50_ms: pick(0.5),
        p99_ms: pick(0.99),
    }
}

async fn gateway_run(base: Arc<String>, workload: &Workload, concurrency: usize) -> Figures {
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(concurrency)
        .build()
        .unwrap();
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..concurrency {
        let client = client.clone();
        let url = format!("{}{}", base, workload.path);
        let method = reqwest::Method::from_bytes(workload.method.as_bytes()).unwrap();
        let body = workload.body;
        tasks.push(tokio::spawn(async move {
            let mut latencies = Vec::new();
            let warm_until = Instant::now() + WARM_UP;
            let stop_at = warm_until + RUN_FOR;
            loop {
                let now = Instant::now();
                if now >= stop_at {
                    break;
                }
                let mut request = client.request(method.clone(), &url);
                if let Some(b) = body {
                    request = request.header("Content-Type", "application/json").body(b);
                }
                let response = request.send().await.expect("gateway request");
                assert!(
                    response.status().is_success(),
                    "gateway answered {}",
                    response.status()
                );
                let _ = response.bytes().await.expect("gateway body");
                if now >= warm_until {
                    latencies.push(now.elapsed());
                }
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    figures(all, start.elapsed().saturating_sub(WARM_UP))
}

async fn direct_run(url: Arc<String>, workload: &Workload, concurrency: usize) -> Figures {
    let mut tasks = Vec::new();
    let start = Instant::now();
    for _ in 0..concurrency {
        let url = Arc::clone(&url);
        let sql = workload.sql;
        let params_of = workload.params;
        tasks.push(tokio::spawn(async move {
            let (client, connection) = tokio_postgres::connect(&url, NoTls)
                .await
                .expect("direct connection");
            tokio::spawn(connection);
            client.batch_execute("set role gw_anon").await.unwrap();
            let statement = client.prepare(sql).await.unwrap();
            let mut latencies = Vec::new();
            let warm_until = Instant::now() + WARM_UP;
            let stop_at = warm_until + RUN_FOR;
            let mut i = 0u64;
            loop {
                let now = Instant::now();
                if now >= stop_at {
                    break;
                }
                let params = params_of(i);
                let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                    .iter()
                    .map(|p| p.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
                    .collect();
                client.query(&statement, &refs).await.expect("direct query");
                if now >= warm_until {
                    latencies.push(now.elapsed());
                }
                i += 1;
            }
            latencies
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        all.extend(task.await.unwrap());
    }
    figures(all, start.elapsed().saturating_sub(WARM_UP))
}

fn to_json(f: &Figures) -> Value {
    json!({"requests": f.requests, "rps": (f.rps * 10.0).round() / 10.0, "p50_ms": (f.p50_ms * 1000.0).round() / 1000.0, "p99_ms": (f.p99_ms * 1000.0).round() / 1000.0})
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [super_url, out_path] = args.as_slice() else {
        eprintln!("usage: bench <superuser database URL> <out.json>");
        std::process::exit(2);
    };
    let authenticator_url = {
        let rest = super_url
            .split_once("://")
            .map(|(_, r)| r)
            .unwrap_or(super_url);
        let host = rest.split_once('@').map(|(_, h)| h).unwrap_or(rest);
        format!("postgres://gw_authenticator:gw-test@{host}")
    };
    // The server gets its own runtime so the load generator does not share its scheduler.
    let server_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let mut settings = std::collections::HashMap::new();
    settings.insert("PGRST_DB_URI", authenticator_url.clone());
    settings.insert("PGRST_DB_ANON_ROLE", "gw_anon".to_string());
    settings.insert("PGRST_SERVER_PORT", "0".to_string());
    settings.insert("PGRST_DB_POOL", "8".to_string());
    let config = gateway::Config::from_map(&settings).unwrap();
    let gateway = server_runtime
        .block_on(gateway::start(config))
        .expect("gateway starts");
    let base = Arc::new(gateway.url());
    let client_runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let direct_url = Arc::new(authenticator_url);
    let mut results = Vec::new();
    for concurrency in [1usize, 8] {
        for workload in workloads() {
            let via_gateway =
                client_runtime.block_on(gateway_run(Arc::clone(&base), &workload, concurrency));
            let direct = client_runtime.block_on(direct_run(
                Arc::clone(&direct_url),
                &workload,
                concurrency,
            ));
            let overhead = via_gateway.p50_ms - direct.p50_ms;
            println!(
                "{:<24} c={concurrency}  gateway {:>8.0} req/s p50 {:.3} ms p99 {:.3} ms | direct {:>8.0} req/s p50 {:.3} ms p99 {:.3} ms | p50 overhead {:.3} ms",
                workload.name, via_gateway.rps, via_gateway.p50_ms, via_gateway.p99_ms, direct.rps, direct.p50_ms, direct.p99_ms, overhead
            );
            results.push(json!({
                "workload": workload.name,
                "http": format!("{} {}", workload.method, workload.path),
                "sql": workload.sql,
                "concurrency": concurrency,
                "gateway": to_json(&via_gateway),
                "direct": to_json(&direct),
                "p50_overhead_ms": (overhead * 1000.0).round() / 1000.0,
                "rps_ratio_gateway_over_direct": ((via_gateway.rps / direct.rps) * 1000.0).round() / 1000.0,
                "p50_ratio_gateway_over_direct": ((via_gateway.p50_ms / direct.p50_ms) * 1000.0).round() / 1000.0,
            }));
        }
    }
    let report = json!({
        "what": "gateway over HTTP/1.1 keep-alive vs the same SQL through tokio-postgres prepared statements, loopback",
        "run_seconds_per_case": RUN_FOR.as_secs(),
        "cpus": std::thread::available_parallelism().map(|n| n.get()).unwrap_or(0),
        "results": results,
    });
    std::fs::write(out_path, serde_json::to_string_pretty(&report).unwrap())
        .expect("write the report");
    println!("wrote {out_path}");
    drop(gateway);
}
