//! What a run of the night cost: its throughput from what the batch measured — audio hours per
//! core-hour, calls per hour, and the same per stage. Pure arithmetic on a [`Measurement`]; the
//! batch's summary, the report's cost section, `guion bench` and capacity planning all read a run
//! through here.
//!
//! Only calls analysed in the run count: a result reused from the store cost nothing tonight and
//! must not make the machine look faster. Audio counts only from recordings (a transcript's time
//! stamps are not audio anyone had to hear).
//!
//! Core-hours are wall time × the cores the run held (workers × threads per worker, at most the
//! machine's): what the run occupied, model loading and idle workers at the end of the night
//! included. A stage's core-hours are its seconds summed over workers × the threads each worker
//! holds.

use crate::record::StageTimes;
use serde::{Deserialize, Serialize};

/// A run of `guion batch` over a night, or a calibration (`guion bench`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum RunKind {
    #[default]
    Night,
    Calibration,
}

crate::named!(RunKind { Night => "night", Calibration => "calibration" });

/// The machine a run was measured on.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Machine {
    /// Cores available to the process.
    pub cores: usize,
    /// The CPU's model name, where the system says it.
    pub cpu: Option<String>,
    pub hostname: Option<String>,
}

/// One run as measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Measurement {
    pub workers: usize,
    /// Threads each worker gives Whisper.
    pub threads: usize,
    /// Cores the run held: workers × threads, at most the machine's.
    pub cores: usize,
    /// Calls analysed in this run, by how they came out (reused results are not here).
    pub scored: usize,
    pub wrong_language: usize,
    pub failed: usize,
    /// Of the calls analysed, how many were recordings (the rest were transcripts).
    pub recordings: usize,
    /// Seconds of recorded audio analysed in this run.
    pub audio_s: f64,
    pub wall_s: f64,
    /// The process's CPU time over the run (user + system, all threads), where the system says it.
    pub cpu_s: Option<f64>,
    /// Per stage, summed over workers.
    pub stages: StageTimes,
    /// Writing results to the store, summed over workers.
    pub write_s: f64,
}

/// One stage's share of a run and what it alone would get through per core-hour.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StageCost {
    pub stage: &'static str,
    /// Seconds, summed over workers.
    pub seconds: f64,
    /// Of the workers' time (wall × workers).
    pub share: Option<f64>,
    pub audio_hours_per_core_hour: Option<f64>,
    pub calls_per_core_hour: Option<f64>,
}

/// The stages in pipeline order, as reports and JSON name them.
pub const STAGES: [&str; 6] = ["decode", "asr", "classify", "align", "judge", "write"];

/// `amount` per `hours`, or `None` when there is nothing to divide by (or nothing measured).
fn per(amount: f64, hours: f64) -> Option<f64> {
    (hours > 0.0 && amount > 0.0 && amount.is_finite() && hours.is_finite()).then(|| amount / hours)
}

impl Measurement {
    /// The cores a run of `workers` × `threads` holds on a machine of `machine_cores`.
    pub fn cores_held(workers: usize, threads: usize, machine_cores: usize) -> usize {
        (workers.max(1) * threads.max(1)).min(machine_cores.max(1))
    }

    /// Calls analysed in this run (scored, in another language or failed).
    pub fn calls(&self) -> usize {
        self.scored + self.wrong_language + self.failed
    }

    pub fn audio_hours(&self) -> f64 {
        self.audio_s / 3600.0
    }

    /// Wall time × the cores the run held, in hours.
    pub fn core_hours(&self) -> f64 {
        self.wall_s * self.cores.max(1) as f64 / 3600.0
    }

    /// Hours of recorded audio analysed per core-hour: what capacity planning divides a night's
    /// audio by. `None` without recordings or without time.
    pub fn audio_hours_per_core_hour(&self) -> Option<f64> {
        per(self.audio_hours(), self.core_hours())
    }

    /// Calls analysed per hour of wall time, on this machine with these workers and threads.
    pub fn calls_per_hour(&self) -> Option<f64> {
        per(self.calls() as f64, self.wall_s / 3600.0)
    }

    pub fn calls_per_core_hour(&self) -> Option<f64> {
        per(self.calls() as f64, self.core_hours())
    }

    /// Hours of recorded audio per CPU-hour actually spent (the CPU clock, not the cores held).
    pub fn audio_hours_per_cpu_hour(&self) -> Option<f64> {
        per(self.audio_hours(), self.cpu_s? / 3600.0)
    }

    /// The stages' summed seconds over the workers' time: 1 would be every worker busy in a stage
    /// from the first instant to the last; the rest is loading models, reading the store and
    /// waiting for the last calls.
    pub fn busy_share(&self) -> Option<f64> {
        let busy: f64 = self.stage_seconds().iter().map(|(_, s)| s).sum();
        per(busy, self.wall_s * self.workers.max(1) as f64)
    }

    fn stage_seconds(&self) -> [(&'static str, f64); 6] {
        let s = &self.stages;
        let seconds = [
            s.decode_s,
            s.asr_s,
            s.classify_s,
            s.align_s,
            s.judge_s,
            self.write_s,
        ];
        std::array::from_fn(|i| (STAGES[i], seconds[i]))
    }

    /// Every stage, in pipeline order (those that took no time too).
    pub fn stages(&self) -> Vec<StageCost> {
        let worker_s = self.wall_s * self.workers.max(1) as f64;
        let threads = self.threads.max(1) as f64;
        self.stage_seconds()
            .into_iter()
            .map(|(stage, seconds)| {
                let core_hours = seconds * threads / 3600.0;
                StageCost {
                    stage,
                    seconds,
                    share: per(seconds, worker_s),
                    audio_hours_per_core_hour: per(self.audio_hours(), core_hours),
                    calls_per_core_hour: per(self.calls() as f64, core_hours),
                }
            })
            .collect()
    }
}

/// A rate or an amount as people read it: three significant figures or so, no more.
pub fn figure(x: f64) -> String {
    let a = x.abs();
    if a >= 100.0 {
        format!("{x:.0}")
    } else if a >= 10.0 {
        format!("{x:.1}")
    } else if a >= 0.1 || a == 0.0 {
        format!("{x:.2}")
    } else {
        format!("{x:.3}")
    }
}

fn plural(n: usize, one: &str, many: &str) -> String {
    format!("{n} {}", if n == 1 { one } else { many })
}

/// Seconds as `42.0 s`, `14.2 min` or `3.10 h`.
pub fn duration(seconds: f64) -> String {
    if seconds < 120.0 {
        format!("{seconds:.1} s")
    } else if seconds < 7200.0 {
        format!("{:.1} min", seconds / 60.0)
    } else {
        format!("{:.2} h", seconds / 3600.0)
    }
}

impl Measurement {
    /// One line: what the run analysed, in how long, on what, and at what rate.
    pub fn describe(&self) -> String {
        if self.calls() == 0 {
            return format!(
                "nothing analysed in {} (every result was in the store)",
                duration(self.wall_s)
            );
        }
        let audio = if self.recordings > 0 {
            format!(
                " ({} h of audio in {})",
                figure(self.audio_hours()),
                plural(self.recordings, "recording", "recordings")
            )
        } else {
            String::new()
        };
        let mut line = format!(
            "{} analysed{audio} in {} on {} ({} × {}): ",
            plural(self.calls(), "call", "calls"),
            duration(self.wall_s),
            plural(self.cores, "core", "cores"),
            plural(self.workers, "worker", "workers"),
            plural(self.threads, "thread", "threads"),
        );
        if let Some(rate) = self.audio_hours_per_core_hour() {
            line += &format!("{} h of audio per core-hour, ", figure(rate));
        }
        line += &format!(
            "{} calls/h",
            self.calls_per_hour().map_or("—".into(), figure)
        );
        if let Some(cpu) = self.cpu_s {
            line += &format!("; CPU {}", duration(cpu));
        }
        line
    }

    /// The stages that took time, each with its share of the workers' time and its rate:
    /// `asr 96 % (1.30 h of audio per core-hour), classify 3 % (…)`.
    pub fn describe_stages(&self) -> String {
        let audio = self.audio_hours_per_core_hour().is_some();
        self.stages()
            .iter()
            .filter(|s| s.seconds > 0.0)
            .map(|s| {
                let rate = if audio {
                    s.audio_hours_per_core_hour
                        .map(|r| format!("{} h of audio per core-hour", figure(r)))
                } else {
                    s.calls_per_core_hour
                        .map(|r| format!("{} calls per core-hour", figure(r)))
                };
                format!(
                    "{} {} % ({})",
                    s.stage,
                    figure(s.share.unwrap_or(0.0) * 100.0),
                    rate.unwrap_or_default()
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// One stored run of a night: who ran what, where, and what it measured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Run {
    pub id: i64,
    pub night: String,
    pub kind: RunKind,
    /// The shard of the night this run scored (`INDEX/COUNT`), `None` for the whole night.
    #[serde(default)]
    pub shard: Option<String>,
    /// UTC, `YYYY-MM-DDTHH:MM:SSZ`.
    pub started_at: String,
    /// `None`: the run never finished (killed, or stopped by an error); it measured nothing.
    pub finished_at: Option<String>,
    /// guion's version.
    pub version: String,
    /// The speech engine (`guion_speech::asr::ENGINE`, e.g. `ctranslate2-int8`).
    pub engine: String,
    /// The models and options that decide a result (`key::Determinants::ids` of a recording).
    pub models: String,
    pub machine: Machine,
    /// Calls whose results were already in the store: linked, not analysed, not counted.
    pub reused: usize,
    pub measurement: Measurement,
}

impl Run {
    /// Whether the run measured anything a rate can come from.
    pub fn measured(&self) -> bool {
        self.finished_at.is_some() && self.measurement.calls() > 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::names::Named;

    /// Two workers × one thread on a two-core machine, an hour of audio in 10 minutes.
    fn hour_in_ten_minutes() -> Measurement {
        Measurement {
            workers: 2,
            threads: 1,
            cores: Measurement::cores_held(2, 1, 2),
            scored: 18,
            wrong_language: 1,
            failed: 1,
            recordings: 20,
            audio_s: 3600.0,
            wall_s: 600.0,
            cpu_s: Some(1100.0),
            stages: StageTimes {
                decode_s: 10.0,
                asr_s: 1000.0,
                classify_s: 60.0,
                align_s: 2.0,
                judge_s: 0.0,
            },
            write_s: 3.0,
        }
    }

    #[test]
    fn audio_hours_per_core_hour_is_audio_over_wall_times_cores_held() {
        let m = hour_in_ten_minutes();
        assert_eq!(m.calls(), 20);
        assert!((m.core_hours() - 1.0 / 3.0).abs() < 1e-12);
        assert!((m.audio_hours_per_core_hour().unwrap() - 3.0).abs() < 1e-12);
        assert!((m.calls_per_hour().unwrap() - 120.0).abs() < 1e-9);
        assert!((m.calls_per_core_hour().unwrap() - 60.0).abs() < 1e-9);
        assert!((m.audio_hours_per_cpu_hour().unwrap() - 3600.0 / 1100.0).abs() < 1e-12);
        // 1075 of the 1200 worker-seconds were in a stage.
        assert!((m.busy_share().unwrap() - 1075.0 / 1200.0).abs() < 1e-12);
    }

    #[test]
    fn the_cores_held_never_exceed_the_machine() {
        assert_eq!(Measurement::cores_held(4, 2, 2), 2);
        assert_eq!(Measurement::cores_held(1, 1, 8), 1);
        assert_eq!(Measurement::cores_held(3, 2, 8), 6);
        assert_eq!(Measurement::cores_held(0, 0, 0), 1);
        // Oversubscribed, the run still occupied only the machine: the same audio in the same
        // wall time is the same rate.
        let mut m = hour_in_ten_minutes();
        m.workers = 4;
        m.cores = Measurement::cores_held(4, 1, 2);
        assert!((m.audio_hours_per_core_hour().unwrap() - 3.0).abs() < 1e-12);
    }

    #[test]
    fn each_stage_is_rated_on_the_cores_its_workers_hold() {
        let mut m = hour_in_ten_minutes();
        m.threads = 2;
        m.workers = 1;
        m.cores = Measurement::cores_held(1, 2, 2);
        let stages = m.stages();
        assert_eq!(
            stages.iter().map(|s| s.stage).collect::<Vec<_>>(),
            STAGES.to_vec()
        );
        let asr = &stages[1];
        // 1000 s × 2 threads = 5/9 core-hour for one audio hour and 20 calls.
        assert!((asr.audio_hours_per_core_hour.unwrap() - 1.8).abs() < 1e-12);
        assert!((asr.calls_per_core_hour.unwrap() - 36.0).abs() < 1e-9);
        assert!((asr.share.unwrap() - 1000.0 / 600.0).abs() < 1e-12);
        // A stage that took no time has no rate, not an infinite one.
        assert_eq!(stages[4].stage, "judge");
        assert_eq!(stages[4].audio_hours_per_core_hour, None);
        assert_eq!(stages[4].share, None);
    }

    #[test]
    fn nothing_analysed_or_no_audio_gives_no_rate() {
        let none = Measurement {
            workers: 2,
            threads: 1,
            cores: 2,
            wall_s: 1.5,
            ..Measurement::default()
        };
        assert_eq!(none.audio_hours_per_core_hour(), None);
        assert_eq!(none.calls_per_hour(), None);
        let text = Measurement {
            scored: 100,
            ..none.clone()
        };
        assert_eq!(text.audio_hours_per_core_hour(), None);
        assert!((text.calls_per_hour().unwrap() - 240_000.0).abs() < 1e-6);
        let instant = Measurement {
            wall_s: 0.0,
            ..text
        };
        assert_eq!(instant.calls_per_hour(), None);
        let no_clock = Measurement {
            cpu_s: None,
            ..hour_in_ten_minutes()
        };
        assert_eq!(no_clock.audio_hours_per_cpu_hour(), None);
    }

    #[test]
    fn a_run_is_described_in_one_line_and_its_stages_in_another() {
        let m = hour_in_ten_minutes();
        assert_eq!(
            m.describe(),
            "20 calls analysed (1.00 h of audio in 20 recordings) in 10.0 min on 2 cores \
             (2 workers × 1 thread): 3.00 h of audio per core-hour, 120 calls/h; CPU 18.3 min"
        );
        assert_eq!(
            m.describe_stages(),
            "decode 0.83 % (360 h of audio per core-hour), asr 83.3 % (3.60 h of audio per \
             core-hour), classify 5.00 % (60.0 h of audio per core-hour), align 0.17 % (1800 h of \
             audio per core-hour), write 0.25 % (1200 h of audio per core-hour)"
        );
        let reused = Measurement {
            wall_s: 0.4,
            ..Measurement::default()
        };
        assert_eq!(
            reused.describe(),
            "nothing analysed in 0.4 s (every result was in the store)"
        );
        assert_eq!(
            (figure(0.0123), figure(1234.4), duration(9000.0)),
            ("0.012".into(), "1234".into(), "2.50 h".into())
        );
    }

    #[test]
    fn a_run_that_never_finished_measured_nothing() {
        let run = Run {
            measurement: hour_in_ten_minutes(),
            ..Run::default()
        };
        assert!(!run.measured());
        let finished = Run {
            finished_at: Some("2026-11-23T06:00:00Z".into()),
            ..run
        };
        assert!(finished.measured());
        assert_eq!(RunKind::Calibration.name(), "calibration");
        assert_eq!(RunKind::from_name("night"), Some(RunKind::Night));
    }
}
