// Benchmark-only peer: sharp's take on our 70x70 thumbnail, on the same input file as the
// photo pipeline, so the bench table can put the two side by side.
//   node thumbnail.mjs <input.jpeg> <output.jpeg> <runs>
// Prints one JSON line: median_ms, min_ms, runs, peak_rss_bytes, sharp, libvips.
import { readFileSync, writeFileSync } from 'node:fs';
import sharp from 'sharp';

const [input, output, runsArg] = process.argv.slice(2);
const runs = Number(runsArg);
if (!input || !output || !Number.isInteger(runs) || runs < 1) {
  console.error('usage: node thumbnail.mjs <input.jpeg> <output.jpeg> <runs>');
  process.exit(2);
}

// Our component is single-threaded, so hold libvips to one worker thread; and without the
// operation cache a repeated run would be served from memory instead of decoding again.
sharp.concurrency(1);
sharp.cache(false);

// Read once, outside the timing: the component is handed bytes, not a path.
const bytes = readFileSync(input);

// Same operations as photo::thumbnail: centre-cropped 70x70, JPEG quality 88.
const thumbnail = () =>
  sharp(bytes).resize(70, 70, { fit: 'cover' }).jpeg({ quality: 88 }).toBuffer();

// The first call pays one-off costs (libvips operation classes, code paging in) that the
// long-running component has already paid, so it is not counted.
let last = await thumbnail();

const ms = [];
for (let i = 0; i < runs; i++) {
  const started = process.hrtime.bigint();
  last = await thumbnail();
  ms.push(Number(process.hrtime.bigint() - started) / 1e6);
}
ms.sort((a, b) => a - b);
writeFileSync(output, last);

console.log(JSON.stringify({
  // The upper middle for an even count, as photo_bench takes the component's median.
  median_ms: ms[Math.floor(ms.length / 2)],
  min_ms: ms[0],
  runs,
  // maxRSS is in KiB. It includes Node itself (tens of MiB), not just libvips' buffers.
  peak_rss_bytes: process.resourceUsage().maxRSS * 1024,
  sharp: sharp.versions.sharp,
  libvips: sharp.versions.vips,
}));
