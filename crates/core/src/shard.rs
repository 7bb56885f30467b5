//! A night cut into shards that run on different machines (a Kubernetes Indexed Job, a Slurm array)
//! and are merged back into one store. A call belongs to the shard its id hashes to, so adding rows
//! to a manifest moves no other call to another shard, and every shard of every machine agrees on
//! the cut without talking to the others.

use crate::hash::sha256_u64;
use std::fmt;

/// One shard of `count`: `index` is 0-based.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Shard {
    pub index: u32,
    pub count: u32,
}

/// Where `--shard auto/COUNT` took its index from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FromEnv {
    pub shard: Shard,
    /// Which variable(s), and how they were read, as the user is told on stderr.
    pub source: String,
}

/// Kubernetes Indexed Job: 0 .. completions-1.
pub const K8S_INDEX: &str = "JOB_COMPLETION_INDEX";
/// Slurm job array: the task's id, taken as the index itself, so the array is `--array=0-(N-1)`.
/// (Made relative to the array's first id, a shard run again alone, `--array=5`, would be shard 0.)
pub const SLURM_INDEX: &str = "SLURM_ARRAY_TASK_ID";

/// How `--shard` was written, before the environment is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ShardSpec {
    Fixed(Shard),
    /// `auto/COUNT`: the index comes from the scheduler's environment.
    Auto {
        count: u32,
    },
}

impl ShardSpec {
    /// `INDEX/COUNT` (0-based) or `auto/COUNT`.
    pub fn parse(text: &str) -> Result<ShardSpec, String> {
        let usage = "--shard takes INDEX/COUNT (0-based, e.g. 0/3) or auto/COUNT";
        let (index, count) = text
            .trim()
            .split_once('/')
            .ok_or_else(|| format!("{usage}, not `{text}`"))?;
        let count: u32 = count
            .trim()
            .parse()
            .map_err(|_| format!("{usage}: the count `{count}` is not a number"))?;
        if count == 0 {
            return Err(format!("{usage}: the count must be at least 1"));
        }
        if index.trim().eq_ignore_ascii_case("auto") {
            return Ok(ShardSpec::Auto { count });
        }
        let index: u32 = index
            .trim()
            .parse()
            .map_err(|_| format!("{usage}: the index `{index}` is not a number"))?;
        Shard::new(index, count).map(ShardSpec::Fixed)
    }

    /// The shard, reading the scheduler's variables through `env` (the caller's window on the
    /// process's environment) when `auto`.
    pub fn resolve(self, env: impl Fn(&str) -> Option<String>) -> Result<FromEnv, String> {
        match self {
            ShardSpec::Fixed(shard) => Ok(FromEnv {
                shard,
                source: "--shard".into(),
            }),
            ShardSpec::Auto { count } => from_env(count, env),
        }
    }
}

impl Shard {
    pub fn new(index: u32, count: u32) -> Result<Shard, String> {
        if count == 0 {
            return Err("a shard count must be at least 1".into());
        }
        if index >= count {
            return Err(format!(
                "shard index {index} is out of range for {count} shards (0 to {})",
                count - 1
            ));
        }
        Ok(Shard { index, count })
    }

    /// The shard `key` (a call id) belongs to, of `count`.
    pub fn of(key: &str, count: u32) -> u32 {
        (sha256_u64(key) % u64::from(count.max(1))) as u32
    }

    pub fn holds(&self, key: &str) -> bool {
        Shard::of(key, self.count) == self.index
    }
}

impl fmt::Display for Shard {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.index, self.count)
    }
}

/// The index from a Kubernetes Indexed Job, else from a Slurm array's task id (0-based, as
/// Kubernetes' is).
fn from_env(count: u32, env: impl Fn(&str) -> Option<String>) -> Result<FromEnv, String> {
    let number = |name: &str, value: &str| -> Result<u32, String> {
        value
            .trim()
            .parse()
            .map_err(|_| format!("--shard auto/{count}: {name}={value:?} is not a number"))
    };
    let set = |name: &str| env(name).filter(|v| !v.trim().is_empty());
    let (index, source) = if let Some(v) = set(K8S_INDEX) {
        (number(K8S_INDEX, &v)?, format!("{K8S_INDEX}={}", v.trim()))
    } else if let Some(v) = set(SLURM_INDEX) {
        let id = number(SLURM_INDEX, &v)?;
        if id >= count {
            return Err(format!(
                "--shard auto/{count}: {SLURM_INDEX}={id} is out of range: number the array from \
                 0, sbatch --array=0-{}",
                count.saturating_sub(1)
            ));
        }
        (id, format!("{SLURM_INDEX}={id}"))
    } else {
        return Err(format!(
            "--shard auto/{count}: neither {K8S_INDEX} (a Kubernetes Indexed Job) nor \
             {SLURM_INDEX} (a Slurm job array) is set; give --shard INDEX/{count}"
        ));
    };
    let shard =
        Shard::new(index, count).map_err(|e| format!("--shard auto/{count} ({source}): {e}"))?;
    Ok(FromEnv { shard, source })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn shards_of_ten_thousand_ids_are_within_a_few_percent_of_each_other() {
        for count in [2u32, 3, 4, 8, 16] {
            let mut sizes = vec![0usize; count as usize];
            for i in 0..10_000 {
                sizes[Shard::of(&format!("call-{i:06}"), count) as usize] += 1;
            }
            let mean = 10_000.0 / f64::from(count);
            for (index, &size) in sizes.iter().enumerate() {
                let off = (size as f64 - mean).abs() / mean;
                // Binomial spread at this size is ~1–4 %; 8 % leaves room without hiding a skew.
                assert!(
                    off < 0.08,
                    "{count} shards: shard {index} has {size}: {sizes:?}"
                );
            }
            assert_eq!(sizes.iter().sum::<usize>(), 10_000);
        }
    }

    #[test]
    fn adding_rows_moves_no_call_to_another_shard() {
        let before: Vec<u32> = (0..500).map(|i| Shard::of(&format!("c{i}"), 5)).collect();
        let after: Vec<u32> = (0..1000).map(|i| Shard::of(&format!("c{i}"), 5)).collect();
        assert_eq!(before[..], after[..500]);
    }

    #[test]
    fn each_id_belongs_to_exactly_one_shard() {
        for i in 0..200 {
            let id = format!("id-{i}");
            let holders = (0..3)
                .filter(|&k| Shard::new(k, 3).unwrap().holds(&id))
                .count();
            assert_eq!(holders, 1, "{id}");
        }
        assert!(Shard::new(0, 1).unwrap().holds("anything"));
    }

    #[test]
    fn the_cut_is_fixed_across_releases() {
        // sha256's first 8 bytes, big-endian, mod the count (checked against Python's hashlib): a
        // change here would move stored calls to other shards between releases.
        let got: Vec<u32> = ["a", "b", "c", "call-1", "2026-11-22/0001"]
            .iter()
            .map(|id| Shard::of(id, 7))
            .collect();
        assert_eq!(got, [4, 0, 3, 6, 6]);
    }

    #[test]
    fn a_shard_is_written_index_slash_count() {
        assert_eq!(
            ShardSpec::parse("1/3"),
            Ok(ShardSpec::Fixed(Shard { index: 1, count: 3 }))
        );
        assert_eq!(ShardSpec::parse("auto/4"), Ok(ShardSpec::Auto { count: 4 }));
        assert!(
            ShardSpec::parse("3/3")
                .unwrap_err()
                .contains("out of range")
        );
        assert!(ShardSpec::parse("1/0").unwrap_err().contains("at least 1"));
        assert!(ShardSpec::parse("1").unwrap_err().contains("INDEX/COUNT"));
        assert!(
            ShardSpec::parse("x/3")
                .unwrap_err()
                .contains("not a number")
        );
        assert_eq!(Shard { index: 2, count: 5 }.to_string(), "2/5");
    }

    #[test]
    fn auto_reads_kubernetes_first_then_slurm() {
        let auto = ShardSpec::Auto { count: 3 };
        let k8s = auto
            .resolve(env(&[(K8S_INDEX, "2"), (SLURM_INDEX, "0")]))
            .unwrap();
        assert_eq!(k8s.shard, Shard { index: 2, count: 3 });
        assert!(k8s.source.contains(K8S_INDEX));
        let slurm = auto.resolve(env(&[(SLURM_INDEX, "1")])).unwrap();
        assert_eq!(slurm.shard, Shard { index: 1, count: 3 });
        assert_eq!(slurm.source, "SLURM_ARRAY_TASK_ID=1");
    }

    #[test]
    fn a_slurm_task_id_is_the_index_itself_so_a_task_run_again_alone_keeps_its_shard() {
        let auto = ShardSpec::Auto { count: 8 };
        // `sbatch --array=5` to run shard 5 again: Slurm sets the array's min to 5 too.
        let again = auto
            .resolve(env(&[(SLURM_INDEX, "5"), ("SLURM_ARRAY_TASK_MIN", "5")]))
            .unwrap();
        assert_eq!(again.shard, Shard { index: 5, count: 8 });
        // An array numbered from 1 runs out of range at its last task, and says how to number it.
        let e = ShardSpec::Auto { count: 3 }
            .resolve(env(&[(SLURM_INDEX, "3")]))
            .unwrap_err();
        assert!(
            e.contains("out of range")
                && e.contains("SLURM_ARRAY_TASK_ID=3")
                && e.contains("--array=0-2"),
            "{e}"
        );
    }

    #[test]
    fn auto_without_a_scheduler_or_with_garbage_is_a_clear_error() {
        let auto = ShardSpec::Auto { count: 3 };
        let none = auto.resolve(env(&[])).unwrap_err();
        assert!(
            none.contains(K8S_INDEX) && none.contains(SLURM_INDEX),
            "{none}"
        );
        let blank = auto.resolve(env(&[(K8S_INDEX, " ")])).unwrap_err();
        assert!(blank.contains("neither"), "{blank}");
        let bad = auto.resolve(env(&[(K8S_INDEX, "two")])).unwrap_err();
        assert!(bad.contains("not a number"), "{bad}");
        let high = auto.resolve(env(&[(K8S_INDEX, "3")])).unwrap_err();
        assert!(high.contains("out of range"), "{high}");
    }
}
