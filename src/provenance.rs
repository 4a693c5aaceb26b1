//! Provenance: where a blob — and so a finding — was seen. A file in a tree, a blob in a
//! repository's history, a commit or tag message, standard input, a token given to
//! `verify`; inside any of them, a member of an archive, nested (`app.ipa!/Payload/App.app/
//! Info.plist`); and, in a sweep of many repositories, which one.
//!
//! It is a type, not a path string with a made-up name in it. Reports render it; the one
//! string form, `path()`, is what reports print as `path` and what fingerprints and
//! suppressions key on — unchanged from earlier versions for files and messages, so
//! baselines written by them stay valid.

use std::fmt;

/// What a blob is, at the outermost level.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Origin {
    /// A file, by its path relative to the scan root with `/` separators (`dir`, `staged`).
    File(String),
    /// Standard input, under the `--label` name.
    Stdin(String),
    /// A blob of a repository's history at a path (its commits are in the finding's
    /// `GitInfo`).
    GitBlob(String),
    /// A blob no walked commit holds: dangling, or named by a ref directly. No path exists.
    GitObject(String),
    /// A commit message (the commit is in the finding's `GitInfo`).
    CommitMessage,
    /// An annotated tag's message (the tag's name).
    TagMessage(String),
    /// A token given as the N-th argument of `verify`.
    Argument(usize),
    /// A token read from the standard input of `verify`.
    VerifyInput,
}

/// Where a finding was seen.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Provenance {
    pub origin: Origin,
    /// Members inside archives, outermost first: `app.ipa!/Payload/App.app/Info.plist` is
    /// `File("app.ipa")` with the member `Payload/App.app/Info.plist`.
    pub members: Vec<String>,
    /// The repository, when a sweep covers many.
    pub repository: Option<String>,
}

/// Separates an archive from a member in `path()` (as in Java's `jar:` URLs).
pub const MEMBER_SEPARATOR: &str = "!/";

impl Provenance {
    pub fn new(origin: Origin) -> Provenance {
        Provenance {
            origin,
            members: Vec::new(),
            repository: None,
        }
    }

    /// Rewrites every name it holds (path, members, repository, tag) with `f`, where `f`
    /// returns a replacement.
    pub fn rename(&mut self, f: &impl Fn(&str) -> Option<String>) {
        let put = |s: &mut String| {
            if let Some(r) = f(s) {
                *s = r;
            }
        };
        match &mut self.origin {
            Origin::File(p)
            | Origin::Stdin(p)
            | Origin::GitBlob(p)
            | Origin::GitObject(p)
            | Origin::TagMessage(p) => put(p),
            Origin::CommitMessage | Origin::Argument(_) | Origin::VerifyInput => {}
        }
        self.members.iter_mut().for_each(put);
        if let Some(r) = self.repository.as_mut() {
            put(r);
        }
    }

    pub fn file(path: impl Into<String>) -> Provenance {
        Provenance::new(Origin::File(path.into()))
    }

    /// The same blob's member `name` (an archive entry).
    pub fn member(&self, name: impl Into<String>) -> Provenance {
        let mut p = self.clone();
        p.members.push(name.into());
        p
    }

    /// The outermost thing's name: a file or blob path, or a bracketed label for what has
    /// none (`<commit-message>`, `<stdin>`, `<argument 2>`).
    pub fn outer(&self) -> String {
        match &self.origin {
            Origin::File(p) | Origin::GitBlob(p) | Origin::Stdin(p) => p.clone(),
            Origin::GitObject(id) => format!("<blob {id}>"),
            Origin::CommitMessage => "<commit-message>".into(),
            Origin::TagMessage(_) => "<tag-message>".into(),
            Origin::Argument(n) => format!("<argument {n}>"),
            Origin::VerifyInput => "<stdin>".into(),
        }
    }

    /// The location as one string: `outer!/member!/member`.
    pub fn path(&self) -> String {
        let mut s = self.outer();
        for m in &self.members {
            s.push_str(MEMBER_SEPARATOR);
            s.push_str(m);
        }
        s
    }

    /// The chain of names from the outermost thing to the innermost member.
    pub fn chain(&self) -> Vec<String> {
        std::iter::once(self.outer())
            .chain(self.members.iter().cloned())
            .collect()
    }

    /// The origin's kind, as JSON and SARIF name it.
    pub fn kind(&self) -> &'static str {
        match self.origin {
            Origin::File(_) => "file",
            Origin::Stdin(_) => "stdin",
            Origin::GitBlob(_) => "git-blob",
            Origin::GitObject(_) => "git-object",
            Origin::CommitMessage => "commit-message",
            Origin::TagMessage(_) => "tag-message",
            Origin::Argument(_) => "argument",
            Origin::VerifyInput => "verify-input",
        }
    }

    /// True if the location is a file path (in a tree or a commit), so it can be linked to
    /// a file and matched by path globs.
    pub fn is_file_path(&self) -> bool {
        matches!(self.origin, Origin::File(_) | Origin::GitBlob(_))
    }
}

impl fmt::Display for Provenance {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.path())
    }
}

/// A bare path is a file: what tests and simple callers mean.
impl From<String> for Provenance {
    fn from(path: String) -> Provenance {
        Provenance::file(path)
    }
}

impl From<&str> for Provenance {
    fn from(path: &str) -> Provenance {
        Provenance::file(path)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_keep_their_old_spelling_and_members_nest() {
        assert_eq!(Provenance::file("a/b.env").path(), "a/b.env");
        assert_eq!(
            Provenance::new(Origin::CommitMessage).path(),
            "<commit-message>"
        );
        assert_eq!(
            Provenance::new(Origin::GitObject("ab12".into())).path(),
            "<blob ab12>"
        );
        let m = Provenance::file("App.ipa")
            .member("Payload/App.app/Frameworks/X.framework.zip")
            .member("Info.plist");
        assert_eq!(
            m.path(),
            "App.ipa!/Payload/App.app/Frameworks/X.framework.zip!/Info.plist"
        );
        assert_eq!(m.chain().len(), 3);
        assert!(m.is_file_path());
        assert!(!Provenance::new(Origin::Argument(1)).is_file_path());
    }
}
