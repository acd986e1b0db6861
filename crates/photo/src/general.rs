//! Photos too small for the 1/8 decoder (short side under 1,120 px) go through `jpeg-decoder`
//! at 1/2, 1/4 or full scale. It has no limits of its own on scans, on the coefficients a
//! progressive image makes it keep, or on data that is missing (it decodes zeros), so a file
//! is first walked ([`crate::markers`]) and given to it only within a [`Budget`].

use std::io::Cursor;

use image::{GrayImage, RgbImage};
use jpeg_decoder::{Decoder, PixelFormat};

use crate::Rejected;
use crate::markers::{Frame, Process, Walker, end_of_entropy_data};

/// Most pixels decoded (after DCT scaling). Only extreme panoramas come near: a 1,000 x
/// 16,000 photo decodes at 1/4 scale to 1 megapixel.
pub const MAX_DECODED_PIXELS: usize = 4_000_000;
/// Most memory for a progressive image's coefficients, which `jpeg-decoder` keeps for the
/// whole image at full resolution (2 bytes each, 64 per block): 11 megapixels with 4:2:0
/// chroma, 5.6 with none subsampled.
pub const MAX_COEFFICIENT_BYTES: usize = 32 << 20;
/// Most coefficient visits, as a multiple of one pass over every coefficient: a scan goes
/// over each of its blocks' coefficients in its band, and a libjpeg progression visits each
/// coefficient about 3 times (10 scans), where a sequential image visits it once.
pub const MAX_PASSES: usize = 4;
/// Upper bound for the decoder's own buffers (it checks this itself).
const MAX_DECODING_BUFFER: usize = 64 * 1024 * 1024;

/// What decoding the whole file would cost, from its structure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Budget {
    /// Coefficients kept at once (progressive images only), in bytes.
    pub coefficient_bytes: usize,
    /// Coefficient visits over all scans.
    pub visits: usize,
    /// Visits allowed: [`MAX_PASSES`] over every coefficient.
    pub allowed_visits: usize,
}

impl Budget {
    /// Walks every scan of `bytes`, and checks each has at least the data its blocks need:
    /// a sequential block takes 2 bits at the least (a DC code and an end of block), a DC
    /// scan's block 1.
    pub fn of(bytes: &[u8]) -> Result<Self, Rejected> {
        let mut walker = Walker::new(bytes)?;
        let frame = walker.frame()?.clone();
        let blocks: usize = frame
            .components
            .iter()
            .map(|c| {
                let (x, y) = frame.padded_blocks(c);
                x * y
            })
            .sum();
        let mut visits = 0usize;
        while let Some(scan) = walker.next_scan()? {
            let end = end_of_entropy_data(bytes, scan.data_start);
            walker.resume_at(end);
            let scan_blocks = scan.blocks(&frame);
            visits = visits.saturating_add(scan_blocks.saturating_mul(scan.se + 1 - scan.ss));
            let bits_per_block = match frame.process {
                Process::Sequential => 2,
                Process::Progressive if scan.is_dc() => 1,
                Process::Progressive => 0,
            };
            let needed = (scan_blocks * bits_per_block).div_ceil(8);
            if end - scan.data_start < needed {
                return Err(Rejected("entropy-coded data too short for its blocks"));
            }
        }
        Ok(Self {
            coefficient_bytes: match frame.process {
                Process::Progressive => blocks.saturating_mul(64 * 2),
                Process::Sequential => 0,
            },
            visits,
            allowed_visits: blocks.saturating_mul(64 * MAX_PASSES),
        })
    }

    /// Whether `jpeg-decoder` may decode the file.
    pub fn allows(&self) -> bool {
        self.coefficient_bytes <= MAX_COEFFICIENT_BYTES && self.visits <= self.allowed_visits
    }
}

/// The photo of `frame`, decoded by `jpeg-decoder` at the smallest DCT scale that keeps
/// `min_side` pixels on its short side.
pub fn decode(bytes: &[u8], frame: &Frame, min_side: usize) -> Result<RgbImage, Rejected> {
    let (width, height) = (frame.width, frame.height);
    let short = width.min(height);
    // The scale that keeps `min_side` on the short side: 1/8 (not used here: the 1/8
    // decoder does it), 1/4, 1/2 or 1.
    let scale = [4, 2, 1]
        .into_iter()
        .find(|&d| short / d >= min_side)
        .unwrap_or(1);
    let (scaled_w, scaled_h) = (width.div_ceil(scale), height.div_ceil(scale));
    if scaled_w.saturating_mul(scaled_h) > MAX_DECODED_PIXELS {
        return Err(Rejected("too many pixels to decode"));
    }
    let mut decoder = Decoder::new(Cursor::new(bytes));
    decoder.set_max_decoding_buffer_size(MAX_DECODING_BUFFER);
    decoder
        .read_info()
        .map_err(|_| Rejected("refused by jpeg-decoder"))?;
    let to_u16 = |v: usize| u16::try_from(v).map_err(|_| Rejected("a bad dimension"));
    let (w, h) = decoder
        .scale(to_u16(scaled_w)?, to_u16(scaled_h)?)
        .map_err(|_| Rejected("refused by jpeg-decoder"))?;
    let pixels = decoder
        .decode()
        .map_err(|_| Rejected("refused by jpeg-decoder"))?;
    let info = decoder.info().ok_or(Rejected("refused by jpeg-decoder"))?;
    to_rgb(u32::from(w), u32::from(h), info.pixel_format, pixels)
}

/// `jpeg-decoder`'s output as RGB.
pub(crate) fn to_rgb(
    width: u32,
    height: u32,
    format: PixelFormat,
    pixels: Vec<u8>,
) -> Result<RgbImage, Rejected> {
    let wrong_size = Rejected("jpeg-decoder's output is not the size it said");
    match format {
        PixelFormat::RGB24 => RgbImage::from_raw(width, height, pixels).ok_or(wrong_size),
        PixelFormat::L8 => {
            let grey = GrayImage::from_raw(width, height, pixels).ok_or(wrong_size)?;
            Ok(image::DynamicImage::ImageLuma8(grey).to_rgb8())
        }
        PixelFormat::CMYK32 => {
            // jpeg-decoder gives ink amounts (0: none).
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(255 - p[3]);
                    [0, 1, 2]
                        .map(|i| u8::try_from(u16::from(255 - p[i]) * k / 255).unwrap_or(u8::MAX))
                })
                .collect();
            RgbImage::from_raw(width, height, rgb).ok_or(wrong_size)
        }
        // 16-bit output comes only from lossless frames, which the walk refuses.
        PixelFormat::L16 => Err(Rejected("a kind of JPEG the decoders do not handle")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::fixture;

    #[test]
    fn honest_files_are_within_budget() {
        for name in crate::testing::FIXTURES_DECODABLE {
            let budget = Budget::of(&fixture(name)).unwrap();
            assert!(budget.allows(), "{name}: {budget:?}");
            assert!(
                budget.visits * 4 <= budget.allowed_visits * 3,
                "{name}: {budget:?} is within a quarter of the limit"
            );
        }
    }

    #[test]
    fn a_scan_without_data_for_its_blocks_is_refused() {
        let bytes = fixture("libjpeg-baseline-420.jpeg");
        let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let length = usize::from(u16::from_be_bytes([bytes[sos + 2], bytes[sos + 3]]));
        let mut empty = bytes[..sos + 2 + length].to_vec();
        empty.extend_from_slice(&[0xFF, 0xD9]);
        assert_eq!(
            Budget::of(&empty),
            Err(Rejected("entropy-coded data too short for its blocks"))
        );
    }
}
