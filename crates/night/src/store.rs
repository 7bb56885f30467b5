//! The batch's memory: a SQLite database in the output directory. `results` holds one row per
//! analysis, keyed by what determines it (the content's sha256, the models' ids, the script's id and
//! version, the options); `calls` says which result each call of each night has. A call's result and
//! its link are written in one transaction, so a run killed at any instant leaves every call either
//! fully recorded or not at all, and the next run finishes exactly the rest.
//!
//! `runs` keeps what each run of a night cost: one row per run (a resumed night's second run is a
//! row of its own), begun when the run starts and finished when it ends, counting only the calls
//! that run analysed; a row never finished is a run that was killed. `guion_core::cost` turns a
//! row into rates.

use guion_core::call::Sourcing;
pub use guion_core::call::{CallMeta, Outcome, StoredCall};
use guion_core::cost::{Machine, Measurement, Run, RunKind};
use guion_core::hash::sha256_bytes;
use guion_core::names::Named;
use guion_core::record::CallRecord;
use guion_core::record::StageTimes;
use guion_core::review::{Review, StepReview, Verdict};
use guion_core::script::Script;
use guion_core::shard::Shard;
use rusqlite::{Connection, OptionalExtension, params};
use std::collections::HashMap;
use std::path::{Path, PathBuf};

pub const FILE: &str = "guion.sqlite";

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("{path}: {source}")]
    Sql {
        path: PathBuf,
        source: rusqlite::Error,
    },
    #[error("{0}: no guion store here (run `guion batch … --out DIR` first)")]
    Missing(PathBuf),
    #[error("call {call_id} was not scored: {reason}")]
    Failed { call_id: String, reason: String },
    #[error("{path}: a stored record does not parse: {reason}")]
    Corrupt { path: PathBuf, reason: String },
    #[error("{path}: {reason}")]
    Shard { path: PathBuf, reason: String },
}

/// A shard of a night as its store records it, which `guion merge` checks shards against each
/// other by: a merge of shards run with other scripts, models or manifests would not be one night.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ShardRecord {
    pub night: String,
    pub shard: Shard,
    /// The analysis version, every script's id and version, the models and options
    /// (`key::Determinants::ids`, the hearing part included).
    pub setup: String,
    /// The manifest's sha256 (a call directory's metadata.csv).
    pub manifest: String,
}

/// What a merge copied from one shard's store.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Merged {
    pub calls: usize,
    pub reviews: usize,
    pub runs: usize,
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
}

/// A result as the store keeps it (its record serialised), made before the store is locked.
#[derive(Debug, Clone)]
pub struct StoredResult {
    pub key: String,
    content_sha256: String,
    ids: String,
    status: &'static str,
    reason: Option<String>,
    record: Option<String>,
    times: Option<String>,
}

impl StoredResult {
    pub fn new(key: &str, content_sha256: &str, ids: &str, outcome: &Outcome) -> StoredResult {
        let (status, reason, record, times) = match outcome {
            Outcome::Scored { record, times } => (
                "ok",
                None,
                serde_json::to_string(record).ok(),
                serde_json::to_string(times).ok(),
            ),
            Outcome::Failed { reason } => ("failed", Some(reason.clone()), None, None),
        };
        StoredResult {
            key: key.to_string(),
            content_sha256: content_sha256.to_string(),
            ids: ids.to_string(),
            status,
            reason,
            record,
            times,
        }
    }

    /// A scored result, which a later call of the same content may be linked to.
    pub fn is_ok(&self) -> bool {
        self.status == "ok"
    }
}

impl Store {
    /// Opens (creating if need be) the store in `dir`.
    pub fn open(dir: &Path) -> Result<Store, StoreError> {
        let path = dir.join(FILE);
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let conn = Connection::open(&path).map_err(sql)?;
        // WAL: readers (guion report, guion call --from) never block the night's writers, and a
        // commit survives a kill of the process.
        conn.pragma_update(None, "journal_mode", "WAL")
            .map_err(sql)?;
        conn.pragma_update(None, "synchronous", "NORMAL")
            .map_err(sql)?;
        conn.busy_timeout(std::time::Duration::from_secs(30))
            .map_err(sql)?;
        conn.execute_batch(
            "CREATE TABLE IF NOT EXISTS results (
                 key TEXT PRIMARY KEY,
                 content_sha256 TEXT NOT NULL,
                 ids TEXT NOT NULL,
                 status TEXT NOT NULL CHECK (status IN ('ok', 'failed')),
                 reason TEXT,
                 record TEXT,
                 times TEXT,
                 created_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now'))
             );
             CREATE TABLE IF NOT EXISTS calls (
                 night TEXT NOT NULL,
                 call_id TEXT NOT NULL,
                 key TEXT NOT NULL REFERENCES results(key),
                 path TEXT NOT NULL,
                 agent_id TEXT NOT NULL,
                 vendor TEXT NOT NULL,
                 site TEXT NOT NULL,
                 sourcing TEXT NOT NULL,
                 language TEXT,
                 started_at TEXT,
                 PRIMARY KEY (night, call_id)
             );
             CREATE TABLE IF NOT EXISTS scripts (
                 id TEXT NOT NULL,
                 version TEXT NOT NULL,
                 text TEXT NOT NULL,
                 PRIMARY KEY (id, version)
             );
             CREATE TABLE IF NOT EXISTS reviews (
                 id INTEGER PRIMARY KEY,
                 night TEXT NOT NULL,
                 call_id TEXT NOT NULL,
                 step TEXT NOT NULL,
                 status TEXT NOT NULL,
                 analyst TEXT NOT NULL,
                 why TEXT NOT NULL DEFAULT '',
                 at TEXT NOT NULL,
                 UNIQUE (night, call_id, step, status, analyst, why)
             );
             CREATE TABLE IF NOT EXISTS runs (
                 id INTEGER PRIMARY KEY,
                 night TEXT NOT NULL,
                 kind TEXT NOT NULL CHECK (kind IN ('night', 'calibration')),
                 started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
                 finished_at TEXT,
                 version TEXT NOT NULL,
                 engine TEXT NOT NULL,
                 models TEXT NOT NULL DEFAULT '',
                 cores INTEGER NOT NULL,
                 cpu TEXT,
                 hostname TEXT,
                 workers INTEGER NOT NULL,
                 threads INTEGER NOT NULL,
                 cores_held INTEGER NOT NULL,
                 scored INTEGER NOT NULL DEFAULT 0,
                 wrong_language INTEGER NOT NULL DEFAULT 0,
                 failed INTEGER NOT NULL DEFAULT 0,
                 reused INTEGER NOT NULL DEFAULT 0,
                 recordings INTEGER NOT NULL DEFAULT 0,
                 audio_s REAL NOT NULL DEFAULT 0,
                 wall_s REAL NOT NULL DEFAULT 0,
                 cpu_s REAL,
                 decode_s REAL NOT NULL DEFAULT 0,
                 asr_s REAL NOT NULL DEFAULT 0,
                 classify_s REAL NOT NULL DEFAULT 0,
                 align_s REAL NOT NULL DEFAULT 0,
                 judge_s REAL NOT NULL DEFAULT 0,
                 write_s REAL NOT NULL DEFAULT 0,
                 uid TEXT,
                 shard TEXT
             );
             CREATE TABLE IF NOT EXISTS shards (
                 night TEXT NOT NULL,
                 shard INTEGER NOT NULL,
                 count INTEGER NOT NULL,
                 setup TEXT NOT NULL,
                 manifest TEXT NOT NULL,
                 PRIMARY KEY (night, shard)
             );",
        )
        .map_err(sql)?;
        // Stores made before shards have runs without `uid` and `shard`.
        let has_uid: bool = conn
            .query_row(
                "SELECT COUNT(*) FROM pragma_table_info('runs') WHERE name = 'uid'",
                [],
                |r| r.get::<_, i64>(0),
            )
            .map_err(sql)?
            > 0;
        if !has_uid {
            conn.execute_batch(
                "ALTER TABLE runs ADD COLUMN uid TEXT; ALTER TABLE runs ADD COLUMN shard TEXT;",
            )
            .map_err(sql)?;
        }
        conn.execute_batch("CREATE UNIQUE INDEX IF NOT EXISTS runs_uid ON runs (uid);")
            .map_err(sql)?;
        Ok(Store { conn, path })
    }

    /// Opens a store that must already exist.
    pub fn open_existing(dir: &Path) -> Result<Store, StoreError> {
        if !dir.join(FILE).is_file() {
            return Err(StoreError::Missing(dir.to_path_buf()));
        }
        Store::open(dir)
    }

    fn sql(&self) -> impl Fn(rusqlite::Error) -> StoreError + '_ {
        |source| StoreError::Sql {
            path: self.path.clone(),
            source,
        }
    }

    /// Whether a scored result exists under `key`. Failed results are tried again: the reason may
    /// have been a file not yet copied, and a deterministic failure fails the same way.
    pub fn has_result(&self, key: &str) -> Result<bool, StoreError> {
        self.conn
            .prepare_cached("SELECT 1 FROM results WHERE key = ?1 AND status = 'ok'")
            .and_then(|mut select| select.query_row([key], |_| Ok(())).optional())
            .map(|r| r.is_some())
            .map_err(self.sql())
    }

    /// Links a call of a night to a result already stored.
    pub fn link(&self, night: &str, meta: &CallMeta, key: &str) -> Result<(), StoreError> {
        insert_call(&self.conn, night, meta, key)
            .map(|_| ())
            .map_err(self.sql())
    }

    /// Stores a call's result and links it, in one transaction.
    pub fn put(
        &mut self,
        night: &str,
        meta: &CallMeta,
        key: &str,
        content_sha256: &str,
        ids: &str,
        outcome: &Outcome,
    ) -> Result<(), StoreError> {
        let result = StoredResult::new(key, content_sha256, ids, outcome);
        self.put_calls(night, [(meta, key, Some(&result))])
    }

    /// Stores several calls of `night` in one transaction: each call's result (`None`: a result
    /// already stored, which it is only linked to) and its link, so each call is still either fully
    /// recorded or not at all. One commit for many calls is what makes a night of text fast.
    pub fn put_calls<'a>(
        &mut self,
        night: &str,
        calls: impl IntoIterator<Item = (&'a CallMeta, &'a str, Option<&'a StoredResult>)>,
    ) -> Result<(), StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        for (meta, key, result) in calls {
            if let Some(r) = result {
                tx.prepare_cached(
                    "INSERT OR REPLACE INTO results (key, content_sha256, ids, status, reason, record, times)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                )
                .and_then(|mut insert| {
                    insert.execute(params![
                        r.key,
                        r.content_sha256,
                        r.ids,
                        r.status,
                        r.reason,
                        r.record,
                        r.times
                    ])
                })
                .map_err(sql)?;
            }
            insert_call(&tx, night, meta, key).map_err(sql)?;
        }
        tx.commit().map_err(sql)
    }

    /// Stores analysts' verdicts on steps of calls of `night`, beside guion's (which stay as they
    /// are), in one transaction. A review identical to one already stored (same step, status,
    /// analyst and reason) is not stored twice. Returns how many were new.
    pub fn add_reviews(
        &mut self,
        night: &str,
        reviews: &[StepReview],
    ) -> Result<usize, StoreError> {
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let mut added = 0;
        for r in reviews {
            added += tx
                .execute(
                    "INSERT OR IGNORE INTO reviews (night, call_id, step, status, analyst, why, at)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
                    params![
                        night,
                        r.call_id,
                        r.step,
                        r.review.status.as_str(),
                        r.review.by,
                        r.review.why.as_deref().unwrap_or(""),
                        r.review.at
                    ],
                )
                .map_err(sql)?;
        }
        tx.commit().map_err(sql)?;
        Ok(added)
    }

    /// The reviews of `night` (or of every night), as `(night, review)`, oldest first: applied in
    /// this order, the latest review of a step is the one that stands.
    pub fn reviews(&self, night: Option<&str>) -> Result<Vec<(String, StepReview)>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT night, call_id, step, status, analyst, why, at FROM reviews
                 WHERE ?1 IS NULL OR night = ?1 ORDER BY at, id",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([night], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, String>(1)?,
                    r.get::<_, String>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                    r.get::<_, String>(5)?,
                    r.get::<_, String>(6)?,
                ))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (night, call_id, step, status, by, why, at) = row.map_err(self.sql())?;
            let status = Verdict::parse(&status)
                .map(Verdict::status)
                .ok_or_else(|| StoreError::Corrupt {
                    path: self.path.clone(),
                    reason: format!("review of {call_id} {step}: status {status:?}"),
                })?;
            out.push((
                night,
                StepReview {
                    call_id,
                    step,
                    review: Review {
                        status,
                        by,
                        at,
                        why: (!why.is_empty()).then_some(why),
                        guion: None,
                    },
                },
            ));
        }
        Ok(out)
    }

    /// Records that a run of `night` starts, with `workers` × `threads` on `machine`; returns its
    /// id for [`Store::finish_run`]. Until then the row says the run never finished.
    #[allow(clippy::too_many_arguments)]
    pub fn begin_run(
        &self,
        night: &str,
        kind: RunKind,
        version: &str,
        engine: &str,
        machine: &Machine,
        workers: usize,
        threads: usize,
        shard: Option<&Shard>,
    ) -> Result<i64, StoreError> {
        // A run's name across stores: `guion merge` copies each shard's runs once, however often
        // it is run, and two shards' run 1 stay two runs.
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_nanos());
        let uid = sha256_bytes(
            format!(
                "{night} {} {} {nanos} {}",
                machine.hostname.as_deref().unwrap_or(""),
                std::process::id(),
                self.path.display()
            )
            .as_bytes(),
        );
        self.conn
            .execute(
                "INSERT INTO runs (night, kind, version, engine, cores, cpu, hostname, workers,
                                   threads, cores_held, uid, shard)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![
                    night,
                    kind.name(),
                    version,
                    engine,
                    machine.cores as i64,
                    machine.cpu,
                    machine.hostname,
                    workers as i64,
                    threads as i64,
                    Measurement::cores_held(workers, threads, machine.cores) as i64,
                    &uid[..32],
                    shard.map(Shard::to_string)
                ],
            )
            .map_err(self.sql())?;
        Ok(self.conn.last_insert_rowid())
    }

    /// Records what run `id` measured, and that it finished.
    pub fn finish_run(
        &self,
        id: i64,
        models: &str,
        reused: usize,
        m: &Measurement,
    ) -> Result<(), StoreError> {
        self.conn
            .execute(
                "UPDATE runs SET finished_at = strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), models = ?2,
                        workers = ?3, threads = ?4, cores_held = ?5, scored = ?6,
                        wrong_language = ?7, failed = ?8, reused = ?9, recordings = ?10,
                        audio_s = ?11, wall_s = ?12, cpu_s = ?13, decode_s = ?14, asr_s = ?15,
                        classify_s = ?16, align_s = ?17, judge_s = ?18, write_s = ?19
                 WHERE id = ?1",
                params![
                    id,
                    models,
                    m.workers as i64,
                    m.threads as i64,
                    m.cores as i64,
                    m.scored as i64,
                    m.wrong_language as i64,
                    m.failed as i64,
                    reused as i64,
                    m.recordings as i64,
                    m.audio_s,
                    m.wall_s,
                    m.cpu_s,
                    m.stages.decode_s,
                    m.stages.asr_s,
                    m.stages.classify_s,
                    m.stages.align_s,
                    m.stages.judge_s,
                    m.write_s
                ],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// The runs of `night` (or of every night), in the order they started.
    pub fn runs(&self, night: Option<&str>) -> Result<Vec<Run>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT id, night, kind, started_at, finished_at, version, engine, models, cores,
                        cpu, hostname, workers, threads, cores_held, scored, wrong_language,
                        failed, reused, recordings, audio_s, wall_s, cpu_s, decode_s, asr_s,
                        classify_s, align_s, judge_s, write_s, shard
                 FROM runs WHERE ?1 IS NULL OR night = ?1 ORDER BY started_at, id",
            )
            .map_err(self.sql())?;
        let count = |r: &rusqlite::Row, i: usize| r.get::<_, i64>(i).map(|n| n.max(0) as usize);
        let rows = stmt
            .query_map([night], |r| {
                Ok(Run {
                    id: r.get(0)?,
                    night: r.get(1)?,
                    kind: RunKind::from_name(&r.get::<_, String>(2)?).unwrap_or_default(),
                    shard: r.get(28)?,
                    started_at: r.get(3)?,
                    finished_at: r.get(4)?,
                    version: r.get(5)?,
                    engine: r.get(6)?,
                    models: r.get(7)?,
                    machine: Machine {
                        cores: count(r, 8)?,
                        cpu: r.get(9)?,
                        hostname: r.get(10)?,
                    },
                    reused: count(r, 17)?,
                    measurement: Measurement {
                        workers: count(r, 11)?,
                        threads: count(r, 12)?,
                        cores: count(r, 13)?,
                        scored: count(r, 14)?,
                        wrong_language: count(r, 15)?,
                        failed: count(r, 16)?,
                        recordings: count(r, 18)?,
                        audio_s: r.get(19)?,
                        wall_s: r.get(20)?,
                        cpu_s: r.get(21)?,
                        stages: StageTimes {
                            decode_s: r.get(22)?,
                            asr_s: r.get(23)?,
                            classify_s: r.get(24)?,
                            align_s: r.get(25)?,
                            judge_s: r.get(26)?,
                        },
                        write_s: r.get(27)?,
                    },
                })
            })
            .map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Whether this store may take `night` run as `shard` (`None`: the whole night). A store holds
    /// one shard of a night, or the whole night, or a merge of its shards: a shard run into a store
    /// that holds another shard or the whole night would mix in calls that belong elsewhere.
    pub fn claim(&self, night: &str, shard: Option<&Shard>) -> Result<(), StoreError> {
        let held: Vec<Shard> = self
            .shards()?
            .into_iter()
            .filter(|s| s.night == night)
            .map(|s| s.shard)
            .collect();
        let refuse = |reason: String| {
            Err(StoreError::Shard {
                path: self.path.clone(),
                reason,
            })
        };
        let list = held
            .iter()
            .map(Shard::to_string)
            .collect::<Vec<_>>()
            .join(", ");
        match shard {
            None if held.is_empty() => Ok(()),
            None => refuse(format!(
                "holds shard(s) {list} of night {night}, not the whole night: give the whole \
                 night its own --out"
            )),
            Some(s) if held.iter().any(|h| h != s) => refuse(format!(
                "holds shard(s) {list} of night {night}, not shard {s}: give each shard its own \
                 --out"
            )),
            Some(s) => {
                let calls: i64 = self
                    .conn
                    .query_row(
                        "SELECT COUNT(*) FROM calls WHERE night = ?1",
                        [night],
                        |r| r.get(0),
                    )
                    .map_err(self.sql())?;
                if held.is_empty() && calls > 0 {
                    return refuse(format!(
                        "holds night {night} scored whole, not as shard {s}: give each shard its \
                         own --out"
                    ));
                }
                Ok(())
            }
        }
    }

    /// Records what shard of its night this store holds (see [`Store::claim`]).
    pub fn put_shard(&self, s: &ShardRecord) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO shards (night, shard, count, setup, manifest)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![s.night, s.shard.index, s.shard.count, s.setup, s.manifest],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// The shards this store holds (one for a shard's store, several for a merge), by night.
    pub fn shards(&self) -> Result<Vec<ShardRecord>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT night, shard, count, setup, manifest FROM shards ORDER BY night, shard",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    r.get::<_, u32>(1)?,
                    r.get::<_, u32>(2)?,
                    r.get::<_, String>(3)?,
                    r.get::<_, String>(4)?,
                ))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (night, index, count, setup, manifest) = row.map_err(self.sql())?;
            let shard = Shard::new(index, count).map_err(|reason| StoreError::Corrupt {
                path: self.path.clone(),
                reason: format!("shard of night {night}: {reason}"),
            })?;
            out.push(ShardRecord {
                night,
                shard,
                setup,
                manifest,
            });
        }
        Ok(out)
    }

    /// Copies the store in `dir` (a shard's) into this one, `night`'s part (`None`: every night):
    /// its calls and their results, scripts, reviews, runs and what shard it is, in one
    /// transaction. Copying the same store again changes nothing: calls, results and scripts are
    /// keyed as here, reviews are unique, and a run is known by its `uid` (a run that has finished
    /// since the last merge is updated).
    pub fn merge_from(&mut self, dir: &Path, night: Option<&str>) -> Result<Merged, StoreError> {
        let source = dir.join(FILE);
        if !source.is_file() {
            return Err(StoreError::Missing(dir.to_path_buf()));
        }
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        self.conn
            .execute("ATTACH DATABASE ?1 AS src", [source.display().to_string()])
            .map_err(sql)?;
        let copied = (|| -> rusqlite::Result<Merged> {
            let tx = self.conn.transaction()?;
            tx.execute(
                "INSERT OR REPLACE INTO main.results
                     (key, content_sha256, ids, status, reason, record, times, created_at)
                 SELECT key, content_sha256, ids, status, reason, record, times, created_at
                 FROM src.results
                 WHERE key IN (SELECT key FROM src.calls WHERE ?1 IS NULL OR night = ?1)",
                [night],
            )?;
            let calls = tx.execute(
                "INSERT OR REPLACE INTO main.calls
                     (night, call_id, key, path, agent_id, vendor, site, sourcing, language,
                      started_at)
                 SELECT night, call_id, key, path, agent_id, vendor, site, sourcing, language,
                        started_at
                 FROM src.calls WHERE ?1 IS NULL OR night = ?1",
                [night],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO main.scripts (id, version, text)
                 SELECT id, version, text FROM src.scripts",
                [],
            )?;
            let reviews = tx.execute(
                "INSERT OR IGNORE INTO main.reviews (night, call_id, step, status, analyst, why, at)
                 SELECT night, call_id, step, status, analyst, why, at FROM src.reviews
                 WHERE ?1 IS NULL OR night = ?1 ORDER BY at, id",
                [night],
            )?;
            // A run stored before runs had a uid is named by what it was.
            let runs = tx.execute(
                "INSERT INTO main.runs
                     (night, kind, started_at, finished_at, version, engine, models, cores, cpu,
                      hostname, workers, threads, cores_held, scored, wrong_language, failed,
                      reused, recordings, audio_s, wall_s, cpu_s, decode_s, asr_s, classify_s,
                      align_s, judge_s, write_s, uid, shard)
                 SELECT night, kind, started_at, finished_at, version, engine, models, cores, cpu,
                        hostname, workers, threads, cores_held, scored, wrong_language, failed,
                        reused, recordings, audio_s, wall_s, cpu_s, decode_s, asr_s, classify_s,
                        align_s, judge_s, write_s,
                        COALESCE(uid, 'legacy ' || night || ' ' || id || ' ' || started_at || ' '
                                      || IFNULL(hostname, '')),
                        shard
                 FROM src.runs WHERE ?1 IS NULL OR night = ?1 ORDER BY started_at, id
                 ON CONFLICT (uid) DO UPDATE SET
                     finished_at = excluded.finished_at, models = excluded.models,
                     workers = excluded.workers, threads = excluded.threads,
                     cores_held = excluded.cores_held, scored = excluded.scored,
                     wrong_language = excluded.wrong_language, failed = excluded.failed,
                     reused = excluded.reused, recordings = excluded.recordings,
                     audio_s = excluded.audio_s, wall_s = excluded.wall_s, cpu_s = excluded.cpu_s,
                     decode_s = excluded.decode_s, asr_s = excluded.asr_s,
                     classify_s = excluded.classify_s, align_s = excluded.align_s,
                     judge_s = excluded.judge_s, write_s = excluded.write_s",
                [night],
            )?;
            tx.execute(
                "INSERT OR REPLACE INTO main.shards (night, shard, count, setup, manifest)
                 SELECT night, shard, count, setup, manifest FROM src.shards
                 WHERE ?1 IS NULL OR night = ?1",
                [night],
            )?;
            tx.commit()?;
            Ok(Merged {
                calls,
                reviews,
                runs,
            })
        })();
        let detached = self.conn.execute("DETACH DATABASE src", []);
        let copied = copied.map_err(|e| StoreError::Sql {
            path: source,
            source: e,
        })?;
        detached.map_err(self.sql())?;
        Ok(copied)
    }

    /// The latest night in which `call_id` is stored.
    pub fn night_of(&self, call_id: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT night FROM calls WHERE call_id = ?1 ORDER BY night DESC LIMIT 1",
                [call_id],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Keeps the text of the script a night was scored against (the last text given for an id and
    /// version stands), so that calibration can read its thresholds and write a new version.
    pub fn put_script(&self, script: &Script, text: &str) -> Result<(), StoreError> {
        self.conn
            .execute(
                "INSERT OR REPLACE INTO scripts (id, version, text) VALUES (?1, ?2, ?3)",
                params![script.id, script.version, text],
            )
            .map(|_| ())
            .map_err(self.sql())
    }

    /// The text of script `id` `version`, if a batch stored it.
    pub fn script_text(&self, id: &str, version: &str) -> Result<Option<String>, StoreError> {
        self.conn
            .query_row(
                "SELECT text FROM scripts WHERE id = ?1 AND version = ?2",
                [id, version],
                |r| r.get(0),
            )
            .optional()
            .map_err(self.sql())
    }

    /// Nights in the store, oldest first.
    pub fn nights(&self) -> Result<Vec<String>, StoreError> {
        let mut stmt = self
            .conn
            .prepare("SELECT DISTINCT night FROM calls ORDER BY night")
            .map_err(self.sql())?;
        let rows = stmt.query_map([], |r| r.get(0)).map_err(self.sql())?;
        rows.collect::<Result<_, _>>().map_err(self.sql())
    }

    /// Every call of `night` (or of every night), ordered by night and call id.
    pub fn calls(&self, night: Option<&str>) -> Result<Vec<StoredCall>, StoreError> {
        let mut stmt = self
            .conn
            .prepare(
                "SELECT c.night, c.call_id, c.path, c.agent_id, c.vendor, c.site, c.sourcing,
                        c.language, c.started_at, r.status, r.reason, r.record, r.times
                 FROM calls c JOIN results r ON r.key = c.key
                 WHERE ?1 IS NULL OR c.night = ?1
                 ORDER BY c.night, c.call_id",
            )
            .map_err(self.sql())?;
        let rows = stmt
            .query_map([night], |r| {
                Ok((
                    r.get::<_, String>(0)?,
                    CallMeta {
                        call_id: r.get(1)?,
                        path: PathBuf::from(r.get::<_, String>(2)?),
                        agent_id: r.get(3)?,
                        vendor: r.get(4)?,
                        site: r.get(5)?,
                        sourcing: Sourcing::parse(&r.get::<_, String>(6)?)
                            .unwrap_or(Sourcing::Insourced),
                        language: r.get(7)?,
                        started_at: r.get(8)?,
                    },
                    r.get::<_, String>(9)?,
                    r.get::<_, Option<String>>(10)?,
                    r.get::<_, Option<String>>(11)?,
                    r.get::<_, Option<String>>(12)?,
                ))
            })
            .map_err(self.sql())?;
        let mut out = Vec::new();
        for row in rows {
            let (night, meta, status, reason, record, times) = row.map_err(self.sql())?;
            let outcome = if status == "ok" {
                let record: CallRecord = serde_json::from_str(record.as_deref().unwrap_or(""))
                    .map_err(|e| StoreError::Corrupt {
                        path: self.path.clone(),
                        reason: format!("call {} of {night}: {e}", meta.call_id),
                    })?;
                let times = times
                    .and_then(|t| serde_json::from_str(&t).ok())
                    .unwrap_or_default();
                Outcome::Scored {
                    record: Box::new(record),
                    times,
                }
            } else {
                Outcome::Failed {
                    reason: reason.unwrap_or_default(),
                }
            };
            out.push(StoredCall {
                night,
                meta,
                outcome,
            });
        }
        let reviews = self.reviews(night)?;
        if !reviews.is_empty() {
            let mut by_call: HashMap<(&str, &str), Vec<&StepReview>> = HashMap::new();
            for (n, r) in &reviews {
                by_call.entry((n, &r.call_id)).or_default().push(r);
            }
            for c in &mut out {
                if let (Some(rs), Outcome::Scored { record, .. }) = (
                    by_call.get(&(c.night.as_str(), c.meta.call_id.as_str())),
                    &mut c.outcome,
                ) {
                    record.apply_reviews(rs.iter().copied());
                }
            }
        }
        Ok(out)
    }

    /// The latest night's record of `call_id`, if it was scored, with its reviews applied.
    pub fn latest_record(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let found: Option<(String, String, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT c.night, r.status, r.reason, r.record FROM calls c
                 JOIN results r ON r.key = c.key
                 WHERE c.call_id = ?1 ORDER BY c.night DESC LIMIT 1",
                [call_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .optional()
            .map_err(self.sql())?;
        match found {
            None => Ok(None),
            Some((_, status, reason, _)) if status != "ok" => Err(StoreError::Failed {
                call_id: call_id.to_string(),
                reason: reason.unwrap_or_default(),
            }),
            Some((night, _, _, record)) => {
                let mut record: CallRecord = serde_json::from_str(record.as_deref().unwrap_or(""))
                    .map_err(|e| StoreError::Corrupt {
                        path: self.path.clone(),
                        reason: format!("call {call_id}: {e}"),
                    })?;
                let reviews = self.reviews(Some(&night))?;
                record.apply_reviews(
                    reviews
                        .iter()
                        .filter(|(_, r)| r.call_id == call_id)
                        .map(|(_, r)| r),
                );
                Ok(Some(record))
            }
        }
    }
}

fn insert_call(
    conn: &Connection,
    night: &str,
    meta: &CallMeta,
    key: &str,
) -> rusqlite::Result<usize> {
    conn.prepare_cached(
        "INSERT OR REPLACE INTO calls
             (night, call_id, key, path, agent_id, vendor, site, sourcing, language, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
    )?
    .execute(params![
        night,
        meta.call_id,
        key,
        meta.path.display().to_string(),
        meta.agent_id,
        meta.vendor,
        meta.site,
        meta.sourcing.as_str(),
        meta.language,
        meta.started_at
    ])
}

#[cfg(test)]
mod tests {
    use super::*;
    use guion_core::cost::RunKind;

    fn shard(night: &str, index: u32, count: u32) -> ShardRecord {
        ShardRecord {
            night: night.into(),
            shard: Shard::new(index, count).unwrap(),
            setup: "analysis=6 script=acme@1".into(),
            manifest: "00".into(),
        }
    }

    #[test]
    fn a_store_holds_one_shard_of_a_night_or_the_whole_night() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path()).unwrap();
        let one = shard("n1", 1, 3);
        store.claim("n1", Some(&one.shard)).unwrap();
        store.put_shard(&one).unwrap();
        // The same shard again (a rerun) is fine; another shard or the whole night is not.
        store.claim("n1", Some(&one.shard)).unwrap();
        let other = store.claim("n1", Some(&Shard::new(2, 3).unwrap()));
        assert!(other.unwrap_err().to_string().contains("its own --out"));
        let whole = store.claim("n1", None);
        assert!(
            whole
                .unwrap_err()
                .to_string()
                .contains("not the whole night")
        );
        // Another night is another matter.
        store.claim("n2", None).unwrap();
        assert_eq!(store.shards().unwrap(), [one]);
    }

    #[test]
    fn a_store_made_before_shards_gets_run_uids_and_merges_once() {
        let old = tempfile::tempdir().unwrap();
        {
            let conn = Connection::open(old.path().join(FILE)).unwrap();
            conn.execute_batch(
                "CREATE TABLE runs (
                     id INTEGER PRIMARY KEY, night TEXT NOT NULL, kind TEXT NOT NULL,
                     started_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%SZ', 'now')),
                     finished_at TEXT, version TEXT NOT NULL, engine TEXT NOT NULL,
                     models TEXT NOT NULL DEFAULT '', cores INTEGER NOT NULL, cpu TEXT,
                     hostname TEXT, workers INTEGER NOT NULL, threads INTEGER NOT NULL,
                     cores_held INTEGER NOT NULL, scored INTEGER NOT NULL DEFAULT 0,
                     wrong_language INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,
                     reused INTEGER NOT NULL DEFAULT 0, recordings INTEGER NOT NULL DEFAULT 0,
                     audio_s REAL NOT NULL DEFAULT 0, wall_s REAL NOT NULL DEFAULT 0, cpu_s REAL,
                     decode_s REAL NOT NULL DEFAULT 0, asr_s REAL NOT NULL DEFAULT 0,
                     classify_s REAL NOT NULL DEFAULT 0, align_s REAL NOT NULL DEFAULT 0,
                     judge_s REAL NOT NULL DEFAULT 0, write_s REAL NOT NULL DEFAULT 0);
                 INSERT INTO runs (night, kind, version, engine, cores, workers, threads, cores_held)
                 VALUES ('n1', 'night', '0.1.0', 'e', 2, 2, 1, 2);",
            )
            .unwrap();
        }
        let store = Store::open(old.path()).unwrap();
        let machine = crate::machine::this();
        let shard_0 = Shard::new(0, 2).unwrap();
        store
            .begin_run(
                "n1",
                RunKind::Night,
                "0.1.0",
                "e",
                &machine,
                1,
                1,
                Some(&shard_0),
            )
            .unwrap();
        store.put_shard(&shard("n1", 0, 2)).unwrap();
        drop(store);
        let into = tempfile::tempdir().unwrap();
        let mut merged = Store::open(into.path()).unwrap();
        for _ in 0..2 {
            merged.merge_from(old.path(), Some("n1")).unwrap();
        }
        let runs = merged.runs(None).unwrap();
        assert_eq!(runs.len(), 2, "each run once: {runs:?}");
        assert_eq!(runs[1].shard.as_deref(), Some("0/2"));
        assert_eq!(merged.shards().unwrap(), [shard("n1", 0, 2)]);
    }
}
