//! End-to-end tests of the GraphQL edge. Each test boots the real server on 127.0.0.1:0 over a
//! fresh event store in a temporary directory and talks HTTP (reqwest) or WebSocket
//! (tokio-tungstenite) to it.
//!
//! - `common`: the test server, tokens, requests, appending events.
//! - `sdl`: schema/schema.graphql matches the code (`UPDATE_SCHEMA=1` rewrites it).
//! - `transport`: GraphQL-over-HTTP media types and status codes (406/415/405/400), batches.
//! - `auth`: 401 without a valid token, `me`, FORBIDDEN where data is read.
//! - `commands`: mutations: events recorded, refusal codes, idempotency by command id.
//! - `customers`: the customer list: scoping, counts, paging, read-your-writes.
//! - `events`: the `events` connection forwards and backwards, filters, `logStatus`,
//!   `verifyLog`, `node`, argument errors.
//! - `history`: customerHistory as of an instant, scoping and masking.
//! - `jobs`: rules previews and rebuilds as jobs: progress, subscription, typed errors.
//! - `limits`: depth, complexity, aliases, directives, recursion, body size, page size,
//!   timeout, introspection and suggestions switches.
//! - `ws`: graphql-transport-ws, its close codes, live subscriptions.
//! - `ops`: healthz, readyz with a projection probe, metrics, graceful shutdown.
//! - `graphiql`: the GraphiQL page and its files, served from the binary, naming no other host.
//! - `console`: the console page and its files, likewise; the demo sign-in list only with --demo.
//! - `ranges`: no argument value panics a handler or kills a subscription: out-of-range
//!   dates, instants and numbers are VALIDATION errors naming the argument (property tests).
//! - `read_models`: archives, paging both ways, scoping of every view, the one-read page,
//!   dashboards, the rules cycle with four eyes and rollback, live dashboards, over demo data.
//! - `backoffice`: organisation, products, accounts, group customers and back-office feeds.
//! - `groups`: a group customer's members in scope and the group's totals.
//! - `churn`: the KPI's churn derived from the rules, its causes, rate and retention, scoped.
//! - `banking`: a customer's bank business, the outlet dashboard's bank section and the bank
//!   to-dos, scoped and masked.
//! - `workflow`: mutations after a workflow's first step (tickets, visits, pipeline,
//!   campaigns, articles, rule rejection), each recorded or refused with its code.
//! - `oracles`: answers that do not tell who is a customer where: registration conflicts,
//!   unknown and out-of-scope customers alike, merges not naming an unreadable survivor.
//! - `audit`: the graphql-http audit suite and a graphql-ws client, run by node.
//! - `audit_log`: auditors read the access log of personal data, scoped, and no one else; the
//!   operator role reads no customer data (customers, histories, names in rules previews).
#![allow(clippy::unwrap_used)]

mod appraisal;
mod audit;
mod audit_log;
mod auth;
mod backoffice;
mod bank_dashboards;
mod bank_org;
mod bank_products;
mod banking;
mod batch_assign;
mod campaigns;
mod churn;
mod commands;
mod common;
mod console;
mod customers;
mod directory;
mod directory_query;
mod events;
mod graphiql;
mod groups;
mod history;
mod jobs;
mod limits;
mod lookup;
mod ops;
mod oracles;
mod org_dashboards;
mod ranges;
mod read_models;
mod sdl;
mod service;
mod transport;
mod workflow;
mod ws;
