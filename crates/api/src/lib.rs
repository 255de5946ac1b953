//! The actix-web adapter: the routing table, request parsing, authentication, and the one
//! mapping from errors to the contract's JSON responses.

pub mod auth;
pub mod body;
pub mod errors;
pub mod handlers;
pub mod json;
pub mod metrics;
pub mod middleware;
pub mod openapi;
pub mod query;
pub mod requests;
pub mod routes;
pub mod security;
pub mod state;
pub mod throttle;
pub mod versions;

pub use errors::ApiError;
pub use routes::configure;
pub use state::AppState;
