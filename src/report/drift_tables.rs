//! A [`Drift`] drawn as tables, for the single-scan report's "Changes since
//! the previous scan" chapter and the audit-period report's drift between
//! scans: the checks whose standing or rows moved (worst first), then the
//! objects that appeared, disappeared or changed, grouped by kind, then what
//! could not be compared. Long lists are cut with a line saying how many
//! more the embedded data holds. Server text goes through [`untrusted`].

use super::doc::{status_cell, table_style, CELL, CELL_BOLD, CELL_MONO, SMALL};
use super::layout::{Align, Column, Composer, Face, Row, Span, Style, CONTENT_WIDTH};
use super::palette::{status_color, MUTED, NAVY};
use crate::drift::{Appearance, Change, CheckChange, Drift, ObjectChange, ObjectKind};
use crate::model::finding::Status;
use crate::model::untrusted;

/// Rows of one check named before "… and N more".
const CHECK_ROWS_SHOWN: usize = 12;
/// Object changes listed per drift before "… and N more".
const OBJECTS_SHOWN: usize = 60;

/// The order checks are listed in: what got worse first.
const CHANGE_ORDER: [Change; 5] = [
    Change::NewFail,
    Change::Regressed,
    Change::Fixed,
    Change::Improved,
    Change::Unchanged,
];

pub(super) fn change_word(change: Change) -> &'static str {
    match change {
        Change::NewFail => "newly failing",
        Change::Regressed => "regressed",
        Change::Fixed => "fixed",
        Change::Improved => "improved",
        Change::Unchanged => "rows changed",
    }
}

fn change_style(change: Change) -> Style {
    let color = match change {
        Change::NewFail | Change::Regressed => status_color(Status::Fail),
        Change::Fixed | Change::Improved => status_color(Status::Pass),
        Change::Unchanged => NAVY,
    };
    Style::new(Face::Bold, 7.8, color)
}

fn appearance_word(change: Appearance) -> &'static str {
    match change {
        Appearance::Appeared => "appeared",
        Appearance::Disappeared => "disappeared",
        Appearance::Changed => "changed",
    }
}

/// "checks: 2 newly failing · 1 fixed · 3 with changed rows; objects: 3
/// appeared · 1 changed".
pub(super) fn counts_line(drift: &Drift) -> String {
    let c = drift.counts();
    let rows_only = drift
        .checks
        .iter()
        .filter(|x| x.change == Change::Unchanged && x.is_notable())
        .count();
    let listed = |parts: &[(usize, &str)]| -> Vec<String> {
        parts
            .iter()
            .filter(|(n, _)| *n > 0)
            .map(|(n, w)| format!("{n} {w}"))
            .collect()
    };
    let checks = listed(&[
        (c.new_fail, "newly failing"),
        (c.regressed, "regressed"),
        (c.fixed, "fixed"),
        (c.improved, "improved"),
        (rows_only, "with changed rows"),
    ]);
    let objects = listed(&[
        (c.appeared, "appeared"),
        (c.disappeared, "disappeared"),
        (c.changed, "changed"),
    ]);
    let checks = if checks.is_empty() {
        "no check changed".to_string()
    } else {
        format!("checks: {}", checks.join(" · "))
    };
    let objects = if objects.is_empty() {
        "no object changed".to_string()
    } else {
        format!("objects: {}", objects.join(" · "))
    };
    format!("{checks}; {objects}")
}

/// The checks whose standing or rows moved, worst first; false when none did.
pub(super) fn checks_table(c: &mut Composer<'_>, drift: &Drift) -> bool {
    let mut notable: Vec<&CheckChange> = drift.checks.iter().filter(|x| x.is_notable()).collect();
    if notable.is_empty() {
        return false;
    }
    notable.sort_by_key(|x| CHANGE_ORDER.iter().position(|c| *c == x.change));
    let columns = [
        Column::new("Check", 2.8),
        Column::new("Change", 1.0),
        Column::new("Before", 0.9).aligned(Align::Center),
        Column::new("Now", 0.9).aligned(Align::Center),
        Column::new("Rows appeared (+) and gone (−)", 2.6),
    ];
    let rows: Vec<Row> = notable
        .iter()
        .map(|x| {
            Row::Cells(vec![
                vec![
                    Span::new(untrusted::name(&x.id), CELL_BOLD),
                    Span::new(
                        format!("\n{}", untrusted::text(&x.title)),
                        Style::new(Face::Regular, 6.6, MUTED),
                    ),
                ],
                vec![Span::new(change_word(x.change), change_style(x.change))],
                status_cell(x.old),
                status_cell(x.new),
                vec![Span::new(rows_text(x), CELL_MONO)],
            ])
        })
        .collect();
    c.table(&columns, &rows, &table_style());
    true
}

fn rows_text(x: &CheckChange) -> String {
    let mut lines: Vec<String> = Vec::new();
    for (mark, names) in [("+", &x.appeared), ("−", &x.disappeared)] {
        lines.extend(
            names
                .iter()
                .take(CHECK_ROWS_SHOWN)
                .map(|n| format!("{mark} {}", untrusted::text(n))),
        );
        if names.len() > CHECK_ROWS_SHOWN {
            lines.push(format!(
                "{mark} … and {} more",
                names.len() - CHECK_ROWS_SHOWN
            ));
        }
    }
    lines.join("\n")
}

/// The objects that appeared, disappeared or changed, by kind; false when none did.
pub(super) fn objects_table(c: &mut Composer<'_>, drift: &Drift) -> bool {
    if drift.objects.is_empty() {
        return false;
    }
    let columns = [
        Column::new("Object", 3.0),
        Column::new("Change", 0.9),
        Column::new("Before → now", 3.2),
    ];
    let mut rows = Vec::new();
    let mut shown = 0;
    for kind in ObjectKind::ALL {
        let of_kind: Vec<&ObjectChange> = drift.objects.iter().filter(|o| o.kind == kind).collect();
        if of_kind.is_empty() || shown >= OBJECTS_SHOWN {
            continue;
        }
        rows.push(Row::Group(vec![Span::new(
            format!("{} ({})", kind.title(), of_kind.len()),
            Style::new(Face::Bold, 8.2, NAVY),
        )]));
        for o in of_kind.iter().take(OBJECTS_SHOWN - shown) {
            rows.push(object_row(o));
            shown += 1;
        }
    }
    if drift.objects.len() > shown {
        rows.push(Row::Group(vec![Span::new(
            format!(
                "… and {} more object changes (all in the embedded data)",
                drift.objects.len() - shown
            ),
            SMALL,
        )]));
    }
    c.table(&columns, &rows, &table_style());
    true
}

fn object_row(o: &ObjectChange) -> Row {
    let values = match (&o.before, &o.after) {
        (Some(b), Some(a)) => format!("{} → {}", untrusted::text(b), untrusted::text(a)),
        (Some(b), None) => untrusted::text(b),
        (None, Some(a)) => untrusted::text(a),
        (None, None) => String::new(),
    };
    let style = match o.change {
        Appearance::Appeared => CELL_BOLD,
        Appearance::Disappeared | Appearance::Changed => CELL,
    };
    Row::Cells(vec![
        vec![Span::new(untrusted::text(&o.name), CELL_MONO)],
        vec![Span::new(appearance_word(o.change), style)],
        vec![Span::new(values, CELL_MONO)],
    ])
}

/// What could not be compared, one small paragraph each.
pub(super) fn notes(c: &mut Composer<'_>, drift: &Drift) {
    for note in &drift.notes {
        c.paragraph(
            &[
                Span::new("Not compared: ", Style::new(Face::Bold, 7.5, MUTED)),
                Span::new(untrusted::text(note), SMALL),
            ],
            0.0,
            CONTENT_WIDTH,
        );
        c.space(3.0);
    }
}
