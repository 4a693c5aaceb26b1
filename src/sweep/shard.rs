//! Shards: a deterministic partition of a sweep's repositories across processes (a CI
//! matrix, a Kubernetes Indexed Job, GitLab's `parallel:`). A repository belongs to shard
//! `1 + h mod N`, where `h` is the first 8 bytes of the SHA-256 of its identity: every
//! process computes the same partition from the same list, with no coordination, and a
//! repository's shard does not change when others are added or removed.

use sha2::{Digest, Sha256};

/// One shard of N: `index` is 1-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The most shards a sweep can be cut into.
pub const MAX_SHARDS: u32 = 100_000;

impl Shard {
    /// Parses `K/N` (1 ≤ K ≤ N).
    pub fn parse(s: &str) -> Result<Shard, String> {
        let bad = || format!("'{s}' is not K/N with 1 <= K <= N <= {MAX_SHARDS} (e.g. 3/8)");
        let (k, n) = s.trim().split_once('/').ok_or_else(bad)?;
        let (k, n): (u32, u32) = (
            k.trim().parse().map_err(|_| bad())?,
            n.trim().parse().map_err(|_| bad())?,
        );
        Shard::new(k, n).ok_or_else(bad)
    }

    pub fn new(index: u32, count: u32) -> Option<Shard> {
        ((1..=MAX_SHARDS).contains(&count) && (1..=count).contains(&index))
            .then_some(Shard { index, count })
    }

    /// The shard named by a scheduler's environment, and where it came from:
    /// `JOB_COMPLETION_INDEX` (0-based; the count comes from `count`), else GitLab's
    /// `CI_NODE_INDEX` / `CI_NODE_TOTAL` (1-based). `None` when neither is set.
    pub fn from_env(
        get: impl Fn(&str) -> Option<String>,
        count: Option<u32>,
    ) -> Result<Option<(Shard, &'static str)>, String> {
        if let Some(i) = get("JOB_COMPLETION_INDEX") {
            let i: u32 = i
                .trim()
                .parse()
                .map_err(|_| format!("JOB_COMPLETION_INDEX is not a number: '{i}'"))?;
            let n = count.ok_or(
                "JOB_COMPLETION_INDEX is set but the number of shards is not: pass \
                 --shard-count N or set APPLIVERY_LEAKS_SHARD_COUNT (the Job's completions)",
            )?;
            let shard = i
                .checked_add(1)
                .and_then(|k| Shard::new(k, n))
                .ok_or_else(|| {
                    format!("JOB_COMPLETION_INDEX {i} is not below the shard count {n}")
                })?;
            return Ok(Some((shard, "JOB_COMPLETION_INDEX")));
        }
        match (get("CI_NODE_INDEX"), get("CI_NODE_TOTAL")) {
            (Some(k), Some(n)) => {
                let shard = Shard::parse(&format!("{k}/{n}")).map_err(|_| {
                    format!("CI_NODE_INDEX/CI_NODE_TOTAL ({k}/{n}) is not a valid shard")
                })?;
                Ok(Some((shard, "CI_NODE_INDEX/CI_NODE_TOTAL")))
            }
            _ => Ok(None),
        }
    }

    /// True if the repository with this identity belongs to this shard.
    pub fn contains(&self, identity: &str) -> bool {
        bucket(identity) % u64::from(self.count) == u64::from(self.index - 1)
    }
}

impl std::fmt::Display for Shard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

fn bucket(identity: &str) -> u64 {
    let d = Sha256::digest(identity.as_bytes());
    u64::from_be_bytes(d[..8].try_into().expect("a digest has 32 bytes"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_and_refuses() {
        assert_eq!(Shard::parse("3/8"), Ok(Shard { index: 3, count: 8 }));
        for bad in ["0/8", "9/8", "3", "a/b", "1/0", "-1/2", "1/200000"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn every_identity_is_in_exactly_one_shard_and_stays_there() {
        let ids: Vec<String> = (0..500).map(|i| format!("github.com/acme/r{i}")).collect();
        for n in [1, 2, 3, 8] {
            let mut sizes = vec![0; n as usize];
            for id in &ids {
                let owners: Vec<u32> = (1..=n)
                    .filter(|&k| Shard::new(k, n).unwrap().contains(id))
                    .collect();
                assert_eq!(owners.len(), 1, "{id} in {owners:?} of {n}");
                sizes[owners[0] as usize - 1] += 1;
            }
            // A hash spreads them: no shard is empty or holds most of them.
            assert!(sizes
                .iter()
                .all(|&s| s > 0 && s < 500 * 3 / (n as usize + 1) + 20));
        }
        // Stable: the same answer as the first run of this code.
        assert_eq!(bucket("github.com/acme/app"), bucket("github.com/acme/app"));
    }

    #[test]
    fn from_the_environment() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == k)
                    .map(|(_, v)| v.to_string())
            }
        };
        assert_eq!(Shard::from_env(env(&[]), None), Ok(None));
        assert_eq!(
            Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), Some(4)),
            Ok(Some((Shard { index: 1, count: 4 }, "JOB_COMPLETION_INDEX")))
        );
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "0")]), None).is_err());
        assert!(Shard::from_env(env(&[("JOB_COMPLETION_INDEX", "4")]), Some(4)).is_err());
        assert_eq!(
            Shard::from_env(env(&[("CI_NODE_INDEX", "2"), ("CI_NODE_TOTAL", "3")]), None),
            Ok(Some((
                Shard { index: 2, count: 3 },
                "CI_NODE_INDEX/CI_NODE_TOTAL"
            )))
        );
    }
}
