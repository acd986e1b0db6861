//! Test pictures, fixtures and comparisons shared by the unit tests.

use image::{Rgb, RgbImage};
use jpeg_encoder::{ColorType, Encoder, SamplingFactor};

/// The fixtures (real encoders' output, `fixtures/make.sh`) that the decoders must decode.
pub const FIXTURES_DECODABLE: [&str; 15] = [
    "libjpeg-baseline-420.jpeg",
    "libjpeg-baseline-422.jpeg",
    "libjpeg-baseline-444.jpeg",
    "libjpeg-baseline-grey.jpeg",
    "libjpeg-rgb.jpeg",
    "libjpeg-restart-rows.jpeg",
    "libjpeg-restart-blocks.jpeg",
    "libjpeg-non-interleaved.jpeg",
    "libjpeg-progressive-420.jpeg",
    "libjpeg-progressive-444.jpeg",
    "libjpeg-progressive-grey.jpeg",
    "libjpeg-progressive-restart.jpeg",
    "libjpeg-progressive-many-scans.jpeg",
    "libjpeg-cmyk-adobe.jpeg",
    "mozjpeg-progressive.jpeg",
];

/// A fixture's bytes.
pub fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// A photo-like test picture: smooth colour gradients with a sharp-edged disc.
pub fn picture(width: u32, height: u32) -> RgbImage {
    RgbImage::from_fn(width, height, |x, y| {
        let (dx, dy) = (x as i64 - width as i64 / 2, y as i64 - height as i64 / 3);
        if dx * dx + dy * dy < (height as i64 / 4).pow(2) {
            Rgb([230, 40, 60])
        } else {
            Rgb([
                (x * 255 / width) as u8,
                (y * 255 / height) as u8,
                ((x + y) * 127 / (width + height)) as u8 + 64,
            ])
        }
    })
}

/// `image` as a baseline JPEG with the given chroma sampling and restart interval.
pub fn encode(image: &RgbImage, sampling: SamplingFactor, restart: u16) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 92);
    encoder.set_sampling_factor(sampling);
    encoder.set_restart_interval(restart);
    encoder
        .encode(
            image.as_raw(),
            image.width() as u16,
            image.height() as u16,
            ColorType::Rgb,
        )
        .unwrap();
    out
}

/// `image` as a progressive JPEG by spectral selection only (jpeg-encoder's kind).
pub fn progressive_spectral(image: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let mut encoder = Encoder::new(&mut out, 90);
    encoder.set_progressive(true);
    encoder
        .encode(
            image.as_raw(),
            image.width() as u16,
            image.height() as u16,
            ColorType::Rgb,
        )
        .unwrap();
    out
}

/// The whole picture, decoded by `jpeg-decoder` at full scale. (Not by the `image` crate:
/// its decoder, zune-jpeg 0.5, misreads sequential JPEGs whose components come in separate
/// scans, `libjpeg-non-interleaved.jpeg`.)
pub fn full_decode(bytes: &[u8]) -> RgbImage {
    let mut decoder = jpeg_decoder::Decoder::new(std::io::Cursor::new(bytes));
    let pixels = decoder.decode().unwrap();
    let info = decoder.info().unwrap();
    crate::general::to_rgb(
        u32::from(info.width),
        u32::from(info.height),
        info.pixel_format,
        pixels,
    )
    .unwrap()
}

/// Each 8x8 block's mean, from [`full_decode`].
pub fn block_means(bytes: &[u8]) -> RgbImage {
    let full = full_decode(bytes);
    let (w, h) = (full.width().div_ceil(8), full.height().div_ceil(8));
    RgbImage::from_fn(w, h, |bx, by| {
        let mut sum = [0u32; 3];
        let mut n = 0;
        for y in by * 8..(by * 8 + 8).min(full.height()) {
            for x in bx * 8..(bx * 8 + 8).min(full.width()) {
                let p = full.get_pixel(x, y).0;
                for c in 0..3 {
                    sum[c] += u32::from(p[c]);
                }
                n += 1;
            }
        }
        Rgb(sum.map(|s| (s / n) as u8))
    })
}

/// Mean and largest absolute difference per sample.
pub fn difference(a: &RgbImage, b: &RgbImage) -> (f64, u8) {
    assert_eq!(a.dimensions(), b.dimensions());
    let diffs: Vec<u8> = a
        .as_raw()
        .iter()
        .zip(b.as_raw())
        .map(|(x, y)| x.abs_diff(*y))
        .collect();
    let mean = diffs.iter().map(|&d| f64::from(d)).sum::<f64>() / diffs.len() as f64;
    (mean, diffs.iter().copied().max().unwrap_or(0))
}
