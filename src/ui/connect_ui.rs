//! The start screen: the connect form (fields or one connection string),
//! saved profiles, the demo entry and "open a session".
//!
//! The form turns into [`ConnParams`] through the same libpq-compatible parser
//! the CLI uses, so PG* variables, defaults and ~/.pgpass apply as in psql.
//! The password lives only in this form and in the live connection's
//! parameters; it is cleared after a successful connect and never written to
//! a profile. Every failure is shown inline under the form.

use super::command::Command;
use super::jobs::CertSlot;
use super::profiles::{ConnectionProfile, Prefs};
use super::state::{ScanKind, ScanState};
use super::theme::{self, space};
use super::widgets;
use crate::model::conninfo::{quote_value, ConnParams, Password, SslMode};
use eframe::egui;
use egui::{RichText, TextEdit, Ui};
use std::path::PathBuf;

/// The connect form's fields (runtime state; never persisted as such).
#[derive(Debug, Clone, PartialEq)]
pub struct ConnectForm {
    /// Show the single connection-string field instead of the fields.
    pub use_conn_string: bool,
    pub conn_string: String,
    pub host: String,
    pub port: String,
    pub dbname: String,
    pub user: String,
    pub password: String,
    pub sslmode: SslMode,
    pub sslrootcert: String,
    pub sslcert: String,
    pub sslkey: String,
    /// The last failure, shown inline.
    pub error: Option<String>,
}

impl Default for ConnectForm {
    fn default() -> Self {
        ConnectForm {
            use_conn_string: false,
            conn_string: String::new(),
            host: String::new(),
            port: String::new(),
            dbname: String::new(),
            user: String::new(),
            password: String::new(),
            sslmode: SslMode::VerifyFull,
            sslrootcert: String::new(),
            sslcert: String::new(),
            sslkey: String::new(),
            error: None,
        }
    }
}

fn path_text(path: &Option<PathBuf>) -> String {
    path.as_ref()
        .map(|p| p.display().to_string())
        .unwrap_or_default()
}

impl ConnectForm {
    /// Pre-filled as psql would: PG* variables and libpq's defaults. The
    /// password field stays empty; ~/.pgpass is consulted again at connect.
    pub fn from_environment() -> ConnectForm {
        match ConnParams::from_conninfo("") {
            Ok(params) => ConnectForm::from_params(&params),
            Err(e) => ConnectForm {
                error: Some(e.to_string()),
                ..ConnectForm::default()
            },
        }
    }

    pub fn from_params(params: &ConnParams) -> ConnectForm {
        ConnectForm {
            host: params.host.clone(),
            port: params.port.to_string(),
            dbname: params.dbname.clone(),
            user: params.user.clone(),
            sslmode: params.sslmode,
            sslrootcert: path_text(&params.sslrootcert),
            sslcert: path_text(&params.sslcert),
            sslkey: path_text(&params.sslkey),
            ..ConnectForm::default()
        }
    }

    /// The key=value conninfo of the fields, without the password.
    fn fields_conninfo(&self) -> Result<String, String> {
        let port = self.port.trim();
        if !port.is_empty() && !matches!(port.parse::<u16>(), Ok(p) if p > 0) {
            return Err(format!(
                "port {port:?} is not a number from 1 to 65535: correct the Port field"
            ));
        }
        let pairs = [
            ("host", self.host.trim()),
            ("port", port),
            ("dbname", self.dbname.trim()),
            ("user", self.user.trim()),
            ("sslrootcert", self.sslrootcert.trim()),
            ("sslcert", self.sslcert.trim()),
            ("sslkey", self.sslkey.trim()),
        ];
        let mut parts: Vec<String> = pairs
            .iter()
            .filter(|(_, value)| !value.is_empty())
            .map(|(key, value)| format!("{key}={}", quote_value(value)))
            .collect();
        parts.push(format!("sslmode={}", self.sslmode.as_str()));
        Ok(parts.join(" "))
    }

    /// The connection parameters, or one line saying what to correct.
    pub fn to_params(&self) -> Result<ConnParams, String> {
        let conninfo = if self.use_conn_string {
            let text = self.conn_string.trim();
            if text.is_empty() {
                return Err("enter a connection string, e.g. \
                     postgresql://scanner@db.example.org/clinic?sslmode=verify-full"
                    .to_string());
            }
            text.to_string()
        } else {
            self.fields_conninfo()?
        };
        let mut params =
            ConnParams::from_conninfo(&conninfo).map_err(|e| self.redact(&e.to_string()))?;
        if !self.password.is_empty() {
            params.password = Some(Password::new(self.password.clone()));
        }
        Ok(params)
    }

    /// A profile of the current form: everything but the password.
    pub fn to_profile(&self) -> Result<ConnectionProfile, String> {
        let mut params = self.to_params()?;
        params.password = None;
        Ok(ConnectionProfile {
            name: format!(
                "{}@{}:{}/{}",
                params.user, params.host, params.port, params.dbname
            ),
            host: params.host.clone(),
            port: params.port.to_string(),
            dbname: params.dbname.clone(),
            user: params.user.clone(),
            sslmode: params.sslmode.as_str().to_string(),
            sslrootcert: path_text(&params.sslrootcert),
            sslcert: path_text(&params.sslcert),
            sslkey: path_text(&params.sslkey),
        })
    }

    pub fn load_profile(&mut self, profile: &ConnectionProfile) {
        *self = ConnectForm {
            host: profile.host.clone(),
            port: profile.port.clone(),
            dbname: profile.dbname.clone(),
            user: profile.user.clone(),
            sslmode: SslMode::parse(&profile.sslmode).unwrap_or(SslMode::VerifyFull),
            sslrootcert: profile.sslrootcert.clone(),
            sslcert: profile.sslcert.clone(),
            sslkey: profile.sslkey.clone(),
            ..ConnectForm::default()
        };
    }

    pub fn set_certificate(&mut self, slot: CertSlot, path: PathBuf) {
        let text = path.display().to_string();
        match slot {
            CertSlot::RootCert => self.sslrootcert = text,
            CertSlot::ClientCert => self.sslcert = text,
            CertSlot::ClientKey => self.sslkey = text,
        }
    }

    /// Remove the typed password from a message, should a lower layer echo it.
    pub fn redact(&self, message: &str) -> String {
        if self.password.is_empty() {
            message.to_string()
        } else {
            message.replace(&self.password, "********")
        }
    }
}

/// Width of the right-hand column (profiles, demo, open session).
const SIDE_WIDTH: f32 = 340.0;
/// Width of a text field in the form (the label column is 150).
const FIELD_WIDTH: f32 = 360.0;

/// The whole start screen.
pub fn start_page_ui(
    ui: &mut Ui,
    form: &mut ConnectForm,
    prefs: &Prefs,
    scan: Option<&ScanState>,
    has_results: bool,
    demo_starting: bool,
    out: &mut Vec<Command>,
) {
    egui::ScrollArea::vertical()
        .id_salt("start_page")
        .auto_shrink([false, false])
        .show(ui, |ui| {
            let total = space::FORM_WIDTH + space::XL + SIDE_WIDTH;
            let side = ((ui.available_width() - total) / 2.0).max(space::L);
            ui.add_space(space::XL);
            ui.horizontal_top(|ui| {
                ui.add_space(side);
                ui.vertical(|ui| {
                    ui.set_width(total);
                    intro_ui(ui);
                });
            });
            ui.horizontal_top(|ui| {
                ui.add_space(side);
                ui.vertical(|ui| {
                    ui.set_width(space::FORM_WIDTH);
                    let connecting = scan.filter(|s| s.kind == ScanKind::Connect);
                    theme::card(widgets::palette(ui)).show(ui, |ui| {
                        form_ui(ui, form, connecting, out);
                    });
                });
                ui.add_space(space::XL);
                ui.vertical(|ui| {
                    ui.set_width(SIDE_WIDTH);
                    side_column_ui(ui, prefs, has_results, demo_starting, out);
                });
            });
            ui.add_space(space::XL);
        });
}

fn intro_ui(ui: &mut Ui) {
    ui.heading("Connect to a PostgreSQL server");
    ui.add_space(space::XS);
    ui.label(
        RichText::new(
            "pgSafeguard reads settings and catalogs in a read-only session. \
             Nothing on the server changes unless you apply a fix yourself.",
        )
        .color(widgets::palette(ui).muted),
    );
    ui.add_space(space::M);
}

fn form_ui(
    ui: &mut Ui,
    form: &mut ConnectForm,
    connecting: Option<&ScanState>,
    out: &mut Vec<Command>,
) {
    ui.set_width(ui.available_width());
    let enabled = connecting.is_none();
    ui.add_enabled_ui(enabled, |ui| {
        ui.horizontal(|ui| {
            ui.selectable_value(&mut form.use_conn_string, false, "Fill in fields");
            ui.selectable_value(&mut form.use_conn_string, true, "Use a connection string");
        });
        ui.add_space(space::S);
        let mut submit = false;
        if form.use_conn_string {
            submit |= conn_string_ui(ui, form);
        } else {
            submit |= fields_ui(ui, form);
            ui.add_space(space::S);
            sslmode_ui(ui, form);
            ui.add_space(space::S);
            certificates_ui(ui, form, out);
        }
        if submit {
            out.push(Command::Connect);
        }
    });
    if let Some(error) = &form.error {
        ui.add_space(space::S);
        widgets::banner(ui, theme::NoticeKind::Error, error, None);
    }
    ui.add_space(space::M);
    match connecting {
        Some(scan) => {
            if widgets::scan_progress_ui(ui, scan) {
                out.push(Command::CancelScan);
            }
        }
        None => {
            ui.horizontal(|ui| {
                let palette = widgets::palette(ui);
                let connect =
                    egui::Button::new(RichText::new("Connect").strong().color(palette.on_accent))
                        .fill(palette.accent)
                        .min_size(egui::vec2(110.0, 30.0));
                if ui.add(connect).clicked() {
                    out.push(Command::Connect);
                }
                if ui
                    .button("Save profile")
                    .on_hover_text("Remember these settings, without the password")
                    .clicked()
                {
                    out.push(Command::SaveProfile);
                }
            });
        }
    }
}

fn submitted(response: &egui::Response) -> bool {
    response.lost_focus() && response.ctx.input(|i| i.key_pressed(egui::Key::Enter))
}

/// Returns true when Enter was pressed in a field.
fn fields_ui(ui: &mut Ui, form: &mut ConnectForm) -> bool {
    let mut submit = false;
    egui::Grid::new("connect_fields")
        .num_columns(2)
        .spacing([space::M, space::S])
        .min_col_width(150.0)
        .show(ui, |ui| {
            let width = FIELD_WIDTH;
            let row = |ui: &mut Ui, label: &str, value: &mut String, hint: &str, password: bool| {
                let field = TextEdit::singleline(value)
                    .hint_text(hint)
                    .password(password)
                    .desired_width(width);
                let response = widgets::labelled_field(ui, label, field);
                ui.end_row();
                submitted(&response)
            };
            submit |= row(
                ui,
                "Host or socket directory",
                &mut form.host,
                "db.example.org or /var/run/postgresql",
                false,
            );
            submit |= row(ui, "Port", &mut form.port, "5432", false);
            submit |= row(ui, "Database", &mut form.dbname, "same as the user", false);
            submit |= row(ui, "User", &mut form.user, "your login role", false);
            submit |= row(
                ui,
                "Password",
                &mut form.password,
                "empty: use ~/.pgpass or PGPASSWORD",
                true,
            );
        });
    submit
}

fn conn_string_ui(ui: &mut Ui, form: &mut ConnectForm) -> bool {
    let label = ui.label("Connection string");
    let response = ui
        .add(
            TextEdit::singleline(&mut form.conn_string)
                .hint_text(
                    "postgresql://user@host:5432/db?sslmode=verify-full  or  host=… dbname=…",
                )
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    let mut submit = submitted(&response);
    ui.label(
        RichText::new(
            "A URI or key=value string, as psql accepts. Missing parts come from PG* variables.",
        )
        .size(theme::text::SMALL)
        .color(widgets::palette(ui).muted),
    );
    ui.add_space(space::S);
    let label = ui.label("Password");
    let response = ui
        .add(
            TextEdit::singleline(&mut form.password)
                .password(true)
                .hint_text("empty: use the string, ~/.pgpass or PGPASSWORD")
                .desired_width(f32::INFINITY),
        )
        .labelled_by(label.id);
    submit |= submitted(&response);
    submit
}

fn sslmode_ui(ui: &mut Ui, form: &mut ConnectForm) {
    ui.label(RichText::new("SSL mode").strong());
    let muted = widgets::palette(ui).muted;
    egui::Grid::new("sslmodes")
        .num_columns(2)
        .spacing([space::M, 2.0])
        .min_col_width(150.0)
        .show(ui, |ui| {
            for mode in SslMode::ALL {
                ui.radio_value(&mut form.sslmode, mode, mode.as_str());
                ui.label(
                    RichText::new(mode.explanation())
                        .size(theme::text::SMALL)
                        .color(muted),
                );
                ui.end_row();
            }
        });
}

fn certificates_ui(ui: &mut Ui, form: &mut ConnectForm, out: &mut Vec<Command>) {
    egui::Grid::new("certificates")
        .num_columns(2)
        .spacing([space::M, space::S])
        .min_col_width(150.0)
        .show(ui, |ui| {
            let width = FIELD_WIDTH - 90.0;
            let mut row = |ui: &mut Ui, label: &str, value: &mut String, slot: CertSlot| {
                let label = ui.label(label);
                ui.horizontal(|ui| {
                    ui.add(
                        TextEdit::singleline(value)
                            .hint_text("optional")
                            .desired_width(width),
                    )
                    .labelled_by(label.id);
                    if ui.button("Browse…").clicked() {
                        out.push(Command::PickCertificate(slot));
                    }
                });
                ui.end_row();
            };
            row(
                ui,
                "CA certificate",
                &mut form.sslrootcert,
                CertSlot::RootCert,
            );
            row(
                ui,
                "Client certificate",
                &mut form.sslcert,
                CertSlot::ClientCert,
            );
            row(ui, "Client key", &mut form.sslkey, CertSlot::ClientKey);
        });
}

fn side_column_ui(
    ui: &mut Ui,
    prefs: &Prefs,
    has_results: bool,
    demo_starting: bool,
    out: &mut Vec<Command>,
) {
    let palette = widgets::palette(ui);
    if has_results {
        theme::card(palette).show(ui, |ui| {
            ui.set_width(ui.available_width());
            if ui.button("Back to the results").clicked() {
                out.push(Command::ShowOverview);
            }
        });
        ui.add_space(space::M);
    }
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Saved profiles").strong());
        ui.add_space(space::XS);
        if prefs.profiles.is_empty() {
            ui.label(
                RichText::new("None yet. A profile keeps everything but the password.")
                    .color(palette.muted)
                    .size(theme::text::SMALL),
            );
        }
        for profile in &prefs.profiles {
            ui.horizontal(|ui| {
                if ui
                    .button(&profile.name)
                    .on_hover_text("Fill the form with this profile")
                    .clicked()
                {
                    out.push(Command::UseProfile(profile.name.clone()));
                }
                ui.with_layout(egui::Layout::right_to_left(egui::Align::Center), |ui| {
                    if ui
                        .small_button("Remove")
                        .on_hover_text(format!("Remove the profile {}", profile.name))
                        .clicked()
                    {
                        out.push(Command::DeleteProfile(profile.name.clone()));
                    }
                });
            });
        }
    });
    ui.add_space(space::M);
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("New to the guide?").strong());
        ui.label(
            RichText::new(
                "Starts a throwaway PostgreSQL server on this computer with a deliberately \
                 insecure clinic database, in training mode: find the problems, apply the \
                 fixes, watch the checks turn green. No server of yours is touched.",
            )
            .color(palette.muted)
            .size(theme::text::SMALL),
        );
        ui.add_space(space::XS);
        let demo = ui
            .add_enabled(!demo_starting, egui::Button::new("Try the demo database"))
            .on_disabled_hover_text("The demo database is starting");
        if demo.clicked() {
            out.push(Command::TryDemo);
        }
    });
    ui.add_space(space::M);
    theme::card(palette).show(ui, |ui| {
        ui.set_width(ui.available_width());
        ui.label(RichText::new("Continue a session").strong());
        ui.label(
            RichText::new("Open a saved session file to continue, or to review it offline.")
                .color(palette.muted)
                .size(theme::text::SMALL),
        );
        ui.add_space(space::XS);
        if ui.button("Open session…").clicked() {
            out.push(Command::OpenSession);
        }
    });
}
