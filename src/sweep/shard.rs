//! Running one sweep on many machines: `--shard K/N` runs every N-th point starting at the
//! K-th (a Kubernetes Indexed Job or a Slurm array element each take one K), and `surge merge`
//! combines the shards' directories into the result set an unsharded run would have written.

use super::row::{self, Row};
use super::spec::Spec;
use crate::error::{Error, Result};
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// The K-th (1-based) of N disjoint slices of the points.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Shard {
    pub k: usize,
    pub n: usize,
}

impl Shard {
    pub fn parse(s: &str) -> Result<Shard> {
        let bad = |why: &str| {
            Error::Usage(format!(
                "--shard {s:?}: {why}; expected K/N with 1 <= K <= N, e.g. --shard 2/4 \
                 (in a Kubernetes Indexed Job: $((JOB_COMPLETION_INDEX + 1))/N)"
            ))
        };
        let (k, n) = s.split_once('/').ok_or_else(|| bad("no '/'"))?;
        let k: usize = k
            .trim()
            .parse()
            .map_err(|_| bad("K is not a whole number"))?;
        let n: usize = n
            .trim()
            .parse()
            .map_err(|_| bad("N is not a whole number"))?;
        if n == 0 || k == 0 || k > n {
            return Err(bad("out of range"));
        }
        Ok(Shard { k, n })
    }

    /// Points are dealt round-robin, so every shard gets a similar mix of cheap and costly ones.
    pub fn owns(&self, point: usize) -> bool {
        point % self.n == self.k - 1
    }
}

/// Combine shard directories into `out`: same sweep (checked), every run present once.
/// Returns the merged specification and rows; the caller writes the tables.
pub fn merge(dirs: &[PathBuf], out: &Path) -> Result<(Spec, Vec<Row>)> {
    let mut spec: Option<(Spec, &Path)> = None;
    let mut rows: Vec<Row> = Vec::new();
    for d in dirs {
        let mut s = Spec::read(d)?;
        s.shard = None;
        match &spec {
            None => spec = Some((s, d)),
            Some((first, fd)) if *first != s => {
                return Err(Error::Usage(format!(
                "merge: {} holds a different sweep from {} (its sweep.json differs beyond --shard)",
                d.display(),
                fd.display()
            )))
            }
            _ => {}
        }
        rows.extend(row::load_all(d)?);
    }
    let (spec, _) = spec.ok_or_else(|| Error::Usage("merge: no directories given".into()))?;
    rows.sort_by_key(|r| (r.point, r.replication));
    // The same run in two directories (a shard run twice) must agree, and is kept once.
    let mut dedup: Vec<Row> = Vec::with_capacity(rows.len());
    for r in rows {
        match dedup.last() {
            Some(l) if (l.point, l.replication) == (r.point, r.replication) => {
                if *l != r {
                    return Err(Error::Usage(format!(
                        "merge: point {} replication {} differs between directories",
                        r.point, r.replication
                    )));
                }
            }
            _ => dedup.push(r),
        }
    }
    let missing: Vec<usize> = (0..spec.points.len())
        .filter(|&p| {
            let have = dedup
                .iter()
                .filter(|r| r.point == p && r.replication < spec.replications)
                .count();
            have < spec.replications as usize
        })
        .collect();
    if !missing.is_empty() {
        let shown: Vec<String> = missing.iter().take(10).map(|p| p.to_string()).collect();
        return Err(Error::Usage(format!(
            "merge: {} point(s) lack replications (points {}{}); is a shard missing or unfinished? \
             Rerun it with the same flags to complete it",
            missing.len(),
            shown.join(", "),
            if missing.len() > 10 { ", ..." } else { "" }
        )));
    }
    if dirs.iter().any(|d| d == out) {
        return Err(Error::Usage(format!(
            "merge: --out {} is one of the inputs; choose a new directory",
            out.display()
        )));
    }
    spec.claim(out, "--out")?;
    for r in &dedup {
        row::save(out, r)?;
    }
    Ok((spec, dedup))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shards_partition_the_points() {
        let n = 3;
        let shards: Vec<Shard> = (1..=n).map(|k| Shard { k, n }).collect();
        for p in 0..20 {
            assert_eq!(shards.iter().filter(|s| s.owns(p)).count(), 1);
        }
        assert_eq!(Shard::parse("2/4").unwrap(), Shard { k: 2, n: 4 });
        for bad in ["0/4", "5/4", "1/0", "x/2", "3"] {
            assert!(Shard::parse(bad).is_err(), "{bad}");
        }
    }
}
