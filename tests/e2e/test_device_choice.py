"""Which device the browser client picks (web_client/js/devices.js, DOM-free),
in Node: a remembered device by id and, when its id changed, by its label; a
room's speakerphone (its output in the microphone's group); what to fall back
to when one is unplugged (the system's default, which then stands for another
device, even when it was the one lost); the choices kept in localStorage, a
room device's apart. The browser tests (test_devices_e2e.py) show the pages
doing it with Chromium's fake devices."""

from __future__ import annotations

from pathlib import Path

from node_script import node_json

WEB_CLIENT = Path(__file__).resolve().parents[2] / "web_client"

SCRIPT = """
import * as d from "./js/devices.js";
const store = new Map();
globalThis.localStorage = {
  getItem: (k) => (store.has(k) ? store.get(k) : null),
  setItem: (k, v) => store.set(k, String(v)),
};
const dev = (deviceId, label, groupId = deviceId) =>
  ({ deviceId, label, groupId, kind: "audioinput" });
const inputs = [
  dev("default", "Default - Jabra Speak 510 USB", "g-jabra"),
  dev("laptop", "Built-in Microphone", "g-laptop"),
  dev("jabra-in", "Jabra Speak 510 USB", "g-jabra"),
  dev("poly-in", "Poly Sync 20", "g-poly"),
];
const outputs = [
  dev("default", "Default - Built-in Speakers", "g-laptop"),
  dev("jabra-out", "Jabra Speak 510 USB", "g-jabra"),
  dev("poly-out", "Poly Sync 20", "g-poly"),
];
const ids = (list) => list.map((x) => x.deviceId);
const out = {
  byId: d.pickDevice(inputs, { id: "laptop", label: "Other name" })?.deviceId,
  byLabel: d.pickDevice(inputs, { id: "gone", label: "Poly Sync 20" })?.deviceId,
  none: d.pickDevice(inputs, { id: "gone", label: "Gone" }),
  noWish: d.pickDevice(inputs, null),
  phoneIn: d.pickDevice(inputs, { speakerphone: true })?.deviceId,
  phoneOutSameGroup: d.pickDevice(outputs, { speakerphone: true, group: "g-poly" })?.deviceId,
  noPhone: d.pickDevice([dev("laptop", "Built-in Microphone")], { speakerphone: true }),
  germanPhone: d.pickDevice([dev("x", "USB-Freisprecheinrichtung")], { speakerphone: true })
    ?.deviceId,
  fallbackRealLost: ids(d.fallbackDevices(inputs, { lost: "poly-in", wish: { id: "poly-in" } })),
  fallbackWished: ids(d.fallbackDevices(inputs,
    { lost: "laptop", wish: { id: "x", label: "Jabra Speak 510 USB" } })),
  fallbackDefaultLost: ids(d.fallbackDevices(inputs, { lost: "default" })),
  fallbackOnlyLost: ids(d.fallbackDevices([dev("laptop", "Built-in Microphone")],
    { lost: "laptop" })),
};
const personal = new d.DevicePreferences("remote");
out.freshWish = personal.wish("microphone");
out.freshProcessing = personal.processing;
personal.remember("camera", { deviceId: "cam-2", label: "Logitech C920" });
personal.rememberProcessing({ ...d.DEFAULT_PROCESSING, noiseSuppression: false });
const again = new d.DevicePreferences("companion");
out.rememberedCamera = again.wish("camera");
out.rememberedProcessing = again.processing;
const room = new d.DevicePreferences("room");
out.roomCamera = room.wish("camera");
out.roomMicrophone = room.wish("microphone");
out.roomSpeaker = room.wish("speaker", { group: "g-jabra" });
out.keys = [...store.keys()];
store.set("conf.devices", "not json");
out.broken = new d.DevicePreferences("remote").wish("camera");
console.log(JSON.stringify(out));
"""


def test_device_choice_rules() -> None:
    out = node_json(SCRIPT, WEB_CLIENT)
    assert out["byId"] == "laptop"
    assert out["byLabel"] == "poly-in"
    assert out["none"] is None and out["noWish"] is None
    # A speakerphone by its name, never the "default" alias of one.
    assert out["phoneIn"] == "jabra-in"
    assert out["phoneOutSameGroup"] == "poly-out"
    assert out["noPhone"] is None
    assert out["germanPhone"] == "x"
    # Unplugged: the system's default first, then the others; never the lost one.
    assert out["fallbackRealLost"] == ["default", "laptop", "jabra-in"]
    assert out["fallbackWished"] == ["jabra-in", "default", "poly-in"]
    assert out["fallbackDefaultLost"] == ["default", "laptop", "jabra-in", "poly-in"]
    assert out["fallbackOnlyLost"] == []
    # Remembered per browser; a companion shares a person's choices, a room device has its own.
    assert out["freshWish"] is None
    assert out["freshProcessing"] == {
        "echoCancellation": True,
        "noiseSuppression": True,
        "autoGainControl": True,
    }
    assert out["rememberedCamera"] == {"id": "cam-2", "label": "Logitech C920"}
    assert out["rememberedProcessing"]["noiseSuppression"] is False
    assert out["rememberedProcessing"]["echoCancellation"] is True
    assert out["roomCamera"] is None
    assert out["roomMicrophone"] == {"speakerphone": True}
    assert out["roomSpeaker"] == {"speakerphone": True, "group": "g-jabra"}
    assert out["keys"] == ["conf.devices"]
    assert out["broken"] is None
