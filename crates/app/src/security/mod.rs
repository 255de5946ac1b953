//! Adapters for the security ports: bcrypt password hashing and JWT tokens.

pub mod bcrypt_hasher;
pub mod jwt;

pub use bcrypt_hasher::BcryptHasher;
pub use jwt::JwtCodec;
