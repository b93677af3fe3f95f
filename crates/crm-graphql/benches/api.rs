//! Requests/s and latency of the GraphQL API over HTTP, with auth, scoping and metrics on, on a
//! store of at least 100,000 customers: a customer by id, a 50-row customers page, a branch
//! dashboard and a lookup by phone number (a call centre's screen pop: recorded in the access
//! log, so each one is also an append), each at 1 and 64 concurrent clients.
//! `CRM_BENCH_ONLY=lookup` runs only the loads whose name holds that text.
//!
//! ```text
//! cargo bench -p crm-graphql --bench api
//! CRM_BENCH_CUSTOMERS=100000 CRM_BENCH_DAYS=20 CRM_BENCH_SECONDS=10 cargo bench -p crm-graphql --bench api
//! ```
//! The data set is generated once through the command side (crm-load's demo) into
//! `target/bench-api-<customers>-<days>` and reused. The client is a minimal keep-alive
//! HTTP/1.1 loop over pre-built requests (what wrk does); client and server share the
//! machine's cores, as they would under wrk on the same host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::StaffId;
use crm_eventstore::{EventStore, StoreConfig};
use crm_graphql::{serve, AppState, Config, Secret, TokenKeys};
use serde_json::{json, Value as Json};
use time::OffsetDateTime;

const SECRET: &str = "bench secret that is long enough for HS256!";

fn env(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

async fn data_set(customers: u32, days: u32) -> (PathBuf, EventStore) {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../target")
        .join(format!("bench-api-{customers}-{days}"));
    let done = dir.join("loaded");
    let store = EventStore::open(&dir, StoreConfig::default()).unwrap();
    if !done.exists() {
        eprintln!(
            "generating {customers} customers × {days} days into {}",
            dir.display()
        );
        let app = crm_app::App::new(store.clone()).unwrap();
        let report = crm_load::demo::demo(
            &app,
            crm_load::demo::DemoConfig::new(
                customers,
                days,
                7,
                time::macros::date!(2025 - 06 - 30),
            ),
            |_| {},
        )
        .await
        .unwrap();
        eprintln!("{report}");
        std::fs::write(&done, report.to_string()).unwrap();
    }
    (dir, store)
}

/// A headquarters staff member of the data set: tokens are checked against the staff
/// directory (`directory_check`, on by default), so the bench signs in as a real one.
fn headquarters_staff(store: &EventStore) -> StaffId {
    let joined = store
        .read_filtered(
            &crm_eventstore::Filter::EventType("StaffJoined".into()),
            crm_eventstore::AllStart::Start,
            crm_eventstore::Direction::Forwards,
            1000,
        )
        .unwrap();
    joined
        .iter()
        .find_map(|r| match crm_codec::decode(r).ok()? {
            crm_domain::AnyEvent::Staff(crm_domain::staff::Event::StaffJoined {
                staff_id,
                role: Role::Headquarters,
                scope: Scope::Company,
                ..
            }) => Some(staff_id),
            _ => None,
        })
        .expect("the demo has headquarters staff")
}

struct Load {
    name: &'static str,
    clients: usize,
    /// The request body for the n-th request.
    body: Arc<dyn Fn(usize) -> Json + Send + Sync>,
}

/// The request bytes of a POST /graphql with `body`: built once, so the client spends its
/// time on the socket, as wrk does, not on building requests.
fn request_bytes(addr: &str, token: &str, body: &Json) -> Vec<u8> {
    let body = body.to_string();
    format!(
        "POST /graphql HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer {token}\r\n\
         accept: application/graphql-response+json\r\ncontent-type: application/json\r\n\
         content-length: {}\r\n\r\n{body}",
        body.len()
    )
    .into_bytes()
}

/// Reads one HTTP/1.1 response with a content-length; returns its status and body.
async fn read_response(
    stream: &mut tokio::io::BufReader<tokio::net::TcpStream>,
    buf: &mut Vec<u8>,
) -> (u16, Vec<u8>) {
    use tokio::io::{AsyncBufReadExt, AsyncReadExt};
    let mut status = 0;
    let mut length = 0usize;
    loop {
        buf.clear();
        stream.read_until(b'\n', buf).await.unwrap();
        let line = String::from_utf8_lossy(buf);
        let line = line.trim_end();
        if line.is_empty() {
            break;
        }
        if let Some(rest) = line.strip_prefix("HTTP/1.1 ") {
            status = rest[..3].parse().unwrap();
        } else if let Some((name, value)) = line.split_once(':') {
            if name.eq_ignore_ascii_case("content-length") {
                length = value.trim().parse().unwrap();
            }
        }
    }
    let mut body = vec![0; length];
    stream.read_exact(&mut body).await.unwrap();
    (status, body)
}

async fn run(url: &str, token: &str, load: &Load, seconds: u64) {
    use tokio::io::AsyncWriteExt;
    let addr = url
        .trim_start_matches("http://")
        .trim_end_matches("/graphql")
        .to_string();
    let requests: Arc<Vec<Vec<u8>>> = Arc::new(
        (0..1024)
            .map(|n| request_bytes(&addr, token, &(load.body)(n)))
            .collect(),
    );
    let until = Instant::now() + Duration::from_secs(seconds);
    let mut tasks = Vec::new();
    for client_no in 0..load.clients {
        let requests = requests.clone();
        let addr = addr.clone();
        tasks.push(tokio::spawn(async move {
            let socket = tokio::net::TcpStream::connect(&addr).await.unwrap();
            socket.set_nodelay(true).unwrap();
            let mut stream = tokio::io::BufReader::new(socket);
            let mut buf = Vec::new();
            let mut latencies = Vec::new();
            let mut n = client_no * 7919;
            while Instant::now() < until {
                let started = Instant::now();
                stream
                    .get_mut()
                    .write_all(&requests[n % requests.len()])
                    .await
                    .unwrap();
                let (status, body) = read_response(&mut stream, &mut buf).await;
                assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
                assert!(
                    !body.windows(9).any(|w| w == b"\"errors\":"),
                    "{}",
                    String::from_utf8_lossy(&body)
                );
                latencies.push(started.elapsed());
                n += 1;
            }
            latencies
        }));
    }
    let started = Instant::now();
    let mut all = Vec::new();
    for t in tasks {
        all.extend(t.await.unwrap());
    }
    let elapsed = started.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        all.get(((all.len() as f64 * p) as usize).min(all.len().saturating_sub(1)))
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    println!(
        "{:<22} {:>3} clients: {:>8.0} requests/s  p50 {:>6.2} ms  p99 {:>6.2} ms  ({} requests)",
        load.name,
        load.clients,
        all.len() as f64 / elapsed,
        pct(0.50),
        pct(0.99),
        all.len()
    );
}

async fn post(client: &reqwest::Client, url: &str, token: &str, body: Json) -> Json {
    client
        .post(url)
        .bearer_auth(token)
        .json(&body)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let customers = env("CRM_BENCH_CUSTOMERS", 100_000) as u32;
        let days = env("CRM_BENCH_DAYS", 20) as u32;
        let seconds = env("CRM_BENCH_SECONDS", 10);
        let (_dir, store) = data_set(customers, days).await;
        let mut config = Config::development(Secret::new(SECRET));
        config.graphiql = false;
        let state = AppState::new(config, store.clone()).unwrap();
        let handle = serve(state).await.unwrap();
        let url = format!("http://{}/graphql", handle.addr());
        let keys = TokenKeys::new(&Secret::new(SECRET));
        let hq = keys
            .mint(
                &Actor {
                    staff_id: headquarters_staff(&store),
                    role: Role::Headquarters,
                    scope: Scope::Company,
                },
                OffsetDateTime::now_utc(),
                Duration::from_secs(3600),
            )
            .unwrap();
        let client = reqwest::Client::new();

        // Wait for the read models, then collect ids to ask for.
        let head = store.head().0;
        let started = Instant::now();
        let mut ids: Vec<String> = Vec::new();
        let mut after = Json::Null;
        loop {
            let r = post(
                &client,
                &url,
                &hq,
                json!({
                    "query": "query($a: String, $at: Long) { customers(first: 500, after: $a, atPosition: $at) { totalCount pageInfo { hasNextPage endCursor } edges { node { customerId } } } }",
                    "variables": { "a": after, "at": head }
                }),
            )
            .await;
            if r["errors"][0]["extensions"]["code"] == "TIMEOUT" {
                // The read models are still folding the log from scratch.
                continue;
            }
            let page = &r["data"]["customers"];
            assert!(page.is_object(), "{r}");
            for e in page["edges"].as_array().unwrap() {
                ids.push(e["node"]["customerId"].as_str().unwrap().to_string());
            }
            if page["pageInfo"]["hasNextPage"] != true {
                break;
            }
            after = page["pageInfo"]["endCursor"].clone();
        }
        eprintln!(
            "read models at the head ({head} events) after {:.1} s; {} customers",
            started.elapsed().as_secs_f64(),
            ids.len()
        );
        let r = post(
            &client,
            &url,
            &hq,
            json!({ "query": "{ branches { branchId } customers(first: 1) { edges { node { asOf } } } }" }),
        )
        .await;
        let branches: Vec<String> = r["data"]["branches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|b| b["branchId"].as_str().unwrap().to_string())
            .collect();
        let month = r["data"]["customers"]["edges"][0]["node"]["asOf"].as_str().unwrap()[..7].to_string();
        let ids = Arc::new(ids);
        let branches = Arc::new(branches);

        let by_id = {
            let ids = ids.clone();
            Arc::new(move |n: usize| {
                json!({
                    "query": "query($id: ID!) { customer(id: $id) { customerId name tier assets manager { name } } }",
                    "variables": { "id": ids[n.wrapping_mul(2_654_435_761) % ids.len()] }
                })
            }) as Arc<dyn Fn(usize) -> Json + Send + Sync>
        };
        let page = {
            let branches = branches.clone();
            Arc::new(move |n: usize| {
                json!({
                    "query": "query($b: ID!) { customers(first: 50, filter: { branchId: $b }) { totalCount edges { node { customerId name tier assets manager { name } } } } }",
                    "variables": { "b": branches[n % branches.len()] }
                })
            }) as Arc<dyn Fn(usize) -> Json + Send + Sync>
        };
        let dashboard = {
            let branches = branches.clone();
            Arc::new(move |n: usize| {
                json!({
                    "query": "query($b: ID!, $m: String!) { branchDashboard(branchId: $b, period: { month: $m }) { customers assets netInflow commission rankAmongBranches customersByTier { key count } assetsByClass { key amount } topManagers { name kpiComposite } } }",
                    "variables": { "b": branches[n % branches.len()], "m": month }
                })
            }) as Arc<dyn Fn(usize) -> Json + Send + Sync>
        };
        // Phone numbers to look up: 1,024 customers' in full, each view recorded as a clerk's
        // would be.
        let mut phones = Vec::new();
        for id in ids.iter().step_by((ids.len() / 1024).max(1)).take(1024) {
            let r = post(
                &client,
                &url,
                &hq,
                json!({
                    "query": "query($id: ID!) { customer(id: $id) { sensitive(purpose: \"benchmark set-up\") { phone } } }",
                    "variables": { "id": id }
                }),
            )
            .await;
            if let Some(phone) = r["data"]["customer"]["sensitive"]["phone"].as_str() {
                phones.push(phone.to_string());
            }
        }
        assert!(!phones.is_empty(), "no phone numbers to look up");
        let lookup = {
            let phones = Arc::new(phones);
            Arc::new(move |n: usize| {
                json!({
                    "query": "query($p: String!) { customerLookup(by: { phone: $p }, purpose: \"来电咨询\") { customerId name tier assets } }",
                    "variables": { "p": phones[n % phones.len()] }
                })
            }) as Arc<dyn Fn(usize) -> Json + Send + Sync>
        };
        println!(
            "{} customers, {} branches, {} events; {} s per run",
            ids.len(),
            branches.len(),
            head,
            seconds
        );
        let only = std::env::var("CRM_BENCH_ONLY").unwrap_or_default();
        for (name, body) in [
            ("customer by id", by_id),
            ("customers page (50)", page),
            ("branch dashboard", dashboard),
            ("lookup by phone", lookup),
        ] {
            if !name.contains(only.as_str()) {
                continue;
            }
            for clients in [1, 64] {
                run(
                    &url,
                    &hq,
                    &Load {
                        name,
                        clients,
                        body: body.clone(),
                    },
                    seconds,
                )
                .await;
            }
        }
        handle.shutdown().await.unwrap();
    });
}
