"""Layer allocation within a subscriber's budget, with hysteresis; layer switching at keyframes."""

from __future__ import annotations

import itertools

import pytest

from sfu.allocation import (
    Allocation,
    Allocator,
    LayerInfo,
    TrackDemand,
    allocate,
    size_cap,
)

K = 1000
HEIGHTS = (180, 360, 720)


def ladder(
    rates: tuple[int, ...] = (150 * K, 500 * K, 1500 * K), heights: bool = True
) -> tuple[LayerInfo, ...]:
    """A producer's layers, low to high (heights from a keyframe, or not yet known)."""
    return tuple(
        LayerInfo(
            index=i,
            bitrate=rate,
            width=HEIGHTS[i] * 16 // 9 if heights else None,
            height=HEIGHTS[i] if heights else None,
        )
        for i, rate in enumerate(rates)
    )


def demand(
    key: str,
    priority: int = 2,
    tile: int | None = 360,
    layers: tuple[LayerInfo, ...] | None = None,
    screen: bool = False,
) -> TrackDemand:
    return TrackDemand(
        key=key,
        layers=ladder() if layers is None else layers,
        priority=priority,
        tile_height=tile,
        screen=screen,
    )


AUDIO = 64 * K
PLENTY = 100_000 * K


# -- size cap ------------------------------------------------------------------


def test_size_cap_is_the_tallest_layer_no_taller_than_the_tile_with_tolerance():
    layers = ladder()
    assert size_cap(layers, 100) == 0  # nothing that small: the lowest
    assert size_cap(layers, 180) == 0
    assert size_cap(layers, 240) == 0  # a 9-tile page: 180p, never 360p or 720p
    assert size_cap(layers, 287) == 0
    assert size_cap(layers, 288) == 1  # 360 <= 1.25 x 288
    assert size_cap(layers, 575) == 1
    assert size_cap(layers, 576) == 2
    assert size_cap(layers, 2000) == 2
    assert size_cap(layers, None) == 2  # unknown tile: no cap


def test_size_cap_maps_by_index_while_layer_heights_are_unknown():
    layers = ladder(heights=False)
    assert size_cap(layers, 240) == 0
    assert size_cap(layers, 241) == 1
    assert size_cap(layers, 480) == 1
    assert size_cap(layers, 481) == 2
    assert size_cap(layers, None) == 2


def test_size_cap_ignores_layers_that_are_not_live():
    low_dead = (LayerInfo(0, 0, 320, 180), *ladder()[1:])
    assert size_cap(low_dead, 100) == 1  # the lowest live layer, not nothing
    top_dead = (*ladder()[:2], LayerInfo(2, 0, 1280, 720))
    assert size_cap(top_dead, 700) == 1
    assert size_cap((LayerInfo(0, 0),), 100) is None


# -- allocate --------------------------------------------------------------------


def test_a_nine_tile_page_never_gets_the_720p_layer():
    for heights in (True, False):
        tiles = [demand(f"t{i}", tile=240, layers=ladder(heights=heights)) for i in range(9)]
        result = allocate(PLENTY, AUDIO, tiles)
        assert all(layer is not None and layer < 2 for layer in result.layers.values())
        top = 9 * 1500 * K
        assert result.video_spent <= 0.4 * top
        assert not result.deficient


def test_budget_below_the_lowest_layer_pauses_video_and_keeps_the_audio_reserve():
    tiles = [demand("a"), demand("b")]
    result = allocate(AUDIO + 100 * K, AUDIO, tiles)
    assert result.layers == {"a": None, "b": None}
    assert result.spent == AUDIO
    assert result.audio_reserve == AUDIO
    assert result.paused == {"a", "b"}
    assert result.deficient


def test_audio_is_reserved_even_when_the_budget_does_not_cover_it():
    result = allocate(30 * K, AUDIO, [demand("a")])
    assert result.layers == {"a": None}
    assert result.spent == AUDIO and result.budget == 30 * K


def test_every_track_gets_its_lowest_layer_before_any_upgrade():
    tiles = [demand("pinned", priority=0, tile=720), demand("b"), demand("c")]
    # Enough for three lowest layers and a little more, not for a pinned upgrade.
    result = allocate(AUDIO + 3 * 150 * K + 200 * K, AUDIO, tiles)
    assert result.layers == {"pinned": 0, "b": 0, "c": 0}
    assert result.spent == AUDIO + 450 * K


def test_tracks_that_do_not_fit_are_paused_lowest_priority_first():
    tiles = [demand("tile", priority=2), demand("speaker", priority=1), demand("pin", priority=0)]
    result = allocate(AUDIO + 2 * 150 * K + 10 * K, AUDIO, tiles)
    assert result.layers == {"tile": None, "speaker": 0, "pin": 0}


def test_a_pinned_track_reaches_its_top_layer_before_tiles_are_upgraded():
    tiles = [demand("b"), demand("pinned", priority=0, tile=720), demand("c")]
    extra = (1500 - 150) * K + (500 - 150) * K  # pinned to the top, one tile up
    result = allocate(AUDIO + 3 * 150 * K + extra, AUDIO, tiles)
    assert result.layers == {"b": 1, "pinned": 2, "c": 0}
    assert result.spent == AUDIO + 1500 * K + 500 * K + 150 * K


def test_pinning_a_tile_moves_the_budget_to_it():
    before = allocate(AUDIO + 1800 * K, AUDIO, [demand("a", tile=720), demand("b", tile=720)])
    assert before.layers == {"a": 1, "b": 1}
    after = allocate(
        AUDIO + 1800 * K, AUDIO, [demand("a", tile=720), demand("b", priority=0, tile=720)]
    )
    assert after.layers == {"a": 0, "b": 2}


def test_the_active_speaker_is_upgraded_before_visible_tiles():
    tiles = [demand("tile", tile=720), demand("speaker", priority=1, tile=720)]
    result = allocate(AUDIO + 300 * K + 350 * K, AUDIO, tiles)
    assert result.layers == {"tile": 0, "speaker": 1}


def test_larger_tiles_come_first_among_equals():
    # Keys sort the other way, so only the tile size can put "big" first.
    tiles = [demand("a-small", tile=200), demand("z-big", tile=700)]
    assert allocate(AUDIO + 150 * K, AUDIO, tiles).layers == {"a-small": None, "z-big": 0}
    both_caps = [demand("a-small", tile=700), demand("z-big", tile=1000)]
    result = allocate(AUDIO + 300 * K + 350 * K, AUDIO, both_caps)
    assert result.layers == {"a-small": 0, "z-big": 1}


def test_a_cheaper_track_still_gets_video_when_a_costlier_one_above_it_does_not_fit():
    single_720p = (LayerInfo(0, 1200 * K, 1280, 720),)
    tiles = [demand("pinned", priority=0, layers=single_720p), demand("tile")]
    result = allocate(AUDIO + 600 * K, AUDIO, tiles)
    assert result.layers == {"pinned": None, "tile": 1}


def test_a_screen_share_goes_before_other_visible_tiles():
    tiles = [demand("camera", tile=1000), demand("screen", tile=700, screen=True)]
    assert allocate(AUDIO + 150 * K, AUDIO, tiles).layers == {"camera": None, "screen": 0}
    result = allocate(AUDIO + 300 * K + 1350 * K, AUDIO, tiles)
    assert result.layers == {"camera": 0, "screen": 2}
    # ... but not before the active speaker.
    speaker = [demand("speaker", priority=1, tile=720), demand("screen", tile=720, screen=True)]
    result = allocate(AUDIO + 300 * K + 1350 * K, AUDIO, speaker)
    assert result.layers == {"speaker": 2, "screen": 0}


def test_equal_tiles_are_upgraded_one_step_at_a_time_in_turn():
    rates = (100 * K, 300 * K, 600 * K)
    tiles = [
        demand("a", tile=None, layers=ladder(rates)),
        demand("b", tile=None, layers=ladder(rates)),
    ]
    # Room for two first steps (2 x 200k) or for one track to the top (200k + 300k).
    result = allocate(AUDIO + 200 * K + 500 * K, AUDIO, tiles)
    assert result.layers == {"a": 1, "b": 1}
    assert result.deficient


def test_a_layer_without_bitrate_is_never_chosen():
    middle_dead = (
        LayerInfo(0, 150 * K, 320, 180),
        LayerInfo(1, 0),
        LayerInfo(2, 1500 * K, 1280, 720),
    )
    result = allocate(PLENTY, AUDIO, [demand("a", tile=None, layers=middle_dead)])
    assert result.layers == {"a": 2}
    no_middle_budget = allocate(
        AUDIO + 700 * K, AUDIO, [demand("a", tile=None, layers=middle_dead)]
    )
    assert no_middle_budget.layers == {"a": 0}
    nothing_live = allocate(PLENTY, AUDIO, [demand("a", layers=(LayerInfo(0, 0), LayerInfo(1, 0)))])
    assert nothing_live.layers == {"a": None}
    assert nothing_live.caps == {"a": None}
    assert not nothing_live.deficient


def test_a_track_without_simulcast_is_sent_whatever_the_tile_when_it_fits():
    single = (LayerInfo(0, 1200 * K, 1280, 720),)
    assert allocate(PLENTY, AUDIO, [demand("a", tile=180, layers=single)]).layers == {"a": 0}
    assert allocate(AUDIO + 1000 * K, AUDIO, [demand("a", layers=single)]).layers == {"a": None}


def test_equal_inputs_give_equal_results_whatever_their_order():
    tiles = [demand(f"t{i}", tile=240 + 40 * (i % 3), priority=i % 3) for i in range(7)]
    budget = AUDIO + 2300 * K
    first = allocate(budget, AUDIO, tiles)
    assert allocate(budget, AUDIO, tiles) == first
    reordered = allocate(budget, AUDIO, list(reversed(tiles)))
    assert reordered.layers == first.layers and reordered.spent == first.spent
    assert first.spent <= budget


def test_the_spend_never_exceeds_the_budget():
    tiles = [demand(f"t{i}", tile=[180, 360, 720, None][i % 4], priority=i % 3) for i in range(8)]
    for budget in range(0, 12_000 * K, 37 * K):
        result = allocate(budget, AUDIO, tiles)
        assert result.video_spent <= max(budget - AUDIO, 0)


def test_duplicate_keys_are_refused():
    with pytest.raises(ValueError):
        allocate(PLENTY, AUDIO, [demand("a"), demand("a")])


# -- hysteresis --------------------------------------------------------------------


#: Video budget at which both tiles get their 360p layer exactly.
BOUNDARY = 2 * 500 * K


def two_tiles() -> list[TrackDemand]:
    return [demand("a"), demand("b")]


def changes(results: list[Allocation]) -> int:
    return sum(1 for a, b in itertools.pairwise(results) if a.layers != b.layers)


def test_a_budget_hovering_at_a_layer_boundary_does_not_make_layers_flap():
    wobble = [BOUNDARY + AUDIO + d * K for d in (20, -15, 25, -10, 30, -20, 15, -5, 20, -25) * 3]
    allocator = Allocator()
    with_memory = [allocator.update(budget, AUDIO, two_tiles()) for budget in wobble]
    assert changes(with_memory) <= 1
    # The same sequence without memory would flap (the test can tell the difference).
    assert changes([allocate(budget, AUDIO, two_tiles()) for budget in wobble]) > 10


def test_layer_bitrates_wobbling_at_a_boundary_do_not_make_layers_flap():
    budget = BOUNDARY + AUDIO

    def tiles(rate: int) -> list[TrackDemand]:
        layers = ladder((150 * K, rate, 1500 * K))
        return [demand("a", layers=layers), demand("b", layers=layers)]

    rates = [500 * K + d * K for d in (20, -20, 15, -25, 20, -10, 25, -20) * 3]
    allocator = Allocator()
    assert changes([allocator.update(budget, AUDIO, tiles(rate)) for rate in rates]) <= 1
    assert changes([allocate(budget, AUDIO, tiles(rate)) for rate in rates]) > 10


def test_a_budget_drop_beyond_the_margin_downgrades_at_once():
    allocator = Allocator()
    assert allocator.update(BOUNDARY + AUDIO + 200 * K, AUDIO, two_tiles()).layers == {
        "a": 1,
        "b": 1,
    }
    # A few percent under: the layers stay (rates wobble; no flapping).
    wobble = allocator.update(BOUNDARY + AUDIO - 1 * K, AUDIO, two_tiles())
    assert wobble.layers == {"a": 1, "b": 1}
    # Further than the margin: down at once.
    budget = int(BOUNDARY * 0.85) + AUDIO
    dropped = allocator.update(budget, AUDIO, two_tiles())
    assert dropped.layers == {"a": 1, "b": 0}
    assert dropped.spent <= budget


def test_an_upgrade_needs_the_margin_then_happens():
    allocator = Allocator(upgrade_margin=0.1)
    allocator.update(BOUNDARY + AUDIO - 1 * K, AUDIO, two_tiles())
    # The cost is covered but not 10 % on top of the whole video spend: stay.
    stay = allocator.update(BOUNDARY + AUDIO + 90 * K, AUDIO, two_tiles())
    assert stay.layers == {"a": 1, "b": 0}
    rise = allocator.update(BOUNDARY + AUDIO + 110 * K, AUDIO, two_tiles())
    assert rise.layers == {"a": 1, "b": 1}


def test_paused_video_resumes_only_with_margin():
    allocator = Allocator(upgrade_margin=0.1)
    assert allocator.update(AUDIO + 140 * K, AUDIO, [demand("a")]).layers == {"a": None}
    assert allocator.update(AUDIO + 155 * K, AUDIO, [demand("a")]).layers == {"a": None}
    assert allocator.update(AUDIO + 170 * K, AUDIO, [demand("a")]).layers == {"a": 0}


def test_the_resume_budget_brings_back_the_cheapest_paused_track_and_keeps_the_rest():
    allocator = Allocator(upgrade_margin=0.1)
    tiles = [demand("pinned", priority=0), demand("b"), demand("c")]
    assert allocator.resume_budget(AUDIO, tiles) is None  # nothing allocated yet
    first = allocator.update(AUDIO + 2 * 150 * K + 100 * K, AUDIO, tiles)
    assert first.layers == {"pinned": 0, "b": 0, "c": None}
    probe = allocator.resume_budget(AUDIO, tiles)
    assert probe is not None
    assert allocator.update(probe - 2 * K, AUDIO, tiles).layers == first.layers
    assert allocator.update(probe, AUDIO, tiles).layers == {"pinned": 0, "b": 0, "c": 0}
    assert allocator.resume_budget(AUDIO, tiles) is None  # nothing paused any more


def test_a_new_track_needs_no_margin():
    allocator = Allocator(upgrade_margin=0.1)
    allocator.update(PLENTY, AUDIO, [demand("a")])
    result = allocator.update(AUDIO + 500 * K + 150 * K, AUDIO, [demand("a"), demand("b")])
    assert result.layers == {"a": 1, "b": 0}


def test_upgrade_budget_lets_the_most_important_track_up_one_step() -> None:
    allocator = Allocator()
    tiles = [demand("pinned", priority=0, tile=720), demand("b", tile=720)]
    small = AUDIO + 2 * 150 * K
    first = allocator.update(small, AUDIO, tiles)
    assert first.layers == {"pinned": 0, "b": 0}
    probe = allocator.upgrade_budget(AUDIO, tiles)
    assert probe is not None
    # At that budget the pinned track goes up one layer, the other stays.
    assert allocator.update(probe, AUDIO, tiles).layers == {"pinned": 1, "b": 0}


def test_no_upgrade_budget_when_every_track_is_at_its_tile_size() -> None:
    allocator = Allocator()
    tiles = [demand("a", tile=180), demand("b", tile=180)]
    allocator.update(PLENTY, AUDIO, tiles)
    assert allocator.upgrade_budget(AUDIO, tiles) is None
