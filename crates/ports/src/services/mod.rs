//! Use-case services, one per aggregate. Each takes the acting user explicitly and holds the
//! real logic: load, check the domain rule, apply the transition, persist.

pub mod auth;

pub use auth::{AuthService, LoginInput, SessionTokens};
