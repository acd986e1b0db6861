//! A JPEG decoded at 1/8 scale from its DC coefficients alone.
//!
//! At 1/8 scale every 8x8 block becomes one pixel, the block's mean, which is its DC
//! coefficient: `DC × quantiser / 8 + 128`. The 63 AC coefficients of a block do not matter.
//!
//! - In a sequential JPEG (what phones and cameras write) they are Huffman-coded between
//!   the DC values, so they must still be read: one table lookup gives an AC code's length
//!   and the size of the value bits behind it, and both are skipped without decoding the
//!   value, dequantising it, storing it or transforming it — where a general decoder (and
//!   `jpeg-decoder`'s scaled decode) does all of that for 63 coefficients it then discards.
//!   On a 12-megapixel photo the entropy-coded data is nearly all the work.
//! - In a progressive JPEG the DC coefficients come in scans of their own: those are
//!   decoded, bit plane by bit plane, and every AC scan is passed over by looking for the
//!   marker that ends it, never decoded. A large progressive photo costs a fraction of its
//!   full decode, in time and in memory (one coefficient per block).
//!
//! Every frame the marker walk admits is handled: sequential or progressive, one to four
//! components (grey, YCbCr, RGB, CMYK, YCCK), any sampling factors, interleaved or not,
//! restart markers. Running out of data is corrupt ([`crate::entropy`]), and so is any
//! component left without its DC coefficients.

use image::RgbImage;

use crate::Rejected;
use crate::entropy::{AcTable, BitReader, DcTable};
use crate::markers::{Frame, Process, Scan, Walker};

/// Most passes over the blocks' DC coefficients: a first scan and up to three refinements
/// (libjpeg and mozjpeg send the DC in one scan, or two: the first at half precision).
/// A progression may legally refine the DC bit by bit in 13 more scans; each costs a read
/// of every block, for nothing a photo needs.
pub const MAX_DC_PASSES: usize = 4;

/// Decodes the image `walker` has read the frame header of, at 1/8 scale: one pixel per
/// 8x8 block, `ceil(width / 8)` by `ceil(height / 8)`.
pub fn decode(walker: &mut Walker<'_>) -> Result<RgbImage, Rejected> {
    let frame = walker.frame()?.clone();
    if frame.width as u64 * frame.height as u64 > crate::MAX_PIXELS {
        return Err(Rejected("more than 50 megapixels"));
    }
    let mut planes: Vec<Plane> = frame
        .components
        .iter()
        .map(|c| Plane::new(frame.padded_blocks(c), frame.blocks(c)))
        .collect();
    let blocks: usize = planes.iter().map(|p| p.coefficients.len()).sum();
    let mut visits = 0usize;
    while let Some(scan) = walker.next_scan()? {
        let needed = frame.process == Process::Sequential || scan.is_dc();
        if !needed {
            // An AC band of a progressive image: the walk skips its data.
            continue;
        }
        visits += scan.blocks(&frame);
        if visits > blocks * MAX_DC_PASSES {
            return Err(Rejected("too many DC refinement scans"));
        }
        let end = decode_scan(walker, &frame, &scan, &mut planes)?;
        walker.resume_at(end);
    }
    if planes.iter().any(|p| p.scale.is_none()) {
        return Err(Rejected("a component without its DC coefficients"));
    }
    let colours = Colours::of(&frame, walker.adobe_transform());
    Ok(to_rgb(&frame, &planes, colours))
}

/// One component at 1/8 scale: each block's DC coefficient over the whole padded grid of
/// MCUs (an interleaved scan codes them all; a scan of the component alone only the
/// `real` ones).
struct Plane {
    width: usize,
    /// The blocks that hold image data.
    real: (usize, usize),
    coefficients: Vec<i32>,
    /// The DC quantiser / 8, latched at the component's first scan (as libjpeg does).
    scale: Option<f32>,
}

impl Plane {
    fn new((width, height): (usize, usize), real: (usize, usize)) -> Self {
        Self {
            width,
            real,
            coefficients: vec![0; width * height],
            scale: None,
        }
    }
}

/// Decodes one scan's DC coefficients into `planes`; returns where its data was read to.
fn decode_scan(
    walker: &Walker<'_>,
    frame: &Frame,
    scan: &Scan,
    planes: &mut [Plane],
) -> Result<usize, Rejected> {
    for c in &scan.components {
        let plane = planes
            .get_mut(c.index)
            .ok_or(Rejected("a scan names an unknown component"))?;
        if plane.scale.is_none() {
            let quant = walker
                .dc_quant(frame.components[c.index].quant)
                .ok_or(Rejected("a component without a quantisation table"))?;
            plane.scale = Some(f32::from(quant) / 8.0);
        }
    }
    // The tables the scan reads, one per scan component.
    let tables = |class: usize| {
        scan.components.iter().map(move |c| {
            let slot = if class == 0 { c.dc_table } else { c.ac_table };
            walker
                .huffman(class, slot)
                .ok_or(Rejected("a scan uses an undefined table"))
        })
    };
    let mut bits = BitReader::new(walker.bytes(), scan.data_start);
    match (frame.process, scan.ah) {
        (Process::Sequential, _) => {
            let dc = tables(0)
                .map(|t| DcTable::new(t?))
                .collect::<Result<Vec<_>, _>>()?;
            let ac = tables(1)
                .map(|t| AcTable::new(t?))
                .collect::<Result<Vec<_>, _>>()?;
            for_each_block(
                frame,
                scan,
                planes,
                &mut bits,
                |bits, i, block, prediction| {
                    *prediction = prediction.wrapping_add(bits.dc_difference(&dc[i])?);
                    bits.skip_ac(&ac[i])?;
                    *block = *prediction;
                    Ok(())
                },
            )?;
        }
        (Process::Progressive, 0) => {
            let dc = tables(0)
                .map(|t| DcTable::new(t?))
                .collect::<Result<Vec<_>, _>>()?;
            let shift = u32::from(scan.al);
            for_each_block(
                frame,
                scan,
                planes,
                &mut bits,
                |bits, i, block, prediction| {
                    *prediction = prediction.wrapping_add(bits.dc_difference(&dc[i])?);
                    *block = prediction.wrapping_shl(shift);
                    Ok(())
                },
            )?;
        }
        (Process::Progressive, _) => {
            let bit = 1i32.wrapping_shl(u32::from(scan.al));
            for_each_block(frame, scan, planes, &mut bits, |bits, _, block, _| {
                if bits.bit() == 1 {
                    *block |= bit;
                }
                Ok(())
            })?;
        }
    }
    Ok(bits.position())
}

/// Calls `decode(bits, scan component, block, that component's DC prediction)` for every
/// block of `scan` in the order its data codes them: MCU by MCU, and within an MCU each
/// component's blocks row by row (one block per MCU when the scan has one component),
/// following restart markers and checking after every MCU that the data did not run out.
#[inline(always)]
fn for_each_block<F>(
    frame: &Frame,
    scan: &Scan,
    planes: &mut [Plane],
    bits: &mut BitReader<'_>,
    mut decode: F,
) -> Result<(), Rejected>
where
    F: FnMut(&mut BitReader<'_>, usize, &mut i32, &mut i32) -> Result<(), Rejected>,
{
    let interleaved = scan.components.len() > 1;
    // Per scan component: its plane, and the blocks across and down it has in an MCU.
    let layout: Vec<(usize, usize, usize)> = scan
        .components
        .iter()
        .map(|c| {
            let component = &frame.components[c.index];
            match interleaved {
                true => (c.index, component.h, component.v),
                false => (c.index, 1, 1),
            }
        })
        .collect();
    let (mcus_x, mcus_y) = if interleaved {
        frame.mcus()
    } else {
        frame.blocks(&frame.components[scan.components[0].index])
    };
    let mut predictions = [0i32; 4];
    let mut until_restart = scan.restart_interval;
    for my in 0..mcus_y {
        for mx in 0..mcus_x {
            if scan.restart_interval > 0 {
                if until_restart == 0 {
                    bits.restart()?;
                    predictions = [0; 4];
                    until_restart = scan.restart_interval;
                }
                until_restart -= 1;
            }
            for (i, &(plane, h, v)) in layout.iter().enumerate() {
                let plane = planes
                    .get_mut(plane)
                    .ok_or(Rejected("a scan names an unknown component"))?;
                let prediction = &mut predictions[i];
                for by in 0..v {
                    let start = (my * v + by) * plane.width + mx * h;
                    let row = plane
                        .coefficients
                        .get_mut(start..start + h)
                        .ok_or(Rejected("a block outside its component"))?;
                    for block in row {
                        decode(bits, i, block, prediction)?;
                    }
                }
            }
            if bits.overran() {
                return Err(Rejected("entropy-coded data cut short"));
            }
        }
    }
    Ok(())
}

/// How the components become red, green and blue.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Colours {
    Grey,
    YCbCr,
    Rgb,
    /// Adobe's CMYK, stored inverted (255 is no ink).
    Cmyk,
    /// Adobe's YCCK: YCbCr of inverted CMY, and inverted K.
    Ycck,
}

impl Colours {
    /// As libjpeg decides: by the Adobe segment's transform, else by the component count
    /// (and identifiers `R`, `G`, `B`).
    fn of(frame: &Frame, adobe_transform: Option<u8>) -> Self {
        let ids: Vec<u8> = frame.components.iter().map(|c| c.id).collect();
        match (frame.components.len(), adobe_transform) {
            (1, _) => Self::Grey,
            (3, Some(0)) => Self::Rgb,
            (3, None) if ids == [b'R', b'G', b'B'] => Self::Rgb,
            (3, _) => Self::YCbCr,
            (_, Some(2)) => Self::Ycck,
            _ => Self::Cmyk,
        }
    }
}

/// The 1/8-scale picture: one pixel per block of the most-sampled components, the others
/// interpolated between the centres of their (larger) blocks. Row by row, so nothing but
/// the picture itself is kept at its size.
fn to_rgb(frame: &Frame, planes: &[Plane], colours: Colours) -> RgbImage {
    let (width, height) = (frame.width.div_ceil(8), frame.height.div_ceil(8));
    let (max_h, max_v) = (frame.max_h() as f32, frame.max_v() as f32);
    let resamplers: Vec<Resampler> = planes
        .iter()
        .zip(&frame.components)
        .map(|(plane, c)| Resampler::new(plane, max_h / c.h as f32, max_v / c.v as f32, width))
        .collect();
    let mut rows: Vec<Vec<f32>> = vec![vec![0.0; width]; planes.len()];
    // `as` saturates: no clamp needed after rounding half up.
    let byte = |v: f32| (v + 0.5) as u8;
    let ycc = |luma: f32, cb: f32, cr: f32| {
        let (cb, cr) = (cb - 128.0, cr - 128.0);
        [
            luma + 1.402 * cr,
            luma - 0.344_136 * cb - 0.714_136 * cr,
            luma + 1.772 * cb,
        ]
    };
    let mut out = RgbImage::new(width as u32, height as u32);
    for (y, pixels) in out.chunks_exact_mut(width * 3).enumerate() {
        for ((resampler, plane), row) in resamplers.iter().zip(planes).zip(&mut rows) {
            resampler.row(plane, y, row);
        }
        let pixels = pixels.chunks_exact_mut(3);
        match (colours, rows.as_slice()) {
            (Colours::Grey, [g, ..]) => {
                for (p, &g) in pixels.zip(g) {
                    p.fill(byte(g));
                }
            }
            (Colours::Rgb, [r, g, b, ..]) => {
                for (p, ((&r, &g), &b)) in pixels.zip(r.iter().zip(g).zip(b)) {
                    p.copy_from_slice(&[byte(r), byte(g), byte(b)]);
                }
            }
            (Colours::YCbCr, [l, cb, cr, ..]) => {
                for (p, ((&l, &cb), &cr)) in pixels.zip(l.iter().zip(cb).zip(cr)) {
                    p.copy_from_slice(&ycc(l, cb, cr).map(byte));
                }
            }
            (Colours::Cmyk | Colours::Ycck, [a, b, c, k]) => {
                for (p, (((&a, &b), &c), &k)) in pixels.zip(a.iter().zip(b).zip(c).zip(k)) {
                    let cmy = match colours {
                        Colours::Ycck => ycc(a, b, c),
                        _ => [a, b, c],
                    };
                    let k = k.clamp(0.0, 255.0) / 255.0;
                    p.copy_from_slice(&cmy.map(|v| byte(v.clamp(0.0, 255.0) * k)));
                }
            }
            // The walk admits 1, 3 or 4 components, and `Colours::of` matches the count.
            _ => {}
        }
    }
    out
}

/// One component resampled to the output grid: as is when it is sampled as much as the
/// most-sampled one, else bilinearly between the centres of its blocks, each of which
/// covers `fx` x `fy` output pixels.
struct Resampler {
    /// Per output column: the two block columns to mix and the second's weight.
    columns: Vec<(usize, usize, f32)>,
    /// Output pixels per block down.
    fy: f32,
    /// Block rows that hold image data.
    rows: usize,
    /// One block per output pixel, across and down.
    full: bool,
}

impl Resampler {
    fn new(plane: &Plane, fx: f32, fy: f32, width: usize) -> Self {
        let last = plane.real.0.max(1) - 1;
        Self {
            columns: (0..width).map(|x| between(x, fx, last)).collect(),
            fy,
            rows: plane.real.1.max(1),
            full: fx <= 1.0 && fy <= 1.0,
        }
    }

    /// Output row `y` of this component into `out`.
    fn row(&self, plane: &Plane, y: usize, out: &mut [f32]) {
        let (y0, y1, ty) = between(y, self.fy, self.rows - 1);
        let row = |r: usize| {
            let start = (r * plane.width).min(plane.coefficients.len());
            let end = (start + plane.width).min(plane.coefficients.len());
            &plane.coefficients[start..end]
        };
        let (top, bottom) = (row(y0), row(y1));
        let scale = plane.scale.unwrap_or(0.0);
        if self.full {
            // Sampled as much as the most-sampled component: one block per pixel.
            for (value, &coefficient) in out.iter_mut().zip(top) {
                *value = coefficient as f32 * scale + 128.0;
            }
            return;
        }
        let at = |r: &[i32], x: usize| r.get(x).copied().unwrap_or(0) as f32 * scale + 128.0;
        for (value, &(x0, x1, tx)) in out.iter_mut().zip(&self.columns) {
            let upper = at(top, x0) * (1.0 - tx) + at(top, x1) * tx;
            let lower = at(bottom, x0) * (1.0 - tx) + at(bottom, x1) * tx;
            *value = upper * (1.0 - ty) + lower * ty;
        }
    }
}

/// For output position `i` where each block covers `factor` output pixels: the two block
/// positions (at most `last`) whose centres surround it, and the second one's weight.
fn between(i: usize, factor: f32, last: usize) -> (usize, usize, f32) {
    if factor <= 1.0 {
        let i = i.min(last);
        return (i, i, 0.0);
    }
    let centre = ((i as f32 + 0.5) / factor - 0.5).max(0.0);
    let first = (centre as usize).min(last);
    let weight = (centre - first as f32).clamp(0.0, 1.0);
    (first, (first + 1).min(last), weight)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testing::{block_means, difference, encode, fixture, picture, progressive_spectral};
    use jpeg_encoder::SamplingFactor;

    fn decode_bytes(bytes: &[u8]) -> Result<RgbImage, Rejected> {
        decode(&mut Walker::new(bytes)?)
    }

    #[test]
    fn every_chroma_sampling_decodes_to_the_block_means() {
        let image = picture(803, 597);
        for sampling in [
            SamplingFactor::R_4_4_4,
            SamplingFactor::R_4_2_2,
            SamplingFactor::R_4_2_0,
            SamplingFactor::R_4_4_0,
        ] {
            let bytes = encode(&image, sampling, 0);
            let eighth = decode_bytes(&bytes).unwrap();
            let (mean, _) = difference(&eighth, &block_means(&bytes));
            // Chroma is interpolated between block centres rather than averaged: close,
            // not equal, where the colour changes.
            assert!(mean < 2.5, "{sampling:?}: mean difference {mean}");
        }
    }

    #[test]
    fn restart_markers_are_followed() {
        let image = picture(640, 480);
        let plain = decode_bytes(&encode(&image, SamplingFactor::R_4_2_0, 0)).unwrap();
        for interval in [1, 3, 7] {
            let restarted =
                decode_bytes(&encode(&image, SamplingFactor::R_4_2_0, interval)).unwrap();
            assert_eq!(
                difference(&plain, &restarted),
                (0.0, 0),
                "interval {interval}"
            );
        }
    }

    #[test]
    fn grey_photos_decode() {
        let grey =
            image::GrayImage::from_fn(333, 250, |x, y| image::Luma([((x * 3 + y) % 256) as u8]));
        let mut bytes = Vec::new();
        jpeg_encoder::Encoder::new(&mut bytes, 90)
            .encode(grey.as_raw(), 333, 250, jpeg_encoder::ColorType::Luma)
            .unwrap();
        let eighth = decode_bytes(&bytes).unwrap();
        let (mean, _) = difference(&eighth, &block_means(&bytes));
        assert!(mean < 1.5, "mean difference {mean}");
    }

    #[test]
    fn progressive_photos_decode_from_their_dc_scans() {
        // Spectral selection only (jpeg-encoder), and libjpeg-turbo's and mozjpeg's
        // successive approximation with DC refinement (fixtures).
        let mut cases = vec![(
            "jpeg-encoder".to_owned(),
            progressive_spectral(&picture(640, 480)),
        )];
        for name in [
            "libjpeg-progressive-420.jpeg",
            "libjpeg-progressive-444.jpeg",
            "mozjpeg-progressive.jpeg",
            "libjpeg-progressive-grey.jpeg",
        ] {
            cases.push((name.to_owned(), fixture(name)));
        }
        for (name, bytes) in cases {
            let eighth = decode_bytes(&bytes).unwrap();
            let (mean, _) = difference(&eighth, &block_means(&bytes));
            assert!(mean < 2.5, "{name}: mean difference {mean}");
        }
    }

    #[test]
    fn cmyk_and_non_interleaved_scans_decode() {
        for name in [
            "libjpeg-cmyk-adobe.jpeg",
            "libjpeg-non-interleaved.jpeg",
            "libjpeg-restart-rows.jpeg",
        ] {
            let bytes = fixture(name);
            let eighth = decode_bytes(&bytes).unwrap();
            let (mean, _) = difference(&eighth, &block_means(&bytes));
            assert!(mean < 3.0, "{name}: mean difference {mean}");
        }
    }

    #[test]
    fn truncated_data_is_corrupt_not_padded() {
        let bytes = encode(&picture(400, 300), SamplingFactor::R_4_2_0, 0);
        let scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        for cut in [scan + 20, bytes.len() / 2, bytes.len() - 10] {
            let mut truncated = bytes[..cut].to_vec();
            truncated.extend_from_slice(&[0xFF, 0xD9]);
            assert!(decode_bytes(&truncated).is_err(), "cut at {cut}");
        }
        assert!(decode_bytes(&bytes[..scan]).is_err());
        assert!(decode_bytes(b"\xFF\xD8\xFF\xD9").is_err());
    }

    #[test]
    fn garbled_data_never_panics() {
        let bytes = encode(&picture(400, 300), SamplingFactor::R_4_2_0, 3);
        let scan = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        for step in [3, 7, 31] {
            let mut garbled = bytes.clone();
            for byte in garbled[scan + 30..].iter_mut().step_by(step) {
                *byte = byte.wrapping_mul(31).wrapping_add(7);
            }
            let _ = decode_bytes(&garbled);
        }
    }

    #[test]
    fn a_progressive_image_without_dc_is_refused() {
        let bytes = fixture("libjpeg-progressive-420.jpeg");
        // Drop the first scan (the DC one) by turning its SOS into a COM segment, which
        // leaves its data as junk before the next marker.
        let sos = bytes.windows(2).position(|w| w == [0xFF, 0xDA]).unwrap();
        let mut without_dc = bytes.clone();
        without_dc[sos + 1] = 0xFE;
        assert!(decode_bytes(&without_dc).is_err());
    }
}
