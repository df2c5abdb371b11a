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
            if c["kind"] == "audio" and c.get("source")
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
        channels, rate, duration = _audio_info(src["path"])

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
            _el(a, "File", path=files[src["path"]])

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
StoreFile = Callable[[str, bytes], dict]  # (zip path, bytes) → a clip source dict


def _f(el: ET.Element | None, attr: str = "value", default: float | None = None) -> float | None:
    if el is None or el.get(attr) is None:
        return default
    return float(el.get(attr))


def _param_value(el: ET.Element | None, pname: str) -> float | None:
    if el is None:
        return None
    v = _f(el)
    return None if v is None else _from_param(pname, v, el.get("unit"))


def _effects_from(devices: ET.Element | None, notes: list[str]) -> tuple[list[dict], int | None, float | None]:
    """(effects, GM program, master-limiter ceiling) from a Devices element."""
    out: list[dict] = []
    program = None
    ceiling = None
    if devices is None:
        return out, program, ceiling
    for dev in devices:
        did = dev.get("deviceID") or ""
        enabled = dev.find("Enabled")
        on = enabled is None or enabled.get("value", "true") == "true"
        if did == "earshot.general_midi" or dev.get("deviceRole") == "instrument":
            p = dev.find("Parameters/IntegerParameter[@name='program']")
            program = int(p.get("value")) if p is not None else program
            if did != "earshot.general_midi":
                notes.append(f"instrument {dev.get('deviceName')!r} replaced by General MIDI")
            continue
        if did == "earshot.master_limiter":
            ceiling = model.qv(_f(dev.find("Threshold"), default=-1.0))
            continue
        kind = did[len("earshot.") :] if did.startswith("earshot.") else None
        if dev.tag in ("Compressor", "Limiter", "NoiseGate"):
            kind = {"Compressor": "compressor", "Limiter": "limiter", "NoiseGate": "noise_gate"}[dev.tag]
            params = model_defaults(kind)
            for pname, (ctag, _unit) in DEDICATED[kind][1].items():
                v = _param_value(dev.find(ctag), pname)
                if v is not None:
                    params[pname] = _clamp(kind, pname, v)
            out.append({"type": kind, "params": params, "enabled": on})
        elif dev.tag == "Equalizer":
            for band in dev.findall("Band"):
                kind = BAND_EFFECTS.get(band.get("type"))
                if kind is None:
                    notes.append(f"EQ band type {band.get('type')!r} skipped")
                    continue
                params = model_defaults(kind)
                params["cutoff_hz"] = _clamp(kind, "cutoff_hz", _f(band.find("Freq"), default=params["cutoff_hz"]))
                if "gain_db" in params and band.find("Gain") is not None:
                    params["gain_db"] = _clamp(kind, "gain_db", _f(band.find("Gain")))
                if "q" in params and band.find("Q") is not None:
                    params["q"] = _clamp(kind, "q", _f(band.find("Q")))
                if "order" in params and band.get("order"):
                    params["order"] = _clamp(kind, "order", float(band.get("order")))
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
                if p.get("name") in params:
                    params[p.get("name")] = _clamp(kind, p.get("name"), _param_value(p, p.get("name")))
            out.append({"type": kind, "params": params, "enabled": on})
        else:
            notes.append(f"{dev.tag} {dev.get('deviceName')!r} skipped (not a device Earshot can run)")
    return out, program, ceiling


def model_defaults(kind: str) -> dict[str, float]:
    from .effects import default_params

    return default_params(kind)


def _clamp(kind: str, pname: str, value: float) -> float:
    p = EFFECTS[kind].params[pname]
    return model.qp(min(max(value, p.lo), p.hi))


def _time_unit(el: ET.Element, parents: dict, default: str = "beats") -> str:
    node = el
    while node is not None:
        if node.get("timeUnit"):
            return node.get("timeUnit")
        node = parents.get(node)
    return default


def import_dawproject(data: bytes, store_file: StoreFile, name: str = "Imported") -> tuple[dict, list[str]]:
    """(project state, notes on what could not be kept) from .dawproject bytes."""
    try:
        z = zipfile.ZipFile(io.BytesIO(data))
        project = z.read("project.xml")
    except (zipfile.BadZipFile, KeyError) as exc:
        raise EarshotError(f"{name} is not a DAWproject file ({exc})", "export it again from the DAW") from exc
    try:
        meta = z.read("metadata.xml")
    except KeyError:
        meta = None
    notes: list[str] = []
    try:
        validate(project)
    except EarshotError as exc:
        # Read what can be read (DAWs differ in how strictly they write), and say so.
        notes.append(f"the file is not valid DAWproject 1.0 ({exc.message.split(': ', 1)[-1][:120]})")
    try:
        root = ET.fromstring(project)
    except ET.ParseError as exc:
        raise EarshotError(f"{name}: project.xml is not XML ({exc})", "export it again from the DAW") from exc
    s = model.new_state(name)
    if meta:
        title = ET.fromstring(meta).findtext("Title")
        if title and title.strip():
            s["name"] = title.strip()[:60]
    tempo = _f(root.find("Transport/Tempo"))
    if tempo:
        s["tempo_bpm"] = model.qv(tempo)
    sig = root.find("Transport/TimeSignature")
    if sig is not None:
        s["time_signature"] = [int(sig.get("numerator")), int(sig.get("denominator"))]
    track_of: dict[str, str] = {}  # DAWproject track id → our id
    for el in root.iter("Track"):
        channel = el.find("Channel")
        role = channel.get("role") if channel is not None else "regular"
        if role == "master":
            fx, _, ceiling = _effects_from(channel.find("Devices"), notes)
            _add_effects(s, s["master"]["effects"], fx)
            s["master"]["limiter_db"] = ceiling
            vol = channel.find("Volume")
            if vol is not None:
                s["master"]["gain_db"] = _volume_db(vol)
            continue
        kinds = (el.get("contentType") or "").split()
        if "tracks" in kinds and not ({"audio", "notes"} & set(kinds)):
            continue  # a folder: its child tracks are found by iter()
        if channel is None or role not in ("regular", None):
            notes.append(f"{role} channel {el.get('name')!r} skipped")
            continue
        kind = "midi" if "notes" in kinds and "audio" not in kinds else "audio"
        fx, program, _ = _effects_from(channel.find("Devices"), notes)
        done = model.add_track(s, el.get("name") or f"Track {len(s['tracks']) + 1}", kind, program or 0)
        t = s["tracks"][done.ref]
        _add_effects(s, t["effects"], fx)
        t["mute"] = channel.find("Mute") is not None and channel.find("Mute").get("value") == "true"
        t["solo"] = channel.get("solo") == "true"
        pan = channel.find("Pan")
        if pan is not None and pan.get("value") is not None:
            v = float(pan.get("value"))
            t["pan"] = model.qv(min(max(2.0 * v - 1.0 if pan.get("unit") == "normalized" else v, -1.0), 1.0))
        vol = channel.find("Volume")
        if vol is not None:
            t["gain_db"] = _volume_db(vol)
        track_of[el.get("id")] = done.ref
    parents = {child: parent for parent in root.iter() for child in parent}
    extracted: dict[str, dict] = {}

    def source_for(file_el: ET.Element) -> dict:
        path = file_el.get("path")
        if path not in extracted:
            if file_el.get("external") == "true":
                raise EarshotError(
                    f"the project refers to an external file {path!r}",
                    "collect the audio into the project in the DAW, then export again",
                )
            try:
                blob = z.read(path)
            except KeyError as exc:
                raise EarshotError(
                    f"the project's audio file {path!r} is missing from the zip", "export it again"
                ) from exc
            extracted[path] = store_file(path, blob)
        return extracted[path]

    arrangement = root.find("Arrangement")
    if arrangement is not None and arrangement.find("TempoAutomation") is not None:
        notes.append(f"tempo changes flattened to {s['tempo_bpm']:g} BPM")
    for lane in arrangement.iter("Lanes") if arrangement is not None else []:
        tid = track_of.get(lane.get("track") or "")
        if tid is None:
            continue
        for holder in lane.findall("Clips"):
            unit = _time_unit(holder, parents)
            for clip_el in holder.findall("Clip"):
                clip = _clip_from(s, tid, clip_el, unit, source_for, notes)
                if clip is not None:
                    s["clips"][clip["id"]] = clip
    return s, notes


def _volume_db(vol: ET.Element) -> float:
    v = float(vol.get("value"))
    if vol.get("unit") == "decibel":
        return model.qv(max(v, -60.0))
    return model.qv(max(20.0 * math.log10(v), -60.0)) if v > 0 else -60.0


def _add_effects(s: dict, chain: dict, effects: list[dict]) -> None:
    for n, fx in enumerate(effects, 1):
        eid = model._new_id(s, "e")
        chain[eid] = {"id": eid, "type": fx["type"], "params": fx["params"], "enabled": fx["enabled"], "pos": float(n)}


def _clip_from(s: dict, tid: str, el: ET.Element, unit: str, source_for, notes: list[str]) -> dict | None:
    content = list(el)
    inner = content[0] if content else None
    gain_db = 0.0
    if inner is not None and inner.tag == "Lanes":
        for pts in inner.findall("Points"):
            target = pts.find("Target")
            point = pts.find("RealPoint")
            if target is not None and target.get("expression") == "gain" and point is not None:
                v = float(point.get("value"))
                gain_db = model.qv(v if pts.get("unit") == "decibel" else 20 * math.log10(max(v, 1e-3)))
        inner = next((x for x in inner if x.tag in ("Audio", "Warps", "Notes")), None)
    if inner is None:
        notes.append(f"clip {el.get('name')!r} has no audio or notes; skipped")
        return None
    track = s["tracks"][tid]
    cid = model._new_id(s, "c")
    clip = {
        "id": cid,
        "track": tid,
        "name": (el.get("name") or "clip")[:60],
        "start": model.qt(float(el.get("time"))),
        "unit": unit,
        "length": model.qt(float(el.get("duration") or 0.0)),
        "offset": model.qt(_f(el, "playStart", 0.0)),
        "loop": None,
        "fade_in_s": 0.0,
        "fade_out_s": 0.0,
        "gain_db": gain_db,
        "warp": None,
        "source": None,
        "notes": [],
    }
    if el.get("loopStart") is not None and el.get("loopEnd") is not None:
        clip["loop"] = [model.qt(float(el.get("loopStart"))), model.qt(float(el.get("loopEnd")))]
    fade_unit = el.get("fadeTimeUnit") or "seconds"
    for attr, key in (("fadeInTime", "fade_in_s"), ("fadeOutTime", "fade_out_s")):
        v = _f(el, attr, 0.0)
        clip[key] = model.qt(v if fade_unit == "seconds" else model.to_seconds(s, v, "beats"))
    if inner.tag == "Notes":
        if track["kind"] != "midi":
            notes.append(f"notes on audio track {track['name']!r} skipped")
            return None
        clip.update(
            kind="midi",
            content_unit="beats",
            notes=sorted(
                [
                    [
                        int(n.get("key")),
                        model.qt(float(n.get("time"))),
                        model.qt(float(n.get("duration"))),
                        max(1, min(127, int(round(float(n.get("vel") or 0.8) * 127)))),
                    ]
                    for n in inner.findall("Note")
                ],
                key=lambda n: (n[1], n[0]),
            ),
        )
        return clip
    if track["kind"] != "audio":
        notes.append(f"audio on MIDI track {track['name']!r} skipped")
        return None
    if inner.tag == "Warps":
        audio = inner.find("Audio")
        warps = inner.findall("Warp")
        if audio is None or len(warps) < 2:
            notes.append(f"clip {clip['name']!r}: unreadable warp markers; skipped")
            return None
        first, last = warps[0], warps[-1]
        t0, c0, t1, c1 = (
            float(first.get("time")),
            float(first.get("contentTime")),
            float(last.get("time")),
            float(last.get("contentTime")),
        )
        if len(warps) > 2 or t0 != 0.0 or c0 != 0.0:
            notes.append(f"clip {clip['name']!r}: {len(warps)} warp markers simplified to one tempo")
        clip.update(content_unit="beats", warp=[model.qt(t1 - t0), model.qt(c1 - c0)])
    else:
        audio = inner
        clip["content_unit"] = el.get("contentTimeUnit") or "seconds"
        if clip["content_unit"] == "beats":  # unwarped audio counted in beats: treat as seconds at tempo
            k = 60.0 / s["tempo_bpm"]
            clip.update(
                content_unit="seconds",
                offset=model.qt(clip["offset"] * k),
                loop=[model.qt(x * k) for x in clip["loop"]] if clip["loop"] else None,
            )
    clip.update(kind="audio", source=source_for(audio.find("File")))
    return clip


def zip_member_name(path: str) -> str:
    return posixpath.basename(path)
