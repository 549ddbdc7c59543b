//! The Fleet page: open an inventory or service file, watch its targets
//! finish, and read the target × section matrix — each cell the worst status
//! of that section in its colour and how many checks have it, unreachable
//! targets marked with the reason. Filters by group and tag and the sort
//! order are edited in place; a click on a cell asks to open that target at
//! that section (a click on the name, at its overview).
//!
//! Layer 3 (drawing): takes the [`FleetView`] it shows and pushes
//! [`Command`]s; imports no other `*_ui` module.

use super::command::Command;
use super::fleet::{FleetSort, FleetView};
use super::theme::{self, space};
use super::widgets;
use crate::fleet::summary::{short, Outcome, TargetRow};
use crate::model::finding::Section;
use crate::model::untrusted;
use eframe::egui::{self, RichText, Ui};

/// The whole page.
pub fn fleet_page_ui(ui: &mut Ui, view: &mut FleetView, out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    ui.horizontal(|ui| {
        ui.heading("Fleet");
        ui.add_space(space::L);
        if ui
            .add_enabled(!view.running, egui::Button::new("Open inventory…"))
            .on_hover_text(
                "Scan every target of a TOML inventory or a pg_service.conf, 16 at a time",
            )
            .clicked()
        {
            out.push(Command::OpenFleetInventory);
        }
        let finished = !view.running && !view.rows.is_empty();
        if ui
            .add_enabled(finished, egui::Button::new("Export signed PDF…"))
            .on_hover_text(
                "The matrix and one chapter per target, signed with your report identity",
            )
            .on_disabled_hover_text("Available once every target of a run has finished")
            .clicked()
        {
            out.push(Command::ExportFleetReport);
        }
    });
    ui.add_space(space::S);
    if let Some(error) = &view.error {
        widgets::banner(ui, theme::NoticeKind::Error, &untrusted::text(error), None);
        ui.add_space(space::S);
    }
    let Some(path) = &view.inventory else {
        if !view.running {
            ui.label(
                RichText::new(
                    "Open a fleet inventory (TOML) or a libpq service file to scan many servers at once. \
                     Each finished target appears here as it completes.",
                )
                .color(palette.muted),
            );
        }
        return;
    };
    let (not_scanned, failing) = view.counts();
    ui.horizontal(|ui| {
        if view.running {
            ui.spinner();
        }
        ui.label(format!(
            "{} · {} of {} targets finished · {} failing a check · {} not scanned",
            untrusted::text(&path.display().to_string()),
            view.rows.len(),
            view.total,
            failing,
            not_scanned
        ));
    });
    ui.add_space(space::S);
    filters_ui(ui, view);
    ui.add_space(space::S);
    egui::ScrollArea::both()
        .auto_shrink([false, false])
        .show(ui, |ui| matrix_ui(ui, &view.visible_rows(), out));
}

fn filters_ui(ui: &mut Ui, view: &mut FleetView) {
    let (groups, tags) = view.groups_and_tags();
    ui.horizontal(|ui| {
        egui::ComboBox::from_label("Group")
            .selected_text(view.group.clone().unwrap_or_else(|| "All groups".into()))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut view.group, None, "All groups");
                for group in groups {
                    let shown = untrusted::name(&group);
                    ui.selectable_value(&mut view.group, Some(group), shown);
                }
            });
        ui.add_space(space::M);
        egui::ComboBox::from_label("Tag")
            .selected_text(view.tag.clone().unwrap_or_else(|| "All tags".into()))
            .show_ui(ui, |ui| {
                ui.selectable_value(&mut view.tag, None, "All tags");
                for tag in tags {
                    let shown = untrusted::name(&tag);
                    ui.selectable_value(&mut view.tag, Some(tag), shown);
                }
            });
        ui.add_space(space::M);
        egui::ComboBox::from_label("Sort")
            .selected_text(sort_label(view.sort))
            .show_ui(ui, |ui| {
                for sort in [FleetSort::Name, FleetSort::Worst, FleetSort::Group] {
                    ui.selectable_value(&mut view.sort, sort, sort_label(sort));
                }
            });
    });
}

fn sort_label(sort: FleetSort) -> &'static str {
    match sort {
        FleetSort::Name => "By name",
        FleetSort::Worst => "Worst first",
        FleetSort::Group => "By group",
    }
}

fn matrix_ui(ui: &mut Ui, rows: &[&TargetRow], out: &mut Vec<Command>) {
    let palette = widgets::palette(ui);
    egui::Grid::new("fleet_matrix")
        .striped(true)
        .spacing([space::S, space::XS])
        .show(ui, |ui| {
            ui.label(RichText::new("Target").strong());
            ui.label(RichText::new("Group").strong());
            for section in Section::ALL {
                ui.label(RichText::new(format!("{}", section.number())).strong())
                    .on_hover_text(section.title());
            }
            ui.end_row();
            for row in rows {
                let name = untrusted::name(&row.name);
                if ui
                    .link(&name)
                    .on_hover_text(untrusted::text(&row.connection))
                    .clicked()
                    && row.outcome == Outcome::Scanned
                {
                    out.push(Command::OpenFleetTarget {
                        name: row.name.clone(),
                        section: None,
                    });
                }
                ui.label(untrusted::name(row.group.as_deref().unwrap_or("—")));
                if row.outcome != Outcome::Scanned {
                    let why =
                        untrusted::one_line(row.error.as_deref().unwrap_or("no reason given"));
                    ui.label(
                        RichText::new(format!("{} — {why}", row.outcome.as_str().to_uppercase()))
                            .color(palette.fail)
                            .strong(),
                    );
                    ui.end_row();
                    continue;
                }
                for section in Section::ALL {
                    let Some(cell) = row.sections.get(&section) else {
                        ui.label("—");
                        continue;
                    };
                    let colour = palette.status(cell.worst);
                    let text = format!("{} {}", short(cell.worst), cell.counts.count(cell.worst));
                    let button = egui::Button::new(RichText::new(text).color(colour).strong())
                        .fill(palette.tint(colour));
                    if ui
                        .add(button)
                        .on_hover_text(format!(
                            "{}: {} — open this section",
                            untrusted::name(&row.name),
                            section.title()
                        ))
                        .clicked()
                    {
                        out.push(Command::OpenFleetTarget {
                            name: row.name.clone(),
                            section: Some(section),
                        });
                    }
                }
                ui.end_row();
            }
        });
}
