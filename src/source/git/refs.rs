//! Pass 1 of a sweep: the roots. Every ref (branches, tags, remote-tracking refs, notes), HEAD
//! and the stash's reflog, peeled through annotated tags to what they finally name: commits
//! to walk, and trees or blobs a ref points to directly. A `--since` / `--range` sweep
//! replaces the tips with the range's.

use anyhow::{anyhow, bail, Result};
use git2::{Oid, Repository};

use super::objects::{Kind, Objects};
use super::parse;
use crate::report::Problem;

/// An annotated tag met while peeling refs.
pub(crate) struct TagRef {
    pub id: Oid,
    /// The commit it finally points to, if it points to one.
    pub commit: Option<Oid>,
}

/// What the refs name.
#[derive(Default)]
pub(crate) struct Roots {
    /// Commits the walk starts from.
    pub tips: Vec<Oid>,
    /// Commits whose history is left out (`--since`, `--range`).
    pub hidden: Vec<Oid>,
    pub tags: Vec<TagRef>,
    /// Trees and blobs refs point to directly: in no commit, so without a path.
    pub trees: Vec<Oid>,
    pub blobs: Vec<Oid>,
    pub errors: Vec<Problem>,
    /// Every ref by name with what it points to (not peeled): HEAD when detached, stash
    /// reflog entries as `refs/stash@{N}`. The exposure map peels them, only when a sweep
    /// found something.
    pub named: Vec<(String, Oid)>,
}

/// Every ref, HEAD and the stash reflog, peeled.
pub(crate) fn collect(repo: &Repository, objects: &Objects) -> Result<Roots> {
    let mut roots = Roots::default();
    let mut named: Vec<(Oid, String)> = Vec::new();
    let refs = repo
        .references()
        .map_err(|e| anyhow!("cannot list refs: {}", e.message()))?;
    for r in refs {
        match r {
            Ok(r) => {
                let name = String::from_utf8_lossy(r.name_bytes()).into_owned();
                // A direct ref names its object: resolving it would look it up again (and
                // stat packed-refs each time; thousands of refs on a forge).
                if let Some(t) = r.target() {
                    named.push((t, name));
                    continue;
                }
                match r.resolve() {
                    Ok(t) => named.extend(t.target().map(|o| (o, name))),
                    Err(e) => roots
                        .errors
                        .push(Problem::new(format!("ref {name}"), e.message().to_string())),
                }
            }
            Err(e) => roots
                .errors
                .push(Problem::new("refs", e.message().to_string())),
        }
    }
    roots.named = named.iter().map(|(o, n)| (n.clone(), *o)).collect();
    if let Ok(head) = repo.head() {
        named.extend(head.target().map(|o| (o, "HEAD".to_string())));
        if repo.head_detached().unwrap_or(false) {
            roots
                .named
                .extend(head.target().map(|o| ("HEAD".to_string(), o)));
        }
    }
    // Older stash entries live only in the stash's reflog.
    if let Ok(log) = repo.reflog("refs/stash") {
        for (i, e) in log.iter().enumerate() {
            named.push((e.id_new(), "refs/stash".to_string()));
            if i > 0 {
                roots
                    .named
                    .push((format!("refs/stash@{{{i}}}"), e.id_new()));
            }
        }
    }
    let mut seen = rustc_hash::FxHashSet::default();
    for (oid, name) in named {
        peel(objects, oid, &name, &mut seen, &mut roots);
    }
    Ok(roots)
}

/// Follows `oid` through annotated tags (tags of tags are legal; a cycle is not, but a corrupt
/// repository may have one) and files what it names, each object once.
fn peel(
    objects: &Objects,
    mut oid: Oid,
    name: &str,
    seen: &mut rustc_hash::FxHashSet<Oid>,
    roots: &mut Roots,
) {
    let mut tags_here = Vec::new();
    let mut commit = None;
    for _ in 0..16 {
        let kind = match objects.header(oid) {
            Ok((_, k)) => k,
            Err(e) => {
                roots
                    .errors
                    .push(Problem::new(format!("object {oid} (ref {name})"), e));
                break;
            }
        };
        let first = seen.insert(oid);
        match kind {
            Kind::Tag => {
                if !first {
                    break;
                }
                let target = objects
                    .read(oid)
                    .ok()
                    .and_then(|o| parse::tag(o.data()).map(|t| t.target));
                let Some(target) = target else {
                    roots.errors.push(Problem::new(
                        format!("tag {oid} (ref {name})"),
                        "malformed tag",
                    ));
                    break;
                };
                tags_here.push(oid);
                oid = target;
            }
            Kind::Commit => {
                commit = Some(oid);
                if first {
                    roots.tips.push(oid);
                }
                break;
            }
            Kind::Tree => {
                if first {
                    roots.trees.push(oid);
                }
                break;
            }
            Kind::Blob => {
                if first {
                    roots.blobs.push(oid);
                }
                break;
            }
        }
    }
    roots
        .tags
        .extend(tags_here.into_iter().map(|id| TagRef { id, commit }));
}

/// The roots of a push: its tips, peeled, and the commits already held (the refs under
/// `hide_refs`, the explicitly hidden objects). Annotated tags some hidden ref already names
/// are not the push's: their messages are not read again.
pub(crate) fn pushed(
    repo: &Repository,
    objects: &Objects,
    push: &super::PushRoots,
) -> Result<Roots> {
    // A ref that cannot be read hides nothing: more is scanned, never less.
    let mut held = Roots::default();
    match push.hide_refs.as_deref() {
        None => {}
        // Every ref, HEAD and the stash.
        Some("") => held = collect(repo, objects)?,
        Some(prefix) => {
            let refs = repo
                .references()
                .map_err(|e| anyhow!("cannot list refs: {}", e.message()))?;
            let mut seen = rustc_hash::FxHashSet::default();
            for r in refs.flatten() {
                if !r.name_bytes().starts_with(prefix.as_bytes()) {
                    continue;
                }
                if let Some(oid) = r.resolve().ok().and_then(|t| t.target()) {
                    peel(objects, oid, "hidden", &mut seen, &mut held);
                }
            }
        }
    }
    let mut seen = rustc_hash::FxHashSet::default();
    for &oid in &push.hidden {
        // An object the repository does not have (the remote's commit unknown to a client)
        // hides nothing.
        if objects.header(oid).is_ok() {
            peel(objects, oid, "hidden", &mut seen, &mut held);
        }
    }
    let mut roots = Roots {
        hidden: held.tips,
        ..Roots::default()
    };
    let mut seen = rustc_hash::FxHashSet::default();
    for &oid in &push.tips {
        peel(objects, oid, "pushed", &mut seen, &mut roots);
    }
    let held_tags: rustc_hash::FxHashSet<Oid> = held.tags.iter().map(|t| t.id).collect();
    roots.tags.retain(|t| !held_tags.contains(&t.id));
    let held_trees: rustc_hash::FxHashSet<Oid> =
        held.trees.iter().chain(&held.blobs).copied().collect();
    roots.trees.retain(|t| !held_trees.contains(t));
    roots.blobs.retain(|b| !held_trees.contains(b));
    Ok(roots)
}

/// The tips and hidden commits of `--range A..B` or `--since REV`. A range holds commits only:
/// trees and blobs refs point to directly belong to no commit, so no range introduces them.
pub(crate) fn restrict(
    repo: &Repository,
    objects: &Objects,
    roots: &mut Roots,
    since: Option<&str>,
    range: Option<&str>,
) -> Result<()> {
    if let Some(r) = range {
        let spec = repo
            .revparse(r)
            .map_err(|e| anyhow!("cannot resolve --range {r}: {}", e.message()))?;
        let mode = spec.mode();
        let (Some(from), Some(to)) = (spec.from(), spec.to()) else {
            bail!("--range {r}: expected two revisions, A..B");
        };
        if !mode.contains(git2::RevparseMode::RANGE)
            || mode.contains(git2::RevparseMode::MERGE_BASE)
        {
            bail!("--range {r}: expected two revisions, A..B");
        }
        roots.hidden = vec![peel_commit(objects, from.id(), r)?];
        roots.tips = vec![peel_commit(objects, to.id(), r)?];
    } else if let Some(s) = since {
        let obj = repo
            .revparse_single(s)
            .map_err(|e| anyhow!("cannot resolve --since {s}: {}", e.message()))?;
        roots.hidden = vec![peel_commit(objects, obj.id(), s)?];
    } else {
        return Ok(());
    }
    roots.trees.clear();
    roots.blobs.clear();
    Ok(())
}

/// The commit `oid` names, through annotated tags.
fn peel_commit(objects: &Objects, mut oid: Oid, spec: &str) -> Result<Oid> {
    for _ in 0..16 {
        let obj = objects
            .read(oid)
            .map_err(|e| anyhow!("{spec} does not name a commit: {e}"))?;
        match obj.kind() {
            Some(Kind::Commit) => return Ok(oid),
            Some(Kind::Tag) => match parse::tag(obj.data()) {
                Some(t) => oid = t.target,
                None => bail!("{spec} does not name a commit: malformed tag {oid}"),
            },
            _ => bail!("{spec} does not name a commit"),
        }
    }
    bail!("{spec} does not name a commit: too many nested tags")
}
