//! The account a run uses: `--account NAME` (or the config file's default) picks a table
//! `[accounts.NAME]` of the config file (src/cli/config.rs), whose keys are the tools' long
//! flag names and fill in what the command line left out (docs/CONVENTIONS.md, "Config file
//! and accounts"). What cannot travel as a flag stays here, in the process: the literal
//! secrets an owner-only file may hold (`password`, and `client_secret` and `refresh_token`
//! of `[accounts.NAME.oauth2]`). `oauth2.KEY` keys otherwise become `--oauth2-KEY` flags.
//!
//! A run that fetches several accounts (pop-fetch and imap-fetch's `--all-accounts`) selects
//! each in turn before running it.

use std::path::PathBuf;
use std::sync::{Arc, RwLock};

/// The account a run uses, and the secrets its table holds literally.
#[derive(Clone, Default)]
pub struct Selected {
    /// The account's name, `NAME` of `[accounts.NAME]`: what per-account state (the OAuth2
    /// token cache) is keyed by.
    pub name: String,
    /// The config file it comes from.
    pub config: PathBuf,
    /// `password = "..."`.
    pub password: Option<String>,
    /// `[accounts.NAME.oauth2]`'s `client_secret = "..."`.
    pub oauth2_client_secret: Option<String>,
    /// `[accounts.NAME.oauth2]`'s `refresh_token = "..."`: a refresh token given once, used
    /// while the token cache holds none.
    pub oauth2_refresh_token: Option<String>,
}

impl std::fmt::Debug for Selected {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let shown = |s: &Option<String>| s.as_ref().map(|_| "<hidden>");
        f.debug_struct("Selected")
            .field("name", &self.name)
            .field("config", &self.config)
            .field("password", &shown(&self.password))
            .field("oauth2_client_secret", &shown(&self.oauth2_client_secret))
            .field("oauth2_refresh_token", &shown(&self.oauth2_refresh_token))
            .finish()
    }
}

static SELECTED: RwLock<Option<Arc<Selected>>> = RwLock::new(None);

/// The account the current run uses, if one was named or is the default.
pub fn selected() -> Option<Arc<Selected>> {
    SELECTED.read().ok().and_then(|s| s.clone())
}

/// Makes `account` the one the next run uses (`None`: no account).
#[allow(dead_code)] // the account layer (tool.rs) calls it from the next commit on
pub(crate) fn select(account: Option<Selected>) {
    if let Ok(mut s) = SELECTED.write() {
        *s = account.map(Arc::new);
    }
}
