//! Token revocation (RFC 7009): who may revoke what.

use crate::oauth::error::{ErrorCode, OAuthError};

/// RFC 7009 §2.1: "the authorization server first validates the client credentials … and
/// then verifies whether the token was issued to the client making the revocation request.
/// If this validation fails, the request is refused and the client is informed of the error"
/// — `unauthorized_client`, and nothing is revoked.
pub fn check_owner(token_client_id: &str, caller: &str) -> Result<(), OAuthError> {
    if token_client_id == caller {
        Ok(())
    } else {
        Err(OAuthError::new(
            ErrorCode::UnauthorizedClient,
            "the token was not issued to this client",
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_owner_may_revoke() {
        assert!(check_owner("cli_a", "cli_a").is_ok());
        assert_eq!(
            check_owner("cli_a", "cli_b").unwrap_err().code,
            ErrorCode::UnauthorizedClient
        );
    }
}
