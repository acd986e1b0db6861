//! Writes the seed corpus for the photo fuzz targets (`scripts/fuzz-parsers`) into the
//! folder given: every fixture (real encoders' output of every kind), each cut short at
//! three points, each with every EXIF orientation, jpeg-encoder's own kinds (sampling
//! factors, restart intervals, progressive), and the hostile samples.
//!   cargo run -p photo --features samples --example fuzz_seeds -- DIR

use std::path::PathBuf;

use image::{Rgb, RgbImage};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

fn main() -> std::io::Result<()> {
    let dir = PathBuf::from(std::env::args().nth(1).unwrap_or_else(|| "seeds".into()));
    std::fs::create_dir_all(&dir)?;
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let fixtures = concat!(env!("CARGO_MANIFEST_DIR"), "/fixtures");
    for entry in std::fs::read_dir(fixtures)? {
        let path = entry?.path();
        if path.extension().is_some_and(|e| e == "jpeg") {
            let name = path
                .file_stem()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned();
            seeds.push((name, std::fs::read(&path)?));
        }
    }
    let picture = RgbImage::from_fn(160, 120, |x, y| {
        Rgb([(x * 255 / 160) as u8, (y * 2) as u8, 90])
    });
    for (label, sampling) in [
        ("444", SamplingFactor::R_4_4_4),
        ("422", SamplingFactor::R_4_2_2),
        ("420", SamplingFactor::R_4_2_0),
        ("440", SamplingFactor::R_4_4_0),
        ("411", SamplingFactor::R_4_1_1),
    ] {
        for (restart, progressive) in [(0, false), (3, false), (0, true)] {
            let mut out = Vec::new();
            let mut encoder = Encoder::new(&mut out, 85);
            encoder.set_sampling_factor(sampling);
            encoder.set_restart_interval(restart);
            encoder.set_progressive(progressive);
            encoder
                .encode(picture.as_raw(), 160, 120, ColorType::Rgb)
                .map_err(std::io::Error::other)?;
            seeds.push((
                format!("jpeg-encoder-{label}-r{restart}-p{progressive}"),
                out,
            ));
        }
    }
    let mut cmyk = Vec::new();
    Encoder::new(&mut cmyk, 85)
        .encode(&vec![40u8; 96 * 80 * 4], 96, 80, ColorType::Cmyk)
        .map_err(std::io::Error::other)?;
    seeds.push(("jpeg-encoder-cmyk".into(), cmyk));
    for (name, bytes) in photo::samples::hostile::all() {
        seeds.push((format!("hostile-{}", name.replace(' ', "-")), bytes));
    }
    let mut variants = Vec::new();
    for (name, bytes) in &seeds {
        for (i, cut) in [
            bytes.len() / 5,
            bytes.len() / 2,
            bytes.len().saturating_sub(3),
        ]
        .into_iter()
        .enumerate()
        {
            variants.push((format!("{name}-cut{i}"), bytes[..cut].to_vec()));
        }
        if bytes.len() < 64 * 1024 {
            for orientation in 1..=8u16 {
                variants.push((
                    format!("{name}-exif{orientation}"),
                    with_exif_orientation(bytes, orientation),
                ));
            }
        }
    }
    seeds.extend(variants);
    for (name, bytes) in &seeds {
        std::fs::write(dir.join(format!("{name}.jpeg")), bytes)?;
    }
    println!("{} seeds in {}", seeds.len(), dir.display());
    Ok(())
}

/// `bytes` with an EXIF (APP1) segment right after SOI that says `orientation`.
fn with_exif_orientation(bytes: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
    tiff.extend_from_slice(&1u16.to_be_bytes());
    tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
    tiff.extend_from_slice(&orientation.to_be_bytes());
    tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
    let mut app1 = b"Exif\0\0".to_vec();
    app1.extend_from_slice(&tiff);
    let length = u16::try_from(app1.len() + 2).unwrap_or(u16::MAX);
    let mut out = bytes[..2.min(bytes.len())].to_vec();
    out.extend_from_slice(&[0xFF, 0xE1]);
    out.extend_from_slice(&length.to_be_bytes());
    out.extend_from_slice(&app1);
    out.extend_from_slice(bytes.get(2..).unwrap_or_default());
    out
}
