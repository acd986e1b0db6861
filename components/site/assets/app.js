// The demo site: lists users and registers new ones through the public API only, exactly
// as a third-party single-page app would (see CONTRACT.md).
"use strict";

const API = "/api/v1";
const PAGE_SIZE = 6;
const PHOTO_MAX_BYTES = 5 * 1024 * 1024;
const PHOTO_MIN_SIDE = 70;
const PHONE_PATTERN = /^[+]?380[0-9]{9}$/;
// A practical approximation of an RFC 5322 address; the server has the final word.
const EMAIL_PATTERN = /^[^\s@]+@[^\s@]+\.[^\s@]+$/;

const $ = (selector) => document.querySelector(selector);
const list = $("#user-list");
const showMore = $("#show-more");
const usersStatus = $("#users-status");
const form = $("#signup");
const formStatus = $("#form-status");
const submit = $("#submit");
const photoInput = $("#photo");
const preview = $("#photo-preview");

let nextUrl = null;

// ---- users -------------------------------------------------------------------------------

function setStatus(element, text, { error = false, busy = false } = {}) {
  element.textContent = text;
  element.classList.toggle("is-error", error);
  element.classList.toggle("spinner", busy);
}

function skeletons(count) {
  for (let i = 0; i < count; i += 1) {
    const li = document.createElement("li");
    li.className = "card skeleton";
    li.setAttribute("aria-hidden", "true");
    list.append(li);
  }
}

function card(user) {
  const node = $("#user-card").content.firstElementChild.cloneNode(true);
  const avatar = node.querySelector(".avatar");
  avatar.src = user.photo;
  avatar.alt = `Photo of ${user.name}`;
  for (const [selector, text] of [
    [".name", user.name],
    [".position", user.position],
    [".email", user.email],
    [".phone", user.phone],
  ]) {
    const element = node.querySelector(selector);
    element.textContent = text;
    element.title = text; // long values are cut with an ellipsis; the full text stays reachable
  }
  node.dataset.userId = String(user.id);
  return node;
}

async function loadUsers(url, { replace }) {
  list.setAttribute("aria-busy", "true");
  showMore.disabled = true;
  setStatus(usersStatus, "Loading users…", { busy: true });
  if (replace) list.replaceChildren();
  skeletons(replace ? PAGE_SIZE : 0);
  try {
    const response = await fetch(url, { headers: { Accept: "application/json" } });
    const body = await response.json();
    list.querySelectorAll(".skeleton").forEach((s) => s.remove());
    if (!response.ok || !body.success) {
      throw new Error(body.message || `HTTP ${response.status}`);
    }
    list.append(...body.users.map(card));
    nextUrl = body.links.next_url;
    showMore.hidden = !nextUrl;
    setStatus(usersStatus, body.total_users === 0 ? "No users yet: be the first to sign up." : "");
  } catch (error) {
    list.querySelectorAll(".skeleton").forEach((s) => s.remove());
    setStatus(usersStatus, `Could not load users (${error.message}). Is the API up?`, { error: true });
  } finally {
    showMore.disabled = false;
    list.setAttribute("aria-busy", "false");
  }
}

showMore.addEventListener("click", () => {
  if (nextUrl) loadUsers(nextUrl, { replace: false });
});

// ---- positions ---------------------------------------------------------------------------

async function loadPositions() {
  const box = $("#positions");
  try {
    const response = await fetch(`${API}/positions`);
    const body = await response.json();
    if (!response.ok || !body.success) throw new Error(body.message || `HTTP ${response.status}`);
    box.replaceChildren(
      ...body.positions.map((position, index) => {
        const label = document.createElement("label");
        const input = document.createElement("input");
        input.type = "radio";
        input.name = "position_id";
        input.value = String(position.id);
        input.required = true;
        // The first position is the form's default, also after a reset.
        input.defaultChecked = index === 0;
        input.checked = index === 0;
        label.append(input, document.createTextNode(position.name));
        return label;
      }),
    );
  } catch (error) {
    box.innerHTML = "";
    const p = document.createElement("p");
    p.className = "status is-error";
    p.textContent = `Could not load positions (${error.message}).`;
    box.append(p);
  }
}

// ---- the form ----------------------------------------------------------------------------

function clearErrors() {
  setStatus(formStatus, "");
  form.querySelectorAll("[data-error-for]").forEach((p) => { p.textContent = ""; });
  form.querySelectorAll("[aria-invalid]").forEach((el) => el.removeAttribute("aria-invalid"));
}

/** Shows `fails` ({field: [messages]}) next to their fields and focuses the first. */
function showErrors(fails) {
  let first = null;
  for (const [field, messages] of Object.entries(fails)) {
    const slot = form.querySelector(`[data-error-for="${field === "file" ? "photo" : field}"]`);
    if (slot) slot.textContent = messages.join(" ");
    const input = form.querySelector(`[name="${field === "file" ? "photo" : field}"]`);
    if (input) {
      input.setAttribute("aria-invalid", "true");
      first ??= input;
    }
  }
  first?.focus();
}

function imageSize(file) {
  return new Promise((resolve) => {
    const url = URL.createObjectURL(file);
    const image = new Image();
    image.onload = () => { resolve({ width: image.naturalWidth, height: image.naturalHeight }); URL.revokeObjectURL(url); };
    image.onerror = () => { resolve(null); URL.revokeObjectURL(url); };
    image.src = url;
  });
}

async function isJpeg(file) {
  const head = new Uint8Array(await file.slice(0, 3).arrayBuffer());
  return head[0] === 0xff && head[1] === 0xd8 && head[2] === 0xff;
}

/** The contract's rules, checked before anything is sent. */
async function validate(data) {
  const fails = {};
  const add = (field, message) => { (fails[field] ??= []).push(message); };
  const name = (data.get("name") || "").trim();
  if (!name) add("name", "The name field is required.");
  else if ([...name].length < 2) add("name", "The name must be at least 2 characters.");
  else if ([...name].length > 60) add("name", "The name may not be greater than 60 characters.");
  const email = (data.get("email") || "").trim();
  if (!email) add("email", "The email field is required.");
  else {
    if (!EMAIL_PATTERN.test(email)) add("email", "The email must be a valid email address.");
    if ([...email].length > 100) add("email", "The email may not be greater than 100 characters.");
  }
  const phone = (data.get("phone") || "").trim();
  if (!phone) add("phone", "The phone field is required.");
  else if (!PHONE_PATTERN.test(phone)) add("phone", "The phone format is invalid.");
  if (!data.get("position_id")) add("position_id", "The position id field is required.");
  const photo = data.get("photo");
  if (!(photo instanceof File) || photo.size === 0) add("photo", "The photo field is required.");
  else if (photo.size > PHOTO_MAX_BYTES) add("photo", "The photo may not be greater than 5 Mbytes.");
  else if (!(await isJpeg(photo))) add("photo", "The photo must be a jpg/jpeg image.");
  else {
    const size = await imageSize(photo);
    if (!size) add("photo", "Image is invalid.");
    else if (size.width < PHOTO_MIN_SIDE || size.height < PHOTO_MIN_SIDE) add("photo", "The photo must be at least 70x70 pixels.");
  }
  return fails;
}

photoInput.addEventListener("change", () => {
  const file = photoInput.files[0];
  if (preview.src) URL.revokeObjectURL(preview.src);
  if (file) {
    preview.src = URL.createObjectURL(file);
    preview.hidden = false;
  } else {
    preview.hidden = true;
    preview.removeAttribute("src");
  }
});

form.addEventListener("submit", async (event) => {
  event.preventDefault();
  clearErrors();
  const data = new FormData(form);
  for (const field of ["name", "email", "phone"]) data.set(field, (data.get(field) || "").trim());
  const fails = await validate(data);
  if (Object.keys(fails).length > 0) {
    showErrors(fails);
    return;
  }
  submit.disabled = true;
  setStatus(formStatus, "Signing up…", { busy: true });
  try {
    // A fresh token for every submission: each authorises one registration.
    const tokenResponse = await fetch(`${API}/token`);
    const { token } = await tokenResponse.json();
    const response = await fetch(`${API}/users`, { method: "POST", headers: { Token: token }, body: data });
    const body = await response.json();
    if (response.status === 201 && body.success) {
      form.reset();
      photoInput.dispatchEvent(new Event("change"));
      setStatus(formStatus, "You are registered. Welcome!");
      await loadUsers(`${API}/users?page=1&count=${PAGE_SIZE}`, { replace: true });
      $("#users").scrollIntoView({ behavior: "smooth" });
    } else if (body.fails) {
      setStatus(formStatus, body.message, { error: true });
      showErrors(body.fails);
    } else {
      setStatus(formStatus, body.message || `Registration failed (HTTP ${response.status}).`, { error: true });
    }
  } catch (error) {
    setStatus(formStatus, `The API is unreachable (${error.message}). Please try again.`, { error: true });
  } finally {
    submit.disabled = false;
  }
});

loadUsers(`${API}/users?page=1&count=${PAGE_SIZE}`, { replace: true });
loadPositions();
