//! How many cores, machines and shards a night needs by its deadline, from a rate measured on this
//! machine (a stored run of `guion batch` or `guion bench`), never from a constant.

use crate::cost::{Machine, Run};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Plan {
    pub audio_hours: f64,
    pub deadline_hours: f64,
    /// The measured rate the plan divides by.
    pub audio_hours_per_core_hour: f64,
    /// Core-hours of work: the audio over the rate.
    pub core_hours: f64,
    pub cores: usize,
    pub cores_per_machine: usize,
    pub machines: usize,
    /// One shard per machine: each runs `guion batch --shard i/N` with every core it has.
    pub shards: usize,
}

/// The plan for `audio_hours` of recordings by `deadline_hours` at `rate` audio hours per
/// core-hour, on machines of `cores_per_machine`. No headroom is added: the rate already holds model
/// loading and the wait for a run's last calls, and the user knows their cluster's slack.
pub fn plan(
    audio_hours: f64,
    deadline_hours: f64,
    rate: f64,
    cores_per_machine: usize,
) -> Result<Plan, String> {
    let positive = |x: f64| x.is_finite() && x > 0.0;
    if !positive(audio_hours) {
        return Err(format!("--audio-hours must be above 0, not {audio_hours}"));
    }
    if !positive(deadline_hours) {
        return Err(format!("--hours must be above 0, not {deadline_hours}"));
    }
    if !positive(rate) {
        return Err(format!(
            "the measured rate is {rate} audio hours per core-hour: nothing to plan with"
        ));
    }
    if cores_per_machine == 0 {
        return Err("--cores-per-machine must be at least 1".to_string());
    }
    let core_hours = audio_hours / rate;
    // A hair under a whole number is that number: 2.0000000001 cores is 2, not 3.
    let cores = ((core_hours / deadline_hours) - 1e-9).ceil().max(1.0) as usize;
    let machines = cores.div_ceil(cores_per_machine);
    Ok(Plan {
        audio_hours,
        deadline_hours,
        audio_hours_per_core_hour: rate,
        core_hours,
        cores,
        cores_per_machine,
        machines,
        shards: machines,
    })
}

/// The measurement to plan with: the latest finished run that analysed recordings on this machine
/// (same host name, or else the same CPU model), calibrations and nights alike.
pub fn measurement<'r>(runs: &'r [Run], this: &Machine) -> Option<&'r Run> {
    let rated = |r: &&Run| {
        r.measured()
            && r.measurement
                .audio_hours_per_core_hour()
                .is_some_and(|x| x > 0.0)
    };
    let same_host = |r: &&Run| this.hostname.is_some() && r.machine.hostname == this.hostname;
    let same_cpu = |r: &&Run| this.cpu.is_some() && r.machine.cpu == this.cpu;
    let latest = |f: &dyn Fn(&&Run) -> bool| {
        runs.iter()
            .filter(rated)
            .filter(|r| f(r))
            .max_by(|a, b| a.started_at.cmp(&b.started_at).then(a.id.cmp(&b.id)))
    };
    latest(&same_host).or_else(|| latest(&same_cpu))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cost::Measurement;

    #[test]
    fn the_issues_centre_needs_its_core_hours_by_morning() {
        // 700 audio hours at 4 per core-hour is 175 core-hours; in 8 hours, 22 cores (21.9).
        let p = plan(700.0, 8.0, 4.0, 16).unwrap();
        assert_eq!(
            (p.core_hours, p.cores, p.machines, p.shards),
            (175.0, 22, 2, 2)
        );
        // Exactly divisible: no extra core for rounding noise.
        let p = plan(64.0, 8.0, 4.0, 2).unwrap();
        assert_eq!((p.cores, p.machines), (2, 1));
        // A small night still needs one core.
        assert_eq!(plan(0.1, 8.0, 4.0, 2).unwrap().cores, 1);
    }

    #[test]
    fn nonsense_is_refused_with_the_flag_to_fix() {
        assert!(
            plan(0.0, 8.0, 4.0, 2)
                .unwrap_err()
                .contains("--audio-hours")
        );
        assert!(plan(10.0, -1.0, 4.0, 2).unwrap_err().contains("--hours"));
        assert!(plan(10.0, 8.0, 0.0, 2).unwrap_err().contains("rate"));
        assert!(
            plan(10.0, 8.0, 4.0, 0)
                .unwrap_err()
                .contains("--cores-per-machine")
        );
    }

    fn run(id: i64, started: &str, host: &str, audio_s: f64, finished: bool) -> Run {
        Run {
            id,
            started_at: started.into(),
            finished_at: finished.then(|| started.to_string()),
            machine: Machine {
                cores: 2,
                cpu: Some("Xeon".into()),
                hostname: Some(host.into()),
            },
            measurement: Measurement {
                workers: 2,
                threads: 1,
                cores: 2,
                scored: 3,
                recordings: 3,
                audio_s,
                wall_s: 600.0,
                ..Measurement::default()
            },
            ..Run::default()
        }
    }

    #[test]
    fn the_latest_finished_run_with_audio_on_this_machine_is_the_measurement() {
        let this = Machine {
            cores: 2,
            cpu: Some("Xeon".into()),
            hostname: Some("here".into()),
        };
        let runs = vec![
            run(1, "2026-11-20T01:00:00Z", "here", 3600.0, true),
            run(2, "2026-11-22T01:00:00Z", "here", 3600.0, false), // killed: measured nothing
            run(3, "2026-11-21T01:00:00Z", "here", 0.0, true),     // transcripts only
            run(4, "2026-11-23T01:00:00Z", "there", 3600.0, true), // another host, same CPU
        ];
        assert_eq!(measurement(&runs, &this).map(|r| r.id), Some(1));
        // No run on this host: the same CPU model will do.
        let elsewhere = Machine {
            hostname: Some("new".into()),
            ..this.clone()
        };
        assert_eq!(measurement(&runs, &elsewhere).map(|r| r.id), Some(4));
        let other_cpu = Machine {
            cpu: Some("Epyc".into()),
            hostname: Some("new".into()),
            ..this
        };
        assert!(measurement(&runs, &other_cpu).is_none());
    }
}
