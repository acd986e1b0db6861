//! The profile photo pipeline (CONTRACT.md, "Photos"): check an upload, then centre-crop and
//! scale it to a 70x70 JPEG, within a budget of work and memory that no upload can exceed.
//!
//! - The file's structure is walked first ([`markers`]): one frame header, scans in a legal
//!   progression, tables defined, at most 64 scans — so a 60000x60000 claim, a second frame
//!   header or a pile of refinement scans is refused before any pixel buffer exists.
//! - A photo whose short side is at least 1,120 px is decoded at 1/8 scale from its DC
//!   coefficients alone ([`eighth`]): baseline or progressive, its cost is about one pass
//!   over its bytes and its memory one number per 8x8 block.
//! - Smaller ones go through `jpeg-decoder` at 1/2, 1/4 or full scale, keeping 140 px on the
//!   short side, within the [`general::Budget`] (coefficient memory, passes over the
//!   coefficients, data enough for every block, decoded pixels); one over it whose short
//!   side still leaves 70 px at 1/8 scale is decoded at 1/8 instead, and the rest refused.
//!
//! The result is turned upright by the photo's EXIF orientation (phones store portraits
//! sideways). Nothing here panics on any input: every slice access is checked, arithmetic
//! on values from the file saturates or wraps, and `fuzz/` runs it on mutated JPEGs.

#![warn(missing_docs)]

use domain::registration::{PHOTO_MAX_BYTES, PHOTO_MIN_SIDE, PhotoError};
use image::RgbImage;
use image::codecs::jpeg::JpegEncoder;
use image::metadata::Orientation;

pub mod eighth;
mod entropy;
pub mod general;
pub mod markers;
#[cfg(feature = "samples")]
pub mod samples;
#[cfg(test)]
mod testing;

/// Side of the stored photo, in pixels.
pub const THUMBNAIL_SIDE: u32 = 70;
/// Largest image accepted, in pixels (a 50-megapixel camera is well inside; a
/// decompression bomb is not).
pub const MAX_PIXELS: u64 = 50_000_000;
/// JPEG quality of the stored photo: visually clean at 70x70, about 3 KB.
const JPEG_QUALITY: u8 = 88;
/// The scaled decode keeps at least this many pixels on the short side, so the final
/// resize still averages several source pixels per output pixel (libvips leaves the same
/// factor of two after its shrink-on-load).
const DECODE_MIN_SIDE: usize = THUMBNAIL_SIDE as usize * 2;

/// Why the decoders refused a file, for tests and logs; every reason is the contract's
/// "Image is invalid." to the client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejected(pub &'static str);

impl From<Rejected> for PhotoError {
    fn from(_: Rejected) -> Self {
        PhotoError::Invalid
    }
}

/// Why the pipeline refused an upload: the contract's reason, and for an invalid JPEG what
/// the decoders found (kept apart so tests can say which rule refused a file).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Refusal {
    Photo(PhotoError),
    Invalid(Rejected),
}

impl From<PhotoError> for Refusal {
    fn from(error: PhotoError) -> Self {
        Self::Photo(error)
    }
}

impl From<Rejected> for Refusal {
    fn from(rejected: Rejected) -> Self {
        Self::Invalid(rejected)
    }
}

impl From<Refusal> for PhotoError {
    fn from(refusal: Refusal) -> Self {
        match refusal {
            Refusal::Photo(error) => error,
            Refusal::Invalid(_) => PhotoError::Invalid,
        }
    }
}

/// What the header says about an accepted upload.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dimensions {
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Checks an upload without decoding its pixels: size, JPEG signature, a readable frame
/// header of a kind the decoders handle, sane and large-enough dimensions.
pub fn check(bytes: &[u8]) -> Result<Dimensions, PhotoError> {
    let mut walker = signed_jpeg(bytes)?;
    let frame = walker.frame().map_err(Refusal::from)?;
    Ok(dimensions(frame)?)
}

/// Checks `bytes` (as [`check`]) and makes the 70x70 JPEG: decoded at a reduced scale,
/// centre-cropped to a square, resized with a Lanczos filter, turned upright, encoded.
pub fn thumbnail(bytes: &[u8]) -> Result<Vec<u8>, PhotoError> {
    let (image, orientation) = decode(bytes)?;

    let small = centre_square(&image)?;

    // The centred square of the upright photo is the upright square of the stored one, so
    // the orientation is applied to the 70x70 result: the cheapest place.
    let mut upright = image::DynamicImage::ImageRgb8(small);
    if let Some(orientation) = orientation {
        upright.apply_orientation(orientation);
    }

    let mut out = Vec::with_capacity(8 * 1024);
    JpegEncoder::new_with_quality(&mut out, JPEG_QUALITY)
        .encode_image(&upright)
        .map_err(|_| PhotoError::Invalid)?;
    Ok(out)
}

/// The centred square of `image`, scaled to [`THUMBNAIL_SIDE`] with a Lanczos3 filter by
/// fast_image_resize: a tenth of the `image` crate's time (which was a tenth of a photo's),
/// and no copy for the crop. It is built for RGBA only (`only_u8x4`: every other pixel type
/// would add ~0.7 MB to the components), so the square goes through RGBA.
fn centre_square(image: &RgbImage) -> Result<RgbImage, Rejected> {
    use fast_image_resize::images::{Image, ImageRef};
    use fast_image_resize::{FilterType, PixelType, ResizeAlg, ResizeOptions, Resizer};
    let failed = Rejected("the image could not be resized");
    let (width, height) = image.dimensions();
    let side = width.min(height);
    let (x, y) = ((width - side) / 2, (height - side) / 2);
    // Only the square's pixels, as RGBA.
    let (row, side_px) = (width as usize * 3, side as usize);
    let mut rgba = Vec::with_capacity(side_px * side_px * 4);
    for line in image
        .as_raw()
        .chunks_exact(row)
        .skip(y as usize)
        .take(side_px)
    {
        let start = x as usize * 3;
        for pixel in line[start..start + side_px * 3].chunks_exact(3) {
            rgba.extend_from_slice(&[pixel[0], pixel[1], pixel[2], 255]);
        }
    }
    let source = ImageRef::new(side, side, &rgba, PixelType::U8x4).map_err(|_| failed)?;
    let mut square = Image::new(THUMBNAIL_SIDE, THUMBNAIL_SIDE, PixelType::U8x4);
    let options = ResizeOptions::new().resize_alg(ResizeAlg::Convolution(FilterType::Lanczos3));
    Resizer::new()
        .resize(&source, &mut square, &options)
        .map_err(|_| failed)?;
    let mut rgb = Vec::with_capacity(square.buffer().len() / 4 * 3);
    for pixel in square.buffer().chunks_exact(4) {
        rgb.extend_from_slice(&pixel[..3]);
    }
    RgbImage::from_raw(THUMBNAIL_SIDE, THUMBNAIL_SIDE, rgb).ok_or(failed)
}

/// The photo at a reduced scale, and its EXIF orientation.
fn decode(bytes: &[u8]) -> Result<(RgbImage, Option<Orientation>), Refusal> {
    let mut walker = signed_jpeg(bytes)?;
    let frame = walker.frame()?.clone();
    dimensions(&frame)?;
    let short = frame.width.min(frame.height);
    let image = if short / 8 >= DECODE_MIN_SIDE {
        eighth::decode(&mut walker)?
    } else if general::Budget::of(bytes)?.allows() {
        // Walked to the end by the budget's walk; this walk only needs the EXIF segment,
        // which comes before the frame header.
        general::decode(bytes, &frame, DECODE_MIN_SIDE)?
    } else if short / 8 >= THUMBNAIL_SIDE as usize {
        eighth::decode(&mut walker)?
    } else {
        return Err(Rejected("over the decoding budget").into());
    };
    let orientation = walker.exif().and_then(Orientation::from_exif_chunk);
    Ok((image, orientation))
}

/// A walk of `bytes` after the checks that need no parsing: size, then signature.
fn signed_jpeg(bytes: &[u8]) -> Result<markers::Walker<'_>, Refusal> {
    if bytes.len() > PHOTO_MAX_BYTES {
        return Err(PhotoError::TooLarge.into());
    }
    // Every JPEG starts with SOI (FF D8) followed by a marker (FF).
    if !bytes.starts_with(&[0xFF, 0xD8, 0xFF]) {
        return Err(PhotoError::NotJpeg.into());
    }
    Ok(markers::Walker::new(bytes)?)
}

/// The frame's dimensions, if within [`MAX_PIXELS`] and at least [`PHOTO_MIN_SIDE`].
fn dimensions(frame: &markers::Frame) -> Result<Dimensions, Refusal> {
    let to_u32 = |v: usize| u32::try_from(v).map_err(|_| Rejected("a bad dimension"));
    let dimensions = Dimensions {
        width: to_u32(frame.width)?,
        height: to_u32(frame.height)?,
    };
    if u64::from(dimensions.width) * u64::from(dimensions.height) > MAX_PIXELS {
        return Err(Rejected("more than 50 megapixels").into());
    }
    if dimensions.width < PHOTO_MIN_SIDE || dimensions.height < PHOTO_MIN_SIDE {
        return Err(PhotoError::TooSmall.into());
    }
    Ok(dimensions)
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
        let image = image::GrayImage::from_fn(100, 100, |x, _| image::Luma([x as u8]));
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
    fn every_hostile_sample_is_refused_by_the_rule_it_attacks() {
        use crate::samples::hostile;
        let invalid = |reason| Err(Refusal::Invalid(Rejected(reason)));
        let cases = [
            (
                hostile::huffman_slots_out_of_range(),
                invalid("a scan uses an undefined DC table"),
            ),
            (
                hostile::second_frame_header(),
                invalid("a second frame header"),
            ),
            (
                hostile::refinement_flood(400),
                invalid("a scan out of progression"),
            ),
            (
                hostile::claim_without_data(),
                invalid("entropy-coded data cut short"),
            ),
            (
                hostile::progressive_panorama(500, 65535),
                invalid("over the decoding budget"),
            ),
            (
                hostile::dc_refinements(),
                invalid("too many DC refinement scans"),
            ),
        ];
        for (bytes, expected) in cases {
            assert_eq!(decode(&bytes).map(|_| ()), expected);
            assert_eq!(thumbnail(&bytes), Err(PhotoError::Invalid));
        }
        // Every sample is refused, whatever else the list holds.
        for (name, bytes) in hostile::all() {
            // A legal file that is costly to a general decoder, not to ours.
            let legal = name.contains("1000x50000");
            assert_eq!(thumbnail(&bytes).is_ok(), legal, "{name}");
        }
    }

    #[test]
    fn a_panorama_over_the_general_budget_is_decoded_at_one_eighth() {
        // 100 MB of coefficients for jpeg-decoder; 125 px across at 1/8 scale is still
        // more than the 70 the thumbnail needs.
        let bytes = crate::samples::hostile::progressive_panorama(1000, 50_000);
        assert!(!general::Budget::of(&bytes).unwrap().allows());
        let thumb = decoded(&thumbnail(&bytes).unwrap());
        assert_eq!(thumb.dimensions(), (70, 70));
    }

    #[test]
    fn every_fixture_makes_a_thumbnail_or_is_refused_as_unsupported() {
        for name in crate::testing::FIXTURES_DECODABLE {
            let thumb = thumbnail(&crate::testing::fixture(name));
            assert_eq!(decoded(&thumb.unwrap()).dimensions(), (70, 70), "{name}");
        }
        assert_eq!(
            decode(&crate::testing::fixture("libjpeg-arithmetic.jpeg")).map(|_| ()),
            Err(Refusal::Invalid(Rejected(
                "a kind of JPEG the decoders do not handle"
            )))
        );
    }

    #[test]
    fn large_progressive_photos_take_the_one_eighth_path_and_match_the_baseline_one() {
        let image = crate::testing::picture(1600, 1200);
        let baseline = thumbnail(&crate::testing::encode(
            &image,
            jpeg_encoder::SamplingFactor::R_4_2_0,
            0,
        ))
        .unwrap();
        let progressive = thumbnail(&crate::testing::progressive_spectral(&image)).unwrap();
        let (mean, _) = crate::testing::difference(&decoded(&baseline), &decoded(&progressive));
        assert!(mean < 2.0, "mean difference {mean}");
    }

    #[test]
    fn more_than_5_mib_is_too_large_before_any_parsing() {
        let mut bytes = vec![0u8; PHOTO_MAX_BYTES + 1];
        bytes[..3].copy_from_slice(&[0xFF, 0xD8, 0xFF]);
        assert_eq!(check(&bytes), Err(PhotoError::TooLarge));
    }
}
