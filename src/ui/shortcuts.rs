//! Keyboard shortcuts: the keys pressed this frame, turned into the same
//! [`Command`]s the buttons emit. Reads input only; imports the command and
//! page vocabulary, never drawing code or the App.

use super::command::Command;
use super::state::Page;
use crate::model::finding::Section;
use eframe::egui;

/// Shortcuts: Ctrl+R rescan, Ctrl+E export, Ctrl+S / Ctrl+Shift+S / Ctrl+O
/// sessions, Ctrl+0 … Ctrl+6 overview and sections, and the
/// arrow keys through the check list when no text field has the keyboard.
pub fn keyboard_commands(ctx: &egui::Context, page: Page, has_results: bool) -> Vec<Command> {
    use egui::{Key, Modifiers};
    let typing = ctx.egui_wants_keyboard_input();
    ctx.input_mut(|input| {
        let mut commands = Vec::new();
        if input.consume_key(Modifiers::COMMAND, Key::R) {
            let section = match page {
                Page::Section(section) => Some(section),
                _ => None,
            };
            commands.push(Command::Rescan(section));
        }
        if input.consume_key(Modifiers::COMMAND, Key::E) {
            commands.push(Command::Export);
        }
        // Shift first: a plain Ctrl+S check would also match Ctrl+Shift+S.
        if has_results && input.consume_key(Modifiers::COMMAND | Modifiers::SHIFT, Key::S) {
            commands.push(Command::SaveSessionAs);
        }
        if has_results && input.consume_key(Modifiers::COMMAND, Key::S) {
            commands.push(Command::SaveSession);
        }
        if input.consume_key(Modifiers::COMMAND, Key::O) {
            commands.push(Command::OpenSession);
        }
        // Ctrl+0 overview, Ctrl+1 … Ctrl+6 the guide sections.
        if has_results && input.consume_key(Modifiers::COMMAND, Key::Num0) {
            commands.push(Command::ShowOverview);
        }
        let digits = [
            Key::Num1,
            Key::Num2,
            Key::Num3,
            Key::Num4,
            Key::Num5,
            Key::Num6,
        ];
        for (key, section) in digits.into_iter().zip(Section::ALL) {
            if has_results && input.consume_key(Modifiers::COMMAND, key) {
                commands.push(Command::ShowSection(section));
            }
        }
        if matches!(page, Page::Section(_)) && !typing {
            if input.consume_key(Modifiers::NONE, Key::ArrowDown) {
                commands.push(Command::MoveSelection(1));
            }
            if input.consume_key(Modifiers::NONE, Key::ArrowUp) {
                commands.push(Command::MoveSelection(-1));
            }
        }
        commands
    })
}
