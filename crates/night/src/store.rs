//! The batch's memory: a SQLite database in the output directory. `results` holds one row per
//! analysis, keyed by what determines it (the content's sha256, the models' ids, the script's id and
//! version, the options); `calls` says which result each call of each night has. A call's result and
//! its link are written in one transaction, so a run killed at any instant leaves every call either
//! fully recorded or not at all, and the next run finishes exactly the rest.

use guion_core::call::Sourcing;
pub use guion_core::call::{CallMeta, Outcome, StoredCall};
use guion_core::record::CallRecord;
use rusqlite::{Connection, OptionalExtension, params};
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
}

pub struct Store {
    conn: Connection,
    path: PathBuf,
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
             );",
        )
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
            .query_row(
                "SELECT 1 FROM results WHERE key = ?1 AND status = 'ok'",
                [key],
                |_| Ok(()),
            )
            .optional()
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
        let path = self.path.clone();
        let sql = |source| StoreError::Sql {
            path: path.clone(),
            source,
        };
        let tx = self.conn.transaction().map_err(sql)?;
        let (status, reason, record, times) = match outcome {
            Outcome::Scored { record, times } => (
                "ok",
                None,
                serde_json::to_string(record).ok(),
                serde_json::to_string(times).ok(),
            ),
            Outcome::Failed { reason } => ("failed", Some(reason.as_str()), None, None),
        };
        tx.execute(
            "INSERT OR REPLACE INTO results (key, content_sha256, ids, status, reason, record, times)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            params![key, content_sha256, ids, status, reason, record, times],
        )
        .map_err(sql)?;
        insert_call(&tx, night, meta, key).map_err(sql)?;
        tx.commit().map_err(sql)
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
        Ok(out)
    }

    /// The latest night's record of `call_id`, if it was scored.
    pub fn latest_record(&self, call_id: &str) -> Result<Option<CallRecord>, StoreError> {
        let found: Option<(String, Option<String>, Option<String>)> = self
            .conn
            .query_row(
                "SELECT r.status, r.reason, r.record FROM calls c JOIN results r ON r.key = c.key
                 WHERE c.call_id = ?1 ORDER BY c.night DESC LIMIT 1",
                [call_id],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?)),
            )
            .optional()
            .map_err(self.sql())?;
        match found {
            None => Ok(None),
            Some((status, reason, _)) if status != "ok" => Err(StoreError::Failed {
                call_id: call_id.to_string(),
                reason: reason.unwrap_or_default(),
            }),
            Some((_, _, record)) => serde_json::from_str(record.as_deref().unwrap_or(""))
                .map(Some)
                .map_err(|e| StoreError::Corrupt {
                    path: self.path.clone(),
                    reason: format!("call {call_id}: {e}"),
                }),
        }
    }
}

fn insert_call(
    conn: &Connection,
    night: &str,
    meta: &CallMeta,
    key: &str,
) -> rusqlite::Result<usize> {
    conn.execute(
        "INSERT OR REPLACE INTO calls
             (night, call_id, key, path, agent_id, vendor, site, sourcing, language, started_at)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
        params![
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
        ],
    )
}
