//! Sweeps of many repositories, for an incident at organisation scale: what a repository is
//! (a local path or a remote URL) and its stable, password-free identity (`repo`); which
//! repositories an organisation or group holds (`enumerate`, through the hosts' REST APIs);
//! mirrors of remote repositories in a cache, cloned and fetched with the user's own `git`
//! (`mirror`); a deterministic partition of the list across processes (`shard`); and the
//! state of a repository's refs, so an interrupted sweep resumes where it stopped (`state`).
//!
//! Each repository is then swept by `source::git` like a single one, one after another:
//! every sweep builds and drops its own structures, so memory does not grow with the number
//! of repositories. The loop itself, progress and per-repository reports are the command
//! layer's (`command::sweep`).

pub mod enumerate;
pub mod mirror;
pub mod repo;
pub mod shard;

use std::path::Path;

use sha2::{Digest, Sha256};

/// A digest of every ref of the repository at `path` (name and target) and of HEAD: equal
/// digests mean nothing was pushed, deleted or rewritten since. Packed and loose refs alike.
pub fn refs_state(path: &Path) -> Result<String, String> {
    let repo = git2::Repository::open(path).map_err(|e| e.message().to_string())?;
    let mut refs: Vec<(String, String)> = Vec::new();
    let iter = repo.references().map_err(|e| e.message().to_string())?;
    for r in iter {
        let r = r.map_err(|e| e.message().to_string())?;
        let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
        let target = match (r.target(), r.symbolic_target_bytes()) {
            (Some(oid), _) => oid.to_string(),
            (None, Some(s)) => format!("-> {}", String::from_utf8_lossy(s)),
            (None, None) => String::new(),
        };
        refs.push((name, target));
    }
    refs.sort();
    let mut h = Sha256::new();
    if let Ok(head) = repo.find_reference("HEAD") {
        h.update(head.symbolic_target_bytes().unwrap_or_default());
        h.update(head.target().map(|o| o.to_string()).unwrap_or_default());
    }
    h.update(b"\n");
    for (name, target) in refs {
        h.update(name.as_bytes());
        h.update(b" ");
        h.update(target.as_bytes());
        h.update(b"\n");
    }
    Ok(hex(&h.finalize()))
}

pub(crate) fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
