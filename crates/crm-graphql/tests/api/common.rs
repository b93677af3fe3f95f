//! The test server and helpers every module uses.

use std::time::Duration;

use crm_domain::auth::{Actor, Role, Scope};
use crm_domain::ids::{BranchId, StaffId};
use crm_eventstore::{
    Durability, EventMetadata, EventStore, ExpectedRevision, NewEvent, StoreConfig, StreamName,
};
use crm_graphql::{serve, AppState, Config, Secret, ServerHandle, TokenKeys};
use reqwest::header::HeaderMap;
use reqwest::StatusCode;
use serde_json::{json, Value as Json};
use time::OffsetDateTime;
use uuid::Uuid;

pub const SECRET: &str = "test secret that is long enough for HS256!";
pub const GRAPHQL_RESPONSE_JSON: &str = "application/graphql-response+json";

pub struct Server {
    pub addr: std::net::SocketAddr,
    pub handle: Option<ServerHandle>,
    pub store: EventStore,
    pub keys: TokenKeys,
    pub client: reqwest::Client,
    _dir: tempfile::TempDir,
}

/// The API tests mint tokens for ad-hoc staff, so the directory check is off here; the tests
/// of that check turn it on (`auth.rs`).
pub fn test_config() -> Config {
    let mut config = Config::development(Secret::new(SECRET));
    config.directory_check = false;
    config
}

fn open_store() -> (tempfile::TempDir, EventStore) {
    let dir = tempfile::tempdir().unwrap();
    let store = EventStore::open(
        dir.path(),
        StoreConfig {
            durability: Durability::Batched {
                interval: Duration::from_millis(50),
            },
            ..StoreConfig::default()
        },
    )
    .unwrap();
    (dir, store)
}

impl Server {
    pub async fn start() -> Server {
        Server::start_with(|_| {}).await
    }

    pub async fn start_with(configure: impl FnOnce(&mut Config)) -> Server {
        let mut config = test_config();
        configure(&mut config);
        Server::start_state(config, |b, _| b).await
    }

    pub async fn start_state(
        config: Config,
        extend: impl FnOnce(crm_graphql::AppStateBuilder, &EventStore) -> crm_graphql::AppStateBuilder,
    ) -> Server {
        let (dir, store) = open_store();
        Server::start_on(dir, store, config, extend).await
    }

    /// A server over a store holding the demo data set of `customers` customers and `days`
    /// trading days, loaded through the command side before the server starts.
    pub async fn start_demo(customers: u32, days: u32) -> Server {
        Server::start_demo_with(customers, days, |_| {}).await
    }

    /// [`Server::start_demo`] with the configuration changed by `configure`.
    pub async fn start_demo_with(
        customers: u32,
        days: u32,
        configure: impl FnOnce(&mut Config),
    ) -> Server {
        Server::start_demo_rules(customers, days, configure, None).await
    }

    /// [`Server::start_demo_with`], the read models starting under `rules` (the built-in
    /// defaults when None).
    pub async fn start_demo_rules(
        customers: u32,
        days: u32,
        configure: impl FnOnce(&mut Config),
        rules: Option<crm_projections::RuleBook>,
    ) -> Server {
        let (dir, store) = open_store();
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
        assert_eq!(report.refused, 0, "{:?}", report.refusals);
        drop(app);
        let mut config = test_config();
        configure(&mut config);
        Server::start_on(dir, store, config, |b, _| match rules {
            Some(rules) => b.rules(rules),
            None => b,
        })
        .await
    }

    async fn start_on(
        dir: tempfile::TempDir,
        store: EventStore,
        config: Config,
        extend: impl FnOnce(crm_graphql::AppStateBuilder, &EventStore) -> crm_graphql::AppStateBuilder,
    ) -> Server {
        let keys = TokenKeys::new(&config.jwt_secret);
        let state = extend(AppState::builder(config, store.clone()), &store)
            .build()
            .unwrap();
        let handle = serve(state).await.unwrap();
        Server {
            addr: handle.addr(),
            handle: Some(handle),
            store,
            keys,
            client: reqwest::Client::new(),
            _dir: dir,
        }
    }

    /// A token for a given staff member.
    pub fn token_for(&self, staff: StaffId, role: Role, scope: Scope) -> String {
        let actor = Actor {
            staff_id: staff,
            role,
            scope,
        };
        self.keys
            .mint(&actor, OffsetDateTime::now_utc(), Duration::from_secs(600))
            .unwrap()
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    pub fn ws_url(&self) -> String {
        format!("ws://{}/graphql/ws", self.addr)
    }

    pub fn token(&self, role: Role, scope: Scope) -> String {
        let actor = Actor {
            staff_id: StaffId::from_uuid(Uuid::now_v7()),
            role,
            scope,
        };
        self.keys
            .mint(&actor, OffsetDateTime::now_utc(), Duration::from_secs(600))
            .unwrap()
    }

    pub fn auditor(&self) -> String {
        self.token(Role::Auditor, Scope::Company)
    }

    /// An operator the staff directory knows: headquarters hires them (joinStaff), then a
    /// token is minted for their staff id. Signing rules needs one.
    pub async fn operator(&self) -> String {
        let staff = StaffId::from_uuid(Uuid::now_v7());
        let hired = self
            .query(
                &self.token(Role::Headquarters, Scope::Company),
                r#"mutation($s: ID!) { joinStaff(staffId: $s, name: "运维员", role: OPERATOR, scope: { company: true }) { position } }"#,
                serde_json::json!({ "s": staff.to_string() }),
            )
            .await;
        assert!(hired.get("errors").is_none(), "{hired}");
        self.token_for(staff, Role::Operator, Scope::Company)
    }

    pub fn customer_manager(&self) -> String {
        self.token(
            Role::CustomerManager,
            Scope::Book {
                branch: BranchId::from_uuid(Uuid::from_u128(1)),
                team: None,
            },
        )
    }

    /// POSTs `body` as JSON accepting application/graphql-response+json.
    pub async fn post(&self, token: Option<&str>, body: Json) -> (StatusCode, HeaderMap, Json) {
        let mut request = self
            .client
            .post(self.url("/graphql"))
            .header("accept", GRAPHQL_RESPONSE_JSON)
            .json(&body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        let headers = response.headers().clone();
        let text = response.text().await.unwrap();
        let json = serde_json::from_str(&text).unwrap_or(Json::String(text));
        (status, headers, json)
    }

    /// Runs `query` as the auditor and returns the body, asserting 200.
    pub async fn query(&self, token: &str, query: &str, variables: Json) -> Json {
        let (status, _, body) = self
            .post(
                Some(token),
                json!({ "query": query, "variables": variables }),
            )
            .await;
        assert_eq!(status, StatusCode::OK, "{body}");
        body
    }

    /// Appends `count` events of `event_type` to `stream`; returns their positions.
    pub async fn append(&self, stream: &str, event_type: &str, count: usize) -> Vec<u64> {
        let events = (0..count)
            .map(|i| NewEvent {
                event_id: Uuid::now_v7(),
                event_type: event_type.to_string(),
                schema_version: 1,
                metadata: EventMetadata {
                    actor: "staff-test".into(),
                    occurred_at: OffsetDateTime::now_utc(),
                    correlation_id: Some(Uuid::now_v7()),
                    causation_id: None,
                    command_id: None,
                },
                payload: vec![i as u8; 16],
            })
            .collect();
        let result = self
            .store
            .append(
                &StreamName::parse(stream).unwrap(),
                ExpectedRevision::Any,
                events,
            )
            .await
            .unwrap();
        (result.first_position.0..=result.last_position.0).collect()
    }
}

/// The `extensions.code` of each error in a response body.
pub fn codes(body: &Json) -> Vec<String> {
    body["errors"]
        .as_array()
        .map(|errors| {
            errors
                .iter()
                .map(|e| e["extensions"]["code"].as_str().unwrap_or("").to_string())
                .collect()
        })
        .unwrap_or_default()
}

/// The `extensions.limit` of the first error.
pub fn limit(body: &Json) -> String {
    body["errors"][0]["extensions"]["limit"]
        .as_str()
        .unwrap_or("")
        .to_string()
}

/// A valid resident ID number (check character computed) that differs by `n`.
pub fn resident_id(n: u32) -> String {
    crm_domain::values::ResidentIdNumber::with_check_character(&format!(
        "11010519491231{:03}",
        n % 1000
    ))
    .unwrap()
    .as_str()
    .to_string()
}

/// The status and body of a query, for comparing answers whole.
pub async fn answer(server: &Server, token: &str, query: &str, id: &str) -> (u16, Json) {
    let (status, _, body) = server
        .post(
            Some(token),
            json!({ "query": query, "variables": { "id": id } }),
        )
        .await;
    (status.as_u16(), body)
}

/// Yuan with four decimals ("1234.5000") as ten-thousandths, exactly.
pub fn minor(amount: &Json) -> i64 {
    let s = amount.as_str().unwrap_or_else(|| panic!("{amount}"));
    let (whole, fraction) = s.split_once('.').unwrap_or((s, "0"));
    let fraction = format!("{fraction:0<4}");
    let sign = if whole.starts_with('-') { -1 } else { 1 };
    let whole: i64 = whole.trim_start_matches('-').parse().unwrap();
    sign * (whole * 10_000 + fraction[..4].parse::<i64>().unwrap())
}
