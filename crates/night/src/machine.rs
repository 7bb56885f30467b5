//! The machine a night runs on, as a run's cost records it: its cores, its CPU's model name, its
//! host name, and the process's CPU clock. Read from Linux's /proc; where a fact is not there it is
//! `None`, never a guess.

use guion_core::cost::Machine;

/// This machine.
pub fn this() -> Machine {
    Machine {
        cores: std::thread::available_parallelism().map_or(1, usize::from),
        cpu: cpu_model(),
        hostname: std::fs::read_to_string("/proc/sys/kernel/hostname")
            .ok()
            .map(|h| h.trim().to_string())
            .filter(|h| !h.is_empty()),
    }
}

/// The first processor's `model name` in /proc/cpuinfo.
fn cpu_model() -> Option<String> {
    let info = std::fs::read_to_string("/proc/cpuinfo").ok()?;
    info.lines()
        .find_map(|l| l.strip_prefix("model name")?.split_once(':'))
        .map(|(_, name)| name.split_whitespace().collect::<Vec<_>>().join(" "))
        .filter(|name| !name.is_empty())
}

/// CPU seconds (user + system) spent so far by this process's threads, and by its children that
/// have ended (the judge's processes), as getrusage(2) would count them: /proc/self/stat's utime,
/// stime, cutime and cstime.
pub fn cpu_seconds() -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    cpu_seconds_of(&stat, rustix::param::clock_ticks_per_second())
}

fn cpu_seconds_of(stat: &str, ticks_per_second: u64) -> Option<f64> {
    // The command name (field 2) is in parentheses and may hold spaces; field 3 follows the last ')'.
    let fields: Vec<&str> = stat
        .get(stat.rfind(')')? + 1..)?
        .split_whitespace()
        .collect();
    let ticks: u64 = fields
        .get(11..15)?
        .iter()
        .map(|f| f.parse::<u64>().ok())
        .sum::<Option<u64>>()?;
    (ticks_per_second > 0).then(|| ticks as f64 / ticks_per_second as f64)
}

#[cfg(test)]
mod tests {
    #[test]
    fn cpu_time_is_read_past_a_command_name_with_spaces() {
        // pid (comm) state ppid pgrp session tty tpgid flags minflt cminflt majflt cmajflt utime stime cutime cstime …
        let stat = "42 (guion (a b)) R 1 42 42 0 -1 4194560 100 0 0 0 250 50 30 20 20 0 9 0";
        assert_eq!(super::cpu_seconds_of(stat, 100), Some(3.5));
        assert_eq!(super::cpu_seconds_of("garbage", 100), None);
    }

    #[test]
    fn this_machine_has_cores_and_a_cpu_clock() {
        let m = super::this();
        assert!(m.cores >= 1);
        let before = super::cpu_seconds().expect("Linux has /proc/self/stat");
        let mut x = 0u64;
        for i in 0..20_000_000u64 {
            x = x.wrapping_mul(31).wrapping_add(i);
        }
        std::hint::black_box(x);
        assert!(super::cpu_seconds().unwrap() >= before);
    }
}
