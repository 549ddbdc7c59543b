//! The packaged icons come from the app's one drawing (`pgsafeguard::ui::app_icon_rgba`
//! and `app_icon_svg`): each committed file in `assets/icons/` must equal a fresh
//! rendering. After changing the drawing, regenerate them with
//! `PGSAFEGUARD_UPDATE_ICONS=1 cargo test --test icons` and review the PNGs.

// Test code: a failed set-up step should panic with its message.
#![allow(clippy::expect_used, clippy::unwrap_used)]

use std::path::{Path, PathBuf};

/// The hicolor sizes the .deb installs (Cargo.toml `[package.metadata.deb]` lists the same).
const SIZES: [u32; 9] = [16, 22, 24, 32, 48, 64, 128, 256, 512];

fn icons_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("assets/icons")
}

fn updating() -> bool {
    std::env::var_os("PGSAFEGUARD_UPDATE_ICONS").is_some_and(|v| v == "1")
}

#[test]
fn png_icons_match_the_drawing() {
    for size in SIZES {
        let path = icons_dir().join(format!("pgsafeguard-{size}.png"));
        let drawn = image::RgbaImage::from_raw(size, size, pgsafeguard::ui::app_icon_rgba(size))
            .expect("buffer is size × size × 4");
        if updating() {
            drawn.save(&path).expect("write icon");
        }
        let committed = image::open(&path)
            .unwrap_or_else(|e| {
                panic!(
                    "{}: {e} (regenerate: PGSAFEGUARD_UPDATE_ICONS=1)",
                    path.display()
                )
            })
            .to_rgba8();
        assert_eq!(committed.dimensions(), (size, size), "{}", path.display());
        assert!(
            committed.as_raw() == drawn.as_raw(),
            "{} differs from the drawing; regenerate with PGSAFEGUARD_UPDATE_ICONS=1",
            path.display()
        );
    }
}

#[test]
fn svg_icon_matches_the_drawing() {
    let path = icons_dir().join("pgsafeguard.svg");
    let drawn = pgsafeguard::ui::app_icon_svg();
    if updating() {
        std::fs::write(&path, &drawn).expect("write svg");
    }
    let committed = std::fs::read_to_string(&path).expect("read svg");
    assert_eq!(
        committed,
        drawn,
        "{} differs from the drawing",
        path.display()
    );
}

/// The drawing itself: transparent corners, the shield's blue, the tick's white, soft edges.
#[test]
fn drawing_has_shield_tick_and_transparent_corners() {
    let size = 64;
    let rgba = pgsafeguard::ui::app_icon_rgba(size);
    let pixel = |x: u32, y: u32| {
        let at = ((y * size + x) * 4) as usize;
        [rgba[at], rgba[at + 1], rgba[at + 2], rgba[at + 3]]
    };
    assert_eq!(pixel(0, 0)[3], 0, "corner must be transparent");
    assert_eq!(pixel(63, 63)[3], 0, "corner must be transparent");
    assert_eq!(pixel(12, 12), [29, 88, 200, 255], "shield body is blue");
    // (0.45, 0.63) is the tick's joint.
    assert_eq!(pixel(28, 40), [255, 255, 255, 255], "tick is white");
    let partial = rgba.chunks(4).filter(|p| p[3] > 0 && p[3] < 255).count();
    assert!(partial > 0, "edges should be anti-aliased");
}
