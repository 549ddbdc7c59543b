//! The guide prose shown above each section's checks: our own words, one
//! Markdown file per section in `assets/guide/`, compiled into the binary so
//! the walkthrough works offline. Must not import other ui modules.

use crate::model::finding::Section;

/// The Markdown explanation of a guide section.
pub fn section_markdown(section: Section) -> &'static str {
    match section {
        Section::Safeguards => include_str!("../../assets/guide/01-safeguards.md"),
        Section::AtRest => include_str!("../../assets/guide/02-at-rest.md"),
        Section::Transit => include_str!("../../assets/guide/03-transit.md"),
        Section::Access => include_str!("../../assets/guide/04-access.md"),
        Section::Audit => include_str!("../../assets/guide/05-audit.md"),
        Section::Backup => include_str!("../../assets/guide/06-backup.md"),
    }
}

/// One line under the section title in the rail and on the overview.
pub fn section_blurb(section: Section) -> &'static str {
    match section {
        Section::Safeguards => "Attestations, platform and integrity",
        Section::AtRest => "Storage, pgcrypto, checksums, file modes",
        Section::Transit => "TLS, pg_hba.conf and passwords",
        Section::Access => "Roles, grants and row-level security",
        Section::Audit => "pgAudit and server logging",
        Section::Backup => "WAL archiving, backups, restore drills",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_section_has_substantial_prose_with_headings_and_lists() {
        for section in Section::ALL {
            let text = section_markdown(section);
            let words = text.split_whitespace().count();
            assert!((300..=650).contains(&words), "{section:?}: {words} words");
            assert!(text.contains("\n#### "), "{section:?} has no subheading");
            assert!(
                text.contains("\n- ") || text.contains("\n1. "),
                "{section:?} has no list"
            );
        }
    }
}
