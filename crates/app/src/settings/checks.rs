//! Checks and parsers of single settings: secrets strong enough for production, address and
//! origin lists.

use super::*;

pub(super) fn check_production_secret(key: &str) -> Result<(), SettingsError> {
    if key.len() < MIN_SECRET_BYTES {
        return Err(error(format!(
            "SECRET_KEY is too short: it must be at least {MIN_SECRET_BYTES} bytes when DEBUG is off"
        )));
    }
    let lowered = key.to_lowercase();
    if KNOWN_DEFAULT_SECRETS
        .iter()
        .any(|known| lowered.starts_with(known))
    {
        return Err(error(
            "SECRET_KEY is a known example value: generate a random one",
        ));
    }
    Ok(())
}

pub(super) fn check_audit_key(key: &str, secret_key: &str) -> Result<(), SettingsError> {
    if key.len() < MIN_KEY_BYTES {
        return Err(error(format!(
            "AUDIT_HMAC_KEY is too short: it must be at least {MIN_KEY_BYTES} bytes when DEBUG is off"
        )));
    }
    if key == secret_key {
        return Err(error(
            "AUDIT_HMAC_KEY must differ from SECRET_KEY: the audit key must not sign tokens",
        ));
    }
    if key == DEVELOPMENT_AUDIT_KEY
        || KNOWN_DEFAULT_SECRETS
            .iter()
            .any(|known| key.to_lowercase().starts_with(known))
    {
        return Err(error(
            "AUDIT_HMAC_KEY is a known example value: generate a random one",
        ));
    }
    Ok(())
}

pub(super) fn random_secret() -> Result<String, SettingsError> {
    let mut bytes = [0_u8; 32];
    getrandom::fill(&mut bytes)
        .map_err(|e| error(format!("no randomness for a secret key: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

/// Exact origins (`https://app.clinic.org`, `http://localhost:3000`); never a wildcard.
pub(super) fn parse_origins(value: &str) -> Result<Vec<String>, SettingsError> {
    split_list(value)
        .into_iter()
        .map(|origin| {
            let valid = origin
                .split_once("://")
                .is_some_and(|(scheme, rest)| {
                    matches!(scheme, "http" | "https")
                        && !rest.is_empty()
                        && !rest.contains(['/', '*', ' '])
                });
            if valid {
                Ok(origin)
            } else {
                Err(error(format!(
                    "CORS_ALLOWED_ORIGINS: {origin:?} is not an origin like https://app.example.com (no wildcards)"
                )))
            }
        })
        .collect()
}

/// CIDRs (`10.0.0.0/8`) or single addresses (`127.0.0.1`).
pub(super) fn parse_networks(value: &str) -> Result<Vec<ipnet::IpNet>, SettingsError> {
    split_list(value)
        .iter()
        .map(|item| {
            item.parse::<ipnet::IpNet>()
                .or_else(|_| item.parse::<std::net::IpAddr>().map(ipnet::IpNet::from))
                .map_err(|_| {
                    error(format!(
                        "TRUSTED_PROXIES: {item:?} is not an address or CIDR"
                    ))
                })
        })
        .collect()
}

pub(super) fn split_list(value: &str) -> Vec<String> {
    value
        .split(',')
        .map(str::trim)
        .filter(|item| !item.is_empty())
        .map(str::to_owned)
        .collect()
}
