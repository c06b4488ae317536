"""Choosing devices in real Chromium (issue 19, point 2): camera, microphone and
speaker pickers on the pre-join screen and in the meeting's "Devices" dialog,
switching without leaving (``replaceTrack``: the others keep receiving the same
track, no new ``publish``), the microphone's level meter and the speaker's test
sound, the browser's noise suppression / echo cancellation / auto gain as
switches, all remembered per browser; a device that goes away mid-meeting is
replaced by another with a notice; a room device picks its speakerphone, a
companion none.

Chromium runs here with ``--use-fake-device-for-media-stream=device-count=3``:
three cameras (``fake_device_0`` … ``_2``), and it lists three microphones
("Fake Default Audio Input", "Fake Audio Input 1", "… 2") and three audio outputs
("Fake Default Audio Output", "Fake Audio Output 1", "… 2"), whose
``setSinkId`` works. The fake microphone beeps twice a second. Unplugging is
simulated as the browser would show it: the capture's track ends (an ``ended``
event), or ``devicechange`` fires and ``enumerateDevices`` no longer lists it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest
from e2e_helpers import (
    CHROMIUM_ARGS,
    ServerProcess,
    received_from,
    screenshot,
    tid,
    wait_joined,
    wait_until,
)
from playwright.async_api import Browser, Page, async_playwright, expect

from conf_bench.chromium import CHROMIUM

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]

SEEN = 10_000  # ms a person may wait for something to show up
JOINED = 30  # s
FAKE_DEVICES = "--use-fake-device-for-media-stream=device-count=3"

OpenPage = Callable[..., Awaitable[Page]]


@pytest.fixture
async def browser(test_network: None) -> AsyncIterator[Browser]:
    """Chromium with three fake cameras (the suite's flags otherwise)."""
    args = [a for a in CHROMIUM_ARGS if a != "--use-fake-device-for-media-stream"]
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=CHROMIUM, args=[*args, FAKE_DEVICES]
        )
        yield launched
        await launched.close()


@pytest.fixture
async def open_room(browser: Browser, conf_server: ServerProcess) -> AsyncIterator[OpenPage]:
    """``open_room(room, name, autojoin=True, locale="en-US", init=None, **query)``:
    the meeting page in a fresh context (its own localStorage), ``init`` a
    script run before the page's own."""
    contexts: list[Any] = []

    async def factory(
        room: str,
        name: str,
        autojoin: bool = True,
        locale: str = "en-US",
        init: str | None = None,
        **query: str,
    ) -> Page:
        context = await browser.new_context(
            permissions=["camera", "microphone"],
            viewport={"width": 1280, "height": 720},
            locale=locale,
        )
        contexts.append(context)
        if init:
            await context.add_init_script(init)
        page = await context.new_page()
        page.on("console", lambda m: print(f"[{name}] {m.type}: {m.text}"))
        params = {"name": name, **({"autojoin": "1"} if autojoin else {}), **query}
        await page.goto(
            f"{conf_server.url}/r/{room}?" + "&".join(f"{k}={v}" for k, v in params.items())
        )
        return page

    yield factory
    for context in contexts:
        await context.close()


# -- reading the page ------------------------------------------------------------------


async def sent(page: Page, kind: str) -> dict[str, Any] | None:
    """The track the publish connection sends of ``kind``: label and settings."""
    result: dict[str, Any] | None = await page.evaluate(
        """(kind) => {
          const peers = window.meeting._peers;
          const sender = peers && peers.publisher.pc.getSenders()
            .find(s => s.track && s.track.kind === kind);
          if (!sender) return null;
          return {label: sender.track.label, readyState: sender.track.readyState,
                  ...sender.track.getSettings()};
        }""",
        kind,
    )
    return result


async def local_track(page: Page, source: str) -> dict[str, Any] | None:
    """Our own capture (``camera`` / ``microphone``): label, state and settings."""
    result: dict[str, Any] | None = await page.evaluate(
        """(source) => {
          const track = window.meeting.local[source];
          return track && {label: track.label, readyState: track.readyState,
                           enabled: track.enabled, ...track.getSettings()};
        }""",
        source,
    )
    return result


async def device_ids(page: Page) -> dict[str, str]:
    """``kind/label`` → deviceId of what the browser lists."""
    found: dict[str, str] = await page.evaluate(
        """async () => Object.fromEntries((await navigator.mediaDevices.enumerateDevices())
              .map(d => [d.kind + '/' + d.label, d.deviceId]))"""
    )
    return found


async def option_labels(page: Page, select: str) -> list[str]:
    """The options of one picker (``select``: its CSS selector)."""
    labels: list[str] = await page.locator(f"{select} option").all_inner_texts()
    return labels


async def selected_label(page: Page, select: str) -> str:
    label: str = await page.eval_on_selector(select, "s => s.selectedOptions[0].textContent")
    return label


async def count_publishes(page: Page) -> None:
    """From now on ``window.__publishes`` counts the page's ``publish`` requests."""
    await page.evaluate(
        """() => {
          const signaling = window.meeting._signaling;
          const request = signaling.request.bind(signaling);
          window.__publishes = 0;
          signaling.request = (event, payload) => {
            if (event === 'publish') window.__publishes += 1;
            return request(event, payload);
          };
        }"""
    )


async def levels(page: Page, seconds: float, root: str = "") -> list[float]:
    """The level meter's values, every 50 ms for ``seconds``."""
    values = []
    meter = page.locator(f"{root} {tid('mic-level')}".strip())
    for _ in range(int(seconds / 0.05)):
        values.append(float(await meter.evaluate("m => m.value")))
        await asyncio.sleep(0.05)
    return values


async def wait_sent_label(page: Page, kind: str, label: str) -> None:
    async def sends_it() -> bool:
        track = await sent(page, kind)
        return bool(track and track["label"] == label and track["readyState"] == "live")

    sends_it.__name__ = f"sends {kind} {label}"
    await wait_until(sends_it, timeout=SEEN / 1000)


async def wait_local_label(page: Page, source: str, label: str) -> None:
    async def captures_it() -> bool:
        track = await local_track(page, source)
        return bool(track and track["label"] == label and track["readyState"] == "live")

    captures_it.__name__ = f"captures {source} {label}"
    await wait_until(captures_it, timeout=SEEN / 1000)


async def frames_from(page: Page, participant_id: str) -> float:
    return (await received_from(page, participant_id, "video"))["framesDecoded"]


async def open_devices_dialog(page: Page) -> None:
    await page.click(tid("devices-button"))
    await expect(page.locator(tid("devices-dialog"))).to_be_visible()


async def close_devices_dialog(page: Page) -> None:
    await page.keyboard.press("Escape")
    await expect(page.locator(tid("devices-dialog"))).to_be_hidden()


def dialog(name: str) -> str:
    """A control inside the meeting's devices dialog."""
    return f"{tid('devices-dialog')} {tid(name)}"


def prejoin(name: str) -> str:
    """A control on the pre-join screen's pickers."""
    return f"{tid('prejoin-devices')} {tid(name)}"


# -- the tests ---------------------------------------------------------------------------


async def test_camera_and_microphone_picked_before_joining_are_the_ones_published(open_room):
    ada = await open_room("devices-prejoin", "Ada", autojoin=False)
    camera = ada.locator(prejoin("camera-select"))
    await expect(camera.locator("option")).to_have_count(3, timeout=SEEN)
    assert await option_labels(ada, prejoin("camera-select")) == [
        "fake_device_0",
        "fake_device_1",
        "fake_device_2",
    ]
    microphones = await option_labels(ada, prejoin("microphone-select"))
    assert microphones == ["Fake Default Audio Input", "Fake Audio Input 1", "Fake Audio Input 2"]
    # The speaker picker lists the outputs there are.
    speakers = await option_labels(ada, prejoin("speaker-select"))
    assert speakers == ["Fake Default Audio Output", "Fake Audio Output 1", "Fake Audio Output 2"]
    await expect(ada.locator(prejoin("speaker-select"))).to_be_visible()
    assert await selected_label(ada, prejoin("camera-select")) == "fake_device_0"

    await camera.select_option(label="fake_device_1")
    await ada.locator(prejoin("microphone-select")).select_option(label="Fake Audio Input 1")

    async def preview_shows_camera_1() -> bool:
        label = await ada.eval_on_selector(
            tid("preview-video"), "v => v.srcObject && v.srcObject.getVideoTracks()[0].label"
        )
        return bool(label == "fake_device_1")

    await wait_until(preview_shows_camera_1, timeout=SEEN / 1000)
    await wait_local_label(ada, "microphone", "Fake Audio Input 1")
    await screenshot(ada, "devices-prejoin")

    await ada.click(tid("join-button"))
    await wait_joined(ada, timeout=JOINED)
    await wait_sent_label(ada, "video", "fake_device_1")
    await wait_sent_label(ada, "audio", "Fake Audio Input 1")


async def test_switching_in_the_meeting_keeps_the_others_receiving_without_a_new_publish(open_room):
    room = "devices-switch"
    ada = await open_room(room, "Ada")
    await wait_joined(ada, timeout=JOINED)
    ada_id = await ada.evaluate("window.meeting.participantId")
    bob = await open_room(room, "Bob")
    await wait_joined(bob, timeout=JOINED)
    await wait_sent_label(ada, "video", "fake_device_0")

    async def bob_sees_ada() -> bool:
        return await frames_from(bob, ada_id) > 10

    await wait_until(bob_sees_ada, timeout=JOINED)
    before = {
        e["source"]: e["mid"]
        for e in await bob.evaluate("window.meeting.receiveStats()")
        if e["participantId"] == ada_id
    }
    assert set(before) == {"camera", "microphone"}, before
    await count_publishes(ada)

    await open_devices_dialog(ada)
    await expect(ada.locator(dialog("camera-select"))).to_be_focused()  # the first control
    await ada.locator(dialog("camera-select")).select_option(label="fake_device_2")
    await ada.locator(dialog("microphone-select")).select_option(label="Fake Audio Input 2")
    await wait_sent_label(ada, "video", "fake_device_2")
    await wait_sent_label(ada, "audio", "Fake Audio Input 2")
    # Our own tile shows the new camera too.
    self_video = f'{tid("tile")}[data-self="true"] video'
    assert (
        await ada.eval_on_selector(self_video, "v => v.srcObject.getVideoTracks()[0].label")
        == "fake_device_2"
    )
    await screenshot(ada, "devices-dialog-in-meeting")
    await close_devices_dialog(ada)
    await expect(ada.locator(tid("devices-button"))).to_be_focused()

    # Bob goes on receiving Ada's video and sound on the same tracks (same mids).
    frames = await frames_from(bob, ada_id)
    audio = (await received_from(bob, ada_id, "audio"))["packets"]

    async def bob_still_receives() -> bool:
        return (
            await frames_from(bob, ada_id) > frames + 30
            and (await received_from(bob, ada_id, "audio"))["packets"] > audio + 50
        )

    await wait_until(bob_still_receives, timeout=JOINED)
    after = {
        e["source"]: e["mid"]
        for e in await bob.evaluate("window.meeting.receiveStats()")
        if e["participantId"] == ada_id
    }
    assert after == before
    # No new publish, no rejoin: the senders' tracks were replaced in place.
    assert await ada.evaluate("window.__publishes") == 0
    assert await ada.evaluate("window.meeting.participantId") == ada_id
    await expect(bob.locator(tid("tile"))).to_have_count(2)


async def test_the_level_meter_moves_with_the_microphone_and_rests_while_muted(open_room):
    ada = await open_room("devices-level", "Ada", autojoin=False)
    await expect(ada.locator(prejoin("microphone-select")).locator("option")).to_have_count(
        3, timeout=SEEN
    )
    await expect(ada.locator(prejoin("mic-level"))).to_have_attribute(
        "aria-label", "Microphone level"
    )

    async def moving() -> bool:
        values = await levels(ada, 1.5, tid("prejoin-devices"))
        return max(values) > 0.2 and max(values) - min(values) > 0.15

    await wait_until(moving, timeout=SEEN / 1000)

    await ada.click(tid("prejoin-mic-button"))  # mute
    await expect(ada.locator(tid("prejoin-mic-button"))).to_have_attribute("data-off", "true")
    await asyncio.sleep(0.6)  # the needle falls back
    assert max(await levels(ada, 1.5, tid("prejoin-devices"))) < 0.05

    await ada.click(tid("prejoin-mic-button"))  # unmute
    await wait_until(moving, timeout=SEEN / 1000)

    # In the meeting, the dialog's meter shows the microphone too.
    await ada.click(tid("join-button"))
    await wait_joined(ada, timeout=JOINED)
    await open_devices_dialog(ada)
    values = await levels(ada, 1.5, tid("devices-dialog"))
    assert max(values) > 0.2 and max(values) - min(values) > 0.15, values


async def test_choices_and_processing_switches_are_remembered_and_the_speaker_plays_there(
    open_room,
):
    room = "devices-remember"
    ada = await open_room(room, "Ada", autojoin=False)
    await expect(ada.locator(prejoin("camera-select")).locator("option")).to_have_count(
        3, timeout=SEEN
    )
    ids = await device_ids(ada)
    output_1 = ids["audiooutput/Fake Audio Output 1"]
    await ada.locator(prejoin("camera-select")).select_option(label="fake_device_2")
    await ada.locator(prejoin("microphone-select")).select_option(label="Fake Audio Input 2")
    await ada.locator(prejoin("speaker-select")).select_option(label="Fake Audio Output 1")

    # The browser's processing, on by default; two of them off.
    await wait_local_label(ada, "microphone", "Fake Audio Input 2")
    mic = await local_track(ada, "microphone")
    assert mic and mic["noiseSuppression"] and mic["echoCancellation"] and mic["autoGainControl"], (
        mic
    )
    await ada.click(f"{tid('prejoin-devices')} {tid('audio-processing')} summary")
    for toggle in ("noise-suppression-toggle", "auto-gain-toggle"):
        switch = ada.locator(prejoin(toggle))
        await expect(switch).to_be_checked()
        await switch.uncheck()

    async def processing_off() -> bool:
        track = await local_track(ada, "microphone")
        return bool(
            track
            and track["readyState"] == "live"
            and track["noiseSuppression"] is False
            and track["autoGainControl"] is False
            and track["echoCancellation"] is True
            and track["label"] == "Fake Audio Input 2"
        )

    await wait_until(processing_off, timeout=SEEN / 1000)
    await screenshot(ada, "devices-prejoin-processing")

    # A reload (the same browser): every choice is back, and opened so.
    await ada.reload()
    await expect(ada.locator(prejoin("camera-select")).locator("option")).to_have_count(
        3, timeout=SEEN
    )
    await wait_until(processing_off, timeout=SEEN / 1000)
    assert (await local_track(ada, "camera") or {}).get("label") == "fake_device_2"
    assert await selected_label(ada, prejoin("camera-select")) == "fake_device_2"
    assert await selected_label(ada, prejoin("microphone-select")) == "Fake Audio Input 2"
    assert await selected_label(ada, prejoin("speaker-select")) == "Fake Audio Output 1"
    await expect(ada.locator(prejoin("noise-suppression-toggle"))).not_to_be_checked()
    await expect(ada.locator(prejoin("auto-gain-toggle"))).not_to_be_checked()
    await expect(ada.locator(prejoin("echo-cancellation-toggle"))).to_be_checked()

    # The test sound plays on the chosen speaker.
    await ada.click(prejoin("speaker-test-button"))
    test_audio = ada.locator(tid("speaker-test-audio"))
    await expect(test_audio).to_have_count(1, timeout=SEEN)
    played = await test_audio.evaluate("a => ({sink: a.sinkId, paused: a.paused})")
    assert played == {"sink": output_1, "paused": False}, played
    await expect(test_audio).to_have_count(0, timeout=SEEN)

    await ada.click(tid("join-button"))
    await wait_joined(ada, timeout=JOINED)
    await wait_sent_label(ada, "video", "fake_device_2")
    await wait_sent_label(ada, "audio", "Fake Audio Input 2")
    audio = await sent(ada, "audio")
    assert audio and audio["noiseSuppression"] is False and audio["autoGainControl"] is False, audio

    # Everyone's sound plays on the chosen speaker.
    bob = await open_room(room, "Bob")
    await wait_joined(bob, timeout=JOINED)
    remote_audio = ada.locator(tid("remote-audio"))
    await expect(remote_audio).to_have_count(1, timeout=SEEN)

    async def plays_on_output_1() -> bool:
        return bool(await remote_audio.evaluate("a => a.sinkId") == output_1)

    await wait_until(plays_on_output_1, timeout=SEEN / 1000)

    # Switched in the meeting: the sent track changes its settings, no new publish.
    await count_publishes(ada)
    await open_devices_dialog(ada)
    await ada.locator(dialog("echo-cancellation-toggle")).uncheck()

    async def echo_cancellation_off() -> bool:
        track = await sent(ada, "audio")
        return bool(track and track["echoCancellation"] is False and track["readyState"] == "live")

    await wait_until(echo_cancellation_off, timeout=SEEN / 1000)
    assert await ada.evaluate("window.__publishes") == 0
    await ada.locator(dialog("speaker-select")).select_option(label="Fake Audio Output 2")

    async def plays_on_output_2() -> bool:
        return bool(
            await remote_audio.evaluate("a => a.sinkId") == ids["audiooutput/Fake Audio Output 2"]
        )

    await wait_until(plays_on_output_2, timeout=SEEN / 1000)


async def test_the_speaker_picker_hides_where_the_browser_cannot_choose_one(open_room):
    no_sink = "delete HTMLMediaElement.prototype.setSinkId;"
    ada = await open_room("devices-nosink", "Ada", autojoin=False, init=no_sink)
    await expect(ada.locator(prejoin("camera-select")).locator("option")).to_have_count(
        3, timeout=SEEN
    )
    await expect(ada.locator(prejoin("speaker-select"))).to_be_hidden()
    await expect(ada.locator(prejoin("speaker-unsupported"))).to_be_visible()
    # The test sound still plays (on the system's speaker).
    await ada.click(prejoin("speaker-test-button"))
    await expect(ada.locator(tid("speaker-test-audio"))).to_have_count(1, timeout=SEEN)


async def test_an_unplugged_device_falls_back_to_another_with_a_notice(open_room):
    """In German: the notices come from the catalogs."""
    room = "devices-unplug"
    ada = await open_room(room, "Ada", locale="de-DE")
    await wait_joined(ada, timeout=JOINED)
    ada_id = await ada.evaluate("window.meeting.participantId")
    bob = await open_room(room, "Bob")
    await wait_joined(bob, timeout=JOINED)
    ids = await device_ids(ada)
    await expect(ada.locator(tid("devices-button"))).to_have_text("Geräte")
    await open_devices_dialog(ada)
    await ada.locator(dialog("camera-select")).select_option(label="fake_device_1")
    await ada.locator(dialog("microphone-select")).select_option(label="Fake Audio Input 2")
    await ada.locator(dialog("speaker-select")).select_option(label="Fake Audio Output 2")
    await wait_sent_label(ada, "video", "fake_device_1")
    await wait_sent_label(ada, "audio", "Fake Audio Input 2")
    await close_devices_dialog(ada)

    # The camera's capture ends, as when its cable is pulled.
    await ada.evaluate("window.meeting.local.camera.dispatchEvent(new Event('ended'))")
    status = ada.locator(tid("status"))
    await expect(status).to_contain_text(
        "Ihre Kamera „fake_device_1“ ist ausgefallen (ausgesteckt?)."
        " Jetzt wird „fake_device_0“ verwendet.",
        timeout=SEEN,
    )
    await wait_sent_label(ada, "video", "fake_device_0")
    await expect(ada.locator(tid("camera-button"))).to_have_attribute("data-enabled", "true")
    frames = await frames_from(bob, ada_id)

    async def bob_still_sees_ada() -> bool:
        return await frames_from(bob, ada_id) > frames + 30

    await wait_until(bob_still_sees_ada, timeout=JOINED)

    # The microphone and the speaker vanish from the list (devicechange): the
    # microphone's capture goes on in this fake, so only the list tells.
    gone = [ids["audioinput/Fake Audio Input 2"], ids["audiooutput/Fake Audio Output 2"]]
    await ada.evaluate(
        """(gone) => {
          const list = MediaDevices.prototype.enumerateDevices;
          navigator.mediaDevices.enumerateDevices = async () =>
            (await list.call(navigator.mediaDevices)).filter(d => !gone.includes(d.deviceId));
          navigator.mediaDevices.dispatchEvent(new Event('devicechange'));
        }""",
        gone,
    )
    await expect(status).to_contain_text(
        "Ihr Mikrofon „Fake Audio Input 2“ ist ausgefallen", timeout=SEEN
    )
    await expect(status).to_contain_text(
        "Ihr Lautsprecher „Fake Audio Output 2“ ist nicht mehr da", timeout=SEEN
    )
    await wait_sent_label(ada, "audio", "Fake Default Audio Input")
    assert await ada.eval_on_selector(tid("remote-audio"), "a => a.sinkId") == ""
    await expect(ada.locator(tid("mic-button"))).to_have_attribute("data-muted", "false")
    await screenshot(ada, "devices-unplugged-notices-de")
    await open_devices_dialog(ada)
    assert "Fake Audio Input 2" not in await option_labels(ada, dialog("microphone-select"))
    assert await selected_label(ada, dialog("microphone-select")) == "Fake Default Audio Input"
    assert await selected_label(ada, dialog("speaker-select")) == "Fake Default Audio Output"


#: A USB speakerphone, as Chromium lists one: the fake "… 2" input and output
#: relabelled, in one group (their ids stay real, so they open and play).
SPEAKERPHONE = """
(() => {
  const list = MediaDevices.prototype.enumerateDevices;
  MediaDevices.prototype.enumerateDevices = async function () {
    return (await list.call(this)).map((d) => {
      if (d.kind === 'videoinput' || !/ 2$/.test(d.label)) return d;
      const label = 'Jabra Speak 510 USB';
      const info = {deviceId: d.deviceId, kind: d.kind, label, groupId: 'jabra-speak'};
      return {...info, toJSON: () => info};
    });
  };
})();
"""


async def test_a_room_device_picks_its_speakerphone_and_a_companion_none(open_room):
    room = "devices-hybrid"
    remote = await open_room(room, "Remo")
    await wait_joined(remote, timeout=JOINED)
    device = await open_room(room, "Room", init=SPEAKERPHONE, device="room", zone="Aula%20B")
    await wait_joined(device, timeout=JOINED)
    ids = await device_ids(device)
    phone_in = ids["audioinput/Jabra Speak 510 USB"]
    phone_out = ids["audiooutput/Jabra Speak 510 USB"]

    # Microphone and speaker: the speakerphone, with nothing remembered.
    async def sends_the_speakerphone() -> bool:
        track = await sent(device, "audio")
        return bool(track and track["deviceId"] == phone_in)

    await wait_until(sends_the_speakerphone, timeout=SEEN / 1000)
    remote_audio = device.locator(tid("remote-audio"))
    await expect(remote_audio).to_have_count(1, timeout=SEEN)

    async def plays_on_the_speakerphone() -> bool:
        return bool(await remote_audio.evaluate("a => a.sinkId") == phone_out)

    await wait_until(plays_on_the_speakerphone, timeout=SEEN / 1000)
    await open_devices_dialog(device)
    assert await selected_label(device, dialog("microphone-select")) == "Jabra Speak 510 USB"
    assert await selected_label(device, dialog("speaker-select")) == "Jabra Speak 510 USB"
    await screenshot(device, "devices-room-device")
    await close_devices_dialog(device)

    # A companion in that room: no microphone, no speaker (the room's carry the sound).
    cora = await open_room(room, "Cora", init=SPEAKERPHONE, mode="companion", zone="Aula%20B")
    await wait_joined(cora, timeout=JOINED)
    await open_devices_dialog(cora)
    none = "None: the room's speakerphone"
    assert await selected_label(cora, dialog("microphone-select")) == none
    assert await selected_label(cora, dialog("speaker-select")) == none
    assert await cora.evaluate("window.meeting.local.microphone") is None
    await screenshot(cora, "devices-companion")

    # Picking a microphone there turns it on, after the echo warning.
    await cora.locator(dialog("microphone-select")).select_option(label="Fake Audio Input 1")
    await expect(cora.locator(tid("echo-warning"))).to_be_visible()
    await cora.click(f"{tid('echo-warning')} {tid('confirm-button')}")
    await wait_sent_label(cora, "audio", "Fake Audio Input 1")
    await expect(cora.locator(tid("mic-button"))).to_have_attribute("data-muted", "false")


async def test_on_a_phone_the_devices_dialog_opens_from_the_more_menu_by_keyboard(open_room):
    ada = await open_room("devices-phone", "Ada", locale="de-DE")
    await ada.set_viewport_size({"width": 390, "height": 844})
    await wait_joined(ada, timeout=JOINED)
    more = ada.locator(tid("more-button"))
    await expect(more).to_be_visible(timeout=SEEN)
    await more.focus()
    await ada.keyboard.press("Enter")
    devices = ada.locator(tid("devices-button"))
    await expect(devices).to_be_visible()
    await devices.focus()
    await ada.keyboard.press("Enter")
    await expect(ada.locator(tid("devices-dialog"))).to_be_visible()
    await expect(ada.locator(tid("devices-dialog")).get_by_role("heading")).to_have_text("Geräte")
    await expect(ada.locator(dialog("camera-select"))).to_be_focused()
    # Keyboard only: a camera picked with the arrow keys is the one sent.
    await ada.keyboard.press("ArrowDown")
    await wait_sent_label(ada, "video", "fake_device_1")
    await screenshot(ada, "devices-dialog-phone-de")
    await ada.keyboard.press("Escape")
    await expect(ada.locator(tid("devices-dialog"))).to_be_hidden()
    await expect(more).to_be_focused()  # the menu closed: its button has the focus


#: The page lists its devices slowly (the first listing after joining takes
#: a moment on a busy machine): the pickers are still empty and disabled
#: when the dialog opens.
SLOW_LISTING = """
(() => {
  const devices = navigator.mediaDevices;
  const list = devices.enumerateDevices.bind(devices);
  devices.enumerateDevices = async () => {
    await new Promise((resolve) => setTimeout(resolve, 1500));
    return list();
  };
})();
"""


async def test_the_devices_dialog_opened_before_the_devices_are_listed_focuses_the_camera_picker(
    open_room,
):
    """The dialog's first control to take the focus was a later one (the
    speaker test button) when it opened before the device lists were in;
    once they are, the camera picker gets it (1 run in 7 failed so)."""
    ada = await open_room("devices-slow", "Ada", init=SLOW_LISTING)
    await wait_joined(ada, timeout=JOINED)
    await ada.locator(tid("devices-button")).click()
    await expect(ada.locator(tid("devices-dialog"))).to_be_visible()
    await expect(ada.locator(dialog("camera-select"))).to_be_focused(timeout=SEEN)
    await expect(ada.locator(dialog("camera-select"))).to_be_enabled()
