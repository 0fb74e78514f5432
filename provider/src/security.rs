//! The host's side of the access checks: its names, and the password from
//! `--password-file`, hashed at start (the text is not kept) like the device stores it.

use portico::guard::host::DEFAULT_NAMES;
use portico::guard::password::DEFAULT_ITERATIONS;
use portico::guard::{HostPolicy, PasswordHash, Secrets, SessionKey};

/// Names and secrets for the life of the process.
pub struct HostSecurity {
    /// `None`: every `Host` is answered.
    names: Option<&'static [&'static str]>,
    secrets: Option<(PasswordHash, SessionKey)>,
}

impl HostSecurity {
    /// `extra`: `None` turns the `Host` check off; else names added to the defaults.
    pub fn new(extra: Option<&[String]>, password: Option<&str>) -> Result<Self, String> {
        // Built once per process and read by every request: leaked on purpose, so the
        // policy can lend `&str`s without a lock or a copy.
        let names = extra.map(|extra| {
            let all: Vec<&'static str> = DEFAULT_NAMES
                .iter()
                .copied()
                .chain(
                    extra
                        .iter()
                        .map(|n| &*Box::leak(n.clone().into_boxed_str())),
                )
                .collect();
            &*Box::leak(all.into_boxed_slice())
        });
        let secrets = match password {
            None => None,
            Some(p) => {
                let mut salt = [0u8; 16];
                let mut key = [0u8; 32];
                getrandom::fill(&mut salt)
                    .and_then(|()| getrandom::fill(&mut key))
                    .map_err(|e| format!("no random bytes from the OS: {e}"))?;
                Some((
                    PasswordHash::new(p.as_bytes(), salt, DEFAULT_ITERATIONS),
                    SessionKey(key),
                ))
            }
        };
        Ok(HostSecurity { names, secrets })
    }

    pub fn allowed_hosts(&self) -> HostPolicy<'_> {
        match self.names {
            Some(n) => HostPolicy::Names(n),
            None => HostPolicy::Any,
        }
    }

    pub fn secrets(&self) -> Option<Secrets<'_>> {
        self.secrets
            .as_ref()
            .map(|(password, key)| Secrets { password, key })
    }

    /// Lines for the start-up banner: what is checked, and a warning when anyone on
    /// the network can use the dashboard.
    pub fn banner(&self, bind: std::net::SocketAddr) -> Vec<String> {
        let mut lines = Vec::new();
        match self.names {
            None => lines.push(
                "warning: Host check off (--allowed-host '*'): any web page can reach this \
                 server through DNS rebinding"
                    .to_string(),
            ),
            Some(n) => lines.push(format!(
                "answers to: IP literals, {} (others get 421)",
                n.join(", ")
            )),
        }
        if self.secrets.is_some() {
            lines.push("login required (--password-file)".to_string());
        } else if !bind.ip().is_loopback() {
            lines.push(format!(
                "warning: no --password-file and listening on {bind}: anyone on the network \
                 can use the dashboard and the API"
            ));
        }
        lines
    }
}
