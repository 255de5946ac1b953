//! Reading what a client submits, as DRF read it: integers and booleans from text, and whole
//! bodies within a deadline.

use std::future::Future;
use std::time::Duration;

use actix_web::{FromRequest, HttpRequest, dev::Payload, web};

use crate::client::WebConfig;

/// An integer from text, allowing DRF's trailing `.0`.
pub fn parse_integer_text(text: &str) -> Option<i64> {
    let text = text.trim();
    let digits = match text.split_once('.') {
        Some((whole, fraction)) if fraction.bytes().all(|b| b == b'0') => whole,
        Some(_) => return None,
        None => text,
    };
    digits.parse().ok()
}

/// The spellings DRF's `BooleanField` accepts.
pub fn parse_boolean(text: &str) -> Option<bool> {
    match text.trim().to_lowercase().as_str() {
        "true" | "t" | "yes" | "y" | "on" | "1" => Some(true),
        "false" | "f" | "no" | "n" | "off" | "0" => Some(false),
        _ => None,
    }
}

/// A body that did not arrive within its deadline (the deadline).
#[derive(Debug)]
pub struct BodyTooSlow(pub Duration);

/// Reads the whole body (within `MAX_BODY_BYTES`) with a deadline for all of it, so a client
/// sending a byte now and then cannot hold a connection and a worker's buffer forever.
pub fn read_body(
    request: &HttpRequest,
    payload: &mut Payload,
) -> impl Future<Output = Result<Result<web::Bytes, actix_web::Error>, BodyTooSlow>> + use<> {
    let timeout = request
        .app_data::<web::Data<WebConfig>>()
        .map_or(DEFAULT_BODY_READ_TIMEOUT, |config| config.body_read_timeout);
    let bytes = web::Bytes::from_request(request, payload);
    async move {
        actix_web::rt::time::timeout(timeout, bytes)
            .await
            .map_err(|_| BodyTooSlow(timeout))
    }
}

/// The body deadline where no configuration is installed (unit tests).
const DEFAULT_BODY_READ_TIMEOUT: Duration = Duration::from_secs(10);
