//! The pgBackRest path: `pgbackrest restore` into the throwaway folder, and
//! the stanza's WAL fetched with `archive-get` into `<root>/wal`, where the
//! same archive walk and the same `restore_command` read it as for a plain
//! archive. pgBackRest always gets `--pg1-path=<throwaway>`,
//! `--tablespace-map-all=<throwaway>/tblspc` and `--archive-mode=off`, so
//! neither the production data directory nor its tablespaces are written.

use super::restore::{make_dir, tablespace_root};
use super::tools::{run_tool, Tool};
use super::wal::{self, BackupLabel, Segment};
use super::DrillError;
use crate::demo::binaries::ServerUser;
use crate::demo::owner::DemoFolder;
use crate::model::untrusted;
use std::path::{Path, PathBuf};

/// Where Debian's package installs the program.
pub const PGBACKREST: &str = "pgbackrest";

/// Finds `pgbackrest` on PATH; bad input when it is missing.
pub fn find_program() -> Result<PathBuf, DrillError> {
    std::env::var_os("PATH")
        .map(|path| std::env::split_paths(&path).collect::<Vec<_>>())
        .unwrap_or_default()
        .into_iter()
        .map(|dir| dir.join(PGBACKREST))
        .find(|p| p.is_file())
        .ok_or_else(|| {
            DrillError::Input(
                "pgbackrest is not installed: apt-get install pgbackrest (Debian/Ubuntu)".into(),
            )
        })
}

/// One stanza and how to reach it.
#[derive(Debug, Clone)]
pub struct Stanza {
    pub tool: Tool,
    pub name: String,
    pub config: Option<PathBuf>,
}

impl Stanza {
    /// `--config` (when given) and `--stanza`, then `rest`.
    fn args(&self, rest: &[String]) -> Vec<String> {
        let mut args: Vec<String> = self
            .config
            .iter()
            .map(|c| format!("--config={}", c.display()))
            .collect();
        args.push(format!("--stanza={}", self.name));
        args.extend_from_slice(rest);
        args
    }
}

/// The stanza's newest archived segment name, from `pgbackrest info`.
pub fn newest_archived(stanza: &Stanza) -> Result<String, DrillError> {
    let (tool, name) = (&stanza.tool, &stanza.name);
    let out = run_tool(tool, &stanza.args(&["--output=json".into(), "info".into()]))?;
    if !out.success {
        return Err(DrillError::Input(format!(
            "pgbackrest info for stanza {name:?} failed: {}",
            untrusted::shown(out.stderr.trim(), 300)
        )));
    }
    let info: serde_json::Value =
        serde_json::from_str(&out.stdout).map_err(|e| DrillError::Tool {
            program: PGBACKREST.into(),
            detail: format!("info is not JSON: {e}"),
        })?;
    let stanza_info = info.as_array().and_then(|a| a.first());
    if stanza_info
        .and_then(|s| s.get("backup"))
        .and_then(|b| b.as_array())
        .is_none_or(|b| b.is_empty())
    {
        return Err(DrillError::Input(format!(
            "the pgbackrest stanza {name:?} has no backup to restore"
        )));
    }
    stanza_info
        .and_then(|s| s.get("archive"))
        .and_then(|a| a.as_array())
        .and_then(|a| a.iter().filter_map(|x| x.get("max")?.as_str()).max())
        .map(str::to_string)
        .ok_or_else(|| {
            DrillError::Input(format!(
                "the pgbackrest stanza {name:?} has no archived WAL"
            ))
        })
}

/// `pgbackrest restore` of the newest backup into `folder.data`.
pub fn restore(stanza: &Stanza, folder: &DemoFolder, user: &ServerUser) -> Result<(), DrillError> {
    make_dir(&folder.data, user)?;
    make_dir(&tablespace_root(folder), user)?;
    let args = stanza.args(&[
        format!("--pg1-path={}", folder.data.display()),
        format!("--tablespace-map-all={}", tablespace_root(folder).display()),
        // The recovery settings pgbackrest writes are replaced by the
        // drill's own (config.rs), which read the WAL fetched below.
        "--archive-mode=off".into(),
        "--log-level-console=warn".into(),
        "restore".into(),
    ]);
    let out = run_tool(&stanza.tool, &args)?;
    if !out.success {
        return Err(DrillError::Input(format!(
            "pgbackrest restore of stanza {:?} failed: {}",
            stanza.name,
            untrusted::shown(out.stderr.trim().lines().last().unwrap_or(""), 300)
        )));
    }
    Ok(())
}

/// Fetches the segments from the label's start to `newest` (and the
/// newest timeline's history) into `into`. A segment the repository does
/// not have is left out: the walk then names it as missing.
pub fn fetch_wal(
    stanza: &Stanza,
    label: &BackupLabel,
    newest: &str,
    segment_size: u64,
    into: &Path,
) -> Result<(), DrillError> {
    let Some(last) = Segment::parse(newest, segment_size) else {
        return Err(DrillError::Tool {
            program: PGBACKREST.into(),
            detail: format!("info names {newest:?}, not a WAL file"),
        });
    };
    let mut names = Vec::new();
    if last.timeline > label.start_timeline {
        names.push(wal::history_file_name(last.timeline));
    }
    let first = label.start_lsn.segno(segment_size);
    for segno in first..=last.segno {
        // Within one stanza the timeline of each segment is the one in its
        // name; pgbackrest finds it across timelines by name.
        let timeline = if segno == last.segno {
            last.timeline
        } else {
            label.start_timeline.max(1)
        };
        names.push(Segment { timeline, segno }.file_name(segment_size));
    }
    for name in names {
        let target = into.join(&name);
        let out = run_tool(
            &stanza.tool,
            &stanza.args(&[
                "archive-get".into(),
                name.clone(),
                target.display().to_string(),
            ]),
        )?;
        // Exit 1 is "not in the repository": the walk reports the gap.
        if !out.success && out.stderr.contains("ERROR") && !out.stderr.contains("unable to find") {
            return Err(DrillError::Tool {
                program: PGBACKREST.into(),
                detail: format!(
                    "archive-get {name}: {}",
                    untrusted::shown(out.stderr.trim(), 300)
                ),
            });
        }
    }
    Ok(())
}
