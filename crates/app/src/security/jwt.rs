//! JWT access and refresh tokens: HS256 only, `token_type` checked, expiry with 5 s leeway.

use std::time::Duration;

use chrono::{SubsecRound, TimeZone};
use healthcare_core::ServiceError;
use healthcare_core::ports::{
    IssuedToken, SignInFactors, TokenClaims, TokenCodec, TokenDecodeError, TokenKind,
};
use healthcare_domain::clinic::ClinicId;
use healthcare_domain::{Timestamp, UserId};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};

/// Clock skew tolerated on `exp`.
const LEEWAY_SECONDS: u64 = 5;

#[derive(Debug, Serialize, Deserialize)]
struct Claims {
    token_type: String,
    user_id: i64,
    jti: String,
    /// Issue time, to the millisecond (RFC 7519 allows a fractional NumericDate).
    iat: f64,
    /// Issue time in microseconds, the clock's precision and the sign-out time's, so a sign-out
    /// refuses exactly the tokens issued before it (`iat`'s milliseconds cannot tell the two
    /// apart within one millisecond); absent in tokens issued before it existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    iat_us: Option<i64>,
    exp: i64,
    /// Authentication methods (RFC 8176); absent in tokens issued before it existed.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    amr: Vec<String>,
    /// The clinic the session acts in; absent in tokens issued before clinics existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    clinic: Option<i64>,
}

/// The `amr` values of each way of signing in.
fn methods(factors: SignInFactors) -> Vec<String> {
    match factors {
        SignInFactors::Password => vec!["pwd".to_owned()],
        SignInFactors::PasswordAndCode => vec!["pwd".to_owned(), "otp".to_owned()],
    }
}

fn kind_name(kind: TokenKind) -> &'static str {
    match kind {
        TokenKind::Access => "access",
        TokenKind::Refresh => "refresh",
    }
}

/// [`TokenCodec`] signing with the configured secret key.
pub struct JwtCodec {
    encoding_key: EncodingKey,
    decoding_key: DecodingKey,
    validation: Validation,
    access_lifetime: Duration,
    refresh_lifetime: Duration,
}

impl JwtCodec {
    /// A codec for `secret`, issuing tokens with the given lifetimes.
    pub fn new(secret: &str, access_lifetime: Duration, refresh_lifetime: Duration) -> Self {
        // `Validation::new` accepts exactly the one algorithm given: `none` and every other
        // algorithm are refused.
        let mut validation = Validation::new(Algorithm::HS256);
        validation.leeway = LEEWAY_SECONDS;
        validation.set_required_spec_claims(&["exp"]);
        Self {
            encoding_key: EncodingKey::from_secret(secret.as_bytes()),
            decoding_key: DecodingKey::from_secret(secret.as_bytes()),
            validation,
            access_lifetime,
            refresh_lifetime,
        }
    }
}

impl TokenCodec for JwtCodec {
    fn issue(
        &self,
        kind: TokenKind,
        user_id: UserId,
        factors: SignInFactors,
        clinic: ClinicId,
        now: Timestamp,
    ) -> Result<IssuedToken, ServiceError> {
        let lifetime = match kind {
            TokenKind::Access => self.access_lifetime,
            TokenKind::Refresh => self.refresh_lifetime,
        };
        let lifetime = chrono::Duration::from_std(lifetime)
            .map_err(|e| ServiceError::Internal(format!("token lifetime: {e}")))?;
        // `exp` has whole seconds and `iat_us` microseconds; the claims returned must equal
        // what the token says.
        let expires_at = (now + lifetime).trunc_subsecs(0);
        let issued_at = now.trunc_subsecs(6);
        let claims = Claims {
            token_type: kind_name(kind).to_owned(),
            user_id: user_id.0,
            jti: uuid::Uuid::new_v4().simple().to_string(),
            iat: issued_at.timestamp_millis() as f64 / 1000.0,
            iat_us: Some(issued_at.timestamp_micros()),
            exp: expires_at.timestamp(),
            amr: methods(factors),
            clinic: Some(clinic.0),
        };
        let token =
            jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding_key)
                .map_err(|e| ServiceError::Internal(format!("cannot sign a token: {e}")))?;
        Ok(IssuedToken {
            token,
            claims: TokenClaims {
                kind,
                user_id,
                factors,
                clinic: Some(clinic),
                jti: claims.jti,
                issued_at,
                expires_at,
            },
        })
    }

    fn decode(&self, token: &str, expected: TokenKind) -> Result<TokenClaims, TokenDecodeError> {
        let claims = jsonwebtoken::decode::<Claims>(token, &self.decoding_key, &self.validation)
            .map_err(|_| TokenDecodeError::Invalid)?
            .claims;
        let kind = match claims.token_type.as_str() {
            "access" => TokenKind::Access,
            "refresh" => TokenKind::Refresh,
            _ => return Err(TokenDecodeError::Invalid),
        };
        if kind != expected {
            return Err(TokenDecodeError::WrongType);
        }
        let time = |millis: i64| {
            chrono::Utc
                .timestamp_millis_opt(millis)
                .single()
                .ok_or(TokenDecodeError::Invalid)
        };
        let factors = if claims.amr.iter().any(|method| method == "otp") {
            SignInFactors::PasswordAndCode
        } else {
            SignInFactors::Password
        };
        Ok(TokenClaims {
            kind,
            user_id: UserId(claims.user_id),
            factors,
            clinic: claims.clinic.map(ClinicId),
            jti: claims.jti,
            issued_at: match claims.iat_us {
                Some(micros) => chrono::DateTime::from_timestamp_micros(micros)
                    .ok_or(TokenDecodeError::Invalid)?,
                None => time((claims.iat * 1000.0).round() as i64)?,
            },
            expires_at: time(claims.exp.saturating_mul(1000))?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SECRET: &str = "test-secret-key-of-at-least-32-bytes!!";
    const CLINIC: ClinicId = ClinicId(11);

    fn codec() -> JwtCodec {
        JwtCodec::new(
            SECRET,
            Duration::from_secs(900),
            Duration::from_secs(86_400),
        )
    }

    fn encode_raw(header: &Header, claims: &Claims, secret: &str) -> String {
        jsonwebtoken::encode(header, claims, &EncodingKey::from_secret(secret.as_bytes()))
            .expect("encode")
    }

    fn claims(token_type: &str, exp_offset: i64) -> Claims {
        let now = chrono::Utc::now().timestamp();
        Claims {
            token_type: token_type.into(),
            user_id: 3,
            jti: "j".into(),
            iat: now as f64,
            iat_us: None,
            exp: now + exp_offset,
            amr: Vec::new(),
            clinic: None,
        }
    }

    #[test]
    fn round_trip_and_type_check() {
        for factors in [SignInFactors::Password, SignInFactors::PasswordAndCode] {
            let issued = codec()
                .issue(
                    TokenKind::Access,
                    UserId(3),
                    factors,
                    CLINIC,
                    chrono::Utc::now(),
                )
                .expect("issued");
            let decoded = codec()
                .decode(&issued.token, TokenKind::Access)
                .expect("valid");
            assert_eq!(decoded, issued.claims);
            assert_eq!((decoded.factors, decoded.clinic), (factors, Some(CLINIC)));
        }
        let now = chrono::Timelike::with_nanosecond(&chrono::Utc::now(), 123_456_000)
            .expect("a valid time");
        let issued = codec()
            .issue(
                TokenKind::Access,
                UserId(3),
                SignInFactors::Password,
                CLINIC,
                now,
            )
            .expect("issued");
        let decoded = codec().decode(&issued.token, TokenKind::Access);
        assert_eq!(
            decoded.map(|claims| claims.issued_at),
            Ok(now),
            "the issue time keeps its microseconds"
        );
        let issued = codec()
            .issue(
                TokenKind::Access,
                UserId(3),
                SignInFactors::Password,
                CLINIC,
                chrono::Utc::now(),
            )
            .expect("issued");
        // Tokens minted before `amr` and `clinic` existed count as signed in with the
        // password, acting in no named clinic (the personal one).
        let older_claims = claims("access", 60);
        let older = encode_raw(&Header::new(Algorithm::HS256), &older_claims, SECRET);
        assert_eq!(
            codec()
                .decode(&older, TokenKind::Access)
                .map(|c| (c.factors, c.clinic)),
            Ok((SignInFactors::Password, None))
        );
        // ... and were issued at their `iat`, to the millisecond.
        assert_eq!(
            codec()
                .decode(&older, TokenKind::Access)
                .map(|c| c.issued_at.timestamp()),
            Ok(older_claims.iat as i64)
        );
        assert_eq!(
            codec().decode(&issued.token, TokenKind::Refresh),
            Err(TokenDecodeError::WrongType)
        );
    }

    #[test]
    fn forged_expired_and_other_algorithms_are_invalid() {
        let header = Header::new(Algorithm::HS256);
        let forged = encode_raw(
            &header,
            &claims("access", 60),
            "another-secret-of-32-bytes-or-more!!",
        );
        assert_eq!(
            codec().decode(&forged, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );

        let expired = encode_raw(&header, &claims("access", -10), SECRET);
        assert_eq!(
            codec().decode(&expired, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        let within_leeway = encode_raw(&header, &claims("access", -2), SECRET);
        assert!(codec().decode(&within_leeway, TokenKind::Access).is_ok());

        let hs512 = encode_raw(
            &Header::new(Algorithm::HS512),
            &claims("access", 60),
            SECRET,
        );
        assert_eq!(
            codec().decode(&hs512, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );

        // alg "none": header {"alg":"none","typ":"JWT"}, no signature.
        let unsigned = format!(
            "eyJhbGciOiJub25lIiwidHlwIjoiSldUIn0.{}.",
            encode_raw(&header, &claims("access", 60), SECRET)
                .split('.')
                .nth(1)
                .expect("payload")
        );
        assert_eq!(
            codec().decode(&unsigned, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );

        let unknown_type = encode_raw(&header, &claims("id", 60), SECRET);
        assert_eq!(
            codec().decode(&unknown_type, TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
        assert_eq!(
            codec().decode("garbage", TokenKind::Access),
            Err(TokenDecodeError::Invalid)
        );
    }
}
