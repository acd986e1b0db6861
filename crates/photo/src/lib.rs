//! The profile photo pipeline (CONTRACT.md, "Photos"): check an upload, then centre-crop and
//! scale it to a 70x70 JPEG.
//!
//! The checks read only the JPEG header, so a file claiming 60000x60000 pixels is refused
//! before anything is allocated for its pixels. Decoding asks the decoder for the smallest
//! DCT scale (1/2, 1/4 or 1/8) that still leaves enough pixels for a sharp 70x70 result,
//! which keeps a 12-megapixel photo's decode to a fraction of its full size. The result is
//! turned upright by the photo's EXIF orientation (phones store portraits sideways).

#![warn(missing_docs)]

use std::io::Cursor;

use domain::registration::{PHOTO_MAX_BYTES, PHOTO_MIN_SIDE, PhotoError};
use image::codecs::jpeg::JpegEncoder;
use image::imageops::{self, FilterType};
use image::metadata::Orientation;
use image::{GrayImage, RgbImage};
use jpeg_decoder::{Decoder, PixelFormat};

/// Side of the stored photo, in pixels.
pub const THUMBNAIL_SIDE: u32 = 70;
/// Largest image accepted, in pixels (a 50-megapixel camera is well inside; a
/// decompression bomb is not).
pub const MAX_PIXELS: u64 = 50_000_000;
/// JPEG quality of the stored photo: visually clean at 70x70, about 3 KB.
const JPEG_QUALITY: u8 = 88;
/// The scaled decode keeps at least this many pixels on the short side, so the final
/// resize still averages several source pixels per output pixel.
const DECODE_MIN_SIDE: u32 = THUMBNAIL_SIDE * 2;
/// Upper bound for the decoder's own buffers.
const MAX_DECODING_BUFFER: usize = 64 * 1024 * 1024;

/// What the header says about an accepted upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Checks an upload without decoding its pixels: size, JPEG signature, a readable header,
/// sane and large-enough dimensions.
pub fn check(bytes: &[u8]) -> Result<Dimensions, PhotoError> {
    if bytes.len() > PHOTO_MAX_BYTES {
        return Err(PhotoError::TooLarge);
    }
    // Every JPEG starts with SOI (FF D8) followed by a marker (FF).
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(PhotoError::NotJpeg);
    }
    let mut decoder = decoder(bytes);
    decoder.read_info().map_err(|_| PhotoError::Invalid)?;
    let info = decoder.info().ok_or(PhotoError::Invalid)?;
    let dimensions = Dimensions {
        width: u32::from(info.width),
        height: u32::from(info.height),
    };
    if u64::from(dimensions.width) * u64::from(dimensions.height) > MAX_PIXELS {
        return Err(PhotoError::Invalid);
    }
    if dimensions.width < PHOTO_MIN_SIDE || dimensions.height < PHOTO_MIN_SIDE {
        return Err(PhotoError::TooSmall);
    }
    Ok(dimensions)
}

/// Checks `bytes` (as [`check`]) and makes the 70x70 JPEG: decoded at a reduced scale,
/// centre-cropped to a square, resized with a Lanczos filter, turned upright, encoded.
pub fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let Dimensions { width, height } = check(bytes)?;
    let mut decoder = decoder(bytes);
    decoder.read_info().map_err(|_| PhotoError::Invalid)?;
    let image = if width.min(height) / 8 >= DECODE_MIN_SIDE {
        // 1/8 scale is enough: read only the blocks' means (see `eighth`).
        match eighth::decode(bytes) {
            Ok(Some(image)) => image,
            Ok(None) => scaled_decode(&mut decoder, width, height)?,
            Err(eighth::Corrupt) => return Err(PhotoError::Invalid),
        }
    } else {
        scaled_decode(&mut decoder, width, height)?
    };

    let side = image.width().min(image.height());
    let x = (image.width() - side) / 2;
    let y = (image.height() - side) / 2;
    let square = imageops::crop_imm(&image, x, y, side, side).to_image();
    let small = imageops::resize(
        &square,
        THUMBNAIL_SIDE,
        THUMBNAIL_SIDE,
        FilterType::Lanczos3,
    );

    // The centred square of the upright photo is the upright square of the stored one, so
    // the orientation is applied to the 70x70 result: the cheapest place.
    let mut upright = image::DynamicImage::ImageRgb8(small);
    if let Some(orientation) = decoder.exif_data().and_then(Orientation::from_exif_chunk) {
        upright.apply_orientation(orientation);
    }

    let mut out = Vec::with_capacity(8 * 1024);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&upright)
        .map_err(|_| PhotoError::Invalid)?;
    Ok(out)
}

/// The photo decoded by `jpeg-decoder` at the smallest DCT scale that keeps
/// [`DECODE_MIN_SIDE`] pixels on its short side.
fn scaled_decode(
    decoder: &mut Decoder<Cursor<&[u8]>>,
    width: u32,
    height: u32,
) -> Result<RgbImage, PhotoError> {
    let short = width.min(height);
    // Ask for the size that keeps DECODE_MIN_SIDE on the short side; the decoder rounds up
    // to the next scale it supports.
    let wanted = |side: u32| {
        side.saturating_mul(DECODE_MIN_SIDE)
            .div_ceil(short)
            .min(side)
    };
    let (scaled_w, scaled_h) = decoder
        .scale(to_u16(wanted(width))?, to_u16(wanted(height))?)
        .map_err(|_| PhotoError::Invalid)?;
    let pixels = decoder.decode().map_err(|_| PhotoError::Invalid)?;
    let info = decoder.info().ok_or(PhotoError::Invalid)?;
    to_rgb(
        u32::from(scaled_w),
        u32::from(scaled_h),
        info.pixel_format,
        pixels,
    )
}

mod eighth;
#[cfg(feature = "samples")]
pub mod samples;

fn decoder(bytes: &[u8]) -> Decoder<Cursor<&[u8]>> {
    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(MAX_DECODING_BUFFER);
    decoder
}

fn to_u16(value: u32) -> Result<u16, PhotoError> {
    u16::try_from(value).map_err(|_| PhotoError::Invalid)
}

fn to_rgb(
    width: u32,
    height: u32,
    format: PixelFormat,
    pixels: Vec<u8>,
) -> Result<RgbImage, PhotoError> {
    match format {
        PixelFormat::RGB24 => RgbImage::from_raw(width, height, pixels).ok_or(PhotoError::Invalid),
        PixelFormat::L8 => {
            let gray = GrayImage::from_raw(width, height, pixels).ok_or(PhotoError::Invalid)?;
            Ok(image::DynamicImage::ImageLuma8(gray).to_rgb8())
        }
        PixelFormat::L16 => {
            // Big-endian 16-bit samples: keep the high byte.
            let high: Vec<u8> = pixels.chunks_exact(2).map(|s| s[0]).collect();
            let gray = GrayImage::from_raw(width, height, high).ok_or(PhotoError::Invalid)?;
            Ok(image::DynamicImage::ImageLuma8(gray).to_rgb8())
        }
        PixelFormat::CMYK32 => {
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(255 - p[3]);
                    [0, 1, 2]
                        .map(|i| u8::try_from(u16::from(255 - p[i]) * k / 255).unwrap_or(u8::MAX))
                })
                .collect();
            RgbImage::from_raw(width, height, rgb).ok_or(PhotoError::Invalid)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use image::{ImageEncoder, Rgb};

    fn jpeg(width: u32, height: u32, paint: impl Fn(u32, u32) -> Rgb<u8>) -> Vec<u8> {
        let image = RgbImage::from_fn(width, height, paint);
        let mut out = Vec::new();
        JpegEncoder::new_with_quality(&mut out, 90)
            .write_image(
                image.as_raw(),
                width,
                height,
                image::ExtendedColorType::Rgb8,
            )
            .unwrap();
        out
    }

    fn decoded(bytes: &[u8]) -> RgbImage {
        image::load_from_memory(bytes).unwrap().to_rgb8()
    }

    /// A real JPEG whose SOF header is rewritten to claim `width` x `height`.
    fn with_claimed_size(mut bytes: Vec<u8>, width: u16, height: u16) -> Vec<u8> {
        let sof = bytes
            .windows(2)
            .position(|w| w[0] == 0xFF && (w[1] == 0xC0 || w[1] == 0xC2))
            .unwrap();
        bytes[sof + 5..sof + 7].copy_from_slice(&height.to_be_bytes());
        bytes[sof + 7..sof + 9].copy_from_slice(&width.to_be_bytes());
        bytes
    }

    #[test]
    fn a_wide_photo_is_cropped_to_its_centre() {
        // Red | green | blue thirds: only green survives a centred square crop.
        let bytes = jpeg(900, 300, |x, _| match x / 300 {
            0 => Rgb([255, 0, 0]),
            1 => Rgb([0, 255, 0]),
            _ => Rgb([0, 0, 255]),
        });
        let thumb = decoded(&thumbnail(&bytes).unwrap());
        assert_eq!(thumb.dimensions(), (70, 70));
        for (x, y) in [(0, 0), (69, 0), (35, 35), (0, 69), (69, 69)] {
            let Rgb([r, g, b]) = *thumb.get_pixel(x, y);
            assert!(g > 200 && r < 60 && b < 60, "pixel ({x},{y}) = {r},{g},{b}");
        }
    }

    #[test]
    fn a_tall_photo_is_cropped_to_its_centre() {
        let bytes = jpeg(200, 600, |_, y| {
            if (200..400).contains(&y) {
                Rgb([0, 0, 255])
            } else {
                Rgb([255, 255, 0])
            }
        });
        let thumb = decoded(&thumbnail(&bytes).unwrap());
        let Rgb([r, _, b]) = *thumb.get_pixel(35, 2);
        assert!(b > 200 && r < 60);
    }

    #[test]
    fn a_large_photo_decodes_at_reduced_scale_into_70_by_70() {
        let bytes = jpeg(4000, 3000, |x, y| {
            Rgb([(x % 256) as u8, (y % 256) as u8, 128])
        });
        assert_eq!(
            check(&bytes).unwrap(),
            Dimensions {
                width: 4000,
                height: 3000
            }
        );
        assert_eq!(decoded(&thumbnail(&bytes).unwrap()).dimensions(), (70, 70));
    }

    /// `bytes` with an EXIF (APP1) segment right after SOI that says `orientation`.
    fn with_exif_orientation(bytes: &[u8], orientation: u16) -> Vec<u8> {
        // TIFF header (big-endian, IFD0 at 8), one IFD entry: Orientation (0x0112), SHORT.
        let mut tiff = b"MM\0\x2a\0\0\0\x08".to_vec();
        tiff.extend_from_slice(&1u16.to_be_bytes());
        tiff.extend_from_slice(&[0x01, 0x12, 0x00, 0x03, 0, 0, 0, 1]);
        tiff.extend_from_slice(&orientation.to_be_bytes());
        tiff.extend_from_slice(&[0, 0, 0, 0, 0, 0]);
        let mut app1 = b"Exif\0\0".to_vec();
        app1.extend_from_slice(&tiff);
        let length = u16::try_from(app1.len() + 2).unwrap();
        let mut out = bytes[..2].to_vec();
        out.extend_from_slice(&[0xFF, 0xE1]);
        out.extend_from_slice(&length.to_be_bytes());
        out.extend_from_slice(&app1);
        out.extend_from_slice(&bytes[2..]);
        out
    }

    #[test]
    fn every_exif_orientation_comes_out_upright() {
        // Upright: four coloured quadrants, which no rotation or mirror maps onto itself.
        let side = 240;
        let quadrant = |x: u32, y: u32| match (x < side / 2, y < side / 2) {
            (true, true) => Rgb([255, 0, 0]),
            (false, true) => Rgb([0, 255, 0]),
            (true, false) => Rgb([0, 0, 255]),
            (false, false) => Rgb([255, 255, 255]),
        };
        let last = side - 1;
        // Where each displayed pixel (x, y) is stored, for each EXIF orientation (EXIF 2.3,
        // tag 0x0112: where the stored 0th row and column are shown).
        let stored_at = |orientation: u16, x: u32, y: u32| match orientation {
            1 => (x, y),
            2 => (last - x, y),
            3 => (last - x, last - y),
            4 => (x, last - y),
            5 => (y, x),
            6 => (y, last - x),
            7 => (last - y, last - x),
            8 => (last - y, x),
            _ => unreachable!(),
        };
        for orientation in 1..=8u16 {
            // The photo as the phone stores it: the upright picture, turned or mirrored.
            let mut stored = RgbImage::new(side, side);
            for y in 0..side {
                for x in 0..side {
                    let (sx, sy) = stored_at(orientation, x, y);
                    stored.put_pixel(sx, sy, quadrant(x, y));
                }
            }
            let mut plain = Vec::new();
            JpegEncoder::new_with_quality(&mut plain, 95)
                .encode_image(&stored)
                .unwrap();

            let thumb = decoded(&thumbnail(&with_exif_orientation(&plain, orientation)).unwrap());

            for (x, y) in [(10, 10), (60, 10), (10, 60), (60, 60)] {
                let expected = quadrant(x * side / 70, y * side / 70);
                let got = *thumb.get_pixel(x, y);
                let close = expected
                    .0
                    .iter()
                    .zip(got.0)
                    .all(|(e, g)| e.abs_diff(g) < 60);
                assert!(
                    close,
                    "orientation {orientation}: ({x},{y}) is {got:?}, not {expected:?}"
                );
            }
        }
    }

    #[test]
    fn grayscale_photos_are_accepted() {
        let image = GrayImage::from_fn(100, 100, |x, _| image::Luma([x as u8]));
        let mut bytes = Vec::new();
        JpegEncoder::new(&mut bytes).encode_image(&image).unwrap();
        assert_eq!(decoded(&thumbnail(&bytes).unwrap()).dimensions(), (70, 70));
    }

    #[test]
    fn exactly_70_by_70_passes_and_69_fails() {
        assert!(check(&jpeg(70, 70, |_, _| Rgb([1, 2, 3]))).is_ok());
        assert_eq!(
            check(&jpeg(69, 500, |_, _| Rgb([1, 2, 3]))),
            Err(PhotoError::TooSmall)
        );
        assert_eq!(
            check(&jpeg(500, 69, |_, _| Rgb([1, 2, 3]))),
            Err(PhotoError::TooSmall)
        );
    }

    #[test]
    fn other_formats_are_not_jpeg_whatever_they_are_called() {
        let png = b"\x89PNG\r\n\x1a\n\0\0\0\rIHDR";
        assert_eq!(check(png), Err(PhotoError::NotJpeg));
        assert_eq!(check(b""), Err(PhotoError::NotJpeg));
        assert_eq!(check(b"GIF89a"), Err(PhotoError::NotJpeg));
    }

    #[test]
    fn a_corrupt_jpeg_is_invalid() {
        let mut bytes = jpeg(200, 200, |_, _| Rgb([9, 9, 9]));
        assert_eq!(check(&bytes[..20]), Err(PhotoError::Invalid));
        let len = bytes.len();
        bytes.truncate(len / 3);
        assert_eq!(thumbnail(&bytes), Err(PhotoError::Invalid));
        assert_eq!(
            thumbnail(&[0xFF, 0xD8, 0xFF, 0xE0, 0, 0]),
            Err(PhotoError::Invalid)
        );
    }

    #[test]
    fn a_decompression_bomb_header_is_refused_before_decoding() {
        let bomb = with_claimed_size(jpeg(100, 100, |_, _| Rgb([0, 0, 0])), 60_000, 60_000);
        assert_eq!(check(&bomb), Err(PhotoError::Invalid));
        assert_eq!(thumbnail(&bomb), Err(PhotoError::Invalid));
    }

    #[test]
    fn more_than_5_mib_is_too_large_before_any_parsing() {
        let mut bytes = vec![0u8; PHOTO_MAX_BYTES + 1];
        bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert_eq!(check(&bytes), Err(PhotoError::TooLarge));
    }
}
