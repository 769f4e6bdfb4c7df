//! Where a brand, a source or an alert rule was defined.

use crate::InvalidValue;
use serde::Serialize;

/// Where something was defined. What comes from the config file is changed there, not
/// through the API: the store makes it match the file at every start, so an API change
/// would be undone.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Origin {
    Config,
    Api,
}

impl Origin {
    pub fn parse(raw: &str) -> Result<Self, InvalidValue> {
        match raw {
            "config" => Ok(Self::Config),
            "api" => Ok(Self::Api),
            other => Err(InvalidValue::new(format!(
                "origin {other:?} is not config or api"
            ))),
        }
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Config => "config",
            Self::Api => "api",
        }
    }
}
