// The settings page: load, save (PUT), show each error next to its field, and follow
// changes made from any other browser (server-sent events, event `settings`).
const form = document.getElementById("form");
const status = document.getElementById("status");
const fields = ["device_name", "brightness", "led"];

function show(s) {
  document.getElementById("device_name").value = s.device_name;
  document.getElementById("brightness").value = s.brightness;
  document.getElementById("led").checked = s.led;
  document.getElementById("title").textContent = s.device_name + " settings";
}

function clearErrors() {
  for (const el of document.querySelectorAll(".error")) el.textContent = "";
}

async function load() {
  const r = await fetch("/api/settings");
  show(await r.json());
  status.textContent = "Up to date.";
}

form.addEventListener("submit", async (e) => {
  e.preventDefault();
  clearErrors();
  const brightness = document.getElementById("brightness").value;
  const body = {
    device_name: document.getElementById("device_name").value,
    // Sent as typed: the device, not the page, decides what is valid.
    brightness: brightness === "" ? null : Number(brightness),
    led: document.getElementById("led").checked,
  };
  const r = await fetch("/api/settings", {
    method: "PUT",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  });
  const j = await r.json();
  if (r.ok) {
    show(j);
    status.textContent = "Saved.";
  } else {
    const slot = document.querySelector(`.error[data-for="${j.field}"]`);
    if (slot) slot.textContent = j.error;
    status.textContent = `Not saved (${r.status}): ${j.error}${j.field ? " — " + j.field : ""}`;
  }
});

const events = new EventSource("/api/events");
events.addEventListener("settings", (e) => {
  show(JSON.parse(e.data));
  status.textContent = "Changed (from this or another browser).";
});
events.addEventListener("error", () => { status.textContent = "Reconnecting…"; });
events.addEventListener("open", () => { load().catch(() => {}); });

for (const f of fields) document.getElementById(f).addEventListener("input", clearErrors);
load().catch(() => { status.textContent = "Device unreachable."; });
