"""DAWproject 1.0 export and import (the open interchange format of Bitwig, PreSonus, Steinberg…).

A .dawproject is a zip: `project.xml` (tracks, mixer channels, devices, the arrangement's clips),
`metadata.xml` and the audio files. Exported XML is validated against the official schemas
(shipped in `schemas/`, MIT). Export is deterministic — fixed ids in document order, fixed zip
timestamps, floats as their shortest exact decimal — so export → import → export gives the same
bytes.

Mapping (ours → DAWproject):
  tempo, time signature        Transport/Tempo (bpm), Transport/TimeSignature
  track gain / pan / mute/solo Channel Volume (linear) / Pan (normalized 0..1) / Mute / @solo
  compressor, limiter, gate    Compressor, Limiter, NoiseGate devices
  low/high-pass, shelves, bell an Equalizer device with one Band (order = filter order)
  other effects                BuiltinDevice deviceID="earshot.<type>" with named RealParameters
  MIDI track program           BuiltinDevice "General MIDI" (instrument) with IntegerParameter program
  master chain and limiter     the Master track's channel (role master); the limiter is the last
                               device, a Limiter with deviceID "earshot.master_limiter"
  clip start / length          Clip @time / @duration, in a Clips lane whose timeUnit is the clip's
  offset, loop, fades          @playStart, @loopStart/@loopEnd, @fadeInTime/@fadeOutTime (seconds)
  warped audio                 Warps (beats → seconds) with two Warp points around the Audio
  MIDI notes                   Notes/Note (@vel = velocity / 127)
  clip gain (not in 1.0)       the content wrapped in Lanes with a gain Points lane (one RealPoint
                               in dB); readers that do not know it play the clip at unity
"""

from __future__ import annotations

import io
import math
import posixpath
import re
import xml.etree.ElementTree as ET
import zipfile
from collections.abc import Callable
from functools import lru_cache
from importlib import resources
from pathlib import Path

from .. import __version__ as EARSHOT_VERSION
from .. import faults
from ..errors import EarshotError
from . import model
from .effects import EFFECTS

FORMAT_VERSION = "1.0"
ZIP_DATE = (1980, 1, 1, 0, 0, 0)
VENDOR = "Earshot"
EQ_BANDS = {
    "lowpass": "lowPass",
    "highpass": "highPass",
    "low_shelf": "lowShelf",
    "high_shelf": "highShelf",
    "peak_eq": "bell",
}
BAND_EFFECTS = {v: k for k, v in EQ_BANDS.items()}
# Dedicated DAWproject devices: element name → {our param: (element, unit)}
DEDICATED = {
    "compressor": (
        "Compressor",
        {
            "attack_ms": ("Attack", "seconds"),
            "ratio": ("Ratio", "linear"),
            "release_ms": ("Release", "seconds"),
            "threshold_db": ("Threshold", "decibel"),
        },
    ),
    "limiter": ("Limiter", {"release_ms": ("Release", "seconds"), "threshold_db": ("Threshold", "decibel")}),
    "noise_gate": (
        "NoiseGate",
        {
            "attack_ms": ("Attack", "seconds"),
            "ratio": ("Ratio", "linear"),
            "release_ms": ("Release", "seconds"),
            "threshold_db": ("Threshold", "decibel"),
        },
    ),
}
# Child order the schema requires inside each dedicated device (after Parameters/Enabled/State).
CHILD_ORDER = {
    "Compressor": ["Attack", "AutoMakeup", "InputGain", "OutputGain", "Ratio", "Release", "Threshold"],
    "Limiter": ["Attack", "InputGain", "OutputGain", "Release", "Threshold"],
    "NoiseGate": ["Attack", "Range", "Ratio", "Release", "Threshold"],
}


def num(x: float) -> str:
    """A float as its shortest exact decimal (what parses back to the same double)."""
    x = float(x)
    if not math.isfinite(x):
        raise ValueError(f"{x} cannot be written to a DAWproject")
    return repr(x + 0.0)


def _to_param(pname: str, value: float) -> float:
    return value / 1000.0 if pname.endswith("_ms") else value


def _from_param(pname: str, value: float, unit: str | None) -> float:
    return value * 1000.0 if pname.endswith("_ms") and unit in ("seconds", None) else value


@lru_cache(maxsize=2)
def schema(name: str = "Project.xsd"):
    try:
        import xmlschema
    except ImportError as exc:  # pragma: no cover - a runtime dependency
        raise EarshotError("validating DAWproject files needs xmlschema", "pip install xmlschema") from exc
    path = resources.files("assistant.project").joinpath("schemas", name)
    return xmlschema.XMLSchema(str(path))


def validate(project_xml: bytes, metadata_xml: bytes | None = None) -> None:
    """Raise EarshotError if the XML does not validate against the DAWproject 1.0 schemas."""
    for data, name in ((project_xml, "Project.xsd"), (metadata_xml, "MetaData.xsd")):
        if data is None:
            continue
        errors = list(schema(name).iter_errors(data.decode("utf-8")))
        if errors:
            raise EarshotError(
                f"the {name.replace('.xsd', '').lower()} XML does not validate: "
                f"{str(errors[0].reason or errors[0])[:200]}",
                "this is a bug; please report it",
            )


# -- export -------------------------------------------------------------------------------------
class _Ids:
    def __init__(self) -> None:
        self.n = 0

    def __call__(self) -> str:
        self.n += 1
        return f"id{self.n}"


def _el(parent: ET.Element | None, tag: str, **attrs) -> ET.Element:
    attrs = {k.rstrip("_"): v for k, v in attrs.items() if v is not None}
    return ET.SubElement(parent, tag, attrs) if parent is not None else ET.Element(tag, attrs)


def _real(parent, tag: str, value: float, unit: str, lo: float | None = None, hi: float | None = None, **extra):
    return _el(
        parent,
        tag,
        **extra,
        unit=unit,
        value=num(value),
        min=None if lo is None else num(lo),
        max=None if hi is None else num(hi),
    )


def _device(parent: ET.Element, fx: dict) -> None:
    kind, p = fx["type"], fx["params"]
    spec = EFFECTS[kind]
    common = dict(deviceID=f"earshot.{kind}", deviceName=spec.title, deviceRole="audioFX", deviceVendor=VENDOR)
    if kind in DEDICATED:
        tag, fields = DEDICATED[kind]
        dev = _el(parent, tag, **common)
        _el(dev, "Enabled", value=_bool(fx["enabled"]))
        for child in CHILD_ORDER[tag]:
            for pname, (ctag, unit) in fields.items():
                if ctag == child:
                    _real(dev, ctag, _to_param(pname, p[pname]), unit)
        return
    if kind in EQ_BANDS:
        dev = _el(parent, "Equalizer", **common)
        _el(dev, "Enabled", value=_bool(fx["enabled"]))
        order = str(int(p["order"])) if "order" in p else None
        band = _el(dev, "Band", type=EQ_BANDS[kind], order=order)
        _real(band, "Freq", p["cutoff_hz"], "hertz")
        if "gain_db" in p:
            _real(band, "Gain", p["gain_db"], "decibel")
        if "q" in p:
            _real(band, "Q", p["q"], "linear")
        return
    dev = _el(parent, "BuiltinDevice", **common)
    params = _el(dev, "Parameters")
    for pname, ps in spec.params.items():
        _real(params, "RealParameter", _to_param(pname, p[pname]), ps.unit, name=pname)
    _el(dev, "Enabled", value=_bool(fx["enabled"]))


def _bool(b: bool) -> str:
    return "true" if b else "false"


def _safe_name(name: str) -> str:
    stem, dot, ext = name.rpartition(".")
    clean = re.sub(r"[^A-Za-z0-9._-]+", "-", stem if dot else name).strip("-.") or "audio"
    return f"{clean}.{re.sub(r'[^A-Za-z0-9]+', '', ext).lower() or 'wav'}" if dot else f"{clean}.wav"


def _audio_entries(s: dict) -> dict[str, str]:
    """source path → zip path ("audio/<name>"), unique, in a deterministic order."""
    paths: dict[str, str] = {}
    sources = sorted(
        {
            (c["source"]["name"], c["source"]["path"])
            for c in s["clips"].values()
            if c["kind"] == "audio" and c.get("source") and c["source"].get("path")  # offline clips have none
        }
    )
    taken: set[str] = set()
    for name, path in sources:
        if path in paths:
            continue
        base = _safe_name(name)
        stem, ext = base.rsplit(".", 1)
        candidate, n = base, 2
        while candidate.lower() in taken:
            candidate, n = f"{stem}-{n}.{ext}", n + 1
        taken.add(candidate.lower())
        paths[path] = f"audio/{candidate}"
    return paths


def _audio_info(path: str) -> tuple[int, int, float]:
    import soundfile as sf

    try:
        info = sf.info(path)
    except Exception as exc:
        raise EarshotError(
            f"the clip file {Path(path).name} cannot be read ({exc})",
            "the project refers to a file that is missing or damaged",
        ) from exc
    return int(info.channels), int(info.samplerate), info.frames / info.samplerate


def project_xml(s: dict) -> tuple[bytes, dict[str, str]]:
    """(project.xml bytes, {source path: zip path})."""
    ids = _Ids()
    files = _audio_entries(s)
    root = _el(None, "Project", version=FORMAT_VERSION)
    _el(root, "Application", name=VENDOR, version=EARSHOT_VERSION)
    transport = _el(root, "Transport")
    _real(transport, "Tempo", s["tempo_bpm"], "bpm", 20.0, 400.0, id=ids(), name="Tempo")
    _el(
        transport,
        "TimeSignature",
        id=ids(),
        numerator=str(s["time_signature"][0]),
        denominator=str(s["time_signature"][1]),
    )
    structure = _el(root, "Structure")
    master_track, master_channel = ids(), ids()
    track_ids: dict[str, str] = {}
    for t in model.tracks_in_order(s):
        tid = track_ids[t["id"]] = ids()
        track = _el(
            structure,
            "Track",
            id=tid,
            name=t["name"],
            contentType="notes" if t["kind"] == "midi" else "audio",
            loaded="true",
        )
        channel = _el(
            track,
            "Channel",
            id=ids(),
            role="regular",
            audioChannels="2",
            destination=master_channel,
            solo=_bool(t["solo"]),
        )
        chain = model.effects_in_order(t["effects"])
        if chain or t["kind"] == "midi":
            devices = _el(channel, "Devices")
            if t["kind"] == "midi":
                gm = _el(
                    devices,
                    "BuiltinDevice",
                    deviceID="earshot.general_midi",
                    deviceName="General MIDI",
                    deviceRole="instrument",
                    deviceVendor=VENDOR,
                )
                _el(
                    _el(gm, "Parameters"),
                    "IntegerParameter",
                    name="program",
                    value=str(int(t.get("program", 0))),
                    min="0",
                    max="128",
                )
            for fx in chain:
                _device(devices, fx)
        _el(channel, "Mute", value=_bool(t["mute"]), name="Mute")
        _real(channel, "Pan", (t["pan"] + 1.0) / 2.0, "normalized", 0.0, 1.0, name="Pan")
        _real(channel, "Volume", model_db_to_linear(t["gain_db"]), "linear", 0.0, 4.0, name="Volume")
    m = s["master"]
    track = _el(structure, "Track", id=master_track, name="Master", contentType="audio notes", loaded="true")
    channel = _el(track, "Channel", id=master_channel, role="master", audioChannels="2")
    chain = model.effects_in_order(m["effects"])
    if chain or m["limiter_db"] is not None:
        devices = _el(channel, "Devices")
        for fx in chain:
            _device(devices, fx)
        if m["limiter_db"] is not None:
            lim = _el(
                devices,
                "Limiter",
                deviceID="earshot.master_limiter",
                deviceName="Master limiter",
                deviceRole="audioFX",
                deviceVendor=VENDOR,
            )
            _el(lim, "Enabled", value="true")
            _real(lim, "Threshold", m["limiter_db"], "decibel")
    _real(channel, "Volume", model_db_to_linear(m["gain_db"]), "linear", 0.0, 4.0, name="Volume")

    arrangement = _el(root, "Arrangement", id=ids())
    lanes = _el(arrangement, "Lanes", id=ids(), timeUnit="beats")
    for t in model.tracks_in_order(s):
        clips = model.clips_in_order(s, t["id"])
        if not clips:
            continue
        lane = _el(lanes, "Lanes", id=ids(), track=track_ids[t["id"]])
        for unit in ("beats", "seconds"):
            these = sorted((c for c in clips if c["unit"] == unit), key=lambda c: (c["start"], model._num(c["id"])))
            if not these:
                continue
            holder = _el(lane, "Clips", id=ids(), timeUnit=unit)
            for c in these:
                _clip(holder, c, ids, files)
    ET.indent(root, space="  ")
    xml = ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"
    return xml, files


def model_db_to_linear(gain_db: float) -> float:
    return 10.0 ** (gain_db / 20.0)


def _clip(holder: ET.Element, c: dict, ids: _Ids, files: dict[str, str]) -> None:
    attrs = dict(
        time=num(c["start"]), duration=num(c["length"]), contentTimeUnit=c["content_unit"], playStart=num(c["offset"])
    )
    if c.get("loop"):
        attrs.update(loopStart=num(c["loop"][0]), loopEnd=num(c["loop"][1]))
    attrs.update(fadeTimeUnit="seconds", fadeInTime=num(c["fade_in_s"]), fadeOutTime=num(c["fade_out_s"]))
    clip = _el(holder, "Clip", name=c["name"], **attrs)
    parent = clip
    if c["gain_db"] != 0.0:
        parent = _el(clip, "Lanes", id=ids())
    if c["kind"] == "midi":
        notes = _el(parent, "Notes", id=ids())
        for pitch, start, dur, vel in c["notes"]:
            _el(notes, "Note", time=num(start), duration=num(dur), channel="0", key=str(pitch), vel=num(vel / 127.0))
    else:
        src = c["source"]
        if src.get("path"):
            channels, rate, duration = _audio_info(src["path"])
            file_path = files[src["path"]]
        else:  # an offline clip (its audio was missing when it was imported): the reference is kept
            channels, rate, duration = int(src["channels"]), int(src["sample_rate_hz"]), float(src["duration_s"])
            file_path = f"audio/{_safe_name(src['name'])}"

        def audio(into):
            a = _el(
                into,
                "Audio",
                id=ids(),
                timeUnit="seconds",
                channels=str(channels),
                sampleRate=str(rate),
                duration=num(duration),
                algorithm="stretch" if c["warp"] else None,
            )
            _el(a, "File", path=file_path)

        if c["warp"]:
            warps = _el(parent, "Warps", id=ids(), timeUnit="beats", contentTimeUnit="seconds")
            audio(warps)
            _el(warps, "Warp", time="0.0", contentTime="0.0")
            _el(warps, "Warp", time=num(c["warp"][0]), contentTime=num(c["warp"][1]))
        else:
            audio(parent)
    if c["gain_db"] != 0.0:
        points = _el(parent, "Points", id=ids(), unit="decibel")
        _el(points, "Target", expression="gain")
        _el(points, "RealPoint", time="0.0", value=num(c["gain_db"]), interpolation="hold")


def metadata_xml(s: dict) -> bytes:
    root = _el(None, "MetaData")
    ET.SubElement(root, "Title").text = s["name"]
    ET.SubElement(root, "Comment").text = f"Made with {VENDOR} {EARSHOT_VERSION}"
    ET.indent(root, space="  ")
    return ET.tostring(root, encoding="UTF-8", xml_declaration=True) + b"\n"


def export_dawproject(s: dict, check: bool = True) -> bytes:
    """The .dawproject zip of a project state, validated against the schemas."""
    project, files = project_xml(s)
    meta = metadata_xml(s)
    if check:
        validate(project, meta)
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as z:
        for name, data, method in [
            ("project.xml", project, zipfile.ZIP_DEFLATED),
            ("metadata.xml", meta, zipfile.ZIP_DEFLATED),
        ] + [
            (zpath, Path(src).read_bytes(), zipfile.ZIP_STORED)
            for src, zpath in sorted(files.items(), key=lambda kv: kv[1])
        ]:
            info = zipfile.ZipInfo(name, date_time=ZIP_DATE)
            info.compress_type = method
            info.external_attr = 0o644 << 16
            z.writestr(info, data)
    faults.point("export")
    return out.getvalue()


# -- import -------------------------------------------------------------------------------------
#
# A .dawproject comes from someone else's machine: it is read as hostile data.
#   * the zip: at most MAX_MEMBERS entries; every member is unpacked with a cap checked *before*
#     reading (the size its header declares) and *while* reading (at most cap + 1 bytes are ever
#     decompressed, whatever the header says), and all members together within the file-size limit,
#     so a zip bomb costs a few megabytes of work, never gigabytes of memory;
#   * the XML: defusedxml with DTDs forbidden. A DAWproject never needs a DTD, and a DTD is where
#     entity expansion ("billion laughs") and external entities (XXE: `<!ENTITY x SYSTEM
#     "file:///etc/passwd">`) live. The stdlib parser does not fetch external entities, but it does
#     expand internal ones within expat's amplification limit; defusedxml refuses them all with a
#     clear reason. The schema check then runs on the parsed tree (xmlschema parses nothing again and
#     follows no location hints);
#   * every number is checked finite and in range, every name trimmed; what does not fit is a note.
#
# Structures read (the DAWproject 1.0 schema): tracks nested in folder tracks, channels (master,
# regular; effect/submix/vca buses are named in the notes), devices (the four generic ones, Earshot's
# own, and Vst2/Vst3/Clap/Au plugins, which are named as not kept), sends; the arrangement's lanes
# nested to any depth, Clips with nested Clips (Bitwig writes an audio clip as a clip holding a
# timeline of audio events), alias clips (`reference`), Warps, Audio, Notes, automation lanes
# (Points), markers, tempo and time-signature automation, clip-launcher slots and scenes. Nested
# clips are flattened onto the arrangement (loops of an outer clip unrolled pass by pass). Audio
# that is not inside the file (missing, or `external`) keeps its clip as an offline clip: a note,
# never a failure.

StoreFile = Callable[[str, bytes], dict]  # (zip path, bytes) → a clip source dict

MAX_MEMBERS = 4096  # zip entries (a project with a few hundred audio files is large)
MAX_XML_BYTES = 32_000_000  # project.xml / metadata.xml unpacked (a big real project is a few MB)
MAX_DEPTH = 48  # nesting of lanes and clips inside each other
MAX_XML_DEPTH = 256  # elements inside elements (the schema check recurses; a real project is ~12 deep)
MAX_PASSES = 512  # loop passes of one outer clip unrolled onto the arrangement
NOTES_SHOWN = 5


def _refuse(name: str, what: str, hint: str = "export it again from the DAW") -> EarshotError:
    return EarshotError(f"{name}: {what}", hint)


class Archive:
    """A .dawproject zip read within limits (see above)."""

    def __init__(self, source: Path | bytes, name: str, max_total_bytes: int = 2_000_000_000) -> None:
        self.name = name
        self.budget = max_total_bytes
        try:
            self.zip = zipfile.ZipFile(io.BytesIO(source) if isinstance(source, bytes) else source)
            infos = self.zip.infolist()
        except (zipfile.BadZipFile, zipfile.LargeZipFile, OSError, ValueError, EOFError) as exc:
            raise EarshotError(
                f"{name} is not a DAWproject file (not a readable zip archive: {_short(exc)})",
                "export it again from the DAW (File → Export → DAWproject)",
            ) from exc
        if len(infos) > MAX_MEMBERS:
            raise _refuse(name, f"the archive holds {len(infos)} entries, over the {MAX_MEMBERS} a project may have")
        self.members = {i.filename: i for i in infos}

    def has(self, member: str) -> bool:
        return member in self.members

    def read(self, member: str, cap: int) -> bytes | None:
        """The unpacked bytes of `member` (None if absent), refusing more than `cap` bytes."""
        info = self.members.get(member)
        if info is None:
            return None
        cap = min(cap, self.budget)
        if info.file_size > cap:
            raise self._too_big(member, info.file_size, cap)
        try:
            with self.zip.open(info) as f:
                data = f.read(cap + 1)  # never decompresses more than this, whatever the header claims
        except (zipfile.BadZipFile, OSError, EOFError, ValueError, NotImplementedError, RuntimeError) as exc:
            raise _refuse(self.name, f"{member!r} is damaged in the archive ({_short(exc)})") from exc
        except Exception as exc:  # zlib.error, lzma/bz2 errors: all mean a damaged member
            raise _refuse(self.name, f"{member!r} is damaged in the archive ({_short(exc)})") from exc
        if len(data) > cap:
            raise self._too_big(member, len(data), cap)
        self.budget -= len(data)
        return data

    def _too_big(self, member: str, size: int, cap: int) -> EarshotError:
        return _refuse(
            self.name,
            f"{member!r} unpacks to more than {cap / 1e6:.0f} MB ({'at least ' if size == cap + 1 else ''}"
            f"{size / 1e6:.0f} MB; a zip bomb or a damaged file), so it was not opened",
            "export the project again; large audio belongs in separate files",
        )


def _short(exc: BaseException) -> str:
    text = " ".join(str(exc).split()) or type(exc).__name__
    return text[:140]


def parse_xml(data: bytes, name: str, what: str = "project.xml") -> ET.Element:
    """Parse untrusted XML: no DTD, no entities, no external references (defusedxml)."""
    try:
        from defusedxml import DefusedXmlException
        from defusedxml.ElementTree import fromstring
    except ImportError as exc:  # pragma: no cover - a runtime dependency
        raise EarshotError("reading DAWproject files needs defusedxml", "pip install defusedxml") from exc
    try:
        return fromstring(data, forbid_dtd=True, forbid_entities=True, forbid_external=True)
    except DefusedXmlException as exc:
        raise _refuse(
            name,
            f"{what} declares a DTD or entities ({type(exc).__name__}), which a DAWproject never needs and "
            "which can read other files or expand without end; refused",
            "export it again from the DAW",
        ) from exc
    except ET.ParseError as exc:
        raise _refuse(name, f"{what} is not well-formed XML ({_short(exc)})") from exc


def _fnum(el: ET.Element | None, attr: str, default: float | None = None, lo: float = -1e9, hi: float = 1e9):
    """A finite number attribute within [lo, hi], else `default` (hostile files carry NaN, inf, text)."""
    if el is None:
        return default
    raw = el.get(attr)
    if raw is None:
        return default
    try:
        v = float(raw)
    except ValueError:
        return default
    if not math.isfinite(v) or not lo <= v <= hi:
        return default
    return v


def _unreadable(el: ET.Element | None, attr: str = "value", lo: float = -1e9, hi: float = 1e9) -> str | None:
    """The raw text of a number attribute that is present but not usable (NaN, inf, text, out of range)."""
    if el is None or el.get(attr) is None or _fnum(el, attr, None, lo, hi) is not None:
        return None
    return el.get(attr)[:20]


def _f(el: ET.Element | None, attr: str = "value", default: float | None = None) -> float | None:
    return _fnum(el, attr, default)


def _param_value(el: ET.Element | None, pname: str) -> float | None:
    if el is None:
        return None
    v = _f(el)
    return None if v is None else _from_param(pname, v, el.get("unit"))


def _label(text: str | None, fallback: str) -> str:
    """A name from the file, as one short line."""
    clean = " ".join((text or "").split())[:60].strip()
    return clean or fallback


def _effects_from(
    devices: ET.Element | None, notes: list[str], where: str
) -> tuple[list[dict], int | None, float | None]:
    """(effects, GM program, master-limiter ceiling) from a Devices element."""
    out: list[dict] = []
    program = None
    ceiling = None
    if devices is None:
        return out, program, ceiling
    for dev in devices:
        did = dev.get("deviceID") or ""
        shown = _label(dev.get("deviceName") or dev.get("name"), dev.tag)
        enabled = dev.find("Enabled")
        on = enabled is None or enabled.get("value", "true") == "true"
        if did == "earshot.general_midi" or dev.get("deviceRole") == "instrument":
            p = dev.find("Parameters/IntegerParameter[@name='program']")
            value = _fnum(p, "value", None, 0, 127)
            program = int(value) if value is not None else program
            if did != "earshot.general_midi":
                kind = "plugin" if dev.tag.endswith("Plugin") else "instrument"
                notes.append(f"{where}: {kind} {shown!r} ({dev.tag}) replaced by General MIDI")
            continue
        if did == "earshot.master_limiter":
            ceiling = model.qv(_fnum(dev.find("Threshold"), "value", -1.0, -30.0, 0.0))
            continue
        kind = did[len("earshot.") :] if did.startswith("earshot.") else None
        if dev.tag in ("Compressor", "Limiter", "NoiseGate"):
            kind = {"Compressor": "compressor", "Limiter": "limiter", "NoiseGate": "noise_gate"}[dev.tag]
            params = model_defaults(kind)
            for pname, (ctag, unit) in DEDICATED[kind][1].items():
                child = dev.find(ctag)
                if child is not None and child.get("unit") not in (None, unit):
                    notes.append(f"{where}: {shown} {ctag} in {child.get('unit')} not converted (default kept)")
                    continue
                v = _param_value(child, pname)
                if v is not None:
                    params[pname] = _clamp(kind, pname, v)
            out.append({"type": kind, "params": params, "enabled": on})
        elif dev.tag == "Equalizer":
            for band in dev.findall("Band"):
                kind = BAND_EFFECTS.get(band.get("type"))
                if kind is None:
                    notes.append(f"{where}: EQ band type {band.get('type')!r} skipped")
                    continue
                params = model_defaults(kind)
                freq = band.find("Freq")
                hz = _f(freq)
                if hz is not None and freq.get("unit") == "semitones":  # a MIDI-note pitch (Bitwig)
                    hz = 440.0 * 2.0 ** ((hz - 69.0) / 12.0)
                if hz is not None:
                    params["cutoff_hz"] = _clamp(kind, "cutoff_hz", hz)
                if "gain_db" in params and _f(band.find("Gain")) is not None:
                    params["gain_db"] = _clamp(kind, "gain_db", _f(band.find("Gain")))
                if "q" in params and _f(band.find("Q")) is not None:
                    params["q"] = _clamp(kind, "q", _f(band.find("Q")))
                if "order" in params and _fnum(band, "order") is not None:
                    params["order"] = _clamp(kind, "order", _fnum(band, "order"))
                band_on = band.find("Enabled")
                out.append(
                    {
                        "type": kind,
                        "params": params,
                        "enabled": on and (band_on is None or band_on.get("value", "true") == "true"),
                    }
                )
        elif kind in EFFECTS:
            params = model_defaults(kind)
            for p in dev.findall("Parameters/RealParameter"):
                v = _param_value(p, p.get("name") or "")
                if p.get("name") in params and v is not None:
                    params[p.get("name")] = _clamp(kind, p.get("name"), v)
            out.append({"type": kind, "params": params, "enabled": on})
        elif dev.tag.endswith("Plugin"):
            notes.append(f"{where}: plugin {shown!r} ({dev.tag}) not kept (Earshot hosts no plugins)")
        else:
            notes.append(f"{where}: {dev.tag} {shown!r} skipped (not a device Earshot can run)")
    return out, program, ceiling


def model_defaults(kind: str) -> dict[str, float]:
    from .effects import default_params

    return default_params(kind)


def _clamp(kind: str, pname: str, value: float) -> float:
    p = EFFECTS[kind].params[pname]
    return model.qp(min(max(value, p.lo), p.hi))


def _volume_db(vol: ET.Element) -> float | None:
    unit = vol.get("unit")
    v = _f(vol)
    if v is None:
        return None
    if unit == "decibel":
        db = v
    else:
        if unit == "percent":
            v /= 100.0
        if v <= 0:
            return -60.0
        db = 20.0 * math.log10(v)
    return model.qv(min(max(db, -60.0), 12.0))


def _pan(pan: ET.Element) -> float | None:
    v = _f(pan)
    if v is None:
        return None
    lo, hi = _fnum(pan, "min"), _fnum(pan, "max")
    if pan.get("unit") == "normalized":
        v = 2.0 * v - 1.0
    elif pan.get("unit") == "percent":
        v = v / 100.0
    elif lo is not None and hi is not None and hi > lo and (lo, hi) != (-1.0, 1.0):
        v = 2.0 * (v - lo) / (hi - lo) - 1.0  # a linear pan on the host's own scale (-100..100)
    return model.qv(min(max(v, -1.0), 1.0))


def _count(notes_of_kind: list[str]) -> str:
    shown = ", ".join(notes_of_kind[:3])
    return shown + (f" and {len(notes_of_kind) - 3} more" if len(notes_of_kind) > 3 else "")


class _Importer:
    """One pass over a parsed project.xml (see the module notes on what is read)."""

    def __init__(self, root: ET.Element, archive: Archive | None, name: str, notes: list[str]) -> None:
        self.root = root
        self.archive = archive
        self.name = name
        self.notes = notes
        self.s = model.new_state(name)
        self.ids = {el.get("id"): el for el in root.iter() if el.get("id")}
        self.track_of: dict[str, str] = {}  # DAWproject Track/Channel id → our track id
        self.param_owner: dict[str, str] = {}  # a parameter's id → "Volume of 'Bass'" (automation targets)
        self.markers: list[str] = []
        self.automation: list[str] = []
        self.launcher = 0
        self.disabled: list[str] = []
        self.offline: dict[str, str] = {}  # zip path → why it is offline
        self.wanted: dict[str, dict] = {}  # zip path → the source dict its clips share
        self.clip_budget_hit = False

    # -- transport and structure ---------------------------------------------------------------
    def transport(self) -> None:
        s, root = self.s, self.root
        tempo = _fnum(root.find("Transport/Tempo"), "value")
        if _unreadable(root.find("Transport/Tempo")) is not None:
            self.notes.append(f"tempo {_unreadable(root.find('Transport/Tempo'))!r} is not a number; 120 BPM kept")
        automation = root.find("Arrangement/TempoAutomation")
        points = [] if automation is None else [_fnum(p, "value") for p in automation.findall("RealPoint")]
        points = [p for p in points if p is not None]
        if tempo is None and points:
            tempo = points[0]  # hosts that keep the tempo only in the tempo track
        if tempo is not None:
            if 20.0 <= tempo <= 400.0:
                s["tempo_bpm"] = model.qv(tempo)
            else:
                self.notes.append(f"tempo {tempo:g} BPM is outside 20–400; {s['tempo_bpm']:g} BPM kept")
        if len(set(points)) > 1:
            self.notes.append(f"tempo changes ({len(points)} tempo points) flattened to {s['tempo_bpm']:g} BPM")
        sig = root.find("Transport/TimeSignature")
        num_, den = _fnum(sig, "numerator"), _fnum(sig, "denominator")
        if num_ is not None and den is not None:
            if num_ == int(num_) and 1 <= num_ <= 32 and den in (1, 2, 4, 8, 16, 32):
                s["time_signature"] = [int(num_), int(den)]
            else:
                self.notes.append(
                    f"time signature {sig.get('numerator')}/{sig.get('denominator')} not usable; 4/4 kept"
                )
        changes = root.find("Arrangement/TimeSignatureAutomation")
        if changes is not None and len(changes.findall("TimeSignaturePoint")) > 1:
            self.notes.append("time-signature changes flattened")

    def structure(self) -> None:
        structure = self.root.find("Structure")
        if structure is None:
            return
        self.master_done = False
        for el in structure:
            self._structure_item(el, depth=0)

    def _structure_item(self, el: ET.Element, depth: int) -> None:
        if depth > MAX_DEPTH:
            self.notes.append("folder tracks nested too deeply; the innermost skipped")
            return
        if el.tag == "Channel":
            self._lone_channel(el)
            return
        if el.tag != "Track":
            return
        name = _label(el.get("name"), f"Track {len(self.s['tracks']) + 1}")
        kinds = set((el.get("contentType") or "").split())
        channel = el.find("Channel")
        role = (channel.get("role") if channel is not None else None) or "regular"
        if role == "master":
            self._master(channel)
            if channel.get("id"):
                self.track_of[channel.get("id")] = "master"
            self.track_of[el.get("id") or ""] = "master"
        elif {"audio", "notes"} & kinds and role == "regular":
            self._track(el, channel, name, kinds)
        elif "tracks" in kinds or el.find("Track") is not None:
            if channel is not None and (channel.find("Devices") is not None or channel.find("Volume") is not None):
                self.notes.append(f"folder {name!r}: its bus ({role}: volume, effects) not kept; its tracks are")
        else:
            what = f"{role} channel" if role != "regular" else "track of " + (" ".join(sorted(kinds)) or "no content")
            self.notes.append(f"{what} {name!r} not kept")
        for child in el.findall("Track"):
            self._structure_item(child, depth + 1)

    def _lone_channel(self, channel: ET.Element) -> None:
        role = channel.get("role") or "regular"
        name = _label(channel.get("name"), "channel")
        if role == "master":
            self._master(channel)
            self.track_of[channel.get("id") or ""] = "master"
        else:
            self.notes.append(f"mixer channel {name!r} ({role}) not kept")

    def _master(self, channel: ET.Element) -> None:
        if getattr(self, "master_done", False):
            self.notes.append("a second master channel skipped")
            return
        self.master_done = True
        fx, _, ceiling = _effects_from(channel.find("Devices"), self.notes, "master")
        _add_effects(self.s, self.s["master"]["effects"], fx)
        self.s["master"]["limiter_db"] = ceiling
        vol = channel.find("Volume")
        if vol is not None and _volume_db(vol) is not None:
            self.s["master"]["gain_db"] = _volume_db(vol)
        self._params(channel, "master")

    def _track(self, el: ET.Element, channel: ET.Element | None, name: str, kinds: set[str]) -> None:
        s = self.s
        if len(s["tracks"]) >= model.MAX_TRACKS:
            self.notes.append(f"track {name!r}: the project already has {model.MAX_TRACKS} tracks; skipped")
            return
        kind = "midi" if "notes" in kinds and "audio" not in kinds else "audio"
        fx, program, _ = (
            _effects_from(channel.find("Devices"), self.notes, name) if channel is not None else ([], None, None)
        )
        done = model.add_track(s, name, kind, program or 0)
        t = s["tracks"][done.ref]
        _add_effects(s, t["effects"], fx)
        if channel is not None:
            mute = channel.find("Mute")
            t["mute"] = mute is not None and mute.get("value") == "true"
            t["solo"] = channel.get("solo") == "true"
            pan = channel.find("Pan")
            if pan is not None and _pan(pan) is not None:
                t["pan"] = _pan(pan)
            vol = channel.find("Volume")
            if vol is not None and _volume_db(vol) is not None:
                t["gain_db"] = _volume_db(vol)
            for what in ("Volume", "Pan"):
                if _unreadable(channel.find(what)) is not None:
                    self.notes.append(f"{name}: {what.lower()} {_unreadable(channel.find(what))!r} is not a number")
            if channel.find("Sends/Send") is not None:
                self.notes.append(f"{name}: {len(channel.findall('Sends/Send'))} send(s) not kept")
            if channel.get("id"):
                self.track_of[channel.get("id")] = done.ref
            self._params(channel, t["name"])
        self.track_of[el.get("id") or ""] = done.ref

    def _params(self, channel: ET.Element, owner: str) -> None:
        for p in channel.iter():
            if p.get("id") and p.tag in ("Volume", "Pan", "Mute", "RealParameter", "BoolParameter", "Enabled"):
                self.param_owner[p.get("id")] = f"{p.get('name') or p.tag} of {owner!r}"

    # -- the arrangement -------------------------------------------------------------------------
    def arrangement(self) -> None:
        arr = self.root.find("Arrangement")
        if arr is not None:
            lanes = arr.find("Lanes")
            if lanes is not None:
                self._timeline(lanes, None, "beats", 0)
            for tag in ("Markers", "markers"):
                for m in arr.findall(tag):
                    self._markers(m, m.get("timeUnit") or "beats")
        scenes = self.root.find("Scenes")
        if scenes is not None:
            self.launcher += sum(1 for _ in scenes.iter("ClipSlot")) or len(scenes.findall("Scene"))
        if self.markers:
            self.notes.append(f"{len(self.markers)} marker(s) not kept ({_count(self.markers)})")
        if self.automation:
            self.notes.append(f"{len(self.automation)} automation lane(s) not kept ({_count(self.automation)})")
        if self.launcher:
            self.notes.append(f"{self.launcher} clip-launcher slot(s)/scene(s) not kept (arrangement only)")
        if self.disabled:
            self.notes.append(f"{len(self.disabled)} disabled clip(s) skipped ({_count(self.disabled)})")

    def _timeline(self, el: ET.Element, track: str | None, unit: str, depth: int) -> None:
        """Walk a timeline element on the arrangement (not inside a clip)."""
        if depth > MAX_DEPTH:
            self.notes.append("lanes nested too deeply; the innermost skipped")
            return
        track = el.get("track") or track
        unit = _unit(el.get("timeUnit"), unit)
        tag = el.tag
        if tag == "Lanes":
            for child in el:
                self._timeline(child, track, unit, depth + 1)
        elif tag == "Clips":
            for clip_el in el.findall("Clip"):
                self._place(self._vclip(clip_el, unit), track, depth + 1)
        elif tag in ("Notes", "Audio", "Warps", "Video"):
            # content straight on a lane: a clip that spans it
            span = _content_span(el, unit)
            vc = _VClip(0.0, span, unit, unit, 0.0, None, 0.0, 0.0, el.get("name") or tag, el)
            self._place(vc, track, depth + 1)
        elif tag == "Points":
            self.automation.append(self._target(el, track))
        elif tag in ("markers", "Markers"):
            self._markers(el, unit)
        elif tag == "ClipSlot":
            self.launcher += 1

    def _markers(self, el: ET.Element, unit: str) -> None:
        for m in el.findall("Marker"):
            t = _fnum(m, "time", 0.0)
            at = f"beat {t:g}" if unit == "beats" else f"{t:g} s"
            self.markers.append(f"{_label(m.get('name'), 'marker')!r} at {at}")

    def _target(self, points: ET.Element, track: str | None) -> str:
        target = points.find("Target")
        n = len([p for p in points if p.tag.endswith("Point")])
        what = "automation"
        if target is not None:
            if target.get("parameter") in self.param_owner:
                what = self.param_owner[target.get("parameter")]
            elif target.get("parameter"):
                what = "a device parameter"
            elif target.get("expression"):
                what = target.get("expression")
        owner = self._track_name(track)
        return f"{what}{f' on {owner!r}' if owner and owner not in what else ''}, {n} points"

    def _track_name(self, track: str | None) -> str | None:
        tid = self.track_of.get(track or "")
        if tid == "master":
            return "master"
        return self.s["tracks"][tid]["name"] if tid in self.s["tracks"] else None

    def _vclip(self, el: ET.Element, unit: str) -> _VClip:
        content_unit = _unit(el.get("contentTimeUnit"), unit)
        content = next((c for c in el if c.tag in CONTENT_TAGS), None)
        if content is None and el.get("reference") in self.ids:
            content = self.ids[el.get("reference")]  # an alias clip: the content lives elsewhere
        start = _fnum(el, "time", 0.0, 0.0, 1e7)
        if _unreadable(el, "time", 0.0, 1e7) is not None:
            self.notes.append(
                f"clip {_label(el.get('name'), 'clip')!r}: start {el.get('time')[:20]!r} unusable; put at 0"
            )
        length = _fnum(el, "duration", None, 0.0, 1e7)
        if length is None:
            length = _content_span(content, content_unit) if content is not None else 0.0
            length /= _per(self.s, content_unit, unit)
        loop = None
        ls, le = _fnum(el, "loopStart", None, 0.0, 1e7), _fnum(el, "loopEnd", None, 0.0, 1e7)
        if ls is not None and le is not None and le > ls:
            loop = (ls, le)
        fade_unit = _unit(el.get("fadeTimeUnit"), "seconds")
        fades = []
        for attr in ("fadeInTime", "fadeOutTime"):
            v = _fnum(el, attr, 0.0, 0.0, 1e5)
            fades.append(v if fade_unit == "seconds" else model.to_seconds(self.s, v, "beats"))
        vc = _VClip(
            start,
            length,
            unit,
            content_unit,
            _fnum(el, "playStart", 0.0, 0.0, 1e7),
            loop,
            fades[0],
            fades[1],
            _label(el.get("name"), "clip"),
            content,
        )
        vc.enabled = el.get("enable") != "false"
        return vc

    def _place(self, vc: _VClip, track: str | None, depth: int) -> None:
        """A clip on the arrangement: flattened if it holds clips, else kept as one of ours."""
        if depth > MAX_DEPTH:
            self.notes.append("clips nested too deeply; the innermost skipped")
            return
        if not vc.enabled:
            self.disabled.append(repr(vc.name))
            return
        content = vc.content
        if content is not None and content.tag == "Lanes" and _gain_lanes(content) is not None:
            vc.gain_db, content = _gain_lanes(content)
            vc.content = content
        if content is None:
            self.notes.append(f"clip {vc.name!r} has no content; skipped")
            return
        if content.tag == "Clips" or (content.tag == "Lanes" and content.find("Clips") is not None):
            holders = [content] if content.tag == "Clips" else content.findall("Clips")
            for piece in _unroll(self.s, vc, [c for h in holders for c in h.findall("Clip")], self._vclip):
                self._place(piece, track, depth + 1)
            if content.tag == "Lanes":
                for points in content.findall("Points"):
                    self.automation.append(self._target(points, track) + f" in clip {vc.name!r}")
            return
        if content.tag == "Lanes":  # lanes inside a clip: take the first content, name the rest
            inner = [c for c in content if c.tag in CONTENT_TAGS and c.tag != "Points"]
            for points in content.findall("Points"):
                self.automation.append(self._target(points, track) + f" in clip {vc.name!r}")
            if not inner:
                return
            if len(inner) > 1:
                self.notes.append(f"clip {vc.name!r}: {len(inner) - 1} extra content lane(s) skipped")
            vc.content = inner[0]
            self._place(vc, track, depth + 1)
            return
        if content.tag == "Points":
            self.automation.append(self._target(content, track) + f" (clip {vc.name!r})")
            return
        if content.tag in ("markers", "Markers"):
            self._markers(content, vc.content_unit)
            return
        if content.tag == "Video":
            self.notes.append(f"video clip {vc.name!r} not kept")
            return
        tid = self.track_of.get(track or "")
        if tid == "master" or tid not in self.s["tracks"]:
            self.notes.append(f"clip {vc.name!r} is on no track Earshot kept; skipped")
            return
        if len(self.s["clips"]) >= model.MAX_CLIPS:
            if not self.clip_budget_hit:
                self.notes.append(f"more than {model.MAX_CLIPS} clips; the rest skipped")
                self.clip_budget_hit = True
            return
        clip = self._leaf(tid, vc)
        if clip is not None:
            self.s["clips"][clip["id"]] = clip

    def _leaf(self, tid: str, vc: _VClip) -> dict | None:
        s, track, inner = self.s, self.s["tracks"][tid], vc.content
        if vc.length <= 0:
            self.notes.append(f"clip {vc.name!r} has no length; skipped")
            return None
        clip = {
            "id": None,
            "track": tid,
            "name": vc.name if vc.name != "clip" else track["name"],
            "start": model.qt(vc.start),
            "unit": vc.unit,
            "length": model.qt(vc.length),
            "offset": model.qt(vc.play_start),
            "loop": [model.qt(vc.loop[0]), model.qt(vc.loop[1])] if vc.loop else None,
            "fade_in_s": model.qt(vc.fade_in_s),
            "fade_out_s": model.qt(vc.fade_out_s),
            "gain_db": model.qv(min(max(vc.gain_db, -60.0), 24.0)),
            "warp": None,
            "source": None,
            "notes": [],
        }
        if inner.tag == "Notes":
            if track["kind"] != "midi":
                self.notes.append(f"notes on audio track {track['name']!r} skipped")
                return None
            notes = []
            expressions = 0
            for n in inner.findall("Note"):
                key, t, d = _fnum(n, "key", None, 0, 127), _fnum(n, "time", None, 0, 1e7), _fnum(n, "duration", None)
                if key is None or t is None or d is None or d <= 0:
                    continue
                vel = _fnum(n, "vel", 0.8, 0.0, 1.0)
                notes.append([int(key), model.qt(t), model.qt(d), max(1, min(127, int(round(vel * 127))))])
                expressions += len(n)
            if expressions:
                self.notes.append(f"clip {vc.name!r}: {expressions} note expression(s) not kept")
            # notes are counted in the clip's content unit; ours are in beats
            k = _per(s, "beats", vc.content_unit)
            if k != 1.0:
                notes = [[p, model.qt(t * k), model.qt(d * k), v] for p, t, d, v in notes]
                clip["offset"] = model.qt(clip["offset"] * k)
                clip["loop"] = [model.qt(x * k) for x in clip["loop"]] if clip["loop"] else None
            clip.update(kind="midi", content_unit="beats", notes=sorted(notes, key=lambda n: (n[1], n[0])))
        else:
            if track["kind"] != "audio":
                self.notes.append(f"audio on MIDI track {track['name']!r} skipped")
                return None
            if inner.tag == "Warps":
                audio = inner.find("Audio")
                warps = [(w, _fnum(w, "time"), _fnum(w, "contentTime")) for w in inner.findall("Warp")]
                warps = [(t, c) for _, t, c in warps if t is not None and c is not None]
                if audio is None or len(warps) < 2 or warps[-1][0] <= warps[0][0] or warps[-1][1] <= warps[0][1]:
                    self.notes.append(f"clip {vc.name!r}: unreadable warp markers; skipped")
                    return None
                (t0, c0), (t1, c1) = warps[0], warps[-1]
                if len(warps) > 2 or t0 != 0.0 or c0 != 0.0:
                    self.notes.append(f"clip {vc.name!r}: {len(warps)} warp markers simplified to one tempo")
                if _unit(inner.get("contentTimeUnit"), "seconds") != "seconds" or vc.content_unit != "beats":
                    self.notes.append(f"clip {vc.name!r}: warps in unusual units read as beats → seconds")
                clip.update(content_unit="beats", warp=[model.qt(t1 - t0), model.qt(c1 - c0)])
            else:
                audio = inner
                clip["content_unit"] = vc.content_unit
                if clip["content_unit"] == "beats":  # unwarped audio counted in beats: seconds at the tempo
                    k = 60.0 / s["tempo_bpm"]
                    clip.update(
                        content_unit="seconds",
                        offset=model.qt(clip["offset"] * k),
                        loop=[model.qt(x * k) for x in clip["loop"]] if clip["loop"] else None,
                    )
            if audio is None or audio.tag != "Audio":
                self.notes.append(f"clip {vc.name!r} has no audio; skipped")
                return None
            clip.update(kind="audio", source=self._source(audio, vc.name))
        clip["id"] = model._new_id(s, "c")
        return clip

    def _source(self, audio: ET.Element, clip_name: str) -> dict:
        """The clip's source: shared by every clip of the same file; offline when the file is not inside."""
        file_el = audio.find("File")
        path = (file_el.get("path") if file_el is not None else None) or ""
        if path in self.wanted:
            return self.wanted[path]
        meta = {
            "duration_s": _fnum(audio, "duration", 0.0, 0.0, 1e7),
            "sample_rate_hz": int(_fnum(audio, "sampleRate", 44100, 1, 10_000_000)),
            "channels": int(_fnum(audio, "channels", 2, 1, 256)),
        }
        name = posixpath.basename(path) or f"{clip_name}.wav"
        source = {"artifact": None, "path": None, "name": name, "sha256": "", **meta}
        if file_el is None or not path:
            self.offline[name] = "the clip names no file"
        elif file_el.get("external") == "true":
            self.offline[name] = "it is outside the project file"
        elif self.archive is None or not self.archive.has(path):
            self.offline[name] = "it is not inside the project file"
        self.wanted[path] = source
        if name in self.offline:
            source["offline"] = True
        return source


CONTENT_TAGS = ("Lanes", "Notes", "Clips", "ClipSlot", "markers", "Markers", "Warps", "Audio", "Video", "Points")


class _VClip:
    """A clip being read: where it sits on its parent timeline and what it holds."""

    def __init__(self, start, length, unit, content_unit, play_start, loop, fade_in_s, fade_out_s, name, content):
        self.start, self.length, self.unit, self.content_unit = start, length, unit, content_unit
        self.play_start, self.loop, self.fade_in_s, self.fade_out_s = play_start, loop, fade_in_s, fade_out_s
        self.name, self.content = name, content
        self.gain_db = 0.0
        self.enabled = True


def _unit(value: str | None, default: str) -> str:
    return value if value in ("beats", "seconds") else default


def _per(s: dict, to_unit: str, from_unit: str) -> float:
    """`to_unit` units per `from_unit` unit at the project tempo (1 when they are the same)."""
    if to_unit == from_unit:
        return 1.0
    beats_per_s = s["tempo_bpm"] / 60.0
    return beats_per_s if to_unit == "beats" else 1.0 / beats_per_s


def _content_span(el: ET.Element, unit: str) -> float:
    """How long a piece of content lasts, in `unit` (a lane's notes, an audio file's duration)."""
    if el.tag == "Notes":
        ends = [(_fnum(n, "time", 0.0) or 0.0) + (_fnum(n, "duration", 0.0) or 0.0) for n in el.findall("Note")]
        return max(ends, default=0.0)
    if el.tag == "Audio":
        return _fnum(el, "duration", 0.0, 0.0, 1e7)
    if el.tag == "Warps":
        times = [_fnum(w, "time") for w in el.findall("Warp")]
        return max([t for t in times if t is not None], default=0.0)
    if el.tag == "Clips":
        ends = [(_fnum(c, "time", 0.0) or 0.0) + (_fnum(c, "duration", 0.0) or 0.0) for c in el.findall("Clip")]
        return max(ends, default=0.0)
    return 0.0


def _gain_lanes(lanes: ET.Element):
    """Earshot's own clip gain: Lanes holding the content and one gain Points lane → (dB, content)."""
    points = [p for p in lanes.findall("Points") if (p.find("Target") is not None)]
    gain = [p for p in points if p.find("Target").get("expression") == "gain" and p.find("RealPoint") is not None]
    content = [c for c in lanes if c.tag in ("Audio", "Warps", "Notes")]
    if len(gain) != 1 or len(content) != 1 or len(points) != 1:
        return None
    v = _fnum(gain[0].find("RealPoint"), "value", 0.0, -1e3, 1e3)
    db = v if gain[0].get("unit") == "decibel" else 20 * math.log10(max(v, 1e-3))
    return db, content[0]


def _unroll(s: dict, outer: _VClip, inner_els: list[ET.Element], vclip) -> list[_VClip]:
    """The clips inside `outer` as clips on outer's own timeline, cut to its window and repeated for
    each pass of its loop."""
    k = _per(s, outer.content_unit, outer.unit)  # outer content units per timeline unit
    need = outer.length * k  # content to play
    segments = []  # (content from, content to, timeline start)
    pos, t, a = outer.play_start, outer.start, 0.0
    while a < need - 1e-9 and len(segments) < MAX_PASSES:
        end = outer.loop[1] if outer.loop and pos < outer.loop[1] else math.inf
        take = min(end - pos, need - a)
        if take <= 1e-9:
            break
        segments.append((pos, pos + take, t))
        a += take
        t += take / k
        pos = outer.loop[0] if outer.loop and pos + take >= outer.loop[1] - 1e-9 else pos + take
    pieces = []
    inners = [vclip(el, outer.content_unit) for el in inner_els]
    for n, (ca, cb, ts) in enumerate(segments):
        for inner in inners:
            lo, hi = max(ca, inner.start), min(cb, inner.start + inner.length)
            if hi - lo <= 1e-9:
                continue
            k2 = _per(s, inner.content_unit, outer.content_unit)
            piece = _VClip(
                ts + (lo - ca) / k,
                (hi - lo) / k,
                outer.unit,
                inner.content_unit,
                inner.play_start + (lo - inner.start) * k2,
                inner.loop,
                inner.fade_in_s if lo <= inner.start + 1e-9 else 0.0,
                inner.fade_out_s if hi >= inner.start + inner.length - 1e-9 else 0.0,
                inner.name if inner.name != "clip" else outer.name,
                inner.content,
            )
            piece.enabled = inner.enabled
            piece.gain_db = outer.gain_db
            if n == 0 and lo <= ca + 1e-9:
                piece.fade_in_s = max(piece.fade_in_s, outer.fade_in_s)
            if n == len(segments) - 1 and hi >= cb - 1e-9:
                piece.fade_out_s = max(piece.fade_out_s, outer.fade_out_s)
            pieces.append(piece)
    return pieces


def import_dawproject(
    data: bytes | Path,
    store_file: StoreFile,
    name: str = "Imported",
    max_total_bytes: int = 2_000_000_000,
    label: str | None = None,
) -> tuple[dict, list[str]]:
    """(project state, notes on what could not be kept) from a .dawproject (bytes or a path).

    Everything is read and checked first; the audio files of the project are unpacked (through
    `store_file`) only once the whole project has been understood, so a file that fails half-way
    leaves nothing behind."""
    title, name = name, label or name  # the project's name; the file's name in messages
    archive = Archive(data, name, max_total_bytes)
    project = archive.read("project.xml", MAX_XML_BYTES)
    if project is None:
        raise EarshotError(f"{name} is not a DAWproject file (it has no project.xml)", "export it again from the DAW")
    root = parse_xml(project, name)
    depth = _depth(root)
    if depth > MAX_XML_DEPTH:
        raise _refuse(name, f"project.xml nests elements more than {MAX_XML_DEPTH} deep; no project needs that")
    if root.tag != "Project":
        raise _refuse(name, f"project.xml holds <{root.tag[:40]}>, not a DAWproject <Project>")
    notes: list[str] = []
    try:
        validate_tree(root)
    except EarshotError as exc:
        # Read what can be read (DAWs differ in how strictly they write), and say so.
        notes.append(f"the file is not valid DAWproject 1.0 ({exc.message.split(': ', 1)[-1][:120]})")
    imp = _Importer(root, archive, title, notes)
    meta = archive.read("metadata.xml", MAX_XML_BYTES)
    if meta:
        title = parse_xml(meta, name, "metadata.xml").findtext("Title")
        if title and title.strip():
            imp.s["name"] = _label(title, name)
    imp.transport()
    imp.structure()
    imp.arrangement()
    # Phase two: unpack each audio file the kept clips use (checked as audio by store_file).
    for path, source in imp.wanted.items():
        if source.get("offline"):
            continue
        blob = archive.read(path, max_total_bytes)
        source.update(store_file(path, blob))
    if imp.offline:
        missing = [f"{n!r} ({why})" for n, why in imp.offline.items()]
        notes.insert(0, f"{len(missing)} audio file(s) missing, their clips kept offline (silent): {_count(missing)}")
    return imp.s, notes


def _depth(root: ET.Element) -> int:
    """How deeply elements nest, counted without recursion."""
    deepest, stack = 0, [(root, 1)]
    while stack:
        el, d = stack.pop()
        deepest = max(deepest, d)
        if d <= MAX_XML_DEPTH:
            stack.extend((child, d + 1) for child in el)
    return deepest


def validate_tree(root: ET.Element) -> None:
    """validate() for a tree already parsed safely."""
    errors = list(schema("Project.xsd").iter_errors(root))
    if errors:
        raise EarshotError(
            f"the project XML does not validate: {str(errors[0].reason or errors[0])[:200]}",
            "this is a bug; please report it",
        )


def zip_member_name(path: str) -> str:
    return posixpath.basename(path)


def _add_effects(s: dict, chain: dict, effects: list[dict]) -> None:
    for n, fx in enumerate(effects, 1):
        eid = model._new_id(s, "e")
        chain[eid] = {"id": eid, "type": fx["type"], "params": fx["params"], "enabled": fx["enabled"], "pos": float(n)}
