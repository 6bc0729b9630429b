//! Prism Central's task list, as its API prints it: per task, when it was created (the
//! POST), when the task engine gave it a slot and started it, and when it completed.
//! These three times separate a VM operation's queueing (created → started) from the
//! time it held a slot (started → completed), which the Machines' conditions cannot.
//!
//! Two formats are read:
//! - v4 (`GET /api/prism/v4.0/config/tasks`): `{"data": [...]}` (or a bare array) of
//!   tasks with `operation`, `status`, `createdTime`, `startedTime`, `completedTime`
//!   (RFC 3339) and, for a subtask, `parentTask`;
//! - v3 (`POST /api/nutanix/v3/tasks/list`): `{"entities": [...]}` with
//!   `operation_type`, `status`, `creation_time_usecs`, `start_time_usecs`,
//!   `completion_time_usecs` and, for a subtask, `parent_task_reference`.
//!
//! Operation names are matched against a list per VM operation ([`operation_kind`]);
//! others (snapshots, power-offs) count as load only.
//!
//! Subtasks are passed over: the root task is the one that holds the slot, and counting
//! its subtasks too would count one operation twice.

use serde_json::Value;

use super::kubectl::parse_time;
use crate::prism_central::TaskKind;

/// One root task [s since the Unix epoch].
#[derive(Clone, Debug, PartialEq)]
pub struct Task {
    /// The VM operation, if it is one capsim models.
    pub kind: Option<TaskKind>,
    /// The operation's name, as written.
    pub operation: String,
    /// Whether it succeeded.
    pub succeeded: bool,
    /// Whether it failed or was aborted or canceled (it held no slot past its end).
    pub status_failed: bool,
    /// Its times disagree (started before created, or completed before started): it
    /// counts as load while it ran, but is not fitted.
    pub skewed: bool,
    /// Created (submitted).
    pub created: f64,
    /// Started (given a slot), if it did.
    pub started: Option<f64>,
    /// Completed, if it did.
    pub completed: Option<f64>,
}

/// Tasks left out or not fitted, by reason [count].
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct TaskExclusions {
    /// Subtasks (their root task is counted).
    pub subtasks: u64,
    /// Root tasks of operations capsim does not model (they still hold slots), by
    /// operation name.
    pub other_names: std::collections::BTreeMap<String, u64>,
    /// VM operations not finished, or failed.
    pub unfinished_or_failed: u64,
    /// Started before created or completed before started (counted as load, not fitted).
    pub clock_skew: u64,
}

/// The operation names read as each VM operation, lower-cased without punctuation: the
/// v4 API's (`CreateVm`), v3's (`VmCreate`) and Prism Element's (`kVmCreate`). Any other
/// name (a snapshot, a recovery point, a power-off, a disk update) is load only; the
/// report lists the names it passed over.
const OPERATIONS: [(TaskKind, &[&str]); 4] = [
    (
        TaskKind::VmCreate,
        &[
            "createvm",
            "vmcreate",
            "kvmcreate",
            "clonevm",
            "vmclone",
            "kvmclone",
        ],
    ),
    (TaskKind::VmUpdate, &["updatevm", "vmupdate", "kvmupdate"]),
    (
        TaskKind::VmPowerOn,
        &["poweronvm", "vmpoweron", "kvmpoweron"],
    ),
    (TaskKind::VmDelete, &["deletevm", "vmdelete", "kvmdelete"]),
];

impl TaskExclusions {
    /// Root tasks of operations capsim does not model.
    pub fn other_operations(&self) -> u64 {
        self.other_names.values().sum()
    }

    /// Adds another file's.
    pub fn add(&mut self, other: TaskExclusions) {
        self.subtasks += other.subtasks;
        self.unfinished_or_failed += other.unfinished_or_failed;
        self.clock_skew += other.clock_skew;
        for (name, n) in other.other_names {
            *self.other_names.entry(name).or_default() += n;
        }
    }
}

/// The VM operation an operation name stands for, if it is one capsim models.
pub fn operation_kind(name: &str) -> Option<TaskKind> {
    let n: String = name
        .chars()
        .filter(char::is_ascii_alphanumeric)
        .collect::<String>()
        .to_ascii_lowercase();
    OPERATIONS
        .iter()
        .find(|(_, names)| names.contains(&n.as_str()))
        .map(|(k, _)| *k)
}

/// The root tasks of one task list `text` (file `source`), and those left out.
pub fn parse_tasks(text: &str, source: &str) -> Result<(Vec<Task>, TaskExclusions), String> {
    if text.trim().is_empty() {
        return Err(format!(
            "{source}: empty; expected Prism Central's task list (v4 GET \
             /api/prism/v4.0/config/tasks or v3 POST /api/nutanix/v3/tasks/list)"
        ));
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("{source}: not JSON ({e}); expected Prism Central's task list"))?;
    let (items, v3) = match (&v, v.get("data"), v.get("entities")) {
        (Value::Array(a), _, _) => (a, false),
        (_, Some(Value::Array(a)), _) => (a, false),
        (_, _, Some(Value::Array(a))) => (a, true),
        _ => {
            return Err(format!(
                "{source}: not a Prism Central task list: expected a \"data\" array (v4) or \
                 an \"entities\" array (v3)"
            ));
        }
    };
    let mut out = Vec::new();
    let mut ex = TaskExclusions::default();
    let field = if v3 {
        [
            "operation_type",
            "creation_time_usecs",
            "start_time_usecs",
            "completion_time_usecs",
        ]
    } else {
        ["operation", "createdTime", "startedTime", "completedTime"]
    };
    for (i, item) in items.iter().enumerate() {
        let at = |f: &str| format!("{source}: [{i}].{f}");
        let parent = if v3 {
            "parent_task_reference"
        } else {
            "parentTask"
        };
        if item.get(parent).is_some_and(|p| !p.is_null()) {
            ex.subtasks += 1;
            continue;
        }
        let operation = item
            .get(field[0])
            .and_then(Value::as_str)
            .ok_or_else(|| format!("{}: missing or not a string", at(field[0])))?
            .to_string();
        let time = |f: &str| -> Result<Option<f64>, String> {
            match item.get(f) {
                None | Some(Value::Null) => Ok(None),
                Some(Value::String(s)) if !v3 => parse_time(s)
                    .map(Some)
                    .ok_or_else(|| format!("{}: {s:?} is not an RFC 3339 time", at(f))),
                Some(Value::Number(n)) if v3 => n
                    .as_f64()
                    .map(|us| Some(us / 1e6))
                    .ok_or_else(|| format!("{}: not microseconds", at(f))),
                // v3 prints the microseconds as strings in some versions.
                Some(Value::String(s)) => s
                    .parse::<f64>()
                    .map(|us| Some(us / 1e6))
                    .map_err(|_| format!("{}: {s:?} is not microseconds", at(f))),
                Some(other) => Err(format!("{}: {other} is not a time", at(f))),
            }
        };
        let created = time(field[1])?.ok_or_else(|| format!("{}: missing", at(field[1])))?;
        let (started, completed) = (time(field[2])?, time(field[3])?);
        let status = item
            .get("status")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let kind = operation_kind(&operation);
        if kind.is_none() {
            *ex.other_names.entry(operation.clone()).or_default() += 1;
        }
        let skewed = matches!(started, Some(s) if s < created)
            || matches!((started, completed), (Some(s), Some(c)) if c < s);
        if skewed {
            ex.clock_skew += 1;
        }
        let upper = status.to_ascii_uppercase();
        if kind.is_some() && (upper != "SUCCEEDED" || completed.is_none()) {
            ex.unfinished_or_failed += 1;
        }
        out.push(Task {
            kind,
            operation,
            succeeded: upper == "SUCCEEDED",
            status_failed: matches!(upper.as_str(), "FAILED" | "ABORTED" | "CANCELED"),
            skewed,
            created,
            // A completion before the start is unreadable: the task ran from its start.
            started,
            completed: completed.map(|c| started.map_or(c, |s| c.max(s))),
        });
    }
    Ok((out, ex))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn operation_names_of_both_api_versions_are_read_and_others_are_load_only() {
        for (name, kind) in [
            ("CreateVm", Some(TaskKind::VmCreate)),
            ("kVmCreate", Some(TaskKind::VmCreate)),
            ("VmClone", Some(TaskKind::VmCreate)),
            ("PowerOnVm", Some(TaskKind::VmPowerOn)),
            ("kVmPowerOn", Some(TaskKind::VmPowerOn)),
            ("UpdateVm", Some(TaskKind::VmUpdate)),
            ("DeleteVm", Some(TaskKind::VmDelete)),
            ("CreateImage", None),
            ("CreateVmSnapshot", None),
            ("VmSnapshotCreate", None),
            ("CreateVmRecoveryPoint", None),
            ("PowerOffVm", None),
            ("kVmSetPowerState", None),
        ] {
            assert_eq!(operation_kind(name), kind, "{name}");
        }
    }

    #[test]
    fn v3_and_v4_lists_give_the_same_times_and_subtasks_are_passed_over() {
        let v4 = r#"{"data": [
            {"operation": "CreateVm", "status": "SUCCEEDED", "createdTime": "2026-11-30T00:00:00Z",
             "startedTime": "2026-11-30T00:00:10Z", "completedTime": "2026-11-30T00:01:10Z"},
            {"operation": "kVmCreate", "status": "SUCCEEDED", "parentTask": {"taskExtId": "x"},
             "createdTime": "2026-11-30T00:00:10Z", "startedTime": "2026-11-30T00:00:10Z",
             "completedTime": "2026-11-30T00:01:09Z"}]}"#;
        let v3 = r#"{"entities": [
            {"operation_type": "VmCreate", "status": "SUCCEEDED",
             "creation_time_usecs": 1795996800000000, "start_time_usecs": 1795996810000000,
             "completion_time_usecs": 1795996870000000}]}"#;
        let (a, ea) = parse_tasks(v4, "v4.json").unwrap();
        let (b, _) = parse_tasks(v3, "v3.json").unwrap();
        assert_eq!(ea.subtasks, 1);
        assert_eq!(a.len(), 1);
        let times = |t: &Task| (t.kind, t.created, t.started, t.completed, t.succeeded);
        assert_eq!(times(&a[0]), times(&b[0]));
        assert_eq!(a[0].started.unwrap() - a[0].created, 10.0);
    }

    #[test]
    fn bad_lists_are_refused_by_file_and_field() {
        let e = parse_tasks("  ", "t.json").unwrap_err();
        assert!(e.starts_with("t.json: empty"), "{e}");
        let e = parse_tasks("{\"items\": []}", "t.json").unwrap_err();
        assert!(e.starts_with("t.json: ") && e.contains("\"data\""), "{e}");
        let e = parse_tasks(
            r#"{"data": [{"operation": "CreateVm", "createdTime": "noon"}]}"#,
            "t.json",
        )
        .unwrap_err();
        assert!(e.contains("[0].createdTime") && e.contains("noon"), "{e}");
        let skew = r#"{"data": [{"operation": "CreateVm", "status": "SUCCEEDED",
            "createdTime": "2026-11-30T00:01:00Z", "startedTime": "2026-11-30T00:00:00Z",
            "completedTime": "2026-11-30T00:02:00Z"}]}"#;
        let (t, ex) = parse_tasks(skew, "t.json").unwrap();
        assert!(t.len() == 1 && t[0].skewed, "{t:?}");
        assert_eq!(ex.clock_skew, 1);
    }
}
