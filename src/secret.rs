//! The JWT secret of a data directory: the current one (`jwt-secret`, or CRM_JWT_SECRET / the
//! config file), the previous one after a rotation (`jwt-secret.previous`, or
//! CRM_JWT_SECRET_PREVIOUS / the config file), accepted for verifying tokens until the end of
//! its grace period, and `crm secret rotate`.
//!
//! Both files are readable by their owner only (0600) and written to a temporary file, synced
//! and renamed into place (then the directory synced), so a crash never leaves a half-written
//! secret; a file found readable by others is narrowed to 0600 with a warning.
//!
//! `jwt-secret.previous` holds the secret on its first line and the end of its grace period on
//! the second, as `until <RFC 3339 instant>`.

use std::path::Path;
use std::process::ExitCode;

use anyhow::{bail, Context};
use clap::Subcommand;
use crm_graphql::{PreviousSecret, Secret};
use time::format_description::well_known::Rfc3339;
use time::OffsetDateTime;
use uuid::Uuid;

/// The current secret's file in the data directory.
pub const SECRET_FILE: &str = "jwt-secret";
/// The previous secret's file (with the end of its grace period) after `crm secret rotate`.
pub const PREVIOUS_FILE: &str = "jwt-secret.previous";

/// The grace period `crm secret rotate` gives the previous secret unless told: the default
/// longest token lifetime a server accepts, so every token minted before the rotation can
/// live out its life.
pub const GRACE_HOURS_DEFAULT: u64 = 12;
/// The longest grace period: the longest lifetime a token may have at all (30 days).
pub const GRACE_HOURS_MAX: u64 = 30 * 24;

#[derive(Debug, Subcommand)]
pub enum SecretCommand {
    /// Rotate the data directory's JWT secret, with the server stopped: the current
    /// `jwt-secret` becomes `jwt-secret.previous` (accepted for verifying tokens until the
    /// grace period ends), and a new random secret signs every token from now on. Start the
    /// server again afterwards. A previous secret still in its grace period is replaced (its
    /// tokens are refused from then on).
    ///
    /// Example: crm secret rotate --data-dir /var/lib/crm --grace-hours 12
    ///
    /// Example (a leaked secret: refuse its tokens at once): crm secret rotate --grace-hours 0
    Rotate {
        /// How long tokens signed with the previous secret are still accepted, in hours
        /// (0 to 720).
        #[arg(long, default_value_t = GRACE_HOURS_DEFAULT)]
        grace_hours: u64,
    },
}

/// The JWT secret: `explicit` (CRM_JWT_SECRET or the config file) if given, else a random one
/// kept in the data directory's `jwt-secret`, so `crm token` and `crm serve` on the same
/// directory agree without configuration (created on first use).
pub fn jwt_secret(data_dir: &Path, explicit: Option<String>) -> anyhow::Result<Secret> {
    if let Some(secret) = explicit {
        return Ok(Secret::new(secret));
    }
    let path = data_dir.join(SECRET_FILE);
    match std::fs::read_to_string(&path) {
        Ok(secret) => {
            restrict_to_owner(&path)?;
            Ok(Secret::new(secret.trim().to_string()))
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(data_dir)
                .with_context(|| format!("creating {}", data_dir.display()))?;
            let secret = random_secret();
            write_private_atomically(data_dir, &path, secret.as_bytes())?;
            Ok(Secret::new(secret))
        }
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

/// The previous secret, if any: `explicit` (CRM_JWT_SECRET_PREVIOUS or the config file's
/// `jwt_secret_previous`), which needs `until` (CRM_JWT_PREVIOUS_UNTIL or
/// `jwt_previous_until`), else the data directory's `jwt-secret.previous` with the instant
/// recorded in it (`until`, when configured, overrides that instant). Its length is checked
/// with the rest of the server's configuration (`crm_graphql::Config::validate`).
pub fn previous_secret(
    data_dir: &Path,
    explicit: Option<String>,
    until: Option<OffsetDateTime>,
) -> anyhow::Result<Option<PreviousSecret>> {
    if let Some(secret) = explicit {
        let Some(until) = until else {
            bail!(
                "a previous JWT secret (CRM_JWT_SECRET_PREVIOUS or jwt_secret_previous) needs the \
                 end of its grace period: set CRM_JWT_PREVIOUS_UNTIL or jwt_previous_until (RFC \
                 3339, e.g. 2025-06-30T18:00:00+08:00)"
            );
        };
        return Ok(Some(PreviousSecret {
            secret: Secret::new(secret),
            until,
        }));
    }
    let path = data_dir.join(PREVIOUS_FILE);
    let text = match std::fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
    };
    restrict_to_owner(&path)?;
    let (secret, recorded) = parse_previous(&text).with_context(|| {
        format!(
            "{} (the secret on the first line, `until <RFC 3339 instant>` on the second)",
            path.display()
        )
    })?;
    Ok(Some(PreviousSecret {
        secret: Secret::new(secret),
        until: until.unwrap_or(recorded),
    }))
}

fn parse_previous(text: &str) -> anyhow::Result<(String, OffsetDateTime)> {
    let mut lines = text.lines().map(str::trim).filter(|l| !l.is_empty());
    let secret = lines.next().context("it is empty")?;
    let until = lines
        .next()
        .and_then(|l| l.strip_prefix("until "))
        .context("it records no `until` instant")?;
    let until = parse_instant(until.trim())?;
    Ok((secret.to_owned(), until))
}

/// An RFC 3339 instant, e.g. 2025-06-30T18:00:00+08:00.
pub fn parse_instant(s: &str) -> anyhow::Result<OffsetDateTime> {
    OffsetDateTime::parse(s.trim(), &Rfc3339)
        .with_context(|| format!("'{s}' is not an RFC 3339 instant like 2025-06-30T18:00:00+08:00"))
}

/// Two v4 UUIDs: 244 random bits from the OS generator.
fn random_secret() -> String {
    format!("{}{}", Uuid::new_v4().simple(), Uuid::new_v4().simple())
}

pub fn run(data_dir: &Path, command: &SecretCommand) -> anyhow::Result<ExitCode> {
    match command {
        SecretCommand::Rotate { grace_hours } => rotate(data_dir, *grace_hours),
    }
}

fn rotate(data_dir: &Path, grace_hours: u64) -> anyhow::Result<ExitCode> {
    if grace_hours > GRACE_HOURS_MAX {
        bail!("--grace-hours {grace_hours}: at most {GRACE_HOURS_MAX} (30 days)");
    }
    if std::env::var_os("CRM_JWT_SECRET").is_some_and(|v| !v.is_empty()) {
        bail!(
            "CRM_JWT_SECRET is set: the server takes its secret from it, not from {}; rotate it \
             there (the old value into CRM_JWT_SECRET_PREVIOUS with CRM_JWT_PREVIOUS_UNTIL, see \
             docs/SECURITY.md)",
            data_dir.join(SECRET_FILE).display()
        );
    }
    // The store's lock, held while the files change: a running server (which holds it) keeps
    // its secret in memory, so a rotation under it would take effect only at its next start.
    // A directory without a log has no server.
    let store = if crm_eventstore::log_dir(data_dir).is_dir() {
        Some(crate::open_read_only(data_dir)?)
    } else {
        None
    };
    let current_path = data_dir.join(SECRET_FILE);
    let current = match std::fs::read_to_string(&current_path) {
        Ok(s) => s.trim().to_owned(),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => bail!(
            "{} does not exist: nothing to rotate (the server or `crm token` creates it on first \
             use)",
            current_path.display()
        ),
        Err(e) => return Err(e).with_context(|| format!("reading {}", current_path.display())),
    };
    if current.len() < crm_graphql::JWT_SECRET_LEN_MIN {
        bail!(
            "{} holds a secret shorter than {} bytes; replace it by hand",
            current_path.display(),
            crm_graphql::JWT_SECRET_LEN_MIN
        );
    }
    let previous_path = data_dir.join(PREVIOUS_FILE);
    if let Ok(Some(replaced)) = previous_secret(data_dir, None, None) {
        if replaced.until > OffsetDateTime::now_utc() {
            eprintln!(
                "warning: the previous secret's grace period (until {}) is cut short: tokens \
                 signed with it are refused from now on",
                replaced.until.format(&Rfc3339)?
            );
        }
    }
    let hours = i64::try_from(grace_hours).context("--grace-hours")?;
    // Whole seconds, as tokens carry their times.
    let until = (OffsetDateTime::now_utc() + time::Duration::hours(hours))
        .replace_nanosecond(0)
        .context("the end of the grace period")?;
    let until_text = until.format(&Rfc3339)?;
    // The previous file first: a crash before the new secret is written leaves the old one
    // current (and also previous), and running the rotation again finishes it.
    write_private_atomically(
        data_dir,
        &previous_path,
        format!("{current}\nuntil {until_text}\n").as_bytes(),
    )?;
    write_private_atomically(data_dir, &current_path, random_secret().as_bytes())?;
    drop(store);
    println!(
        "rotated the JWT secret in {}: new tokens are signed with the new secret; tokens signed \
         with the previous one ({}) are accepted until {until_text}. Start the server again.",
        data_dir.display(),
        previous_path.display(),
    );
    Ok(ExitCode::SUCCESS)
}

#[cfg(unix)]
fn write_private_atomically(dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    use std::io::Write;
    use std::os::unix::fs::OpenOptionsExt;
    let mut tmp_name = path.file_name().unwrap_or_default().to_os_string();
    tmp_name.push(".tmp");
    let tmp = dir.join(tmp_name);
    let mut file = std::fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&tmp)
        .with_context(|| format!("creating {}", tmp.display()))?;
    // A leftover temporary file of a crashed start keeps its old mode: set it again.
    restrict_to_owner(&tmp)?;
    file.write_all(bytes)
        .and_then(|()| file.sync_all())
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

#[cfg(not(unix))]
fn write_private_atomically(_dir: &Path, path: &Path, bytes: &[u8]) -> anyhow::Result<()> {
    std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
}

#[cfg(unix)]
fn restrict_to_owner(path: &Path) -> anyhow::Result<()> {
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(path)
        .with_context(|| format!("reading the permissions of {}", path.display()))?
        .permissions()
        .mode();
    if mode & 0o077 != 0 {
        tracing::warn!(
            path = %path.display(),
            mode = format!("{:o}", mode & 0o777),
            "the JWT secret was readable by others; narrowed to 0600"
        );
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600))
            .with_context(|| format!("narrowing the permissions of {}", path.display()))?;
    }
    Ok(())
}

#[cfg(not(unix))]
fn restrict_to_owner(_path: &Path) -> anyhow::Result<()> {
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_previous_file_holds_the_secret_and_its_instant() {
        let parsed = parse_previous("abc\nuntil 2025-06-30T18:00:00+08:00\n");
        assert!(parsed.is_ok_and(
            |(s, until)| s == "abc" && until == time::macros::datetime!(2025-06-30 10:00 UTC)
        ));
        assert!(parse_previous("abc\n").is_err());
        assert!(parse_previous("abc\nuntil tomorrow\n").is_err());
        assert!(parse_previous("").is_err());
    }
}
