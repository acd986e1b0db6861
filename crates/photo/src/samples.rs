//! Sample images for benchmarks: deterministic, so every run measures the same bytes.

use image::codecs::jpeg::JpegEncoder;
use image::{Rgb, RgbImage};

/// A camera-like JPEG: `width` x `height` of smooth gradients with sensor-like noise, at a
/// quality that makes a 4000x3000 image weigh about 5 MB (the contract's upper limit).
pub fn camera_like(width: u32, height: u32, quality: u8) -> Vec<u8> {
    let mut noise = noise(0x9E37_79B9);
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb(gradients(x, y, width, height).map(|c| (c + noise() / 8).clamp(0, 255) as u8))
    });
    jpeg(&image, quality)
}

/// The camera-like JPEG at the highest quality that still fits in `max_bytes` (the
/// benchmarks use the contract's 5 MiB limit: about 5 MB at 4000x3000).
pub fn camera_like_within(width: u32, height: u32, max_bytes: usize) -> Option<Vec<u8>> {
    (70..=98)
        .rev()
        .map(|quality| camera_like(width, height, quality))
        .find(|bytes| bytes.len() <= max_bytes)
}

/// A noisy, high-detail JPEG, like a photo of foliage or gravel: fine texture everywhere on
/// top of the camera-like gradients, so the entropy-coded data is dense (about 5 MB at
/// 4000x3000 and quality 90, where the camera-like sample compresses to less).
pub fn high_detail(width: u32, height: u32, quality: u8) -> Vec<u8> {
    let mut noise = noise(0x2545_F491);
    let image = RgbImage::from_fn(width, height, |x, y| {
        // A fine checker-like texture plus strong per-pixel noise.
        let texture = if (x / 3 + y / 3) % 2 == 0 { 8 } else { -8 };
        Rgb(gradients(x, y, width, height)
            .map(|c| (c + texture + noise() / 12).clamp(0, 255) as u8))
    });
    jpeg(&image, quality)
}

/// A small real JPEG whose header claims `side` x `side` pixels.
pub fn bomb_header(side: u16) -> Vec<u8> {
    let mut bytes = camera_like(100, 100, 90);
    if let Some(sof) = bytes.windows(2).position(|w| w == [0xFF, 0xC0]) {
        bytes[sof + 5..sof + 7].copy_from_slice(&side.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&side.to_be_bytes());
    }
    bytes
}

/// xorshift from `seed`: a fixed, dependency-free noise source in -128..128; the numbers
/// only need to look random to the JPEG encoder.
fn noise(seed: u32) -> impl FnMut() -> i32 {
    let mut state = seed;
    move || {
        state ^= state << 13;
        state ^= state >> 17;
        state ^= state << 5;
        (state >> 24) as i32 - 128
    }
}

/// The smooth colour gradients both samples are drawn on, at pixel (`x`, `y`).
fn gradients(x: u32, y: u32, width: u32, height: u32) -> [i32; 3] {
    [
        (x * 255 / width.max(1)) as i32,
        (y * 255 / height.max(1)) as i32,
        ((x + y) * 127 / (width + height).max(1)) as i32 + 64,
    ]
}

fn jpeg(image: &RgbImage, quality: u8) -> Vec<u8> {
    let mut out = Vec::new();
    JpegEncoder::new_with_quality(&mut out, quality)
        .encode_image(image)
        .unwrap_or_else(|e| unreachable!("encoding to memory cannot fail: {e}"));
    out
}
