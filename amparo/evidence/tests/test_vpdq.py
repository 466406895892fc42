"""vPDQ: agreement with ThreatExchange's reference on its sample videos and published hashes (data/vpdq/,
BSD licence), matching as the reference defines it, re-encoded copies found and unrelated videos not,
listed videos imported with `amparo hashlist import --format vpdq`, and the vault hashing videos."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from amparo.conftest import SYSTEM
from amparo.evidence import actions, hashing, vpdq
from amparo.evidence.models import CustodyEvent, CustodyKind, EvidenceItem, HashEntry, Match
from amparo.evidence.tests import test_vault
from amparo.evidence.tests.synthetic_video import scene, write_video

evidence_dir = test_vault.evidence_dir  # the shared fixture

DATA = Path(__file__).parent / "data" / "vpdq"
SAMPLES = ["pattern-sd-grey-bar", "test-padded-dimensions"]


def test_reference_data_carries_its_licence():
    assert "BSD" in (DATA / "README.md").read_text()
    for licence in ("LICENSE-ThreatExchange.txt", "LICENSE-ThreatExchange-tmk.txt"):
        assert "Redistribution" in (DATA / licence).read_text()


@pytest.mark.parametrize("name", SAMPLES)
def test_every_frame_agrees_with_the_reference_hashes(name):
    published = vpdq.parse_lines((DATA / f"{name}.txt").read_text())
    ours = vpdq.hash_video(DATA / f"{name}.mp4", seconds_per_hash=0)
    assert [f.frame_number for f in ours] == [f.frame_number for f in published]
    assert max(abs(a.timestamp - b.timestamp) for a, b in zip(ours, published, strict=True)) < 0.0015
    good = [(a, b) for a, b in zip(ours, published, strict=True) if min(a.quality, b.quality) >= 50]
    assert len(good) > 0.9 * len(published)
    # The reference's own regression test allows anything under 31 bits between decoders.
    assert max(vpdq.distance(a, b) for a, b in good) <= 10
    assert vpdq.match(ours, published) == vpdq.VideoMatch(100.0, 100.0)


def test_one_frame_a_second_is_sampled_by_default():
    published = vpdq.parse_lines((DATA / "pattern-sd-grey-bar.txt").read_text())
    ours = vpdq.hash_video(DATA / "pattern-sd-grey-bar.mp4")
    step = ours[1].frame_number - ours[0].frame_number
    assert [f.frame_number for f in ours] == list(range(0, len(published), step))
    assert ours[1].timestamp == pytest.approx(1.0, abs=0.05)


def test_lines_round_trip_and_bad_lines_are_refused():
    frame = vpdq.Frame(3, 100, "ab" * 32, 0.1)
    assert vpdq.parse_lines(vpdq.format_lines([frame])) == [frame]
    assert frame.line() == f"3,100,{'ab' * 32},0.100"
    for bad in ("1,100,zz,0.1", "1,101," + "ab" * 32 + ",0.1", "x,1," + "ab" * 32 + ",0", "1,2"):
        with pytest.raises(ValueError, match="vPDQ line|PDQ hash"):
            vpdq.parse_line(bad)


def test_matching_counts_only_good_frames_closer_than_31_bits():
    a = vpdq.Frame(0, 100, "0" * 64, 0.0)
    near = vpdq.Frame(0, 100, "f" * 7 + "0" * 57, 0.0)  # 28 bits away
    far = vpdq.Frame(1, 100, "f" * 8 + "0" * 56, 1.0)  # 32 bits away
    poor = vpdq.Frame(2, 10, "f" * 64, 2.0)
    assert vpdq.match([a], [near]) == vpdq.VideoMatch(100.0, 100.0)
    assert vpdq.match([a], [near, far, poor]) == vpdq.VideoMatch(100.0, 50.0)
    assert vpdq.match([poor], [poor]) == vpdq.VideoMatch(0.0, 0.0)


@pytest.fixture(scope="module")
def videos(tmp_path_factory):
    """A listed video, a copy re-encoded with another codec at a lower bitrate and resolution, and an
    unrelated video (all synthetic)."""
    folder = tmp_path_factory.mktemp("videos")
    frames = list(scene(1, 256, 192, 40))
    listed = write_video(folder / "listed.mp4", frames, bit_rate=600_000)
    copy = write_video(folder / "copy.webm", frames, codec="libvpx", bit_rate=200_000, size=(160, 120))
    other = write_video(folder / "other.mp4", scene(2, 256, 192, 40), bit_rate=600_000)
    return listed, copy, other


def test_a_re_encoded_copy_matches_and_an_unrelated_video_does_not(videos):
    listed, copy, other = (vpdq.hash_video(v) for v in videos)
    assert vpdq.match(copy, listed).matches()
    assert not vpdq.match(other, listed).matches()
    assert vpdq.match(other, listed).query_share < 50


def test_a_zero_length_or_garbage_video_is_refused_with_a_video_error(tmp_path):
    for data in (b"", b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200):
        with pytest.raises(vpdq.VideoError):
            vpdq.hash_video(data)
    assert (
        hashing.hash_bytes(b"\x00\x00\x00\x18ftypmp42" + b"\x00" * 200).not_hashed == "could not be decoded"
    )


def _list_video(tmp_path, path: Path) -> dict:
    listed = tmp_path / "listed-video.txt"
    listed.write_text(vpdq.format_lines(vpdq.hash_video(path)))
    out = io.StringIO()
    call_command(
        "hashlist", "import", "--name", "Videos", "--source", "national", "--format", "vpdq",
        "--category", "A1", "--json", str(listed), stdout=out,
    )  # fmt: skip
    return json.loads(out.getvalue())


@pytest.mark.django_db
def test_a_listed_video_matches_its_re_encoded_copy_in_the_vault(videos, evidence_dir, make_case, tmp_path):
    listed, copy, other = videos
    assert _list_video(tmp_path, listed)["added"] == 1
    entry = HashEntry.objects.get(hash_type="vpdq")
    assert (entry.entry_id, entry.category) == ("listed-video", "A1")
    case = make_case()
    item = actions.add_item(SYSTEM, case, io.BytesIO(copy.read_bytes()), original_name="v.webm")
    unrelated = actions.add_item(SYSTEM, case, io.BytesIO(other.read_bytes()), original_name="o.mp4")
    item = EvidenceItem.objects.get(pk=item.pk)
    assert len(item.vpdq) == 4
    match = Match.objects.get(item=item)
    assert (match.hash_type, match.category, match.distance) == ("vpdq", "A1", 0)
    assert not Match.objects.filter(item=unrelated).exists()
    hashed = CustodyEvent.objects.get(item=item, kind=CustodyKind.HASHED)
    assert hashed.detail["vpdq_frames"] == 4


@pytest.mark.django_db
def test_importing_a_list_after_the_video_is_in_the_vault_matches_it(
    videos, evidence_dir, make_case, tmp_path
):
    listed, copy, _ = videos
    item = actions.add_item(SYSTEM, make_case(), io.BytesIO(copy.read_bytes()))
    assert _list_video(tmp_path, listed)["new_matches"] == 1
    assert Match.objects.get(item_id=item.pk).hash_type == "vpdq"
    # The same video again is already listed.
    assert _list_video(tmp_path, listed)["added"] == 0


@pytest.mark.django_db
def test_the_scan_reports_a_video_share_of_matching_frames(videos, tmp_path):
    listed, copy, _ = videos
    _list_video(tmp_path, listed)
    out = io.StringIO()
    call_command("evidence", "scan", str(copy), "--json", "--workers", "1", stdout=out)
    line = json.loads(out.getvalue().splitlines()[0])
    assert (line["media_type"], line["vpdq_frames"]) == ("video/webm", 4)
    [found] = line["matches"]
    assert (found["hash_type"], found["query_share"], found["target_share"]) == ("vpdq", 100.0, 100.0)


@pytest.mark.django_db
def test_a_vpdq_file_with_a_bad_line_is_refused_and_nothing_is_imported(tmp_path):
    bad = tmp_path / "bad.txt"
    bad.write_text(f"0,100,{'ab' * 32},0.000\n1,100,not-a-hash,0.033\n")
    with pytest.raises(CommandError, match="bad.txt.*nothing was imported"):
        call_command(
            "hashlist", "import", "--name", "V", "--source", "national", "--format", "vpdq", str(bad)
        )
    assert not HashEntry.objects.exists()


@pytest.mark.django_db
def test_the_preview_of_a_video_is_a_strip_of_blurred_keyframes(videos, evidence_dir, make_case, make_user):
    from PIL import Image

    listed, _, _ = videos
    case = make_case(agency="sernic")
    item = actions.add_item(SYSTEM, case, io.BytesIO(listed.read_bytes()))
    png = actions.preview(make_user("investigator", agency="sernic"), item, "Classify for the prosecutor")
    strip = Image.open(io.BytesIO(png))
    assert strip.mode == "L"
    assert strip.height <= 160
    assert strip.width > 2 * strip.height  # several keyframes side by side
    assert CustodyEvent.objects.filter(item=item, kind=CustodyKind.PREVIEWED).count() == 1
