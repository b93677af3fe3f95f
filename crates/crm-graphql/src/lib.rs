//! The GraphQL API edge: HTTP and WebSocket transport, JWT authentication, request limits,
//! health, readiness and metrics, and the schema's roots.
//!
//! Boundary: this crate turns HTTP into GraphQL and GraphQL into calls on the layers below; it
//! decides nothing about the business. Who may read what is decided by `crm_domain::auth`, in
//! the resolver that reads the data. The transport ([`http`], [`ws`]) knows nothing about what
//! the schema contains; the schema ([`schema`]) is a merge of one object per area, so the query
//! and mutation areas of projections and commands are added without touching the transport.
//!
//! - [`Config`]: listen address, JWT secret, limits, switches. [`AppState`] + [`app`] give the
//!   router; [`serve`] binds it and returns a [`ServerHandle`] for graceful shutdown.
//! - [`auth`]: HS256 tokens carrying the domain `Actor`; [`auth::mint_dev_token`] for the CLI.
//! - [`error`]: the one error type and the stable `extensions.code` values.
//! - [`graphiql`]: the GraphiQL page and its assets, built into the binary (no CDN).
//! - [`console`]: the console at `/console` (dashboards, customers, the 360) over the public
//!   API, its assets built into the binary.

pub mod auth;
pub mod config;
pub mod console;
pub mod error;
pub mod graphiql;
pub mod http;
pub mod ops;
pub mod prepare;
pub mod schema;
pub mod server;
pub mod ws;

pub use auth::{mint_dev_token, Claims, TokenKeys, TOKEN_LIFETIME_DEFAULT};
pub use config::{Config, Limits, PreviousSecret, Readiness, Secret, JWT_SECRET_LEN_MIN};
pub use error::{ApiError, Code, Limit};
pub use ops::{Metrics, ProjectionProbe, ProjectionProgress};
pub use schema::{build_schema, schema_builder, sdl, CrmSchema};
pub use server::{app, serve, AppState, AppStateBuilder, ServerHandle};
