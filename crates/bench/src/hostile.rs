//! Hostile input and honest registrations (docs/hostile-input.md):
//!
//! - every hostile photo class, and honest camera photos at the contract's size, through
//!   the photo pipeline inside a component: its time, and the linear memory one request
//!   made its instance grow to (each request gets a fresh instance for that);
//! - honest registrations alone, then each sent while eight registrations of one hostile
//!   class arrive at the same moment: how much the hostile work delays them, beside how
//!   much eight honest registrations do (the machine has two cores to share either way);
//! - sequential registrations with camera photos on our builds and, given one, on the
//!   peer (the NestJS original), round by round so a drift of the machine's speed falls on
//!   every side alike.

use std::path::Path;
use std::time::{Duration, Instant};

use anyhow::Context;
use domain::registration::PHOTO_MAX_BYTES;
use photo::samples;

use crate::host::{Host, Server};
use crate::load::{fresh_dir, write_runtime_config};
use crate::plan::{Plan, workspace_root};
use crate::rows::{Beside, PhotoCost, Registrations};

/// The honest photos the rows use, at the plan's scale: a camera photo at the contract's
/// 5 MiB, and a progressive one of 7000x5250 (smoke: small ones).
fn honest_photos(plan: &Plan) -> anyhow::Result<Vec<(String, Vec<u8>)>> {
    let (w, h) = plan.photo_side;
    let (pw, ph) = if plan.photo_side.0 >= 4000 {
        (7000, 5250)
    } else {
        (700, 525)
    };
    let camera = samples::camera_like_within(w, h, PHOTO_MAX_BYTES).context("camera photo")?;
    let progressive =
        samples::camera_like_progressive_within(pw, ph, 4_800_000).context("progressive photo")?;
    Ok(vec![
        (format!("honest: camera-like {w}x{h}, baseline"), camera),
        (
            format!("honest: camera-like {pw}x{ph}, progressive"),
            progressive,
        ),
    ])
}

/// The pipeline's cost per input, on each server, one fresh instance per request.
pub fn photo_costs(plan: &Plan, work: &Path, servers: &[Server]) -> anyhow::Result<Vec<PhotoCost>> {
    let mut inputs: Vec<(String, Vec<u8>)> = samples::hostile::all()
        .into_iter()
        .map(|(name, bytes)| (name.to_owned(), bytes))
        .collect();
    inputs.extend(honest_photos(plan)?);
    let mut rows = Vec::new();
    for server in servers {
        let probe = Host::start_on(
            server,
            &workspace_root().join("crates/bench/spin.toml"),
            &fresh_dir(&work.join("hostile-probe"))?,
            None,
            &[],
            // A fresh instance per request: its memory is that request's alone.
            &["--max-instance-reuse-count", "1"],
            "/hello",
        )?;
        for (input, bytes) in &inputs {
            let mut micros = Vec::new();
            let (mut memory, mut answer) = (0, String::new());
            for _ in 0..plan.probe_runs.clamp(1, 5) {
                let body: serde_json::Value = ureq::post(&format!("{}/probe", probe.base))
                    .send(&bytes[..])?
                    .body_mut()
                    .read_json()?;
                micros.push(body["micros"].as_u64().context("micros")?);
                memory = memory.max(body["memory_bytes"].as_u64().context("memory")?);
                answer = body["error"].as_str().unwrap_or("ok").to_owned();
            }
            rows.push(PhotoCost {
                server: server.label.clone(),
                input: input.clone(),
                bytes: bytes.len(),
                answer,
                component_ms: median(
                    &mut micros
                        .iter()
                        .map(|&m| m as f64 / 1000.0)
                        .collect::<Vec<_>>(),
                ),
                memory_bytes: memory,
            });
        }
    }
    Ok(rows)
}

/// Honest registrations alone and beside each hostile class, on `server`, both builds.
pub fn beside(plan: &Plan, work: &Path, server: &Server) -> anyhow::Result<Vec<Beside>> {
    let honest = samples::camera_like(1600, 1200, 92);
    let rounds = if plan.photo_side.0 >= 4000 { 7 } else { 2 };
    let mut rows = Vec::new();
    for manifest in ["spin.toml", "spin-wasi02.toml"] {
        let app = start_app(server, work, manifest)?;
        let ours = Endpoints::ours(&app.base);
        let mut people = People::new(if manifest == "spin.toml" {
            10_000
        } else {
            40_000
        });
        let mut alone = Vec::new();
        for _ in 0..rounds {
            let (status, ms) = ours.register(&ours.token()?, &honest, &mut people)?;
            anyhow::ensure!(status == 201, "an honest registration got {status}");
            alone.push(ms);
        }
        let honest_alone_ms = median(&mut alone);
        // The reference: eight honest registrations of the same photo. Then each class the
        // pipeline refuses (a legal file among the samples is an honest photo here).
        let mut classes = vec![(
            "8 honest registrations (the reference)".to_owned(),
            honest.clone(),
        )];
        classes.extend(
            samples::hostile::all()
                .into_iter()
                .filter(|(_, bytes)| photo::thumbnail(bytes).is_err())
                .map(|(name, bytes)| (name.to_owned(), bytes)),
        );
        for (class, hostile) in classes {
            let (mut hostile_ms, mut beside_ms) = (Vec::new(), Vec::new());
            let (mut hostile_statuses, mut honest_statuses) = (Vec::new(), Vec::new());
            for _ in 0..rounds {
                let attack_tokens = (0..8)
                    .map(|_| ours.token())
                    .collect::<anyhow::Result<Vec<_>>>()?;
                let honest_token = ours.token()?;
                let attacks: Vec<_> = (0..8)
                    .zip(attack_tokens)
                    .map(|(i, token)| {
                        let (ours, hostile) = (ours.clone(), hostile.clone());
                        let mut people = People::new(people.next + 1_000 + i * 100);
                        std::thread::spawn(move || ours.register(&token, &hostile, &mut people))
                    })
                    .collect();
                let (status, ms) = ours.register(&honest_token, &honest, &mut people)?;
                honest_statuses.push(status);
                beside_ms.push(ms);
                for attack in attacks {
                    let (status, ms) = attack
                        .join()
                        .map_err(|_| anyhow::anyhow!("a hostile registration panicked"))??;
                    hostile_statuses.push(status);
                    hostile_ms.push(ms);
                }
                people.next += 2_000;
            }
            hostile_statuses.dedup();
            honest_statuses.dedup();
            rows.push(Beside {
                server: format!("{} ({manifest})", server.label),
                class,
                hostile_statuses,
                hostile_ms: median(&mut hostile_ms),
                honest_alone_ms,
                honest_beside_ms: median(&mut beside_ms),
                honest_statuses,
            });
        }
    }
    Ok(rows)
}

/// Sequential registrations with camera photos: our two builds on `server`, and the peer
/// at `peer` if given, round by round.
pub fn registrations(
    plan: &Plan,
    work: &Path,
    server: &Server,
    peer: Option<&str>,
) -> anyhow::Result<Vec<Registrations>> {
    let full = plan.photo_side.0 >= 4000;
    let photos: Vec<(String, Vec<u8>)> = if full {
        vec![
            (
                "camera-like 4000x3000, baseline".to_owned(),
                samples::camera_like_within(4000, 3000, 3_700_000).context("camera photo")?,
            ),
            (
                "camera-like 1600x1200, baseline".to_owned(),
                samples::camera_like_within(1600, 1200, 1_000_000).context("1 MB photo")?,
            ),
            (
                "camera-like 7000x5250, progressive".to_owned(),
                samples::camera_like_progressive_within(7000, 5250, 4_800_000)
                    .context("progressive photo")?,
            ),
        ]
    } else {
        vec![(
            "camera-like 400x300".to_owned(),
            samples::camera_like(400, 300, 92),
        )]
    };
    let rounds = if full { 21 } else { 2 };
    let wasi03 = start_app(server, work, "spin.toml")?;
    let wasi02 = start_app(server, work, "spin-wasi02.toml")?;
    let mut sides = vec![
        (
            format!("ours, {}, WASI 0.3", server.label),
            Endpoints::ours(&wasi03.base),
        ),
        (
            format!("ours, {}, WASI 0.2", server.label),
            Endpoints::ours(&wasi02.base),
        ),
    ];
    if let Some(peer) = peer {
        let peer = peer.trim_end_matches('/');
        let api = format!("{peer}{}", crate::load::peer_api_root(peer)?);
        sides.push(("the NestJS original".to_owned(), Endpoints::peer(&api)));
    }
    let mut rows = Vec::new();
    let mut people = People::new(70_000);
    for (photo, bytes) in &photos {
        // One warm-up each (Node's JIT, a first instance), then rounds.
        let mut times: Vec<Vec<f64>> = vec![Vec::new(); sides.len()];
        let mut failures = vec![0; sides.len()];
        for round in 0..=rounds {
            for (i, (_, side)) in sides.iter().enumerate() {
                let (status, ms) = side.register(&side.token()?, bytes, &mut people)?;
                if round == 0 {
                    continue;
                }
                if status == 201 {
                    times[i].push(ms);
                } else {
                    failures[i] += 1;
                }
            }
        }
        for ((implementation, _), (mut times, failures)) in
            sides.iter().zip(times.into_iter().zip(failures))
        {
            rows.push(Registrations {
                implementation: implementation.clone(),
                photo: photo.clone(),
                bytes: bytes.len(),
                median_ms: median(&mut times),
                p90_ms: percentile(&mut times, 0.9),
                failures,
            });
        }
    }
    Ok(rows)
}

/// Our app from `manifest` on `server`, on fresh SQLite and key-value files, TinyPNG off
/// (the local JPEG is kept, as the peer crops locally too).
fn start_app(server: &Server, work: &Path, manifest: &str) -> anyhow::Result<Host> {
    let dir = fresh_dir(&work.join(format!("hostile-app-{}", manifest.replace('.', "-"))))?;
    let runtime_config = write_runtime_config(&dir)?;
    Host::start_on(
        server,
        &workspace_root().join(manifest),
        &dir,
        Some(&runtime_config),
        &[],
        &[],
        "/api/v1/positions",
    )
}

/// A registration API: ours or the peer's routes.
#[derive(Clone)]
struct Endpoints {
    token_url: String,
    users_url: String,
    photo_field: &'static str,
}

impl Endpoints {
    fn ours(base: &str) -> Self {
        Self {
            token_url: format!("{base}/api/v1/token"),
            users_url: format!("{base}/api/v1/users"),
            photo_field: "photo",
        }
    }

    /// A peer's routes, under its API root (`crate::load::peer_api_root`). The photo goes in
    /// `file`: the contract accepts it beside `photo`, and the NestJS original takes only it.
    fn peer(api: &str) -> Self {
        Self {
            token_url: format!("{api}/token"),
            users_url: format!("{api}/users"),
            photo_field: "file",
        }
    }

    fn token(&self) -> anyhow::Result<String> {
        let body: serde_json::Value = ureq::get(&self.token_url).call()?.body_mut().read_json()?;
        body["token"].as_str().map(str::to_owned).context("a token")
    }

    /// Registers someone new with `photo`: the status and the milliseconds from sending
    /// the request to having read its answer.
    fn register(
        &self,
        token: &str,
        photo: &[u8],
        people: &mut People,
    ) -> anyhow::Result<(u16, f64)> {
        let (email, phone) = people.next_one();
        let boundary = "benchboundary7d1f";
        let mut body = Vec::with_capacity(photo.len() + 1024);
        for (name, value) in [
            ("name", "Bench User"),
            ("email", email.as_str()),
            ("phone", phone.as_str()),
            ("position_id", "2"),
        ] {
            body.extend_from_slice(
                format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n")
                    .as_bytes(),
            );
        }
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"{}\"; filename=\"photo.jpeg\"\r\nContent-Type: image/jpeg\r\n\r\n",
                self.photo_field
            )
            .as_bytes(),
        );
        body.extend_from_slice(photo);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let agent: ureq::Agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_global(Some(Duration::from_secs(120)))
            .build()
            .into();
        let started = Instant::now();
        let mut response = agent
            .post(&self.users_url)
            .header("Token", token)
            .header(
                "Content-Type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .send(&body[..])?;
        let _ = response.body_mut().read_to_vec()?;
        Ok((
            response.status().as_u16(),
            started.elapsed().as_secs_f64() * 1000.0,
        ))
    }
}

/// Unique emails and phones: a counter within a run, and the run's start (in minutes) so
/// that runs against one peer, whose database persists, do not meet each other's people.
struct People {
    run: u64,
    next: u32,
}

impl People {
    fn new(start: u32) -> Self {
        let minutes = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() / 60)
            .unwrap_or_default();
        Self {
            run: minutes % 10_000,
            next: start,
        }
    }

    fn next_one(&mut self) -> (String, String) {
        self.next += 1;
        let n = u64::from(self.next) % 100_000;
        (
            format!("bench.{}.{}@hostile.example", self.run, self.next),
            format!("+380{:09}", self.run * 100_000 + n),
        )
    }
}

fn median(values: &mut [f64]) -> f64 {
    percentile(values, 0.5)
}

fn percentile(values: &mut [f64], p: f64) -> f64 {
    if values.is_empty() {
        return f64::NAN;
    }
    values.sort_by(f64::total_cmp);
    let index = ((values.len() - 1) as f64 * p).round() as usize;
    values[index.min(values.len() - 1)]
}
