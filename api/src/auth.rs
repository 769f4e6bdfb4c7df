//! Authentication and authorisation: `Authorization: Bearer <key>` on every `/api/v1`
//! route, checked by the [`Caller`] extractor against the permission its handler names.
//!
//! A handler declares what it needs in its signature (`caller: Caller<WorkAlerts>`), so
//! a route cannot forget its check, and the check runs before the body is read: a
//! caller without a key learns nothing about what a valid request looks like.
//! No key, or a malformed, unknown or revoked one, is 401 with `WWW-Authenticate:
//! Bearer`; a valid key whose role lacks the permission is 403. Revocation takes effect
//! at the next request: keys are looked up in the database every time.

use crate::{ApiError, AppState};
use axum::extract::FromRequestParts;
use axum::http::{header, request::Parts};
use earshot_domain::{Actor, ApiKey, ApiSecret, KeyName, Permission, Role, Timestamp};
use earshot_store::{NewApiKey, Store};
use std::marker::PhantomData;

/// What a route requires; one marker type per [`Permission`].
pub(crate) trait Policy: Send + Sync {
    const PERMISSION: Permission;
}

macro_rules! policies {
    ($($name:ident),* $(,)?) => {$(
        #[doc = concat!("Requires [`Permission::", stringify!($name), "`].")]
        pub(crate) struct $name;
        impl Policy for $name {
            const PERMISSION: Permission = Permission::$name;
        }
    )*};
}

policies!(
    ReadMentions,
    CorrectSentiment,
    WorkAlerts,
    ModerateReviews,
    ReadSetup,
    ManageSetup,
    ManageAlertRules,
    ManageKeys
);

/// The authenticated key behind a request, allowed to do what `P` names.
pub(crate) struct Caller<P> {
    pub key: ApiKey,
    _policy: PhantomData<P>,
}

impl<P> Caller<P> {
    /// Who to record in history.
    pub fn actor(&self) -> Actor {
        Actor::key(&self.key)
    }
}

impl<P: Policy> FromRequestParts<AppState> for Caller<P> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, ApiError> {
        let key = authenticate(parts, state.store.as_ref()).await?;
        if !key.role.can(P::PERMISSION) {
            return Err(ApiError::Forbidden(format!(
                "the {} role may not {}",
                key.role,
                P::PERMISSION.describe()
            )));
        }
        Ok(Self {
            key,
            _policy: PhantomData,
        })
    }
}

/// The live key named by the request's bearer token.
async fn authenticate(parts: &Parts, store: &dyn Store) -> Result<ApiKey, ApiError> {
    let invalid = |message: &str| ApiError::Unauthorized {
        message: message.to_owned(),
        invalid_key: true,
    };
    let Some(value) = parts.headers.get(header::AUTHORIZATION) else {
        return Err(ApiError::Unauthorized {
            message: "this route needs an API key: send Authorization: Bearer <key>".to_owned(),
            invalid_key: false,
        });
    };
    let token = value
        .to_str()
        .ok()
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim())
        .ok_or_else(|| invalid("the Authorization header must be \"Bearer <key>\""))?;
    let secret = ApiSecret::parse(token).map_err(|e| invalid(&e.0))?;
    let key = store
        .authenticate(&secret.hash(), Timestamp::now())
        .await?
        .ok_or_else(|| invalid("this API key is not known"))?;
    if key.revoked_at.is_some() {
        return Err(invalid("this API key has been revoked"));
    }
    Ok(key)
}

/// Makes a new key: 32 bytes from the OS's generator, of which only the hash is
/// stored. The secret is returned to be shown once. The CLI and the admin API both
/// make keys this way.
pub async fn issue_key(
    store: &dyn Store,
    name: &KeyName,
    role: Role,
    now: Timestamp,
) -> Result<(ApiKey, ApiSecret), ApiError> {
    let mut bytes = [0u8; 32];
    getrandom::fill(&mut bytes).map_err(|_| ApiError::NoRandomness)?;
    let secret = ApiSecret::from_random(bytes);
    let key = store
        .create_api_key(
            &NewApiKey {
                name,
                role,
                hash: &secret.hash(),
            },
            now,
        )
        .await?;
    Ok((key, secret))
}
