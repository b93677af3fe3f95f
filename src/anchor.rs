//! Anchors: a log position and the hash of its record, kept outside the store (a notary, a
//! ticket, a signed report). The hash chain makes every record's hash depend on all before
//! it, so a log rewritten at or before an anchored position, or cut short before it (with
//! `index/` deleted, which `verify` alone cannot tell from a log that was always short), no
//! longer matches the anchor. `crm anchor` prints the head's; `crm verify --anchor POS:HASH`
//! checks them; `crm serve` prints one at shutdown; a backup carries one in its manifest.

use std::fmt;
use std::path::Path;
use std::str::FromStr;

use anyhow::Context;
use crm_eventstore::{EventStore, Position};
use serde::{Deserialize, Serialize};

/// A position and its record's hash, written `POS:HEX`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Anchor {
    pub position: u64,
    pub hash: [u8; 32],
}

impl fmt::Display for Anchor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:", self.position)?;
        for b in self.hash {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl FromStr for Anchor {
    type Err = String;

    fn from_str(s: &str) -> Result<Anchor, String> {
        let (position, hex) = s
            .trim()
            .split_once(':')
            .ok_or_else(|| format!("'{s}' is not an anchor: write POSITION:HASH"))?;
        let position: u64 = position
            .parse()
            .map_err(|_| format!("'{position}' is not a log position"))?;
        if position == 0 {
            return Err("positions start at 1".into());
        }
        if hex.len() != 64 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(format!(
                "'{hex}' is not a record hash: 64 hexadecimal digits"
            ));
        }
        let mut hash = [0u8; 32];
        for (i, byte) in hash.iter_mut().enumerate() {
            let pair = hex.get(2 * i..2 * i + 2).unwrap_or("00");
            *byte = u8::from_str_radix(pair, 16).map_err(|e| format!("'{pair}': {e}"))?;
        }
        Ok(Anchor { position, hash })
    }
}

/// The anchor of the log's head; `None` for an empty log.
pub fn head(store: &EventStore) -> anyhow::Result<Option<Anchor>> {
    let position = store.head().0;
    if position == 0 {
        return Ok(None);
    }
    let record = store
        .read_position(Position(position))
        .with_context(|| format!("reading the head record at position {position}"))?;
    Ok(Some(Anchor {
        position,
        hash: record.hash,
    }))
}

/// Whether the log holds `anchor`: a record at its position with its hash. The error says
/// how it differs.
pub fn check(store: &EventStore, anchor: &Anchor) -> anyhow::Result<Result<(), String>> {
    let head = store.head().0;
    if anchor.position > head {
        return Ok(Err(format!(
            "the log ends at position {head}, before the anchor's position {}: records were \
             cut off or the log was replaced",
            anchor.position
        )));
    }
    let record = store
        .read_position(Position(anchor.position))
        .with_context(|| format!("reading the record at position {}", anchor.position))?;
    if record.hash != anchor.hash {
        let found = Anchor {
            position: anchor.position,
            hash: record.hash,
        };
        return Ok(Err(format!(
            "the record at position {} has hash {found}, the anchor says {anchor}: the log \
             was rewritten at or before that position",
            anchor.position
        )));
    }
    Ok(Ok(()))
}

/// The manifest a backup carries: the anchor of the copied log's head.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Manifest {
    pub format: u32,
    /// `POS:HASH` of the copy's head, as `crm anchor` prints it.
    pub head: Option<String>,
    pub records: u64,
}

pub const MANIFEST_FILE: &str = "manifest.json";

/// Writes the manifest into a backup directory (synced), after the copy verified.
pub fn write_manifest(dir: &Path, manifest: &Manifest) -> anyhow::Result<()> {
    let path = dir.join(MANIFEST_FILE);
    let text = serde_json::to_string_pretty(manifest).context("writing the manifest")?;
    std::fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
    std::fs::File::open(&path)
        .and_then(|f| f.sync_all())
        .with_context(|| format!("syncing {}", path.display()))?;
    std::fs::File::open(dir)
        .and_then(|d| d.sync_all())
        .with_context(|| format!("syncing {}", dir.display()))?;
    Ok(())
}

/// The manifest of a backup directory, if it has one.
pub fn read_manifest(dir: &Path) -> anyhow::Result<Option<Manifest>> {
    let path = dir.join(MANIFEST_FILE);
    match std::fs::read_to_string(&path) {
        Ok(text) => serde_json::from_str(&text)
            .map(Some)
            .with_context(|| format!("{} is not a backup manifest", path.display())),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(e).with_context(|| format!("reading {}", path.display())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn anchors_parse_what_they_print_and_name_what_is_wrong() {
        let a = Anchor {
            position: 42,
            hash: [0xab; 32],
        };
        assert_eq!(a.to_string().parse::<Anchor>(), Ok(a));
        for (bad, says) in [
            ("42", "POSITION:HASH"),
            ("x:00", "not a log position"),
            ("0:00", "start at 1"),
            ("1:abc", "64 hexadecimal"),
            (&format!("1:{}", "g".repeat(64)), "64 hexadecimal"),
        ] {
            let e = bad.parse::<Anchor>().err().unwrap_or_default();
            assert!(e.contains(says), "{bad}: {e}");
        }
    }
}
