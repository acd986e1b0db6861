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

/// The camera-like picture as a progressive JPEG (spectral selection, as jpeg-encoder
/// writes it) at the highest quality that fits in `max_bytes`: what photo editors and web
/// exports send. Qualities are tried from 95 down in steps of 5.
pub fn camera_like_progressive_within(
    width: u32,
    height: u32,
    max_bytes: usize,
) -> Option<Vec<u8>> {
    let mut noise = noise(0x9E37_79B9);
    let image = RgbImage::from_fn(width, height, |x, y| {
        Rgb(gradients(x, y, width, height).map(|c| (c + noise() / 8).clamp(0, 255) as u8))
    });
    let (w, h) = (u16::try_from(width).ok()?, u16::try_from(height).ok()?);
    (30..=95).rev().step_by(5).find_map(|quality| {
        let mut out = Vec::new();
        let mut encoder = jpeg_encoder::Encoder::new(&mut out, quality);
        encoder.set_progressive(true);
        encoder
            .encode(image.as_raw(), w, h, jpeg_encoder::ColorType::Rgb)
            .ok()?;
        (out.len() <= max_bytes).then_some(out)
    })
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

/// Hand-built JPEGs that attack the decoders, one per kind of attack the budget must stop
/// (docs/hostile-input.md): what an attacker would upload, each to be refused with the
/// contract's `Image is invalid.` within the budget. Tests, the fuzzer's seeds and the
/// benchmark's "hostile photos" rows share them.
pub mod hostile {
    /// Every hostile sample, by name.
    pub fn all() -> Vec<(&'static str, Vec<u8>)> {
        vec![
            (
                "huffman table slots out of range",
                huffman_slots_out_of_range(),
            ),
            (
                "a second frame header of 65535x65535",
                second_frame_header(),
            ),
            ("400 progressive refinement scans", refinement_flood(400)),
            ("7000x7000 with no image data", claim_without_data()),
            (
                "a 1000x50000 progressive panorama",
                progressive_panorama(1000, 50_000),
            ),
            (
                "a 500x65535 progressive panorama",
                progressive_panorama(500, 65_535),
            ),
            ("13 DC refinement scans of 7000x7000", dc_refinements()),
        ]
    }

    /// A 7000x7000 grey progressive JPEG whose DC comes in 14 scans, one bit at a time
    /// (the most a legal progression allows): every scan is data the 1/8 decoder must
    /// read, a bit per block, 39 times over at 50 megapixels in colour.
    pub fn dc_refinements() -> Vec<u8> {
        let blocks = 875 * 875;
        let mut jpeg = Jpeg::start()
            .tables()
            .frame(0xC2, 7000, 7000)
            .scan(0x00, 0, 0, 13)
            .data(&vec![0; blocks / 8 + 1]);
        for bit in (0..13u8).rev() {
            jpeg = jpeg
                .scan(0x00, 0, 0, (bit + 1) << 4 | bit)
                .data(&vec![0x55; blocks / 8 + 1]);
        }
        jpeg.scan(0x00, 1, 63, 0)
            .data(&end_of_band_runs(blocks))
            .end()
    }

    /// A 1200x1200 baseline JPEG whose scan names Huffman tables 5 and 5 (there are 4
    /// slots): it crashed the 1/8 decoder, which indexed its table array with them.
    pub fn huffman_slots_out_of_range() -> Vec<u8> {
        Jpeg::start()
            .tables()
            .frame(0xC0, 1200, 1200)
            .scan(0x55, 0, 63, 0)
            .data(&[0; 32])
            .end()
    }

    /// A 1200x1200 frame header, then one of 65535x65535: the size check read the first,
    /// the decoder used the last, and padded the missing data with zeros — a 165-byte file
    /// was taken for a photo after 13 s and 1.2 GiB.
    pub fn second_frame_header() -> Vec<u8> {
        Jpeg::start()
            .tables()
            .frame(0xC0, 1200, 1200)
            .frame(0xC0, 65535, 65535)
            .scan(0x00, 0, 63, 0)
            .end()
    }

    /// A 7000x7000 grey progressive JPEG: its DC scan, one AC scan, then `refinements`
    /// scans that each refine every coefficient again (an end-of-band run over all blocks
    /// in a few bytes): each cost a general decoder a pass over 49 megapixels.
    pub fn refinement_flood(refinements: usize) -> Vec<u8> {
        let blocks = 875 * 875;
        let mut jpeg = Jpeg::start()
            .tables()
            .frame(0xC2, 7000, 7000)
            // DC: one zero bit per block (size-0 differences).
            .scan(0x00, 0, 0, 0)
            .data(&vec![0; blocks / 8 + 1])
            .scan(0x00, 1, 63, 0x01)
            .data(&end_of_band_runs(blocks));
        for _ in 0..refinements {
            jpeg = jpeg.scan(0x00, 1, 63, 0x10).data(&end_of_band_runs(blocks));
        }
        jpeg.end()
    }

    /// A 7000x7000 baseline JPEG whose scan has no data: decoders that pad with zeros
    /// decode a whole grey image from nothing.
    pub fn claim_without_data() -> Vec<u8> {
        Jpeg::start()
            .tables()
            .frame(0xC0, 7000, 7000)
            .scan(0x00, 0, 63, 0)
            .end()
    }

    /// A `width` x `height` grey progressive JPEG of DC data only: real, cheap to send,
    /// and with every block's coefficients to keep for a general decoder (100 MB at
    /// 1000x50000).
    pub fn progressive_panorama(width: u16, height: u16) -> Vec<u8> {
        let blocks = usize::from(width).div_ceil(8) * usize::from(height).div_ceil(8);
        Jpeg::start()
            .tables()
            .frame(0xC2, width, height)
            .scan(0x00, 0, 0, 0)
            .data(&vec![0; blocks / 8 + 1])
            .scan(0x00, 1, 63, 0)
            .data(&end_of_band_runs(blocks))
            .end()
    }

    /// AC data that ends the band in `blocks` blocks: end-of-band runs of 32767 (symbol
    /// 0xE0, code `1`, then 14 one bits), padded with one bits.
    fn end_of_band_runs(blocks: usize) -> Vec<u8> {
        let mut bits = Vec::new();
        for _ in 0..blocks.div_ceil(32767) {
            bits.extend([true; 15]);
        }
        while bits.len() % 8 != 0 {
            bits.push(true);
        }
        let mut out = Vec::new();
        for byte in bits.chunks(8) {
            let byte = byte.iter().fold(0u8, |acc, &b| acc << 1 | u8::from(b));
            out.push(byte);
            if byte == 0xFF {
                out.push(0x00);
            }
        }
        out
    }

    /// A JPEG written segment by segment.
    struct Jpeg(Vec<u8>);

    impl Jpeg {
        fn start() -> Self {
            Self(vec![0xFF, 0xD8])
        }

        fn segment(mut self, marker: u8, payload: &[u8]) -> Self {
            let length = u16::try_from(payload.len() + 2).unwrap_or(u16::MAX);
            self.0.extend_from_slice(&[0xFF, marker]);
            self.0.extend_from_slice(&length.to_be_bytes());
            self.0.extend_from_slice(payload);
            self
        }

        /// Quantisation table 0 (all ones); DC table 0 with one code, `0`, for size 0;
        /// AC table 0 with `0` for the end of block and `1` for an end-of-band run of
        /// 2^14 + 14 more bits.
        fn tables(self) -> Self {
            let mut quant = vec![0x00];
            quant.extend([1; 64]);
            let mut one_code = [0u8; 16];
            one_code[0] = 1;
            let mut two_codes = [0u8; 16];
            two_codes[0] = 2;
            let mut huffman = vec![0x00];
            huffman.extend(one_code);
            huffman.push(0x00);
            huffman.push(0x10);
            huffman.extend(two_codes);
            huffman.extend([0x00, 0xE0]);
            self.segment(0xDB, &quant).segment(0xC4, &huffman)
        }

        /// A one-component (grey) frame header.
        fn frame(self, marker: u8, width: u16, height: u16) -> Self {
            let mut payload = vec![8];
            payload.extend(height.to_be_bytes());
            payload.extend(width.to_be_bytes());
            payload.extend([1, 1, 0x11, 0]);
            self.segment(marker, &payload)
        }

        /// A scan of component 1 with table slots `tables` (DC << 4 | AC).
        fn scan(self, tables: u8, ss: u8, se: u8, approximation: u8) -> Self {
            self.segment(0xDA, &[1, 1, tables, ss, se, approximation])
        }

        fn data(mut self, bytes: &[u8]) -> Self {
            self.0.extend_from_slice(bytes);
            self
        }

        fn end(mut self) -> Vec<u8> {
            self.0.extend_from_slice(&[0xFF, 0xD9]);
            self.0
        }
    }
}
