//! The cluster recipes in examples/ run, and their night is one run of the whole night.
//!
//! - Slurm: a real Slurm — munged, slurmctld and slurmd started here, on 127.0.0.1 only, with a
//!   config, a munge key, state and spool of their own in a temporary directory, and stopped after
//!   — runs examples/slurm/submit (the recipe's own files, set by its environment variables) as a
//!   3-task array over the shards test's text night, then its merge job. The merged night equals
//!   one `guion batch` of the whole night byte for byte (every file but runs.csv); each task ran
//!   its own shard. A task ends with exit 1 (its shard holds the night's missing recording or a bad
//!   row) and the merge runs all the same (`--dependency=afterany`); a shard submitted again alone
//!   is still its shard.
//!   shards.rs merges the same night's shards run by hand: one job, a Slurm array and shards by
//!   hand give the same night.
//! - Kubernetes: examples/k8s's Jobs are read and checked (an Indexed Job of N completions whose
//!   pods take `--shard auto/N`, tries per index, the volume each path is on, restartPolicy Never, a
//!   merge of the very directories the pods write); then the containers' command lines are run
//!   here, with the volume a temporary directory and JOB_COMPLETION_INDEX 0…N-1 as Kubernetes
//!   sets it, and the merge Job's night equals one run too.
//!
//! Both run guion as the recipes do, with its encoder (no --no-meaning).

use crate::shards::{self, ACME, FILES, NIGHT};
use crate::util::{self, require};
use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

/// How long the array and its merge may take before the test gives up and shows the daemons' logs.
/// They take about 30 s on two cores.
const SLURM_TIMEOUT: Duration = Duration::from_secs(300);

// ---- Slurm --------------------------------------------------------------------------------------

/// Slurm's and munge's programs the test runs (Debian: slurmctld, slurmd, slurm-client, munge).
const SLURM_PROGRAMS: [&str; 9] = [
    "munged",
    "mungekey",
    "slurmctld",
    "slurmd",
    "sbatch",
    "scontrol",
    "squeue",
    "sinfo",
    "scancel",
];

/// A program on PATH. (Slurm's clients have no `--version` without a config to read, so
/// `util::program` cannot tell.)
fn on_path(program: &str) -> Result<(), String> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    if std::env::split_paths(&path).any(|dir| dir.join(program).is_file()) {
        Ok(())
    } else {
        Err(format!(
            "{program} is missing: scripts/setup installs Slurm (slurmctld slurmd slurm-client munge)"
        ))
    }
}

fn slurm_installed() -> Result<(), String> {
    SLURM_PROGRAMS.into_iter().try_for_each(on_path)
}

/// slurmd starts a job as the user who submitted it, which takes root; so does this test (CI runs
/// as root).
fn root() -> Result<(), String> {
    let id = Command::new("id")
        .arg("-u")
        .output()
        .map_err(|e| format!("id -u: {e}"))?;
    if String::from_utf8_lossy(&id.stdout).trim() == "0" {
        Ok(())
    } else {
        Err("the Slurm test runs slurmd, which starts jobs as their user: run it as root".into())
    }
}

/// Two free TCP ports on 127.0.0.1, distinct (both held while asking), free when asked: the daemons
/// take them a moment later.
fn free_ports() -> [u16; 2] {
    let listeners = [(); 2].map(|()| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"));
    listeners.map(|l| l.local_addr().unwrap().port())
}

fn output(command: &mut Command) -> Output {
    command
        .output()
        .unwrap_or_else(|e| panic!("{command:?}: {e}"))
}

/// A one-node Slurm cluster on this machine, for one test: munged, slurmctld and slurmd in the
/// foreground as this process's children, everything they write in `dir`. Dropped (the test passed
/// or panicked), it cancels its jobs and stops its daemons.
struct Slurm {
    dir: PathBuf,
    conf: PathBuf,
    daemons: Vec<(&'static str, Child)>,
}

impl Slurm {
    fn start(dir: &Path) -> Slurm {
        let mut slurm = Slurm {
            dir: dir.to_path_buf(),
            conf: dir.join("slurm.conf"),
            daemons: Vec::new(),
        };
        for sub in ["key", "munge", "state", "spool", "log"] {
            std::fs::create_dir_all(dir.join(sub)).unwrap();
        }
        // munged refuses a key others can read, and a socket others cannot reach: the key's
        // directory stays the owner's, the socket's (and every directory above it) is open to
        // traverse.
        chmod(dir, 0o711);
        chmod(&dir.join("key"), 0o700);
        chmod(&dir.join("munge"), 0o755);
        let key = dir.join("key/munge.key");
        let socket = dir.join("munge/munge.socket");
        let made = output(
            Command::new("mungekey")
                .arg("--create")
                .arg(arg("--keyfile=", &key)),
        );
        assert!(made.status.success(), "mungekey: {}", shards::stderr(&made));
        slurm.spawn(
            "munged",
            Command::new("munged").args([
                "--foreground".into(),
                arg("--socket=", &socket),
                arg("--key-file=", &key),
                arg("--pid-file=", &dir.join("munge/munged.pid")),
                arg("--seed-file=", &dir.join("key/munged.seed")),
            ]),
        );
        slurm.wait_for("munged's socket", |_| socket.exists());

        // The node as slurmd sees it: its name (this machine's short hostname, which slurmctld
        // also checks itself against), CPUs, sockets, cores, threads and memory.
        let probe = output(Command::new("slurmd").arg("-C"));
        let node = String::from_utf8_lossy(&probe.stdout)
            .lines()
            .next()
            .filter(|l| l.starts_with("NodeName="))
            .unwrap_or_else(|| panic!("slurmd -C: {}", shards::stderr(&probe)))
            .to_string();
        let host = node["NodeName=".len()..]
            .split_whitespace()
            .next()
            .unwrap()
            .to_string();
        let d = dir.display();
        let [ctld, slurmd] = free_ports();
        // Plugins that need neither cgroups nor systemd (a container has neither): processes
        // tracked by their parent, no CPU binding, no accounting database. NoCtldInAddrAny and
        // NoInAddrAny: slurmctld and slurmd listen on 127.0.0.1 alone. No log files: in the
        // foreground (-D) the daemons log to standard error, which `spawn` keeps in log/.
        let conf = format!(
            "ClusterName=guiontest\n\
             SlurmctldHost={host}(127.0.0.1)\n\
             SlurmctldPort={ctld}\n\
             SlurmdPort={slurmd}\n\
             CommunicationParameters=NoCtldInAddrAny,NoInAddrAny\n\
             SlurmUser=root\n\
             SlurmdUser=root\n\
             AuthType=auth/munge\n\
             CredType=cred/munge\n\
             AuthInfo=socket={socket}\n\
             StateSaveLocation={d}/state\n\
             SlurmdSpoolDir={d}/spool\n\
             SlurmctldPidFile={d}/slurmctld.pid\n\
             SlurmdPidFile={d}/slurmd.pid\n\
             ProctrackType=proctrack/linuxproc\n\
             TaskPlugin=task/none\n\
             SelectType=select/cons_tres\n\
             SelectTypeParameters=CR_Core\n\
             JobAcctGatherType=jobacct_gather/none\n\
             AccountingStorageType=accounting_storage/none\n\
             JobCompType=jobcomp/none\n\
             MpiDefault=none\n\
             MailProg=/bin/true\n\
             ReturnToService=2\n\
             {node} NodeAddr=127.0.0.1 State=UNKNOWN\n\
             PartitionName=night Nodes={host} Default=YES MaxTime=INFINITE State=UP\n",
            socket = socket.display(),
        );
        std::fs::write(&slurm.conf, conf).unwrap();
        let conf = slurm.conf.clone();
        slurm.spawn(
            "slurmctld",
            Command::new("slurmctld").arg("-D").arg("-f").arg(&conf),
        );
        slurm.spawn(
            "slurmd",
            Command::new("slurmd")
                .arg("-D")
                .arg("-f")
                .arg(&conf)
                .args(["-N", &host]),
        );
        slurm.wait_for("the node to be idle", |slurm| {
            let o = slurm.client("sinfo").args(["-h", "-o", "%t"]).output();
            o.is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "idle")
        });
        slurm
    }

    /// Starts a daemon, its standard output and error in log/NAME.out.
    fn spawn(&mut self, name: &'static str, command: &mut Command) {
        let log = std::fs::File::create(self.dir.join(format!("log/{name}.out"))).unwrap();
        let child = command
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        self.daemons.push((name, child));
    }

    /// Waits (30 s at most) until `ready`, or a daemon exits: a panic then shows their logs.
    fn wait_for(&mut self, what: &str, ready: impl Fn(&Slurm) -> bool) {
        let start = Instant::now();
        while !ready(self) {
            let exited = self.daemons.iter_mut().find_map(|(name, child)| {
                let status = child.try_wait().ok().flatten()?;
                Some(format!("{name} exited ({status})"))
            });
            if let Some(exited) = exited {
                panic!("{exited} waiting for {what}\n{}", self.logs());
            }
            if start.elapsed() > Duration::from_secs(30) {
                panic!("waited 30 s for {what}\n{}", self.logs());
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// A Slurm client command for this cluster, in an environment without the test machine's own
    /// Slurm variables (were the tests run by Slurm, sbatch would read them).
    fn client(&self, program: &str) -> Command {
        let mut command = Command::new(program);
        for (name, _) in std::env::vars_os() {
            let name = name.to_string_lossy();
            if name.starts_with("SLURM_") || name.starts_with("SBATCH_") {
                command.env_remove(&*name);
            }
        }
        command.env("SLURM_CONF", &self.conf);
        command
    }

    /// `scontrol show job -o ID`: one line per job (one per task of an array), as KEY=VALUE.
    fn jobs(&self, id: &str) -> Vec<BTreeMap<String, String>> {
        let o = output(self.client("scontrol").args(["show", "job", "-o", id]));
        String::from_utf8_lossy(&o.stdout)
            .lines()
            .map(|line| {
                line.split_whitespace()
                    .filter_map(|kv| kv.split_once('='))
                    .map(|(k, v)| (k.to_string(), v.to_string()))
                    .collect()
            })
            .collect()
    }

    /// Waits for job `id` to end and says its state and exit code (`COMPLETED 0:0`).
    fn wait_job(&self, id: &str, logs: &Path) -> String {
        let start = Instant::now();
        loop {
            if let Some(job) = self.jobs(id).pop() {
                let state = &job["JobState"];
                let ended = [
                    "COMPLETED",
                    "FAILED",
                    "CANCELLED",
                    "TIMEOUT",
                    "NODE_FAIL",
                    "OUT_OF_MEMORY",
                    "BOOT_FAIL",
                    "DEADLINE",
                ];
                if ended.contains(&state.as_str()) {
                    return format!("{state} {}", job["ExitCode"]);
                }
            }
            if start.elapsed() > SLURM_TIMEOUT {
                let queue = output(self.client("squeue").args(["-o", "%i %j %T %r"]));
                panic!(
                    "job {id} has not ended after {SLURM_TIMEOUT:?}\nsqueue:\n{}\n{}{}",
                    String::from_utf8_lossy(&queue.stdout),
                    self.logs(),
                    tails(logs)
                );
            }
            std::thread::sleep(Duration::from_millis(250));
        }
    }

    /// The end of each daemon's log, for a failure's message.
    fn logs(&self) -> String {
        tails(&self.dir.join("log"))
    }
}

impl Drop for Slurm {
    fn drop(&mut self) {
        // Jobs first, while slurmctld and slurmd are up to end them: their processes are not the
        // test's children and would outlive the daemons.
        if self.daemons.len() == 3 {
            let _ = self.client("scancel").arg("--user=root").output();
            let start = Instant::now();
            while start.elapsed() < Duration::from_secs(15) {
                let queue = self.client("squeue").args(["-h", "-o", "%i"]).output();
                if queue.is_ok_and(|o| o.status.success() && o.stdout.is_empty()) {
                    break;
                }
                std::thread::sleep(Duration::from_millis(200));
            }
        }
        // Then the daemons, last started first: SIGTERM, and SIGKILL if one lingers.
        for (_, child) in self.daemons.iter_mut().rev() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .output();
            let start = Instant::now();
            while matches!(child.try_wait(), Ok(None)) && start.elapsed() < Duration::from_secs(10)
            {
                std::thread::sleep(Duration::from_millis(50));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

fn chmod(path: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(mode)).unwrap();
}

fn arg(flag: &str, path: &Path) -> std::ffi::OsString {
    let mut arg = std::ffi::OsString::from(flag);
    arg.push(path);
    arg
}

/// The last lines of every file in `dir`.
fn tails(dir: &Path) -> String {
    let mut text = String::new();
    let mut files: Vec<PathBuf> = std::fs::read_dir(dir)
        .into_iter()
        .flatten()
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.is_file())
        .collect();
    files.sort();
    for file in files {
        let body = std::fs::read_to_string(&file).unwrap_or_default();
        let lines: Vec<&str> = body.lines().collect();
        let _ = writeln!(text, "--- {} (last 30 lines)", file.display());
        for line in &lines[lines.len().saturating_sub(30)..] {
            let _ = writeln!(text, "{line}");
        }
    }
    text
}

/// Runs examples/slurm/submit for the night in `dir`, as a user would with these variables, and
/// gives back its two job ids: the array's and the merge's.
fn submit(slurm: &Slurm, dir: &Path, manifest: &Path, tasks: Option<&str>) -> (String, String) {
    let mut command = slurm.client(util::root().join("examples/slurm/submit").to_str().unwrap());
    for var in shards::SCHEDULER {
        command.env_remove(var);
    }
    command
        .current_dir(dir)
        .env_remove("RUST_LOG")
        .env("GUION", env!("CARGO_BIN_EXE_guion"))
        .env("GUION_NIGHT", NIGHT)
        .env("GUION_SHARDS", "3")
        // Two tasks at a time on a two-core machine.
        .env("GUION_CPUS", "1")
        .env("GUION_MANIFEST", manifest)
        .env("GUION_SCRIPT", util::root().join(ACME))
        .env("GUION_RESULTS", dir.join("results"))
        .args(tasks);
    let o = output(&mut command);
    let said = String::from_utf8_lossy(&o.stdout).into_owned();
    assert!(
        o.status.success(),
        "submit: {said}{}\n{}",
        shards::stderr(&o),
        slurm.logs()
    );
    // "night N: shards 0-2 of 3 in job 1, merge in job 2; results in …"
    let job_after = |words: &str| {
        said.split(words)
            .nth(1)
            .and_then(|rest| rest.split(|c: char| !c.is_ascii_digit()).next())
            .filter(|id| !id.is_empty())
            .unwrap_or_else(|| panic!("no job id after {words:?} in submit's output: {said}"))
            .to_string()
    };
    (job_after(" in job "), job_after("merge in job "))
}

#[test]
fn a_slurm_array_and_its_merge_job_give_one_run_of_the_night() {
    require!(slurm_installed(), root(), util::encoder());
    let dir = util::tempdir();
    let manifest = shards::night(dir.path());
    let whole = dir.path().join("whole");
    let one = shards::batch(&manifest, &whole, &["--quiet"]);
    assert_eq!(one.status.code(), Some(1), "{}", shards::stderr(&one));

    let slurm = Slurm::start(&dir.path().join("slurm"));
    let results = dir.path().join("results");
    let logs = results.join("logs");
    let (array, merge) = submit(&slurm, dir.path(), &manifest, None);
    let merged = slurm.wait_job(&merge, &logs);
    assert_eq!(merged, "COMPLETED 0:0", "the merge job\n{}", tails(&logs));

    // Every task ran to its end, each its own shard. A task whose shard holds the missing
    // recording or a bad manifest row ends with exit 1 (FAILED to Slurm), and the merge ran all
    // the same: with afterok it would not have.
    let tasks = slurm.jobs(&array);
    let states: BTreeMap<String, String> = tasks
        .iter()
        .map(|t| {
            let state = format!("{} {}", t["JobState"], t["ExitCode"]);
            (t["ArrayTaskId"].clone(), state)
        })
        .collect();
    assert_eq!(states.len(), 3, "{states:?}");
    assert!(
        states
            .values()
            .all(|s| s == "COMPLETED 0:0" || s == "FAILED 1:0"),
        "{states:?}\n{}",
        tails(&logs)
    );
    assert!(states.values().any(|s| s == "FAILED 1:0"), "{states:?}");
    let mut calls = 0;
    for task in 0..3 {
        let shard = results.join(format!("shard-{task}"));
        let runs = shards::runs(&shard);
        assert_eq!(runs.len(), 1, "task {task}: {runs:?}");
        assert_eq!(
            runs[0].0,
            format!("{task}/3"),
            "task {task} ran its own shard"
        );
        let [scored, _, failed, ..] = runs[0].1;
        assert!(scored > 0, "task {task}'s shard holds calls");
        calls += scored + failed;
    }
    assert_eq!(calls, 37, "36 scored and one failed, each in one shard");
    let night = results.join("night");
    shards::assert_same_night(&whole, &night, "a Slurm array and its merge job");
    assert!(night.join("report.html").is_file(), "the merge job reports");

    // A shard that exited 1, submitted again alone (`submit K`, an array of one task whose id is
    // K), is still shard K, and the night merged again is still the night.
    let (failed, _) = states
        .iter()
        .find(|(_, s)| s.starts_with("FAILED"))
        .unwrap();
    let (_, merge) = submit(&slurm, dir.path(), &manifest, Some(failed));
    assert_eq!(
        slurm.wait_job(&merge, &logs),
        "COMPLETED 0:0",
        "{}",
        tails(&logs)
    );
    let rerun = shards::runs(&results.join(format!("shard-{failed}")));
    assert_eq!(rerun.len(), 2, "{rerun:?}");
    assert_eq!(rerun[1].0, format!("{failed}/3"));
    shards::assert_same_night(&whole, &night, "a shard submitted again");
}

// ---- Kubernetes ------------------------------------------------------------------------------

fn yaml(name: &str) -> Value {
    let path = util::root().join("examples/k8s").join(name);
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn at<'a>(value: &'a Value, pointer: &str, what: &str) -> &'a Value {
    value
        .pointer(pointer)
        .unwrap_or_else(|| panic!("{what}: no {pointer}"))
}

fn text<'a>(value: &'a Value, pointer: &str, what: &str) -> &'a str {
    at(value, pointer, what)
        .as_str()
        .unwrap_or_else(|| panic!("{what}: {pointer} is not a string"))
}

fn strings(value: &Value, what: &str) -> Vec<String> {
    value
        .as_array()
        .unwrap_or_else(|| panic!("{what}: not a list"))
        .iter()
        .map(|v| {
            v.as_str()
                .unwrap_or_else(|| panic!("{what}: {v} is not a string"))
                .to_string()
        })
        .collect()
}

/// A container of a Job's pod, as the test runs it: guion's arguments with Kubernetes' `$(VAR)`
/// references and the volume's mount path still in them.
struct Container {
    what: String,
    args: Vec<String>,
    env: BTreeMap<String, String>,
    mounts: Vec<(String, String)>,
}

/// Checks a Job (batch/v1, restartPolicy Never, each mount on a volume of the pod, each volume the
/// claim `claim`) and gives its pod's containers, init containers first.
fn job(file: &str, doc: &Value, claim: &str) -> Vec<Container> {
    assert_eq!(text(doc, "/apiVersion", file), "batch/v1", "{file}");
    assert_eq!(text(doc, "/kind", file), "Job", "{file}");
    let pod = at(doc, "/spec/template/spec", file);
    assert_eq!(text(pod, "/restartPolicy", file), "Never", "{file}");
    let volumes: BTreeSet<String> = at(pod, "/volumes", file)
        .as_array()
        .unwrap()
        .iter()
        .map(|v| {
            assert_eq!(
                text(v, "/persistentVolumeClaim/claimName", file),
                claim,
                "{file}: every volume is the night's claim"
            );
            text(v, "/name", file).to_string()
        })
        .collect();
    let mut containers = Vec::new();
    for list in ["/initContainers", "/containers"] {
        let Some(list) = pod.pointer(list) else {
            continue;
        };
        for c in list.as_array().unwrap() {
            let what = format!("{file}: container {}", text(c, "/name", file));
            assert_eq!(
                strings(at(c, "/command", &what), &what),
                ["guion"],
                "{what}: runs guion"
            );
            let env = c
                .pointer("/env")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .map(|e| {
                    let name = text(e, "/name", &what).to_string();
                    (name, text(e, "/value", &what).to_string())
                })
                .collect();
            let mounts: Vec<(String, String)> = at(c, "/volumeMounts", &what)
                .as_array()
                .unwrap()
                .iter()
                .map(|m| {
                    let name = text(m, "/name", &what).to_string();
                    assert!(
                        volumes.contains(&name),
                        "{what}: mount {name} has no volume"
                    );
                    (name, text(m, "/mountPath", &what).to_string())
                })
                .collect();
            let args = strings(at(c, "/args", &what), &what);
            // Every absolute path guion is given is on a volume.
            for a in &args {
                if a.starts_with('/') {
                    assert!(
                        mounts.iter().any(|(_, m)| a.starts_with(&format!("{m}/"))),
                        "{what}: {a} is on no mounted volume"
                    );
                }
            }
            containers.push(Container {
                what,
                args,
                env,
                mounts,
            });
        }
    }
    containers
}

/// The value after `flag` in `args`.
fn flag<'a>(args: &'a [String], flag: &str, what: &str) -> &'a str {
    args.iter()
        .position(|a| a == flag)
        .and_then(|i| args.get(i + 1))
        .unwrap_or_else(|| panic!("{what}: no {flag} in {args:?}"))
}

impl Container {
    /// The arguments as the pod runs them: `$(VAR)` expanded from the container's environment and
    /// `index` (JOB_COMPLETION_INDEX, which the Job controller adds to an Indexed Job's pods), and
    /// each volume's mount path moved to `volumes/<volume name>`.
    fn expand(&self, index: Option<usize>, volumes: &Path) -> Vec<String> {
        let mut env = self.env.clone();
        if let Some(i) = index {
            env.insert("JOB_COMPLETION_INDEX".into(), i.to_string());
        }
        self.args
            .iter()
            .map(|a| {
                let mut a = a.clone();
                while let Some(start) = a.find("$(") {
                    let end = start + a[start..].find(')').unwrap();
                    let name = &a[start + 2..end];
                    // Kubernetes leaves an unknown reference as it is: guion would get `$(NAME)`.
                    let value = env
                        .get(name)
                        .unwrap_or_else(|| panic!("{}: $({name}) is not in its env", self.what));
                    a.replace_range(start..=end, value);
                }
                let on_volume = self.mounts.iter().find_map(|(name, mount)| {
                    let rest = a.strip_prefix(mount.as_str())?;
                    rest.starts_with('/')
                        .then(|| format!("{}{rest}", volumes.join(name).display()))
                });
                on_volume.unwrap_or(a)
            })
            .collect()
    }

    fn command(&self, args: &[String], index: Option<usize>) -> Command {
        let mut command = shards::guion();
        command.args(args).envs(&self.env);
        if let Some(i) = index {
            command.env("JOB_COMPLETION_INDEX", i.to_string());
        }
        command
    }
}

#[test]
fn the_kubernetes_jobs_check_out_and_their_command_lines_give_one_run_of_the_night() {
    let claim = yaml("volume.yaml");
    assert_eq!(
        text(&claim, "/kind", "volume.yaml"),
        "PersistentVolumeClaim"
    );
    let claim_name = text(&claim, "/metadata/name", "volume.yaml");
    let modes = strings(
        at(&claim, "/spec/accessModes", "volume.yaml"),
        "volume.yaml",
    );
    assert!(
        modes.iter().any(|m| m == "ReadWriteMany"),
        "volume.yaml: the shards' pods write at once from several nodes"
    );

    let night = yaml("night.yaml");
    let what = "night.yaml";
    assert_eq!(text(&night, "/spec/completionMode", what), "Indexed");
    let count = at(&night, "/spec/completions", what).as_u64().unwrap();
    let parallelism = at(&night, "/spec/parallelism", what).as_u64().unwrap();
    assert!(
        (1..=count).contains(&parallelism),
        "{what}: parallelism {parallelism} of {count} completions"
    );
    assert!(
        at(&night, "/spec/backoffLimitPerIndex", what).is_u64(),
        "{what}: backoffLimitPerIndex"
    );
    let rules = at(&night, "/spec/podFailurePolicy/rules", what)
        .as_array()
        .unwrap();
    assert!(
        rules.iter().any(|r| r["action"] == "FailIndex"
            && r.pointer("/onExitCodes/values").and_then(Value::as_array)
                == Some(&vec![Value::from(2)])),
        "{what}: exit 2 (nothing could be done) fails its index at once"
    );
    let workers = job(what, &night, claim_name);
    assert_eq!(workers.len(), 1, "{what}: one container");
    let worker = &workers[0];
    assert_eq!(worker.args[0], "batch");
    assert_eq!(
        flag(&worker.args, "--shard", what),
        format!("auto/{count}"),
        "{what}: as many shards as completions"
    );
    let out = flag(&worker.args, "--out", what);
    let results = out
        .strip_suffix("/shard-$(JOB_COMPLETION_INDEX)")
        .unwrap_or_else(|| panic!("{what}: --out {out} is not …/shard-$(JOB_COMPLETION_INDEX)"));

    let merge = yaml("merge.yaml");
    let steps = job("merge.yaml", &merge, claim_name);
    let [merger, reporter] = &steps[..] else {
        panic!("merge.yaml: the merge, then the report");
    };
    assert_eq!(merger.args[0], "merge");
    let merged = flag(&merger.args, "--out", "merge.yaml").to_string();
    let listed: Vec<&str> = merger.args[1..]
        .iter()
        .map(String::as_str)
        .filter(|a| a.starts_with('/') && *a != merged)
        .collect();
    let written: Vec<String> = (0..count).map(|i| format!("{results}/shard-{i}")).collect();
    assert_eq!(
        listed, written,
        "merge.yaml merges what night.yaml's pods write"
    );
    assert_eq!(reporter.args[..2], ["report".to_string(), merged.clone()]);
    for c in [merger, reporter] {
        assert_eq!(
            c.env, worker.env,
            "{}: the same night as night.yaml's",
            c.what
        );
    }

    // The command lines, run: the volume holds the night's manifest and scripts where the
    // worker's arguments say, and gets the results.
    require!(util::encoder());
    let dir = util::tempdir();
    let volumes = dir.path().join("volumes");
    let args = |i| worker.expand(Some(i), &volumes);
    let first = args(0);
    let manifest = PathBuf::from(&first[1]);
    std::fs::create_dir_all(manifest.parent().unwrap()).unwrap();
    let night_csv = shards::night(manifest.parent().unwrap());
    std::fs::rename(night_csv, &manifest).unwrap();
    let scripts = PathBuf::from(flag(&first, "--scripts", what));
    std::fs::create_dir_all(&scripts).unwrap();
    std::fs::copy(util::root().join(ACME), scripts.join("acme-seguros.toml")).unwrap();

    // The whole night in one run, with the worker's own options.
    let whole = dir.path().join("whole");
    let mut one: Vec<String> = Vec::new();
    let mut rest = first.iter();
    while let Some(a) = rest.next() {
        match a.as_str() {
            "--shard" => drop(rest.next()),
            "--out" => {
                rest.next();
                one.extend(["--out".into(), whole.display().to_string()]);
            }
            _ => one.push(a.clone()),
        }
    }
    let o = output(&mut worker.command(&one, None));
    assert_eq!(o.status.code(), Some(1), "one run: {}", shards::stderr(&o));

    // The pods, at once as with parallelism = completions.
    let pods: Vec<(usize, Child)> = (0..count as usize)
        .map(|i| {
            let child = worker
                .command(&args(i), Some(i))
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .unwrap();
            (i, child)
        })
        .collect();
    for (i, pod) in pods {
        let o = pod.wait_with_output().unwrap();
        // 1: the shard ran to its end with a call failed (the night's missing recording).
        assert!(
            matches!(o.status.code(), Some(0 | 1)),
            "pod {i}: {}",
            shards::stderr(&o)
        );
        let said = format!("shard {i}/{count} (from JOB_COMPLETION_INDEX={i})");
        assert!(
            shards::stderr(&o).contains(&said),
            "pod {i}: {}",
            shards::stderr(&o)
        );
    }
    for c in [merger, reporter] {
        let o = output(&mut c.command(&c.expand(None, &volumes), None));
        assert!(o.status.success(), "{}: {}", c.what, shards::stderr(&o));
    }
    let merged = PathBuf::from(flag(&merger.expand(None, &volumes), "--out", "merge.yaml"));
    shards::assert_same_night(&whole, &merged, "Kubernetes' pods and merge Job");
    assert!(merged.join("report.html").is_file());
    for file in FILES {
        assert!(merged.join(file).is_file(), "{file}");
    }
}
